package review

import (
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// DeadlineOutcome is what applyDeadlines found.
type DeadlineOutcome struct {
	// Next is the next time a deadline or reminder falls due; zero when none will.
	Next time.Time
	// Exceeded names the departments past their deadline whose policy says onMissed: Notify.
	Exceeded []string
	// Expired names the departments that missed their deadline and expired.
	Expired []string
}

// applyDeadlines sets each undecided department's deadline, expires (onMissed: Expire, the
// default) or flags (onMissed: Notify) the departments past theirs, and records the reminders
// that fell due in remindersSent, so that each is announced once. A department that expired stays
// Expired for the same covered revision and deadline, even if an approval arrives late or the
// post is set back to draft; a new revision (a new review) or a later publishAt (a later
// deadline) reopens it.
// missedPrefix starts the message of a department past its deadline (under onMissed Expire
// and Notify alike): RecordMissedDeadlines reads it to tell the reconcile in which a deadline
// passed from the ones after it.
const missedPrefix = "missed its deadline "

func applyDeadlines(post *greenlightv1alpha1.ContentPost, requirements []policy.Department,
	departments []greenlightv1alpha1.DepartmentStatus, now time.Time) DeadlineOutcome {
	var out DeadlineOutcome
	due := func(t time.Time) {
		if t.After(now) && (out.Next.IsZero() || t.Before(out.Next)) {
			out.Next = t
		}
	}
	for i, d := range requirements {
		st := &departments[i]
		prev := post.Status.Department(st.Name)
		if post.Spec.Draft {
			// Nothing falls due in a draft, but an expiry and a running review clock are kept for
			// when it is submitted again.
			switch {
			case st.State == greenlightv1alpha1.DepartmentExpired:
				st.Deadline, st.RemindersSent, st.Message = prev.Deadline, prev.RemindersSent, prev.Message
			case st.RequestedAt != nil && prev != nil:
				st.Deadline, st.RemindersSent = departmentDeadline(d, st.RequestedAt, post), prev.RemindersSent
			default:
				st.Deadline, st.RemindersSent = nil, nil
			}
			continue
		}
		deadline := departmentDeadline(d, st.RequestedAt, post)
		wasExpired := expiredBefore(prev, st.Revision) && deadline != nil && prev.Deadline.Equal(deadline)
		undecided := st.State == greenlightv1alpha1.DepartmentPending || st.State == greenlightv1alpha1.DepartmentWaiting
		if deadline == nil || (!undecided && !wasExpired) {
			st.Deadline, st.RemindersSent = nil, nil
			continue
		}
		st.Deadline = deadline

		if !now.Before(deadline.Time) || wasExpired {
			if onMissed(d) == greenlightv1alpha1.MissedDeadlineNotify {
				out.Exceeded = append(out.Exceeded, st.Name)
				st.Message = fmt.Sprintf(missedPrefix+"%s; still waiting (onMissed: Notify)", deadline.UTC().Format(time.RFC3339))
				continue
			}
			out.Expired = append(out.Expired, st.Name)
			st.State, st.ApprovedBy, st.DecidedAt, st.Comment = greenlightv1alpha1.DepartmentExpired, nil, nil, ""
			st.Message = fmt.Sprintf(missedPrefix+"%s; a new revision of the fields it covers, or a later publishAt, reopens review",
				deadline.UTC().Format(time.RFC3339))
			if prev != nil && prev.Deadline.Equal(deadline) {
				st.RemindersSent = prev.RemindersSent
			}
			continue
		}

		var nextReminder time.Time
		st.RemindersSent, nextReminder = remindersDue(d, prev, deadline, now)
		due(nextReminder)
		due(deadline.Time)
	}
	return out
}

// remindersDue returns the reminder offsets sent for deadline by now (those already sent for the
// same deadline stay sent; a new deadline starts afresh) and when the next one falls due.
func remindersDue(d policy.Department, prev *greenlightv1alpha1.DepartmentStatus, deadline *metav1.Time,
	now time.Time) (sent []string, next time.Time) {
	if prev != nil && prev.Deadline.Equal(deadline) {
		sent = slices.Clone(prev.RemindersSent)
	}
	if d.Deadlines == nil {
		return sent, time.Time{}
	}
	for _, offset := range d.Deadlines.Reminders {
		key := offset.Duration.String()
		if slices.Contains(sent, key) {
			continue
		}
		if remindAt := deadline.Add(-offset.Duration); now.Before(remindAt) {
			if next.IsZero() || remindAt.Before(next) {
				next = remindAt
			}
		} else {
			sent = append(sent, key)
		}
	}
	return sent, next
}

// departmentDeadline is when a department's decision is due: the earliest of its review's start
// plus its stage's reviewWindow and the post's publishAt minus the policy's leadTime, whichever
// are set.
func departmentDeadline(d policy.Department, requestedAt *metav1.Time, post *greenlightv1alpha1.ContentPost) *metav1.Time {
	var deadline *metav1.Time
	earliest := func(t time.Time) {
		t = t.Truncate(time.Second)
		if deadline == nil || t.Before(deadline.Time) {
			deadline = &metav1.Time{Time: t}
		}
	}
	if d.ReviewWindow != nil && requestedAt != nil {
		earliest(requestedAt.Add(d.ReviewWindow.Duration))
	}
	if d.Deadlines != nil && d.Deadlines.LeadTime != nil && post.Spec.PublishAt != nil {
		earliest(post.Spec.PublishAt.Add(-d.Deadlines.LeadTime.Duration))
	}
	return deadline
}

func onMissed(d policy.Department) greenlightv1alpha1.MissedDeadlineAction {
	if d.Deadlines == nil || d.Deadlines.OnMissed == "" {
		return greenlightv1alpha1.MissedDeadlineExpire
	}
	return d.Deadlines.OnMissed
}
