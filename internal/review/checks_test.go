package review

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

var now = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// testPost is dana's post, created by dana, edited by erin.
func testPost() *greenlightv1alpha1.ContentPost {
	return &greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: "launch", UID: "post-uid", Annotations: map[string]string{
			greenlightv1alpha1.AnnotationCreatedBy: "dana",
			greenlightv1alpha1.AnnotationEditors:   `["erin"]`,
		}},
		Spec: greenlightv1alpha1.ContentPostSpec{Author: "dana", Body: "Our spring line is here",
			Channels: []greenlightv1alpha1.Channel{{Name: "mastodon"}}},
	}
}

// legal is a required department approved by group legal and user carol.
func legal() policy.Department {
	return policy.Department{Policy: "acme", PolicyUID: "policy-uid", Stage: "compliance", Required: true,
		Department: greenlightv1alpha1.Department{Name: "legal", MinApprovals: 1,
			Approvers: greenlightv1alpha1.Approvers{Users: []string{"carol"}, Groups: []string{"legal"}}}}
}

// honest is carol's approval of the current revision, stamped as admission stamps it.
func honest(post *greenlightv1alpha1.ContentPost, d policy.Department) *greenlightv1alpha1.SignOff {
	return &greenlightv1alpha1.SignOff{
		ObjectMeta: metav1.ObjectMeta{Name: "launch-legal", CreationTimestamp: metav1.NewTime(now),
			Labels: map[string]string{greenlightv1alpha1.LabelPostUID: string(post.UID), greenlightv1alpha1.LabelPolicyUID: d.PolicyUID}},
		Spec: greenlightv1alpha1.SignOffSpec{Post: post.Name, Department: d.Name, Decision: greenlightv1alpha1.DecisionApprove,
			Reviewer: "carol", Approver: "group:legal", Revision: revision.Covered(&post.Spec, d.Covers)},
	}
}

func TestEachCheck(t *testing.T) {
	deleting := metav1.NewTime(now)
	cases := []struct {
		name   string
		check  Check
		edit   func(*CheckInput)
		reason string // "" when the check passes
		says   string
	}{
		{"an honest sign-off is not withdrawn", NotWithdrawn, nil, "", ""},
		{"a sign-off being deleted", NotWithdrawn, func(in *CheckInput) { in.SignOff.DeletionTimestamp = &deleting },
			ReasonWithdrawn, "being deleted"},
		{"a reviewer", HasReviewer, nil, "", ""},
		{"no reviewer", HasReviewer, func(in *CheckInput) { in.SignOff.Spec.Reviewer = "" }, ReasonNoReviewer, "spec.reviewer is empty"},
		{"bound to the post", BoundToPost, nil, "", ""},
		{"bound to a deleted post of the same name", BoundToPost, func(in *CheckInput) { in.SignOff.Labels[greenlightv1alpha1.LabelPostUID] = "old" },
			ReasonOtherPost, `label greenlight.dev/post-uid is "old" but ContentPost launch has UID post-uid`},
		{"no post binding at all", BoundToPost, func(in *CheckInput) { delete(in.SignOff.Labels, greenlightv1alpha1.LabelPostUID) },
			ReasonOtherPost, `is ""`},
		{"bound to the policy", BoundToPolicy, nil, "", ""},
		{"bound to another policy's department of the same name", BoundToPolicy,
			func(in *CheckInput) { in.SignOff.Labels[greenlightv1alpha1.LabelPolicyUID] = "other" }, ReasonOtherPolicy, "belongs to ApprovalPolicy acme"},
		{"admitted through a listed group", ApproverListed, nil, "", ""},
		{"admitted through a listed user", ApproverListed, func(in *CheckInput) { in.SignOff.Spec.Approver = "user:carol" }, "", ""},
		{"no approver entry recorded (webhooks were down)", ApproverListed, func(in *CheckInput) { in.SignOff.Spec.Approver = "" },
			ReasonNotAnApprover, "spec.approver is empty"},
		// Finding 13: removing a user from approvers voids their sign-offs, even in a department
		// that also lists groups.
		{"a user entry no longer listed", ApproverListed, func(in *CheckInput) {
			in.SignOff.Spec.Approver = "user:carol"
			in.Department.Approvers.Users = nil
		}, ReasonNotAnApprover, "carol signed off as user:carol, which is not an approver of department legal (policy acme allows groups legal)"},
		{"a group entry no longer listed", ApproverListed, func(in *CheckInput) { in.Department.Approvers.Groups = []string{"compliance"} },
			ReasonNotAnApprover, "carol signed off as group:legal, which is not an approver"},
		{"another user's entry", ApproverListed, func(in *CheckInput) {
			in.SignOff.Spec.Approver = "user:carol"
			in.SignOff.Spec.Reviewer = "mallory"
		}, ReasonNotAnApprover, "mallory signed off as user:carol"},
		{"a current revision", CurrentRevision, nil, "", ""},
		{"a stale revision", CurrentRevision, func(in *CheckInput) { in.Covered = "sha256:new" },
			ReasonStaleRevision, "ContentPost launch changed since carol reviewed it: department legal now reviews revision sha256:new"},
		{"someone else's approval", NotSelfApproval, nil, "", ""},
		{"the author's approval", NotSelfApproval, func(in *CheckInput) { in.SignOff.Spec.Reviewer = "dana"; in.Post.Annotations = nil },
			ReasonSelfApproval, "dana cannot approve ContentPost launch because they are its author (spec.author)"},
		{"the creator's approval", NotSelfApproval, func(in *CheckInput) { in.SignOff.Spec.Reviewer = "dana"; in.Post.Spec.Author = "" },
			ReasonSelfApproval, "because they created it (greenlight.dev/created-by)"},
		// Finding 6: whoever changed the spec does not approve it.
		{"an editor's approval", NotSelfApproval, func(in *CheckInput) { in.SignOff.Spec.Reviewer = "erin" },
			ReasonSelfApproval, "erin cannot approve ContentPost launch because they edited its spec (greenlight.dev/editors)"},
		{"an unreadable editors record fails closed", NotSelfApproval, func(in *CheckInput) {
			in.Post.Annotations[greenlightv1alpha1.AnnotationEditors] = "erin"
		}, ReasonSelfApproval, "may have edited it"},
		{"an editor may reject", NotSelfApproval, func(in *CheckInput) {
			in.SignOff.Spec.Reviewer, in.SignOff.Spec.Decision = "erin", greenlightv1alpha1.DecisionReject
		}, "", ""},
		{"an editor may approve when the policy allows it", NotSelfApproval, func(in *CheckInput) {
			in.SignOff.Spec.Reviewer, in.Department.AllowSelfApproval = "erin", true
		}, "", ""},
		{"no deadline", InTime, nil, "", ""},
		{"before the deadline", InTime, func(in *CheckInput) { in.Deadline = &metav1.Time{Time: now.Add(time.Second)} }, "", ""},
		// Finding 7: a sign-off at or after the deadline never counts, whatever the controller wrote.
		{"at the deadline", InTime, func(in *CheckInput) { in.Deadline = &metav1.Time{Time: now} },
			ReasonDeadlineMissed, "department legal's deadline for ContentPost launch was 2026-11-23T09:00:00Z, and this sign-off came at 2026-11-23T09:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			post, d := testPost(), legal()
			in := CheckInput{Post: post, Department: d, Covered: revision.Covered(&post.Spec, d.Covers), CreatedAt: now}
			in.SignOff = honest(post, d)
			if tc.edit != nil {
				tc.edit(&in)
			}
			reason, message, failed := tc.check(in)
			g.Expect(failed).To(Equal(tc.reason != ""))
			g.Expect(reason).To(Equal(tc.reason))
			g.Expect(message).To(ContainSubstring(tc.says))
		})
	}
}

func TestTheChainStopsAtTheFirstFailure(t *testing.T) {
	g := NewWithT(t)
	post, d := testPost(), legal()
	s := honest(post, d)
	s.Spec.Reviewer, s.Spec.Revision = "", "sha256:old"
	reason, _, failed := Run(CheckInput{SignOff: s, Post: post, Department: d, Covered: revision.Covered(&post.Spec, d.Covers), CreatedAt: now})
	g.Expect(failed).To(BeTrue())
	g.Expect(reason).To(Equal(ReasonNoReviewer), "HasReviewer comes before CurrentRevision")
}

func TestApproverEntries(t *testing.T) {
	g := NewWithT(t)
	approvers := greenlightv1alpha1.Approvers{Users: []string{"carol"}, Groups: []string{"legal", "counsel"}}
	g.Expect(ApproverEntry(approvers, "carol", []string{"legal"})).To(Equal("user:carol"), "the user entry first")
	g.Expect(ApproverEntry(approvers, "lee", []string{"interns", "counsel", "legal"})).To(Equal("group:legal"), "then the first listed group")
	g.Expect(ApproverEntry(approvers, "mallory", []string{"interns"})).To(BeEmpty())
	g.Expect(Holds("user:carol", "carol", nil)).To(BeTrue())
	g.Expect(Holds("user:carol", "mallory", []string{"carol"})).To(BeFalse())
	g.Expect(Holds("group:legal", "mallory", []string{"legal"})).To(BeTrue())
	g.Expect(Holds("legal", "legal", []string{"legal"})).To(BeFalse(), "an entry without a prefix is held by nobody")
	g.Expect(Lists(approvers, "group:counsel")).To(BeTrue())
	g.Expect(Lists(approvers, "user:legal")).To(BeFalse())
}
