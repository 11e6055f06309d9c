package metrics

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

var nine = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { return &metav1.Time{Time: nine.Add(d)} }

// status builds a post status for the tests.
type status struct {
	s greenlightv1alpha1.ContentPostStatus
}

func newStatus() *status {
	return &status{s: greenlightv1alpha1.ContentPostStatus{Revision: "sha256:r1"}}
}

func (b *status) revision(r string) *status { b.s.Revision = r; return b }
func (b *status) approved() *status {
	b.s.Conditions = append(b.s.Conditions, metav1.Condition{Type: greenlightv1alpha1.ConditionApproved, Status: metav1.ConditionTrue})
	return b
}
func (b *status) started(d time.Duration) *status { b.s.ReviewStartedAt = at(d); return b }
func (b *status) observed(uids ...string) *status {
	b.s.ObservedSignOffs = append(b.s.ObservedSignOffs, uids...)
	return b
}
func (b *status) missed(department string, deadline time.Duration) *status {
	b.s.MissedDeadlines = append(b.s.MissedDeadlines, greenlightv1alpha1.MissedDeadline{Department: department, Deadline: *at(deadline)})
	return b
}
func (b *status) channel(name string, state greenlightv1alpha1.PublishState, attempts int32) *status {
	b.s.Channels = append(b.s.Channels, greenlightv1alpha1.ChannelStatus{Name: name, State: state, Attempts: attempts})
	return b
}
func (b *status) obj() *greenlightv1alpha1.ContentPostStatus { return b.s.DeepCopy() }

func signOff(uid, department string, decision greenlightv1alpha1.Decision, responded time.Duration) greenlightv1alpha1.SignOff {
	s := greenlightv1alpha1.SignOff{ObjectMeta: metav1.ObjectMeta{Name: "so-" + uid, UID: types.UID(uid),
		Labels: map[string]string{greenlightv1alpha1.LabelPostUID: "post-1"}},
		Spec: greenlightv1alpha1.SignOffSpec{Department: department, Decision: decision}}
	if responded >= 0 {
		s.Status.RespondedAfter = &metav1.Duration{Duration: responded}
	}
	return s
}

func TestObserve(t *testing.T) {
	const (
		succeeded, failed, running = greenlightv1alpha1.PublishSucceeded, greenlightv1alpha1.PublishFailed, greenlightv1alpha1.PublishRunning
		approve, changes           = greenlightv1alpha1.DecisionApprove, greenlightv1alpha1.DecisionRequestChanges
	)
	signOffs := []greenlightv1alpha1.SignOff{
		signOff("a", "legal", approve, 3*time.Hour),
		signOff("b", "marketing", changes, 90*time.Second),
		signOff("forged", "made-up", approve, time.Second),
	}
	labels := Labels{Departments: []string{"legal", "marketing"}, Channels: []string{"mastodon", "linkedin"}}
	ctx := Context{Now: nine.Add(5 * time.Hour), SignOffs: signOffs, Labels: labels}

	tests := []struct {
		name     string
		old, new *greenlightv1alpha1.ContentPostStatus
		want     []Observation
	}{
		{name: "nothing new", old: newStatus().observed("a").missed("legal", 0).approved().started(0).obj(),
			new: newStatus().observed("a").missed("legal", 0).approved().started(0).obj()},
		{name: "a SignOff recorded for the first time: its response, by department and decision",
			old: newStatus().observed("a").obj(), new: newStatus().observed("a", "b").obj(),
			want: []Observation{{Metric: SignOffResponseSeconds, Department: "marketing", Decision: "RequestChanges", Seconds: 90}}},
		{name: "a SignOff pruned from the record (deleted) is nothing new",
			old: newStatus().observed("a", "b").obj(), new: newStatus().observed("b").obj()},
		{name: "a forged department never becomes a label value",
			old: newStatus().obj(), new: newStatus().observed("forged").obj()},
		{name: "a UID the SignOffs do not list is skipped", old: newStatus().obj(), new: newStatus().observed("gone").obj()},
		{name: "approved: time since the first review request",
			old: newStatus().started(0).obj(), new: newStatus().started(0).approved().obj(),
			want: []Observation{{Metric: TimeToApprovalSeconds, Seconds: 5 * 3600}}},
		{name: "still approved, same revision: nothing",
			old: newStatus().started(0).approved().obj(), new: newStatus().started(0).approved().obj()},
		{name: "approved for a new revision",
			old: newStatus().started(0).approved().obj(), new: newStatus().revision("sha256:r2").started(0).approved().obj(),
			want: []Observation{{Metric: TimeToApprovalSeconds, Seconds: 5 * 3600}}},
		{name: "approved without a recorded review start: nothing to measure",
			old: newStatus().obj(), new: newStatus().approved().obj()},
		{name: "a new missed deadline", old: newStatus().missed("legal", 0).obj(),
			new:  newStatus().missed("legal", 0).missed("marketing", time.Hour).missed("made-up", time.Hour).obj(),
			want: []Observation{{Metric: DeadlineMissedTotal, Department: "marketing"}}},
		{name: "the same department's next deadline is a new miss", old: newStatus().missed("legal", 0).obj(),
			new:  newStatus().missed("legal", 0).missed("legal", 24*time.Hour).obj(),
			want: []Observation{{Metric: DeadlineMissedTotal, Department: "legal"}}},
		{name: "a channel finished: succeeded and failed",
			old: newStatus().channel("linkedin", running, 1).channel("mastodon", running, 1).obj(),
			new: newStatus().channel("linkedin", succeeded, 1).channel("mastodon", failed, 1).obj(),
			want: []Observation{{Metric: PublishTotal, Channel: "linkedin", Result: "succeeded"},
				{Metric: PublishTotal, Channel: "mastodon", Result: "failed"}}},
		{name: "a finished attempt seen again is nothing new",
			old: newStatus().channel("mastodon", failed, 1).obj(), new: newStatus().channel("mastodon", failed, 1).obj()},
		{name: "a retry's attempt finished", old: newStatus().channel("mastodon", failed, 1).obj(),
			new:  newStatus().channel("mastodon", succeeded, 2).obj(),
			want: []Observation{{Metric: PublishTotal, Channel: "mastodon", Result: "succeeded"}}},
		{name: "a retry that failed again is a new failure", old: newStatus().channel("mastodon", failed, 1).obj(),
			new:  newStatus().channel("mastodon", failed, 2).obj(),
			want: []Observation{{Metric: PublishTotal, Channel: "mastodon", Result: "failed"}}},
		{name: "a channel no policy defines is no label value", old: newStatus().obj(),
			new: newStatus().channel("myspace", succeeded, 1).obj()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(Observe(tt.old, tt.new, ctx)).To(Equal(tt.want))
		})
	}
}

func TestRecordResponses(t *testing.T) {
	counted := func(s greenlightv1alpha1.SignOff) greenlightv1alpha1.SignOff {
		s.Status.Conditions = []metav1.Condition{{Type: greenlightv1alpha1.ConditionCounted, Status: metav1.ConditionTrue}}
		return s
	}
	otherPost := counted(signOff("other", "legal", greenlightv1alpha1.DecisionApprove, time.Minute))
	otherPost.Labels[greenlightv1alpha1.LabelPostUID] = "post-0"
	labels := Labels{Departments: []string{"legal", "marketing"}}
	a := counted(signOff("a", "legal", greenlightv1alpha1.DecisionApprove, time.Hour))
	b := signOff("b", "marketing", greenlightv1alpha1.DecisionReject, time.Hour) // counts in this reconcile's review

	tests := []struct {
		name     string
		recorded []string
		signOffs []greenlightv1alpha1.SignOff
		counted  map[string]bool
		want     []string
	}{
		{name: "none"},
		{name: "admitted (Counted) and counted now", signOffs: []greenlightv1alpha1.SignOff{a, b},
			counted: map[string]bool{"so-b": true}, want: []string{"a", "b"}},
		{name: "recorded stays, in its order", recorded: []string{"b"}, signOffs: []greenlightv1alpha1.SignOff{a, b},
			counted: map[string]bool{"so-b": true}, want: []string{"b", "a"}},
		{name: "pruned to SignOffs that exist", recorded: []string{"gone", "a"}, signOffs: []greenlightv1alpha1.SignOff{a},
			want: []string{"a"}},
		{name: "a SignOff that never counted is no response", signOffs: []greenlightv1alpha1.SignOff{b}},
		{name: "no respondedAfter yet (written by the reconciler when the webhooks are down)",
			signOffs: []greenlightv1alpha1.SignOff{counted(signOff("c", "legal", greenlightv1alpha1.DecisionApprove, -1))}},
		{name: "a department the policies do not define",
			signOffs: []greenlightv1alpha1.SignOff{counted(signOff("c", "made-up", greenlightv1alpha1.DecisionApprove, time.Minute))}},
		{name: "bound to another post of the same name", signOffs: []greenlightv1alpha1.SignOff{otherPost}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RecordResponses(tt.recorded, Responses{PostUID: "post-1", SignOffs: tt.signOffs, Counted: tt.counted, Labels: labels})
			NewWithT(t).Expect(got).To(Equal(tt.want))
		})
	}

	t.Run("bounded: once full, nothing is added and nothing dropped", func(t *testing.T) {
		g := NewWithT(t)
		full := make([]string, MaxObservedSignOffs)
		var existing []greenlightv1alpha1.SignOff
		for i := range full {
			full[i] = string(rune('A'+i%26)) + time.Duration(i).String()
			s := a.DeepCopy()
			s.UID = types.UID(full[i])
			existing = append(existing, *s)
		}
		got := RecordResponses(full, Responses{PostUID: "post-1", SignOffs: append(existing, a), Labels: labels})
		g.Expect(got).To(Equal(full))
	})
}

func TestReviewStartedAt(t *testing.T) {
	g := NewWithT(t)
	departments := []greenlightv1alpha1.DepartmentStatus{{Name: "legal", RequestedAt: at(time.Hour)}, {Name: "pr"},
		{Name: "marketing", RequestedAt: at(0)}}
	g.Expect(ReviewStartedAt(nil, nil)).To(BeNil())
	g.Expect(ReviewStartedAt(nil, departments)).To(Equal(at(0)))
	g.Expect(ReviewStartedAt(at(-time.Hour), departments)).To(Equal(at(-time.Hour)), "the first review request is kept across edits")
}

func TestCountPhases(t *testing.T) {
	g := NewWithT(t)
	post := func(phase greenlightv1alpha1.PostPhase) greenlightv1alpha1.ContentPost {
		return greenlightv1alpha1.ContentPost{Status: greenlightv1alpha1.ContentPostStatus{Phase: phase}}
	}
	counts := CountPhases([]greenlightv1alpha1.ContentPost{post(greenlightv1alpha1.PostInReview), post(greenlightv1alpha1.PostInReview),
		post(greenlightv1alpha1.PostBlocked), post("")})
	g.Expect(counts).To(HaveLen(10))
	g.Expect(counts[greenlightv1alpha1.PostInReview]).To(Equal(2))
	g.Expect(counts[greenlightv1alpha1.PostBlocked]).To(Equal(1))
	g.Expect(counts[greenlightv1alpha1.PostPublished]).To(Equal(0))
}
