package controllers

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

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
)

// postEvent is a Kubernetes Event to record on a post.
type postEvent struct {
	eventType string
	reason    string
	message   string
}

// postEvents lists the events for the transition from old to updated, in department order. It
// is called only after the new status was written, so each transition is announced once.
func postEvents(old, updated *greenlightv1alpha1.ContentPostStatus) []postEvent {
	var events []postEvent
	for _, d := range updated.Departments {
		prev := findDepartment(old.Departments, d.Name)
		// A new comment from another reviewer on the same revision is news too.
		changed := prev == nil || prev.State != d.State || prev.Revision != d.Revision || prev.Comment != d.Comment
		switch {
		case d.State == greenlightv1alpha1.DepartmentPending && changed:
			events = append(events, postEvent{corev1.EventTypeNormal, EventReviewRequested,
				fmt.Sprintf("Review requested from %s (stage %s) for revision %s.", d.Name, d.Stage, shortRevision(d.Revision))})
		case d.State == greenlightv1alpha1.DepartmentChangesRequested && changed:
			events = append(events, postEvent{corev1.EventTypeNormal, EventChangesRequested,
				fmt.Sprintf("%s requested changes: %s", d.Name, d.Comment)})
		case d.State == greenlightv1alpha1.DepartmentRejected && changed:
			events = append(events, postEvent{corev1.EventTypeWarning, EventRejected,
				fmt.Sprintf("%s rejected revision %s: %s", d.Name, shortRevision(d.Revision), d.Comment)})
		}
		for _, reviewer := range d.ApprovedBy {
			if prev == nil || prev.Revision != d.Revision || !slices.Contains(prev.ApprovedBy, reviewer) {
				events = append(events, postEvent{corev1.EventTypeNormal, EventSignOffCounted,
					fmt.Sprintf("%s's approval counts for %s (%d of %d).", reviewer, d.Name,
						slices.Index(d.ApprovedBy, reviewer)+1, d.MinApprovals)})
			}
		}
	}

	if updated.Phase != old.Phase {
		switch updated.Phase {
		case greenlightv1alpha1.PostScheduled:
			events = append(events, postEvent{corev1.EventTypeNormal, EventApproved,
				fmt.Sprintf("Every required department approved revision %s.", shortRevision(updated.Revision))})
		case greenlightv1alpha1.PostBlocked:
			events = append(events, postEvent{corev1.EventTypeWarning, EventBlocked, stalledMessage(updated)})
		}
	} else if updated.Phase == greenlightv1alpha1.PostBlocked && stalledMessage(old) != stalledMessage(updated) {
		// Still blocked, for another reason.
		events = append(events, postEvent{corev1.EventTypeWarning, EventBlocked, stalledMessage(updated)})
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
