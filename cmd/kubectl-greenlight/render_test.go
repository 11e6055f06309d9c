package main

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"

	"github.com/greenlight-operator/greenlight/internal/testenv/golden"
)

// fixedNow is the clock of the rendering tests.
var fixedNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func at(hour, minute int) *metav1.Time {
	return &metav1.Time{Time: time.Date(2026, 11, 27, hour, minute, 0, 0, time.UTC)}
}

const (
	digestA = "sha256:3f2a9c1b0e12aa64d5e1c6f8a9b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c"
	digestB = "sha256:77e1d0c9b8a7f6e5d4c3b2a1908f7e6d5c4b3a29181706f5e4d3c2b1a0f9e8d7"
)

// reviewPost is a post under review in its second stage: the first approved (one department by
// quorum, one not needed for this post), legal pending and held by a ratchet note.
func reviewPost() *greenlightv1alpha1.ContentPost {
	return &greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: "launch-teaser", Namespace: "acme"},
		Spec: greenlightv1alpha1.ContentPostSpec{
			Campaign: "spring-launch", Body: "Our spring line is here",
			Channels:  []greenlightv1alpha1.Channel{{Name: "mastodon"}, {Name: "linkedin"}},
			PublishAt: at(18, 0),
		},
		Status: greenlightv1alpha1.ContentPostStatus{
			Phase: greenlightv1alpha1.PostInReview, Revision: digestA, Policies: []string{"brand-default"},
			Stage: "compliance", WaitingOn: "legal", Deadline: at(16, 0),
			Departments: []greenlightv1alpha1.DepartmentStatus{
				{Name: "marketing", Stage: "brand", State: greenlightv1alpha1.DepartmentApproved, MinApprovals: 2,
					ApprovedBy: []string{"alice", "erin"}, DecidedAt: at(8, 12), Revision: digestA},
				{Name: "public-relations", Stage: "brand", State: greenlightv1alpha1.DepartmentApproved, MinApprovals: 1,
					ApprovedBy: []string{"bob"}, DecidedAt: at(9, 40), Revision: digestA},
				{Name: "linkedin", Stage: "brand", State: greenlightv1alpha1.DepartmentNotRequired, MinApprovals: 1},
				{Name: "legal", Stage: "compliance", State: greenlightv1alpha1.DepartmentPending, MinApprovals: 1,
					RequestedAt: at(9, 40), Deadline: at(16, 0), Revision: digestB,
					Message: "still required: ContentPost launch-teaser required it when it was submitted"},
			},
			Conditions: []metav1.Condition{
				{Type: greenlightv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "AwaitingReview",
					Message: "Waiting on legal (stage compliance)."},
				{Type: greenlightv1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: "AwaitingReview"},
			},
		},
	}
}

// failedPost went out on one channel and failed on the other after a retry; its policy is
// frozen since.
func failedPost() *greenlightv1alpha1.ContentPost {
	post := reviewPost()
	post.Spec.PublishAt = at(9, 0)
	post.Status.Phase, post.Status.Stage, post.Status.WaitingOn, post.Status.Deadline = greenlightv1alpha1.PostFailed, "", "", nil
	post.Status.Departments[3].State, post.Status.Departments[3].ApprovedBy = greenlightv1alpha1.DepartmentApproved, []string{"carol"}
	post.Status.Departments[3].DecidedAt, post.Status.Departments[3].Message = at(8, 55), ""
	post.Status.Channels = []greenlightv1alpha1.ChannelStatus{
		{Name: "mastodon", Job: "launch-teaser-mastodon-3f2a9c1b-1", State: greenlightv1alpha1.PublishSucceeded, Attempts: 1,
			ID: "109", URL: "https://mastodon.social/@acme/109", PublishedAt: at(9, 1),
			Engagement: &greenlightv1alpha1.Engagement{Likes: 42, Shares: 7, Replies: 3, ObservedAt: *at(10, 1)},
			Insights: &greenlightv1alpha1.InsightsStatus{LastOffset: &metav1.Duration{Duration: time.Hour},
				Offset: &metav1.Duration{Duration: 24 * time.Hour}, Job: "launch-teaser-mastodon-9d8e7f6a5b"}},
		{Name: "linkedin", Job: "launch-teaser-linkedin-3f2a9c1b-2", State: greenlightv1alpha1.PublishFailed, Attempts: 2,
			Message: "BackoffLimitExceeded: 401 Unauthorized: the access token expired"},
	}
	post.Status.Conditions = []metav1.Condition{
		{Type: greenlightv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "PublishFailed",
			Message: "Publishing to linkedin failed: BackoffLimitExceeded: 401 Unauthorized: the access token expired."},
		{Type: greenlightv1alpha1.ConditionFrozen, Status: metav1.ConditionTrue, Reason: "Frozen",
			Message: "Publishing is frozen by brand-default: crisis: all publishing halted."},
	}
	return post
}

// changesPost had changes requested by bob; alice's approval for the same department was made
// before and counts no more.
func changesPost() (*greenlightv1alpha1.ContentPost, []greenlightv1alpha1.SignOff) {
	post := reviewPost()
	post.Spec.PublishAt = nil
	post.Status.Phase, post.Status.Stage, post.Status.WaitingOn = greenlightv1alpha1.PostChangesRequested, "brand", ""
	post.Status.Departments = []greenlightv1alpha1.DepartmentStatus{
		{Name: "marketing", Stage: "brand", State: greenlightv1alpha1.DepartmentApproved, MinApprovals: 1,
			ApprovedBy: []string{"alice"}, DecidedAt: at(8, 12), Revision: digestA},
		{Name: "public-relations", Stage: "brand", State: greenlightv1alpha1.DepartmentChangesRequested, MinApprovals: 1,
			DecidedAt: at(9, 40), Revision: digestA, Comment: "Say when it ships."},
		{Name: "legal", Stage: "compliance", State: greenlightv1alpha1.DepartmentWaiting, MinApprovals: 1},
	}
	post.Status.Conditions = []metav1.Condition{{Type: greenlightv1alpha1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: "ChangesRequested", Message: "public-relations requested changes: Say when it ships."}}
	counted := []metav1.Condition{{Type: greenlightv1alpha1.ConditionCounted, Status: metav1.ConditionTrue, Reason: "Counted"}}
	signOffs := []greenlightv1alpha1.SignOff{
		{ObjectMeta: metav1.ObjectMeta{Name: "launch-teaser-marketing-x7k2p", CreationTimestamp: *at(8, 12)},
			Spec: greenlightv1alpha1.SignOffSpec{Post: "launch-teaser", Department: "marketing", Decision: greenlightv1alpha1.DecisionApprove,
				Reviewer: "alice", Revision: digestA},
			Status: greenlightv1alpha1.SignOffStatus{Conditions: counted, RespondedAfter: &metav1.Duration{Duration: 72 * time.Minute}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "launch-teaser-public-relations-q8d4s", CreationTimestamp: *at(9, 40)},
			Spec: greenlightv1alpha1.SignOffSpec{Post: "launch-teaser", Department: "public-relations",
				Decision: greenlightv1alpha1.DecisionRequestChanges, Comment: "Say when it ships.", Reviewer: "bob", Revision: digestA},
			Status: greenlightv1alpha1.SignOffStatus{Conditions: counted}},
		{ObjectMeta: metav1.ObjectMeta{Name: "launch-teaser-public-relations-b2n9v", CreationTimestamp: *at(9, 10)},
			Spec: greenlightv1alpha1.SignOffSpec{Post: "launch-teaser", Department: "public-relations",
				Decision: greenlightv1alpha1.DecisionApprove, Reviewer: "erin", Revision: digestB},
			Status: greenlightv1alpha1.SignOffStatus{Conditions: []metav1.Condition{{Type: greenlightv1alpha1.ConditionCounted,
				Status: metav1.ConditionFalse, Reason: "StaleRevision", Message: "ContentPost launch-teaser changed since erin reviewed it"}}}},
	}
	sortOldestFirst(signOffs)
	return post, signOffs
}

// The layout of `status` and `history`, pinned by golden files with a fixed clock.
func TestStatusLayout(t *testing.T) {
	changes, signOffs := changesPost()
	for _, tc := range []struct {
		golden   string
		post     *greenlightv1alpha1.ContentPost
		signOffs []greenlightv1alpha1.SignOff
		colour   bool
		render   func(*bytes.Buffer, view, *greenlightv1alpha1.ContentPost, []greenlightv1alpha1.SignOff) error
	}{
		{golden: "status-in-review.golden", post: reviewPost()},
		{golden: "status-failed.golden", post: failedPost()},
		{golden: "status-changes-requested.golden", post: changes, signOffs: signOffs},
		{golden: "status-changes-requested-colour.golden", post: changes, signOffs: signOffs, colour: true},
		{golden: "history-changes-requested.golden", post: changes, signOffs: signOffs, render: historyInto},
		{golden: "history-failed.golden", post: failedPost(), render: historyInto},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var out bytes.Buffer
			render := tc.render
			if render == nil {
				render = statusInto
			}
			v := view{now: fixedNow, location: time.UTC, paint: painter{on: tc.colour}}
			NewWithT(t).Expect(render(&out, v, tc.post, tc.signOffs)).To(Succeed())
			golden.Expect(t, tc.golden, out.Bytes())
		})
	}
}

func statusInto(out *bytes.Buffer, v view, post *greenlightv1alpha1.ContentPost, signOffs []greenlightv1alpha1.SignOff) error {
	return renderStatus(out, v, post, signOffs)
}

func historyInto(out *bytes.Buffer, v view, post *greenlightv1alpha1.ContentPost, signOffs []greenlightv1alpha1.SignOff) error {
	return renderHistory(out, v, post, signOffs)
}

func TestColourOnlyOnATerminal(t *testing.T) {
	g := NewWithT(t)
	file, err := os.CreateTemp(t.TempDir(), "out")
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = file.Close() }()
	noEnv := func(string) string { return "" }
	g.Expect((&cli{getenv: noEnv}).painterFor(&bytes.Buffer{}).on).To(BeFalse(), "a buffer")
	g.Expect((&cli{getenv: noEnv}).painterFor(file).on).To(BeFalse(), "a regular file")

	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no terminal to test with: %v", err)
	}
	defer func() { _ = tty.Close() }()
	g.Expect((&cli{getenv: noEnv}).painterFor(tty).on).To(BeTrue(), "a terminal")
	g.Expect((&cli{getenv: noEnv, noColor: true}).painterFor(tty).on).To(BeFalse(), "--no-color")
	noColor := func(key string) string { return map[string]string{"NO_COLOR": "1"}[key] }
	g.Expect((&cli{getenv: noColor}).painterFor(tty).on).To(BeFalse(), "NO_COLOR")
}

func TestDenialsLoseTheirWrapping(t *testing.T) {
	signOffs := schema.GroupResource{Group: "greenlight.dev", Resource: "signoffs"}
	for _, tc := range []struct {
		name     string
		err      error
		sentence string
		isDenial bool
	}{
		{name: "webhook", err: apierrors.NewForbidden(signOffs, "", errors.New(
			`admission webhook "vsignoff-v1alpha1.greenlight.dev" denied the request: mallory is not an approver of department legal`)),
			sentence: "mallory is not an approver of department legal", isDenial: true},
		{name: "admission policy", err: apierrors.NewForbidden(signOffs, "x", errors.New(
			`ValidatingAdmissionPolicy 'signoff-identity' with binding 'signoff-identity' denied request: spec.reviewer must be you`)),
			sentence: "spec.reviewer must be you", isDenial: true},
		{name: "schema validation of a whole object", err: apierrors.NewInvalid(schema.GroupKind{Group: "greenlight.dev", Kind: "SignOff"}, "",
			field.ErrorList{field.Invalid(field.NewPath("spec"), "object", "comment is required when decision is RequestChanges or Reject")}),
			sentence: "spec: comment is required when decision is RequestChanges or Reject", isDenial: true},
		{name: "schema validation with a name made from a bad value", err: apierrors.NewInvalid(
			schema.GroupKind{Group: "greenlight.dev", Kind: "SignOff"}, "", field.ErrorList{
				field.Invalid(field.NewPath("metadata", "generateName"), "launch-Legal-", "a lowercase RFC 1123 subdomain must ..."),
				field.Invalid(field.NewPath("spec", "department"), "Legal", "must be a DNS label"),
			}),
			sentence: `spec.department: Invalid value: "Legal": must be a DNS label`, isDenial: true},
		{name: "RBAC", err: apierrors.NewForbidden(signOffs, "", errors.New(`User "vic" cannot create resource "signoffs"`))},
		{name: "not an API error", err: errors.New("connection refused")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			sentence, isDenial := denial(tc.err)
			g.Expect(isDenial).To(Equal(tc.isDenial))
			g.Expect(sentence).To(Equal(tc.sentence))
		})
	}
}

func TestOutcomeLine(t *testing.T) {
	counted := func(status metav1.ConditionStatus, reason, message string) []metav1.Condition {
		return []metav1.Condition{{Type: greenlightv1alpha1.ConditionCounted, Status: status, Reason: reason, Message: message}}
	}
	signOff := func(decision greenlightv1alpha1.Decision, conditions []metav1.Condition) *greenlightv1alpha1.SignOff {
		return &greenlightv1alpha1.SignOff{ObjectMeta: metav1.ObjectMeta{Name: "launch-teaser-legal-abcde"},
			Spec:   greenlightv1alpha1.SignOffSpec{Post: "launch-teaser", Department: "legal", Decision: decision, Reviewer: "carol"},
			Status: greenlightv1alpha1.SignOffStatus{Conditions: conditions}}
	}
	approvedPost := failedPost()
	approvedPost.Status.Phase, approvedPost.Status.Channels = greenlightv1alpha1.PostScheduled, nil
	rejectedPost := reviewPost()
	rejectedPost.Status.Phase, rejectedPost.Status.WaitingOn = greenlightv1alpha1.PostRejected, ""
	rejectedPost.Status.Departments[3].State = greenlightv1alpha1.DepartmentRejected

	for _, tc := range []struct {
		name    string
		signOff *greenlightv1alpha1.SignOff
		post    *greenlightv1alpha1.ContentPost
		want    string
	}{
		{name: "the last approval", signOff: signOff(greenlightv1alpha1.DecisionApprove, counted(metav1.ConditionTrue, "Counted", "")),
			post: approvedPost,
			want: "Approved launch-teaser for legal (SignOff launch-teaser-legal-abcde): it counts; launch-teaser is Scheduled: " +
				"every department approved."},
		{name: "the post has not caught up", signOff: signOff(greenlightv1alpha1.DecisionApprove, counted(metav1.ConditionTrue, "Counted", "")),
			post: reviewPost(),
			want: "Approved launch-teaser for legal (SignOff launch-teaser-legal-abcde): it counts; the post's status does not show it yet " +
				"(launch-teaser is InReview, stage compliance, waiting on legal (due in 6h))."},
		{name: "a rejection", signOff: signOff(greenlightv1alpha1.DecisionReject, counted(metav1.ConditionTrue, "Counted", "")),
			post: rejectedPost,
			want: "Rejected launch-teaser for legal (SignOff launch-teaser-legal-abcde): it counts; launch-teaser is Rejected."},
		{name: "does not count", signOff: signOff(greenlightv1alpha1.DecisionApprove,
			counted(metav1.ConditionFalse, "StaleRevision", "ContentPost launch-teaser changed since carol reviewed it.")),
			post: reviewPost(),
			want: "Approved launch-teaser for legal (SignOff launch-teaser-legal-abcde): it does not count (StaleRevision: ContentPost " +
				"launch-teaser changed since carol reviewed it); launch-teaser is InReview, stage compliance, waiting on legal (due in 6h)."},
		{name: "not judged", signOff: signOff(greenlightv1alpha1.DecisionRequestChanges, nil), post: reviewPost(),
			want: "Requested changes to launch-teaser for legal (SignOff launch-teaser-legal-abcde): Greenlight has not judged it yet; " +
				"launch-teaser is InReview, stage compliance, waiting on legal (due in 6h)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(outcome(tc.signOff, tc.post, fixedNow)).To(Equal(tc.want))
		})
	}
}

func TestTimesAreShownAsPeopleSayThem(t *testing.T) {
	g := NewWithT(t)
	g.Expect(relative(fixedNow.Add(47*time.Hour+59*time.Minute), fixedNow)).To(Equal("in 47h"))
	g.Expect(relative(fixedNow.Add(-3*time.Minute-10*time.Second), fixedNow)).To(Equal("3m10s ago"))
	g.Expect(relative(fixedNow, fixedNow)).To(Equal("now"))
	g.Expect(timeLeft(fixedNow.Add(5*time.Hour+30*time.Minute), fixedNow)).To(Equal("5h30m left"))
	g.Expect(timeLeft(fixedNow.Add(-5*time.Minute), fixedNow)).To(Equal("overdue by 5m"))
	g.Expect(listed("marketing,public-relations")).To(Equal("marketing, public-relations"))
	g.Expect(shortRevision(digestA)).To(Equal("3f2a9c1b0e12"))
	g.Expect(shortRevision("")).To(Equal(""))
}
