package review

import (
	"slices"
	"strings"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// MaxMissedDeadlines is how many missed deadlines a post's status keeps (the latest).
const MaxMissedDeadlines = 100

// RecordMissedDeadlines returns the post's status.missedDeadlines after a review whose deadline
// outcome is outcome: each department past its deadline (expired under onMissed: Expire, or still
// waiting under onMissed: Notify) is appended once per deadline, oldest deadline first, and only
// the latest MaxMissedDeadlines are kept. The status is the record: a deadline already in it is
// never appended again, whatever reconciles or restarts happen. A deadline older than every kept
// entry of a full list is taken as one that was dropped to make room, and not appended again.
//
// A deadline is missed only in the reconcile in which it passes: the stored status (previous,
// the departments before this review) showed it, not yet missed. One that is past the moment it
// first appears, because an edit of publishAt moved it there or the post was submitted too late,
// is written as missed at once and so never counts on a later reconcile either: it was never the
// department's to meet, and must not let an author count misses against it at will. A deadline
// that passed while the manager was down still counts: the stored status shows it not missed.
func RecordMissedDeadlines(recorded []greenlightv1alpha1.MissedDeadline, previous, departments []greenlightv1alpha1.DepartmentStatus,
	outcome DeadlineOutcome) []greenlightv1alpha1.MissedDeadline {
	var missed []greenlightv1alpha1.MissedDeadline
	add := func(names []string, action greenlightv1alpha1.MissedDeadlineAction) {
		for _, name := range names {
			i := slices.IndexFunc(departments, func(d greenlightv1alpha1.DepartmentStatus) bool { return d.Name == name })
			if i < 0 || departments[i].Deadline == nil {
				continue
			}
			entry := greenlightv1alpha1.MissedDeadline{Department: name, Deadline: *departments[i].Deadline.DeepCopy(), OnMissed: action}
			if !shown(previous, entry) {
				continue
			}
			if !isRecorded(recorded, entry) {
				missed = append(missed, entry)
			}
		}
	}
	add(outcome.Expired, greenlightv1alpha1.MissedDeadlineExpire)
	add(outcome.Exceeded, greenlightv1alpha1.MissedDeadlineNotify)
	if len(missed) == 0 {
		return recorded
	}
	slices.SortStableFunc(missed, func(a, b greenlightv1alpha1.MissedDeadline) int { return a.Deadline.Compare(b.Deadline.Time) })
	out := append(slices.Clone(recorded), missed...)
	if len(out) > MaxMissedDeadlines {
		out = out[len(out)-MaxMissedDeadlines:]
	}
	return out
}

// isRecorded reports whether entry (a department and its deadline) is in recorded, or would have
// been dropped from a full list.
func isRecorded(recorded []greenlightv1alpha1.MissedDeadline, entry greenlightv1alpha1.MissedDeadline) bool {
	if len(recorded) >= MaxMissedDeadlines && entry.Deadline.Before(&recorded[0].Deadline) {
		return true
	}
	return slices.ContainsFunc(recorded, func(m greenlightv1alpha1.MissedDeadline) bool {
		return m.Department == entry.Department && m.Deadline.Equal(&entry.Deadline)
	})
}

// shown reports whether the department of entry had entry's deadline in previous, not yet
// missed.
func shown(previous []greenlightv1alpha1.DepartmentStatus, entry greenlightv1alpha1.MissedDeadline) bool {
	return slices.ContainsFunc(previous, func(d greenlightv1alpha1.DepartmentStatus) bool {
		return d.Name == entry.Department && d.Deadline != nil && d.Deadline.Equal(&entry.Deadline) &&
			!strings.HasPrefix(d.Message, missedPrefix)
	})
}
