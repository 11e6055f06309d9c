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

func TestAllowed(t *testing.T) {
	cases := []struct {
		name    string
		windows []greenlightv1alpha1.Window
		at      time.Time
		want    bool
	}{
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			set, err := Parse(tc.windows)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(set.Allowed(tc.at)).To(Equal(tc.want))
		})
	}
}

func TestNextAllowed(t *testing.T) {
	cases := []struct {
		name    string
		windows []greenlightv1alpha1.Window
		from    time.Time
		want    time.Time
		found   bool
	}{
		{"already allowed", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-11-26 10:00"), at("Europe/Berlin", "2026-11-26 10:00"), true},
		{"weekend: Monday 08:00", []greenlightv1alpha1.Window{berlinWeekend}, at("Europe/Berlin", "2026-11-28 12:00"), at("Europe/Berlin", "2026-11-30 08:00"), true},
		{"Friday evening in New York: Monday 09:00", []greenlightv1alpha1.Window{newYorkOffice}, at("America/New_York", "2026-11-27 18:00"), at("America/New_York", "2026-11-30 09:00"), true},
		{"office hours and a Berlin weekend: Monday 09:00 New York",
			[]greenlightv1alpha1.Window{newYorkOffice, berlinWeekend}, at("America/New_York", "2026-11-27 18:00"), at("America/New_York", "2026-11-30 09:00"), true},
		{"quiet night: 08:00", []greenlightv1alpha1.Window{quietNights}, at("UTC", "2026-11-24 23:30"), at("UTC", "2026-11-25 08:00"), true},
		{"an allow window that never fires", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowAllow, "0 9 30 2 *", time.Hour, "")},
			at("UTC", "2026-11-24 10:00"), time.Time{}, false},
	}
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
	g := NewWithT(t)
	_, err := Parse([]greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "every friday", time.Hour, "")})
	g.Expect(err).To(MatchError(ContainSubstring(`spec.windows[0].schedule "every friday"`)))
	_, err = Parse([]greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 18 * * 5", time.Hour, "Mars/Olympus")})
	g.Expect(err).To(MatchError(ContainSubstring(`spec.windows[0].timeZone "Mars/Olympus" is not an IANA time zone`)))
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
