package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

// Table tests of the pure review computation: no API server, no clock.

var statusNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// twoStagePolicy: brand (marketing, community covering channels), then compliance (legal
// covering body and media).
func twoStagePolicy() *policy.Requirements {
	dept := func(name, stage string, index int, covers ...greenlightv1alpha1.CoveredField) policy.Department {
		return policy.Department{Policy: "acme", Stage: stage, StageIndex: index, Required: true, Department: greenlightv1alpha1.Department{
			Name: name, MinApprovals: 1, Covers: covers, Approvers: greenlightv1alpha1.Approvers{Groups: []string{name}},
		}}
	}
	return &policy.Requirements{Policies: []string{"acme"}, Departments: []policy.Department{
		dept("marketing", "brand", 0),
		dept("community", "brand", 0, greenlightv1alpha1.CoverChannels),
		dept("legal", "compliance", 1, greenlightv1alpha1.CoverBody, greenlightv1alpha1.CoverMedia),
	}}
}

// decision is a sign-off by reviewer for department at the post's current covered revision
// (or stale, for an older one), created at the given minute.
type decision struct {
	department, reviewer string
	decision             greenlightv1alpha1.Decision
	stale                bool
	minute               int
}

func signOffsFor(post *greenlightv1alpha1.ContentPost, req *policy.Requirements, decisions ...decision) []greenlightv1alpha1.SignOff {
	var out []greenlightv1alpha1.SignOff
	for i, d := range decisions {
		rev := "sha256:" + "0000000000000000000000000000000000000000000000000000000000000000"
		for _, dept := range req.Departments {
			if dept.Name == d.department && !d.stale {
				rev = revision.Covered(&post.Spec, dept.Covers)
			}
		}
		out = append(out, greenlightv1alpha1.SignOff{
			ObjectMeta: metav1.ObjectMeta{
				Name:              d.department + "-" + d.reviewer + "-" + string(rune('a'+i)),
				Labels:            map[string]string{greenlightv1alpha1.LabelPostUID: string(post.UID)},
				CreationTimestamp: metav1.NewTime(statusNow.Add(time.Duration(d.minute) * time.Minute)),
			},
			Spec: greenlightv1alpha1.SignOffSpec{Post: post.Name, Department: d.department, Reviewer: d.reviewer,
				Decision: d.decision, Revision: rev, Comment: "because", Approver: "group:" + d.department},
		})
	}
	return out
}

func TestComputeReviewStages(t *testing.T) {
	approve, changes, reject := greenlightv1alpha1.DecisionApprove, greenlightv1alpha1.DecisionRequestChanges, greenlightv1alpha1.DecisionReject
	cases := []struct {
		name  string
		draft bool
		// alreadyApproved departments were Approved, for their current revision, before.
		alreadyApproved []string
		decisions       []decision
		wantPhase       greenlightv1alpha1.PostPhase
		wantStates      []string
		wantStage       string
		wantWaitingOn   string
	}{
		{name: "draft: nobody is asked yet", draft: true,
			wantPhase: greenlightv1alpha1.PostDraft, wantStates: []string{"marketing=Waiting", "community=Waiting", "legal=Waiting"}},
		{name: "submitted: the first stage opens",
			wantPhase: greenlightv1alpha1.PostInReview, wantStates: []string{"marketing=Pending", "community=Pending", "legal=Waiting"},
			wantStage: "brand", wantWaitingOn: "marketing,community"},
		{name: "half the first stage approved", decisions: []decision{{"marketing", "alice", approve, false, 1}},
			wantPhase: greenlightv1alpha1.PostInReview, wantStates: []string{"marketing=Approved", "community=Pending", "legal=Waiting"},
			wantStage: "brand", wantWaitingOn: "community"},
		{name: "first stage approved: the second opens",
			decisions: []decision{{"marketing", "alice", approve, false, 1}, {"community", "cody", approve, false, 2}},
			wantPhase: greenlightv1alpha1.PostInReview, wantStates: []string{"marketing=Approved", "community=Approved", "legal=Pending"},
			wantStage: "compliance", wantWaitingOn: "legal"},
		{name: "every stage approved",
			decisions: []decision{{"marketing", "alice", approve, false, 1}, {"community", "cody", approve, false, 2}, {"legal", "carol", approve, false, 3}},
			wantPhase: greenlightv1alpha1.PostScheduled, wantStates: []string{"marketing=Approved", "community=Approved", "legal=Approved"}},
		{name: "a stale approval does not count",
			decisions: []decision{{"marketing", "alice", approve, true, 1}, {"community", "cody", approve, false, 2}},
			wantPhase: greenlightv1alpha1.PostInReview, wantStates: []string{"marketing=Pending", "community=Approved", "legal=Waiting"},
			wantStage: "brand", wantWaitingOn: "marketing"},
		{name: "a later stage keeps its current approval while an earlier one reopens", alreadyApproved: []string{"legal"},
			decisions: []decision{{"marketing", "alice", approve, true, 1}, {"community", "cody", approve, false, 2}, {"legal", "carol", approve, false, 3}},
			wantPhase: greenlightv1alpha1.PostInReview, wantStates: []string{"marketing=Pending", "community=Approved", "legal=Approved"},
			wantStage: "brand", wantWaitingOn: "marketing"},
		{name: "a new approval in a stage that has not started is set aside",
			decisions: []decision{{"community", "cody", approve, false, 2}, {"legal", "carol", approve, false, 3}},
			wantPhase: greenlightv1alpha1.PostInReview, wantStates: []string{"marketing=Pending", "community=Approved", "legal=Waiting"},
			wantStage: "brand", wantWaitingOn: "marketing"},
		{name: "a draft counts nothing", draft: true,
			decisions: []decision{{"marketing", "alice", approve, false, 1}},
			wantPhase: greenlightv1alpha1.PostDraft, wantStates: []string{"marketing=Waiting", "community=Waiting", "legal=Waiting"}},
		{name: "changes requested outweigh an approval",
			decisions: []decision{{"marketing", "alice", approve, false, 1}, {"marketing", "mia", changes, false, 2}},
			wantPhase: greenlightv1alpha1.PostChangesRequested, wantStates: []string{"marketing=ChangesRequested", "community=Pending", "legal=Waiting"}},
		{name: "a rejection outweighs changes requested",
			decisions: []decision{{"marketing", "mia", changes, false, 1}, {"community", "cody", reject, false, 2}},
			wantPhase: greenlightv1alpha1.PostRejected, wantStates: []string{"marketing=ChangesRequested", "community=Rejected", "legal=Waiting"}},
		{name: "a stale rejection is history",
			decisions: []decision{{"community", "cody", reject, true, 1}},
			wantPhase: greenlightv1alpha1.PostInReview, wantStates: []string{"marketing=Pending", "community=Pending", "legal=Waiting"},
			wantStage: "brand", wantWaitingOn: "marketing,community"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			post := newPost("launch").obj()
			post.Spec.Draft = tc.draft
			req := twoStagePolicy()
			for _, name := range tc.alreadyApproved {
				for _, d := range req.Departments {
					if d.Name == name {
						post.Status.Departments = append(post.Status.Departments, greenlightv1alpha1.DepartmentStatus{
							Name: name, State: greenlightv1alpha1.DepartmentApproved, Revision: revision.Covered(&post.Spec, d.Covers),
						})
					}
				}
			}
			result := computeReview(post, reviewInputs{now: statusNow, requirements: req, signOffs: signOffsFor(post, req, tc.decisions...)})
			g.Expect(result.status.Phase).To(Equal(tc.wantPhase))
			g.Expect(states(&greenlightv1alpha1.ContentPost{Status: result.status})).To(Equal(tc.wantStates))
			g.Expect(result.status.Stage).To(Equal(tc.wantStage))
			g.Expect(result.status.WaitingOn).To(Equal(tc.wantWaitingOn))
			g.Expect(result.verdicts).To(HaveLen(len(tc.decisions)), "every sign-off gets a verdict")
		})
	}
}

func TestAuthorsMayRejectButNotApprove(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj() // spec.author: dana
	req := twoStagePolicy()
	result := reviewAt(post, req, statusNow,
		decision{"marketing", "dana", greenlightv1alpha1.DecisionApprove, false, 1},
		decision{"community", "dana", greenlightv1alpha1.DecisionReject, false, 1})
	g.Expect(states(post)).To(Equal([]string{"marketing=Pending", "community=Rejected", "legal=Waiting"}),
		"an author's own approval never counts, but their rejection does")
	g.Expect(result.verdicts["marketing-dana-a"].Reason).To(Equal(review.ReasonSelfApproval))
}

func TestASignOffBeingDeletedNoLongerCounts(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	req := twoStagePolicy()
	signOffs := signOffsFor(post, req, decision{"marketing", "alice", greenlightv1alpha1.DecisionApprove, false, 1})
	deleting := metav1.NewTime(statusNow)
	signOffs[0].DeletionTimestamp = &deleting
	result := computeReview(post, reviewInputs{now: statusNow, requirements: req, signOffs: signOffs})
	g.Expect(departmentOf(&greenlightv1alpha1.ContentPost{Status: result.status}, "marketing").State).
		To(Equal(greenlightv1alpha1.DepartmentPending))
	g.Expect(result.verdicts[signOffs[0].Name].Reason).To(Equal(review.ReasonWithdrawn))
}

func TestUsersOnlyDepartmentsRecheckApprovers(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	req := twoStagePolicy()
	req.Departments[0].Approvers = greenlightv1alpha1.Approvers{Users: []string{"alice"}}
	result := reviewAt(post, req, statusNow,
		decision{"marketing", "mallory", greenlightv1alpha1.DecisionApprove, false, 1})
	g.Expect(departmentOf(post, "marketing").State).To(Equal(greenlightv1alpha1.DepartmentPending))
	g.Expect(result.verdicts["marketing-mallory-a"].Reason).To(Equal(review.ReasonNotAnApprover))
}

func TestRequestedAtIsKeptWhileTheSameRevisionIsUnderReview(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	req := twoStagePolicy()
	first := computeReview(post, reviewInputs{now: statusNow, requirements: req})
	g.Expect(departmentOf(&greenlightv1alpha1.ContentPost{Status: first.status}, "marketing").RequestedAt.Time).To(Equal(statusNow))

	post.Status = first.status
	later := computeReview(post, reviewInputs{now: statusNow.Add(time.Hour), requirements: req})
	g.Expect(later.status).To(Equal(first.status), "nothing changed, so nothing is written")

	post.Spec.Body = "edited"
	edited := computeReview(post, reviewInputs{now: statusNow.Add(time.Hour), requirements: req})
	g.Expect(departmentOf(&greenlightv1alpha1.ContentPost{Status: edited.status}, "marketing").RequestedAt.Time).To(Equal(statusNow.Add(time.Hour)),
		"a new covered revision is a new review")
	g.Expect(departmentOf(&greenlightv1alpha1.ContentPost{Status: edited.status}, "community").RequestedAt.Time).To(Equal(statusNow),
		"community does not cover the body: its review goes on")
}

func TestPostEventsAnnounceEachTransitionOnce(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	req := twoStagePolicy()
	submitted := computeReview(post, reviewInputs{now: statusNow, requirements: req}).status
	events := postEvents(&post.Status, &submitted)
	g.Expect(events).To(HaveLen(2))
	g.Expect(events[0].reason).To(Equal(EventReviewRequested))
	g.Expect(events[0].message).To(HavePrefix("Review requested from marketing (stage brand)"))
	g.Expect(postEvents(&submitted, &submitted)).To(BeEmpty(), "no transition, no event")

	post.Status = submitted
	signOffs := signOffsFor(post, req, decision{"marketing", "alice", greenlightv1alpha1.DecisionApprove, false, 1},
		decision{"community", "cody", greenlightv1alpha1.DecisionApprove, false, 1}, decision{"legal", "carol", greenlightv1alpha1.DecisionApprove, false, 1})
	approved := computeReview(post, reviewInputs{now: statusNow, requirements: req, signOffs: signOffs}).status
	var reasons []string
	for _, e := range postEvents(&submitted, &approved) {
		reasons = append(reasons, e.reason)
	}
	g.Expect(reasons).To(Equal([]string{EventSignOffCounted, EventSignOffCounted, EventSignOffCounted, EventApproved}))
}

// Review found that a spell of being blocked (two policies configuring one channel, by a label
// edit) wiped the departments, and with them an expiry: the post came back with a fresh review
// window and a late approval counted.
func TestABlockedPostKeepsItsDepartments(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	req := legalWithDeadlines("")
	reviewAt(post, req, statusNow)
	reviewAt(post, req, statusNow.Add(48*time.Hour))
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostExpired))

	blocked := &policy.Blocked{Reason: policy.ReasonPolicyConflict, Message: "two policies configure mastodon"}
	post.Status = computeReview(post, reviewInputs{now: statusNow.Add(49 * time.Hour), blocked: blocked}).status
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostBlocked))
	g.Expect(states(post)).To(Equal([]string{"legal=Expired"}), "kept as they were")
	g.Expect(condition(post, greenlightv1alpha1.ConditionApproved).Status).To(Equal(metav1.ConditionFalse))

	reviewAt(post, req, statusNow.Add(50*time.Hour), decision{"legal", "carol", greenlightv1alpha1.DecisionApprove, false, 50 * 60})
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostExpired), "unblocked, the expiry still stands")
}

// A status write costs one Event per kind of transition: the departments a stage asks are named
// in one ReviewRequested, and the approvals in the Approved event.
func TestKubernetesEventsAggregateEachTransition(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	req := twoStagePolicy()
	submitted := computeReview(post, reviewInputs{now: statusNow, requirements: req}).status
	events := kubernetesEvents(postEvents(&post.Status, &submitted), &submitted)
	g.Expect(events).To(HaveLen(1))
	g.Expect(events[0].reason).To(Equal(EventReviewRequested))
	g.Expect(events[0].message).To(MatchRegexp(
		`^Review requested from marketing \(stage brand, revision sha256:[0-9a-f]+\), community \(stage brand, revision sha256:[0-9a-f]+\)\.$`))

	post.Status = submitted
	signOffs := signOffsFor(post, req, decision{"marketing", "alice", greenlightv1alpha1.DecisionApprove, false, 1},
		decision{"community", "cody", greenlightv1alpha1.DecisionApprove, false, 1}, decision{"legal", "carol", greenlightv1alpha1.DecisionApprove, false, 1})
	approved := computeReview(post, reviewInputs{now: statusNow, requirements: req, signOffs: signOffs}).status
	events = kubernetesEvents(postEvents(&submitted, &approved), &approved)
	g.Expect(events).To(HaveLen(1), "three approvals and the post's approval: one Event")
	g.Expect(events[0].reason).To(Equal(EventApproved))
	g.Expect(events[0].message).To(MatchRegexp(`^Every required department approved revision sha256:[0-9a-f]+: ` +
		`marketing \(alice\), community \(cody\), legal \(carol\)\.$`))
}
