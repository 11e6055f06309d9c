package windows

import (
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// firesAt reports whether a schedule fires at a wall-clock time ("2006-01-02 15:04"), through
// the same tables the evaluation uses: the day mask and the minutes of the day.
func firesAt(s *schedule, wall string) bool {
	t, err := time.Parse("2006-01-02 15:04", wall)
	if err != nil {
		panic(err)
	}
	onDay := s.dayMask(int64(t.Year()), int(t.Month()))&(1<<t.Day()) != 0
	return onDay && slices.Contains(s.fireMinutes, int16(t.Hour()*60+t.Minute()))
}

func TestScheduleFires(t *testing.T) {
	cases := []struct {
		schedule string
		wall     string
		want     bool
	}{
		{"0 18 * * 5", "2026-11-27 18:00", true}, // a Friday
		{"0 18 * * 5", "2026-11-26 18:00", false},
		{"0 18 * * 5", "2026-11-27 18:01", false},
		{"*/15 9-17 * * 1-5", "2026-11-23 09:45", true},
		{"*/15 9-17 * * 1-5", "2026-11-23 09:50", false},
		{"*/15 9-17 * * 1-5", "2026-11-23 18:00", false},
		{"*/15 9-17 * * 1-5", "2026-11-28 10:00", false}, // Saturday
		{"1-5/2 * * * *", "2026-11-23 10:03", true},
		{"1-5/2 * * * *", "2026-11-23 10:04", false},
		{"1-5/2 * * * *", "2026-11-23 10:07", false},
		{"5/20 * * * *", "2026-11-23 10:45", true}, // 5, 25, 45
		{"5/20 * * * *", "2026-11-23 10:15", false},
		{"0,30 8,20 * * *", "2026-11-23 20:30", true},
		{"59 23 31 12 *", "2026-12-31 23:59", true},
		{"0 0 29 2 *", "2028-02-29 00:00", true},
		// Both day fields restricted: either matches.
		{"0 0 1 * 1", "2026-12-01 00:00", true}, // a Tuesday, the 1st
		{"0 0 1 * 1", "2026-11-30 00:00", true}, // a Monday
		{"0 0 1 * 1", "2026-11-24 00:00", false},
		// A day field starting with "*" is no restriction of its own: both must match.
		{"0 0 */2 * 1", "2026-11-23 00:00", true}, // Monday the 23rd (odd)
		{"0 0 */2 * 1", "2026-11-30 00:00", false},
		{"0 0 13 * */7", "2026-09-13 00:00", true}, // "*/7" is Sunday only; 13 September 2026 is one
		{"0 0 13 * */7", "2026-11-13 00:00", false},
		// Sunday is 0 and 7; "*/2" counts it once.
		{"0 0 * * 7", "2026-11-29 00:00", true},
		{"0 0 * * 0", "2026-11-29 00:00", true},
		{"0 0 * * 5-7", "2026-11-28 00:00", true},
		{"0 0 * * 5-7", "2026-11-30 00:00", false},
		{"0 0 * * */2", "2026-11-29 00:00", true},
		{"0 0 * * */2", "2026-11-30 00:00", false},
		// Names, in any case.
		{"0 0 * * MON-FRI", "2026-11-23 00:00", true},
		{"0 0 * * mon-fri", "2026-11-29 00:00", false},
		{"0 0 * jan,Dec *", "2026-12-01 00:00", true},
		{"0 0 * jan,Dec *", "2026-11-01 00:00", false},
		{"0 0 * * sun", "2026-11-29 00:00", true},
	}
	for _, tc := range cases {
		t.Run(tc.schedule+" at "+tc.wall, func(t *testing.T) {
			g := NewWithT(t)
			s, err := parseSchedule(tc.schedule)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(firesAt(s, tc.wall)).To(Equal(tc.want))
		})
	}
}

func TestScheduleRejects(t *testing.T) {
	cases := []struct {
		schedule string
		problem  string
	}{
		{"", "it has 0 fields, not 5"},
		{"* * * *", "it has 4 fields, not 5"},
		{"0 * * * * *", "it has 6 fields, not 5"},
		{"@every 1s", "descriptors such as @daily or @every are not supported"},
		{"@daily", "descriptors such as @daily or @every are not supported"},
		{"TZ=UTC 0 9 * * *", "a time zone prefix is not supported; set the window's timeZone instead"},
		{"CRON_TZ=Europe/Berlin 0 9 * * *", "a time zone prefix is not supported"},
		{"60 * * * *", `minute field "60": 60 is out of range 0-59`},
		{"* 24 * * *", `hour field "24": 24 is out of range 0-23`},
		{"* * 0 * *", `day-of-month field "0": 0 is out of range 1-31`},
		{"* * * 13 *", `month field "13": 13 is out of range 1-12`},
		{"* * * * 8", `day-of-week field "8": 8 is out of range 0-7`},
		{"5-1 * * * *", `minute field "5-1": range "5-1" runs backwards`},
		{"0 18 * * FRI-MON", `range "FRI-MON" runs backwards`},
		{"*/0 * * * *", `step "0": 0 is out of range`},
		{"? * * * *", `"?" is not a number`},
		{"0 0 L * *", `"L" is not a number`},
		{"0 0 * * 5#3", `"5#3" is not a number`},
		{"1,,2 * * * *", `"" is not a number`},
		{"-1 * * * *", `"" is not a number`},
		{"* * * FOO *", `"FOO" is not a number`},
	}
	for _, tc := range cases {
		t.Run(tc.schedule, func(t *testing.T) {
			g := NewWithT(t)
			_, err := parseSchedule(tc.schedule)
			g.Expect(err).To(MatchError(ContainSubstring(tc.problem)))
		})
	}
}

// TestDayIteration compares the month-at-a-time day search with a check of every day.
func TestDayIteration(t *testing.T) {
	g := NewWithT(t)
	from := daysFromCivil(2026, 11, 24)
	for _, expr := range []string{"0 0 * * *", "0 0 29 2 *", "0 0 13 * */7", "0 0 31 * 1", "0 0 */5 jan-mar,10 *", "0 0 30 * MON"} {
		s, err := parseSchedule(expr)
		g.Expect(err).NotTo(HaveOccurred())
		matches := func(day int64) bool {
			y, m, d := civilFromDays(day)
			return s.dayMask(y, m)&(1<<d) != 0
		}
		var steps int
		for _, span := range []int64{0, 1, 30, 400, 3000} {
			next, found := s.nextDay(from, from+span, &steps)
			want := -1
			for day := from; day <= from+span; day++ {
				if matches(day) {
					want = int(day - from)
					break
				}
			}
			g.Expect(found).To(Equal(want >= 0), "%s: nextDay within %d days", expr, span)
			if found {
				g.Expect(next).To(Equal(from+int64(want)), "%s: nextDay within %d days", expr, span)
			}
			prev, found := s.prevDay(from, from-span, &steps)
			want = -1
			for day := from; day >= from-span; day-- {
				if matches(day) {
					want = int(from - day)
					break
				}
			}
			g.Expect(found).To(Equal(want >= 0), "%s: prevDay within %d days", expr, span)
			if found {
				g.Expect(prev).To(Equal(from-int64(want)), "%s: prevDay within %d days", expr, span)
			}
		}
	}
}

// TestCalendar compares the day-number conversions with the time package, over 2,000 years
// either side of 1970 and every weekday.
func TestCalendar(t *testing.T) {
	g := NewWithT(t)
	for day := int64(-730_000); day <= 730_000; day += 97 {
		want := time.Unix(day*secondsPerDay, 0).UTC()
		y, m, d := civilFromDays(day)
		g.Expect([]int64{y, int64(m), int64(d)}).To(Equal([]int64{int64(want.Year()), int64(want.Month()), int64(want.Day())}), "day %d", day)
		g.Expect(daysFromCivil(y, m, d)).To(Equal(day))
		g.Expect(weekday(day)).To(Equal(int(want.Weekday())), "day %d", day)
	}
}
