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
	"github.com/greenlight-operator/greenlight/internal/review"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

// Reasons of the post's conditions. A SignOff's Counted reasons are review.Reason*.
const (
	ReasonDraft             = "Draft"
	ReasonInReview          = "InReview"
	ReasonChangesRequested  = "ChangesRequested"
	ReasonRejected          = "Rejected"
	ReasonApproved          = "Approved"
	ReasonScheduled         = "Scheduled"
	ReasonAwaitingReview    = "AwaitingReview"
	ReasonPublished         = "Published"
	ReasonDeadlineMissed    = review.ReasonDeadlineMissed
	ReasonMissedPublishSlot = "MissedPublishSlot"
	ReasonFrozen            = "Frozen"
	// ReasonNoPublishingWindow: approved, but no publishing window opens while the post may
	// still be published.
	ReasonNoPublishingWindow = "NoPublishingWindow"
)

// reviewInputs is everything a post's review status is computed from. The reconciler gathers
// it; the functions in this file only compute.
type reviewInputs struct {
	// now is read once per reconcile from the injected clock.
	now time.Time
	// requirements are what the applying policies require; nil when blocked is set.
	requirements *policy.Requirements
	// blocked says why no review can happen; nil when requirements is set.
	blocked *policy.Blocked
	// signOffs are the SignOffs whose spec.post names the post.
	signOffs []greenlightv1alpha1.SignOff
}

// reviewResult is a post's computed status and the verdict on each of its SignOffs, by name.
type reviewResult struct {
	status   greenlightv1alpha1.ContentPostStatus
	verdicts map[string]review.Verdict
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
	// sent, decisions kept across a reopened stage, the policies and departments a submitted post
	// requires) is read from the previous status.
	status.Stage, status.WaitingOn, status.Deadline, status.NextWindow = "", "", nil, nil
	result := reviewResult{verdicts: map[string]review.Verdict{}}

	if in.blocked != nil {
		// appliedPolicies and the departments are kept as they were: a post blocked for a while
		// still owes what it owed before, and its expiries and review clocks still stand.
		status.Policies = nil
		for _, s := range in.signOffs {
			result.verdicts[s.Name] = review.Verdict{Reason: review.ReasonPostBlocked,
				Message: fmt.Sprintf("ContentPost %s cannot be reviewed because it is blocked: %s", post.Name, in.blocked.Message)}
		}
		setPostConditions(&status, post, postOutcome{blocked: in.blocked}, in.now)
		result.status = status
		return result
	}

	status.Policies = in.requirements.Policies
	status.AppliedPolicies = in.requirements.Applied
	evaluated := review.Evaluate(post, review.Inputs{Now: in.now, Requirements: in.requirements, SignOffs: in.signOffs})
	result.verdicts = evaluated.Verdicts
	status.Departments = evaluated.Departments
	status.MissedDeadlines = review.RecordMissedDeadlines(status.MissedDeadlines, post.Status.Departments, status.Departments,
		evaluated.Deadlines)
	outcome := postOutcome{exceeded: evaluated.Deadlines.Exceeded}
	if reviewPhase(post, status.Departments) == greenlightv1alpha1.PostScheduled {
		outcome.gate = gatePublishing(post, in.requirements, in.now)
		outcome.publishNow = dueNow(post, outcome.gate, in.now)
		status.NextWindow = outcome.gate.nextWindow
	}
	status.Deadline = earliestDeadline(status.Departments)
	setPostConditions(&status, post, outcome, in.now)
	if status.Phase == greenlightv1alpha1.PostPublishing {
		// The review is over: from now on only the Jobs move the post.
		result.status = status
		return result
	}
	if status.Phase == greenlightv1alpha1.PostInReview {
		status.Stage, status.WaitingOn = currentStages(status.Departments)
	}
	result.status = status
	result.requeueAt = evaluated.Deadlines.Next
	if next := outcome.gate.next; !next.IsZero() && (result.requeueAt.IsZero() || next.Before(result.requeueAt)) {
		result.requeueAt = next
	}
	return result
}

// reviewPhase is the phase the departments' review alone gives the post. An expired department
// outlasts a draft toggle: only a new revision or a later publishAt clears it.
func reviewPhase(post *greenlightv1alpha1.ContentPost, departments []greenlightv1alpha1.DepartmentStatus) greenlightv1alpha1.PostPhase {
	has := func(state greenlightv1alpha1.DepartmentState) bool {
		return slices.ContainsFunc(departments, func(d greenlightv1alpha1.DepartmentStatus) bool { return d.State == state })
	}
	switch {
	case has(greenlightv1alpha1.DepartmentExpired):
		if post.Spec.Draft || !has(greenlightv1alpha1.DepartmentRejected) {
			return greenlightv1alpha1.PostExpired
		}
		return greenlightv1alpha1.PostRejected
	case post.Spec.Draft:
		return greenlightv1alpha1.PostDraft
	case has(greenlightv1alpha1.DepartmentRejected):
		return greenlightv1alpha1.PostRejected
	case has(greenlightv1alpha1.DepartmentChangesRequested):
		return greenlightv1alpha1.PostChangesRequested
	case !slices.ContainsFunc(departments, func(d greenlightv1alpha1.DepartmentStatus) bool {
		return d.State != greenlightv1alpha1.DepartmentApproved && d.State != greenlightv1alpha1.DepartmentNotRequired
	}):
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

// postOutcome is what, besides the departments, decides a post's phase and conditions.
type postOutcome struct {
	// blocked says why the post cannot be reviewed; nil when it can.
	blocked *policy.Blocked
	// gate is the publishing gate of an approved post.
	gate publishingGate
	// exceeded names the departments past their deadline under onMissed: Notify.
	exceeded []string
	// publishNow is set when the post is approved, due and unblocked: publishing begins.
	publishNow bool
}

// setPostConditions decides the phase (Publishing, when an approved post is due now) and sets
// every condition from it, each exactly once: removing and re-adding a condition (or setting it
// False, then True) in one computation would give it a new lastTransitionTime, and so a status
// write, on every reconcile. Reconciling and Stalled are present only while True (kstatus), so
// that kstatus reads the phases as: InReview and Publishing InProgress (Reconciling); Draft,
// Scheduled and Published Current (Ready); ChangesRequested, Rejected, Expired, Failed and
// Blocked Failed (Stalled: a person must act).
func setPostConditions(status *greenlightv1alpha1.ContentPostStatus, post *greenlightv1alpha1.ContentPost,
	outcome postOutcome, now time.Time) {
	conditions := conditionSetter{conditions: &status.Conditions, generation: post.Generation, now: now}
	var (
		ready                        = metav1.ConditionFalse
		reason, message              string
		reconciling, stalled         bool
		approved                     = metav1.ConditionFalse
		approvedReason, approvedText string
	)
	approvedRevision := fmt.Sprintf("Every required department approved revision %s.", shortRevision(status.Revision))
	switch {
	case outcome.blocked != nil && post.Spec.Draft:
		status.Phase = greenlightv1alpha1.PostDraft
		ready, reason = metav1.ConditionTrue, ReasonDraft
		message = "The post is a draft; set spec.draft to false to submit it for review. Once submitted it would be blocked: " +
			outcome.blocked.Message
		approvedReason, approvedText = ReasonDraft, "Drafts are not reviewed."
	case outcome.blocked != nil:
		status.Phase = greenlightv1alpha1.PostBlocked
		reason, message, stalled = outcome.blocked.Reason, outcome.blocked.Message, true
		approvedReason, approvedText = outcome.blocked.Reason, "Blocked posts are never approved: "+outcome.blocked.Message
	case outcome.gate.missedSlot != "":
		status.Phase = greenlightv1alpha1.PostExpired
		reason, stalled = ReasonMissedPublishSlot, true
		message = "Approved, but " + outcome.gate.missedSlot + "."
		approved, approvedReason, approvedText = metav1.ConditionTrue, ReasonApproved, approvedRevision
	default:
		status.Phase = reviewPhase(post, status.Departments)
		ready, reason, message, reconciling, stalled = phaseConditions(status, outcome.gate)
		approvedReason, approvedText = reason, message
		switch status.Phase {
		case greenlightv1alpha1.PostScheduled:
			approved, approvedReason, approvedText = metav1.ConditionTrue, ReasonApproved, approvedRevision
		case greenlightv1alpha1.PostInReview:
			approvedReason = ReasonAwaitingReview
		case greenlightv1alpha1.PostDraft:
			approvedText = "Drafts are not reviewed."
		}
	}
	if status.Phase == greenlightv1alpha1.PostScheduled && outcome.publishNow {
		// Approved, due and unblocked: publishing begins, and its conditions are the ones set
		// (never Scheduled's Ready=True first, which would flip Ready within this computation).
		startPublishing(status, post)
		setPublishedConditions(status, post, now)
	} else {
		conditions.set(greenlightv1alpha1.ConditionReady, ready, reason, message)
		conditions.setIf(reconciling, greenlightv1alpha1.ConditionReconciling, reason, message)
		conditions.setIf(stalled, greenlightv1alpha1.ConditionStalled, reason, message)
	}
	conditions.set(greenlightv1alpha1.ConditionApproved, approved, approvedReason, approvedText)
	conditions.setIf(len(outcome.gate.frozen) > 0, greenlightv1alpha1.ConditionFrozen, ReasonFrozen,
		"Publishing is frozen by "+strings.Join(outcome.gate.frozen, "; ")+".")
	conditions.setIf(len(outcome.exceeded) > 0, greenlightv1alpha1.ConditionDeadlineExceeded, ReasonDeadlineMissed,
		fmt.Sprintf("%s missed their deadline; the post keeps waiting (onMissed: Notify).", strings.Join(outcome.exceeded, ", ")))
}

// phaseConditions is Ready's status, reason and message, and whether the post is Reconciling or
// Stalled, for a post under review (not blocked, not past its publishing slot).
func phaseConditions(status *greenlightv1alpha1.ContentPostStatus, gate publishingGate) (
	ready metav1.ConditionStatus, reason, message string, reconciling, stalled bool) {
	switch status.Phase {
	case greenlightv1alpha1.PostDraft:
		return metav1.ConditionTrue, ReasonDraft, "The post is a draft; set spec.draft to false to submit it for review.", false, false
	case greenlightv1alpha1.PostRejected:
		return metav1.ConditionFalse, ReasonRejected, decidedMessage(status.Departments, greenlightv1alpha1.DepartmentRejected,
			"rejected this revision", "Only a new revision of the fields they cover reopens review."), false, true
	case greenlightv1alpha1.PostExpired:
		return metav1.ConditionFalse, ReasonDeadlineMissed, decidedMessage(status.Departments, greenlightv1alpha1.DepartmentExpired,
			"missed its deadline", "Greenlight fails closed: the post is not published. A new revision of the fields they cover, "+
				"or a later publishAt, reopens review."), false, true
	case greenlightv1alpha1.PostChangesRequested:
		return metav1.ConditionFalse, ReasonChangesRequested, decidedMessage(status.Departments,
			greenlightv1alpha1.DepartmentChangesRequested, "requested changes", "Edit a field they cover to reopen their review."), false, true
	case greenlightv1alpha1.PostScheduled:
		// The controller has done all it can until publishAt, a window or the end of a freeze:
		// Ready (kstatus Current, not Reconciling), and the message says when it publishes.
		message = "Approved; publishing begins."
		if gate.publishes != "" {
			message = "Approved; " + gate.publishes + "."
		}
		if gate.stuck {
			// As things stand it never publishes: a person must act (kstatus Failed).
			return metav1.ConditionFalse, ReasonNoPublishingWindow, message, false, true
		}
		return metav1.ConditionTrue, ReasonScheduled, message, false, false
	default:
		stage, waitingOn := currentStages(status.Departments)
		return metav1.ConditionFalse, ReasonInReview, fmt.Sprintf("Waiting on %s (stage %s).",
			strings.ReplaceAll(waitingOn, ",", ", "), stage), true, false
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
