package webhook

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	realclock "k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/controllers"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
	"github.com/greenlight-operator/greenlight/internal/testenv"
)

// The people of the tests. Each is an authenticated user of the envtest API server, with the
// groups shown; their permissions come only from config/rbac/people_roles.yaml.
var people = map[string][]string{
	"alice":   {"marketing"},
	"bob":     {"public-relations"},
	"carol":   {"legal"},
	"dana":    {"authors", "marketing"}, // an author who is also in marketing
	"erin":    {"authors", "marketing"},
	"mallory": {"interns"},
	"pat":     {"platform"}, // a policy admin
	"vic":     {"auditors"}, // a viewer
	"root":    {DefaultAdminGroup},
	// Kubernetes' garbage collector, which deletes dependents as this user.
	"system:serviceaccount:kube-system:generic-garbage-collector": nil,
}

var (
	// testClock is the reconcilers' and the webhook's clock; tests step it instead of sleeping.
	// It starts at the wall clock's time because deadlines are compared with sign-offs'
	// creationTimestamps, which the API server stamps from the wall clock.
	testClock = clocktesting.NewFakeClock(time.Now().Truncate(time.Second))

	env     *testenv.Environment
	scheme  = runtime.NewScheme()
	admin   client.Client
	clients = map[string]client.Client{}
	// warnings collects the admission warnings each person received.
	warnings = map[string]*warningLog{}
)

type warningLog struct {
	mu   sync.Mutex
	seen []string
}

func (w *warningLog) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warningLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := w.seen
	w.seen = nil
	return seen
}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	var err error
	env, err = testenv.Start(testenv.WithWebhooks(), testenv.WithAdmissionPolicies())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	defer func() { cancel(); <-stopped }() // before envtest removes the serving certificates
	if err := setUp(ctx, stopped); err != nil {
		fmt.Fprintln(os.Stderr, err)
		close(stopped)
		return 1
	}
	return m.Run()
}

func setUp(ctx context.Context, stopped chan struct{}) error {
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, greenlightv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	var err error
	if admin, err = client.New(env.Config, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	if err := installPeopleRoles(); err != nil {
		return err
	}
	for name, groups := range people {
		user, err := env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
		if err != nil {
			return err
		}
		cfg := rest.CopyConfig(user.Config())
		warnings[name] = &warningLog{}
		cfg.WarningHandler = warnings[name]
		if clients[name], err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
			return err
		}
	}
	return startManager(ctx, stopped)
}

// installPeopleRoles creates the ClusterRoles of config/rbac/people_roles.yaml with the
// "greenlight-" prefix config/default gives them.
func installPeopleRoles() error {
	f, err := os.Open(filepath.Join(testenv.RepoRoot(), "config", "rbac", "people_roles.yaml"))
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		role := &rbacv1.ClusterRole{}
		if err := decoder.Decode(role); err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
		role.Name = "greenlight-" + role.Name
		if err := admin.Create(context.Background(), role); err != nil {
			return err
		}
	}
}

// startManager runs the webhooks and the reconcilers (which keep post status current, as the
// stage check reads it), as main.go does.
func startManager(ctx context.Context, stopped chan struct{}) error {
	opts := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  controllers.CacheOptions(nil),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer: ctrlwebhook.NewServer(ctrlwebhook.Options{
			Host: opts.LocalServingHost, Port: opts.LocalServingPort, CertDir: opts.LocalServingCertDir,
		}),
	})
	if err != nil {
		return err
	}
	compiler, err := policy.NewCompiler()
	if err != nil {
		return err
	}
	clock := testClock
	recorder := controllers.NewAPIEventRecorder(mgr.GetClient(), mgr.GetScheme(), "greenlight", "test", realclock.RealClock{})
	if err := controllers.SetupWithManager(ctx, mgr, controllers.Options{Compiler: compiler, Recorder: recorder, Clock: clock, Notify: httpNotifications(),
		AdmissionWebhooks: true}); err != nil {
		return err
	}
	managerUser, err := WhoAmI(ctx, env.Config)
	if err != nil {
		return err
	}
	if err := SetupWithManager(mgr, Options{Compiler: compiler, AdminGroups: []string{DefaultAdminGroup}, Clock: clock,
		ManagerUser: managerUser}); err != nil {
		return err
	}
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	// Wait until the API server can reach the webhook server.
	deadline := time.Now().Add(30 * time.Second)
	for mgr.GetWebhookServer().StartedChecker()(nil) != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("webhook server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// newNamespace creates a namespace for one test with the sample role bindings (dana and erin
// write posts; marketing, public-relations and legal review) plus mallory as a reviewer who is
// in no department.
func newNamespace(t *testing.T) string {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "webhook-"}}
	g.Expect(admin.Create(ctx, ns)).To(Succeed())
	bind := func(name, role string, subjects ...rbacv1.Subject) {
		g.Expect(admin.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   subjects,
		})).To(Succeed())
	}
	group := func(name string) rbacv1.Subject {
		return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: name}
	}
	bind("authors", "greenlight-author", group("authors"))
	bind("reviewers", "greenlight-reviewer", group("marketing"), group("public-relations"), group("legal"), group("interns"))
	bind("policy-admins", "greenlight-policy-admin", group("platform"))
	bind("viewers", "greenlight-viewer", group("auditors"))
	return ns.Name
}

// policy: marketing and public-relations review in stage brand, then legal (covering body and
// media) in stage compliance; a linkedin department is needed only for posts to LinkedIn.
func samplePolicy(ns string) *greenlightv1alpha1.ApprovalPolicy {
	dept := func(name, group string) greenlightv1alpha1.Department {
		return greenlightv1alpha1.Department{Name: name, MinApprovals: 1, Approvers: greenlightv1alpha1.Approvers{Groups: []string{group}}}
	}
	legal := dept("legal", "legal")
	legal.Covers = []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverBody, greenlightv1alpha1.CoverMedia}
	legal.Contact = "#legal"
	linkedin := dept("linkedin", "marketing")
	linkedin.When = `post.spec.channels.exists(c, c.name == "linkedin")`
	return &greenlightv1alpha1.ApprovalPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: ns},
		Spec: greenlightv1alpha1.ApprovalPolicySpec{Stages: []greenlightv1alpha1.Stage{
			{Name: "brand", Departments: []greenlightv1alpha1.Department{dept("marketing", "marketing"), dept("public-relations", "public-relations"), linkedin}},
			{Name: "compliance", Departments: []greenlightv1alpha1.Department{legal}},
		}, Publishing: &greenlightv1alpha1.Publishing{Channels: map[string]greenlightv1alpha1.ChannelPublishing{
			"mastodon": {JobTemplate: jobTemplate()}}}},
	}
}

func samplePost(ns, name string) *greenlightv1alpha1.ContentPost {
	return &greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: greenlightv1alpha1.ContentPostSpec{
			Author: "dana", Body: "Our spring line is here", Channels: []greenlightv1alpha1.Channel{{Name: "mastodon"}},
			// Far ahead, so that an approved post waits Scheduled instead of publishing.
			PublishAt: &metav1.Time{Time: time.Date(2099, 1, 1, 9, 0, 0, 0, time.UTC)},
		},
	}
}

// approval is a SignOff as a reviewer writes it: no reviewer, no revision.
func approval(ns, post, department string) *greenlightv1alpha1.SignOff {
	return &greenlightv1alpha1.SignOff{
		ObjectMeta: metav1.ObjectMeta{GenerateName: post + "-" + department + "-", Namespace: ns},
		Spec:       greenlightv1alpha1.SignOffSpec{Post: post, Department: department, Decision: greenlightv1alpha1.DecisionApprove},
	}
}

// waitForDepartment waits until the controller shows the department in state, and returns the post.
func waitForDepartment(g Gomega, ns, post, department string, state greenlightv1alpha1.DepartmentState) *greenlightv1alpha1.ContentPost {
	got := &greenlightv1alpha1.ContentPost{}
	g.Eventually(func(g Gomega) {
		g.Expect(admin.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: post}, got)).To(Succeed())
		var states []string
		for _, d := range got.Status.Departments {
			if d.Name == department {
				states = append(states, string(d.State))
			}
		}
		g.Expect(states).To(Equal([]string{string(state)}))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	return got
}

// updatePost applies edit to the current post as user, retrying only when the controller's status
// write won the race, and returns the result of the update.
func updatePost(as, ns, name string, edit func(*greenlightv1alpha1.ContentPost)) (*greenlightv1alpha1.ContentPost, error) {
	ctx := context.Background()
	post := &greenlightv1alpha1.ContentPost{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, post); err != nil {
			return err
		}
		edit(post)
		return clients[as].Update(ctx, post)
	})
	return post, err
}

func expectDenied(g Gomega, err error, fragment string) {
	g.Expect(err).To(HaveOccurred())
	// The webhooks deny "the request"; the admission policies (config/admissionpolicy), which the
	// API server runs first, deny "request".
	g.Expect(err.Error()).To(MatchRegexp(`denied (the )?request`))
	g.Expect(err.Error()).To(ContainSubstring(fragment))
}

func TestHonestSignOffsPassAndAreStampedWithTheReviewer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(admin.Create(ctx, samplePolicy(ns))).To(Succeed())
	post := samplePost(ns, "launch")
	g.Expect(clients["dana"].Create(ctx, post)).To(Succeed())
	g.Expect(post.Annotations).To(HaveKeyWithValue(greenlightv1alpha1.AnnotationCreatedBy, "dana"))
	got := waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentPending)

	// alice approves through her marketing group, writing neither reviewer nor revision.
	s := approval(ns, "launch", "marketing")
	g.Expect(clients["alice"].Create(ctx, s)).To(Succeed())
	g.Expect(s.Spec.Reviewer).To(Equal("alice"))
	g.Expect(s.Spec.Revision).To(Equal(got.Status.Departments[0].Revision))
	g.Expect(s.Labels).To(HaveKeyWithValue(greenlightv1alpha1.LabelPostUID, string(post.UID)))
	acme := &greenlightv1alpha1.ApprovalPolicy{}
	g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, acme)).To(Succeed())
	g.Expect(s.Labels).To(HaveKeyWithValue(greenlightv1alpha1.LabelPolicyUID, string(acme.UID)))

	g.Expect(clients["bob"].Create(ctx, approval(ns, "launch", "public-relations"))).To(Succeed())
	waitForDepartment(g, ns, "launch", "legal", greenlightv1alpha1.DepartmentPending)
	g.Expect(clients["carol"].Create(ctx, approval(ns, "launch", "legal"))).To(Succeed())
	g.Eventually(func(g Gomega) greenlightv1alpha1.PostPhase {
		g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(post), post)).To(Succeed())
		return post.Status.Phase
	}, 10*time.Second, 50*time.Millisecond).Should(Equal(greenlightv1alpha1.PostScheduled))
}

func TestForgedAndMisplacedSignOffsAreDenied(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(admin.Create(ctx, samplePolicy(ns))).To(Succeed())
	g.Expect(clients["dana"].Create(ctx, samplePost(ns, "launch"))).To(Succeed())
	byErin := samplePost(ns, "by-erin")
	byErin.Spec.Author = "" // erin created it through a pipeline that sets no author
	g.Expect(clients["erin"].Create(ctx, byErin)).To(Succeed())
	draft := samplePost(ns, "draft")
	draft.Spec.Draft = true
	g.Expect(clients["dana"].Create(ctx, draft)).To(Succeed())
	current := waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentPending)
	waitForDepartment(g, ns, "by-erin", "marketing", greenlightv1alpha1.DepartmentPending)

	staleRevision := "sha256:" + strings.Repeat("0", 64)
	cases := []struct {
		name   string
		as     string
		edit   func(*greenlightv1alpha1.SignOff)
		denial string
	}{
		{"another reviewer's name", "alice", func(s *greenlightv1alpha1.SignOff) { s.Spec.Reviewer = "bob" },
			`spec.reviewer must be you (the authenticated user), not "bob": leave it empty and Greenlight records you`},
		{"a user in no approver group", "mallory", nil,
			"mallory is not an approver of department marketing (policy acme allows groups marketing)"},
		{"an approver of another department", "carol", nil,
			"carol is not an approver of department marketing"},
		{"the post's author", "dana", nil,
			"dana cannot approve ContentPost launch because they are its author (spec.author); policy acme does not allow self-approval"},
		{"the post's creator", "erin", func(s *greenlightv1alpha1.SignOff) { s.Spec.Post = "by-erin" },
			"erin cannot approve ContentPost by-erin because they created it (greenlight.dev/created-by)"},
		{"a stale revision", "alice", func(s *greenlightv1alpha1.SignOff) { s.Spec.Revision = staleRevision },
			"ContentPost launch changed since alice reviewed it: department marketing now reviews revision " + current.Status.Departments[0].Revision},
		{"a post that does not exist", "alice", func(s *greenlightv1alpha1.SignOff) { s.Spec.Post = "ghost" },
			"there is no ContentPost ghost in namespace " + ns},
		{"a draft", "alice", func(s *greenlightv1alpha1.SignOff) { s.Spec.Post = "draft" },
			"ContentPost draft is a draft: it can be reviewed once its author submits it"},
		{"a department the post's policies do not define", "alice", func(s *greenlightv1alpha1.SignOff) { s.Spec.Department = "finance" },
			"ContentPost launch does not need department finance: its policies (acme) define marketing, public-relations, linkedin, legal"},
		{"a department the post does not need", "alice", func(s *greenlightv1alpha1.SignOff) { s.Spec.Department = "linkedin" },
			"ContentPost launch does not need department linkedin now: the department's when expression is false"},
		{"a label binding it to another post", "alice", func(s *greenlightv1alpha1.SignOff) {
			s.Labels = map[string]string{greenlightv1alpha1.LabelPostUID: "0000"}
		}, `label greenlight.dev/post-uid is "0000" but ContentPost launch has UID`},
		{"a finalizer that would block deletion", "alice", func(s *greenlightv1alpha1.SignOff) {
			s.Finalizers = []string{"example.com/never"}
		}, "SignOffs cannot carry finalizers or owner references"},
		{"a stage that has not started", "carol", func(s *greenlightv1alpha1.SignOff) { s.Spec.Department = "legal" },
			"department legal reviews in stage compliance, which has not started: stage brand (waiting on marketing) must be approved first"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s := approval(ns, "launch", "marketing")
			if tc.edit != nil {
				tc.edit(s)
			}
			expectDenied(g, clients[tc.as].Create(ctx, s), tc.denial)
		})
	}

	// None of the denied attempts reached the API: nothing was stored.
	var stored greenlightv1alpha1.SignOffList
	g.Expect(admin.List(ctx, &stored, client.InNamespace(ns))).To(Succeed())
	g.Expect(stored.Items).To(BeEmpty())
}

func TestAPublishedPostTakesNoMoreSignOffs(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(admin.Create(ctx, samplePolicy(ns))).To(Succeed())
	g.Expect(clients["dana"].Create(ctx, samplePost(ns, "launch"))).To(Succeed())
	post := waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentPending)

	// The status is set here as the reconciler sets it once every channel's Job succeeded.
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(post), post); err != nil {
			return err
		}
		post.Status.Phase = greenlightv1alpha1.PostPublished
		post.Status.Channels = []greenlightv1alpha1.ChannelStatus{{Name: "mastodon", State: greenlightv1alpha1.PublishSucceeded,
			URL: "https://social.example/@acme/1"}}
		return admin.Status().Update(ctx, post)
	})).To(Succeed())
	expectDenied(g, clients["alice"].Create(ctx, approval(ns, "launch", "marketing")),
		"ContentPost launch is already published: sign-offs can no longer change it")
}

func TestAnExpiredDepartmentTakesNoMoreSignOffs(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := launchUnderReview(t, g, oneHourReview)

	// Two hours pass on the manager's clock; touching the post makes it look again.
	testClock.Step(2 * time.Hour)
	_, err := updatePost("dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) { p.Labels = map[string]string{"tick": "1"} })
	g.Expect(err).NotTo(HaveOccurred())
	waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentExpired)

	expectDenied(g, clients["alice"].Create(ctx, approval(ns, "launch", "marketing")),
		"department marketing's deadline for ContentPost launch was")
}

func TestAPostEditedBetweenLookAndSignOff(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(admin.Create(ctx, samplePolicy(ns))).To(Succeed())
	post := samplePost(ns, "launch")
	g.Expect(clients["dana"].Create(ctx, post)).To(Succeed())
	seen := waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentPending).Status.Departments[0].Revision

	// alice reads the post; meanwhile dana edits the body.
	_, err := updatePost("dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) { p.Spec.Body = "Our spring line is here, 50% off!" })
	g.Expect(err).NotTo(HaveOccurred())

	s := approval(ns, "launch", "marketing")
	s.Spec.Revision = seen
	expectDenied(g, clients["alice"].Create(ctx, s), "ContentPost launch changed since alice reviewed it")
}

func TestSignOffsAreImmutableAndOnlyTheirReviewerWithdrawsThem(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := launchUnderReview(t, g)

	s := approval(ns, "launch", "marketing")
	g.Expect(clients["alice"].Create(ctx, s)).To(Succeed())

	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		edited := &greenlightv1alpha1.SignOff{}
		if err := admin.Get(ctx, client.ObjectKeyFromObject(s), edited); err != nil {
			return err
		}
		edited.Spec.Comment = "changed my mind"
		return admin.Update(ctx, edited)
	})
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("a SignOff cannot be changed after it is created"))

	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		edited := &greenlightv1alpha1.SignOff{}
		if err := admin.Get(ctx, client.ObjectKeyFromObject(s), edited); err != nil {
			return err
		}
		edited.Finalizers = append(edited.Finalizers, "example.com/never")
		return admin.Update(ctx, edited)
	})
	expectDenied(g, err, "SignOffs cannot carry finalizers or owner references")

	expectDenied(g, clients["bob"].Delete(ctx, s), "only alice, who made this sign-off, can withdraw it (or a member of system:masters)")
	g.Expect(clients["alice"].Delete(ctx, s)).To(Succeed())

	other := approval(ns, "launch", "marketing")
	g.Expect(clients["alice"].Create(ctx, other)).To(Succeed())
	g.Expect(clients["root"].Delete(ctx, other)).To(Succeed(), "members of the admin group may remove any sign-off")

	collected := approval(ns, "launch", "marketing")
	g.Expect(clients["alice"].Create(ctx, collected)).To(Succeed())
	gc := "system:serviceaccount:kube-system:generic-garbage-collector"
	g.Expect(admin.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "garbage-collector", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "greenlight-reviewer"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: gc}},
	})).To(Succeed())
	g.Eventually(func() error { return clients[gc].Delete(ctx, collected) }, 10*time.Second, 50*time.Millisecond).
		Should(Succeed(), "the garbage collector may remove any sign-off")
}

func TestCreatedByIsRecordedAndCannotBeForged(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(admin.Create(ctx, samplePolicy(ns))).To(Succeed())

	post := samplePost(ns, "launch")
	post.Annotations = map[string]string{greenlightv1alpha1.AnnotationCreatedBy: "alice"}
	g.Expect(clients["dana"].Create(ctx, post)).To(Succeed())
	g.Expect(post.Annotations[greenlightv1alpha1.AnnotationCreatedBy]).To(Equal("dana"), "the creator is who made the request")

	_, err := updatePost("dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) {
		p.Annotations[greenlightv1alpha1.AnnotationCreatedBy] = "alice"
	})
	expectDenied(g, err, "annotation greenlight.dev/created-by records who created the post and cannot be set")

	// A manifest that never had the annotation (server-side apply drops it) keeps it.
	dropped, err := updatePost("dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) {
		delete(p.Annotations, greenlightv1alpha1.AnnotationCreatedBy)
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(dropped.Annotations[greenlightv1alpha1.AnnotationCreatedBy]).To(Equal("dana"))
}

func TestPostWarnings(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	warnings["dana"].take()

	g.Expect(clients["dana"].Create(ctx, samplePost(ns, "early"))).To(Succeed())
	g.Expect(warnings["dana"].take()).To(ConsistOf(ContainSubstring("no ApprovalPolicy in namespace " + ns + " selects this post's labels")))

	p := samplePolicy(ns)
	p.Spec.Publishing = &greenlightv1alpha1.Publishing{Channels: map[string]greenlightv1alpha1.ChannelPublishing{
		"mastodon": {JobTemplate: jobTemplate()},
	}}
	g.Expect(admin.Create(ctx, p)).To(Succeed())
	post := samplePost(ns, "launch")
	post.Spec.Channels = append(post.Spec.Channels, greenlightv1alpha1.Channel{Name: "linkedin"})
	g.Expect(clients["dana"].Create(ctx, post)).To(Succeed())
	g.Expect(warnings["dana"].take()).To(ConsistOf(
		"channel linkedin: no matching ApprovalPolicy publishes to it (spec.publishing.channels), so the post cannot be published there"))
}

// jobTemplate is a publishing Job as a platform team writes it.
func jobTemplate() batchv1.JobTemplateSpec {
	return batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers:    []corev1.Container{{Name: "publish", Image: "greenlight:dev", Command: []string{"/publisher"}}},
	}}}}
}

func TestPolicyValidation(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	cases := []struct {
		name   string
		edit   func(*greenlightv1alpha1.ApprovalPolicy)
		denial string
	}{
		{"a when that does not compile", func(p *greenlightv1alpha1.ApprovalPolicy) {
			p.Spec.Stages[0].Departments[0].When = `post.spec.channels.exists(c, c.name ==`
		}, "spec.stages[0].departments[0].when (department marketing) does not compile: ERROR: <input>:1:"},
		{"a cron schedule that does not parse", func(p *greenlightv1alpha1.ApprovalPolicy) {
			p.Spec.Windows = []greenlightv1alpha1.Window{{Kind: greenlightv1alpha1.WindowDeny, Schedule: "every friday", Duration: metav1.Duration{Duration: time.Hour}}}
		}, `spec.windows[0].schedule "every friday" is not a five-field cron schedule`},
		{"an unknown time zone", func(p *greenlightv1alpha1.ApprovalPolicy) {
			p.Spec.Windows = []greenlightv1alpha1.Window{{Kind: greenlightv1alpha1.WindowDeny, Schedule: "0 18 * * 5", Duration: metav1.Duration{Duration: time.Hour}, TimeZone: "Europe/Atlantis"}}
		}, `spec.windows[0].timeZone "Europe/Atlantis" is not an IANA time zone`},
		{"a job that restarts forever", func(p *greenlightv1alpha1.ApprovalPolicy) {
			tmpl := jobTemplate()
			tmpl.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			p.Spec.Publishing = &greenlightv1alpha1.Publishing{Channels: map[string]greenlightv1alpha1.ChannelPublishing{"mastodon": {JobTemplate: tmpl}}}
		}, `spec.publishing.channels.mastodon.jobTemplate.spec.template.spec.restartPolicy must be Never or OnFailure for a Job (it is "Always")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := samplePolicy(ns)
			p.Name = "invalid"
			tc.edit(p)
			expectDenied(g, admin.Create(ctx, p), tc.denial)
		})
	}
}

func TestRemovingADepartmentPostsWaitOnIsWarned(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	p := samplePolicy(ns)
	g.Expect(admin.Create(ctx, p)).To(Succeed())
	g.Expect(clients["dana"].Create(ctx, samplePost(ns, "launch"))).To(Succeed())
	waitForDepartment(g, ns, "launch", "legal", greenlightv1alpha1.DepartmentWaiting)

	cfg := rest.CopyConfig(env.Config)
	seen := &warningLog{}
	cfg.WarningHandler = seen
	platform, err := client.New(cfg, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return err
		}
		p.Spec.Stages = p.Spec.Stages[:1]
		return platform.Update(ctx, p)
	})).To(Succeed(), "the edit is allowed")
	g.Expect(seen.take()).To(ContainElement(
		"ContentPost launch is waiting on department legal, which this change removes: the post will no longer need its sign-off"))
}

// httpNotifications is the default delivery with http:// allowed: the tests' receivers listen on
// plain HTTP on 127.0.0.1, as the manager's --allow-http-notifications allows.
func httpNotifications() notify.Options {
	opts := notify.DefaultOptions
	opts.AllowHTTP = true
	return opts
}

// Finding 6: a reviewer who can edit posts rewrote someone else's post, then approved it.
func TestAnEditorCannotApproveWhatTheyWrote(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := launchUnderReview(t, g)

	// erin (an author, and in marketing) rewrites dana's body; a label edit by alice is not content.
	edited, err := updatePost("erin", ns, "launch", func(p *greenlightv1alpha1.ContentPost) { p.Spec.Body = "Buy now, 90% off!" })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(edited.Annotations).To(HaveKeyWithValue(greenlightv1alpha1.AnnotationEditors, `["erin"]`))
	relabelled, err := updatePost("dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) { p.Labels = map[string]string{"tick": "1"} })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(relabelled.Annotations).To(HaveKeyWithValue(greenlightv1alpha1.AnnotationEditors, `["erin"]`), "labels are not content")

	// Nobody can forge or clear the record.
	_, err = updatePost("erin", ns, "launch", func(p *greenlightv1alpha1.ContentPost) {
		p.Annotations[greenlightv1alpha1.AnnotationEditors] = `[]`
	})
	expectDenied(g, err, "annotation greenlight.dev/editors")
	stillEdited, err := updatePost("erin", ns, "launch", func(p *greenlightv1alpha1.ContentPost) {
		delete(p.Annotations, greenlightv1alpha1.AnnotationEditors)
	})
	g.Expect(err).NotTo(HaveOccurred(), "a manifest without the annotation (server-side apply) keeps it")
	g.Expect(stillEdited.Annotations).To(HaveKeyWithValue(greenlightv1alpha1.AnnotationEditors, `["erin"]`))

	waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentPending)
	expectDenied(g, clients["erin"].Create(ctx, approval(ns, "launch", "marketing")),
		"erin cannot approve ContentPost launch because they edited its spec (greenlight.dev/editors)")
	g.Expect(clients["alice"].Create(ctx, approval(ns, "launch", "marketing"))).To(Succeed(), "someone who did not write it may")
}

// Finding 7: after a deadline passed, and before the controller wrote Expired, an approval
// passed admission and counted.
func TestALateApprovalIsDeniedBeforeTheControllerNoticesTheDeadline(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := launchUnderReview(t, g, oneHourReview)
	// Let the reconciles that setting up started settle (a stale-cache or approval-hold retry
	// comes within a second): then nothing wakes the controller until the deadline's requeue.
	var pending *greenlightv1alpha1.ContentPost
	g.Eventually(func(g Gomega) {
		before := getPost(g, ns, "launch")
		time.Sleep(1500 * time.Millisecond)
		pending = getPost(g, ns, "launch")
		g.Expect(pending.ResourceVersion).To(Equal(before.ResourceVersion))
	}, 20*time.Second).Should(Succeed())
	deadline := pending.Status.Departments[0].Deadline.Time

	// The deadline passes; nothing wakes the controller yet, so the stored status still says Pending.
	testClock.SetTime(deadline)
	g.Expect(getPost(g, ns, "launch").Status.Departments[0].State).To(Equal(greenlightv1alpha1.DepartmentPending))
	expectDenied(g, clients["alice"].Create(ctx, approval(ns, "launch", "marketing")),
		"department marketing's deadline for ContentPost launch was "+deadline.UTC().Format(time.RFC3339))
}

func TestOneVoicePerReviewer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := launchUnderReview(t, g)

	first := approval(ns, "launch", "marketing")
	g.Expect(clients["alice"].Create(ctx, first)).To(Succeed())
	changed := approval(ns, "launch", "marketing")
	changed.Spec.Decision, changed.Spec.Comment = greenlightv1alpha1.DecisionReject, "On second thought, no."
	expectDenied(g, clients["alice"].Create(ctx, changed),
		"you already signed off for department marketing on this revision of ContentPost launch (SignOff "+first.Name+")")

	// To change her decision, alice withdraws hers and signs off again.
	g.Expect(clients["alice"].Delete(ctx, first)).To(Succeed())
	g.Eventually(func() error { return clients["alice"].Create(ctx, changed.DeepCopy()) }, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentRejected)
}

func getPost(g Gomega, ns, name string) *greenlightv1alpha1.ContentPost {
	post := &greenlightv1alpha1.ContentPost{}
	g.Expect(admin.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, post)).To(Succeed())
	return post
}

// Status is Greenlight's memory (what a submitted post requires, what expired, which reminders
// went out): no role for people may write any of it.
func TestNoPeopleRoleCanWriteStatus(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := launchUnderReview(t, g)
	s := approval(ns, "launch", "marketing")
	g.Expect(clients["alice"].Create(ctx, s)).To(Succeed())

	objects := []client.Object{&greenlightv1alpha1.ContentPost{}, &greenlightv1alpha1.ApprovalPolicy{}, &greenlightv1alpha1.SignOff{}}
	keys := []client.ObjectKey{{Namespace: ns, Name: "launch"}, {Namespace: ns, Name: "acme"}, client.ObjectKeyFromObject(s)}
	for _, person := range []string{"dana", "alice", "carol", "pat", "vic", "mallory"} {
		for i, obj := range objects {
			g.Expect(admin.Get(ctx, keys[i], obj)).To(Succeed())
			patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"observedGeneration":99}}`))
			err := clients[person].Status().Patch(ctx, obj, patch)
			g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%s writing the status of %T: %v", person, obj, err)
		}
	}
}

// launchUnderReview creates a namespace with the sample policy (after edits) and dana's post
// "launch", and waits until marketing is asked to review it.
func launchUnderReview(t *testing.T, g Gomega, edits ...func(*greenlightv1alpha1.ApprovalPolicy)) string {
	t.Helper()
	ns := newNamespace(t)
	p := samplePolicy(ns)
	for _, edit := range edits {
		edit(p)
	}
	g.Expect(admin.Create(context.Background(), p)).To(Succeed())
	g.Expect(clients["dana"].Create(context.Background(), samplePost(ns, "launch"))).To(Succeed())
	waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentPending)
	return ns
}

// oneHourReview gives the sample policy's first stage a one-hour review window.
func oneHourReview(p *greenlightv1alpha1.ApprovalPolicy) {
	p.Spec.Stages[0].ReviewWindow = &metav1.Duration{Duration: time.Hour}
}

// Admission writes the status a SignOff is created with, whatever the request said; afterwards
// only the manager may change it, and a SignOff that counts as admitted is never written again.
func TestAdmissionWritesTheSignOffStatus(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := launchUnderReview(t, g)

	s := approval(ns, "launch", "marketing")
	s.Status.Conditions = []metav1.Condition{{Type: greenlightv1alpha1.ConditionCounted, Status: metav1.ConditionFalse,
		Reason: "Forged", Message: "forged", LastTransitionTime: metav1.Now()}}
	g.Expect(clients["alice"].Create(ctx, s)).To(Succeed())
	counted := meta.FindStatusCondition(s.Status.Conditions, greenlightv1alpha1.ConditionCounted)
	g.Expect(counted).NotTo(BeNil())
	g.Expect(counted.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(counted.Reason).To(Equal(review.ReasonCounted))
	g.Expect(s.Status.ObservedGeneration).To(Equal(s.Generation))

	// The post moves on; the SignOff is not written again.
	waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentApproved)
	g.Consistently(func(g Gomega) {
		got := &greenlightv1alpha1.SignOff{}
		g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
		g.Expect(got.Generation).To(Equal(int64(1)))
		g.Expect(got.ResourceVersion).To(Equal(s.ResourceVersion))
	}, "1s", "100ms").Should(Succeed())

	// Not even a cluster administrator may rewrite it: only the manager.
	err := clients["root"].Patch(ctx, s, client.RawPatch(types.MergePatchType, []byte(`{"status":{"conditions":[]}}`)))
	expectDenied(g, err, "only Greenlight writes it")

	// An edit voids the approval: the manager says so, and the status observes the generation its
	// own write made.
	_, err = updatePost("dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) { p.Spec.Body += " Now with more." })
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		got := &greenlightv1alpha1.SignOff{}
		g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
		counted := meta.FindStatusCondition(got.Status.Conditions, greenlightv1alpha1.ConditionCounted)
		g.Expect(counted).NotTo(BeNil())
		g.Expect(counted.Reason).To(Equal(review.ReasonStaleRevision))
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(got.Generation).To(Equal(int64(2)))
	}, "10s", "50ms").Should(Succeed())
}

// A sharded post's sign-offs join its shard; nobody moves a post or a sign-off to another one.
func TestSignOffsJoinTheirPostsShard(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(admin.Create(ctx, samplePolicy(ns))).To(Succeed())
	post := samplePost(ns, "launch")
	post.Labels = map[string]string{greenlightv1alpha1.LabelShard: "shard1"}
	g.Expect(clients["dana"].Create(ctx, post)).To(Succeed())
	waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentPending)

	forged := approval(ns, "launch", "marketing")
	forged.Labels = map[string]string{greenlightv1alpha1.LabelShard: "shard2"}
	expectDenied(g, clients["alice"].Create(ctx, forged), "must be the post's (\"shard1\")")

	s := approval(ns, "launch", "marketing")
	g.Expect(clients["alice"].Create(ctx, s)).To(Succeed())
	g.Expect(s.Labels).To(HaveKeyWithValue(greenlightv1alpha1.LabelShard, "shard1"))
	err := admin.Patch(ctx, s, client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"`+greenlightv1alpha1.LabelShard+`":"shard2"}}}`)))
	expectDenied(g, err, "the SignOff to what it was made for")
	err = admin.Patch(ctx, s, client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"`+greenlightv1alpha1.LabelShard+`":""}}}`)))
	expectDenied(g, err, "the SignOff to what it was made for")

	_, err = updatePost("dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) { p.Labels[greenlightv1alpha1.LabelShard] = "shard2" })
	expectDenied(g, err, "create it anew there")
	// A selector tells an empty key from none (!key selects only the latter): neither may hide
	// a post, or its sign-offs, from the shard that reviews it.
	_, err = updatePost("dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) { delete(p.Labels, greenlightv1alpha1.LabelShard) })
	expectDenied(g, err, "create it anew there")
	empty := samplePost(ns, "empty-key")
	empty.Labels = map[string]string{greenlightv1alpha1.LabelShard: ""}
	expectDenied(g, clients["dana"].Create(ctx, empty), "cannot be empty")
}
