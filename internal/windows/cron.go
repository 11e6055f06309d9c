package windows

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// schedule is a parsed five-field cron expression: one bit per value each field allows.
type schedule struct {
	minutes uint64 // bit 0-59
	hours   uint32 // bit 0-23
	dom     uint32 // bit 1-31
	months  uint16 // bit 1-12
	dow     uint8  // bit 0-6, Sunday is 0

	// domStar and dowStar record a field written with a leading "*" ("*" or "*/2"). As in Vixie
	// cron, a day must match both day fields when either starts with "*", and either of them
	// when both are restricted ("0 0 1 * 1" fires on the 1st and on Mondays).
	domStar, dowStar bool

	// fireMinutes lists the minutes of the day (hour*60+minute) at which the schedule fires on
	// a day it matches, ascending. It has at most 1440 entries.
	fireMinutes []int16
	// dowDays[w] is the bit mask of the days of a month (bit 1-31) whose weekday the schedule
	// allows, for a month whose first day is weekday w.
	dowDays [7]uint32
}

// field describes one of the five fields: its name in messages, its bounds and value names.
type field struct {
	name     string
	min, max int
	// starMax is the largest value of "*" and of an open-ended step such as "5/15".
	starMax int
	names   []string // names[i] is the name of value min+i
}

var fields = [5]field{
	{name: "minute", min: 0, max: 59, starMax: 59},
	{name: "hour", min: 0, max: 23, starMax: 23},
	{name: "day-of-month", min: 1, max: 31, starMax: 31},
	{name: "month", min: 1, max: 12, starMax: 12,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	// 7 is Sunday too, as in Vixie cron; "*" means 0-6, so that "*/2" does not count Sunday twice.
	{name: "day-of-week", min: 0, max: 7, starMax: 6, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// parseSchedule parses a standard five-field cron expression. Descriptors are refused (@every
// fires on intervals that the day-by-day evaluation does not model; @daily and the like are
// five fields by another name), and so are time zone prefixes, which would contradict the
// window's timeZone.
func parseSchedule(expr string) (*schedule, error) {
	if err := refuseExtensions(expr); err != nil {
		return nil, err
	}
	parts := strings.Fields(expr)
	if len(parts) != len(fields) {
		return nil, fmt.Errorf("it has %d fields, not 5", len(parts))
	}
	var masks [5]uint64
	var stars [5]bool
	for i, part := range parts {
		mask, star, err := parseField(part, fields[i])
		if err != nil {
			return nil, fmt.Errorf("%s field %q: %w", fields[i].name, part, err)
		}
		masks[i], stars[i] = mask, star
	}
	// parseField sets only bits min..max of each field, so every mask fits its type.
	s := &schedule{
		minutes: masks[0], hours: uint32(masks[1]), dom: uint32(masks[2]), months: uint16(masks[3]), //nolint:gosec // G115: see above
		domStar: stars[2], dowStar: stars[4],
	}
	// Fold 7 into 0: both are Sunday.
	s.dow = uint8(masks[4]&0x7f | masks[4]>>7&1) //nolint:gosec // G115: bits 0-7 only, folded into 0-6
	s.derive()
	return s, nil
}

func refuseExtensions(expr string) error {
	trimmed := strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(trimmed, "@"):
		return fmt.Errorf("descriptors such as @daily or @every are not supported; write the five fields, for example \"0 0 * * *\" for @daily")
	case strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ="):
		return fmt.Errorf("a time zone prefix is not supported; set the window's timeZone instead")
	}
	return nil
}

// parseField parses one comma-separated field into a bit mask of its values. star reports
// whether the field starts with "*".
func parseField(text string, f field) (mask uint64, star bool, err error) {
	for _, item := range strings.Split(text, ",") {
		bitsOfItem, err := parseItem(item, f)
		if err != nil {
			return 0, false, err
		}
		mask |= bitsOfItem
	}
	return mask, strings.HasPrefix(text, "*"), nil
}

// parseItem parses "*", "v", "a-b", each optionally followed by "/step"; "v/step" means v to the
// field's maximum, as most cron implementations read it.
func parseItem(item string, f field) (uint64, error) {
	rangeText, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		var err error
		if step, err = parseNumber(stepText, 1, 1<<16); err != nil {
			return 0, fmt.Errorf("step %q: %w", stepText, err)
		}
	}
	low, high, err := parseRange(rangeText, f, hasStep)
	if err != nil {
		return 0, err
	}
	var mask uint64
	for v := low; v <= high; v += step {
		mask |= 1 << v
	}
	return mask, nil
}

func parseRange(text string, f field, hasStep bool) (low, high int, err error) {
	if text == "*" {
		return f.min, f.starMax, nil
	}
	lowText, highText, isRange := strings.Cut(text, "-")
	if low, err = parseValue(lowText, f); err != nil {
		return 0, 0, err
	}
	switch {
	case isRange:
		if high, err = parseValue(highText, f); err != nil {
			return 0, 0, err
		}
	case hasStep:
		high = max(low, f.starMax)
	default:
		high = low
	}
	if low > high {
		return 0, 0, fmt.Errorf("range %q runs backwards; write the lower value first", text)
	}
	return low, high, nil
}

func parseValue(text string, f field) (int, error) {
	for i, name := range f.names {
		if strings.EqualFold(text, name) {
			return f.min + i, nil
		}
	}
	return parseNumber(text, f.min, f.max)
}

func parseNumber(text string, low, high int) (int, error) {
	if text == "" || strings.TrimLeft(text, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a number", text)
	}
	v, err := strconv.Atoi(text)
	if err != nil || v < low || v > high {
		return 0, fmt.Errorf("%s is out of range %d-%d", text, low, high)
	}
	return v, nil
}

// derive fills the lookup tables that make day and minute iteration cheap.
func (s *schedule) derive() {
	for h := range 24 {
		if s.hours&(1<<h) == 0 {
			continue
		}
		for m := range 60 {
			if s.minutes&(1<<m) != 0 {
				s.fireMinutes = append(s.fireMinutes, int16(h*60+m))
			}
		}
	}
	for first := range 7 {
		for day := 1; day <= 31; day++ {
			if s.dow&(1<<((first+day-1)%7)) != 0 {
				s.dowDays[first] |= 1 << day
			}
		}
	}
}

// neverFires explains why a schedule matches no day in any year, or returns "". In the
// 400-year Gregorian cycle every (month, day) pair that exists at all falls on every weekday,
// so only the day-of-month and month fields can rule out every day.
func (s *schedule) neverFires() string {
	if !s.domStar && !s.dowStar {
		return "" // a day matches either field, and every weekday occurs in every month
	}
	for m := 1; m <= 12; m++ {
		if s.months&(1<<m) != 0 && s.dom&daysOfMonth(true, m) != 0 {
			return ""
		}
	}
	return "none of the months it names has any of its days of the month; " +
		"use days that exist in those months (February has at most 29 days; April, June, September and November 30)"
}

// dayMask returns the days (bit 1-31) of month m of year y on which the schedule fires.
func (s *schedule) dayMask(y int64, m int) uint32 {
	if s.months&(1<<m) == 0 {
		return 0
	}
	byWeekday := s.dowDays[weekday(daysFromCivil(y, m, 1))]
	var mask uint32
	if s.domStar || s.dowStar {
		mask = s.dom & byWeekday
	} else {
		mask = s.dom | byWeekday
	}
	return mask & daysOfMonth(isLeap(y), m)
}

// nextDay returns the first day number in [from, last] on which the schedule fires. It skips a
// month at a time, so a search over years costs a few hundred steps at most.
func (s *schedule) nextDay(from, last int64, steps *int) (int64, bool) {
	y, m, d := civilFromDays(from)
	for first := from - int64(d-1); first <= last; {
		*steps++
		if mask := uint64(s.dayMask(y, m)) >> d; mask != 0 {
			found := from + int64(bits.TrailingZeros64(mask))
			return found, found <= last
		}
		first += int64(daysIn(y, m))
		from, d = first, 1
		if m++; m > 12 {
			m, y = 1, y+1
		}
	}
	return 0, false
}

// prevDay returns the last day number in [first, from] on which the schedule fires.
func (s *schedule) prevDay(from, first int64, steps *int) (int64, bool) {
	y, m, d := civilFromDays(from)
	for from >= first {
		*steps++
		if mask := uint64(s.dayMask(y, m)) & (1<<(d+1) - 1); mask != 0 {
			found := from - int64(d-(bits.Len64(mask)-1))
			return found, found >= first
		}
		from -= int64(d)
		if m--; m < 1 {
			m, y = 12, y-1
		}
		d = daysIn(y, m)
	}
	return 0, false
}
