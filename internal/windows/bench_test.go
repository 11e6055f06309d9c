package windows

import (
	"testing"
	"time"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// The benchmarks measure the worst cases of finding 5 on Sets of 20 windows. They start in 2040,
// past the zones' last listed transitions, where every zone lookup evaluates a rule and costs
// the most. Run them with
//
//	go test -run '^$' -bench . -benchtime 20x ./internal/windows
//
// steps/op is the work the budget counts (maxSteps per call at most).

var benchStart = time.Date(2040, 6, 3, 10, 17, 29, 0, time.UTC)

var benchZones = []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Havana", "Pacific/Chatham"}

// twenty returns 20 windows built by make, each in one of benchZones.
func twenty(make func(i int, zone string) greenlightv1alpha1.Window) []greenlightv1alpha1.Window {
	var specs []greenlightv1alpha1.Window
	for i := range 20 {
		specs = append(specs, make(i, benchZones[i%len(benchZones)]))
	}
	return specs
}

func mustParse(b *testing.B, specs []greenlightv1alpha1.Window) *Set {
	b.Helper()
	set, err := Parse(specs)
	if err != nil {
		b.Fatal(err)
	}
	return set
}

// benchNextAllowed runs NextAllowed and reports the work of one call.
func benchNextAllowed(b *testing.B, set *Set) {
	b.Helper()
	var steps int
	for b.Loop() {
		e := set.sweepFrom(benchStart)
		e.nextAllowed(benchStart)
		steps = e.steps
	}
	b.ReportMetric(float64(steps), "steps/op")
}

// Deny windows that never close: every minute, each open for a day.
func BenchmarkNextAllowedDenyNeverCloses(b *testing.B) {
	benchNextAllowed(b, mustParse(b, twenty(func(_ int, zone string) greenlightv1alpha1.Window {
		return win(greenlightv1alpha1.WindowDeny, "* * * * *", 24*time.Hour, zone)
	})))
}

// Ten years long Deny windows that fire once a day, so that their runs never end either.
func BenchmarkNextAllowedHugeDurations(b *testing.B) {
	benchNextAllowed(b, mustParse(b, twenty(func(_ int, zone string) greenlightv1alpha1.Window {
		return win(greenlightv1alpha1.WindowDeny, "0 3 * * *", 87600*time.Hour, zone)
	})))
}

// The worst case: windows that interleave minute by minute and never allow publishing, so the
// sweep alternates between them until the budget runs out (and fails closed).
func BenchmarkNextAllowedWorstCase(b *testing.B) {
	benchNextAllowed(b, mustParse(b, twenty(func(i int, zone string) greenlightv1alpha1.Window {
		if i%2 == 0 {
			return win(greenlightv1alpha1.WindowAllow, "* * * * *", 30*time.Second, zone)
		}
		return win(greenlightv1alpha1.WindowDeny, "* * * * *", 45*time.Second, zone)
	})))
}

// Allow windows whose union covers all time in runs of one minute: NextEdge alternates between
// them.
func BenchmarkNextEdgeWorstCase(b *testing.B) {
	set := mustParse(b, twenty(func(i int, zone string) greenlightv1alpha1.Window {
		if i%2 == 0 {
			return win(greenlightv1alpha1.WindowAllow, "0-58/2 * * * *", 90*time.Second, zone)
		}
		return win(greenlightv1alpha1.WindowAllow, "1-59/2 * * * *", 90*time.Second, zone)
	}))
	var steps int
	for b.Loop() {
		e := set.sweepFrom(benchStart)
		e.nextEdge(benchStart)
		steps = e.steps
	}
	b.ReportMetric(float64(steps), "steps/op")
}

// A window firing on 29 February when it is a Sunday (decades apart), open for most of the
// 292 years a duration can span: Allowed looks back over decades, a month at a time.
func BenchmarkAllowedLongLookBack(b *testing.B) {
	set := mustParse(b, twenty(func(_ int, zone string) greenlightv1alpha1.Window {
		return win(greenlightv1alpha1.WindowDeny, "0 0 29 2 */7", 2_500_000*time.Hour, zone)
	}))
	var steps int
	for b.Loop() {
		e := set.sweepFrom(benchStart)
		e.allowed(benchStart)
		steps = e.steps
	}
	b.ReportMetric(float64(steps), "steps/op")
}

// A realistic policy: weekend and night Deny windows, office-hours Allow windows in several
// zones.
func BenchmarkNextAllowedRealistic(b *testing.B) {
	benchNextAllowed(b, mustParse(b, twenty(func(i int, zone string) greenlightv1alpha1.Window {
		switch i % 4 {
		case 0:
			return win(greenlightv1alpha1.WindowDeny, "0 18 * * 5", 62*time.Hour, zone)
		case 1:
			return win(greenlightv1alpha1.WindowDeny, "0 22 * * *", 10*time.Hour, zone)
		case 2:
			return win(greenlightv1alpha1.WindowAllow, "0 9 * * 1-5", 8*time.Hour, zone)
		default:
			return win(greenlightv1alpha1.WindowDeny, "*/30 12 * * *", 15*time.Minute, zone)
		}
	})))
}
