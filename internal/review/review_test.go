package review

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

func requirements(departments ...policy.Department) *policy.Requirements {
	return &policy.Requirements{Policies: []string{"acme"}, Departments: departments}
}

// signOffBy is an honest sign-off by reviewer (admitted through group legal) made at minute.
func signOffBy(post *greenlightv1alpha1.ContentPost, reviewer string, decision greenlightv1alpha1.Decision, minute int) greenlightv1alpha1.SignOff {
	s := honest(post, legal())
	s.Name = fmt.Sprintf("%s-%s-%d", reviewer, decision, minute)
	s.Spec.Reviewer, s.Spec.Decision, s.Spec.Comment = reviewer, decision, "because"
	s.CreationTimestamp = metav1.NewTime(now.Add(time.Duration(minute) * time.Minute))
	return *s
}

func TestOneVoicePerReviewer(t *testing.T) {
	approve, changes, reject := greenlightv1alpha1.DecisionApprove, greenlightv1alpha1.DecisionRequestChanges, greenlightv1alpha1.DecisionReject
	cases := []struct {
		name       string
		signOffs   [][2]any // reviewer, decision
		minimum    int32
		state      greenlightv1alpha1.DepartmentState
		duplicates []string
	}{
		{"two approvals by one reviewer are one", [][2]any{{"carol", approve}, {"carol", approve}}, 2,
			greenlightv1alpha1.DepartmentPending, []string{"carol-Approve-1"}},
		{"two reviewers make a quorum of two", [][2]any{{"carol", approve}, {"lee", approve}}, 2, greenlightv1alpha1.DepartmentApproved, nil},
		{"a reviewer's most restrictive decision stands, whatever its order", [][2]any{{"carol", reject}, {"carol", approve}}, 1,
			greenlightv1alpha1.DepartmentRejected, []string{"carol-Approve-1"}},
		{"a later rejection outweighs the same reviewer's approval", [][2]any{{"carol", approve}, {"carol", reject}}, 1,
			greenlightv1alpha1.DepartmentRejected, []string{"carol-Approve-0"}},
		{"changes requested outweigh an approval", [][2]any{{"carol", approve}, {"carol", changes}}, 1,
			greenlightv1alpha1.DepartmentChangesRequested, []string{"carol-Approve-0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			post, d := testPost(), legal()
			d.MinApprovals = tc.minimum
			var signOffs []greenlightv1alpha1.SignOff
			for i, s := range tc.signOffs {
				signOffs = append(signOffs, signOffBy(post, s[0].(string), s[1].(greenlightv1alpha1.Decision), i))
			}
			res := Evaluate(post, Inputs{Now: now.Add(time.Hour), Requirements: requirements(d), SignOffs: signOffs})
			g.Expect(res.Departments[0].State).To(Equal(tc.state))
			var duplicates []string
			for name, v := range res.Verdicts {
				if v.Reason == ReasonDuplicateReviewer {
					duplicates = append(duplicates, name)
				}
			}
			g.Expect(duplicates).To(ConsistOf(tc.duplicates))
		})
	}
}

func TestOtherVoice(t *testing.T) {
	g := NewWithT(t)
	post := testPost()
	existing := signOffBy(post, "carol", greenlightv1alpha1.DecisionApprove, 0)
	candidate := signOffBy(post, "carol", greenlightv1alpha1.DecisionReject, 1)
	candidate.Name = ""
	g.Expect(OtherVoice([]greenlightv1alpha1.SignOff{existing}, &candidate)).To(Equal(existing.Name))

	older := existing.DeepCopy()
	older.Spec.Revision = "sha256:older"
	g.Expect(OtherVoice([]greenlightv1alpha1.SignOff{*older}, &candidate)).To(BeEmpty(), "a sign-off on an older revision stands in nobody's way")
	withdrawn := existing.DeepCopy()
	withdrawn.DeletionTimestamp = &metav1.Time{Time: now}
	g.Expect(OtherVoice([]greenlightv1alpha1.SignOff{*withdrawn}, &candidate)).To(BeEmpty(), "a withdrawn sign-off stands in nobody's way")
	lee := signOffBy(post, "lee", greenlightv1alpha1.DecisionApprove, 0)
	g.Expect(OtherVoice([]greenlightv1alpha1.SignOff{lee}, &candidate)).To(BeEmpty())
}

// Finding 7: after the deadline passes, and before any reconcile writes Expired, an approval
// used to count. Now only what was decided in time counts, and the controller's clock is not
// what decides: the sign-off's creation time is.
func TestOnlySignOffsMadeBeforeTheDeadlineCount(t *testing.T) {
	window := &metav1.Duration{Duration: time.Hour}
	requested := metav1.NewTime(now)
	cases := []struct {
		name     string
		onMissed greenlightv1alpha1.MissedDeadlineAction
		minute   int
		state    greenlightv1alpha1.DepartmentState
		reason   string
	}{
		{"made in time, seen late", greenlightv1alpha1.MissedDeadlineExpire, 59, greenlightv1alpha1.DepartmentApproved, ReasonCounted},
		{"made at the deadline", greenlightv1alpha1.MissedDeadlineExpire, 60, greenlightv1alpha1.DepartmentExpired, ReasonDeadlineMissed},
		{"made after the deadline", greenlightv1alpha1.MissedDeadlineExpire, 61, greenlightv1alpha1.DepartmentExpired, ReasonDeadlineMissed},
		{"late, but the policy only notifies", greenlightv1alpha1.MissedDeadlineNotify, 61, greenlightv1alpha1.DepartmentApproved, ReasonCounted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			post, d := testPost(), legal()
			d.ReviewWindow, d.Deadlines = window, &greenlightv1alpha1.Deadlines{OnMissed: tc.onMissed}
			// The last reconcile, before the deadline, left legal Pending.
			post.Status.Departments = []greenlightv1alpha1.DepartmentStatus{{Name: "legal", State: greenlightv1alpha1.DepartmentPending,
				Revision: honest(post, d).Spec.Revision, RequestedAt: &requested, Deadline: &metav1.Time{Time: now.Add(time.Hour)}}}
			s := signOffBy(post, "carol", greenlightv1alpha1.DecisionApprove, tc.minute)
			res := Evaluate(post, Inputs{Now: now.Add(2 * time.Hour), Requirements: requirements(d), SignOffs: []greenlightv1alpha1.SignOff{s}})
			g.Expect(res.Departments[0].State).To(Equal(tc.state))
			g.Expect(res.Verdicts[s.Name].Reason).To(Equal(tc.reason))
		})
	}
}

func TestASignOffBeingAdmittedIsMadeNow(t *testing.T) {
	g := NewWithT(t)
	post, d := testPost(), legal()
	d.ReviewWindow = &metav1.Duration{Duration: time.Hour}
	requested := metav1.NewTime(now)
	post.Status.Departments = []greenlightv1alpha1.DepartmentStatus{{Name: "legal", State: greenlightv1alpha1.DepartmentPending,
		Revision: honest(post, d).Spec.Revision, RequestedAt: &requested}}
	candidate := *honest(post, d)
	candidate.CreationTimestamp = metav1.Time{}
	res := Evaluate(post, Inputs{Now: now.Add(time.Hour), Requirements: requirements(d), SignOffs: []greenlightv1alpha1.SignOff{candidate}})
	g.Expect(res.Verdicts[candidate.Name].Reason).To(Equal(ReasonDeadlineMissed), "admission at the deadline is too late")
	res = Evaluate(post, Inputs{Now: now.Add(59 * time.Minute), Requirements: requirements(d), SignOffs: []greenlightv1alpha1.SignOff{candidate}})
	g.Expect(res.Verdicts[candidate.Name].Counted).To(BeTrue())
}

// Finding 8: toggling draft cleared Expired, with a fresh review window.
func TestAnExpiredDepartmentStaysExpiredThroughADraftToggle(t *testing.T) {
	g := NewWithT(t)
	post, d := testPost(), legal()
	d.ReviewWindow = &metav1.Duration{Duration: time.Hour}
	requested := metav1.NewTime(now)
	deadline := metav1.NewTime(now.Add(time.Hour))
	covered := honest(post, d).Spec.Revision
	post.Status.Departments = []greenlightv1alpha1.DepartmentStatus{{Name: "legal", State: greenlightv1alpha1.DepartmentExpired,
		Revision: covered, RequestedAt: &requested, Deadline: &deadline, Message: "missed its deadline"}}

	post.Spec.Draft = true
	res := Evaluate(post, Inputs{Now: now.Add(3 * time.Hour), Requirements: requirements(d)})
	g.Expect(res.Departments[0].State).To(Equal(greenlightv1alpha1.DepartmentExpired))
	g.Expect(res.Departments[0].Deadline.Time).To(BeTemporally("==", deadline.Time))
	post.Status.Departments = res.Departments

	post.Spec.Draft = false
	res = Evaluate(post, Inputs{Now: now.Add(4 * time.Hour), Requirements: requirements(d)})
	g.Expect(res.Departments[0].State).To(Equal(greenlightv1alpha1.DepartmentExpired), "resubmitting does not reopen review")
	g.Expect(res.Departments[0].RequestedAt.Time).To(BeTemporally("==", now), "nor give a fresh review window")

	post.Spec.Body += " (revised)"
	res = Evaluate(post, Inputs{Now: now.Add(4 * time.Hour), Requirements: requirements(d)})
	g.Expect(res.Departments[0].State).To(Equal(greenlightv1alpha1.DepartmentPending), "a new revision does")
}

// Finding 11: verdicts were computed once per SignOff, each computation walking all of them.
// Evaluate runs the check chain once per SignOff, so a post's reconcile is linear in its
// sign-offs (plus a sort); see BenchmarkEvaluate for the figures.
func TestEvaluateChecksEachSignOffOnce(t *testing.T) {
	g := NewWithT(t)
	post, d := testPost(), legal()
	var signOffs []greenlightv1alpha1.SignOff
	for i := range 10000 {
		signOffs = append(signOffs, signOffBy(post, fmt.Sprintf("reviewer-%d", i%100), greenlightv1alpha1.DecisionApprove, i))
	}
	calls := 0
	saved := Checks
	Checks = append([]Check{func(CheckInput) (string, string, bool) { calls++; return "", "", false }}, saved...)
	defer func() { Checks = saved }()
	res := Evaluate(post, Inputs{Now: now, Requirements: requirements(d), SignOffs: signOffs})
	g.Expect(calls).To(Equal(len(signOffs)))
	g.Expect(res.Verdicts).To(HaveLen(len(signOffs)))
	g.Expect(res.Departments[0].ApprovedBy).To(HaveLen(100), "one voice per reviewer")
}

func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("%d sign-offs", n), func(b *testing.B) {
			post, d := testPost(), legal()
			var signOffs []greenlightv1alpha1.SignOff
			for i := range n {
				signOffs = append(signOffs, signOffBy(post, fmt.Sprintf("reviewer-%d", i), greenlightv1alpha1.DecisionApprove, i))
			}
			b.ResetTimer()
			for b.Loop() {
				Evaluate(post, Inputs{Now: now, Requirements: requirements(d), SignOffs: signOffs})
			}
		})
	}
}

// twoStages is marketing (stage brand, covering everything) then legal (stage compliance,
// covering body and media, with a one-hour review window).
func twoStages() *policy.Requirements {
	marketing := legal()
	marketing.Name, marketing.Stage, marketing.StageIndex = "marketing", "brand", 0
	marketing.Approvers = greenlightv1alpha1.Approvers{Groups: []string{"legal"}}
	compliance := legal()
	compliance.StageIndex, compliance.ReviewWindow = 1, &metav1.Duration{Duration: time.Hour}
	compliance.Covers = []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverBody, greenlightv1alpha1.CoverMedia}
	return requirements(marketing, compliance)
}

// Review found that an expiry was cleared whenever the department went back to Waiting: an
// edit the department does not cover that reopens the earlier stage, or a reviewer of the
// earlier stage requesting changes and withdrawing, gave it a fresh review window, and a sign-off
// made after the missed deadline counted.
func TestAnExpiryOutlastsAReopenedEarlierStage(t *testing.T) {
	approve, changes := greenlightv1alpha1.DecisionApprove, greenlightv1alpha1.DecisionRequestChanges
	reopen := map[string]func(post *greenlightv1alpha1.ContentPost) []greenlightv1alpha1.SignOff{
		"a channel added (not covered by legal)": func(post *greenlightv1alpha1.ContentPost) []greenlightv1alpha1.SignOff {
			post.Spec.Channels = append(post.Spec.Channels, greenlightv1alpha1.Channel{Name: "linkedin"})
			return nil
		},
		"marketing requests changes": func(post *greenlightv1alpha1.ContentPost) []greenlightv1alpha1.SignOff {
			return []greenlightv1alpha1.SignOff{stageSignOff(post, "marketing", "bob", changes, 130)}
		},
	}
	for name, edit := range reopen {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			post, req := testPost(), twoStages()
			step := func(minute int, signOffs ...greenlightv1alpha1.SignOff) {
				res := Evaluate(post, Inputs{Now: now.Add(time.Duration(minute) * time.Minute), Requirements: req, SignOffs: signOffs})
				post.Status.Departments = res.Departments
			}
			step(0, stageSignOff(post, "marketing", "alice", approve, 0))
			step(120, stageSignOff(post, "marketing", "alice", approve, 0))
			g.Expect(post.Status.Department("legal").State).To(Equal(greenlightv1alpha1.DepartmentExpired))

			extra := edit(post)
			step(140, append(extra, stageSignOff(post, "marketing", "alice", approve, 0))...)
			g.Expect(post.Status.Department("legal").State).To(Equal(greenlightv1alpha1.DepartmentExpired))

			// Marketing approves again; carol's late approval of the expired revision does not count.
			late := stageSignOff(post, "legal", "carol", approve, 150)
			res := Evaluate(post, Inputs{Now: now.Add(151 * time.Minute), Requirements: req,
				SignOffs: []greenlightv1alpha1.SignOff{stageSignOff(post, "marketing", "dave", approve, 145), late}})
			g.Expect(res.Departments[1].State).To(Equal(greenlightv1alpha1.DepartmentExpired))
			g.Expect(res.Verdicts[late.Name].Counted).To(BeFalse())
		})
	}
}

// Review found that a draft toggle before the deadline gave the department a fresh review window.
func TestADraftToggleKeepsTheReviewClock(t *testing.T) {
	g := NewWithT(t)
	post, req := testPost(), requirements(twoStages().Departments[1])
	req.Departments[0].StageIndex = 0
	res := Evaluate(post, Inputs{Now: now, Requirements: req})
	post.Status.Departments = res.Departments
	g.Expect(res.Departments[0].Deadline.Time).To(BeTemporally("==", now.Add(time.Hour)))

	post.Spec.Draft = true
	post.Status.Departments = Evaluate(post, Inputs{Now: now.Add(50 * time.Minute), Requirements: req}).Departments
	post.Spec.Draft = false
	res = Evaluate(post, Inputs{Now: now.Add(70 * time.Minute), Requirements: req})
	g.Expect(res.Departments[0].State).To(Equal(greenlightv1alpha1.DepartmentExpired), "the deadline did not move")
}

// stageSignOff is a sign-off by reviewer for department of twoStages, made at minute.
func stageSignOff(post *greenlightv1alpha1.ContentPost, department, reviewer string, decision greenlightv1alpha1.Decision,
	minute int) greenlightv1alpha1.SignOff {
	s := signOffBy(post, reviewer, decision, minute)
	s.Name = department + "-" + s.Name
	s.Spec.Department = department
	for _, d := range twoStages().Departments {
		if d.Name == department {
			s.Spec.Revision = revision.Covered(&post.Spec, d.Covers)
		}
	}
	return s
}
