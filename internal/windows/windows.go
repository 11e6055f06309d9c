// Package windows decides when publishing is allowed, from an ApprovalPolicy's windows, with
// Argo CD sync-window semantics: a window opens at each time its cron schedule fires, in its time
// zone, and stays open for its duration. A Deny window always blocks; when any Allow window
// exists, publishing happens only inside one.
//
// Schedules are standard five-field cron expressions (minute hour day-of-month month
// day-of-week; lists, ranges, steps, month and weekday names, 7 for Sunday; a day matches
// either day field when both are restricted, else both). Descriptors such as @daily or @every,
// TZ= prefixes and schedules that can never fire ("0 0 30 2 *") are refused.
//
// Schedules are read in their IANA time zone (embedded tzdata, so every machine agrees), which
// makes "0 9 * * 1" mean 09:00 Berlin time in summer and in winter alike. An occurrence opens at
// the first instant at which the zone's clock shows its time or later, and stays open for its
// duration in real time. So a time skipped when clocks go forward opens at the first instant
// after the gap (all skipped times of one gap open once, there), and a time shown twice when
// clocks go back opens once, at its first showing. Occurrences that open no later than the
// previous one closes form one run; Allowed changes only where runs start and end.
//
// Evaluation takes bounded time whatever the schedules and durations: it walks days, not
// minutes, looks back no further than a window's duration, and looks forward at most one year
// (the horizon); a window that opens no sooner counts as never opening. Searches that
// alternate between windows also have a work budget; when it runs out, the answer fails closed:
// publishing is not allowed and no window is found.
package windows

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Time zones load on every machine, with or without system tzdata.

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// horizon bounds the search for the next allowed time: windows that never open within a year
// are treated as never opening.
const horizon = 366 * 24 * time.Hour

// maxSteps is the work budget of one NextAllowed or NextEdge call: about 4 ms on a 2-core test
// machine (see bench_test.go). Searching a whole year of twenty daily windows takes about
// 60,000 steps; only windows that interleave minute by minute use it up.
const maxSteps = 200_000

// Set is a policy's windows, parsed. The zero value has no windows: publishing is always
// allowed.
type Set struct {
	windows  []window
	hasAllow bool
}

// Parse parses windows. The error lists every problem, each naming its field.
func Parse(specs []greenlightv1alpha1.Window) (*Set, error) {
	set := &Set{}
	var problems []string
	for i, w := range specs {
		parsed, err := parse(w)
		if err != nil {
			problems = append(problems, fmt.Sprintf("spec.windows[%d].%v", i, err))
			continue
		}
		set.windows = append(set.windows, parsed)
		set.hasAllow = set.hasAllow || w.Kind == greenlightv1alpha1.WindowAllow
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return set, nil
}

// Include adds other's windows to s, so that the windows of several policies apply together.
func (s *Set) Include(other *Set) {
	if other == nil {
		return
	}
	s.windows = append(s.windows, other.windows...)
	s.hasAllow = s.hasAllow || other.hasAllow
}

func parse(w greenlightv1alpha1.Window) (window, error) {
	if w.Kind != greenlightv1alpha1.WindowAllow && w.Kind != greenlightv1alpha1.WindowDeny {
		return window{}, fmt.Errorf("kind %q must be Allow or Deny", w.Kind)
	}
	loc, err := loadZone(w.TimeZone)
	if err != nil {
		return window{}, err
	}
	s, err := parseSchedule(w.Schedule)
	if err != nil {
		return window{}, fmt.Errorf("schedule %q is not a five-field cron schedule "+
			"(minute hour day-of-month month day-of-week, for example \"0 18 * * 5\"): %w", w.Schedule, err)
	}
	if why := s.neverFires(); why != "" {
		return window{}, fmt.Errorf("schedule %q never fires: %s", w.Schedule, why)
	}
	if w.Duration.Duration <= 0 {
		return window{}, fmt.Errorf("duration %q must be positive, for example \"1h\"", w.Duration.Duration)
	}
	return newWindow(w.Kind, s, loc, w.Duration.Duration), nil
}

// loadZone loads an IANA zone, UTC when empty. "Local" is refused: it would make a policy mean
// different times on different machines.
func loadZone(name string) (*time.Location, error) {
	zone := name
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return nil, fmt.Errorf("timeZone %q is not an IANA time zone such as Europe/Berlin or America/New_York", name)
	}
	return loc, nil
}

// Allowed reports whether publishing is allowed at t.
func (s *Set) Allowed(t time.Time) bool {
	return s.sweepFrom(t).allowed(t)
}

// NextAllowed returns the earliest time at or after t when publishing is allowed, and false when
// no window allows it within a year (or the search ran out of budget, which fails closed).
func (s *Set) NextAllowed(t time.Time) (time.Time, bool) {
	at, found := s.sweepFrom(t).nextAllowed(t)
	if !found {
		return time.Time{}, false
	}
	return at, true
}

// NextEdge returns the first time after t at which Allowed changes, for the reconciler to
// requeue for instead of polling. When Allowed stays the same for a year, or the search runs out
// of budget, it returns how far the search got: a time to look again. It returns the zero time
// only for a Set without windows, which never changes.
func (s *Set) NextEdge(t time.Time) time.Time {
	if len(s.windows) == 0 {
		return time.Time{}
	}
	return s.sweepFrom(t).nextEdge(t)
}
