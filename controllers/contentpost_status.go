package controllers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

// Reasons of the post's conditions, and of a SignOff's Counted condition.
const (
	ReasonDraft            = "Draft"
	ReasonInReview         = "InReview"
	ReasonChangesRequested = "ChangesRequested"
	ReasonRejected         = "Rejected"
	ReasonApproved         = "Approved"
	ReasonScheduled        = "Scheduled"
	ReasonAwaitingReview   = "AwaitingReview"
	ReasonPublished        = "Published"

	// SignOff verdicts.
	ReasonCounted               = "Counted"
	ReasonNoReviewer            = "NoReviewer"
	ReasonUnknownDepartment     = "UnknownDepartment"
	ReasonDepartmentNotRequired = "DepartmentNotRequired"
	ReasonStaleRevision         = "StaleRevision"
	ReasonSelfApproval          = "SelfApproval"
	ReasonDuplicateReviewer     = "DuplicateReviewer"
	ReasonPostNotFound          = "PostNotFound"
	ReasonPostBlocked           = "PostBlocked"
	ReasonPostIsDraft           = "PostIsDraft"
	ReasonStageNotStarted       = "StageNotStarted"
	ReasonOtherPost             = "OtherPost"
	ReasonDeadlineMissed        = "DeadlineMissed"
	ReasonMissedPublishSlot     = "MissedPublishSlot"
	ReasonFrozen                = "Frozen"
	ReasonOtherPolicy           = "OtherPolicy"
	ReasonNotAnApprover         = "NotAnApprover"
	ReasonWithdrawn             = "Withdrawn"
)

// reviewInputs is everything a post's review status is computed from. The reconciler gathers
// it; the functions in this file only compute.
type reviewInputs struct {
	// now is read once per reconcile from the injected clock.
	now time.Time
	// requirements are what the matching policies require; nil when blocked is set.
	requirements *policy.Requirements
	// blocked says why no review can happen; nil when requirements is set.
	blocked *policy.Blocked
	// signOffs are the SignOffs whose spec.post names the post.
	signOffs []greenlightv1alpha1.SignOff
}

// signOffVerdict says whether one SignOff counts towards its department and, if not, why.
type signOffVerdict struct {
	counted bool
	reason  string
	message string
}

// reviewResult is a post's computed status and the verdict on each of its SignOffs, by name.
type reviewResult struct {
	status   greenlightv1alpha1.ContentPostStatus
	verdicts map[string]signOffVerdict
	// requeueAt is the next time the status may change with time alone (a deadline, a reminder,
	// a window edge, the end of the publishing slot); zero when none will.
	requeueAt time.Time
}

// computeReview computes a post's status from its spec and the inputs. It never reads the clock
// or the API: given the same post and inputs it returns the same result.
func computeReview(post *greenlightv1alpha1.ContentPost, in reviewInputs) reviewResult {
	status := *post.Status.DeepCopy()
	status.ObservedGeneration = post.Generation
	status.Revision = revision.Of(&post.Spec)
	// Everything below is recomputed from scratch; only remembered state (requestedAt, reminders
	// sent, decisions kept across a reopened stage) is read from the previous status.
	status.Stage, status.WaitingOn, status.Deadline, status.NextWindow = "", "", nil, nil
	// Each condition is set or removed exactly once below: removing and re-adding one would give
	// it a new lastTransitionTime, and so a status write, on every reconcile.
	conditions := conditionSetter{conditions: &status.Conditions, generation: post.Generation, now: in.now}
	result := reviewResult{verdicts: map[string]signOffVerdict{}}

	if in.blocked != nil {
		conditions.setIf(false, greenlightv1alpha1.ConditionDeadlineExceeded, "", "")
		conditions.setIf(false, greenlightv1alpha1.ConditionFrozen, "", "")
		status.Policies = nil
		status.Departments = nil
		for _, s := range in.signOffs {
			result.verdicts[s.Name] = signOffVerdict{reason: ReasonPostBlocked,
				message: fmt.Sprintf("post %s is blocked: %s", post.Name, in.blocked.Message)}
		}
		if post.Spec.Draft {
			status.Phase = greenlightv1alpha1.PostDraft
		} else {
			status.Phase = greenlightv1alpha1.PostBlocked
		}
		setPostConditions(&status, post, in.blocked, in.now)
		result.status = status
		return result
	}

	status.Policies = in.requirements.Policies
	var deadlines deadlineOutcome
	status.Departments, deadlines = evaluateDepartments(post, in, result.verdicts)
	status.Phase = postPhase(post, status.Departments)
	if status.Phase == greenlightv1alpha1.PostInReview {
		status.Stage, status.WaitingOn = currentStages(status.Departments)
	}
	status.Deadline = earliestDeadline(status.Departments)
	var gate publishingGate
	if status.Phase == greenlightv1alpha1.PostScheduled {
		gate = gatePublishing(post, in.requirements, in.now)
		status.NextWindow = gate.nextWindow
		if gate.missedSlot != "" {
			status.Phase = greenlightv1alpha1.PostExpired
		}
	}
	setPostConditions(&status, post, nil, in.now)
	setPublishingConditions(&status, post, gate, in.now)
	conditions.setIf(len(deadlines.exceeded) > 0, greenlightv1alpha1.ConditionDeadlineExceeded, ReasonDeadlineMissed,
		fmt.Sprintf("%s missed their deadline; the post keeps waiting (onMissed: Notify).", strings.Join(deadlines.exceeded, ", ")))
	result.status = status
	result.requeueAt = deadlines.next
	if !gate.next.IsZero() && (result.requeueAt.IsZero() || gate.next.Before(result.requeueAt)) {
		result.requeueAt = gate.next
	}
	return result
}

// departmentDecision is what a department's current sign-offs decide.
type departmentDecision struct {
	state      greenlightv1alpha1.DepartmentState
	approvedBy []string
	decidedAt  *metav1.Time
	comment    string
}

// evaluateDepartments computes every department's status, in requirement order, and records a
// verdict for each SignOff.
func evaluateDepartments(post *greenlightv1alpha1.ContentPost, in reviewInputs,
	verdicts map[string]signOffVerdict) ([]greenlightv1alpha1.DepartmentStatus, deadlineOutcome) {
	byDepartment := map[string][]greenlightv1alpha1.SignOff{}
	for _, s := range in.signOffs {
		byDepartment[s.Spec.Department] = append(byDepartment[s.Spec.Department], s)
	}
	for name, signOffs := range byDepartment {
		if !slices.ContainsFunc(in.requirements.Departments, func(d policy.Department) bool { return d.Name == name }) {
			for _, s := range signOffs {
				verdicts[s.Name] = signOffVerdict{reason: ReasonUnknownDepartment, message: fmt.Sprintf(
					"department %s is not one that the post's policies (%s) define", name, strings.Join(in.requirements.Policies, ", "))}
			}
		}
	}

	departments := make([]greenlightv1alpha1.DepartmentStatus, 0, len(in.requirements.Departments))
	for _, d := range in.requirements.Departments {
		covered := revision.Covered(&post.Spec, d.Covers)
		status := greenlightv1alpha1.DepartmentStatus{
			Name: d.Name, Stage: d.Stage, Revision: covered, MinApprovals: max(d.MinApprovals, 1),
		}
		required, whyRequired := isRequired(d, post)
		status.Message = whyRequired
		if !required {
			status.State = greenlightv1alpha1.DepartmentNotRequired
			for _, s := range byDepartment[d.Name] {
				verdicts[s.Name] = signOffVerdict{reason: ReasonDepartmentNotRequired, message: fmt.Sprintf(
					"department %s is not required for this post (its when expression is false)", d.Name)}
			}
		} else {
			decision := decide(d, covered, post, byDepartment[d.Name], verdicts)
			status.State, status.ApprovedBy, status.DecidedAt, status.Comment =
				decision.state, decision.approvedBy, decision.decidedAt, decision.comment
		}
		departments = append(departments, status)
	}

	for _, name := range openStages(in.requirements.Departments, departments, &post.Status) {
		for _, s := range byDepartment[name] {
			if verdicts[s.Name].counted {
				verdicts[s.Name] = signOffVerdict{reason: ReasonStageNotStarted, message: fmt.Sprintf(
					"department %s's stage has not started: an earlier stage must be approved first", name)}
			}
		}
	}
	if post.Spec.Draft {
		// A draft is not under review: show who will review it once submitted, and count nothing.
		for i := range departments {
			d := &departments[i]
			if d.State != greenlightv1alpha1.DepartmentNotRequired {
				d.State, d.ApprovedBy, d.DecidedAt, d.Comment = greenlightv1alpha1.DepartmentWaiting, nil, nil, ""
			}
		}
		for _, s := range in.signOffs {
			verdicts[s.Name] = signOffVerdict{reason: ReasonPostIsDraft, message: fmt.Sprintf(
				"post %s is a draft: sign-offs count once its author submits it", post.Name)}
		}
	}
	for i := range departments {
		departments[i].RequestedAt = requestedAt(post, &departments[i], in.now)
	}
	deadlines := applyDeadlines(post, in.requirements.Departments, departments, in.now)
	for _, name := range deadlines.expired {
		for _, s := range byDepartment[name] {
			if verdicts[s.Name].counted {
				verdicts[s.Name] = signOffVerdict{reason: ReasonDeadlineMissed, message: fmt.Sprintf(
					"department %s missed its deadline before this sign-off could count", name)}
			}
		}
	}
	return departments, deadlines
}

// isRequired evaluates a department's when expression. An expression that fails makes the
// department required (fail closed), and the returned message says why.
func isRequired(d policy.Department, post *greenlightv1alpha1.ContentPost) (bool, string) {
	if d.When == nil {
		return true, ""
	}
	required, err := policy.Eval(d.When, post)
	if err != nil {
		return true, fmt.Sprintf("required because its when expression could not be evaluated: %v", err)
	}
	return required, ""
}

// decide counts a required department's sign-offs. Only sign-offs with a reviewer, for the
// department's current covered revision, and not by the post's author (unless the policy
// allows it) count. A current Reject outweighs everything, then a current RequestChanges; else
// the department is approved once minApprovals distinct reviewers approved.
func decide(d policy.Department, covered string, post *greenlightv1alpha1.ContentPost,
	signOffs []greenlightv1alpha1.SignOff, verdicts map[string]signOffVerdict) departmentDecision {
	slices.SortFunc(signOffs, func(a, b greenlightv1alpha1.SignOff) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})

	var decision departmentDecision
	var latestReject, latestChanges *greenlightv1alpha1.SignOff
	var approvals []*greenlightv1alpha1.SignOff
	for i := range signOffs {
		s := &signOffs[i]
		switch {
		case !s.DeletionTimestamp.IsZero():
			verdicts[s.Name] = signOffVerdict{reason: ReasonWithdrawn, message: "the sign-off is being deleted (withdrawn)"}
			continue
		case s.Spec.Reviewer == "":
			verdicts[s.Name] = signOffVerdict{reason: ReasonNoReviewer, message: "spec.reviewer is empty, so nobody vouches for this " +
				"decision; create sign-offs through the Kubernetes API so admission records the reviewer"}
			continue
		case s.Labels[greenlightv1alpha1.LabelPostUID] != string(post.UID):
			verdicts[s.Name] = signOffVerdict{reason: ReasonOtherPost, message: fmt.Sprintf(
				"the sign-off is bound to post UID %q (label %s) but this post's UID is %q: it was made for a deleted post of the same name",
				s.Labels[greenlightv1alpha1.LabelPostUID], greenlightv1alpha1.LabelPostUID, post.UID)}
			continue
		case s.Labels[greenlightv1alpha1.LabelPolicyUID] != d.PolicyUID:
			verdicts[s.Name] = signOffVerdict{reason: ReasonOtherPolicy, message: fmt.Sprintf(
				"the sign-off was made for department %s of another ApprovalPolicy (label %s is %q), not of policy %s",
				d.Name, greenlightv1alpha1.LabelPolicyUID, s.Labels[greenlightv1alpha1.LabelPolicyUID], d.Policy)}
			continue
		case len(d.Approvers.Groups) == 0 && !slices.Contains(d.Approvers.Users, s.Spec.Reviewer):
			// Group membership is only known at admission; a users-only department is re-checked
			// here, so removing someone from approvers voids their approvals.
			verdicts[s.Name] = signOffVerdict{reason: ReasonNotAnApprover, message: fmt.Sprintf(
				"%s is no longer an approver of department %s (policy %s)", s.Spec.Reviewer, d.Name, d.Policy)}
			continue
		case s.Spec.Revision != covered:
			verdicts[s.Name] = signOffVerdict{reason: ReasonStaleRevision, message: fmt.Sprintf(
				"the post changed since %s reviewed it: the sign-off is for revision %s, but department %s now reviews %s",
				s.Spec.Reviewer, shortRevision(s.Spec.Revision), d.Name, shortRevision(covered))}
			continue
		case s.Spec.Decision == greenlightv1alpha1.DecisionApprove && !d.AllowSelfApproval && isSelf(post, s.Spec.Reviewer):
			verdicts[s.Name] = signOffVerdict{reason: ReasonSelfApproval, message: fmt.Sprintf(
				"%s wrote or created the post and policy %s does not allow self-approval", s.Spec.Reviewer, d.Policy)}
			continue
		}
		verdicts[s.Name] = signOffVerdict{counted: true, reason: ReasonCounted,
			message: fmt.Sprintf("%s's %s counts for department %s", s.Spec.Reviewer, s.Spec.Decision, d.Name)}
		switch s.Spec.Decision {
		case greenlightv1alpha1.DecisionReject:
			latestReject = s
		case greenlightv1alpha1.DecisionRequestChanges:
			latestChanges = s
		case greenlightv1alpha1.DecisionApprove:
			if slices.ContainsFunc(approvals, func(a *greenlightv1alpha1.SignOff) bool { return a.Spec.Reviewer == s.Spec.Reviewer }) {
				verdicts[s.Name] = signOffVerdict{reason: ReasonDuplicateReviewer, message: fmt.Sprintf(
					"%s already approved this revision for department %s; one reviewer counts once", s.Spec.Reviewer, d.Name)}
				continue
			}
			approvals = append(approvals, s)
			decision.approvedBy = append(decision.approvedBy, s.Spec.Reviewer)
		}
	}

	minApprovals := int(max(d.MinApprovals, 1))
	switch {
	case latestReject != nil:
		decision.state, decision.comment = greenlightv1alpha1.DepartmentRejected, latestReject.Spec.Comment
		decision.decidedAt = latestReject.CreationTimestamp.DeepCopy()
	case latestChanges != nil:
		decision.state, decision.comment = greenlightv1alpha1.DepartmentChangesRequested, latestChanges.Spec.Comment
		decision.decidedAt = latestChanges.CreationTimestamp.DeepCopy()
	case len(approvals) >= minApprovals:
		decision.state = greenlightv1alpha1.DepartmentApproved
		decision.decidedAt = approvals[minApprovals-1].CreationTimestamp.DeepCopy()
	default:
		// Pending or Waiting: openStages decides which.
		decision.state = greenlightv1alpha1.DepartmentPending
	}
	return decision
}

// isSelf reports whether reviewer is the post's author or the user who created it.
func isSelf(post *greenlightv1alpha1.ContentPost, reviewer string) bool {
	return reviewer == post.Spec.Author || reviewer == post.Annotations[greenlightv1alpha1.AnnotationCreatedBy]
}

// openStages applies stage order. Within each policy a stage starts when every department of
// every earlier stage is Approved or NotRequired; the departments of a stage that has not
// started are Waiting, except that a department keeps a decision it already had for the same
// covered revision (an edit that reopens an earlier stage does not void a later stage's current
// approval). It returns the departments whose new decisions were set aside.
func openStages(requirements []policy.Department, departments []greenlightv1alpha1.DepartmentStatus,
	previous *greenlightv1alpha1.ContentPostStatus) []string {
	// startedBefore[policy] is the first stage index that has not started.
	startedBefore := map[string]int{}
	for i, d := range requirements {
		if _, seen := startedBefore[d.Policy]; !seen {
			startedBefore[d.Policy] = len(requirements) // every stage started so far
		}
		if !isPassed(departments[i].State) && d.StageIndex+1 < startedBefore[d.Policy] {
			startedBefore[d.Policy] = d.StageIndex + 1
		}
	}
	var setAside []string
	for i, d := range requirements {
		dept := &departments[i]
		if d.StageIndex < startedBefore[d.Policy] || dept.State == greenlightv1alpha1.DepartmentNotRequired {
			continue
		}
		if prev := previous.Department(dept.Name); prev != nil && prev.State == dept.State && prev.Revision == dept.Revision &&
			dept.State != greenlightv1alpha1.DepartmentPending {
			continue // a decision the department already had
		}
		if dept.State != greenlightv1alpha1.DepartmentPending {
			setAside = append(setAside, dept.Name)
		}
		dept.State, dept.ApprovedBy, dept.DecidedAt, dept.Comment = greenlightv1alpha1.DepartmentWaiting, nil, nil, ""
	}
	return setAside
}

func isPassed(state greenlightv1alpha1.DepartmentState) bool {
	return state == greenlightv1alpha1.DepartmentApproved || state == greenlightv1alpha1.DepartmentNotRequired
}

// requestedAt is when the department's review of its current covered revision began: kept from
// the previous status while the department stays under review of the same revision, stamped
// now when its stage starts or its covered fields change.
func requestedAt(post *greenlightv1alpha1.ContentPost, d *greenlightv1alpha1.DepartmentStatus, now time.Time) *metav1.Time {
	if d.State == greenlightv1alpha1.DepartmentWaiting || d.State == greenlightv1alpha1.DepartmentNotRequired || post.Spec.Draft {
		return nil
	}
	prev := post.Status.Department(d.Name)
	if prev != nil && prev.RequestedAt != nil && prev.Revision == d.Revision &&
		prev.State != greenlightv1alpha1.DepartmentWaiting && prev.State != greenlightv1alpha1.DepartmentNotRequired {
		return prev.RequestedAt
	}
	t := metav1.NewTime(now.Truncate(time.Second))
	return &t
}

// postPhase is the post's phase from its departments.
func postPhase(post *greenlightv1alpha1.ContentPost, departments []greenlightv1alpha1.DepartmentStatus) greenlightv1alpha1.PostPhase {
	if post.Spec.Draft {
		return greenlightv1alpha1.PostDraft
	}
	has := func(state greenlightv1alpha1.DepartmentState) bool {
		return slices.ContainsFunc(departments, func(d greenlightv1alpha1.DepartmentStatus) bool { return d.State == state })
	}
	switch {
	case has(greenlightv1alpha1.DepartmentRejected):
		return greenlightv1alpha1.PostRejected
	case has(greenlightv1alpha1.DepartmentExpired):
		return greenlightv1alpha1.PostExpired
	case has(greenlightv1alpha1.DepartmentChangesRequested):
		return greenlightv1alpha1.PostChangesRequested
	case !slices.ContainsFunc(departments, func(d greenlightv1alpha1.DepartmentStatus) bool { return !isPassed(d.State) }):
		return greenlightv1alpha1.PostScheduled
	default:
		return greenlightv1alpha1.PostInReview
	}
}

// currentStages names the stages under review and the departments still pending in them.
func currentStages(departments []greenlightv1alpha1.DepartmentStatus) (stages, waitingOn string) {
	var stageNames, pending []string
	for _, d := range departments {
		if d.State != greenlightv1alpha1.DepartmentPending {
			continue
		}
		pending = append(pending, d.Name)
		if !slices.Contains(stageNames, d.Stage) {
			stageNames = append(stageNames, d.Stage)
		}
	}
	return strings.Join(stageNames, ","), strings.Join(pending, ",")
}

// setPostConditions sets Ready, Reconciling, Stalled and Approved from the phase. Reconciling
// and Stalled are present only while True (kstatus). A condition's lastTransitionTime is now
// when its status changes and is kept otherwise.
func setPostConditions(status *greenlightv1alpha1.ContentPostStatus, post *greenlightv1alpha1.ContentPost,
	blocked *policy.Blocked, now time.Time) {
	conditions := conditionSetter{conditions: &status.Conditions, generation: post.Generation, now: now}
	var (
		ready                        = metav1.ConditionFalse
		reason, message              string
		reconciling, stalled         bool
		approved                     = metav1.ConditionFalse
		approvedReason, approvedText string
	)
	switch status.Phase {
	case greenlightv1alpha1.PostDraft:
		ready, reason, message = metav1.ConditionTrue, ReasonDraft, "The post is a draft; set spec.draft to false to submit it for review."
		if blocked != nil {
			message += " Once submitted it would be blocked: " + blocked.Message
		}
		approvedReason, approvedText = ReasonDraft, "Drafts are not reviewed."
	case greenlightv1alpha1.PostBlocked:
		reason, message, stalled = blocked.Reason, blocked.Message, true
		approvedReason, approvedText = blocked.Reason, "Blocked posts are never approved: "+blocked.Message
	case greenlightv1alpha1.PostRejected:
		reason, stalled = ReasonRejected, true
		message = decidedMessage(status.Departments, greenlightv1alpha1.DepartmentRejected, "rejected this revision",
			"Only a new revision of the fields they cover reopens review.")
		approvedReason, approvedText = reason, message
	case greenlightv1alpha1.PostExpired:
		reason, stalled = ReasonDeadlineMissed, true
		message = decidedMessage(status.Departments, greenlightv1alpha1.DepartmentExpired, "missed its deadline",
			"Greenlight fails closed: the post is not published. A new revision of the fields they cover, or a later publishAt, reopens review.")
		approvedReason, approvedText = reason, message
	case greenlightv1alpha1.PostChangesRequested:
		reason, stalled = ReasonChangesRequested, true
		message = decidedMessage(status.Departments, greenlightv1alpha1.DepartmentChangesRequested, "requested changes",
			"Edit a field they cover to reopen their review.")
		approvedReason, approvedText = reason, message
	case greenlightv1alpha1.PostInReview:
		reason, reconciling = ReasonInReview, true
		message = fmt.Sprintf("Waiting on %s (stage %s).", strings.ReplaceAll(status.WaitingOn, ",", ", "), status.Stage)
		approvedReason, approvedText = ReasonAwaitingReview, message
	case greenlightv1alpha1.PostScheduled:
		reason, message, reconciling = ReasonScheduled, "Approved; waiting to be published.", true
		approved, approvedReason = metav1.ConditionTrue, ReasonApproved
		approvedText = fmt.Sprintf("Every required department approved revision %s.", shortRevision(status.Revision))
	}
	conditions.set(greenlightv1alpha1.ConditionReady, ready, reason, message)
	conditions.setIf(reconciling, greenlightv1alpha1.ConditionReconciling, reason, message)
	conditions.setIf(stalled, greenlightv1alpha1.ConditionStalled, reason, message)
	conditions.set(greenlightv1alpha1.ConditionApproved, approved, approvedReason, approvedText)
}

// setPublishingConditions reports an approved post's publishing gate: a missed slot (Expired,
// Stalled), a freeze (Frozen) or a closed window (in the Reconciling message, with nextWindow).
func setPublishingConditions(status *greenlightv1alpha1.ContentPostStatus, post *greenlightv1alpha1.ContentPost,
	gate publishingGate, now time.Time) {
	conditions := conditionSetter{conditions: &status.Conditions, generation: post.Generation, now: now}
	conditions.setIf(len(gate.frozen) > 0, greenlightv1alpha1.ConditionFrozen, ReasonFrozen,
		"Publishing is frozen by "+strings.Join(gate.frozen, "; ")+".")
	switch {
	case gate.missedSlot != "":
		message := "Approved, but " + gate.missedSlot + "."
		conditions.set(greenlightv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonMissedPublishSlot, message)
		conditions.setIf(false, greenlightv1alpha1.ConditionReconciling, "", "")
		conditions.setIf(true, greenlightv1alpha1.ConditionStalled, ReasonMissedPublishSlot, message)
		conditions.set(greenlightv1alpha1.ConditionApproved, metav1.ConditionTrue, ReasonApproved,
			fmt.Sprintf("Every required department approved revision %s.", shortRevision(status.Revision)))
	case status.Phase == greenlightv1alpha1.PostScheduled && gate.blockedBy != "":
		message := "Approved; waiting to be published: " + gate.blockedBy + "."
		conditions.set(greenlightv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonScheduled, message)
		conditions.setIf(true, greenlightv1alpha1.ConditionReconciling, ReasonScheduled, message)
	}
}

// conditionSetter sets conditions without reading the wall clock.
type conditionSetter struct {
	conditions *[]metav1.Condition
	generation int64
	now        time.Time
}

func (c conditionSetter) set(conditionType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(c.conditions, metav1.Condition{
		Type: conditionType, Status: status, Reason: reason, Message: message, ObservedGeneration: c.generation,
		LastTransitionTime: metav1.NewTime(c.now.Truncate(time.Second)),
	})
}

// setIf sets an abnormal-true condition (Reconciling, Stalled) to True, or removes it.
func (c conditionSetter) setIf(present bool, conditionType, reason, message string) {
	if present {
		c.set(conditionType, metav1.ConditionTrue, reason, message)
		return
	}
	meta.RemoveStatusCondition(c.conditions, conditionType)
}

// decidedMessage names the departments in state and their comments (or deadlines), then what
// to do.
func decidedMessage(departments []greenlightv1alpha1.DepartmentStatus, state greenlightv1alpha1.DepartmentState, verb, todo string) string {
	var parts []string
	for _, d := range departments {
		switch {
		case d.State != state:
		case d.State == greenlightv1alpha1.DepartmentExpired && d.Deadline != nil:
			parts = append(parts, fmt.Sprintf("%s %s %s", d.Name, verb, d.Deadline.UTC().Format(time.RFC3339)))
		default:
			parts = append(parts, fmt.Sprintf("%s %s: %q", d.Name, verb, d.Comment))
		}
	}
	return strings.Join(parts, "; ") + ". " + todo
}

// earliestDeadline is the earliest deadline of the departments still to decide.
func earliestDeadline(departments []greenlightv1alpha1.DepartmentStatus) *metav1.Time {
	var earliest *metav1.Time
	for _, d := range departments {
		if d.Deadline != nil && (d.State == greenlightv1alpha1.DepartmentPending || d.State == greenlightv1alpha1.DepartmentWaiting) &&
			(earliest == nil || d.Deadline.Before(earliest)) {
			earliest = d.Deadline
		}
	}
	return earliest
}

// shortRevision abbreviates a digest for messages, as git abbreviates commits.
func shortRevision(r string) string {
	if len(r) > len(revision.Prefix)+12 {
		return r[:len(revision.Prefix)+12]
	}
	return r
}
