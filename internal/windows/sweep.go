package windows

import (
	"time"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// sweep evaluates a Set's windows forward from one instant, up to the horizon and within the
// work budget. It remembers, per window, how long what it learned stays true, so that each
// window is looked at again only once the sweep passes one of its edges; the budget stops it
// when windows interleave finely.
type sweep struct {
	set *Set
	// limit is the end of the horizon; beyond is the first instant after it.
	limit, beyond time.Time
	// states[i] is what the sweep knows about set.windows[i], zones[i] its zone's periods.
	states []windowState
	zones  []*zoneCache
	// steps counts the work done so far, across all windows.
	steps int
}

// windowState says whether a window is open over [from, until). When open, until is the end
// of the run; when closed, when it next opens (beyond the horizon when it does not).
type windowState struct {
	known       bool
	open        bool
	from, until time.Time
}

func (s *Set) sweepFrom(t time.Time) *sweep {
	limit := t.Add(horizon)
	e := &sweep{
		set: s, limit: limit, beyond: limit.Add(time.Nanosecond),
		states: make([]windowState, len(s.windows)), zones: make([]*zoneCache, len(s.windows)),
	}
	// Windows in one zone share its periods.
	byName := map[string]*zoneCache{}
	for i, w := range s.windows {
		name := w.loc.String()
		if byName[name] == nil {
			byName[name] = &zoneCache{loc: w.loc, steps: &e.steps}
		}
		e.zones[i] = byName[name]
	}
	return e
}

func (e *sweep) exhausted() bool { return e.steps > maxSteps }

func (e *sweep) probe(i int) probe {
	return probe{w: &e.set.windows[i], zone: zoneCursor{zone: e.zones[i]}, steps: &e.steps}
}

// allowed reports whether publishing is allowed at x. It looks at each window once, so it needs
// no budget.
func (e *sweep) allowed(x time.Time) bool {
	allowed := !e.set.hasAllow
	for i := range e.set.windows {
		w := &e.set.windows[i]
		p := e.probe(i)
		if _, _, open := p.cover(x); !open {
			continue
		}
		if w.kind == greenlightv1alpha1.WindowDeny {
			return false
		}
		allowed = true
	}
	return allowed
}

// state returns window i's state at x, which must not be before earlier questions.
func (e *sweep) state(i int, x time.Time) windowState {
	st := &e.states[i]
	if !st.known || x.Before(st.from) || !x.Before(st.until) {
		*st = e.evaluate(i, x)
	}
	return *st
}

func (e *sweep) evaluate(i int, x time.Time) windowState {
	p, w := e.probe(i), &e.set.windows[i]
	limit := e.limit.Unix()
	last, found, open := p.cover(x)
	if open {
		return windowState{known: true, open: true, from: x, until: w.end(p.lastOfRun(last, limit))}
	}
	var next occurrence
	var ok bool
	if found {
		// The occurrence after the last one at or before x is the first after x.
		next, ok = p.next(last, limit)
	} else {
		next, ok = p.firstAtOrAfter(ceilSeconds(x), limit)
	}
	until := e.beyond
	if ok {
		until = time.Unix(next.at, 0)
	}
	return windowState{known: true, from: x, until: until}
}

// ceilSeconds returns the first whole second at or after x: occurrences fire on whole seconds.
func ceilSeconds(x time.Time) int64 {
	if x.Nanosecond() != 0 {
		return x.Unix() + 1
	}
	return x.Unix()
}

// nextAllowed returns the earliest time at or after t when publishing is allowed. When it finds
// none it returns false and how far it searched: publishing is not allowed before that time.
func (e *sweep) nextAllowed(t time.Time) (time.Time, bool) {
	x := t
	for !x.After(e.limit) && !e.exhausted() {
		blockedUntil, blocked := e.blockedUntil(x)
		if !blocked {
			return x, true
		}
		x = blockedUntil
	}
	return minTime(x, e.limit), false
}

// blockedUntil reports whether publishing is blocked at x and, if so, until when at least: the
// end of a Deny run open at x, else, when no Allow window is open, the first Allow opening.
func (e *sweep) blockedUntil(x time.Time) (time.Time, bool) {
	for i := range e.set.windows {
		if e.set.windows[i].kind != greenlightv1alpha1.WindowDeny {
			continue
		}
		if st := e.state(i, x); st.open {
			return st.until, true
		}
	}
	if !e.set.hasAllow {
		return time.Time{}, false
	}
	nextAllow := e.beyond
	for i := range e.set.windows {
		if e.set.windows[i].kind != greenlightv1alpha1.WindowAllow {
			continue
		}
		st := e.state(i, x)
		if st.open {
			return time.Time{}, false
		}
		nextAllow = minTime(nextAllow, st.until)
	}
	return nextAllow, true
}

// nextEdge returns the first time after t at which Allowed changes, or how far the search got.
func (e *sweep) nextEdge(t time.Time) time.Time {
	var edge time.Time
	if e.allowed(t) {
		edge = e.nextDisallowed(t)
	} else {
		edge, _ = e.nextAllowed(t)
	}
	if !edge.After(t) {
		// Only a search that ran out of budget at once gets here; look again shortly.
		edge = t.Add(time.Minute)
	}
	return edge
}

// nextDisallowed returns the first time after t, when publishing is allowed at t, at which it
// is not: a Deny window opens or the Allow windows all close. When the budget runs out it
// returns how far publishing is known to stay allowed.
func (e *sweep) nextDisallowed(t time.Time) time.Time {
	end := e.limit
	for i, w := range e.set.windows {
		// No Deny window is open at t: its state says when it opens.
		if st := e.state(i, t); w.kind == greenlightv1alpha1.WindowDeny && st.until.Before(end) {
			end = st.until
		}
	}
	if !e.set.hasAllow {
		return end
	}
	return e.pastAllowRuns(t, end)
}

// pastAllowRuns returns the first time at or after x that no Allow window covers, searching no
// further than until and within the budget.
func (e *sweep) pastAllowRuns(x, until time.Time) time.Time {
	for x.Before(until) && !e.exhausted() {
		next := x
		for i, w := range e.set.windows {
			if st := e.state(i, x); w.kind == greenlightv1alpha1.WindowAllow && st.open && st.until.After(next) {
				next = st.until
			}
		}
		if next.Equal(x) {
			return x
		}
		x = next
	}
	return minTime(x, until)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
