package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/greenlight-operator/greenlight/internal/testenv"
)

// k talks to the envtest API server, as a cluster administrator, for every test in this file.
var (
	k   client.Client
	env *testenv.Environment
)

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k, err = client.New(env.Config, client.Options{Scheme: runtime.NewScheme()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

// Valid objects that each invalid case breaks in one place.
const (
	validPost = `
apiVersion: greenlight.dev/v1alpha1
kind: ContentPost
metadata: {name: post, namespace: default}
spec:
  body: "Our spring line is here"
  media: [{url: "https://cdn.example.com/a.png"}]
  channels: [{name: mastodon}]
`
	validPolicy = `
apiVersion: greenlight.dev/v1alpha1
kind: ApprovalPolicy
metadata: {name: policy, namespace: default}
spec:
  stages:
  - name: brand
    departments:
    - name: marketing
      approvers: {groups: [marketing]}
  - name: compliance
    departments:
    - name: legal
      approvers: {users: [carol]}
`
	validSignOff = `
apiVersion: greenlight.dev/v1alpha1
kind: SignOff
metadata: {name: signoff, namespace: default}
spec:
  post: launch-teaser
  department: legal
  decision: Approve
`
)

func TestInvalidManifestsAreRejected(t *testing.T) {
	twentyOneChannels := make([]string, 21)
	for i := range twentyOneChannels {
		twentyOneChannels[i] = fmt.Sprintf("{name: c%d}", i)
	}

	cases := []struct {
		name    string
		base    string
		overlay string // JSON merge patch, in YAML, applied to base
		want    []string
	}{
		// ContentPost
		{"post body empty", validPost, `spec: {body: ""}`,
			[]string{"spec.body", "at least 1 chars long"}},
		{"post body over 65536 characters", validPost, fmt.Sprintf("spec: {body: %q}", strings.Repeat("x", 65537)),
			[]string{"spec.body", "Too long", "65536"}},
		{"post body missing", validPost, `spec: {body: null}`,
			[]string{"spec.body", "Required value"}},
		{"post without channels", validPost, `spec: {channels: []}`,
			[]string{"spec.channels", "at least 1 items"}},
		{"post with 21 channels", validPost, "spec: {channels: [" + strings.Join(twentyOneChannels, ",") + "]}",
			[]string{"spec.channels", "at most 20 items"}},
		{"post with a duplicate channel", validPost, `spec: {channels: [{name: mastodon}, {name: mastodon}]}`,
			[]string{"spec.channels[1]", "Duplicate value"}},
		{"post channel name not a DNS label", validPost, `spec: {channels: [{name: "Mastodon!"}]}`,
			[]string{"spec.channels[0].name", "must be a DNS label", "for example mastodon"}},
		{"post media over http", validPost, `spec: {media: [{url: "http://cdn.example.com/a.png"}]}`,
			[]string{"spec.media[0].url", "must be an https:// URL"}},
		{"post media sha256 not lowercase hex", validPost, `spec: {media: [{url: "https://cdn.example.com/a.png", sha256: "ABC123"}]}`,
			[]string{"spec.media[0].sha256", "64 lowercase hex characters"}},
		{"post draft of the wrong type", validPost, `spec: {draft: "yes"}`,
			[]string{"spec.draft", "must be of type boolean"}},
		{"post campaign with a line break", validPost, `spec: {campaign: "spring\nReview"}`,
			[]string{"spec.campaign", "without control characters"}},
		{"post campaign with an escape sequence", validPost, `spec: {campaign: "spring\u001b[8m"}`,
			[]string{"spec.campaign", "without control characters"}},
		{"post campaign with a C1 control", validPost, `spec: {campaign: "spring\u009b8m"}`,
			[]string{"spec.campaign", "without control characters"}},
		{"post campaign with a bidirectional override", validPost, `spec: {campaign: "spring\u202egnp"}`,
			[]string{"spec.campaign", "without control characters"}},
		{"post publishAt not a time", validPost, `spec: {publishAt: "next tuesday"}`,
			[]string{"spec.publishAt"}},

		// ApprovalPolicy
		{"policy without stages", validPolicy, `spec: {stages: []}`,
			[]string{"spec.stages", "at least 1 items"}},
		{"policy with duplicate stage names", validPolicy, `spec: {stages: [{name: brand, departments: [{name: a, approvers: {users: [sam]}}]}, {name: brand, departments: [{name: b, approvers: {users: [kim]}}]}]}`,
			[]string{"spec.stages[1]", "Duplicate value"}},
		{"policy with a department in two stages", validPolicy, `spec: {stages: [{name: brand, departments: [{name: legal, approvers: {users: [sam]}}]}, {name: compliance, departments: [{name: legal, approvers: {users: [kim]}}]}]}`,
			[]string{"spec", "department names must be unique across all stages"}},
		{"policy with a department twice in one stage", validPolicy, `spec: {stages: [{name: brand, departments: [{name: legal, approvers: {users: [sam]}}, {name: legal, approvers: {users: [kim]}}]}]}`,
			[]string{"spec.stages[0].departments[1]", "Duplicate value"}},
		{"policy department without approvers", validPolicy, `spec: {stages: [{name: brand, departments: [{name: legal, approvers: {}}]}]}`,
			[]string{"spec.stages[0].departments[0]", "approvers must name at least one user or group"}},
		{"policy minApprovals zero", validPolicy, `spec: {stages: [{name: brand, departments: [{name: legal, minApprovals: 0, approvers: {users: [sam]}}]}]}`,
			[]string{"spec.stages[0].departments[0].minApprovals", "greater than or equal to 1"}},
		{"policy minApprovals of the wrong type", validPolicy, `spec: {stages: [{name: brand, departments: [{name: legal, minApprovals: "two", approvers: {users: [sam]}}]}]}`,
			[]string{"spec.stages[0].departments[0].minApprovals", "must be of type integer"}},
		{"policy covers an unknown field", validPolicy, `spec: {stages: [{name: brand, departments: [{name: legal, covers: [title], approvers: {users: [sam]}}]}]}`,
			[]string{"spec.stages[0].departments[0].covers[0]", "Unsupported value", `"title"`}},
		{"policy reviewWindow negative", validPolicy, `spec: {stages: [{name: brand, reviewWindow: "-1h", departments: [{name: legal, approvers: {users: [sam]}}]}]}`,
			[]string{"spec.stages[0].reviewWindow", "must be a positive duration"}},
		{"policy reviewWindow zero", validPolicy, `spec: {stages: [{name: brand, reviewWindow: "0s", departments: [{name: legal, approvers: {users: [sam]}}]}]}`,
			[]string{"spec.stages[0].reviewWindow", "must be a positive duration"}},
		{"policy reminder zero", validPolicy, `spec: {deadlines: {reminders: ["1h", "0m"]}}`,
			[]string{"spec.deadlines.reminders", "every reminder must be a positive duration"}},
		{"policy onMissed unknown", validPolicy, `spec: {deadlines: {onMissed: Ignore}}`,
			[]string{"spec.deadlines.onMissed", "Unsupported value", `"Ignore"`}},
		{"policy window kind unknown", validPolicy, `spec: {windows: [{kind: Maybe, schedule: "0 18 * * 5", duration: 62h}]}`,
			[]string{"spec.windows[0].kind", "Unsupported value", `"Maybe"`}},
		{"policy window without duration", validPolicy, `spec: {windows: [{kind: Deny, schedule: "0 18 * * 5"}]}`,
			[]string{"spec.windows[0].duration", "Required value"}},
		{"policy publishing channel not a DNS label", validPolicy, `spec: {publishing: {channels: {Bad_Name: {jobTemplate: {spec: {template: {spec: {containers: []}}}}}}}}`,
			[]string{"spec.publishing.channels", "channel names must be DNS labels"}},
		{"policy insights offset zero", validPolicy, `spec: {publishing: {channels: {mastodon: {jobTemplate: {spec: {template: {spec: {containers: []}}}}, insights: {after: ["1h", "0s"]}}}}}`,
			[]string{"spec.publishing.channels[mastodon].insights.after", "every insights offset must be a positive duration"}},
		{"policy insights offset over a year", validPolicy, `spec: {publishing: {channels: {mastodon: {jobTemplate: {spec: {template: {spec: {containers: []}}}}, insights: {after: ["9000h"]}}}}}`,
			[]string{"spec.publishing.channels[mastodon].insights.after", "at most 8784h"}},
		{"policy insights offsets repeated", validPolicy, `spec: {publishing: {channels: {mastodon: {jobTemplate: {spec: {template: {spec: {containers: []}}}}, insights: {after: ["1h", "60m"]}}}}}`,
			[]string{"spec.publishing.channels[mastodon].insights.after", "list each duration once"}},
		{"policy insights with 11 offsets", validPolicy, `spec: {publishing: {channels: {mastodon: {jobTemplate: {spec: {template: {spec: {containers: []}}}}, insights: {after: ["1h","2h","3h","4h","5h","6h","7h","8h","9h","10h","11h"]}}}}}`,
			[]string{"spec.publishing.channels.mastodon.insights.after", "must have at most 10 items"}},
		{"policy maxLateness not a duration", validPolicy, `spec: {publishing: {maxLateness: "an hour"}}`,
			[]string{"spec.publishing.maxLateness", "must be a positive duration"}},
		{"policy notification format unknown", validPolicy, `spec: {notifications: [{name: chat, urlSecretRef: {name: s, key: url}, format: xml, events: [Approved]}]}`,
			[]string{"spec.notifications[0].format", "Unsupported value", `"xml"`}},
		{"policy notification event unknown", validPolicy, `spec: {notifications: [{name: chat, urlSecretRef: {name: s, key: url}, events: [Edited]}]}`,
			[]string{"spec.notifications[0].events[0]", "Unsupported value", `"Edited"`}},

		// SignOff
		{"signoff decision unknown", validSignOff, `spec: {decision: Maybe}`,
			[]string{"spec.decision", "Unsupported value", `"Maybe"`}},
		{"signoff changes requested without comment", validSignOff, `spec: {decision: RequestChanges}`,
			[]string{"spec", "comment is required when decision is RequestChanges or Reject"}},
		{"signoff reject without comment", validSignOff, `spec: {decision: Reject, comment: ""}`,
			[]string{"spec", "comment is required when decision is RequestChanges or Reject"}},
		{"signoff post not an object name", validSignOff, `spec: {post: "Launch Teaser"}`,
			[]string{"spec.post", "must be the name of a ContentPost"}},
		{"signoff department not a DNS label", validSignOff, `spec: {department: "Legal Team"}`,
			[]string{"spec.department", "must be a DNS label"}},
		{"policy stage name not a DNS label", validPolicy, `spec: {stages: [{name: "Brand Review", departments: [{name: legal, approvers: {users: [sam]}}]}]}`,
			[]string{"spec.stages[0].name", "must be a DNS label"}},
		{"signoff without post", validSignOff, `spec: {post: null}`,
			[]string{"spec.post", "Required value"}},
		{"signoff revision malformed", validSignOff, `spec: {revision: "abc"}`,
			[]string{"spec.revision", "sha256: followed by 64 lowercase hex characters"}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := overlaid(g, tc.base, tc.overlay)
			err := k.Create(context.Background(), obj)
			g.Expect(err).To(HaveOccurred(), "the API server accepted an invalid %s", obj.GetKind())
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			t.Log(err)
			for _, fragment := range tc.want {
				g.Expect(err.Error()).To(ContainSubstring(fragment))
			}
		})
	}
}

func TestSignOffSpecIsImmutable(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	signOff := overlaid(g, validSignOff, `metadata: {name: null, generateName: immutable-}`)
	g.Expect(k.Create(ctx, signOff)).To(Succeed())

	g.Expect(unstructured.SetNestedField(signOff.Object, "Reject", "spec", "decision")).To(Succeed())
	g.Expect(unstructured.SetNestedField(signOff.Object, "changed my mind", "spec", "comment")).To(Succeed())
	err := k.Update(ctx, signOff)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	g.Expect(err.Error()).To(ContainSubstring("a SignOff cannot be changed after it is created"))

	// Labels and annotations stay editable: only the decision itself is frozen.
	g.Expect(k.Get(ctx, client.ObjectKeyFromObject(signOff), signOff)).To(Succeed())
	signOff.SetLabels(map[string]string{"reviewed": "yes"})
	g.Expect(k.Update(ctx, signOff)).To(Succeed())
}

func TestPostAuthorIsImmutable(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	post := overlaid(g, validPost, `{metadata: {name: null, generateName: author-}, spec: {author: dana}}`)
	g.Expect(k.Create(ctx, post)).To(Succeed())
	g.Expect(unstructured.SetNestedField(post.Object, "carol", "spec", "author")).To(Succeed())
	err := k.Update(ctx, post)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	g.Expect(err.Error()).To(ContainSubstring("spec.author cannot be changed after the post is created"))
}

func TestSamplesAreAccepted(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	dir := filepath.Join(testenv.RepoRoot(), "config", "samples")
	files, err := filepath.Glob(filepath.Join(dir, "greenlight_*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).NotTo(BeEmpty())

	namespace := newNamespace(g)
	kinds := map[string]int{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		g.Expect(err).NotTo(HaveOccurred())
		obj := &unstructured.Unstructured{}
		g.Expect(yaml.Unmarshal(data, &obj.Object)).To(Succeed(), file)
		if obj.GetAPIVersion() != "greenlight.dev/v1alpha1" {
			continue
		}
		obj.SetNamespace(namespace)
		kinds[obj.GetKind()]++
		g.Expect(k.Create(ctx, obj)).To(Succeed(), "sample %s was rejected", filepath.Base(file))
	}
	g.Expect(kinds).To(Equal(map[string]int{"ApprovalPolicy": 1, "ContentPost": 1, "SignOff": 3}))
}

// TestDiscoveryNames checks the names kubectl users type: short names, the greenlight category
// and the status subresource.
func TestDiscoveryNames(t *testing.T) {
	g := NewWithT(t)
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	g.Expect(err).NotTo(HaveOccurred())
	resources, err := dc.ServerResourcesForGroupVersion("greenlight.dev/v1alpha1")
	g.Expect(err).NotTo(HaveOccurred())

	type names struct {
		kind       string
		shortNames []string
		categories []string
		namespaced bool
	}
	got := map[string]names{}
	for _, r := range resources.APIResources {
		got[r.Name] = names{r.Kind, r.ShortNames, r.Categories, r.Namespaced}
	}
	g.Expect(got).To(Equal(map[string]names{
		"contentposts":            {"ContentPost", []string{"post", "posts", "cp"}, []string{"greenlight"}, true},
		"contentposts/status":     {"ContentPost", nil, nil, true},
		"approvalpolicies":        {"ApprovalPolicy", []string{"ap", "policy"}, []string{"greenlight"}, true},
		"approvalpolicies/status": {"ApprovalPolicy", nil, nil, true},
		"signoffs":                {"SignOff", []string{"so"}, []string{"greenlight"}, true},
		// No signoffs/status: admission writes the status a SignOff is created with.
	}))
}

// overlaid returns base with the JSON merge patch overlay (written in YAML) applied.
func overlaid(g Gomega, base, overlay string) *unstructured.Unstructured {
	baseJSON, err := yaml.YAMLToJSON([]byte(base))
	g.Expect(err).NotTo(HaveOccurred())
	overlayJSON, err := yaml.YAMLToJSON([]byte(overlay))
	g.Expect(err).NotTo(HaveOccurred())
	merged, err := jsonpatch.MergePatch(baseJSON, overlayJSON)
	g.Expect(err).NotTo(HaveOccurred())
	obj := &unstructured.Unstructured{}
	g.Expect(obj.UnmarshalJSON(merged)).To(Succeed())
	return obj
}

// newNamespace creates a namespace with a generated name, so that tests can run again against
// the same API server.
func newNamespace(g Gomega) string {
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetGenerateName("samples-")
	g.Expect(k.Create(context.Background(), ns)).To(Succeed())
	return ns.GetName()
}
