package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/testenv"
	"github.com/greenlight-operator/greenlight/internal/testenv/greenlighttest"
)

// The people of the tests: authenticated users of the envtest API server with the groups shown.
// Their permissions come from config/rbac/people_roles.yaml, bound per namespace by newNamespace.
var people = map[string][]string{
	"alice":   {"marketing"},
	"bob":     {"public-relations"},
	"carol":   {"legal"},
	"dana":    {"authors", "marketing"},          // writes the posts, and is in marketing
	"erin":    {"marketing", "public-relations"}, // in two departments of one stage
	"mallory": {"interns"},                       // a reviewer in no department
	"pat":     {"platform"},                      // a policy admin
	"admin":   {"system:masters"},                // may impersonate (--as)
}

var (
	env    *testenv.Environment
	scheme = runtime.NewScheme()
	// k reads and writes as a cluster administrator, straight to the API server.
	k client.Client
	// kubeconfigs holds each person's kubeconfig file: commands run with --kubeconfig, as a
	// person runs the plugin.
	kubeconfigs = map[string]string{}
	// managerClock is the reconcilers' and webhooks' clock. It starts at the wall clock's time
	// because deadlines are compared with sign-offs' creationTimestamps, which the API server
	// stamps from the wall clock.
	managerClock = clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	// The plugin shows times in the local zone; the tests' expectations are in UTC.
	time.Local = time.UTC
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	var err error
	env, err = testenv.Start(testenv.WithWebhooks(), testenv.WithAdmissionPolicies())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	dir, err := os.MkdirTemp("", "kubectl-greenlight-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	ctx, cancel := context.WithCancel(context.Background())
	stopped, err := setUp(ctx, dir)
	defer func() {
		cancel()
		if stopped != nil {
			<-stopped // before envtest removes the serving certificates
		}
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func setUp(ctx context.Context, dir string) (<-chan struct{}, error) {
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, greenlightv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	var err error
	if k, err = client.New(env.Config, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if err := greenlighttest.InstallPeopleRoles(ctx, k); err != nil {
		return nil, err
	}
	// Marketing reads posts and policies in every namespace, for `queue --all-namespaces`.
	if err := k.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "marketing-views-everything"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "greenlight-viewer"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "marketing"}},
	}); err != nil {
		return nil, err
	}
	for name, groups := range people {
		user, err := env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
		if err != nil {
			return nil, err
		}
		kubeconfig, err := user.KubeConfig()
		if err != nil {
			return nil, err
		}
		kubeconfigs[name] = filepath.Join(dir, name+".kubeconfig")
		if err := os.WriteFile(kubeconfigs[name], kubeconfig, 0o600); err != nil {
			return nil, err
		}
	}
	notifications := notify.DefaultOptions
	notifications.AllowHTTP = true
	return greenlighttest.StartManager(ctx, env, greenlighttest.Options{Scheme: scheme, Clock: managerClock, Notify: notifications,
		Component: "test"})
}

// newNamespace creates a namespace for one test with the people's role bindings: dana writes
// posts, marketing, public-relations, legal and interns review, platform writes policies.
func newNamespace(t *testing.T) string {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "plugin-"}}
	g.Expect(k.Create(ctx, ns)).To(Succeed())
	bind := func(name, role string, groups ...string) {
		binding := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		}
		for _, group := range groups {
			binding.Subjects = append(binding.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: group})
		}
		g.Expect(k.Create(ctx, binding)).To(Succeed())
	}
	bind("authors", "greenlight-author", "authors")
	bind("reviewers", "greenlight-reviewer", "marketing", "public-relations", "legal", "interns")
	bind("policy-admins", "greenlight-policy-admin", "platform")
	return ns.Name
}

// acmePolicy: marketing and public-relations review in stage brand (48 hours), then legal in
// stage compliance; posts go to mastodon.
func acmePolicy(ns string) *greenlightv1alpha1.ApprovalPolicy {
	dept := func(name, group string) greenlightv1alpha1.Department {
		return greenlightv1alpha1.Department{Name: name, MinApprovals: 1, Approvers: greenlightv1alpha1.Approvers{Groups: []string{group}}}
	}
	return &greenlightv1alpha1.ApprovalPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: ns},
		Spec: greenlightv1alpha1.ApprovalPolicySpec{
			Stages: []greenlightv1alpha1.Stage{
				{Name: "brand", ReviewWindow: &metav1.Duration{Duration: 48 * time.Hour},
					Departments: []greenlightv1alpha1.Department{dept("marketing", "marketing"), dept("public-relations", "public-relations")}},
				{Name: "compliance", Departments: []greenlightv1alpha1.Department{dept("legal", "legal")}},
			},
			Publishing: &greenlightv1alpha1.Publishing{Channels: map[string]greenlightv1alpha1.ChannelPublishing{
				"mastodon": {JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "publish", Image: "greenlight:dev", Command: []string{"/publisher"}}},
				}}}}},
			}},
		},
	}
}

// submit creates dana's post in ns under the acme policy (created once per namespace), to be
// published far ahead so that an approved post waits Scheduled, and waits until marketing is
// asked to review it.
func submit(t *testing.T, ns, name string, edits ...func(*greenlightv1alpha1.ContentPost)) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	if err := k.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, &greenlightv1alpha1.ApprovalPolicy{}); err != nil {
		g.Expect(k.Create(ctx, acmePolicy(ns))).To(Succeed())
	}
	post := &greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: greenlightv1alpha1.ContentPostSpec{
			Author: "dana", Campaign: "spring-launch", Body: "Our spring line is here",
			Channels:  []greenlightv1alpha1.Channel{{Name: "mastodon"}},
			PublishAt: &metav1.Time{Time: time.Date(2099, 1, 1, 9, 0, 0, 0, time.UTC)},
		},
	}
	for _, edit := range edits {
		edit(post)
	}
	g.Expect(asUser(t, "dana").Create(ctx, post)).To(Succeed())
	waitForDepartment(t, ns, name, "marketing", greenlightv1alpha1.DepartmentPending)
}

// asUser is a client acting as the named person, for setting up what the plugin does not do.
func asUser(t *testing.T, name string) client.Client {
	t.Helper()
	data, err := os.ReadFile(kubeconfigs[name])
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitForDepartment waits until the post shows the department in state, and returns the post.
func waitForDepartment(t *testing.T, ns, post, department string, state greenlightv1alpha1.DepartmentState) *greenlightv1alpha1.ContentPost {
	t.Helper()
	got := &greenlightv1alpha1.ContentPost{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: post}, got)).To(Succeed())
		d := got.Status.Department(department)
		g.Expect(d).NotTo(BeNil())
		g.Expect(d.State).To(Equal(state))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	return got
}

// result is what one run of the plugin printed and its exit status.
type result struct {
	code        int
	out, errOut string
}

// kubectl runs the plugin in-process as person, with their kubeconfig and -n ns (when ns is not
// empty), as `kubectl greenlight args...` would. Output is not a terminal, so it has no colour.
func kubectl(person, ns string, args ...string) result {
	return kubectlAt(time.Now(), person, ns, args...)
}

// kubectlAt runs the plugin as kubectl does, with its clock stopped at now.
func kubectlAt(now time.Time, person, ns string, args ...string) result {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	full := []string{"--kubeconfig", kubeconfigs[person]}
	if ns != "" {
		full = append(full, "-n", ns)
	}
	code := run(append(full, args...), streams, func() time.Time { return now }, func(string) string { return "" })
	return result{code: code, out: out.String(), errOut: errOut.String()}
}
