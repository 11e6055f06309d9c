package windows

import (
	"slices"
	"sort"
	"time"
)

// A local wall-clock time is mapped to an instant by one rule: the occurrence fires at the
// first instant at which the clock in its zone shows that time or later. For an ordinary time
// that is the only instant showing it. For a time skipped by a DST gap (02:30 on the day clocks
// jump from 02:00 to 03:00) it is the first instant after the gap, so every skipped time of one
// gap collapses into that instant. For a time shown twice when clocks go back it is the first
// of the two. The mapping never decreases, so occurrences taken in wall-clock order come out in
// time order. Go's time.Date leaves the choice in both cases unspecified, so the mapping reads
// the zone's transitions itself (time.Time.ZoneBounds).

// Instants and wall-clock times are whole seconds since the Unix epoch; a wall-clock time is
// the instant at which a UTC clock would show the same date and time.

// maxZoneOffset exceeds the largest UTC offset in the tz database (about 15h56m, local mean
// time of Manila before 1845) with room to spare.
const maxZoneOffset = 26 * 60 * 60

// unbounded stands for the missing start or end of a zone period, far from any real instant
// but far from overflowing when an offset is added.
const unbounded = int64(1) << 60

// period is a span of instants [start, end) with one UTC offset.
type period struct {
	start, end, offset int64
}

// wallEnd is the wall-clock time the period's clock reaches just as the period ends.
func (p period) wallEnd() int64 { return p.end + p.offset }

// periodAt looks up the period of a zone that contains an instant.
func periodAt(loc *time.Location, instant int64) period {
	t := time.Unix(instant, 0).In(loc)
	_, offset := t.Zone()
	start, end := t.ZoneBounds()
	p := period{start: -unbounded, end: unbounded, offset: int64(offset)}
	if !start.IsZero() {
		p.start = start.Unix()
	}
	if !end.IsZero() {
		p.end = end.Unix()
	}
	// Past a zone's last listed transition Go computes periods from its rule a year at a time,
	// and in leap years it ends the year a day early: on 31 December (UTC) the period it
	// reports has already ended. The year boundary is no transition, so cut the period at the
	// next UTC midnight instead; every period then contains its instant and walks progress.
	if p.end <= instant {
		p.end = instant - floorMod(instant, secondsPerDay) + secondsPerDay
	}
	p.start = min(p.start, instant)
	return p
}

// zoneLookupCost weighs a zone lookup against the cheap steps of the work budget.
const zoneLookupCost = 8

// zoneCache keeps the periods of one zone that a sweep has looked up, so that each costly
// zone lookup happens once per sweep.
type zoneCache struct {
	loc *time.Location
	// periods is sorted and non-overlapping.
	periods []period
	steps   *int
}

// periodAt returns the period containing an instant.
func (z *zoneCache) periodAt(instant int64) period {
	i := sort.Search(len(z.periods), func(i int) bool { return z.periods[i].end > instant })
	if i < len(z.periods) && z.periods[i].start <= instant {
		*z.steps++
		return z.periods[i]
	}
	*z.steps += zoneLookupCost
	p := periodAt(z.loc, instant)
	// Keep the periods apart should the zone data disagree with itself; the instant stays in p.
	if i > 0 {
		p.start = max(p.start, z.periods[i-1].end)
	}
	if i < len(z.periods) {
		p.end = min(p.end, z.periods[i].start)
	}
	z.periods = slices.Insert(z.periods, i, p)
	return p
}

// zoneCursor maps wall-clock times of one zone to instants. The instant of wall time w lies in
// the first period (in time order) whose clock goes past w, so the cursor holds such a period
// and the highest wall clock any earlier period reached. Walking wall times forward needs a
// period per zone transition; walking backwards starts over.
type zoneCursor struct {
	zone *zoneCache
	// current is the period the last wall time mapped into.
	current period
	// earlierWallEnd is at least the wall-clock end of every period before current: current
	// answers any wall time at or after it.
	earlierWallEnd int64
	positioned     bool
}

// instant returns the first instant at which the zone's clock shows wall or later.
func (c *zoneCursor) instant(wall int64) int64 {
	if !c.positioned || wall < c.earlierWallEnd {
		c.position(wall)
	}
	for wall >= c.current.wallEnd() {
		c.earlierWallEnd = max(c.earlierWallEnd, c.current.wallEnd())
		c.current = c.zone.periodAt(c.current.end)
	}
	// Before the period's first wall time lies a gap: its first instant is the answer.
	return max(c.current.start, wall-c.current.offset)
}

// position starts the cursor at a period that ends before wall, whatever the offsets: periods
// before it reach wall clocks no later than its start plus the largest offset.
func (c *zoneCursor) position(wall int64) {
	c.current = c.zone.periodAt(wall - maxZoneOffset - 60*60)
	c.earlierWallEnd = wall
	c.positioned = true
}

// uniformOffset reports whether every wall time in [from, to) maps to wall minus one offset,
// which it returns, so that a day without a transition needs no further lookups.
func (c *zoneCursor) uniformOffset(from, to int64) (int64, bool) {
	c.instant(from)
	p := c.current
	uniform := c.earlierWallEnd <= from && p.start+p.offset <= from && to <= p.wallEnd()
	return p.offset, uniform
}
