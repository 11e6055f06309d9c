package windows

import (
	"testing"
	"time"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Times inside a DST gap or a repeated hour are written in UTC: their local spelling is missing
// or ambiguous.

// TestDSTGapDoesNotOpenDenyWindow is finding 9: on the day 02:00 does not exist in Berlin, a Deny
// window scheduled for 02:00 used to be skipped, so publishing was allowed at 04:00. It opens
// when the gap ends, 03:00 CEST, and lasts its three hours from there.
func TestDSTGapDoesNotOpenDenyWindow(t *testing.T) {
	nightly := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 2 * * *", 3*time.Hour, "Europe/Berlin")}
	expectAllowed(t, []allowedCase{
		{"the day before, 02:00 CET", nightly, at("Europe/Berlin", "2026-03-28 02:00"), false},
		{"the day before, 05:00 CET", nightly, at("Europe/Berlin", "2026-03-28 05:00"), true},
		{"the gap day, 01:59 CET", nightly, at("Europe/Berlin", "2026-03-29 01:59"), true},
		{"the gap day, 03:00 CEST: opens", nightly, at("Europe/Berlin", "2026-03-29 03:00"), false},
		{"the gap day, 04:00 CEST: still closed to publishing", nightly, at("Europe/Berlin", "2026-03-29 04:00"), false},
		{"the gap day, 05:59 CEST", nightly, at("Europe/Berlin", "2026-03-29 05:59"), false},
		{"the gap day, 06:00 CEST: three hours later", nightly, at("Europe/Berlin", "2026-03-29 06:00"), true},
	})
	expectNextAllowed(t, []nextAllowedCase{
		{"from 04:00 CEST on the gap day", nightly, at("Europe/Berlin", "2026-03-29 04:00"), at("Europe/Berlin", "2026-03-29 06:00"), true},
	})
}

func TestDSTGaps(t *testing.T) {
	// Four occurrences in the Berlin gap collapse into one at 03:00 CEST: ten minutes, not an hour.
	quarterHours := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "*/15 2 * * *", 10*time.Minute, "Europe/Berlin")}
	// 02:30 does not exist in New York on 8 March 2026 (02:00 EST jumps to 03:00 EDT).
	newYork := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "30 2 * * *", time.Hour, "America/New_York")}
	// Lord Howe jumps from 02:00 to 02:30 on 4 October 2026: 02:15 opens at 02:30 (+11).
	lordHowe := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "15 2 * * *", time.Hour, "Australia/Lord_Howe")}
	// Havana jumps from 00:00 to 01:00 on 8 March 2026: midnight opens at 01:00 CDT.
	havana := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 0 * * *", 2*time.Hour, "America/Havana")}
	// Quiet nights over the gap: 22:00 CET plus ten real hours is 09:00 CEST.
	nights := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 22 * * *", 10*time.Hour, "Europe/Berlin")}
	expectAllowed(t, []allowedCase{
		{"Berlin quarter hours: 03:05 CEST", quarterHours, at("Europe/Berlin", "2026-03-29 03:05"), false},
		{"Berlin quarter hours: 03:10 CEST", quarterHours, at("Europe/Berlin", "2026-03-29 03:10"), true},
		{"Berlin quarter hours: 03:20 CEST", quarterHours, at("Europe/Berlin", "2026-03-29 03:20"), true},
		{"New York: 03:00 EDT", newYork, at("America/New_York", "2026-03-08 03:00"), false},
		{"New York: 03:59 EDT", newYork, at("America/New_York", "2026-03-08 03:59"), false},
		{"New York: 04:00 EDT", newYork, at("America/New_York", "2026-03-08 04:00"), true},
		{"Lord Howe: 02:30 (+11)", lordHowe, at("Australia/Lord_Howe", "2026-10-04 02:30"), false},
		{"Lord Howe: 03:29 (+11)", lordHowe, at("Australia/Lord_Howe", "2026-10-04 03:29"), false},
		{"Lord Howe: 03:30 (+11)", lordHowe, at("Australia/Lord_Howe", "2026-10-04 03:30"), true},
		{"Havana: 02:30 CDT", havana, at("America/Havana", "2026-03-08 02:30"), false},
		{"Havana: 03:00 CDT", havana, at("America/Havana", "2026-03-08 03:00"), true},
		{"nights over the gap: 08:59 CEST", nights, at("Europe/Berlin", "2026-03-29 08:59"), false},
		{"nights over the gap: 09:00 CEST", nights, at("Europe/Berlin", "2026-03-29 09:00"), true},
	})
	expectNextAllowed(t, []nextAllowedCase{
		{"Berlin quarter hours", quarterHours, at("Europe/Berlin", "2026-03-29 03:00"), at("Europe/Berlin", "2026-03-29 03:10"), true},
		{"an Allow window in the gap opens when it ends",
			[]greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowAllow, "30 2 * * *", 30*time.Minute, "Europe/Berlin")},
			at("Europe/Berlin", "2026-03-29 00:00"), at("Europe/Berlin", "2026-03-29 03:00"), true},
	})
}

func TestDSTRepeatedHours(t *testing.T) {
	// Berlin repeats 02:00-02:59 on 25 October 2026 (CEST, then CET from 01:00 UTC): 02:30 opens
	// once, at 02:30 CEST (00:30 UTC), and the hour ends at 02:30 CET.
	berlin := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "30 2 * * *", time.Hour, "Europe/Berlin")}
	// New York repeats 01:00-01:59 on 1 November 2026: 01:30 EDT is 05:30 UTC.
	newYork := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "30 1 * * *", time.Hour, "America/New_York")}
	// Lord Howe repeats 01:30-01:59 on 5 April 2026: 01:45 (+11) is 14:45 UTC.
	lordHowe := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "45 1 * * *", 30*time.Minute, "Australia/Lord_Howe")}
	// Santiago goes back from 00:00 on 5 April 2026 to 23:00 on the 4th: 23:30 (-03) is 02:30 UTC.
	santiago := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "30 23 * * *", time.Hour, "America/Santiago")}
	// A weekend in New York over the change: 62 real hours from Friday 18:00 EDT end Monday at
	// 07:00 EST.
	weekend := []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "0 18 * * 5", 62*time.Hour, "America/New_York")}
	expectAllowed(t, []allowedCase{
		{"Berlin: 02:45 CEST", berlin, at("UTC", "2026-10-25 00:45"), false},
		{"Berlin: 02:15 CET", berlin, at("UTC", "2026-10-25 01:15"), false},
		{"Berlin: 02:30 CET, an hour after 02:30 CEST", berlin, at("UTC", "2026-10-25 01:30"), true},
		{"Berlin: 02:45 CET, not opened again", berlin, at("UTC", "2026-10-25 01:45"), true},
		{"New York: 01:15 EST", newYork, at("UTC", "2026-11-01 06:15"), false},
		{"New York: 01:30 EST", newYork, at("UTC", "2026-11-01 06:30"), true},
		{"New York: 01:45 EST, not opened again", newYork, at("UTC", "2026-11-01 06:45"), true},
		{"Lord Howe: 01:40 (+10:30)", lordHowe, at("UTC", "2026-04-04 15:10"), false},
		{"Lord Howe: 01:45 (+10:30)", lordHowe, at("UTC", "2026-04-04 15:15"), true},
		{"Lord Howe: 01:50 (+10:30), not opened again", lordHowe, at("UTC", "2026-04-04 15:20"), true},
		{"Santiago: 23:15 (-04)", santiago, at("UTC", "2026-04-05 03:15"), false},
		{"Santiago: 23:30 (-04)", santiago, at("UTC", "2026-04-05 03:30"), true},
		{"Santiago: 23:45 (-04), not opened again", santiago, at("UTC", "2026-04-05 03:45"), true},
		{"Santiago: the next night, 23:30 (-04)", santiago, at("America/Santiago", "2026-04-05 23:30"), false},
		{"New York weekend: Monday 06:59 EST", weekend, at("America/New_York", "2026-11-02 06:59"), false},
		{"New York weekend: Monday 07:00 EST", weekend, at("America/New_York", "2026-11-02 07:00"), true},
	})
	expectNextAllowed(t, []nextAllowedCase{
		{"Berlin: from 02:45 CEST", berlin, at("UTC", "2026-10-25 00:45"), at("UTC", "2026-10-25 01:30"), true},
		// Occurrences of the repeated hour do not open again, so a Deny window every minute for a
		// minute leaves that hour open: 01:00 to 02:00 UTC on 31 October 2027.
		{"Berlin: every minute for a minute", []greenlightv1alpha1.Window{win(greenlightv1alpha1.WindowDeny, "* * * * *", time.Minute, "Europe/Berlin")},
			at("UTC", "2027-10-30 12:00"), at("UTC", "2027-10-31 01:00"), true},
		{"New York weekend: from Saturday", weekend, at("America/New_York", "2026-10-31 12:00"), at("America/New_York", "2026-11-02 07:00"), true},
	})
}
