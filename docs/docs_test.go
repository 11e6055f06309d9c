// Package docs_test proves that the user guide shows what Greenlight does: every manifest under
// docs/ is applied to a real API server with Greenlight's CRDs, webhooks, admission policies and
// reconcilers, as the people the manifests name, and is accepted (or, when marked
// `# expect-denied: <text>`, denied with that text); the recipes' posts reach the states their
// pages describe; the RBAC pages grant what they say; and the troubleshooting page names every
// reason the code can put in a condition.
package docs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/testenv"
	"github.com/greenlight-operator/greenlight/internal/testenv/greenlighttest"
)

// readersGroup is given to every person a manifest is applied as, and bound to cluster-admin:
// the recipes test admission and review, not RBAC (TestRBACPagesGrantWhatTheySay does that).
const readersGroup = "docs-test-people"

var (
	env    *testenv.Environment
	scheme = runtime.NewScheme()
	admin  client.Client

	peopleMu sync.Mutex
	people   = map[string]client.Client{}
)

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
	stopped, err := setUp(ctx)
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

func setUp(ctx context.Context) (<-chan struct{}, error) {
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, greenlightv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	var err error
	if admin, err = client.New(env.Config, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if err := greenlighttest.InstallPeopleRoles(ctx, admin); err != nil {
		return nil, err
	}
	if err := admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: readersGroup},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: readersGroup}},
	}); err != nil {
		return nil, err
	}
	return greenlighttest.StartManager(ctx, env, greenlighttest.Options{Scheme: scheme, Clock: clock.RealClock{},
		Notify: notify.DefaultOptions, Component: "docs-test"})
}

// person returns a client authenticated as user with groups (plus readersGroup).
func person(g Gomega, user string, groups []string) client.Client {
	peopleMu.Lock()
	defer peopleMu.Unlock()
	key := user + "|" + strings.Join(groups, ",")
	if c, ok := people[key]; ok {
		return c
	}
	u, err := env.AddUser(envtest.User{Name: user, Groups: append([]string{readersGroup}, groups...)}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	c, err := client.New(u.Config(), client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	people[key] = c
	return c
}

// document is one YAML document of a guide manifest, with the directives of its comments.
type document struct {
	file string
	obj  *unstructured.Unstructured
	// user and groups are from `# as-user: <name> (groups: a, b)`; empty means a cluster admin.
	user   string
	groups []string
	// denied is from `# expect-denied: <text>`: the API server must refuse the object with text.
	denied string
}

var (
	asUserDirective = regexp.MustCompile(`^#\s*as-user:\s*(\S+)(?:\s*\(groups:\s*([^)]*)\))?\s*$`)
	deniedDirective = regexp.MustCompile(`^#\s*expect-denied:\s*(.+?)\s*$`)
)

// readDocuments decodes every document of a YAML file with its directives.
func readDocuments(path string) ([]document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []document
	for _, text := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		d := document{file: path}
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if m := asUserDirective.FindStringSubmatch(line); m != nil {
				d.user = m[1]
				for _, group := range strings.Split(m[2], ",") {
					if group = strings.TrimSpace(group); group != "" {
						d.groups = append(d.groups, group)
					}
				}
			}
			if m := deniedDirective.FindStringSubmatch(line); m != nil {
				d.denied = m[1]
			}
		}
		content := map[string]any{}
		if err := yaml.UnmarshalStrict([]byte(text), &content); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", path, err)
		}
		if len(content) == 0 {
			continue
		}
		d.obj = &unstructured.Unstructured{Object: content}
		docs = append(docs, d)
	}
	return docs, nil
}

// manifestDirs lists the directories under docs/ that hold YAML manifests. Each is applied to a
// namespace of its own, its files in name order (01-policy.yaml before 02-post.yaml).
func manifestDirs(t *testing.T) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, entry os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !entry.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, files := range dirs {
		sort.Strings(files)
	}
	return dirs
}

// applyDir applies every manifest of dir to a new namespace, as the people its directives name,
// and returns the namespace.
func applyDir(t *testing.T, files []string) string {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "docs-"}}
	g.Expect(admin.Create(ctx, ns)).To(Succeed())
	for _, file := range files {
		docs, err := readDocuments(file)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(docs).NotTo(BeEmpty(), "%s holds no manifest", file)
		for _, d := range docs {
			c := admin
			if d.user != "" {
				c = person(g, d.user, d.groups)
			}
			apply := func() error {
				obj := d.obj.DeepCopy()
				if namespaced(obj) {
					obj.SetNamespace(ns.Name)
				}
				if obj.GetName() == "" {
					// generateName: what `kubectl create -f` does; apply needs a name.
					return c.Create(ctx, obj, client.FieldValidation("Strict"))
				}
				return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
					client.FieldOwner("docs-"+filepath.Base(file)), client.ForceOwnership)
			}
			what := fmt.Sprintf("%s %s from %s", d.obj.GetKind(), d.obj.GetName()+d.obj.GetGenerateName(), file)
			if d.denied != "" {
				err := apply()
				g.Expect(err).To(HaveOccurred(), "%s was accepted, but the guide shows it denied", what)
				g.Expect(err.Error()).To(ContainSubstring(d.denied), what)
				continue
			}
			// Admission denies what the manager's cache has not seen yet only after asking the
			// API server; a retry covers the reconcile that starts a stage.
			g.Eventually(apply, 15*time.Second, 200*time.Millisecond).Should(Succeed(), what)
		}
	}
	return ns.Name
}

func namespaced(obj *unstructured.Unstructured) bool {
	switch obj.GetKind() {
	case "ClusterRole", "ClusterRoleBinding", "Namespace":
		return false
	}
	return true
}

// postState is what a recipe's page says its sample post shows once its manifests are applied.
type postState struct {
	phase       greenlightv1alpha1.PostPhase
	departments map[string]greenlightv1alpha1.DepartmentState
	// approvals counts approvedBy per department, where the page says so.
	approvals map[string]int
	// conditions must be True.
	conditions []string
}

var recipePosts = map[string]map[string]postState{
	"recipes/simple-review": {
		// No publishAt: approved means published at once; the Job is created.
		"office-hours": {phase: greenlightv1alpha1.PostPublishing,
			departments: map[string]greenlightv1alpha1.DepartmentState{"comms": greenlightv1alpha1.DepartmentApproved},
			approvals:   map[string]int{"comms": 1}},
	},
	"recipes/staged-review": {
		"meetup-photos": {phase: greenlightv1alpha1.PostInReview, departments: map[string]greenlightv1alpha1.DepartmentState{
			"marketing": greenlightv1alpha1.DepartmentPending, "legal": greenlightv1alpha1.DepartmentNotRequired}},
		"spring-sale": {phase: greenlightv1alpha1.PostInReview, departments: map[string]greenlightv1alpha1.DepartmentState{
			"marketing": greenlightv1alpha1.DepartmentApproved, "legal": greenlightv1alpha1.DepartmentPending}},
	},
	"recipes/regulated-brand": {
		"savings-rate": {phase: greenlightv1alpha1.PostScheduled, departments: map[string]greenlightv1alpha1.DepartmentState{
			"marketing": greenlightv1alpha1.DepartmentApproved, "legal": greenlightv1alpha1.DepartmentApproved},
			approvals:  map[string]int{"legal": 2},
			conditions: []string{greenlightv1alpha1.ConditionApproved, greenlightv1alpha1.ConditionFrozen}},
	},
}

// TestEveryManifestIsAcceptedAsShown applies every YAML file under docs/ and checks the states
// the recipe pages describe.
func TestEveryManifestIsAcceptedAsShown(t *testing.T) {
	dirs := manifestDirs(t)
	for dir := range recipePosts {
		if _, ok := dirs[dir]; !ok {
			t.Errorf("recipe directory %s has no manifests", dir)
		}
	}
	for dir, files := range dirs {
		t.Run(dir, func(t *testing.T) {
			ns := applyDir(t, files)
			for name, want := range recipePosts[dir] {
				expectPost(t, ns, name, want)
			}
		})
	}
}

func expectPost(t *testing.T, ns, name string, want postState) {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		post := &greenlightv1alpha1.ContentPost{}
		g.Expect(admin.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, post)).To(Succeed())
		g.Expect(post.Status.Phase).To(Equal(want.phase), "post %s: %+v", name, post.Status.Conditions)
		for department, state := range want.departments {
			d := post.Status.Department(department)
			g.Expect(d).NotTo(BeNil(), "post %s has no department %s", name, department)
			g.Expect(d.State).To(Equal(state), "post %s department %s", name, department)
		}
		for department, n := range want.approvals {
			g.Expect(post.Status.Department(department).ApprovedBy).To(HaveLen(n), "post %s department %s", name, department)
		}
		for _, c := range want.conditions {
			g.Expect(meta.IsStatusConditionTrue(post.Status.Conditions, c)).To(BeTrue(), "post %s condition %s", name, c)
		}
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
}

// TestRBACPagesGrantWhatTheySay applies the guide's RoleBindings and asks the API server what
// each person may do, as rbac.md and gitops.md describe it.
func TestRBACPagesGrantWhatTheySay(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	dirs := manifestDirs(t)
	ns := applyDir(t, append(slices.Clone(dirs["rbac"]), dirs["gitops"]...))

	type who struct {
		user   string
		groups []string
	}
	var (
		author   = who{user: "dana"}
		reviewer = who{user: "alice", groups: []string{"marketing"}}
		platform = who{user: "pat", groups: []string{"platform"}}
		auditor  = who{user: "vic", groups: []string{"auditors"}}
		gitops   = who{user: "system:serviceaccount:flux-system:kustomize-controller",
			groups: []string{"system:serviceaccounts", "system:serviceaccounts:flux-system"}}
		stranger = who{user: "mallory"}
	)
	cases := []struct {
		who         who
		verb        string
		resource    string
		subresource string
		allowed     bool
	}{
		{author, "create", "contentposts", "", true},
		{author, "update", "contentposts", "", true},
		{author, "create", "signoffs", "", false},
		{author, "update", "approvalpolicies", "", false},
		{author, "update", "contentposts", "status", false},
		{reviewer, "create", "signoffs", "", true},
		{reviewer, "delete", "signoffs", "", true},
		{reviewer, "update", "signoffs", "", false},
		{reviewer, "get", "contentposts", "", true},
		{reviewer, "get", "approvalpolicies", "", true},
		{reviewer, "create", "contentposts", "", false},
		{platform, "create", "approvalpolicies", "", true},
		{platform, "patch", "approvalpolicies", "", true},
		{platform, "create", "signoffs", "", false},
		{platform, "update", "approvalpolicies", "status", false},
		{auditor, "list", "signoffs", "", true},
		{auditor, "get", "approvalpolicies", "", true},
		{auditor, "create", "contentposts", "", false},
		{auditor, "delete", "signoffs", "", false},
		{gitops, "patch", "contentposts", "", true},
		{gitops, "create", "approvalpolicies", "", true},
		{gitops, "create", "signoffs", "", false},
		{gitops, "delete", "signoffs", "", false},
		{stranger, "get", "contentposts", "", false},
	}
	for _, c := range cases {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: c.who.user, Groups: append([]string{"system:authenticated"}, c.who.groups...),
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: c.verb, Group: greenlightv1alpha1.GroupVersion.Group,
				Resource: c.resource, Subresource: c.subresource},
		}}
		g.Expect(admin.Create(ctx, review)).To(Succeed())
		g.Expect(review.Status.Allowed).To(Equal(c.allowed), "%s %s %s/%s", c.who.user, c.verb, c.resource, c.subresource)
	}
}
