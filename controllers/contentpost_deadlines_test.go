package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

func duration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// legalWithDeadlines is one department, legal, with a 48h review window and reminders 24h and
// 1h before its deadline.
func legalWithDeadlines(onMissed greenlightv1alpha1.MissedDeadlineAction) *policy.Requirements {
	return &policy.Requirements{Policies: []string{"acme"}, Departments: []policy.Department{{
		Policy: "acme", Stage: "compliance", Required: true, ReviewWindow: duration(48 * time.Hour),
		Deadlines: &greenlightv1alpha1.Deadlines{
			LeadTime:  duration(2 * time.Hour),
			Reminders: []metav1.Duration{{Duration: 24 * time.Hour}, {Duration: time.Hour}},
			OnMissed:  onMissed,
		},
		Department: greenlightv1alpha1.Department{Name: "legal", MinApprovals: 1, Approvers: greenlightv1alpha1.Approvers{Groups: []string{"legal"}}},
	}}}
}

// reviewAt runs computeReview at now on the post as the last reconcile left it.
func reviewAt(post *greenlightv1alpha1.ContentPost, req *policy.Requirements, now time.Time, decisions ...decision) reviewResult {
	result := computeReview(post, reviewInputs{now: now, requirements: req, signOffs: signOffsFor(post, req, decisions...)})
	post.Status = result.status
	return result
}

func TestRemindersAndExpiryAlongTheTimeline(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	req := legalWithDeadlines("")
	deadline := statusNow.Add(48 * time.Hour)

	started := reviewAt(post, req, statusNow)
	legal := departmentOf(post, "legal")
	g.Expect(legal.Deadline.Time).To(BeTemporally("==", deadline))
	g.Expect(post.Status.Deadline.Time).To(BeTemporally("==", deadline))
	g.Expect(legal.RemindersSent).To(BeEmpty())
	g.Expect(started.requeueAt).To(BeTemporally("==", deadline.Add(-24*time.Hour)), "wake up for the first reminder")

	before := *post.Status.DeepCopy()
	day := reviewAt(post, req, deadline.Add(-24*time.Hour))
	g.Expect(departmentOf(post, "legal").RemindersSent).To(Equal([]string{"24h0m0s"}))
	g.Expect(day.requeueAt).To(BeTemporally("==", deadline.Add(-time.Hour)))
	events := postEvents(&before, &post.Status)
	g.Expect(events).To(HaveLen(1))
	g.Expect(events[0].reason).To(Equal(EventReminder))
	g.Expect(events[0].message).To(Equal("legal's decision is due by 2026-11-25T09:00:00Z (reminder 24h0m0s before the deadline)."))

	// A later reconcile (or a restarted manager) reads remindersSent and sends nothing again.
	before = *post.Status.DeepCopy()
	reviewAt(post, req, deadline.Add(-23*time.Hour))
	g.Expect(postEvents(&before, &post.Status)).To(BeEmpty())

	reviewAt(post, req, deadline.Add(-time.Hour))
	g.Expect(departmentOf(post, "legal").RemindersSent).To(Equal([]string{"24h0m0s", "1h0m0s"}))

	before = *post.Status.DeepCopy()
	expired := reviewAt(post, req, deadline)
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostExpired))
	g.Expect(departmentOf(post, "legal").State).To(Equal(greenlightv1alpha1.DepartmentExpired))
	g.Expect(expired.requeueAt.IsZero()).To(BeTrue(), "nothing more is due")
	var reasons []string
	for _, e := range postEvents(&before, &post.Status) {
		reasons = append(reasons, e.reason)
	}
	g.Expect(reasons).To(Equal([]string{EventDeadlineMissed, EventExpired}))

	// An approval that arrives after the deadline does not revive the post.
	late := reviewAt(post, req, deadline.Add(time.Minute), decision{"legal", "carol", greenlightv1alpha1.DecisionApprove, false, 1})
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostExpired))
	for _, v := range late.verdicts {
		g.Expect(v.Reason).To(Equal(ReasonDeadlineMissed))
	}

	// A new revision of the body is a new review, with a new deadline.
	post.Spec.Body = "Our spring line is here (revised)"
	reopenedAt := deadline.Add(time.Hour)
	reviewAt(post, req, reopenedAt)
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostInReview))
	g.Expect(departmentOf(post, "legal").Deadline.Time).To(BeTemporally("==", reopenedAt.Add(48*time.Hour)))
	g.Expect(departmentOf(post, "legal").RemindersSent).To(BeEmpty())
}

func TestNotifyKeepsWaiting(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	req := legalWithDeadlines(greenlightv1alpha1.MissedDeadlineNotify)
	reviewAt(post, req, statusNow)

	before := *post.Status.DeepCopy()
	reviewAt(post, req, statusNow.Add(49*time.Hour))
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostInReview))
	g.Expect(departmentOf(post, "legal").State).To(Equal(greenlightv1alpha1.DepartmentPending))
	exceeded := condition(post, greenlightv1alpha1.ConditionDeadlineExceeded)
	g.Expect(exceeded.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(exceeded.Message).To(Equal("legal missed their deadline; the post keeps waiting (onMissed: Notify)."))
	var reasons []string
	for _, e := range postEvents(&before, &post.Status) {
		reasons = append(reasons, e.reason)
	}
	g.Expect(reasons).To(ContainElement(EventDeadlineExceeded))

	before = *post.Status.DeepCopy()
	reviewAt(post, req, statusNow.Add(50*time.Hour))
	g.Expect(postEvents(&before, &post.Status)).To(BeEmpty(), "announced once")
	g.Expect(post.Status).To(Equal(before), "a later reconcile with nothing new writes nothing")

	reviewAt(post, req, statusNow.Add(51*time.Hour), decision{"legal", "carol", greenlightv1alpha1.DecisionApprove, false, 1})
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostScheduled), "a late approval still counts under Notify")
	g.Expect(condition(post, greenlightv1alpha1.ConditionDeadlineExceeded)).To(BeNil())
}

func TestALaterPublishAtReopensAnExpiredPost(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	publishAt := metav1.NewTime(statusNow.Add(4 * time.Hour))
	post.Spec.PublishAt = &publishAt
	req := legalWithDeadlines("")
	// legal covers everything, including the schedule: moving publishAt is also a new revision.
	req.Departments[0].Covers = []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverBody}
	reviewAt(post, req, statusNow)
	g.Expect(departmentOf(post, "legal").Deadline.Time).To(BeTemporally("==", statusNow.Add(2*time.Hour)), "publishAt minus leadTime")

	reviewAt(post, req, statusNow.Add(3*time.Hour))
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostExpired))

	later := metav1.NewTime(statusNow.Add(24 * time.Hour))
	post.Spec.PublishAt = &later
	reviewAt(post, req, statusNow.Add(3*time.Hour))
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostInReview))
	g.Expect(departmentOf(post, "legal").Revision).To(Equal(revision.Covered(&post.Spec, req.Departments[0].Covers)))
}

// Finding 8: setting an expired post back to draft, and submitting it again, cleared Expired
// with a fresh review window.
func TestAnExpiredPostSetToDraftStaysExpired(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	req := legalWithDeadlines("")
	reviewAt(post, req, statusNow)
	reviewAt(post, req, statusNow.Add(48*time.Hour))
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostExpired))

	post.Spec.Draft = true
	reviewAt(post, req, statusNow.Add(49*time.Hour))
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostExpired), "an expired post set to draft stays Expired")
	g.Expect(states(post)).To(Equal([]string{"legal=Expired"}))

	post.Spec.Draft = false
	reviewAt(post, req, statusNow.Add(50*time.Hour), decision{"legal", "carol", greenlightv1alpha1.DecisionApprove, false, 50 * 60})
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostExpired), "and submitting it again neither reopens review nor counts late approvals")
}

// A deadline counts as missed against a department only when it passes while the department
// could still meet it: an author who moves publishAt so that publishAt - leadTime is already past
// gets an expired (or flagged) post, but no missed deadline on record, on that reconcile or any
// later one. One that passes while nobody reconciles still counts.
func TestAnEditThatMovesADeadlineIntoThePastIsNotAMiss(t *testing.T) {
	for _, onMissed := range []greenlightv1alpha1.MissedDeadlineAction{greenlightv1alpha1.MissedDeadlineExpire, greenlightv1alpha1.MissedDeadlineNotify} {
		t.Run(string(onMissed), func(t *testing.T) {
			g := NewWithT(t)
			req := legalWithDeadlines(onMissed)
			post := newPost("launch").obj()
			reviewAt(post, req, statusNow)
			g.Expect(departmentOf(post, "legal").Deadline.Time).To(BeTemporally("==", statusNow.Add(48*time.Hour)))

			// publishAt in an hour: publishAt - leadTime (2h) passed an hour ago.
			post.Spec.PublishAt = &metav1.Time{Time: statusNow.Add(5*time.Hour + time.Hour)}
			now := statusNow.Add(5 * time.Hour)
			for range 3 {
				reviewAt(post, req, now)
				now = now.Add(time.Minute)
			}
			g.Expect(departmentOf(post, "legal").Deadline.Time).To(BeTemporally("<", statusNow.Add(5*time.Hour)))
			g.Expect(post.Status.MissedDeadlines).To(BeEmpty())

			// A later publishAt: a new deadline that passes while nobody reconciles is a miss.
			post.Spec.PublishAt = &metav1.Time{Time: now.Add(4 * time.Hour)}
			reviewAt(post, req, now)
			g.Expect(post.Status.MissedDeadlines).To(BeEmpty())
			reviewAt(post, req, now.Add(3*time.Hour))
			reviewAt(post, req, now.Add(3*time.Hour+time.Minute))
			g.Expect(post.Status.MissedDeadlines).To(HaveLen(1))
			g.Expect(post.Status.MissedDeadlines[0].Deadline.Time).To(BeTemporally("==", now.Add(2*time.Hour)))
		})
	}
}
