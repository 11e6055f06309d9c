package windows

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Finding 5: evaluation must take bounded time whatever Parse accepts. These tests bound the
// work by the steps the evaluation counts, not by the clock; bench_test.go measures the time.

// TestParseRefusesUnboundedSchedules: descriptors (@every 1s fired every second), time zone
// prefixes and more or fewer than five fields are refused, and so are schedules that never fire.
func TestParseRefusesUnboundedSchedules(t *testing.T) {
	cases := []struct {
		schedule string
		message  string
	}{
		{"@every 1s", `schedule "@every 1s" is not a five-field cron schedule`},
		{"@daily", `schedule "@daily" is not a five-field cron schedule`},
		{"@hourly", `schedule "@hourly" is not a five-field cron schedule`},
		{"TZ=Europe/Berlin 0 9 * * *", `schedule "TZ=Europe/Berlin 0 9 * * *" is not a five-field cron schedule`},
		{"CRON_TZ=UTC 0 9 * * *", `schedule "CRON_TZ=UTC 0 9 * * *" is not a five-field cron schedule`},
		{"*/1 * * * * *", `schedule "*/1 * * * * *" is not a five-field cron schedule`},
		{"0 0 30 2 *", `schedule "0 0 30 2 *" never fires: none of the months it names has any of its days of the month`},
		{"0 0 31 4 *", `schedule "0 0 31 4 *" never fires`},
		{"0 0 31 2,4,6,9,11 *", `schedule "0 0 31 2,4,6,9,11 *" never fires`},
		{"0 0 30-31 feb *", `schedule "0 0 30-31 feb *" never fires`},
		// "*/2" restricts nothing of its own: 30 February and an even weekday, never.
		{"0 0 30 2 */2", `schedule "0 0 30 2 */2" never fires`},
	}
	for _, tc := range cases {
		t.Run(tc.schedule, func(t *testing.T) {
			g := NewWithT(t)
			_, err := Parse([]greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, tc.schedule, time.Hour, "")})
			g.Expect(err).To(MatchError(ContainSubstring("spec.windows[0]." + tc.message)))
		})
	}
	// Rare is fine: 29 February; the 31st of the months that have one; 30 February or Mondays.
	for _, schedule := range []string{"0 0 29 2 *", "0 0 31 * *", "0 0 30 2 1"} {
		_, err := Parse([]greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, schedule, time.Hour, "")})
		NewWithT(t).Expect(err).NotTo(HaveOccurred(), schedule)
	}
}

// TestDenyWindowThatNeverClosesIsAnsweredQuickly: Deny windows whose runs never end (each
// occurrence opens before the previous one closes) give "no window within a year" after a walk
// over the year's days, not over its minutes; alone or twenty together.
func TestDenyWindowThatNeverClosesIsAnsweredQuickly(t *testing.T) {
	from := at("Europe/Berlin", "2026-11-24 10:17")
	deny := func(schedule string, d time.Duration) greenlightv1alpha1.Window {
		return win(greenlightv1alpha1.WindowDeny, schedule, d, "Europe/Berlin")
	}
	twentyZones := func(schedule string, d time.Duration) []greenlightv1alpha1.Window {
		var specs []greenlightv1alpha1.Window
		for i := range 20 {
			specs = append(specs, win(greenlightv1alpha1.WindowDeny, schedule, d, fuzzZones[i%len(fuzzZones)]))
		}
		return specs
	}
	cases := []struct {
		name     string
		windows  []greenlightv1alpha1.Window
		maxSteps int
	}{
		{"every minute for a day", []greenlightv1alpha1.Window{deny("* * * * *", 24*time.Hour)}, 5_000},
		// Two hours bridge the hour that repeats when clocks go back, in which the schedule does
		// not fire again (see TestDSTRepeatedHours).
		{"every minute for two hours", []greenlightv1alpha1.Window{deny("* * * * *", 2*time.Hour)}, 5_000},
		{"every half hour for half an hour", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0,30 * * * *", 30*time.Minute, "UTC")}, 5_000},
		{"every day for ten years", []greenlightv1alpha1.Window{deny("0 3 * * *", 87600*time.Hour)}, 5_000},
		{"every minute for ten years", []greenlightv1alpha1.Window{deny("* * * * *", 87600*time.Hour)}, 5_000},
		{"twenty zones, every minute for a day", twentyZones("* * * * *", 24*time.Hour), 20_000},
		{"an Allow window beside it", []greenlightv1alpha1.Window{
			deny("* * * * *", 24*time.Hour), win(greenlightv1alpha1.WindowAllow, "* * * * *", 30*time.Second, "UTC"),
		}, 5_000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			set, err := Parse(tc.windows)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(set.Allowed(from)).To(BeFalse())

			e := set.sweepFrom(from)
			next, found := e.nextAllowed(from)
			g.Expect(found).To(BeFalse())
			g.Expect(next).To(BeTemporally("==", from.Add(horizon)), "searched the whole horizon")
			g.Expect(e.steps).To(BeNumerically("<", tc.maxSteps))
			g.Expect(e.exhausted()).To(BeFalse(), "answered by the walk, not by the budget")

			got, ok := set.NextAllowed(from)
			g.Expect(ok).To(BeFalse())
			g.Expect(got.IsZero()).To(BeTrue())
			g.Expect(set.NextEdge(from)).To(BeTemporally("==", from.Add(horizon)), "look again after a year")
		})
	}
}

// TestLongDurationLooksBackByDays: a window that fires on 29 February only and lasts five years
// covers today from 2024; finding that takes a walk back over months, not minutes.
func TestLongDurationLooksBackByDays(t *testing.T) {
	g := NewWithT(t)
	now := at("UTC", "2026-11-24 10:00")
	for _, kind := range []greenlightv1alpha1.WindowKind{greenlightv1alpha1.WindowDeny, greenlightv1alpha1.WindowAllow} {
		set, err := Parse([]greenlightv1alpha1.Window{win(kind, "0 0 29 2 *", 5*8766*time.Hour, "")})
		g.Expect(err).NotTo(HaveOccurred())
		e := set.sweepFrom(now)
		g.Expect(e.allowed(now)).To(Equal(kind == greenlightv1alpha1.WindowAllow), kind)
		g.Expect(e.steps).To(BeNumerically("<", 200), kind)
	}
	// Nearly 292 years (the longest duration) of a window that fires on 29 February when it is
	// a Sunday, decades apart: the last one, 29 February 2004, still covers today.
	set, err := Parse([]greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 0 29 2 */7", 2_500_000*time.Hour, "")})
	g.Expect(err).NotTo(HaveOccurred())
	e := set.sweepFrom(now)
	g.Expect(e.allowed(now)).To(BeFalse())
	g.Expect(e.steps).To(BeNumerically("<", 1_000))
	_, found := set.NextAllowed(now)
	g.Expect(found).To(BeFalse())
}

// TestEvaluationOverBudgetFailsClosed: windows that interleave minute by minute until December
// would take half a million steps to answer. The search stops at its budget and fails closed:
// no window found, never "allowed".
func TestEvaluationOverBudgetFailsClosed(t *testing.T) {
	g := NewWithT(t)
	set, err := Parse([]greenlightv1alpha1.Window{
		win(greenlightv1alpha1.WindowAllow, "* * * * *", 30*time.Second, "UTC"),
		win(greenlightv1alpha1.WindowDeny, "* * * 1-11 *", 45*time.Second, "UTC"),
	})
	g.Expect(err).NotTo(HaveOccurred())
	from := at("UTC", "2026-01-01 00:00")
	g.Expect(set.Allowed(at("UTC", "2026-12-01 00:00"))).To(BeTrue(), "publishing is allowed in December")

	e := set.sweepFrom(from)
	_, found := e.nextAllowed(from)
	g.Expect(found).To(BeFalse())
	g.Expect(e.exhausted()).To(BeTrue())
	g.Expect(e.steps).To(BeNumerically("<", maxSteps+1_000), "stops at the budget")

	_, found = set.NextAllowed(from)
	g.Expect(found).To(BeFalse())
	// The reconciler looks again where the search stopped: not after December, and not allowed
	// before.
	edge := set.NextEdge(from)
	g.Expect(edge).To(BeTemporally(">", from))
	g.Expect(edge).To(BeTemporally("<=", at("UTC", "2026-12-01 00:00")))
}
