package calendar

import (
	"bytes"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on machines without zoneinfo
	"unicode/utf8"

	. "github.com/onsi/gomega"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"

	"github.com/greenlight-operator/greenlight/internal/testenv/golden"
)

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return loc
}

func render(t *testing.T, c *Calendar) string {
	var out bytes.Buffer
	NewWithT(t).Expect(c.Render(&out)).To(Succeed())
	return out.String()
}

func TestWeekGrid(t *testing.T) {
	g := NewWithT(t)
	out := render(t, Build(fixturePosts(), Options{Span: Week, Location: berlin(t), Now: now}))
	golden.Expect(t, "week.txt", []byte(out))
	for line := range strings.Lines(out) {
		g.Expect(utf8.RuneCountInString(strings.TrimSuffix(line, "\n"))).To(BeNumerically("<=", 80), "line %q is wider than 80 columns", line)
	}
}

func TestMonthGrid(t *testing.T) {
	golden.Expect(t, "month.txt", []byte(render(t, Build(fixturePosts(), Options{Span: Month, Location: berlin(t), Now: now}))))
}

func TestPeriod(t *testing.T) {
	loc := berlin(t)
	tests := []struct {
		name       string
		span       Span
		offset     int
		now        time.Time
		loc        *time.Location
		start, end time.Time
		weeks      int
	}{
		{name: "week of a Wednesday", span: Week, now: now, loc: time.UTC,
			start: utc(11, 23, 0, 0), end: utc(11, 30, 0, 0), weeks: 1},
		{name: "next week", span: Week, offset: 1, now: now, loc: time.UTC,
			start: utc(11, 30, 0, 0), end: utc(12, 7, 0, 0), weeks: 1},
		{name: "previous week", span: Week, offset: -1, now: now, loc: time.UTC,
			start: utc(11, 16, 0, 0), end: utc(11, 23, 0, 0), weeks: 1},
		{name: "Sunday late in UTC is already Monday in Berlin", span: Week, now: utc(11, 29, 23, 30), loc: loc,
			start: time.Date(2026, 11, 30, 0, 0, 0, 0, loc), end: time.Date(2026, 12, 7, 0, 0, 0, 0, loc), weeks: 1},
		{name: "empty span is a week", now: now, loc: time.UTC,
			start: utc(11, 23, 0, 0), end: utc(11, 30, 0, 0), weeks: 1},
		{name: "November 2026 starts on a Sunday", span: Month, now: now, loc: time.UTC,
			start: utc(11, 1, 0, 0), end: utc(12, 1, 0, 0), weeks: 6},
		{name: "February 2027 is four whole weeks", span: Month, offset: 3, now: now, loc: time.UTC,
			start: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), end: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), weeks: 4},
		{name: "previous month across a year", span: Month, offset: -11, now: now, loc: time.UTC,
			start: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), end: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), weeks: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := Build(nil, Options{Span: tt.span, Offset: tt.offset, Location: tt.loc, Now: tt.now})
			g.Expect(c.Start).To(BeTemporally("==", tt.start))
			g.Expect(c.End).To(BeTemporally("==", tt.end))
			g.Expect(c.Weeks).To(HaveLen(tt.weeks))
			g.Expect(c.Weeks[0][0].Date.Weekday()).To(Equal(time.Monday))
		})
	}
}

// placed lists "day-of-month kind post department" for every entry in the grid.
func placed(c *Calendar) []string {
	var out []string
	for _, week := range c.Weeks {
		for _, d := range week {
			for _, e := range d.Entries {
				out = append(out, strings.TrimSpace(d.Date.Format("2")+" "+string(e.Kind)+" "+e.Post+" "+e.Department))
			}
		}
	}
	return out
}

func TestPlacement(t *testing.T) {
	tests := []struct {
		name        string
		posts       []greenlightv1alpha1.ContentPost
		campaign    string
		placed      []string
		unscheduled []string
	}{
		{name: "at publishAt, whatever has been published",
			posts: []greenlightv1alpha1.ContentPost{newPost("a").at(utc(11, 24, 9, 0)).
				channel("mastodon", greenlightv1alpha1.PublishSucceeded, 1, utc(11, 26, 9, 0)).obj()},
			placed: []string{"24 Post a"}},
		{name: "without publishAt: at the earliest channel publishedAt",
			posts: []greenlightv1alpha1.ContentPost{newPost("a").
				channel("x", greenlightv1alpha1.PublishSucceeded, 1, utc(11, 27, 9, 0)).
				channel("y", greenlightv1alpha1.PublishSucceeded, 1, utc(11, 26, 9, 0)).obj()},
			placed: []string{"26 Post a"}},
		{name: "without any time: unscheduled",
			posts:       []greenlightv1alpha1.ContentPost{newPost("a").channel("x", greenlightv1alpha1.PublishRunning, 1, time.Time{}).obj()},
			unscheduled: []string{"a"}},
		{name: "deadlines of Pending and Waiting departments only",
			posts: []greenlightv1alpha1.ContentPost{newPost("a").at(utc(12, 1, 9, 0)).
				department("pending", greenlightv1alpha1.DepartmentPending, utc(11, 24, 9, 0)).
				department("waiting", greenlightv1alpha1.DepartmentWaiting, utc(11, 25, 9, 0)).
				department("approved", greenlightv1alpha1.DepartmentApproved, utc(11, 26, 9, 0)).
				department("expired", greenlightv1alpha1.DepartmentExpired, utc(11, 27, 9, 0)).
				department("no-deadline", greenlightv1alpha1.DepartmentPending, time.Time{}).obj()},
			placed: []string{"24 Deadline a pending", "25 Deadline a waiting"}},
		{name: "outside the week: not shown",
			posts:  []greenlightv1alpha1.ContentPost{newPost("a").at(utc(11, 30, 0, 0)).obj(), newPost("b").at(utc(11, 22, 23, 59)).obj()},
			placed: nil},
		{name: "campaign filter",
			posts: []greenlightv1alpha1.ContentPost{newPost("a").campaign("x").at(utc(11, 24, 9, 0)).obj(),
				newPost("b").campaign("y").at(utc(11, 24, 9, 0)).obj(), newPost("c").obj(), newPost("d").campaign("x").obj()},
			campaign: "x", placed: []string{"24 Post a"}, unscheduled: []string{"d"}},
		{name: "same time: posts before deadlines, then by name",
			posts: []greenlightv1alpha1.ContentPost{
				newPost("b").at(utc(11, 24, 9, 0)).department("legal", greenlightv1alpha1.DepartmentPending, utc(11, 24, 9, 0)).obj(),
				newPost("a").at(utc(11, 24, 9, 0)).obj()},
			placed: []string{"24 Post a", "24 Post b", "24 Deadline b legal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := Build(tt.posts, Options{Location: time.UTC, Now: now, Campaign: tt.campaign})
			g.Expect(placed(c)).To(Equal(tt.placed))
			var unscheduled []string
			for _, e := range c.Unscheduled {
				unscheduled = append(unscheduled, e.Post)
			}
			g.Expect(unscheduled).To(Equal(tt.unscheduled))
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  string
	}{
		{"launch", 10, "launch"},
		{"launch-tea", 10, "launch-tea"},
		{"launch-teaser", 10, "launch-te…"},
		{"", 10, ""},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(truncate(tt.in, tt.width)).To(Equal(tt.want))
	}
}

func TestNamespacesShownWhenPostsSpanSeveral(t *testing.T) {
	g := NewWithT(t)
	posts := []greenlightv1alpha1.ContentPost{newPost("a").in("one").at(utc(11, 24, 9, 0)).obj(), newPost("b").in("two").obj()}
	out := render(t, Build(posts, Options{Location: time.UTC, Now: now, Width: 140}))
	g.Expect(out).To(ContainSubstring("|one/a"))
	g.Expect(out).To(ContainSubstring("  two/b"))
}

func TestZoneNameSaysWhichZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	winter := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if got := zoneName(berlin, winter); got != "Europe/Berlin" {
		t.Errorf("zoneName(Europe/Berlin) = %q", got)
	}
	if got, want := zoneName(time.Local, winter), winter.In(time.Local).Format("MST"); got != want || got == "Local" {
		t.Errorf("zoneName(Local) = %q, want the zone's abbreviation %q", got, want)
	}
}
