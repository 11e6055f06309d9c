package controllers

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/argocdhealth"
)

// GitOps tools read a post's health from its status: kstatus (Flux's health checks, kubectl wait,
// cli-utils' apply) from its conditions and observedGeneration, Argo CD from the health.lua in
// config/argocd. These tests drive real posts through the real controllers to every phase and
// run both on the object the API server returns.

// toolHealth is what the tools must read from a post in one phase.
type toolHealth struct {
	kstatus status.Status
	argoCD  string
}

// healthOfPhase is the contract: InReview and Publishing are in progress; Draft, Scheduled and
// Published are current (the controller has done all it can until a person or the clock acts);
// ChangesRequested, Rejected, Expired, Failed and Blocked need a person (kstatus Failed). In Argo
// CD, phases that wait on people are Suspended and those that need a fix Degraded.
var healthOfPhase = map[greenlightv1alpha1.PostPhase]toolHealth{
	greenlightv1alpha1.PostDraft:            {status.CurrentStatus, argocdhealth.Suspended},
	greenlightv1alpha1.PostInReview:         {status.InProgressStatus, argocdhealth.Suspended},
	greenlightv1alpha1.PostChangesRequested: {status.FailedStatus, argocdhealth.Suspended},
	greenlightv1alpha1.PostRejected:         {status.FailedStatus, argocdhealth.Degraded},
	greenlightv1alpha1.PostExpired:          {status.FailedStatus, argocdhealth.Degraded},
	greenlightv1alpha1.PostScheduled:        {status.CurrentStatus, argocdhealth.Healthy},
	greenlightv1alpha1.PostPublishing:       {status.InProgressStatus, argocdhealth.Progressing},
	greenlightv1alpha1.PostPublished:        {status.CurrentStatus, argocdhealth.Healthy},
	greenlightv1alpha1.PostFailed:           {status.FailedStatus, argocdhealth.Degraded},
	greenlightv1alpha1.PostBlocked:          {status.FailedStatus, argocdhealth.Degraded},
}

// reachPhase drives a new post in a new namespace to each phase, the way the other tests of this
// package do, and returns it once it is there.
var reachPhase = map[greenlightv1alpha1.PostPhase]func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost{
	greenlightv1alpha1.PostDraft: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		ns := reviewedByMarketing(t, g, 0)
		g.Expect(as(g, "dana").Create(context.Background(), newPost("launch").in(ns).draft().obj())).To(Succeed())
		return expectPost(g, ns, "launch", greenlightv1alpha1.PostDraft, "marketing=Waiting")
	},
	greenlightv1alpha1.PostInReview: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		return inReview(t, g, 48*time.Hour)
	},
	greenlightv1alpha1.PostChangesRequested: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		post := inReview(t, g, 48*time.Hour)
		signOff(g, post, "marketing", "alice", func(b *signOffBuilder) *signOffBuilder { return b.requestChanges("Name the launch date.") })
		return expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostChangesRequested, "marketing=ChangesRequested")
	},
	greenlightv1alpha1.PostRejected: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		post := inReview(t, g, 48*time.Hour)
		signOff(g, post, "marketing", "alice", func(b *signOffBuilder) *signOffBuilder { return b.reject("Off-brand tone.") })
		return expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostRejected, "marketing=Rejected")
	},
	greenlightv1alpha1.PostExpired: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		post := inReview(t, g, time.Hour)
		advance(g, post, 61*time.Minute)
		return expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostExpired, "marketing=Expired")
	},
	greenlightv1alpha1.PostScheduled: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		return scheduledPost(g, newPolicy("acme").in(newNamespace(t)).stage("brand", "marketing").obj())
	},
	greenlightv1alpha1.PostPublishing: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		post, _ := publishingPost(t, g)
		return post
	},
	greenlightv1alpha1.PostPublished: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		post, jobs := publishingPost(t, g)
		finishJob(g, jobs["mastodon"], true, `{"id": "109", "url": "https://social.example/@acme/109"}`)
		finishJob(g, jobs["linkedin"], true, `{"id": "li-1", "url": "https://linkedin.example/posts/1"}`)
		return expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostPublished, "marketing=Approved")
	},
	greenlightv1alpha1.PostFailed: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		post, jobs := publishingPost(t, g)
		finishJob(g, jobs["linkedin"], true, `{"id": "li-1", "url": "https://linkedin.example/posts/1"}`)
		finishJob(g, jobs["mastodon"], false, "mastodon answered 401 Unauthorized: The access token is invalid")
		return expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostFailed, "marketing=Approved")
	},
	greenlightv1alpha1.PostBlocked: func(t *testing.T, g Gomega) *greenlightv1alpha1.ContentPost {
		ns := newNamespace(t)
		g.Expect(as(g, "dana").Create(context.Background(), newPost("launch").in(ns).obj())).To(Succeed())
		return expectPost(g, ns, "launch", greenlightv1alpha1.PostBlocked)
	},
}

// reviewedByMarketing creates a namespace whose policy acme has marketing review every post,
// with the given review window (none when zero).
func reviewedByMarketing(t *testing.T, g Gomega, reviewWindow time.Duration) string {
	ns := newNamespace(t)
	p := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	if reviewWindow > 0 {
		p.Spec.Stages[0].ReviewWindow = &metav1.Duration{Duration: reviewWindow}
	}
	g.Expect(k.Create(context.Background(), p)).To(Succeed())
	return ns
}

// inReview submits post launch to marketing, whose review window is reviewWindow.
func inReview(t *testing.T, g Gomega, reviewWindow time.Duration) *greenlightv1alpha1.ContentPost {
	ns := reviewedByMarketing(t, g, reviewWindow)
	g.Expect(as(g, "dana").Create(context.Background(), newPost("launch").in(ns).obj())).To(Succeed())
	return expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
}

// live reads obj from the API server as GitOps tools do: unstructured, as the JSON it serves.
func live(g Gomega, obj client.Object, kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(greenlightv1alpha1.GroupVersion.WithKind(kind))
	g.Expect(k.Get(context.Background(), client.ObjectKeyFromObject(obj), u)).To(Succeed())
	return u
}

// argoCDScript is the path of kind's health.lua.
func argoCDScript(kind string) string {
	return argocdhealth.ScriptFile(filepath.Join("..", "config", "argocd"), kind)
}

func TestEveryPhaseHasAHealthAndAWayToReachIt(t *testing.T) {
	g := NewWithT(t)
	phases := postPhaseConstants(t)
	g.Expect(phases).To(HaveLen(10))
	g.Expect(slices.Collect(maps.Keys(healthOfPhase))).To(ConsistOf(phases))
	g.Expect(slices.Collect(maps.Keys(reachPhase))).To(ConsistOf(phases))
	g.Expect(crdPhaseEnum(t)).To(ConsistOf(phases), "the CRD's enum and the constants agree")
}

func TestKstatusAndArgoCDReadEveryPhaseOfARealPost(t *testing.T) {
	phases := postPhaseConstants(t)
	// Expired moves the reconcilers' clock an hour ahead of the API server's: last, so that the
	// other posts' times read as a person would expect.
	phases = append(slices.DeleteFunc(phases, func(p greenlightv1alpha1.PostPhase) bool { return p == greenlightv1alpha1.PostExpired }),
		greenlightv1alpha1.PostExpired)
	for _, phase := range phases {
		t.Run(string(phase), func(t *testing.T) {
			g := NewWithT(t)
			post := reachPhase[phase](t, g)
			obj := live(g, post, "ContentPost")
			want := healthOfPhase[phase]

			result, err := status.Compute(obj)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(result.Status).To(Equal(want.kstatus), "kstatus says: %s", result.Message)

			ready := condition(post, greenlightv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			health, err := argocdhealth.RunFile(argoCDScript("ContentPost"), obj.Object, argocdhealth.ArgoCDLibraries)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(health.Status).To(Equal(want.argoCD))
			g.Expect(health.Message).To(HavePrefix(ready.Message), "Argo CD shows what the post says")

			switch phase {
			case greenlightv1alpha1.PostScheduled:
				g.Expect(ready.Message).To(Equal("Approved; publishes at 2099-01-01T09:00:00Z."))
				frozenScheduledPost(t, g, post)
			case greenlightv1alpha1.PostInReview:
				g.Expect(health.Message).To(MatchRegexp(`^Waiting on marketing \(stage brand\)\. Next deadline: \S+Z\.$`))
			case greenlightv1alpha1.PostPublished:
				driftedPublishedPost(t, g, post)
			}

			// A status that does not describe the latest spec yet is in progress, whatever it says.
			behind := obj.DeepCopy()
			behind.SetGeneration(obj.GetGeneration() + 1)
			result, err = status.Compute(behind)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(result.Status).To(Equal(status.InProgressStatus))
			health, err = argocdhealth.RunFile(argoCDScript("ContentPost"), behind.Object, argocdhealth.ArgoCDLibraries)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(health.Status).To(Equal(argocdhealth.Progressing))

			writeFixture(t, g, obj, strings.ToLower(string(phase)))
			if phase == greenlightv1alpha1.PostInReview {
				writeFixture(t, g, behind, "generation-behind")
				created := obj.DeepCopy()
				unstructured.RemoveNestedField(created.Object, "status")
				writeFixture(t, g, created, "no-status") // as the API server returns it before Greenlight saw it
			}
		})
	}
}

// frozenScheduledPost freezes the policy of a Scheduled post: it stays Current and Healthy, and
// says what holds it.
func frozenScheduledPost(t *testing.T, g Gomega, post *greenlightv1alpha1.ContentPost) {
	p := &greenlightv1alpha1.ApprovalPolicy{}
	g.Expect(k.Get(context.Background(), client.ObjectKey{Namespace: post.Namespace, Name: "acme"}, p)).To(Succeed())
	update(g, p, func() { p.Spec.Freeze = &greenlightv1alpha1.Freeze{Reason: "crisis: all publishing halted"} })
	want := `Approved; publishes at 2099-01-01T09:00:00Z if the freeze by acme ("crisis: all publishing halted") is lifted by then.`
	var obj *unstructured.Unstructured
	g.Eventually(func(g Gomega) {
		g.Expect(condition(getPost(g, post.Namespace, post.Name), greenlightv1alpha1.ConditionReady).Message).To(Equal(want))
		obj = live(g, post, "ContentPost")
	}, eventually, poll).Should(Succeed())
	result, err := status.Compute(obj)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(result.Status).To(Equal(status.CurrentStatus))
	health, err := argocdhealth.RunFile(argoCDScript("ContentPost"), obj.Object, argocdhealth.ArgoCDLibraries)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(health).To(Equal(argocdhealth.Status{Status: argocdhealth.Healthy, Message: want}))
	writeFixture(t, g, obj, "scheduled-frozen")
}

// driftedPublishedPost edits a Published post: it stays Current and Healthy, and Argo CD says that
// its spec no longer matches what went out.
func driftedPublishedPost(t *testing.T, g Gomega, post *greenlightv1alpha1.ContentPost) {
	update(g, post, func() { post.Spec.Body = "Our spring line is here, now cheaper" })
	var obj *unstructured.Unstructured
	g.Eventually(func(g Gomega) {
		got := getPost(g, post.Namespace, post.Name)
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(condition(got, greenlightv1alpha1.ConditionDrifted)).NotTo(BeNil())
		obj = live(g, post, "ContentPost")
	}, eventually, poll).Should(Succeed())
	result, err := status.Compute(obj)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(result.Status).To(Equal(status.CurrentStatus))
	health, err := argocdhealth.RunFile(argoCDScript("ContentPost"), obj.Object, argocdhealth.ArgoCDLibraries)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(health.Status).To(Equal(argocdhealth.Healthy))
	g.Expect(health.Message).To(MatchRegexp(`^Published to linkedin \(https://linkedin.example/posts/1\), mastodon \(\S+\)\. ` +
		`The spec \(revision sha256:[0-9a-f]+\) no longer matches revision sha256:[0-9a-f]+, which was published; nothing is reviewed or published again\.$`))
	writeFixture(t, g, obj, "published-drifted")
}

func TestKstatusAndArgoCDReadApprovalPolicies(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*greenlightv1alpha1.ApprovalPolicy)
		kstatus status.Status
		argoCD  string
		message string
	}{
		{name: "valid", kstatus: status.CurrentStatus, argoCD: argocdhealth.Healthy, message: "The policy is valid."},
		{name: "invalid", kstatus: status.FailedStatus, argoCD: argocdhealth.Degraded,
			edit: func(p *greenlightv1alpha1.ApprovalPolicy) {
				p.Spec.Stages[0].Departments[0].When = `post.spec.channels.exists(c, c.name ==`
			},
			message: "spec.stages[0].departments[0].when (department marketing) does not compile"},
		{name: "frozen", kstatus: status.CurrentStatus, argoCD: argocdhealth.Suspended,
			edit: func(p *greenlightv1alpha1.ApprovalPolicy) {
				p.Spec.Freeze = &greenlightv1alpha1.Freeze{Reason: "crisis: all publishing halted"}
			},
			message: "Publishing of every post this policy selects is frozen: crisis: all publishing halted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := newPolicy("acme").in(newNamespace(t)).stage("brand", "marketing").obj()
			if tc.edit != nil {
				tc.edit(p)
			}
			g.Expect(k.Create(context.Background(), p)).To(Succeed())
			var obj *unstructured.Unstructured
			g.Eventually(func(g Gomega) {
				obj = live(g, p, "ApprovalPolicy")
				observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
				g.Expect(observed).To(Equal(obj.GetGeneration()))
			}, eventually, poll).Should(Succeed())

			result, err := status.Compute(obj)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(result.Status).To(Equal(tc.kstatus), "kstatus says: %s", result.Message)
			health, err := argocdhealth.RunFile(argoCDScript("ApprovalPolicy"), obj.Object, argocdhealth.ArgoCDLibraries)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(health.Status).To(Equal(tc.argoCD))
			g.Expect(health.Message).To(ContainSubstring(tc.message))

			writeFixture(t, g, obj, tc.name)
			if tc.name == "valid" {
				behind := obj.DeepCopy()
				behind.SetGeneration(obj.GetGeneration() + 1)
				health, err = argocdhealth.RunFile(argoCDScript("ApprovalPolicy"), behind.Object, argocdhealth.ArgoCDLibraries)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(health.Status).To(Equal(argocdhealth.Progressing))
				writeFixture(t, g, behind, "generation-behind")
				created := obj.DeepCopy()
				unstructured.RemoveNestedField(created.Object, "status")
				writeFixture(t, g, created, "no-status")
			}
		})
	}
}

// postPhaseConstants lists the PostPhase constants declared in api/v1alpha1, in declaration
// order, so that a phase added there without a health here fails the test.
func postPhaseConstants(t *testing.T) []greenlightv1alpha1.PostPhase {
	t.Helper()
	files := token.NewFileSet()
	dir := filepath.Join("..", "api", "v1alpha1")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var phases []greenlightv1alpha1.PostPhase
	for _, entry := range entries {
		if !strings.HasSuffix(entry.Name(), ".go") || strings.HasSuffix(entry.Name(), "_test.go") {
			continue
		}
		file, err := parser.ParseFile(files, filepath.Join(dir, entry.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			if typ, ok := spec.Type.(*ast.Ident); !ok || typ.Name != "PostPhase" {
				return true
			}
			for _, value := range spec.Values {
				literal, ok := value.(*ast.BasicLit)
				if !ok {
					t.Fatalf("a PostPhase constant is not a string literal: %#v", value)
				}
				phase, err := strconv.Unquote(literal.Value)
				if err != nil {
					t.Fatal(err)
				}
				phases = append(phases, greenlightv1alpha1.PostPhase(phase))
			}
			return true
		})
	}
	return phases
}

// crdPhaseEnum is the enum of status.phase in the generated ContentPost CRD.
func crdPhaseEnum(t *testing.T) []greenlightv1alpha1.PostPhase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "config", "crd", "bases", "greenlight.dev_contentposts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Status struct {
								Properties struct {
									Phase struct {
										Enum []greenlightv1alpha1.PostPhase `json:"enum"`
									} `json:"phase"`
								} `json:"properties"`
							} `json:"status"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("the ContentPost CRD has %d versions; this test reads one", len(crd.Spec.Versions))
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties.Status.Properties.Phase.Enum
}

// writeFixture writes obj, as the controllers left it, to $GREENLIGHT_ARGOCD_FIXTURES/<Kind>/<name>.yaml
// when that variable is set: the Argo CD test fixtures in config/argocd are taken from these
// (with the server's bookkeeping and the test's namespace replaced).
func writeFixture(t *testing.T, g Gomega, obj *unstructured.Unstructured, name string) {
	dir := os.Getenv("GREENLIGHT_ARGOCD_FIXTURES")
	if dir == "" {
		return
	}
	fixture := obj.DeepCopy()
	testNamespace := fixture.GetNamespace()
	fixture.SetNamespace("acme-social")
	fixture.SetManagedFields(nil)
	fixture.SetResourceVersion("")
	fixture.SetUID("")
	annotations := fixture.GetAnnotations()
	delete(annotations, "test.greenlight.dev/now")
	fixture.SetAnnotations(annotations)
	raw, err := yaml.Marshal(fixture.Object)
	g.Expect(err).NotTo(HaveOccurred())
	raw = []byte(strings.ReplaceAll(string(raw), testNamespace, "acme-social")) // messages name it too
	path := filepath.Join(dir, fixture.GetKind(), name+".yaml")
	g.Expect(os.MkdirAll(filepath.Dir(path), 0o750)).To(Succeed())
	g.Expect(os.WriteFile(path, raw, 0o600)).To(Succeed())
	t.Logf("wrote %s", path)
}
