package controllers

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// Helpers that read what a user sees: the post's status, its events, a SignOff's Counted.

func getPost(g Gomega, namespace, name string) *greenlightv1alpha1.ContentPost {
	post := &greenlightv1alpha1.ContentPost{}
	g.Expect(k.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, post)).To(Succeed())
	return post
}

// states returns "department=State" for each department, in status order.
func states(post *greenlightv1alpha1.ContentPost) []string {
	var out []string
	for _, d := range post.Status.Departments {
		out = append(out, d.Name+"="+string(d.State))
	}
	return out
}

// expectPost waits until the post's phase and department states are as given, and returns it.
func expectPost(g Gomega, namespace, name string, phase greenlightv1alpha1.PostPhase, departments ...string) *greenlightv1alpha1.ContentPost {
	var post *greenlightv1alpha1.ContentPost
	g.Eventually(func(g Gomega) {
		post = getPost(g, namespace, name)
		g.Expect(post.Status.ObservedGeneration).To(Equal(post.Generation))
		g.Expect(post.Status.Phase).To(Equal(phase))
		g.Expect(states(post)).To(Equal(departments))
	}, eventually, poll).Should(Succeed())
	return post
}

func expectEvents(g Gomega, namespace, name string, matchers ...types.GomegaMatcher) {
	g.Eventually(func(g Gomega) {
		events, err := eventsOf(context.Background(), namespace, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(events).To(ContainElements(matchers))
	}, eventually, poll).Should(Succeed())
}

func expectCounted(g Gomega, s *greenlightv1alpha1.SignOff, status metav1.ConditionStatus, reason string) {
	g.Eventually(func(g Gomega) {
		got := &greenlightv1alpha1.SignOff{}
		g.Expect(k.Get(context.Background(), client.ObjectKeyFromObject(s), got)).To(Succeed())
		counted := meta.FindStatusCondition(got.Status.Conditions, greenlightv1alpha1.ConditionCounted)
		g.Expect(counted).NotTo(BeNil())
		g.Expect(counted.Status).To(Equal(status))
		g.Expect(counted.Reason).To(Equal(reason))
	}, eventually, poll).Should(Succeed())
}

func condition(post *greenlightv1alpha1.ContentPost, conditionType string) *metav1.Condition {
	return meta.FindStatusCondition(post.Status.Conditions, conditionType)
}

func departmentOf(post *greenlightv1alpha1.ContentPost, name string) greenlightv1alpha1.DepartmentStatus {
	if d := post.Status.Department(name); d != nil {
		return *d
	}
	return greenlightv1alpha1.DepartmentStatus{}
}

// signOff creates, as the reviewer, a sign-off for the department's current covered revision, as
// a reviewer who just looked at the post would, with what the webhook would stamp on it.
func signOff(g Gomega, post *greenlightv1alpha1.ContentPost, department, reviewer string, decide ...func(*signOffBuilder) *signOffBuilder) *greenlightv1alpha1.SignOff {
	b := newSignOff(post.Name, department, reviewer).in(post.Namespace).boundTo(post, policyUIDOf(g, post.Namespace, department)).
		revision(departmentOf(post, department).Revision)
	for _, d := range decide {
		b = d(b)
	}
	s := b.obj()
	g.Expect(as(g, reviewer).Create(context.Background(), s)).To(Succeed())
	return s
}

// policyUIDOf returns the UID of the policy in namespace that defines department, as admission
// stamps it on sign-offs ("" when none does).
func policyUIDOf(g Gomega, namespace, department string) string {
	var policies greenlightv1alpha1.ApprovalPolicyList
	g.Expect(k.List(context.Background(), &policies, client.InNamespace(namespace))).To(Succeed())
	for _, p := range policies.Items {
		for _, s := range p.Spec.Stages {
			for _, d := range s.Departments {
				if d.Name == department {
					return string(p.UID)
				}
			}
		}
	}
	return ""
}

// update applies edit to the current obj and writes it. Posts are edited by their author, dana,
// who records herself in greenlight.dev/editors when she changes the spec, as the webhook would
// (this suite runs without it, and the admission policy demands the record).
func update(g Gomega, obj client.Object, edit func()) {
	g.Eventually(func() error {
		if err := k.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		post, isPost := obj.(*greenlightv1alpha1.ContentPost)
		if !isPost {
			edit()
			return k.Update(context.Background(), obj)
		}
		before := post.Spec.DeepCopy()
		edit()
		if !equality.Semantic.DeepEqual(*before, post.Spec) {
			editors, err := review.Editors(post)
			g.Expect(err).NotTo(HaveOccurred())
			if !slices.Contains(editors, "dana") {
				raw, err := json.Marshal(append(editors, "dana"))
				g.Expect(err).NotTo(HaveOccurred())
				if post.Annotations == nil {
					post.Annotations = map[string]string{}
				}
				post.Annotations[greenlightv1alpha1.AnnotationEditors] = string(raw)
			}
		}
		return as(g, "dana").Update(context.Background(), obj)
	}, eventually, poll).Should(Succeed())
}

func TestThreeDepartmentsInTwoStagesFromDraftToApproved(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).
		stage("brand", "marketing", "public-relations").
		stage("compliance", "legal").department("legal", covers(greenlightv1alpha1.CoverBody, greenlightv1alpha1.CoverMedia)).
		obj())).To(Succeed())
	post := newPost("launch").in(ns).draft().obj()
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())

	// A draft shows who will review it, and asks nobody yet.
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostDraft, "marketing=Waiting", "public-relations=Waiting", "legal=Waiting")
	g.Expect(condition(got, greenlightv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(got.Status.Policies).To(Equal([]string{"acme"}))
	g.Expect(got.Status.Revision).To(MatchRegexp(`^sha256:[0-9a-f]{64}$`))

	submittedAt := fakeClock.Now()
	update(g, post, func() { post.Spec.Draft = false })
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "public-relations=Pending", "legal=Waiting")
	g.Expect(got.Status.Stage).To(Equal("brand"))
	g.Expect(got.Status.WaitingOn).To(Equal("marketing,public-relations"))
	g.Expect(departmentOf(got, "marketing").RequestedAt.Time).To(BeTemporally("==", submittedAt))
	g.Expect(departmentOf(got, "legal").RequestedAt).To(BeNil())
	g.Expect(condition(got, greenlightv1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(condition(got, greenlightv1alpha1.ConditionApproved).Status).To(Equal(metav1.ConditionFalse))
	g.Expect(condition(got, greenlightv1alpha1.ConditionApproved).Message).To(Equal("Waiting on marketing, public-relations (stage brand)."))
	// One Event per transition, naming every department it asks.
	expectEvents(g, ns, "launch", MatchRegexp(
		`^ReviewRequested: Review requested from marketing \(stage brand, revision sha256:[0-9a-f]+\), public-relations \(stage brand, revision sha256:[0-9a-f]+\)\.$`))

	alice := signOff(g, got, "marketing", "alice")
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Approved", "public-relations=Pending", "legal=Waiting")
	g.Expect(departmentOf(got, "marketing").ApprovedBy).To(Equal([]string{"alice"}))
	g.Expect(got.Status.WaitingOn).To(Equal("public-relations"))
	expectCounted(g, alice, metav1.ConditionTrue, review.ReasonCounted)

	// The compliance stage starts when brand is approved: legal's review begins then.
	fakeClock.Step(time.Hour)
	signOff(g, got, "public-relations", "bob")
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Approved", "public-relations=Approved", "legal=Pending")
	g.Expect(got.Status.Stage).To(Equal("compliance"))
	g.Expect(departmentOf(got, "legal").RequestedAt.Time).To(BeTemporally("==", fakeClock.Now()))
	expectEvents(g, ns, "launch", HavePrefix("ReviewRequested: Review requested from legal (stage compliance, revision sha256:"))

	carol := signOff(g, got, "legal", "carol")
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "marketing=Approved", "public-relations=Approved", "legal=Approved")
	g.Expect(condition(got, greenlightv1alpha1.ConditionApproved).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(got.Status.WaitingOn).To(BeEmpty())
	g.Expect(departmentOf(got, "legal").DecidedAt).NotTo(BeNil())
	expectEvents(g, ns, "launch", HavePrefix("Approved: Every required department approved revision sha256:"))
	expectCounted(g, carol, metav1.ConditionTrue, review.ReasonCounted)

	// Once settled, reconciles triggered by the sign-offs' own status writes change nothing and
	// write nothing.
	settled := getPost(g, ns, "launch").ResourceVersion
	g.Consistently(func(g Gomega) string { return getPost(g, ns, "launch").ResourceVersion }, time.Second, poll).Should(Equal(settled))
}

func TestQuorumOfTwoNeedsTwoDistinctReviewers(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("compliance", "legal").
		department("legal", func(d *greenlightv1alpha1.Department) { d.MinApprovals = 2 }).obj())).To(Succeed())
	g.Expect(as(g, "dana").Create(ctx, newPost("launch").in(ns).obj())).To(Succeed())
	post := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")
	g.Expect(departmentOf(post, "legal").MinApprovals).To(Equal(int32(2)))

	first := signOff(g, post, "legal", "carol")
	again := signOff(g, post, "legal", "carol")
	// Both were created within the same second; either may be the one that counts.
	g.Eventually(func(g Gomega) {
		var reasons []string
		for _, s := range []*greenlightv1alpha1.SignOff{first, again} {
			got := &greenlightv1alpha1.SignOff{}
			g.Expect(k.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
			if c := meta.FindStatusCondition(got.Status.Conditions, greenlightv1alpha1.ConditionCounted); c != nil {
				reasons = append(reasons, c.Reason)
			}
		}
		g.Expect(reasons).To(ConsistOf(review.ReasonCounted, review.ReasonDuplicateReviewer))
	}, eventually, poll).Should(Succeed())
	expectEvents(g, ns, "launch", ContainSubstring("does not count: carol already has a sign-off for department legal on this revision"))
	post = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")
	g.Expect(departmentOf(post, "legal").ApprovedBy).To(Equal([]string{"carol"}))

	signOff(g, post, "legal", "erin")
	post = expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "legal=Approved")
	g.Expect(departmentOf(post, "legal").ApprovedBy).To(ConsistOf("carol", "erin"))
	expectEvents(g, ns, "launch", MatchRegexp(`^Approved: Every required department approved revision sha256:[0-9a-f]+: `+
		`.*legal \((carol, erin|erin, carol)\)\.$`))
}

func TestEditingTheBodyVoidsExactlyTheDepartmentsThatCoverIt(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).
		stage("brand", "marketing", "community").department("community", covers(greenlightv1alpha1.CoverChannels)).
		stage("compliance", "legal").department("legal", covers(greenlightv1alpha1.CoverBody, greenlightv1alpha1.CoverMedia)).
		obj())).To(Succeed())
	post := newPost("launch").in(ns).obj()
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "community=Pending", "legal=Waiting")
	signOff(g, got, "marketing", "alice")
	signOff(g, got, "community", "cody")
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Approved", "community=Approved", "legal=Pending")
	legalApproval := signOff(g, got, "legal", "carol")
	approved := expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "marketing=Approved", "community=Approved", "legal=Approved")

	// The author edits the body after legal approved it.
	update(g, post, func() { post.Spec.Body = "Our spring line is here, now 20% off" })
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "community=Approved", "legal=Waiting")
	g.Expect(got.Status.Revision).NotTo(Equal(approved.Status.Revision))
	g.Expect(departmentOf(got, "community").Revision).To(Equal(departmentOf(approved, "community").Revision),
		"community covers only channels: its approval stands")
	g.Expect(departmentOf(got, "community").ApprovedBy).To(Equal([]string{"cody"}))
	g.Expect(departmentOf(got, "legal").Revision).NotTo(Equal(departmentOf(approved, "legal").Revision))
	g.Expect(condition(got, greenlightv1alpha1.ConditionApproved).Status).To(Equal(metav1.ConditionFalse))
	expectCounted(g, legalApproval, metav1.ConditionFalse, review.ReasonStaleRevision)
	expectEvents(g, ns, "launch", ContainSubstring("does not count: ContentPost launch changed since carol reviewed it"))

	// Once marketing approves the new text, legal is asked again.
	signOff(g, got, "marketing", "alice")
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Approved", "community=Approved", "legal=Pending")
	signOff(g, got, "legal", "carol")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "marketing=Approved", "community=Approved", "legal=Approved")
}

func TestRequestChangesThenEditThenApprove(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("compliance", "legal").
		department("legal", covers(greenlightv1alpha1.CoverBody)).obj())).To(Succeed())
	post := newPost("launch").in(ns).obj()
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")

	signOff(g, got, "legal", "carol", func(b *signOffBuilder) *signOffBuilder { return b.requestChanges("Cite the source of the 100% claim.") })
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostChangesRequested, "legal=ChangesRequested")
	g.Expect(departmentOf(got, "legal").Comment).To(Equal("Cite the source of the 100% claim."))
	stalled := condition(got, greenlightv1alpha1.ConditionStalled)
	g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(stalled.Message).To(ContainSubstring(`legal requested changes: "Cite the source of the 100% claim."`))
	expectEvents(g, ns, "launch", Equal("ChangesRequested: legal requested changes: Cite the source of the 100% claim."))

	// Editing a field legal does not cover changes nothing.
	update(g, post, func() { post.Spec.Channels = append(post.Spec.Channels, greenlightv1alpha1.Channel{Name: "linkedin"}) })
	expectPost(g, ns, "launch", greenlightv1alpha1.PostChangesRequested, "legal=ChangesRequested")

	update(g, post, func() { post.Spec.Body = "Our spring line is here (source: product sheet)" })
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")
	g.Expect(condition(got, greenlightv1alpha1.ConditionStalled)).To(BeNil(), "Stalled is removed once review can go on")

	signOff(g, got, "legal", "carol")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "legal=Approved")
}

func TestRejectIsFinalForTheRevision(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("compliance", "legal").
		department("legal", covers(greenlightv1alpha1.CoverBody)).obj())).To(Succeed())
	post := newPost("launch").in(ns).obj()
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")

	signOff(g, got, "legal", "carol", func(b *signOffBuilder) *signOffBuilder { return b.reject("Unsubstantiated health claim.") })
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostRejected, "legal=Rejected")
	g.Expect(condition(got, greenlightv1alpha1.ConditionStalled).Reason).To(Equal(ReasonRejected))
	expectEvents(g, ns, "launch", And(HavePrefix("Rejected: legal rejected revision sha256:"), HaveSuffix(": Unsubstantiated health claim.")))

	// Rejection is final for the content legal reviewed: other edits do not reopen it.
	update(g, post, func() { post.Spec.Channels = append(post.Spec.Channels, greenlightv1alpha1.Channel{Name: "linkedin"}) })
	expectPost(g, ns, "launch", greenlightv1alpha1.PostRejected, "legal=Rejected")

	// A new revision of the body does.
	update(g, post, func() { post.Spec.Body = "Our spring line is here." })
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")
	g.Expect(departmentOf(got, "legal").Comment).To(BeEmpty())
	signOff(g, got, "legal", "carol")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "legal=Approved")
}

func TestNoPolicyBlocksUntilOneIsCreated(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(as(g, "dana").Create(ctx, newPost("launch").in(ns).obj())).To(Succeed())

	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostBlocked)
	stalled := condition(got, greenlightv1alpha1.ConditionStalled)
	g.Expect(stalled.Reason).To(Equal("NoMatchingPolicy"))
	g.Expect(stalled.Message).To(ContainSubstring("labels: brand=acme"))
	g.Expect(condition(got, greenlightv1alpha1.ConditionApproved).Status).To(Equal(metav1.ConditionFalse))
	expectEvents(g, ns, "launch", HavePrefix("Blocked: NoMatchingPolicy: no ApprovalPolicy in namespace "+ns+" selects this post"))

	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
	g.Expect(condition(got, greenlightv1alpha1.ConditionStalled)).To(BeNil())
}

func TestTwoMatchingPoliciesMustBothPass(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	g.Expect(k.Create(ctx, newPolicy("social").in(ns).selecting(nil).withoutPublishing().stage("community", "social-team").obj())).To(Succeed())
	g.Expect(as(g, "dana").Create(ctx, newPost("launch").in(ns).obj())).To(Succeed())

	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "social-team=Pending")
	g.Expect(got.Status.Policies).To(Equal([]string{"acme", "social"}))
	g.Expect(got.Status.Stage).To(Equal("brand,community"))

	signOff(g, got, "marketing", "alice")
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Approved", "social-team=Pending")
	signOff(g, got, "social-team", "sam")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "marketing=Approved", "social-team=Approved")
}

func TestConditionalDepartments(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing", "linkedin-team", "regulatory").
		department("linkedin-team", func(d *greenlightv1alpha1.Department) {
			d.When = `post.spec.channels.exists(c, c.name == "linkedin")`
		}).
		department("regulatory", func(d *greenlightv1alpha1.Department) {
			// Fails on posts without the label: fail closed, the department is required.
			d.When = `post.metadata.labels.regulated == "true"`
		}).obj())).To(Succeed())
	post := newPost("launch").in(ns).obj()
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())

	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "linkedin-team=NotRequired", "regulatory=Pending")
	g.Expect(departmentOf(got, "regulatory").Message).To(ContainSubstring("required because its when expression could not be evaluated"))

	// A sign-off for a department this post does not need does not count, and says why.
	extra := signOff(g, got, "linkedin-team", "lee")
	expectCounted(g, extra, metav1.ConditionFalse, review.ReasonDepartmentNotRequired)
	expectEvents(g, ns, "launch", ContainSubstring("for linkedin-team does not count: ContentPost launch does not need department linkedin-team now"))

	// Requirements only grow (finding 2): a new channel makes linkedin-team required, but a label
	// edit that makes regulatory's when false does not make it optional again.
	update(g, post, func() {
		post.Labels["regulated"] = "false"
		post.Spec.Channels = append(post.Spec.Channels, greenlightv1alpha1.Channel{Name: "linkedin"})
	})
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "linkedin-team=Pending", "regulatory=Pending")
	g.Expect(departmentOf(got, "regulatory").Message).To(ContainSubstring("edits to a submitted post never make a required department optional"))

	// Only a change to the policy re-evaluates what it requires.
	p := &greenlightv1alpha1.ApprovalPolicy{}
	g.Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, p)).To(Succeed())
	update(g, p, func() { p.Spec.Stages[0].Departments[0].Contact = "#marketing" })
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "linkedin-team=Pending", "regulatory=NotRequired")
}

func TestInvalidWhenBlocksThePostAndShowsOnThePolicy(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	p := newPolicy("acme").in(ns).stage("brand", "marketing").
		department("marketing", func(d *greenlightv1alpha1.Department) { d.When = `post.spec.channels.exists(c, c.name ==` }).obj()
	g.Expect(k.Create(ctx, p)).To(Succeed())
	g.Expect(as(g, "dana").Create(ctx, newPost("launch").in(ns).obj())).To(Succeed())

	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostBlocked)
	g.Expect(condition(got, greenlightv1alpha1.ConditionStalled).Reason).To(Equal("InvalidPolicy"))
	g.Expect(condition(got, greenlightv1alpha1.ConditionStalled).Message).To(ContainSubstring("ApprovalPolicy acme: department marketing has a when expression that does not compile"))

	g.Eventually(func(g Gomega) {
		got := &greenlightv1alpha1.ApprovalPolicy{}
		g.Expect(k.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		ready := meta.FindStatusCondition(got.Status.Conditions, greenlightv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Message).To(ContainSubstring("spec.stages[0].departments[0].when (department marketing) does not compile: ERROR: <input>:1:"))
		g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, greenlightv1alpha1.ConditionStalled)).To(BeTrue())
		g.Expect(got.Status.MatchedPosts).To(Equal(int32(1)))
	}, eventually, poll).Should(Succeed())

	// Fixing the policy unblocks the post.
	update(g, p, func() { p.Spec.Stages[0].Departments[0].When = `post.spec.channels.exists(c, c.name == "mastodon")` })
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
}

func TestPolicyEditAddingADepartmentReopensApprovedPosts(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	p := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	scheduledPost(g, p)

	update(g, p, func() {
		p.Spec.Stages[0].Departments = append(p.Spec.Stages[0].Departments, greenlightv1alpha1.Department{
			Name: "legal", MinApprovals: 1, Approvers: greenlightv1alpha1.Approvers{Groups: []string{"legal"}},
		})
	})
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Approved", "legal=Pending")
	g.Expect(got.Status.WaitingOn).To(Equal("legal"))
	expectEvents(g, ns, "launch", HavePrefix("ReviewRequested: Review requested from legal"))
}

func TestARecreatedPostDoesNotInheritApprovals(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	first := newPost("launch").in(ns).obj()
	g.Expect(as(g, "dana").Create(ctx, first)).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
	approval := signOff(g, got, "marketing", "alice")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "marketing=Approved")

	// Someone deletes the post and creates another with the same name and content.
	g.Expect(k.Delete(ctx, first)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k.Get(ctx, client.ObjectKeyFromObject(first), &greenlightv1alpha1.ContentPost{}))
	},
		eventually, poll).Should(BeTrue())
	g.Expect(as(g, "dana").Create(ctx, newPost("launch").in(ns).obj())).To(Succeed())
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
	expectCounted(g, approval, metav1.ConditionFalse, review.ReasonOtherPost)
}

func TestRelabellingAPostIntoAnotherPolicyCarriesNoApprovals(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	blog := newPolicy("blog").in(ns).selecting(map[string]string{"brand": "blog"}).stage("review", "legal").obj()
	g.Expect(k.Create(ctx, blog)).To(Succeed())
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("review", "legal").obj())).To(Succeed())
	post := newPost("launch").in(ns).obj()
	post.Labels = map[string]string{"brand": "blog"}
	// blog publishes to mastodon too: while both apply, they conflict on the channel as well.
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")
	erin := newSignOff("launch", "legal", "erin").in(ns).boundTo(got, string(blog.UID)).revision(departmentOf(got, "legal").Revision).obj()
	g.Expect(as(g, "erin").Create(ctx, erin)).To(Succeed())
	expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "legal=Approved")

	// The author relabels the post so that acme's legal department, with other approvers,
	// applies. blog still applies too (a submitted post never escapes a policy by a label edit),
	// and two policies defining legal is a conflict: the post is blocked, never approved.
	update(g, post, func() { post.Labels["brand"] = "acme" })
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostBlocked, "legal=Approved") // departments kept as they were
	g.Expect(condition(got, greenlightv1alpha1.ConditionStalled).Reason).To(Equal(policy.ReasonPolicyConflict))
	g.Expect(condition(got, greenlightv1alpha1.ConditionApproved).Status).To(Equal(metav1.ConditionFalse))

	// A change to blog, by whoever may edit policies, re-evaluates what it selects: the post is
	// released into acme alone, and blog's legal approval does not carry over.
	update(g, blog, func() { blog.Spec.Stages[0].Departments[0].Contact = "#blog-legal" })
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")
	expectCounted(g, erin, metav1.ConditionFalse, review.ReasonOtherPolicy)
}

// Finding 1: relabelling a post escaped a policy, even after a Reject.
func TestRelabellingDoesNotEscapeAPolicyAfterAReject(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("base").in(ns).selecting(nil).stage("brand", "marketing").obj())).To(Succeed())
	g.Expect(k.Create(ctx, newPolicy("regulated").in(ns).selecting(map[string]string{"regulated": "true"}).withoutPublishing().
		stage("compliance", "legal").obj())).To(Succeed())
	post := newPost("launch").in(ns).obj()
	post.Labels["regulated"] = "true"
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "legal=Pending")
	signOff(g, got, "marketing", "alice")
	signOff(g, got, "legal", "carol", func(b *signOffBuilder) *signOffBuilder { return b.reject("Unsubstantiated health claim.") })
	expectPost(g, ns, "launch", greenlightv1alpha1.PostRejected, "marketing=Approved", "legal=Rejected")

	// The author removes the label that made the regulated policy select the post.
	update(g, post, func() { delete(post.Labels, "regulated") })
	g.Consistently(func(g Gomega) {
		got := getPost(g, ns, "launch")
		g.Expect(got.Status.Phase).To(Equal(greenlightv1alpha1.PostRejected))
		g.Expect(got.Status.Policies).To(Equal([]string{"base", "regulated"}))
		g.Expect(states(got)).To(Equal([]string{"marketing=Approved", "legal=Rejected"}))
	}, 2*time.Second, poll).Should(Succeed())
	got = getPost(g, ns, "launch")
	g.Expect(departmentOf(got, "legal").Message).To(ContainSubstring("label edits do not release a submitted post from a policy"))
}

// scheduledPost creates p (one stage, brand, with marketing) and post "launch" in p's namespace,
// has alice approve it for marketing, and waits until the post is Scheduled.
func scheduledPost(g Gomega, p *greenlightv1alpha1.ApprovalPolicy) *greenlightv1alpha1.ContentPost {
	ctx := context.Background()
	g.Expect(k.Create(ctx, p)).To(Succeed())
	g.Expect(as(g, "dana").Create(ctx, newPost("launch").in(p.Namespace).obj())).To(Succeed())
	got := expectPost(g, p.Namespace, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
	signOff(g, got, "marketing", "alice")
	return expectPost(g, p.Namespace, "launch", greenlightv1alpha1.PostScheduled, "marketing=Approved")
}

// advance steps the reconcilers' clock and touches the post, so that it is reconciled at the new
// time at once (the real requeue would wait the real duration).
func advance(g Gomega, post *greenlightv1alpha1.ContentPost, d time.Duration) {
	fakeClock.Step(d)
	update(g, post, func() {
		if post.Annotations == nil {
			post.Annotations = map[string]string{}
		}
		post.Annotations["test.greenlight.dev/now"] = fakeClock.Now().Format(time.RFC3339)
	})
}

func TestAMissedReviewWindowExpiresThePostAfterOneReminder(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	p := newPolicy("acme").in(ns).stage("compliance", "legal").obj()
	p.Spec.Stages[0].ReviewWindow = &metav1.Duration{Duration: time.Hour}
	p.Spec.Deadlines = &greenlightv1alpha1.Deadlines{Reminders: []metav1.Duration{{Duration: 30 * time.Minute}}}
	g.Expect(k.Create(ctx, p)).To(Succeed())
	post := newPost("launch").in(ns).obj()
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")
	deadline := departmentOf(got, "legal").RequestedAt.Add(time.Hour)
	g.Expect(got.Status.Deadline.Time).To(BeTemporally("==", deadline))

	advance(g, post, 31*time.Minute)
	g.Eventually(func(g Gomega) []string {
		return departmentOf(getPost(g, ns, "launch"), "legal").RemindersSent
	}, eventually, poll).Should(Equal([]string{"30m0s"}))
	advance(g, post, time.Minute)
	expectEvents(g, ns, "launch", HavePrefix("Reminder: legal's decision is due by"))

	advance(g, post, 30*time.Minute)
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostExpired, "legal=Expired")
	g.Expect(condition(got, greenlightv1alpha1.ConditionStalled).Reason).To(Equal(ReasonDeadlineMissed))
	expectEvents(g, ns, "launch", HavePrefix("DeadlineMissed: legal missed its deadline"), HavePrefix("Expired: DeadlineMissed"))
	// The recorder folds identical events into one with a count, so count occurrences.
	var list corev1.EventList
	g.Expect(k.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	var reminders int32
	for _, e := range list.Items {
		if e.InvolvedObject.Name == "launch" && e.Reason == EventReminder {
			reminders += max(e.Count, 1)
		}
	}
	g.Expect(reminders).To(Equal(int32(1)), "one reminder, however often the post was reconciled")

	// A new revision is a new review with a new deadline.
	update(g, post, func() { post.Spec.Body = "Our spring line is here, revised." })
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "legal=Pending")
}

func TestFreezeAndUnfreeze(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	p := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	scheduledPost(g, p)

	update(g, p, func() { p.Spec.Freeze = &greenlightv1alpha1.Freeze{Reason: "crisis: all publishing halted"} })
	g.Eventually(func(g Gomega) {
		post := getPost(g, ns, "launch")
		frozen := condition(post, greenlightv1alpha1.ConditionFrozen)
		g.Expect(frozen).NotTo(BeNil())
		g.Expect(frozen.Message).To(Equal("Publishing is frozen by acme: crisis: all publishing halted."))
		g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostScheduled))
		g.Expect(condition(post, greenlightv1alpha1.ConditionReady).Message).To(Equal(
			`Approved; publishes at 2099-01-01T09:00:00Z if the freeze by acme ("crisis: all publishing halted") is lifted by then.`))

		policy := &greenlightv1alpha1.ApprovalPolicy{}
		g.Expect(k.Get(ctx, client.ObjectKeyFromObject(p), policy)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(policy.Status.Conditions, greenlightv1alpha1.ConditionFrozen)).To(BeTrue())
	}, eventually, poll).Should(Succeed())
	expectEvents(g, ns, "launch", Equal("Frozen: Publishing is frozen by acme: crisis: all publishing halted."))

	update(g, p, func() { p.Spec.Freeze = nil })
	g.Eventually(func(g Gomega) *metav1.Condition {
		return condition(getPost(g, ns, "launch"), greenlightv1alpha1.ConditionFrozen)
	}, eventually, poll).Should(BeNil())
	expectEvents(g, ns, "launch", Equal("Unfrozen: Publishing is no longer frozen."))
}

func TestSignOffsThatDoNotCountSayWhy(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	g.Expect(as(g, "dana").Create(ctx, newPost("launch").in(ns).obj())).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")

	unknown := signOff(g, got, "finance", "fred")
	expectCounted(g, unknown, metav1.ConditionFalse, review.ReasonUnknownDepartment)

	// The author approving their own post does not count either.
	self := signOff(g, got, "marketing", "dana")
	expectCounted(g, self, metav1.ConditionFalse, review.ReasonSelfApproval)

	missing := newSignOff("no-such-post", "marketing", "alice").in(ns).obj()
	g.Expect(as(g, "alice").Create(ctx, missing)).To(Succeed())
	expectCounted(g, missing, metav1.ConditionFalse, review.ReasonPostNotFound)

	expectEvents(g, ns, "launch",
		ContainSubstring("for finance does not count: ContentPost launch does not need department finance: its policies (acme) define marketing"),
		ContainSubstring("by dana for marketing does not count: dana cannot approve ContentPost launch because they are its author"))
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
}

// A post with a channel that no applying policy publishes to is blocked, never half-published.
func TestAChannelWithoutAPublisherBlocksThePost(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	post := newPost("launch").in(ns).obj()
	post.Spec.Channels = append(post.Spec.Channels, greenlightv1alpha1.Channel{Name: "tiktok"})
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())

	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostBlocked)
	for _, c := range []string{greenlightv1alpha1.ConditionStalled, greenlightv1alpha1.ConditionReady} {
		g.Expect(condition(got, c).Reason).To(Equal(policy.ReasonNoPublisher))
		g.Expect(condition(got, c).Message).To(HavePrefix("channel tiktok: none of the ApprovalPolicies that apply to this post (acme) publishes to it"))
	}
	g.Expect(condition(got, greenlightv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))

	// Dropping the channel unblocks it.
	update(g, post, func() { post.Spec.Channels = post.Spec.Channels[:1] })
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
}
