package windows

import (
	"sort"
	"time"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// window is one parsed window.
type window struct {
	kind     greenlightv1alpha1.WindowKind
	schedule *schedule
	loc      *time.Location
	duration time.Duration
	// joinGap is the longest gap, in whole seconds, from one occurrence to the next that keeps
	// them in one run: the next one opens no later than the first closes.
	joinGap int64
	// runBreak[k] is, on a day without a zone transition, the index of the first occurrence at
	// or after fireMinutes[k] that its successor that day does not join; the last index when
	// the run lasts through the day. It lets a run cross a day of 1440 occurrences in one step.
	runBreak []int16
}

func newWindow(kind greenlightv1alpha1.WindowKind, s *schedule, loc *time.Location, d time.Duration) window {
	w := window{kind: kind, schedule: s, loc: loc, duration: d, joinGap: int64(d / time.Second)}
	w.runBreak = make([]int16, len(s.fireMinutes))
	breakAt := len(s.fireMinutes) - 1
	for k := breakAt; k >= 0; k-- {
		if k < len(s.fireMinutes)-1 && int64(s.fireMinutes[k+1]-s.fireMinutes[k])*60 > w.joinGap {
			breakAt = k
		}
		w.runBreak[k] = int16(breakAt) //nolint:gosec // G115: an index into at most 1440 minutes of a day
	}
	return w
}

// end returns when an occurrence that fired at instant at closes.
func (w *window) end(at int64) time.Time {
	return time.Unix(at, 0).Add(w.duration)
}

// probe answers questions about one window's occurrences. Every loop in it runs over days
// (skipping a month at a time) or over the occurrences of one day, between bounds its caller
// gives, and counts its work in steps.
type probe struct {
	w     *window
	zone  zoneCursor
	steps *int
}

// day is a local calendar day on which a window's schedule fires.
type day struct {
	number int64
	// offset maps each wall time of the day to its instant when uniform: when no zone
	// transition touches the day.
	offset  int64
	uniform bool
}

// occurrence is one firing of a window: its day, its index in fireMinutes and its instant.
type occurrence struct {
	day   day
	index int
	at    int64
}

// openDay positions the zone cursor on a day and finds out whether it is uniform.
func (p *probe) openDay(number int64) day {
	*p.steps++
	start := number * secondsPerDay
	offset, uniform := p.zone.uniformOffset(start, start+secondsPerDay)
	return day{number: number, offset: offset, uniform: uniform}
}

// fireAt returns the instant of the k-th occurrence of day d.
func (p *probe) fireAt(d day, k int) int64 {
	wall := d.number*secondsPerDay + int64(p.w.schedule.fireMinutes[k])*60
	if d.uniform {
		return wall - d.offset
	}
	*p.steps++
	return p.zone.instant(wall)
}

// localDay returns the day number of an instant in the window's zone.
func (p *probe) localDay(instant int64) int64 {
	return floorDiv(instant+p.zone.zone.periodAt(instant).offset, secondsPerDay)
}

// Scans over days start two days beyond the local day of their bound: with DST, an occurrence
// of the day after may fire before an instant (clocks going back over midnight), one of the
// day before at it (a gap over midnight).
const dayMargin = 2

// lastAtOrBefore returns the latest occurrence at or before instant x, looking no further back
// than the local day of instant from.
func (p *probe) lastAtOrBefore(x, from int64) (occurrence, bool) {
	first := p.localDay(from) - dayMargin
	number, ok := p.w.schedule.prevDay(p.localDay(x)+dayMargin, first, p.steps)
	for ; ok; number, ok = p.w.schedule.prevDay(number-1, first, p.steps) {
		d := p.openDay(number)
		if k, at := p.lastIndexAtOrBefore(d, x); k >= 0 {
			return occurrence{day: d, index: k, at: at}, true
		}
	}
	return occurrence{}, false
}

// firstAtOrAfter returns the earliest occurrence at or after instant x and at or before until.
func (p *probe) firstAtOrAfter(x, until int64) (occurrence, bool) {
	last := p.localDay(until) + dayMargin
	number, ok := p.w.schedule.nextDay(p.localDay(x)-dayMargin, last, p.steps)
	for ; ok; number, ok = p.w.schedule.nextDay(number+1, last, p.steps) {
		d := p.openDay(number)
		if k, at := p.firstIndexAtOrAfter(d, x); k >= 0 {
			return occurrence{day: d, index: k, at: at}, at <= until
		}
	}
	return occurrence{}, false
}

// next returns the occurrence after o, if it fires at or before until.
func (p *probe) next(o occurrence, until int64) (occurrence, bool) {
	if o.index+1 < len(p.w.schedule.fireMinutes) {
		return occurrence{day: o.day, index: o.index + 1, at: p.fireAt(o.day, o.index+1)}, true
	}
	number, ok := p.w.schedule.nextDay(o.day.number+1, p.localDay(until)+dayMargin, p.steps)
	if !ok {
		return occurrence{}, false
	}
	d := p.openDay(number)
	at := p.fireAt(d, 0)
	return occurrence{day: d, index: 0, at: at}, at <= until
}

// lastIndexAtOrBefore returns the last occurrence of day d at or before x, or -1.
func (p *probe) lastIndexAtOrBefore(d day, x int64) (int, int64) {
	fires := p.w.schedule.fireMinutes
	if d.uniform {
		*p.steps++
		latest := floorDiv(x+d.offset-d.number*secondsPerDay, 60)
		k := sort.Search(len(fires), func(i int) bool { return int64(fires[i]) > latest }) - 1
		if k < 0 {
			return -1, 0
		}
		return k, p.fireAt(d, k)
	}
	k, at := -1, int64(0)
	for i := range fires {
		next := p.fireAt(d, i)
		if next > x {
			break
		}
		k, at = i, next
	}
	return k, at
}

// firstIndexAtOrAfter returns the first occurrence of day d at or after x, or -1.
func (p *probe) firstIndexAtOrAfter(d day, x int64) (int, int64) {
	fires := p.w.schedule.fireMinutes
	if d.uniform {
		*p.steps++
		earliest := x + d.offset - d.number*secondsPerDay
		k := sort.Search(len(fires), func(i int) bool { return int64(fires[i])*60 >= earliest })
		if k == len(fires) {
			return -1, 0
		}
		return k, p.fireAt(d, k)
	}
	for i := range fires {
		if at := p.fireAt(d, i); at >= x {
			return i, at
		}
	}
	return -1, 0
}

// lastOfRun follows the run of occurrences that o belongs to (each opening no later than the
// previous one closes) and returns its last occurrence, or the first one after until.
func (p *probe) lastOfRun(o occurrence, until int64) int64 {
	lastDay := p.localDay(until) + dayMargin
	for {
		at, broken := p.runInDay(o)
		if broken || at > until {
			return at
		}
		number, ok := p.w.schedule.nextDay(o.day.number+1, lastDay, p.steps)
		if !ok {
			return at
		}
		d := p.openDay(number)
		first := p.fireAt(d, 0)
		if first-at > p.w.joinGap {
			return at
		}
		o = occurrence{day: d, index: 0, at: first}
	}
}

// runInDay follows a run from o through the rest of o's day. It returns the run's last
// occurrence that day and whether the run ends there.
func (p *probe) runInDay(o occurrence) (int64, bool) {
	fires := p.w.schedule.fireMinutes
	if o.day.uniform {
		k := int(p.w.runBreak[o.index])
		return p.fireAt(o.day, k), k < len(fires)-1
	}
	at := o.at
	for k := o.index + 1; k < len(fires); k++ {
		next := p.fireAt(o.day, k)
		if next-at > p.w.joinGap {
			return at, true
		}
		at = next
	}
	return at, false
}

// cover returns the occurrence in effect at x (the latest one at or before x) and whether it is
// still open at x. The search back is bounded by the duration; it reports no occurrence when
// none fired within it.
func (p *probe) cover(x time.Time) (o occurrence, found, open bool) {
	o, found = p.lastAtOrBefore(x.Unix(), x.Add(-p.w.duration).Unix())
	return o, found, found && p.w.end(o.at).After(x)
}
