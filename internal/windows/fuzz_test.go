package windows

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// fuzzZones mixes plain zones with the awkward ones: 30- and 45-minute offsets and DST shifts,
// transitions at midnight, negative DST (Dublin), a skipped day (Apia, 30 December 2011).
var fuzzZones = []string{
	"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Havana",
	"America/Santiago", "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns", "Europe/Dublin",
	"Africa/Casablanca", "Pacific/Apia", "Asia/Tehran", "America/Sao_Paulo",
}

// fuzzEpoch and fuzzSpan keep fuzzed times between 2000 and 2100, where the zones above have
// minute-aligned offsets and transitions, as the reference needs.
var fuzzEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const fuzzSpan = 100 * 365 * 24 * time.Hour

// referenceMaxDuration is the longest duration the minute-by-minute reference checks.
const referenceMaxDuration = 3 * 24 * time.Hour

func FuzzWindows(f *testing.F) {
	berlinGap := time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC).Sub(fuzzEpoch) // 04:00 CEST
	f.Add("0 2 * * *", int64(3*3600), uint8(1), int64(berlinGap), true)
	f.Add("*/15 2 * * *", int64(600), uint8(1), int64(berlinGap-55*time.Minute), true)
	f.Add("30 1 * * *", int64(3600), uint8(2), int64(time.Date(2026, 11, 1, 6, 15, 0, 0, time.UTC).Sub(fuzzEpoch)), true)
	f.Add("15 2 * * *", int64(3600), uint8(3), int64(time.Date(2026, 10, 3, 16, 0, 0, 0, time.UTC).Sub(fuzzEpoch)), false)
	f.Add("* * * * *", int64(24*3600), uint8(0), int64(123456789), true)
	f.Add("0 18 * * 5", int64(62*3600), uint8(1), int64(time.Date(2026, 10, 25, 12, 0, 0, 0, time.UTC).Sub(fuzzEpoch)), true)
	f.Add("0 0 29 2 *", int64(5*365*24*3600), uint8(4), int64(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).Sub(fuzzEpoch)), true)
	f.Add("59 23 30 12 *", int64(7200), uint8(11), int64(time.Date(2011, 12, 29, 11, 0, 0, 0, time.UTC).Sub(fuzzEpoch)), true)
	f.Fuzz(func(t *testing.T, expr string, seconds int64, zone uint8, at int64, deny bool) {
		spec := fuzzWindow(expr, seconds, zone, deny)
		when := fuzzEpoch.Add(time.Duration(at % int64(fuzzSpan)).Abs())
		set, err := Parse([]greenlightv1alpha1.Window{spec})
		if err != nil {
			return
		}
		if spec.Duration.Duration <= referenceMaxDuration {
			want := referenceCovered(set.windows[0], when) != deny
			if got := set.Allowed(when); got != want {
				t.Fatalf("%+v: Allowed(%s) = %t, the reference says %t", spec, when, got, want)
			}
		}
		checkNextAllowed(t, set, when)
		checkNextEdge(t, set, when)

		// The same window with a Deny over lunch, to exercise sweeps over several windows.
		companion, err := Parse([]greenlightv1alpha1.Window{spec, win(greenlightv1alpha1.WindowDeny, "0 12 * * *", time.Hour, "Europe/Berlin")})
		if err != nil {
			t.Fatal(err)
		}
		checkNextAllowed(t, companion, when)
		checkNextEdge(t, companion, when)
	})
}

func fuzzWindow(expr string, seconds int64, zone uint8, deny bool) greenlightv1alpha1.Window {
	kind := greenlightv1alpha1.WindowAllow
	if deny {
		kind = greenlightv1alpha1.WindowDeny
	}
	// Durations from one second to ten years.
	d := time.Duration(seconds%(87600*3600)).Abs() * time.Second
	if d == 0 {
		d = time.Second
	}
	return greenlightv1alpha1.Window{
		Kind: kind, Schedule: expr, Duration: metav1.Duration{Duration: d},
		TimeZone: fuzzZones[int(zone)%len(fuzzZones)],
	}
}

// checkNextAllowed: the time found is allowed, no edge before it is, and an allowed t is its
// own answer.
func checkNextAllowed(t *testing.T, set *Set, when time.Time) {
	t.Helper()
	next, found := set.NextAllowed(when)
	allowed := set.Allowed(when)
	if allowed && (!found || !next.Equal(when)) {
		t.Fatalf("allowed at %s, but NextAllowed = %s, %t", when, next, found)
	}
	if !found {
		return
	}
	if next.Before(when) || next.After(when.Add(horizon)) || !set.Allowed(next) {
		t.Fatalf("NextAllowed(%s) = %s: before, beyond the horizon or not allowed", when, next)
	}
	for c, i := when, 0; c.Before(next) && i < 50; i++ {
		if set.Allowed(c) {
			t.Fatalf("NextAllowed(%s) = %s, but %s is allowed", when, next, c)
		}
		c = set.NextEdge(c)
	}
}

// checkNextEdge: Allowed stays as it is until the edge, and changes there.
func checkNextEdge(t *testing.T, set *Set, when time.Time) {
	t.Helper()
	edge := set.NextEdge(when)
	if !edge.After(when) {
		t.Fatalf("NextEdge(%s) = %s, not after it", when, edge)
	}
	allowed := set.Allowed(when)
	for k := int64(1); k < 8; k++ {
		probe := when.Add(edge.Sub(when) * time.Duration(k) / 8)
		if set.Allowed(probe) != allowed {
			t.Fatalf("NextEdge(%s) = %s, but Allowed changes before it, at %s", when, edge, probe)
		}
	}
	if edge.Before(when.Add(horizon)) && set.Allowed(edge) == allowed {
		t.Fatalf("NextEdge(%s) = %s, but Allowed does not change there", when, edge)
	}
}

// referenceCovered decides whether an occurrence of w covers t the slow way: it walks the
// instants before t minute by minute, tracks the highest reading the local clock has reached,
// and fires every matching wall-clock minute at the instant the clock first reaches it. That is
// the DST rule (a skipped time fires when the gap ends, a repeated time fires once, the first
// time) without any zone-transition arithmetic.
func referenceCovered(w window, t time.Time) bool {
	start := t.Add(-w.duration - 3*24*time.Hour).Truncate(time.Minute)
	reached := wallMinute(start, w.loc)
	for i := start.Add(time.Minute); !i.After(t); i = i.Add(time.Minute) {
		now := wallMinute(i, w.loc)
		for m := reached + 1; m <= now; m++ {
			if referenceMatches(w.schedule, m) && i.Add(w.duration).After(t) {
				return true
			}
		}
		reached = max(reached, now)
	}
	return false
}

// wallMinute returns the minutes since 1970 that the local clock shows at i, read as UTC.
func wallMinute(i time.Time, loc *time.Location) int64 {
	l := i.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC).Unix() / 60
}

// referenceMatches tests a wall-clock minute against the schedule's fields directly.
func referenceMatches(s *schedule, minute int64) bool {
	c := time.Unix(minute*60, 0).UTC()
	domMatch := s.dom&(1<<c.Day()) != 0
	dowMatch := s.dow&(1<<int(c.Weekday())) != 0
	dayMatch := domMatch && dowMatch
	if !s.domStar && !s.dowStar {
		dayMatch = domMatch || dowMatch
	}
	return dayMatch && s.minutes&(1<<c.Minute()) != 0 && s.hours&(1<<c.Hour()) != 0 &&
		s.months&(1<<int(c.Month())) != 0
}

// TestWindowsAgainstReference runs the fuzz checks on generated schedules (lists, ranges and
// steps that parse) at times close to the zones' transitions, where random strings rarely go.
func TestWindowsAgainstReference(t *testing.T) {
	random := rand.New(rand.NewPCG(1, 2))
	field := func(low, high int) string {
		a := low + random.IntN(high-low+1)
		b := a + random.IntN(high-a+1)
		return []string{"*", strconv.Itoa(a), fmt.Sprintf("*/%d", 1+random.IntN(high)), fmt.Sprintf("%d-%d", a, b),
			fmt.Sprintf("%d-%d/%d", a, b, 1+random.IntN(5)), fmt.Sprintf("%d,%d", a, b)}[random.IntN(6)]
	}
	durations := []int64{1, 30, 60, 61, 90, 1800, 3600, 5400, 86400, 2 * 86400}
	for range 300 {
		expr := strings.Join([]string{field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 7)}, " ")
		if random.IntN(2) == 0 {
			expr = field(0, 59) + " " + field(0, 23) + " * * *"
		}
		spec := fuzzWindow(expr, durations[random.IntN(len(durations))], uint8(random.IntN(len(fuzzZones))), random.IntN(2) == 0)
		when := fuzzEpoch.Add(time.Duration(random.Int64N(int64(fuzzSpan))))
		if _, transition := when.In(mustLoad(spec.TimeZone)).ZoneBounds(); !transition.IsZero() {
			when = transition.Add(time.Duration(random.Int64N(int64(8*time.Hour))) - 4*time.Hour).Truncate(time.Minute)
		}
		set, err := Parse([]greenlightv1alpha1.Window{spec})
		if err != nil {
			continue
		}
		if want := referenceCovered(set.windows[0], when) != (spec.Kind == greenlightv1alpha1.WindowDeny); set.Allowed(when) != want {
			t.Fatalf("%+v: Allowed(%s) = %t, the reference says %t", spec, when, !want, want)
		}
		checkNextAllowed(t, set, when)
		checkNextEdge(t, set, when)
	}
}
