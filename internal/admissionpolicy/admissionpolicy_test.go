package admissionpolicy

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/testenv"
)

// The people of the tests, with their groups. Everyone is a cluster administrator: RBAC is not
// what these tests are about, and the policies exclude nobody.
var people = map[string][]string{
	"carol":   {"legal"},
	"mallory": {"interns"},
	"dana":    {"authors"},
}

// namespace holds every object of the tests.
const namespace = "identity"

// The policies' denials, as far as the tests pin them.
const (
	forgedReviewer     = `spec.reviewer must be you (the authenticated user), not "carol": leave it empty and Greenlight records you`
	emptyReviewer      = `spec.reviewer must be you (the authenticated user) and the Greenlight webhook that fills it is not running: set spec.reviewer to "mallory"`
	foreignApprover    = "spec.approver must be an approvers entry you hold (user:<you> or group:<one of your groups>): leave it empty and Greenlight fills it"
	bindingLabels      = "labels greenlight.dev/post-uid, greenlight.dev/policy-uid and sharding.fluxcd.io/key bind the SignOff to what it was made for and cannot be added, removed or changed: keep them as they are"
	shardChange        = "label sharding.fluxcd.io/key places the post in one Greenlight shard and cannot be added, removed or changed: to move the post to another shard, create it anew there"
	emptyShard         = "label sharding.fluxcd.io/key names the Greenlight shard of the post and cannot be empty: name a shard or leave the label out"
	forgedCreator      = "annotation greenlight.dev/created-by must be you (the authenticated user): remove it from your manifest and Greenlight records you"
	editorsAtCreate    = "annotation greenlight.dev/editors is recorded by Greenlight and cannot be set when a post is created: remove it from your manifest"
	creatorChanged     = "annotation greenlight.dev/created-by records who created the post and cannot be set, removed or changed: keep it as it is"
	editorsRewritten   = "annotation greenlight.dev/editors records everyone who changed the post and can only grow by appending: keep its entries as they are"
	unrecordedSpecEdit = "you changed spec, so annotation greenlight.dev/editors must list you: append your user name to it, or let the Greenlight webhook record you"
	missingCreator     = `annotation greenlight.dev/created-by must record you (the authenticated user) and the Greenlight webhook that sets it is not running: set it to "dana"`
	othersWithdrawal   = "only carol, who made this sign-off, can withdraw it (or a member of system:masters)"
)

var (
	env    *testenv.Environment
	scheme = runtime.NewScheme()
	// admin is envtest's administrator (group system:masters).
	admin client.Client
	// as holds a client authenticated as each of the people.
	as = map[string]client.Client{}
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	var err error
	env, err = testenv.Start(testenv.WithAdmissionPolicies())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if err := setUp(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func setUp(ctx context.Context) error {
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, greenlightv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	var err error
	if admin, err = client.New(env.Config, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "identity-test-people"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
	}
	for name, groups := range people {
		user, err := env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
		if err != nil {
			return err
		}
		if as[name], err = client.New(user.Config(), client.Options{Scheme: scheme}); err != nil {
			return err
		}
		binding.Subjects = append(binding.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name})
	}
	if err := admin.Create(ctx, binding); err != nil {
		return err
	}
	return waitForPolicies(ctx)
}

// waitForPolicies returns once the API server enforces both policies, which it loads
// asynchronously after they are created. It probes each with a request that only that policy
// denies, and removes what a probe created before the policy was in force.
func waitForPolicies(ctx context.Context) error {
	probes := map[string]client.Object{
		"signoff-identity":     newSignOff().reviewer("carol").build(),
		"contentpost-identity": newPost().annotate(greenlightv1alpha1.AnnotationCreatedBy, "carol").build(),
	}
	deadline := time.Now().Add(time.Minute)
	for policy, probe := range probes {
		for {
			obj := probe.DeepCopyObject().(client.Object)
			err := as["mallory"].Create(ctx, obj)
			if isDenialBy(err, policy) {
				break
			}
			if err != nil {
				return fmt.Errorf("probing ValidatingAdmissionPolicy %s: %w", policy, err)
			}
			if err := admin.Delete(ctx, obj); err != nil {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("ValidatingAdmissionPolicy %s was not in force a minute after it was created", policy)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// isDenialBy tells whether err is a denial by the named ValidatingAdmissionPolicy, rather than
// by CRD validation or RBAC.
func isDenialBy(err error, policy string) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), fmt.Sprintf("ValidatingAdmissionPolicy '%s'", policy))
}

// expectOutcome asserts that a request was allowed (denial empty) or denied by the policy with
// the denial.
func expectOutcome(g Gomega, err error, policy, denial string) {
	if denial == "" {
		g.Expect(err).NotTo(HaveOccurred())
		return
	}
	g.Expect(err).To(HaveOccurred())
	g.Expect(isDenialBy(err, policy)).To(BeTrue(), "denied by %s: %v", policy, err)
	g.Expect(err.Error()).To(ContainSubstring(denial))
}

// TestPoliciesTypeCheck type-checks the policies against the CRDs' schemas as the API server's
// status controller does, which envtest does not run: a warning there means an expression that
// fails at admission time and, with failurePolicy Fail, denies everything it matches.
func TestPoliciesTypeCheck(t *testing.T) {
	g := NewWithT(t)
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	g.Expect(err).NotTo(HaveOccurred())
	checker := validating.TypeChecker{
		SchemaResolver: &resolver.ClientDiscoveryResolver{Discovery: dc},
		RestMapper:     restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
	}
	for _, name := range []string{"signoff-identity", "contentpost-identity"} {
		policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
		g.Expect(admin.Get(context.Background(), client.ObjectKey{Name: name}, policy)).To(Succeed())
		g.Expect(policy.Spec.FailurePolicy).To(HaveValue(Equal(admissionregistrationv1.Fail)), name)
		g.Expect(checker.Check(policy)).To(BeEmpty(), name)

		// The checker sees the CRD's schema: it would notice a misspelt field.
		misspelt := policy.DeepCopy()
		misspelt.Spec.Validations[0].Expression = "object.spec.bdoy == ''"
		g.Expect(checker.Check(misspelt)).NotTo(BeEmpty(), name)

		binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
		g.Expect(admin.Get(context.Background(), client.ObjectKey{Name: name}, binding)).To(Succeed())
		g.Expect(binding.Spec.PolicyName).To(Equal(name))
		g.Expect(binding.Spec.ValidationActions).To(Equal([]admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}))
	}
}

func TestSignOffCreate(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		signOff *greenlightv1alpha1.SignOff
		denial  string
	}{
		{"a forged reviewer is denied", "mallory", newSignOff().reviewer("carol").build(), forgedReviewer},
		{"an empty reviewer is denied while the webhook cannot fill it", "mallory", newSignOff().build(), emptyReviewer},
		{"the requesting user as reviewer is allowed", "carol", newSignOff().reviewer("carol").build(), ""},
		{"a group the reviewer is in is allowed as approver", "carol",
			newSignOff().reviewer("carol").approver("group:legal").build(), ""},
		{"a group the reviewer is not in is denied as approver", "mallory",
			newSignOff().reviewer("mallory").approver("group:legal").build(), foreignApprover},
		{"the reviewer's own user entry is allowed as approver", "carol",
			newSignOff().reviewer("carol").approver("user:carol").build(), ""},
		{"another user's entry is denied as approver", "mallory",
			newSignOff().reviewer("mallory").approver("user:carol").build(), foreignApprover},
		{"a user name is not a group", "carol",
			newSignOff().reviewer("carol").approver("group:carol").build(), foreignApprover},
		{"an intern's own group is allowed as approver: the webhook and controller decide whether it approves",
			"mallory", newSignOff().reviewer("mallory").approver("group:interns").build(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			expectOutcome(g, as[tt.user].Create(context.Background(), tt.signOff), "signoff-identity", tt.denial)
		})
	}
}

func TestSignOffBindingLabels(t *testing.T) {
	bound := newSignOff().reviewer("carol").
		label(greenlightv1alpha1.LabelPostUID, "post-uid-1").
		label(greenlightv1alpha1.LabelPolicyUID, "policy-uid-1").
		label("team", "compliance")
	unbound := newSignOff().reviewer("carol").label("team", "compliance")
	tests := []struct {
		name   string
		from   signOffBuilder
		change func(labels map[string]string)
		denial string
	}{
		{"changing post-uid is denied", bound,
			func(l map[string]string) { l[greenlightv1alpha1.LabelPostUID] = "post-uid-2" }, bindingLabels},
		{"changing policy-uid is denied", bound,
			func(l map[string]string) { l[greenlightv1alpha1.LabelPolicyUID] = "policy-uid-2" }, bindingLabels},
		{"removing post-uid is denied", bound,
			func(l map[string]string) { delete(l, greenlightv1alpha1.LabelPostUID) }, bindingLabels},
		{"removing policy-uid is denied", bound,
			func(l map[string]string) { delete(l, greenlightv1alpha1.LabelPolicyUID) }, bindingLabels},
		{"adding post-uid is denied", unbound,
			func(l map[string]string) { l[greenlightv1alpha1.LabelPostUID] = "post-uid-1" }, bindingLabels},
		{"adding policy-uid is denied", unbound,
			func(l map[string]string) { l[greenlightv1alpha1.LabelPolicyUID] = "policy-uid-1" }, bindingLabels},
		{"emptying the shard key is denied", bound.label(greenlightv1alpha1.LabelShard, "shard1"),
			func(l map[string]string) { l[greenlightv1alpha1.LabelShard] = "" }, bindingLabels},
		{"adding a shard key is denied", unbound,
			func(l map[string]string) { l[greenlightv1alpha1.LabelShard] = "shard1" }, bindingLabels},
		{"changing another label is allowed", bound, func(l map[string]string) { l["team"] = "legal" }, ""},
		{"adding another label is allowed", unbound, func(l map[string]string) { l["reviewed"] = "yes" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			signOff := tt.from.build()
			g.Expect(as["carol"].Create(ctx, signOff)).To(Succeed())
			tt.change(signOff.Labels)
			// As the cluster administrator: the policy excludes nobody.
			expectOutcome(g, admin.Update(ctx, signOff), "signoff-identity", tt.denial)
		})
	}
}

func TestContentPostCreate(t *testing.T) {
	tests := []struct {
		name   string
		post   *greenlightv1alpha1.ContentPost
		denial string
	}{
		{"another user as creator is denied", newPost().annotate(greenlightv1alpha1.AnnotationCreatedBy, "carol").build(), forgedCreator},
		{"the requesting user as creator is allowed", newPost().annotate(greenlightv1alpha1.AnnotationCreatedBy, "dana").build(), ""},
		{"no creator is denied: the creator could approve the post", newPost().without(greenlightv1alpha1.AnnotationCreatedBy).build(), missingCreator},
		{"editors are denied", newPost().annotate(greenlightv1alpha1.AnnotationEditors, `["dana"]`).build(), editorsAtCreate},
		{"an empty editors list is denied", newPost().annotate(greenlightv1alpha1.AnnotationEditors, `[]`).build(), editorsAtCreate},
		{"an empty shard key is denied", newPost().annotate(greenlightv1alpha1.AnnotationCreatedBy, "dana").label(greenlightv1alpha1.LabelShard, "").build(), emptyShard},
		{"a shard key is allowed", newPost().annotate(greenlightv1alpha1.AnnotationCreatedBy, "dana").label(greenlightv1alpha1.LabelShard, "shard1").build(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			expectOutcome(g, as["dana"].Create(context.Background(), tt.post), "contentpost-identity", tt.denial)
		})
	}
}

func TestContentPostUpdate(t *testing.T) {
	// created is a post as the webhook leaves it on create: dana recorded as its creator.
	created := func(g Gomega) *greenlightv1alpha1.ContentPost {
		post := newPost().annotate(greenlightv1alpha1.AnnotationCreatedBy, "dana").build()
		g.Expect(as["dana"].Create(context.Background(), post)).To(Succeed())
		return post
	}
	// edited is a created post whose spec dana and then carol changed, each recording themselves.
	edited := func(g Gomega) *greenlightv1alpha1.ContentPost {
		post := created(g)
		for _, edit := range []struct{ user, editors string }{{"dana", `["dana"]`}, {"carol", `["dana","carol"]`}} {
			post.Spec.Body += " Edited by " + edit.user + "."
			post.Annotations[greenlightv1alpha1.AnnotationEditors] = edit.editors
			g.Expect(as[edit.user].Update(context.Background(), post)).To(Succeed())
		}
		return post
	}
	editSpec := func(post *greenlightv1alpha1.ContentPost) { post.Spec.Body = "Our summer line is here" }
	setEditors := func(value string) func(*greenlightv1alpha1.ContentPost) {
		return func(post *greenlightv1alpha1.ContentPost) {
			post.Annotations[greenlightv1alpha1.AnnotationEditors] = value
		}
	}
	tests := []struct {
		name   string
		from   func(Gomega) *greenlightv1alpha1.ContentPost
		user   string
		change func(*greenlightv1alpha1.ContentPost)
		denial string
	}{
		{"changing the creator is denied", created, "dana",
			func(p *greenlightv1alpha1.ContentPost) {
				p.Annotations[greenlightv1alpha1.AnnotationCreatedBy] = "mallory"
			}, creatorChanged},
		{"removing the creator is denied", created, "dana",
			func(p *greenlightv1alpha1.ContentPost) { delete(p.Annotations, greenlightv1alpha1.AnnotationCreatedBy) }, creatorChanged},
		{"dropping the last editor is denied", edited, "carol", setEditors(`["dana"]`), editorsRewritten},
		{"reordering the editors is denied", edited, "carol", setEditors(`["carol","dana"]`), editorsRewritten},
		{"replacing an editor is denied", edited, "mallory", setEditors(`["dana","mallory"]`), editorsRewritten},
		{"emptying the editors is denied", edited, "carol", setEditors(`[]`), editorsRewritten},
		{"removing the editors is denied", edited, "carol",
			func(p *greenlightv1alpha1.ContentPost) { delete(p.Annotations, greenlightv1alpha1.AnnotationEditors) }, editorsRewritten},
		{"a spec edit without editors is denied", created, "mallory", editSpec, unrecordedSpecEdit},
		{"a spec edit that leaves the editor out is denied", edited, "mallory", editSpec, unrecordedSpecEdit},
		{"a spec edit that records someone else is denied", edited, "mallory",
			func(p *greenlightv1alpha1.ContentPost) { editSpec(p); setEditors(`["dana","carol","erin"]`)(p) }, unrecordedSpecEdit},
		{"a spec edit that records a look-alike of the editor is denied", edited, "mallory",
			func(p *greenlightv1alpha1.ContentPost) { editSpec(p); setEditors(`["dana","carol","x\"mallory"]`)(p) }, unrecordedSpecEdit},
		{"a spec edit that appends the editor is allowed", edited, "mallory",
			func(p *greenlightv1alpha1.ContentPost) { editSpec(p); setEditors(`["dana","carol","mallory"]`)(p) }, ""},
		{"the first spec edit that records the editor is allowed", created, "mallory",
			func(p *greenlightv1alpha1.ContentPost) { editSpec(p); setEditors(`["mallory"]`)(p) }, ""},
		{"a spec edit by someone already recorded is allowed", edited, "dana", editSpec, ""},
		{"a label edit that leaves the editors alone is allowed", edited, "mallory",
			func(p *greenlightv1alpha1.ContentPost) { p.Labels = map[string]string{"brand": "acme"} }, ""},
		{"a label edit on a post without editors is allowed", created, "mallory",
			func(p *greenlightv1alpha1.ContentPost) { p.Labels = map[string]string{"brand": "acme"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			post := tt.from(g)
			tt.change(post)
			expectOutcome(g, as[tt.user].Update(context.Background(), post), "contentpost-identity", tt.denial)
		})
	}
}

// TestContentPostUpdateAtMaximumSize edits a post as large as its CRD allows (about 1.4 MB of
// text), so that comparing specs stays within the API server's CEL cost budget: a policy over
// budget fails, and with failurePolicy Fail denies the request.
func TestContentPostUpdateAtMaximumSize(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	text := strings.Repeat("x", 65536)
	post := newPost().annotate(greenlightv1alpha1.AnnotationCreatedBy, "dana").build()
	post.Spec.Body = text
	post.Spec.Channels = nil
	for i := range 20 {
		post.Spec.Channels = append(post.Spec.Channels, greenlightv1alpha1.Channel{Name: fmt.Sprintf("channel-%d", i), Body: text})
		post.Spec.Media = append(post.Spec.Media, greenlightv1alpha1.Media{
			URL: "https://cdn.example.com/" + strings.Repeat("a", 2000), AltText: strings.Repeat("y", 1500),
		})
	}
	g.Expect(as["dana"].Create(ctx, post)).To(Succeed())

	post.Spec.Channels[19].Body = text[1:] + "z"
	post.Annotations[greenlightv1alpha1.AnnotationEditors] = `["dana"]`
	g.Expect(as["dana"].Update(ctx, post)).To(Succeed())

	// Equal specs are compared in full.
	post.Labels = map[string]string{"brand": "acme"}
	g.Expect(as["mallory"].Update(ctx, post)).To(Succeed())
}

// signOffBuilder builds a SignOff with a generated name in the test namespace, for a post
// that need not exist: without the webhooks nothing looks it up.
type signOffBuilder struct{ obj *greenlightv1alpha1.SignOff }

func newSignOff() signOffBuilder {
	return signOffBuilder{&greenlightv1alpha1.SignOff{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "signoff-", Namespace: namespace},
		Spec: greenlightv1alpha1.SignOffSpec{
			Post: "launch-teaser", Department: "legal", Decision: greenlightv1alpha1.DecisionApprove,
		},
	}}
}

func (b signOffBuilder) reviewer(name string) signOffBuilder {
	b = b.copy()
	b.obj.Spec.Reviewer = name
	return b
}

func (b signOffBuilder) approver(entry string) signOffBuilder {
	b = b.copy()
	b.obj.Spec.Approver = entry
	return b
}

func (b signOffBuilder) label(key, value string) signOffBuilder {
	b = b.copy()
	if b.obj.Labels == nil {
		b.obj.Labels = map[string]string{}
	}
	b.obj.Labels[key] = value
	return b
}

func (b signOffBuilder) copy() signOffBuilder { return signOffBuilder{b.obj.DeepCopy()} }

// build returns a new SignOff each time, so that one builder serves several cases.
func (b signOffBuilder) build() *greenlightv1alpha1.SignOff { return b.obj.DeepCopy() }

// postBuilder builds a ContentPost with a generated name in the test namespace.
type postBuilder struct {
	obj *greenlightv1alpha1.ContentPost
}

// newPost is a post as dana creates it, with the creator recorded as the webhook records it.
func newPost() postBuilder {
	return postBuilder{&greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "post-", Namespace: namespace,
			Annotations: map[string]string{greenlightv1alpha1.AnnotationCreatedBy: "dana"}},
		Spec: greenlightv1alpha1.ContentPostSpec{
			Body:     "Our spring line is here",
			Channels: []greenlightv1alpha1.Channel{{Name: "mastodon"}},
		},
	}}
}

func (b postBuilder) annotate(key, value string) postBuilder {
	b = postBuilder{b.obj.DeepCopy()}
	if b.obj.Annotations == nil {
		b.obj.Annotations = map[string]string{}
	}
	b.obj.Annotations[key] = value
	return b
}

func (b postBuilder) without(key string) postBuilder {
	b = postBuilder{b.obj.DeepCopy()}
	delete(b.obj.Annotations, key)
	return b
}

// build returns a new ContentPost each time.
func (b postBuilder) label(key, value string) postBuilder {
	b = postBuilder{b.obj.DeepCopy()}
	if b.obj.Labels == nil {
		b.obj.Labels = map[string]string{}
	}
	b.obj.Labels[key] = value
	return b
}

func (b postBuilder) build() *greenlightv1alpha1.ContentPost { return b.obj.DeepCopy() }

// Only the reviewer withdraws a sign-off, even with the webhooks down: deleting someone else's
// Reject would let a post pass.
func TestSignOffDelete(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		by     client.Client
		denial string
	}{
		{"by its reviewer is allowed", as["carol"], ""},
		{"by someone else is denied", as["mallory"], othersWithdrawal},
		{"by a cluster administrator is allowed", admin, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			signOff := newSignOff().reviewer("carol").build()
			g.Expect(as["carol"].Create(ctx, signOff)).To(Succeed())
			expectOutcome(g, tt.by.Delete(ctx, signOff), "signoff-identity", tt.denial)
		})
	}
}

// A post's shard key is fixed at creation: a post must not change hands mid-review, even while
// the webhooks are down.
func TestContentPostShardKeyCannotChange(t *testing.T) {
	for _, tt := range []struct {
		name   string
		from   postBuilder
		change func(labels map[string]string)
	}{
		{"changing it", newPost().label(greenlightv1alpha1.LabelShard, "shard1"),
			func(l map[string]string) { l[greenlightv1alpha1.LabelShard] = "shard2" }},
		{"removing it", newPost().label(greenlightv1alpha1.LabelShard, "shard1"),
			func(l map[string]string) { delete(l, greenlightv1alpha1.LabelShard) }},
		{"adding it", newPost(), func(l map[string]string) { l[greenlightv1alpha1.LabelShard] = "shard1" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			post := tt.from.build()
			g.Expect(as["dana"].Create(context.Background(), post)).To(Succeed())
			if post.Labels == nil {
				post.Labels = map[string]string{}
			}
			tt.change(post.Labels)
			expectOutcome(g, as["dana"].Update(context.Background(), post), "contentpost-identity", shardChange)
		})
	}
}
