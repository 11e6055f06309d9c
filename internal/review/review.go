// Package review decides whether each SignOff counts and where each department's review of a
// post stands. It is the one place these rules live: the SignOff admission webhook calls it to
// refuse, at apply time and with the same message, a sign-off that would not count, and the post
// reconciler calls it to count. Admission is the early, friendly refusal; the reconciler, which
// re-runs every check on every sign-off, is the authority, so a stale read at admission can never
// make a sign-off count.
//
// Evaluate never reads the clock or the API: given the same post (its spec, and its status as
// the memory of earlier reconciles), requirements, sign-offs and time, it returns the same result.
package review

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

// Inputs is everything a post's review is computed from, besides the post itself.
type Inputs struct {
	// Now is read once, from the caller's injected clock.
	Now time.Time
	// Requirements are what the policies that apply to the post require (see policy.Resolve).
	Requirements *policy.Requirements
	// SignOffs are the SignOffs whose spec.post names the post. A SignOff without a
	// creationTimestamp (one being admitted) is taken as made at Now.
	SignOffs []greenlightv1alpha1.SignOff
}

// Verdict says whether one SignOff counts towards its department and, if not, why.
type Verdict struct {
	Counted bool
	Reason  string
	Message string
}

// Result is every department's status and the verdict on each SignOff, by name.
type Result struct {
	// Departments are in requirement order.
	Departments []greenlightv1alpha1.DepartmentStatus
	Verdicts    map[string]Verdict
	// NotStarted maps each department whose stage has not started to the earlier stage that
	// must be approved first, as "<stage> (waiting on <department>)".
	NotStarted map[string]string
	Deadlines  DeadlineOutcome
}

// Evaluate computes the review of a post.
func Evaluate(post *greenlightv1alpha1.ContentPost, in Inputs) Result {
	req := in.Requirements
	res := Result{Verdicts: map[string]Verdict{}, NotStarted: map[string]string{}}
	byDepartment := map[string][]greenlightv1alpha1.SignOff{}
	for _, s := range in.SignOffs {
		byDepartment[s.Spec.Department] = append(byDepartment[s.Spec.Department], s)
	}
	for name, signOffs := range byDepartment {
		if !slices.ContainsFunc(req.Departments, func(d policy.Department) bool { return d.Name == name }) {
			for _, s := range signOffs {
				res.Verdicts[s.Name] = Verdict{Reason: ReasonUnknownDepartment, Message: fmt.Sprintf(
					"ContentPost %s does not need department %s: its policies (%s) define %s",
					post.Name, name, strings.Join(req.Policies, ", "), departmentNames(req))}
			}
		}
	}

	editors := &editorRecord{}
	editors.users, editors.err = Editors(post)
	departments := make([]greenlightv1alpha1.DepartmentStatus, 0, len(req.Departments))
	for i, d := range req.Departments {
		departments = append(departments, evaluateDepartment(post, in, d, unfinishedStage(req.Departments[:i], departments, d),
			byDepartment[d.Name], editors, &res))
	}
	if post.Spec.Draft {
		for _, s := range in.SignOffs {
			res.Verdicts[s.Name] = Verdict{Reason: ReasonPostIsDraft, Message: fmt.Sprintf(
				"ContentPost %s is a draft: it can be reviewed once its author submits it (spec.draft: false)", post.Name)}
		}
	}
	res.Deadlines = applyDeadlines(post, req.Departments, departments, in.Now)
	for _, name := range res.Deadlines.Expired {
		for _, s := range byDepartment[name] {
			if res.Verdicts[s.Name].Counted {
				res.Verdicts[s.Name] = Verdict{Reason: ReasonDeadlineMissed, Message: fmt.Sprintf(
					"department %s missed its deadline for ContentPost %s before this sign-off could count", name, post.Name)}
			}
		}
	}
	res.Departments = departments
	return res
}

// evaluateDepartment computes one department's status and the verdicts on its sign-offs.
// notStarted names the earlier stage that must be approved first ("" when the department's
// stage has started).
func evaluateDepartment(post *greenlightv1alpha1.ContentPost, in Inputs, d policy.Department, notStarted string,
	signOffs []greenlightv1alpha1.SignOff, editors *editorRecord, res *Result) greenlightv1alpha1.DepartmentStatus {
	covered := revision.Covered(&post.Spec, d.Covers)
	st := greenlightv1alpha1.DepartmentStatus{
		Name: d.Name, Stage: d.Stage, Revision: covered, MinApprovals: max(d.MinApprovals, 1), Message: d.RequiredMessage,
	}
	if !d.Required {
		st.State = greenlightv1alpha1.DepartmentNotRequired
		for _, s := range signOffs {
			res.Verdicts[s.Name] = Verdict{Reason: ReasonDepartmentNotRequired, Message: fmt.Sprintf(
				"ContentPost %s does not need department %s now: the department's when expression is false for it", post.Name, d.Name)}
		}
		return st
	}
	if notStarted != "" {
		res.NotStarted[d.Name] = notStarted
	}

	prev := post.Status.Department(d.Name)
	st.RequestedAt = requestedAt(prev, covered, notStarted == "" && !post.Spec.Draft, in.Now)
	if post.Spec.Draft && (prev == nil || prev.Revision != covered) {
		st.RequestedAt = nil // a draft starts no review
	}
	check := CheckInput{Post: post, Department: d, Covered: covered, editors: editors}
	if onMissed(d) == greenlightv1alpha1.MissedDeadlineExpire {
		check.Deadline = departmentDeadline(d, st.RequestedAt, post)
	}
	decision := decide(check, signOffs, in.Now, res.Verdicts)
	st.State, st.ApprovedBy, st.DecidedAt, st.Comment = decision.state, decision.approvedBy, decision.decidedAt, decision.comment

	if stillExpired(prev, d, covered, post) {
		// An expiry stands until a new revision of the fields the department covers or a later
		// publishAt: neither a reopened earlier stage, a draft toggle nor a spell of being blocked
		// clears it. applyDeadlines confirms it and sets aside whatever its sign-offs decided.
		st.State, st.ApprovedBy, st.DecidedAt, st.Comment = greenlightv1alpha1.DepartmentExpired, nil, nil, ""
		st.RequestedAt = prev.RequestedAt
		return st
	}

	// A department whose stage has not started keeps a decision it already had for the same
	// covered revision (an edit that reopens an earlier stage does not void a later stage's
	// current approval); otherwise it waits, and what its sign-offs decided is set aside.
	kept := prev != nil && prev.State == st.State && prev.Revision == covered && st.State != greenlightv1alpha1.DepartmentPending
	if (notStarted != "" && !kept) || post.Spec.Draft {
		for _, s := range signOffs {
			if res.Verdicts[s.Name].Counted {
				res.Verdicts[s.Name] = Verdict{Reason: ReasonStageNotStarted, Message: fmt.Sprintf(
					"department %s reviews in stage %s, which has not started: stage %s must be approved first", d.Name, d.Stage, notStarted)}
			}
		}
		st.State, st.ApprovedBy, st.DecidedAt, st.Comment = greenlightv1alpha1.DepartmentWaiting, nil, nil, ""
		if !post.Spec.Draft {
			st.RequestedAt = nil
		}
		// A draft keeps the review clock of an unchanged revision running: toggling draft neither
		// restarts a review window nor escapes a deadline.
	}
	return st
}

// stillExpired reports whether the department expired before for the same covered revision and
// the same deadline.
func stillExpired(prev *greenlightv1alpha1.DepartmentStatus, d policy.Department, covered string,
	post *greenlightv1alpha1.ContentPost) bool {
	if !expiredBefore(prev, covered) {
		return false
	}
	deadline := departmentDeadline(d, prev.RequestedAt, post)
	return deadline != nil && prev.Deadline.Equal(deadline)
}

// requestedAt is when the department's review of its current covered revision began: kept from
// the previous status while the same revision stays under review (or in a draft, which keeps the
// clock running), now when its stage starts or its covered fields change, and nil while it waits.
func requestedAt(prev *greenlightv1alpha1.DepartmentStatus, covered string, started bool, now time.Time) *metav1.Time {
	if prev != nil && prev.RequestedAt != nil && prev.Revision == covered && prev.State != greenlightv1alpha1.DepartmentNotRequired {
		return prev.RequestedAt
	}
	if !started {
		return nil
	}
	t := metav1.NewTime(now.Truncate(time.Second))
	return &t
}

func expiredBefore(prev *greenlightv1alpha1.DepartmentStatus, covered string) bool {
	return prev != nil && prev.State == greenlightv1alpha1.DepartmentExpired && prev.Revision == covered
}

// departmentDecision is what a department's current sign-offs decide.
type departmentDecision struct {
	state      greenlightv1alpha1.DepartmentState
	approvedBy []string
	decidedAt  *metav1.Time
	comment    string
}

// decide runs the check chain on a required department's sign-offs and tallies the ones that
// pass. Each reviewer has one voice: their most restrictive current decision (Reject, then
// RequestChanges, then Approve), the others being duplicates. A current Reject outweighs
// everything, then a RequestChanges; else the department is approved once minApprovals distinct
// reviewers approved.
func decide(check CheckInput, signOffs []greenlightv1alpha1.SignOff, now time.Time, verdicts map[string]Verdict) departmentDecision {
	sorted := make([]*greenlightv1alpha1.SignOff, len(signOffs))
	for i := range signOffs {
		sorted[i] = &signOffs[i]
	}
	slices.SortFunc(sorted, func(a, b *greenlightv1alpha1.SignOff) int {
		if c := createdAt(a, now).Compare(createdAt(b, now)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	d := check.Department
	voices := map[string]*greenlightv1alpha1.SignOff{}
	var passed []*greenlightv1alpha1.SignOff
	for _, s := range sorted {
		check.SignOff, check.CreatedAt = s, createdAt(s, now)
		if reason, message, failed := Run(check); failed {
			verdicts[s.Name] = Verdict{Reason: reason, Message: message}
			continue
		}
		passed = append(passed, s)
		if voice, spoke := voices[s.Spec.Reviewer]; !spoke || restrictiveness(s.Spec.Decision) > restrictiveness(voice.Spec.Decision) {
			voices[s.Spec.Reviewer] = s
		}
	}

	var decision departmentDecision
	var latestReject, latestChanges *greenlightv1alpha1.SignOff
	var approvals []*greenlightv1alpha1.SignOff
	for _, s := range passed {
		if voice := voices[s.Spec.Reviewer]; voice != s {
			verdicts[s.Name] = Verdict{Reason: ReasonDuplicateReviewer, Message: fmt.Sprintf(
				"%s already has a sign-off for department %s on this revision (SignOff %s, %s); one reviewer has one voice: "+
					"to change a decision, withdraw (delete) the old sign-off and create a new one",
				s.Spec.Reviewer, d.Name, voice.Name, voice.Spec.Decision)}
			continue
		}
		verdicts[s.Name] = Verdict{Counted: true, Reason: ReasonCounted,
			Message: fmt.Sprintf("%s's %s counts for department %s", s.Spec.Reviewer, s.Spec.Decision, d.Name)}
		switch s.Spec.Decision {
		case greenlightv1alpha1.DecisionReject:
			latestReject = s
		case greenlightv1alpha1.DecisionRequestChanges:
			latestChanges = s
		case greenlightv1alpha1.DecisionApprove:
			approvals = append(approvals, s)
			decision.approvedBy = append(decision.approvedBy, s.Spec.Reviewer)
		}
	}

	minApprovals := int(max(d.MinApprovals, 1))
	switch {
	case latestReject != nil:
		decision.state, decision.comment = greenlightv1alpha1.DepartmentRejected, latestReject.Spec.Comment
		decision.decidedAt = timePtr(createdAt(latestReject, now))
	case latestChanges != nil:
		decision.state, decision.comment = greenlightv1alpha1.DepartmentChangesRequested, latestChanges.Spec.Comment
		decision.decidedAt = timePtr(createdAt(latestChanges, now))
	case len(approvals) >= minApprovals:
		decision.state = greenlightv1alpha1.DepartmentApproved
		decision.decidedAt = timePtr(createdAt(approvals[minApprovals-1], now))
	default:
		decision.state = greenlightv1alpha1.DepartmentPending
	}
	return decision
}

// restrictiveness orders decisions for one reviewer's voice: the most restrictive one stands.
func restrictiveness(d greenlightv1alpha1.Decision) int {
	switch d {
	case greenlightv1alpha1.DecisionReject:
		return 2
	case greenlightv1alpha1.DecisionRequestChanges:
		return 1
	}
	return 0
}

// createdAt is when a sign-off was made; one being admitted has no creationTimestamp yet.
func createdAt(s *greenlightv1alpha1.SignOff, now time.Time) time.Time {
	if s.CreationTimestamp.IsZero() {
		return now.Truncate(time.Second)
	}
	return s.CreationTimestamp.Time
}

func timePtr(t time.Time) *metav1.Time { return &metav1.Time{Time: t} }

// unfinishedStage names the first earlier stage of d's policy that is not passed (every
// department Approved or NotRequired), as "<stage> (waiting on <department>)", or "" when d's
// stage has started. earlier are the requirements before d, with their computed statuses.
func unfinishedStage(earlier []policy.Department, statuses []greenlightv1alpha1.DepartmentStatus, d policy.Department) string {
	for i, e := range earlier {
		if e.Policy != d.Policy || e.StageIndex >= d.StageIndex || isPassed(statuses[i].State) {
			continue
		}
		return fmt.Sprintf("%s (waiting on %s)", e.Stage, e.Name)
	}
	return ""
}

func isPassed(state greenlightv1alpha1.DepartmentState) bool {
	return state == greenlightv1alpha1.DepartmentApproved || state == greenlightv1alpha1.DepartmentNotRequired
}

func departmentNames(req *policy.Requirements) string {
	names := make([]string, 0, len(req.Departments))
	for _, d := range req.Departments {
		names = append(names, d.Name)
	}
	return strings.Join(names, ", ")
}

// OtherVoice returns the name of another SignOff by the candidate's reviewer for the same post,
// department and covered revision that is not being deleted, or "" when there is none. A
// reviewer has one voice per revision: admission refuses a second sign-off.
func OtherVoice(signOffs []greenlightv1alpha1.SignOff, candidate *greenlightv1alpha1.SignOff) string {
	for _, s := range signOffs {
		if s.Name != candidate.Name && s.DeletionTimestamp.IsZero() && s.Spec.Reviewer == candidate.Spec.Reviewer &&
			s.Spec.Department == candidate.Spec.Department && s.Spec.Revision == candidate.Spec.Revision &&
			s.Labels[greenlightv1alpha1.LabelPostUID] == candidate.Labels[greenlightv1alpha1.LabelPostUID] {
			return s.Name
		}
	}
	return ""
}
