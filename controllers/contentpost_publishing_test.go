package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/windows"
)

// approvedPost is a post every department of req approved.
func approvedPost(g Gomega, req *policy.Requirements, now time.Time) (*greenlightv1alpha1.ContentPost, []decision) {
	post := newPost("launch").obj()
	var decisions []decision
	for _, d := range req.Departments {
		decisions = append(decisions, decision{d.Name, "rev-" + d.Name, greenlightv1alpha1.DecisionApprove, false, 1})
	}
	reviewAt(post, req, now, decisions...)
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostScheduled))
	return post, decisions
}

func TestADenyWindowHoldsAnApprovedPost(t *testing.T) {
	g := NewWithT(t)
	req := twoStagePolicy()
	var err error
	// statusNow is Monday 23 November 2026, 09:00 UTC: inside a Monday-morning deny window.
	req.Windows, err = windows.Parse([]greenlightv1alpha1.Window{{
		Kind: greenlightv1alpha1.WindowDeny, Schedule: "0 8 * * 1", Duration: metav1.Duration{Duration: 4 * time.Hour},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	post, decisions := approvedPost(g, req, statusNow)
	g.Expect(post.Status.NextWindow.Time).To(BeTemporally("==", statusNow.Add(3*time.Hour)))
	// The window holds it now, but it is due only at its publishAt, when no window holds it.
	g.Expect(condition(post, greenlightv1alpha1.ConditionReady).Message).To(Equal("Approved; publishes at 2099-01-01T09:00:00Z."))
	g.Expect(condition(post, greenlightv1alpha1.ConditionReconciling)).To(BeNil())

	result := reviewAt(post, req, statusNow, decisions...)
	g.Expect(result.requeueAt).To(BeTemporally("==", statusNow.Add(3*time.Hour)), "wake up when the window closes")

	reviewAt(post, req, statusNow.Add(3*time.Hour), decisions...)
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostScheduled))
	g.Expect(post.Status.NextWindow).To(BeNil())
}

func TestAFreezeHoldsAnApprovedPostUntilLifted(t *testing.T) {
	g := NewWithT(t)
	req := twoStagePolicy()
	req.Freezes = []string{"acme: crisis: all publishing halted"}
	post, decisions := approvedPost(g, req, statusNow)
	frozen := condition(post, greenlightv1alpha1.ConditionFrozen)
	g.Expect(frozen.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(frozen.Message).To(Equal("Publishing is frozen by acme: crisis: all publishing halted."))
	settled := *post.Status.DeepCopy()
	reviewAt(post, req, statusNow.Add(time.Hour), decisions...)
	g.Expect(post.Status).To(Equal(settled), "a later reconcile with nothing new writes nothing")

	before := *post.Status.DeepCopy()
	req.Freezes = nil
	reviewAt(post, req, statusNow, decisions...)
	g.Expect(condition(post, greenlightv1alpha1.ConditionFrozen)).To(BeNil())
	events := postEvents(&before, &post.Status)
	g.Expect(events).To(HaveLen(1))
	g.Expect(events[0].reason).To(Equal(EventUnfrozen))
}

func TestApprovedAfterTheSlotIsNeverPublished(t *testing.T) {
	g := NewWithT(t)
	req := twoStagePolicy()
	hour := time.Hour
	req.MaxLateness = &hour
	post := newPost("launch").obj()
	publishAt := metav1.NewTime(statusNow.Add(-2 * time.Hour))
	post.Spec.PublishAt = &publishAt
	var decisions []decision
	for _, d := range req.Departments {
		decisions = append(decisions, decision{d.Name, "rev-" + d.Name, greenlightv1alpha1.DecisionApprove, false, 1})
	}
	reviewAt(post, req, statusNow, decisions...)
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostExpired))
	stalled := condition(post, greenlightv1alpha1.ConditionStalled)
	g.Expect(stalled.Reason).To(Equal(ReasonMissedPublishSlot))
	g.Expect(stalled.Message).To(ContainSubstring("not published by 2026-11-23T08:00:00Z (publishAt 2026-11-23T07:00:00Z plus maxLateness 1h0m0s)"))
	g.Expect(condition(post, greenlightv1alpha1.ConditionApproved).Status).To(Equal(metav1.ConditionTrue), "the approval stands")

	// Finding 12: Approved was set False and then True in one computation, so its
	// lastTransitionTime, and the status, changed on every reconcile. A later reconcile with
	// nothing new computes the same status, and so writes nothing.
	settled := *post.Status.DeepCopy()
	reviewAt(post, req, statusNow.Add(time.Hour), decisions...)
	g.Expect(post.Status).To(Equal(settled))

	// In time, the post waits; it wakes up at publishAt, when publishing is due, and again when
	// its slot ends.
	post = newPost("launch").obj()
	later := metav1.NewTime(statusNow.Add(2 * time.Hour))
	post.Spec.PublishAt = &later
	result := reviewAt(post, req, statusNow, decisions...)
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostScheduled))
	g.Expect(result.requeueAt).To(BeTemporally("==", statusNow.Add(2*time.Hour)))
	// At publishAt, within its slot, publishing begins: one Pending Job per channel, recorded
	// before any Job exists.
	reviewAt(post, req, statusNow.Add(2*time.Hour), decisions...)
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostPublishing))
	g.Expect(post.Status.Channels).To(HaveLen(1))
	g.Expect(post.Status.Channels[0].State).To(Equal(greenlightv1alpha1.PublishPending))
	g.Expect(post.Status.Channels[0].Attempts).To(Equal(int32(1)))
	g.Expect(condition(post, greenlightv1alpha1.ConditionPublished).Status).To(Equal(metav1.ConditionFalse))
}

// recordingNotifier keeps what would be sent.
type recordingNotifier struct{ sent []notify.Event }

func (n *recordingNotifier) Send(_ notify.Target, e notify.Event) bool {
	n.sent = append(n.sent, e)
	return true
}

func TestPublishedAndFailedAreAnnouncedAndNotified(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").obj()
	publishing := greenlightv1alpha1.ContentPostStatus{Phase: greenlightv1alpha1.PostPublishing,
		Channels: []greenlightv1alpha1.ChannelStatus{{Name: "mastodon", State: greenlightv1alpha1.PublishRunning}}}
	notifications := []policy.Notification{{Policy: "acme", Notification: greenlightv1alpha1.Notification{Name: "chat",
		Events: []greenlightv1alpha1.NotificationEvent{greenlightv1alpha1.EventPublished, greenlightv1alpha1.EventFailed}}}}

	published := *publishing.DeepCopy()
	published.Channels[0].State, published.Channels[0].URL = greenlightv1alpha1.PublishSucceeded, "https://social.example/@acme/1"
	published.Phase = publishingPhase(&published)
	setPublishedConditions(&published, post, statusNow)
	events := postEvents(&publishing, &published)
	g.Expect(events).To(HaveLen(1))
	g.Expect(events[0].reason).To(Equal(EventPublished))
	g.Expect(events[0].message).To(Equal("Published to mastodon (https://social.example/@acme/1)."))
	notifier := &recordingNotifier{}
	notifyPolicies(notifier, post, notifications, events, statusNow)
	g.Expect(notifier.sent).To(ConsistOf(HaveField("Type", greenlightv1alpha1.EventPublished)))

	failed := *publishing.DeepCopy()
	failed.Channels[0].State, failed.Channels[0].Message = greenlightv1alpha1.PublishFailed, "BackoffLimitExceeded: publisher: 401"
	failed.Phase = publishingPhase(&failed)
	setPublishedConditions(&failed, post, statusNow)
	events = postEvents(&publishing, &failed)
	g.Expect(events).To(HaveLen(1))
	g.Expect(events[0].reason).To(Equal(EventFailed))
	g.Expect(events[0].message).To(ContainSubstring("mastodon: BackoffLimitExceeded"))
	notifier = &recordingNotifier{}
	notifyPolicies(notifier, post, notifications, events, statusNow)
	g.Expect(notifier.sent).To(ConsistOf(HaveField("Type", greenlightv1alpha1.EventFailed)))
}

// An approved post waiting for its publishAt, a window or the end of a freeze is Ready (kstatus
// Current: the controller has done all it can until then), never Reconciling, and Ready's
// message says when it publishes.
func TestAScheduledPostIsReadyAndSaysWhenItPublishes(t *testing.T) {
	at := func(hour int) *metav1.Time {
		return &metav1.Time{Time: statusNow.Add(time.Duration(hour-9) * time.Hour)}
	}
	deny := func(schedule string, d time.Duration) []greenlightv1alpha1.Window {
		return []greenlightv1alpha1.Window{{Kind: greenlightv1alpha1.WindowDeny, Schedule: schedule, Duration: metav1.Duration{Duration: d}}}
	}
	hour := time.Hour
	// statusNow is Monday 23 November 2026, 09:00 UTC.
	cases := []struct {
		name        string
		publishAt   *metav1.Time
		windows     []greenlightv1alpha1.Window
		freezes     []string
		maxLateness *time.Duration
		want        string
		// stuck: as things stand it never publishes, so Ready=False and Stalled=True.
		stuck bool
	}{
		{name: "publishAt ahead", publishAt: at(11), want: "Approved; publishes at 2026-11-23T11:00:00Z."},
		{name: "a deny window holds it now", windows: deny("0 8 * * 1", 4*time.Hour),
			want: "Approved; publishes when the next publishing window opens at 2026-11-23T12:00:00Z."},
		{name: "publishAt falls in a deny window", publishAt: at(11), windows: deny("0 10 * * 1", 4*time.Hour),
			want: "Approved; publishes when the next publishing window opens at 2026-11-23T14:00:00Z."},
		{name: "the next window opens after the slot ends", publishAt: at(11), windows: deny("0 10 * * 1", 4*time.Hour), maxLateness: &hour,
			want: "Approved; the next publishing window opens at 2026-11-23T14:00:00Z, after its slot ends at 2026-11-23T12:00:00Z " +
				"(publishAt plus maxLateness), so it will expire unless publishAt or the policy's windows change.", stuck: true},
		{name: "a deny window that never closes", windows: deny("* * * * *", 24*time.Hour),
			want:  "Approved; will not publish: no publishing window opens within a year; change the policy's windows or the post's publishAt.",
			stuck: true},
		{name: "frozen", freezes: []string{"acme: crisis: all publishing halted"},
			want: `Approved; publishes once the freeze by acme ("crisis: all publishing halted") is lifted.`},
		{name: "frozen, publishAt ahead", publishAt: at(11), freezes: []string{"acme: crisis"},
			want: `Approved; publishes at 2026-11-23T11:00:00Z if the freeze by acme ("crisis") is lifted by then.`},
		{name: "frozen twice", freezes: []string{"acme: crisis", "legal-hold: audit"},
			want: `Approved; publishes once the freezes by acme ("crisis") and legal-hold ("audit") are lifted.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			req := twoStagePolicy()
			if tc.windows != nil {
				var err error
				req.Windows, err = windows.Parse(tc.windows)
				g.Expect(err).NotTo(HaveOccurred())
			}
			req.Freezes, req.MaxLateness = tc.freezes, tc.maxLateness
			post := newPost("launch").obj()
			post.Spec.PublishAt = tc.publishAt
			var decisions []decision
			for _, d := range req.Departments {
				decisions = append(decisions, decision{d.Name, "rev-" + d.Name, greenlightv1alpha1.DecisionApprove, false, 1})
			}
			reviewAt(post, req, statusNow, decisions...)
			g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostScheduled))
			ready := condition(post, greenlightv1alpha1.ConditionReady)
			g.Expect(ready.Message).To(Equal(tc.want))
			g.Expect(condition(post, greenlightv1alpha1.ConditionReconciling)).To(BeNil())
			if tc.stuck {
				g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready.Reason).To(Equal(ReasonNoPublishingWindow))
				stalled := condition(post, greenlightv1alpha1.ConditionStalled)
				g.Expect(stalled).NotTo(BeNil())
				g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
			} else {
				g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(ready.Reason).To(Equal(ReasonScheduled))
				g.Expect(condition(post, greenlightv1alpha1.ConditionStalled)).To(BeNil())
			}

			settled := *post.Status.DeepCopy()
			reviewAt(post, req, statusNow.Add(time.Minute), decisions...)
			g.Expect(post.Status).To(Equal(settled), "the message is stable: a later reconcile writes nothing")
		})
	}
}

// A post approved when it is due goes straight from review to Publishing: Ready stays False (its
// lastTransitionTime is kept), never True for a moment within the computation.
func TestAPostDueNowGoesFromReviewToPublishingWithoutReady(t *testing.T) {
	g := NewWithT(t)
	req := twoStagePolicy()
	post := newPost("launch").now().obj()
	reviewAt(post, req, statusNow)
	inReview := *condition(post, greenlightv1alpha1.ConditionReady)
	g.Expect(inReview.Status).To(Equal(metav1.ConditionFalse))

	var decisions []decision
	for _, d := range req.Departments {
		decisions = append(decisions, decision{d.Name, "rev-" + d.Name, greenlightv1alpha1.DecisionApprove, false, 1})
	}
	reviewAt(post, req, statusNow.Add(time.Hour), decisions...)
	g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostPublishing))
	ready := condition(post, greenlightv1alpha1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(ready.Reason).To(Equal(ReasonPublishing))
	g.Expect(ready.LastTransitionTime).To(Equal(inReview.LastTransitionTime))
	g.Expect(condition(post, greenlightv1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(condition(post, greenlightv1alpha1.ConditionApproved).Status).To(Equal(metav1.ConditionTrue))
}
