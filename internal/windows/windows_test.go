package windows

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func at(zone, value string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		panic(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", value, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func win(kind greenlightv1alpha1.WindowKind, schedule string, d time.Duration, zone string) greenlightv1alpha1.Window {
	return greenlightv1alpha1.Window{Kind: kind, Schedule: schedule, Duration: metav1.Duration{Duration: d}, TimeZone: zone}
}

var (
	// No posts over the weekend: Friday 18:00 to Monday 08:00 Berlin time (62 hours).
	berlinWeekend = win(greenlightv1alpha1.WindowDeny, "0 18 * * 5", 62*time.Hour, "Europe/Berlin")
	// Office hours in New York: weekdays 09:00 to 17:00.
	newYorkOffice = win(greenlightv1alpha1.WindowAllow, "0 9 * * 1-5", 8*time.Hour, "America/New_York")
	// Quiet nights: 22:00 to 08:00 UTC, every day (spans midnight).
	quietNights = win(greenlightv1alpha1.WindowDeny, "0 22 * * *", 10*time.Hour, "")
)

// allowedCase is whether publishing is allowed at one time under some windows.
type allowedCase struct {
	name    string
	windows []greenlightv1alpha1.Window
	at      time.Time
	want    bool
}

func expectAllowed(t *testing.T, cases []allowedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			set, err := Parse(tc.windows)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(set.Allowed(tc.at)).To(Equal(tc.want))
		})
	}
}

// nextAllowedCase is when publishing is next allowed from one time; found false when not within
// a year.
type nextAllowedCase struct {
	name    string
	windows []greenlightv1alpha1.Window
	from    time.Time
	want    time.Time
	found   bool
}

func expectNextAllowed(t *testing.T, cases []nextAllowedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			set, err := Parse(tc.windows)
			g.Expect(err).NotTo(HaveOccurred())
			got, found := set.NextAllowed(tc.from)
			g.Expect(found).To(Equal(tc.found))
			g.Expect(got.Equal(tc.want)).To(BeTrue(), "got %s, want %s", got, tc.want)
		})
	}
}

func TestAllowed(t *testing.T) {
	expectAllowed(t, []allowedCase{
		{"no windows: always", nil, at("UTC", "2026-11-28 03:00"), true},

		{"weekend deny: Friday just before", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-11-27 17:59"), true},
		{"weekend deny: Friday at the start", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-11-27 18:00"), false},
		{"weekend deny: Sunday", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-11-29 12:00"), false},
		{"weekend deny: Monday just before the end", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-11-30 07:59"), false},
		{"weekend deny: Monday at the end", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-11-30 08:00"), true},
		// Clocks go back on Sunday 25 October 2026: the 62 hours end at 07:00 CET, not 08:00.
		{"weekend deny, DST ends: opens at 18:00 CEST", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-10-23 18:00"), false},
		{"weekend deny, DST ends: 62 real hours end at 07:00 CET", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-10-26 07:00"), true},
		{"weekend deny, DST ends: 06:59 CET still denied", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-10-26 06:59"), false},
		// Clocks go forward on Sunday 29 March 2026: the schedule still fires at 18:00 local time.
		{"weekend deny, DST starts: Friday 18:00 CET", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-03-27 18:00"), false},
		{"weekend deny, DST starts: Monday 09:00 CEST", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-03-30 09:00"), true},

		{"office hours: Tuesday 10:00 New York", []greenlightv1alpha1.Window{newYorkOffice}, at("America/New_York", "2026-11-24 10:00"), true},
		{"office hours: Tuesday 17:00 New York (closed)", []greenlightv1alpha1.Window{newYorkOffice}, at("America/New_York", "2026-11-24 17:00"), false},
		{"office hours: Saturday", []greenlightv1alpha1.Window{newYorkOffice}, at("America/New_York", "2026-11-28 10:00"), false},
		// US clocks go forward on Sunday 8 March 2026: 09:00 local is 14:00 UTC before, 13:00 UTC after.
		{"office hours, before US DST: 09:00 EST is 14:00 UTC", []greenlightv1alpha1.Window{newYorkOffice}, at("UTC", "2026-03-06 14:00"), true},
		{"office hours, before US DST: 13:30 UTC is 08:30 EST", []greenlightv1alpha1.Window{newYorkOffice}, at("UTC", "2026-03-06 13:30"), false},
		{"office hours, after US DST: 09:00 EDT is 13:00 UTC", []greenlightv1alpha1.Window{newYorkOffice}, at("UTC", "2026-03-09 13:00"), true},

		{"quiet nights: 23:00", []greenlightv1alpha1.Window{quietNights}, at("UTC", "2026-11-24 23:00"), false},
		{"quiet nights: after midnight", []greenlightv1alpha1.Window{quietNights}, at("UTC", "2026-11-25 03:00"), false},
		{"quiet nights: 08:00 the next morning", []greenlightv1alpha1.Window{quietNights}, at("UTC", "2026-11-25 08:00"), true},

		{"deny beats allow", []greenlightv1alpha1.Window{newYorkOffice, win(greenlightv1alpha1.WindowDeny, "0 12 * * *", time.Hour, "America/New_York")},
			at("America/New_York", "2026-11-24 12:30"), false},
		{"allow outside the deny", []greenlightv1alpha1.Window{newYorkOffice, win(greenlightv1alpha1.WindowDeny, "0 12 * * *", time.Hour, "America/New_York")},
			at("America/New_York", "2026-11-24 13:00"), true},
	})
}

func TestNextAllowed(t *testing.T) {
	expectNextAllowed(t, []nextAllowedCase{
		{"already allowed", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-11-26 10:00"), at("Europe/Berlin", "2026-11-26 10:00"), true},
		{"weekend: Monday 08:00", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-11-28 12:00"), at("Europe/Berlin", "2026-11-30 08:00"), true},
		{"Friday evening in New York: Monday 09:00", []greenlightv1alpha1.Window{newYorkOffice}, at("America/New_York", "2026-11-27 18:00"), at("America/New_York", "2026-11-30 09:00"), true},
		{"office hours and a Berlin weekend: Monday 09:00 New York",
			[]greenlightv1alpha1.Window{newYorkOffice, berlinWeekend}, at("America/New_York", "2026-11-27 18:00"), at("America/New_York", "2026-11-30 09:00"), true},
		{"quiet night: 08:00", []greenlightv1alpha1.Window{quietNights}, at("UTC", "2026-11-24 23:30"), at("UTC", "2026-11-25 08:00"), true},
		// The next 29 February is in 2028, more than a year away.
		{"an allow window that opens only after a year", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowAllow, "0 9 29 2 *", time.Hour, "")},
			at("UTC", "2026-11-24 10:00"), time.Time{}, false},
		{"an allow window 29 February, within a year", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowAllow, "0 9 29 2 *", time.Hour, "")},
			at("UTC", "2027-03-24 10:00"), at("UTC", "2028-02-29 09:00"), true},
	})
}

func TestNextEdge(t *testing.T) {
	g := NewWithT(t)
	set, err := Parse([]greenlightv1alpha1.Window{berlinWeekend})
	g.Expect(err).NotTo(HaveOccurred())
	// Inside the weekend the next edge is its end; before it, its start.
	g.Expect(set.NextEdge(at("Europe/Berlin", "2026-11-28 12:00"))).To(BeTemporally("==", at("Europe/Berlin", "2026-11-30 08:00")))
	g.Expect(set.NextEdge(at("Europe/Berlin", "2026-11-26 12:00"))).To(BeTemporally("==", at("Europe/Berlin", "2026-11-27 18:00")))

	none, err := Parse(nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(none.NextEdge(at("UTC", "2026-11-26 12:00")).IsZero()).To(BeTrue())
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name    string
		windows []greenlightv1alpha1.Window
		message string
	}{
		{"not cron", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "every friday", time.Hour, "")},
			`spec.windows[0].schedule "every friday" is not a five-field cron schedule (minute hour day-of-month month day-of-week, for example "0 18 * * 5"): it has 2 fields, not 5`},
		{"a field out of range", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 25 * * *", time.Hour, "")},
			`spec.windows[0].schedule "0 25 * * *" is not a five-field cron schedule (minute hour day-of-month month day-of-week, for example "0 18 * * 5"): hour field "25": 25 is out of range 0-23`},
		{"unknown time zone", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 18 * * 5", time.Hour, "Europe/Atlantis")},
			`spec.windows[0].timeZone "Europe/Atlantis" is not an IANA time zone such as Europe/Berlin or America/New_York`},
		{"the machine's time zone", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 18 * * 5", time.Hour, "Local")},
			`spec.windows[0].timeZone "Local" is not an IANA time zone such as Europe/Berlin or America/New_York`},
		{"no duration", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 18 * * 5", 0, "")},
			`spec.windows[0].duration "0s" must be positive, for example "1h"`},
		{"no kind", []greenlightv1alpha1.Window{win("", "0 18 * * 5", time.Hour, "")},
			`spec.windows[0].kind "" must be Allow or Deny`},
		{"every problem, each with its field", []greenlightv1alpha1.Window{
			berlinWeekend, win(greenlightv1alpha1.WindowDeny, "@daily", time.Hour, ""), win(greenlightv1alpha1.WindowAllow, "0 0 31 4 *", time.Hour, ""),
		}, `spec.windows[1].schedule "@daily" is not a five-field cron schedule (minute hour day-of-month month day-of-week, for example "0 18 * * 5"): ` +
			`descriptors such as @daily or @every are not supported; write the five fields, for example "0 0 * * *" for @daily; ` +
			`spec.windows[2].schedule "0 0 31 4 *" never fires: none of the months it names has any of its days of the month; ` +
			`use days that exist in those months (February has at most 29 days; April, June, September and November 30)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := Parse(tc.windows)
			g.Expect(err).To(MatchError(tc.message))
		})
	}
}

// TestIncludeAppliesPoliciesTogether: windows parsed per policy and merged behave as if parsed
// together; a Deny from one policy blocks inside another's Allow.
func TestIncludeAppliesPoliciesTogether(t *testing.T) {
	g := NewWithT(t)
	office, err := Parse([]greenlightv1alpha1.Window{newYorkOffice})
	g.Expect(err).NotTo(HaveOccurred())
	lunch, err := Parse([]greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 12 * * *", time.Hour, "America/New_York")})
	g.Expect(err).NotTo(HaveOccurred())
	merged := &Set{}
	merged.Include(office)
	merged.Include(lunch)
	g.Expect(merged.Allowed(at("America/New_York", "2026-11-24 10:00"))).To(BeTrue())
	g.Expect(merged.Allowed(at("America/New_York", "2026-11-24 12:30"))).To(BeFalse(), "the other policy's Deny")
	g.Expect(merged.Allowed(at("America/New_York", "2026-11-28 10:00"))).To(BeFalse(), "outside the Allow window")
}

// TestRuns: occurrences that open before (or just as) the previous one closes form one run;
// NextAllowed and NextEdge skip to the run's end, not the next occurrence's.
func TestRuns(t *testing.T) {
	deny := func(schedule string, d time.Duration) greenlightv1alpha1.Window {
		return win(greenlightv1alpha1.WindowDeny, schedule, d, "UTC")
	}
	allow := func(schedule string, d time.Duration, zone string) greenlightv1alpha1.Window {
		return win(greenlightv1alpha1.WindowAllow, schedule, d, zone)
	}
	workday := deny("0 9-17 * * 1-5", time.Hour) // 09:00 to 18:00, hour by hour
	expectNextAllowed(t, []nextAllowedCase{
		{"every ten minutes for nine: the gap", []greenlightv1alpha1.Window{deny("*/10 * * * *", 9*time.Minute)},
			at("UTC", "2026-11-24 10:05"), at("UTC", "2026-11-24 10:09"), true},
		{"hour by hour: the end of the day", []greenlightv1alpha1.Window{workday},
			at("UTC", "2026-11-24 10:30"), at("UTC", "2026-11-24 18:00"), true},
		{"hourly over the weekend: Monday", []greenlightv1alpha1.Window{deny("0 * * * 6,0", time.Hour)},
			at("UTC", "2026-11-28 12:00"), at("UTC", "2026-11-30 00:00"), true},
		{"an occurrence at the end continues the run", []greenlightv1alpha1.Window{deny("0,30 * * * *", 30*time.Minute)},
			at("UTC", "2026-11-24 10:00"), time.Time{}, false},
		{"a Deny over lunch inside office hours", []greenlightv1alpha1.Window{newYorkOffice, deny("0 17 * * *", time.Hour)},
			at("America/New_York", "2026-11-24 12:30"), at("America/New_York", "2026-11-24 13:00"), true},
		{"a Deny covering every Allow window", []greenlightv1alpha1.Window{allow("0 9 * * *", 8*time.Hour, "UTC"), deny("0 8 * * *", 10*time.Hour)},
			at("UTC", "2026-11-24 10:00"), time.Time{}, false},
		{"an Allow window right after a Deny", []greenlightv1alpha1.Window{allow("0 17 * * *", time.Hour, "UTC"), deny("0 9 * * *", 8*time.Hour)},
			at("UTC", "2026-11-24 10:00"), at("UTC", "2026-11-24 17:00"), true},
		{"the first of two Allow windows in two zones", []greenlightv1alpha1.Window{newYorkOffice, allow("0 9 * * 1-5", 8*time.Hour, "Europe/Berlin")},
			at("UTC", "2026-11-28 12:00"), at("Europe/Berlin", "2026-11-30 09:00"), true},
	})

	cases := []struct {
		name    string
		windows []greenlightv1alpha1.Window
		from    time.Time
		want    time.Time
	}{
		{"inside a run: its end", []greenlightv1alpha1.Window{workday}, at("UTC", "2026-11-24 10:30"), at("UTC", "2026-11-24 18:00")},
		{"before a run: its start", []greenlightv1alpha1.Window{workday}, at("UTC", "2026-11-24 07:00"), at("UTC", "2026-11-24 09:00")},
		{"overlapping Allow windows: the end of both", []greenlightv1alpha1.Window{allow("0 9 * * *", 4*time.Hour, "UTC"), allow("0 12 * * *", 4*time.Hour, "UTC")},
			at("UTC", "2026-11-24 10:00"), at("UTC", "2026-11-24 16:00")},
		{"Allow windows in two zones: the later end", []greenlightv1alpha1.Window{newYorkOffice, allow("0 9 * * 1-5", 8*time.Hour, "Europe/Berlin")},
			at("Europe/Berlin", "2026-11-24 16:30"), at("America/New_York", "2026-11-24 17:00")},
		{"a Deny inside an Allow window: its start", []greenlightv1alpha1.Window{newYorkOffice, win(greenlightv1alpha1.WindowDeny, "0 12 * * *", time.Hour, "America/New_York")},
			at("America/New_York", "2026-11-24 10:00"), at("America/New_York", "2026-11-24 12:00")},
		// Allow windows open inside the Deny run change nothing: the edge is where it ends.
		{"a Deny run over Allow windows: its end", []greenlightv1alpha1.Window{workday, allow("*/5 * * * *", time.Minute, "UTC")},
			at("UTC", "2026-11-24 10:30"), at("UTC", "2026-11-24 18:00")},
	}
	for _, tc := range cases {
		t.Run("NextEdge: "+tc.name, func(t *testing.T) {
			g := NewWithT(t)
			set, err := Parse(tc.windows)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(set.NextEdge(tc.from)).To(BeTemporally("==", tc.want))
		})
	}
}

// TestSubSecondTimes: occurrences fire on whole seconds; durations and times may have fractions.
func TestSubSecondTimes(t *testing.T) {
	g := NewWithT(t)
	set, err := Parse([]greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 12 * * *", 1500*time.Millisecond, "")})
	g.Expect(err).NotTo(HaveOccurred())
	noon := at("UTC", "2026-11-24 12:00")
	g.Expect(set.Allowed(noon.Add(-time.Nanosecond))).To(BeTrue())
	g.Expect(set.Allowed(noon)).To(BeFalse())
	g.Expect(set.Allowed(noon.Add(1499 * time.Millisecond))).To(BeFalse())
	g.Expect(set.Allowed(noon.Add(1500 * time.Millisecond))).To(BeTrue())
	g.Expect(set.NextEdge(noon.Add(-time.Millisecond))).To(BeTemporally("==", noon))
	g.Expect(set.NextEdge(noon.Add(time.Millisecond))).To(BeTemporally("==", noon.Add(1500*time.Millisecond)))
	next, found := set.NextAllowed(noon.Add(time.Millisecond))
	g.Expect(found).To(BeTrue())
	g.Expect(next).To(BeTemporally("==", noon.Add(1500*time.Millisecond)))
}

// TestZeroSet: a Set without windows always allows publishing and never changes.
func TestZeroSet(t *testing.T) {
	g := NewWithT(t)
	now := at("UTC", "2026-11-24 12:00")
	for _, set := range []*Set{{}, mustParseSet(nil)} {
		g.Expect(set.Allowed(now)).To(BeTrue())
		next, found := set.NextAllowed(now)
		g.Expect(found).To(BeTrue())
		g.Expect(next).To(BeTemporally("==", now))
		g.Expect(set.NextEdge(now).IsZero()).To(BeTrue())
	}
}

func mustParseSet(specs []greenlightv1alpha1.Window) *Set {
	set, err := Parse(specs)
	if err != nil {
		panic(err)
	}
	return set
}
