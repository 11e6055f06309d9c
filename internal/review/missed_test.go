package review

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func TestRecordMissedDeadlines(t *testing.T) {
	nine := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: nine.Add(d)} }
	missed := func(department string, d time.Duration, action greenlightv1alpha1.MissedDeadlineAction) greenlightv1alpha1.MissedDeadline {
		return greenlightv1alpha1.MissedDeadline{Department: department, Deadline: *at(d), OnMissed: action}
	}
	const expire, notify = greenlightv1alpha1.MissedDeadlineExpire, greenlightv1alpha1.MissedDeadlineNotify
	departments := []greenlightv1alpha1.DepartmentStatus{
		{Name: "marketing", Deadline: at(2 * time.Hour)},
		{Name: "legal", Deadline: at(time.Hour)},
		{Name: "pr"}, // no deadline
	}
	full := make([]greenlightv1alpha1.MissedDeadline, MaxMissedDeadlines)
	for i := range full {
		full[i] = missed(fmt.Sprintf("d%d", i), time.Duration(i)*time.Minute-48*time.Hour, expire)
	}

	tests := []struct {
		name     string
		recorded []greenlightv1alpha1.MissedDeadline
		// previous are the departments of the stored status; nil means the same as departments.
		previous []greenlightv1alpha1.DepartmentStatus
		outcome  DeadlineOutcome
		want     []greenlightv1alpha1.MissedDeadline
	}{
		{name: "nothing missed", want: nil},
		{name: "an expiry and a notify, oldest deadline first",
			outcome: DeadlineOutcome{Expired: []string{"marketing"}, Exceeded: []string{"legal"}},
			want:    []greenlightv1alpha1.MissedDeadline{missed("legal", time.Hour, notify), missed("marketing", 2*time.Hour, expire)}},
		{name: "recorded once: the next reconcile, or a restarted manager, sees it in the status",
			recorded: []greenlightv1alpha1.MissedDeadline{missed("legal", time.Hour, notify)},
			outcome:  DeadlineOutcome{Exceeded: []string{"legal"}},
			want:     []greenlightv1alpha1.MissedDeadline{missed("legal", time.Hour, notify)}},
		{name: "a new deadline of the same department is a new miss",
			recorded: []greenlightv1alpha1.MissedDeadline{missed("legal", -24*time.Hour, expire)},
			outcome:  DeadlineOutcome{Expired: []string{"legal"}},
			want:     []greenlightv1alpha1.MissedDeadline{missed("legal", -24*time.Hour, expire), missed("legal", time.Hour, expire)}},
		{name: "a department without a deadline is not recorded", outcome: DeadlineOutcome{Exceeded: []string{"pr", "unknown"}}},
		{name: "the latest 100 are kept",
			recorded: full, outcome: DeadlineOutcome{Expired: []string{"marketing"}},
			want: append(append([]greenlightv1alpha1.MissedDeadline{}, full[1:]...), missed("marketing", 2*time.Hour, expire))},
		{name: "a deadline older than a full list's oldest was dropped, not new",
			recorded: full,
			outcome:  DeadlineOutcome{Expired: []string{"old"}},
			want:     full},
		{name: "a deadline already past when it first appears (an edit moved it) is not the department's miss",
			previous: []greenlightv1alpha1.DepartmentStatus{{Name: "marketing", Deadline: at(30 * time.Hour)}, {Name: "legal"}},
			outcome:  DeadlineOutcome{Expired: []string{"marketing"}, Exceeded: []string{"legal"}}},
		{name: "nor on the reconciles after it, which find it stored as missed already",
			previous: []greenlightv1alpha1.DepartmentStatus{
				{Name: "marketing", Deadline: at(2 * time.Hour), State: greenlightv1alpha1.DepartmentExpired,
					Message: missedPrefix + "2026-11-23T11:00:00Z; a new revision of the fields it covers, or a later publishAt, reopens review"},
				{Name: "legal", Deadline: at(time.Hour), Message: missedPrefix + "2026-11-23T10:00:00Z; still waiting (onMissed: Notify)"}},
			outcome: DeadlineOutcome{Expired: []string{"marketing"}, Exceeded: []string{"legal"}}},
	}
	departments = append(departments, greenlightv1alpha1.DepartmentStatus{Name: "old", Deadline: at(-72 * time.Hour)})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			previous := tt.previous
			if previous == nil {
				previous = departments
			}
			got := RecordMissedDeadlines(tt.recorded, previous, departments, tt.outcome)
			g.Expect(got).To(Equal(tt.want))
			g.Expect(len(got)).To(BeNumerically("<=", MaxMissedDeadlines))
		})
	}
}
