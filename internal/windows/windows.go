// Package windows decides when publishing is allowed, from an ApprovalPolicy's windows, with
// Argo CD sync-window semantics: a window opens at each time its cron schedule fires, in its time
// zone, and stays open for its duration. A Deny window always blocks; when any Allow window
// exists, publishing happens only inside one.
//
// Schedules are read in their IANA time zone (embedded tzdata, so every machine agrees), which
// makes "0 9 * * 1" mean 09:00 Berlin time in summer and in winter alike.
package windows

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Time zones load on every machine, with or without system tzdata.

	"github.com/robfig/cron/v3"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// horizon bounds the search for the next allowed time: windows that never open within a year
// are treated as never opening.
const horizon = 366 * 24 * time.Hour

// parser reads standard five-field cron schedules (minute hour day-of-month month day-of-week)
// and descriptors such as @daily.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// window is one parsed window.
type window struct {
	kind     greenlightv1alpha1.WindowKind
	schedule cron.Schedule
	duration time.Duration
}

// Set is a policy's windows, parsed.
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
	s.windows = append(s.windows, other.windows...)
	s.hasAllow = s.hasAllow || other.hasAllow
}

func parse(w greenlightv1alpha1.Window) (window, error) {
	zone := w.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return window{}, fmt.Errorf("timeZone %q is not an IANA time zone such as Europe/Berlin or America/New_York", w.TimeZone)
	}
	schedule, err := parser.Parse("CRON_TZ=" + zone + " " + w.Schedule)
	if err != nil {
		return window{}, fmt.Errorf("schedule %q is not a five-field cron schedule "+
			"(minute hour day-of-month month day-of-week, for example \"0 18 * * 5\"): %w", w.Schedule, err)
	}
	if w.Duration.Duration <= 0 {
		return window{}, errors.New("duration must be positive")
	}
	return window{kind: w.Kind, schedule: schedule, duration: w.Duration.Duration}, nil
}

// activeUntil returns when the occurrence of w that covers t ends, or the zero time when w is
// not open at t. An occurrence that fired at s covers [s, s+duration).
func (w window) activeUntil(t time.Time) time.Time {
	// The latest fire time in (t-duration, t], if any. Next is strictly after its argument.
	var end time.Time
	for s := w.schedule.Next(t.Add(-w.duration)); !s.IsZero() && !s.After(t); s = w.schedule.Next(s) {
		end = s.Add(w.duration) // later occurrences that also cover t end later
	}
	return end
}

// Allowed reports whether publishing is allowed at t.
func (s *Set) Allowed(t time.Time) bool {
	allowed := !s.hasAllow
	for _, w := range s.windows {
		if w.activeUntil(t).IsZero() {
			continue
		}
		if w.kind == greenlightv1alpha1.WindowDeny {
			return false
		}
		allowed = true
	}
	return allowed
}

// NextAllowed returns the earliest time at or after t when publishing is allowed, and false when
// no window allows it within a year.
func (s *Set) NextAllowed(t time.Time) (time.Time, bool) {
	limit := t.Add(horizon)
	for c := t; !c.After(limit); {
		if s.Allowed(c) {
			return c, true
		}
		next := s.NextEdge(c)
		if next.IsZero() {
			return time.Time{}, false
		}
		c = next
	}
	return time.Time{}, false
}

// NextEdge returns the first time after t at which some window opens or closes (when the answer
// of Allowed may change), or the zero time when no window ever fires again. Reconcilers requeue
// for it instead of polling.
func (s *Set) NextEdge(t time.Time) time.Time {
	var next time.Time
	earliest := func(c time.Time) {
		if !c.IsZero() && c.After(t) && (next.IsZero() || c.Before(next)) {
			next = c
		}
	}
	for _, w := range s.windows {
		earliest(w.schedule.Next(t))
		earliest(w.activeUntil(t))
	}
	return next
}
