package windows

import (
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

type wallClockCase struct {
	name string
	zone string
	wall string // local date and time, "2006-01-02 15:04"
	want string // the instant it opens at, UTC
}

var wallClockCases = []wallClockCase{
	{"ordinary winter time", "Europe/Berlin", "2026-01-15 12:00", "2026-01-15 11:00"},
	{"ordinary summer time", "Europe/Berlin", "2026-07-15 12:00", "2026-07-15 10:00"},
	// 29 March 2026: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
	{"Berlin, before the gap", "Europe/Berlin", "2026-03-29 01:59", "2026-03-29 00:59"},
	{"Berlin, start of the gap", "Europe/Berlin", "2026-03-29 02:00", "2026-03-29 01:00"},
	{"Berlin, in the gap", "Europe/Berlin", "2026-03-29 02:30", "2026-03-29 01:00"},
	{"Berlin, end of the gap", "Europe/Berlin", "2026-03-29 02:59", "2026-03-29 01:00"},
	{"Berlin, 03:00 CEST", "Europe/Berlin", "2026-03-29 03:00", "2026-03-29 01:00"},
	{"Berlin, after the gap", "Europe/Berlin", "2026-03-29 03:01", "2026-03-29 01:01"},
	// 25 October 2026: 03:00 CEST goes back to 02:00 CET at 01:00 UTC.
	{"Berlin, repeated hour: first 02:00", "Europe/Berlin", "2026-10-25 02:00", "2026-10-25 00:00"},
	{"Berlin, repeated hour: first 02:30", "Europe/Berlin", "2026-10-25 02:30", "2026-10-25 00:30"},
	{"Berlin, after the repeated hour", "Europe/Berlin", "2026-10-25 03:00", "2026-10-25 02:00"},
	// 8 March 2026: 02:00 EST jumps to 03:00 EDT; 1 November: 02:00 EDT goes back to 01:00 EST.
	{"New York, in the gap", "America/New_York", "2026-03-08 02:30", "2026-03-08 07:00"},
	{"New York, repeated hour: first 01:30", "America/New_York", "2026-11-01 01:30", "2026-11-01 05:30"},
	{"New York, after the repeated hour", "America/New_York", "2026-11-01 02:00", "2026-11-01 07:00"},
	// Lord Howe shifts by 30 minutes: 02:00 jumps to 02:30 (+11) on 4 October 2026, and 02:00
	// goes back to 01:30 (+10:30) on 5 April 2026.
	{"Lord Howe, in the half-hour gap", "Australia/Lord_Howe", "2026-10-04 02:15", "2026-10-03 15:30"},
	{"Lord Howe, after the half-hour gap", "Australia/Lord_Howe", "2026-10-04 02:30", "2026-10-03 15:30"},
	{"Lord Howe, repeated half hour: first 01:45", "Australia/Lord_Howe", "2026-04-05 01:45", "2026-04-04 14:45"},
	{"Lord Howe, after the repeated half hour", "Australia/Lord_Howe", "2026-04-05 02:00", "2026-04-04 15:30"},
	// Havana changes at midnight: 00:00 jumps to 01:00 on 8 March 2026, 01:00 goes back to 00:00
	// on 1 November.
	{"Havana, midnight in the gap", "America/Havana", "2026-03-08 00:00", "2026-03-08 05:00"},
	{"Havana, repeated hour after midnight", "America/Havana", "2026-11-01 00:30", "2026-11-01 04:30"},
	// Santiago goes back from 00:00 on 5 April 2026 to 23:00 on 4 April: the day before repeats.
	{"Santiago, repeated hour before midnight", "America/Santiago", "2026-04-04 23:30", "2026-04-05 02:30"},
	{"Santiago, midnight after the repeated hour", "America/Santiago", "2026-04-05 00:00", "2026-04-05 04:00"},
	// Samoa skipped 30 December 2011: 29 December 23:59:59 (-10) was followed by 31 December 00:00 (+14).
	{"Apia, the skipped day", "Pacific/Apia", "2011-12-30 12:00", "2011-12-30 10:00"},
	{"Apia, before the skipped day", "Pacific/Apia", "2011-12-29 23:59", "2011-12-30 09:59"},
	{"Apia, after the skipped day", "Pacific/Apia", "2011-12-31 00:00", "2011-12-30 10:00"},
	// Past the last listed transition the zone follows its rule.
	{"Berlin 2040, in the gap", "Europe/Berlin", "2040-03-25 02:30", "2040-03-25 01:00"},
	// Go reports a period that has already ended on 31 December of a leap year past the last
	// listed transition; this once looped forever.
	{"New York, 31 December 2072", "America/New_York", "2072-12-31 12:00", "2072-12-31 17:00"},
}

func TestWallClockToInstant(t *testing.T) {
	for _, tc := range wallClockCases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			var steps int
			cursor := zoneCursor{zone: &zoneCache{loc: mustLoad(tc.zone), steps: &steps}}
			g.Expect(cursor.instant(wallSeconds(tc.wall))).To(Equal(wallSeconds(tc.want)))
		})
	}
}

// TestWallClockCursorWalksEitherWay maps the same times with one cursor per zone, in order and
// then backwards, as the day scans do.
func TestWallClockCursorWalksEitherWay(t *testing.T) {
	g := NewWithT(t)
	var steps int
	cursors := map[string]*zoneCursor{}
	backwards := slices.Clone(wallClockCases)
	slices.Reverse(backwards)
	for _, tc := range append(slices.Clone(wallClockCases), backwards...) {
		if cursors[tc.zone] == nil {
			cursors[tc.zone] = &zoneCursor{zone: &zoneCache{loc: mustLoad(tc.zone), steps: &steps}}
		}
		g.Expect(cursors[tc.zone].instant(wallSeconds(tc.wall))).To(Equal(wallSeconds(tc.want)), tc.name)
	}
}

func mustLoad(zone string) *time.Location {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		panic(err)
	}
	return loc
}

// wallSeconds reads "2006-01-02 15:04" as UTC seconds since the epoch.
func wallSeconds(value string) int64 {
	t, err := time.Parse("2006-01-02 15:04", value)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}
