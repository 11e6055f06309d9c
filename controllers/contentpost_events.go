package controllers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Event reasons on ContentPosts. Each is recorded once, on the transition it names.
const (
	EventReviewRequested  = "ReviewRequested"
	EventSignOffCounted   = "SignOffCounted"
	EventSignOffIgnored   = "SignOffIgnored"
	EventChangesRequested = "ChangesRequested"
	EventRejected         = "Rejected"
	EventApproved         = "Approved"
	EventBlocked          = "Blocked"
	EventReminder         = "Reminder"
	EventDeadlineMissed   = "DeadlineMissed"
	EventExpired          = "Expired"
	EventDeadlineExceeded = "DeadlineExceeded"
	EventFrozen           = "Frozen"
	EventPublished        = "Published"
	EventFailed           = "Failed"
	EventUnfrozen         = "Unfrozen"
)

// postEvent is a Kubernetes Event to record on a post.
type postEvent struct {
	eventType string
	reason    string
	message   string
	// department is the department the event is about, if any.
	department string
}

func newEvent(eventType, reason, message string) postEvent {
	return postEvent{eventType: eventType, reason: reason, message: message}
}

// notificationTypes maps event reasons to the notification events policies subscribe to.
var notificationTypes = map[string]greenlightv1alpha1.NotificationEvent{
	EventReviewRequested:  greenlightv1alpha1.EventReviewRequested,
	EventReminder:         greenlightv1alpha1.EventReminder,
	EventChangesRequested: greenlightv1alpha1.EventChangesRequested,
	EventRejected:         greenlightv1alpha1.EventRejected,
	EventApproved:         greenlightv1alpha1.EventApproved,
	EventExpired:          greenlightv1alpha1.EventExpired,
	EventPublished:        greenlightv1alpha1.EventPublished,
	EventFailed:           greenlightv1alpha1.EventFailed,
	// onMissed: Notify announces the missed deadline once, as an expiry that did not expire.
	EventDeadlineExceeded: greenlightv1alpha1.EventExpired,
}

// kubernetesEvents are the Kubernetes Events that announce one status write's events: one Event
// per kind of transition, not one per department, and no SignOffCounted (the departments'
// approvedBy in the status says who approved, and the Approved event names them all), so that a
// post costs few writes under load. Notifications keep one message per department, which is
// what a department's chat channel needs.
func kubernetesEvents(events []postEvent, updated *greenlightv1alpha1.ContentPostStatus) []postEvent {
	var out []postEvent
	var requested []string
	for _, e := range events {
		switch e.reason {
		case EventSignOffCounted:
		case EventReviewRequested:
			d := updated.Department(e.department)
			requested = append(requested, fmt.Sprintf("%s (stage %s, revision %s)", d.Name, d.Stage, shortRevision(d.Revision)))
		case EventApproved:
			out = append(out, newEvent(e.eventType, e.reason, approvedMessage(updated)))
		default:
			out = append(out, e)
		}
	}
	if len(requested) > 0 {
		out = append([]postEvent{newEvent(corev1.EventTypeNormal, EventReviewRequested,
			"Review requested from "+strings.Join(requested, ", ")+".")}, out...)
	}
	return out
}

// approvedMessage says which revision every department approved, and who approved it.
func approvedMessage(status *greenlightv1alpha1.ContentPostStatus) string {
	var by []string
	for _, d := range status.Departments {
		if d.State == greenlightv1alpha1.DepartmentApproved {
			by = append(by, fmt.Sprintf("%s (%s)", d.Name, strings.Join(d.ApprovedBy, ", ")))
		}
	}
	return fmt.Sprintf("Every required department approved revision %s: %s.", shortRevision(status.Revision), strings.Join(by, ", "))
}

// postEvents lists the events for the transition from old to updated, in department order. It
// is called only after the new status was written, so each transition is announced once.
func postEvents(old, updated *greenlightv1alpha1.ContentPostStatus) []postEvent {
	var events []postEvent
	for _, d := range updated.Departments {
		for _, e := range departmentEvents(old.Department(d.Name), d) {
			e.department = d.Name
			events = append(events, e)
		}
	}
	return append(events, phaseEvents(old, updated)...)
}

// departmentEvents announces what changed for one department since prev (nil when new).
func departmentEvents(prev *greenlightv1alpha1.DepartmentStatus, d greenlightv1alpha1.DepartmentStatus) []postEvent {
	var events []postEvent
	// A new comment from another reviewer on the same revision is news too.
	changed := prev == nil || prev.State != d.State || prev.Revision != d.Revision || prev.Comment != d.Comment
	switch {
	case !changed:
	case d.State == greenlightv1alpha1.DepartmentPending:
		events = append(events, newEvent(corev1.EventTypeNormal, EventReviewRequested,
			fmt.Sprintf("Review requested from %s (stage %s) for revision %s.", d.Name, d.Stage, shortRevision(d.Revision))))
	case d.State == greenlightv1alpha1.DepartmentChangesRequested:
		events = append(events, newEvent(corev1.EventTypeNormal, EventChangesRequested,
			fmt.Sprintf("%s requested changes: %s", d.Name, d.Comment)))
	case d.State == greenlightv1alpha1.DepartmentRejected:
		events = append(events, newEvent(corev1.EventTypeWarning, EventRejected,
			fmt.Sprintf("%s rejected revision %s: %s", d.Name, shortRevision(d.Revision), d.Comment)))
	case d.State == greenlightv1alpha1.DepartmentExpired:
		events = append(events, newEvent(corev1.EventTypeWarning, EventDeadlineMissed, fmt.Sprintf("%s %s.", d.Name, d.Message)))
	}
	for _, offset := range d.RemindersSent {
		if prev == nil || !prev.Deadline.Equal(d.Deadline) || !slices.Contains(prev.RemindersSent, offset) {
			events = append(events, newEvent(corev1.EventTypeNormal, EventReminder, fmt.Sprintf(
				"%s's decision is due by %s (reminder %s before the deadline).", d.Name, d.Deadline.UTC().Format(time.RFC3339), offset)))
		}
	}
	for _, reviewer := range d.ApprovedBy {
		if prev == nil || prev.Revision != d.Revision || !slices.Contains(prev.ApprovedBy, reviewer) {
			events = append(events, newEvent(corev1.EventTypeNormal, EventSignOffCounted,
				fmt.Sprintf("%s's approval counts for %s (%d of %d).", reviewer, d.Name,
					slices.Index(d.ApprovedBy, reviewer)+1, d.MinApprovals)))
		}
	}
	return events
}

// phaseEvents announces the post's own transitions.
func phaseEvents(old, updated *greenlightv1alpha1.ContentPostStatus) []postEvent {
	var events []postEvent
	if updated.Phase == old.Phase {
		if updated.Phase == greenlightv1alpha1.PostBlocked && stalledMessage(old) != stalledMessage(updated) {
			// Still blocked, for another reason.
			events = append(events, newEvent(corev1.EventTypeWarning, EventBlocked, stalledMessage(updated)))
		}
	} else {
		switch updated.Phase {
		case greenlightv1alpha1.PostScheduled:
			events = append(events, newEvent(corev1.EventTypeNormal, EventApproved,
				fmt.Sprintf("Every required department approved revision %s.", shortRevision(updated.Revision))))
		case greenlightv1alpha1.PostPublishing:
			if !slices.Contains([]greenlightv1alpha1.PostPhase{greenlightv1alpha1.PostScheduled, greenlightv1alpha1.PostFailed,
				greenlightv1alpha1.PostBlocked}, old.Phase) {
				// Approved and due at once: the post went straight from review to publishing.
				events = append(events, newEvent(corev1.EventTypeNormal, EventApproved,
					fmt.Sprintf("Every required department approved revision %s.", shortRevision(updated.Revision))))
			}
		case greenlightv1alpha1.PostBlocked:
			events = append(events, newEvent(corev1.EventTypeWarning, EventBlocked, stalledMessage(updated)))
		case greenlightv1alpha1.PostExpired:
			events = append(events, newEvent(corev1.EventTypeWarning, EventExpired, stalledMessage(updated)))
		case greenlightv1alpha1.PostPublished:
			events = append(events, newEvent(corev1.EventTypeNormal, EventPublished, "Published to "+describeChannels(updated.Channels)+"."))
		case greenlightv1alpha1.PostFailed:
			events = append(events, newEvent(corev1.EventTypeWarning, EventFailed, stalledMessage(updated)))
		}
	}
	wasFrozen := meta.FindStatusCondition(old.Conditions, greenlightv1alpha1.ConditionFrozen) != nil
	switch frozen := meta.FindStatusCondition(updated.Conditions, greenlightv1alpha1.ConditionFrozen); {
	case frozen != nil && !wasFrozen:
		events = append(events, newEvent(corev1.EventTypeWarning, EventFrozen, frozen.Message))
	case frozen == nil && wasFrozen:
		events = append(events, newEvent(corev1.EventTypeNormal, EventUnfrozen, "Publishing is no longer frozen."))
	}
	if exceeded := meta.FindStatusCondition(updated.Conditions, greenlightv1alpha1.ConditionDeadlineExceeded); exceeded != nil &&
		meta.FindStatusCondition(old.Conditions, greenlightv1alpha1.ConditionDeadlineExceeded) == nil {
		events = append(events, newEvent(corev1.EventTypeWarning, EventDeadlineExceeded, exceeded.Message))
	}
	return events
}

func stalledMessage(status *greenlightv1alpha1.ContentPostStatus) string {
	for _, c := range status.Conditions {
		if c.Type == greenlightv1alpha1.ConditionStalled {
			return strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	return ""
}
