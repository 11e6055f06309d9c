package calendar

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	. "github.com/onsi/gomega"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"

	"github.com/greenlight-operator/greenlight/internal/testenv/golden"
)

func writeICS(t *testing.T, posts []greenlightv1alpha1.ContentPost, opts FeedOptions) []byte {
	var out bytes.Buffer
	NewWithT(t).Expect(WriteICS(&out, posts, opts)).To(Succeed())
	return out.Bytes()
}

func TestICS(t *testing.T) {
	g := NewWithT(t)
	raw := writeICS(t, fixturePosts(), FeedOptions{Now: now})
	golden.Expect(t, "calendar.ics", raw)

	// RFC 5545: every line ends in CRLF, and no bare LF hides in a value.
	g.Expect(bytes.HasSuffix(raw, []byte("END:VCALENDAR\r\n"))).To(BeTrue())
	g.Expect(bytes.Count(raw, []byte("\n"))).To(Equal(bytes.Count(raw, []byte("\r\n"))))

	cal, err := ics.ParseCalendar(bytes.NewReader(raw))
	g.Expect(err).NotTo(HaveOccurred())
	props := map[string]string{}
	for _, p := range cal.CalendarProperties {
		props[p.IANAToken] = p.Value
	}
	g.Expect(props).To(HaveKeyWithValue("X-WR-CALNAME", "Greenlight"))
	g.Expect(props).To(HaveKeyWithValue("X-PUBLISHED-TTL", "PT1H"))
	g.Expect(string(raw)).To(ContainSubstring("REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"))

	type event struct {
		summary  string
		sequence int
		start    time.Time
	}
	events := map[string]event{}
	for _, e := range cal.Events() {
		stamp, err := e.GetDtStampTime()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(stamp).To(BeTemporally("==", now), "DTSTAMP of %s", e.Id())
		g.Expect(e.GetProperty(ics.ComponentPropertyDtStart).Value).To(HaveSuffix("Z"), "DTSTART of %s in UTC", e.Id())
		g.Expect(e.GetProperty(ics.ComponentPropertyDtEnd).Value).To(HaveSuffix("Z"), "DTEND of %s in UTC", e.Id())
		start, err := e.GetStartAt()
		g.Expect(err).NotTo(HaveOccurred())
		seq, err := strconv.Atoi(e.GetProperty(ics.ComponentPropertySequence).Value)
		g.Expect(err).NotTo(HaveOccurred())
		events[e.Id()] = event{summary: e.GetProperty(ics.ComponentPropertySummary).Value, sequence: seq, start: start}
	}
	g.Expect(events).To(Equal(map[string]event{
		// generation 3 + policy generation 2 = 5; InReview ranks 2.
		"uid-launch-teaser@greenlight.dev": {"launch-teaser (spring-launch): InReview", 502, utc(11, 26, 9, 0)},
		"uid-launch-teaser-legal-deadline@greenlight.dev": {"Deadline: legal on launch-teaser (spring-launch)", 5,
			utc(11, 25, 16, 0)},
		"uid-launch-faq@greenlight.dev":       {"launch-faq (spring-launch): Scheduled", 406, utc(11, 27, 14, 30)},
		"uid-holiday-greeting@greenlight.dev": {"holiday-greeting (winter): Published", 308, utc(11, 23, 8, 0)},
		"uid-press-release-about-the-new-factory@greenlight.dev": {"press-release-about-the-new-factory (spring-launch): Published", 308,
			utc(11, 24, 12, 0)},
		// Attempt 2: one retry adds 10.
		"uid-recall-notice@greenlight.dev":                 {"recall-notice (spring-launch): Failed", 319, utc(11, 29, 18, 0)},
		"uid-black-friday@greenlight.dev":                  {"black-friday (winter): Expired", 305, utc(11, 2, 10, 0)},
		"uid-year-in-review-brand-deadline@greenlight.dev": {"Deadline: brand on year-in-review (winter)", 3, utc(11, 28, 12, 0)},
		"uid-year-in-review-legal-deadline@greenlight.dev": {"Deadline: legal on year-in-review (winter)", 3, utc(11, 30, 17, 0)},
	}), "no event for draft-idea and year-in-review, which have no publish time")

	// The description carries the body's first line and, once published, the URLs.
	for _, e := range cal.Events() {
		if e.Id() == "uid-press-release-about-the-new-factory@greenlight.dev" {
			g.Expect(e.GetProperty(ics.ComponentPropertyDescription).Value).To(Equal(
				"Text of press-release-about-the-new-factory\nPost: marketing/press-release-about-the-new-factory" +
					"\nlinkedin: https://social.example/@acme/linkedin-press-release-about-the-new-factory" +
					"\nmastodon: https://social.example/@acme/mastodon-press-release-about-the-new-factory"))
		}
	}
}

func TestICSCampaignAndName(t *testing.T) {
	g := NewWithT(t)
	cal, err := ics.ParseCalendar(bytes.NewReader(writeICS(t, fixturePosts(), FeedOptions{Now: now, Campaign: "winter", Refresh: 90 * time.Minute})))
	g.Expect(err).NotTo(HaveOccurred())
	var ids []string
	for _, e := range cal.Events() {
		ids = append(ids, e.Id())
	}
	g.Expect(ids).To(ConsistOf("uid-holiday-greeting@greenlight.dev", "uid-black-friday@greenlight.dev",
		"uid-year-in-review-brand-deadline@greenlight.dev", "uid-year-in-review-legal-deadline@greenlight.dev"))
	for _, p := range cal.CalendarProperties {
		switch p.IANAToken {
		case "X-WR-CALNAME":
			g.Expect(p.Value).To(Equal("Greenlight winter"))
		case "X-PUBLISHED-TTL":
			g.Expect(p.Value).To(Equal("PT1H30M"))
		}
	}
}

// sequence is the SEQUENCE of the post's own event.
func sequence(t *testing.T, post greenlightv1alpha1.ContentPost) int {
	raw := string(writeICS(t, []greenlightv1alpha1.ContentPost{post}, FeedOptions{Now: now}))
	for line := range strings.Lines(raw) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "SEQUENCE:"); ok {
			n, err := strconv.Atoi(v)
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return n
		}
	}
	t.Fatal("no SEQUENCE")
	return 0
}

// TestSequenceRises walks a post through the changes a calendar must see as updates: each step
// changes the event's time or title, and SEQUENCE must rise.
func TestSequenceRises(t *testing.T) {
	at := utc(12, 1, 9, 0)
	steps := []struct {
		name string
		post greenlightv1alpha1.ContentPost
	}{
		{"draft", newPost("a").at(at).phase(greenlightv1alpha1.PostDraft).obj()},
		{"submitted", newPost("a").at(at).generation(2).policy("brand", 1).phase(greenlightv1alpha1.PostInReview).obj()},
		{"changes requested", newPost("a").at(at).generation(2).policy("brand", 1).phase(greenlightv1alpha1.PostChangesRequested).obj()},
		{"edited", newPost("a").at(at).generation(3).policy("brand", 1).phase(greenlightv1alpha1.PostInReview).obj()},
		{"publishAt moved earlier", newPost("a").at(at.Add(-time.Hour)).generation(4).policy("brand", 1).
			phase(greenlightv1alpha1.PostInReview).obj()},
		{"approved", newPost("a").at(at.Add(-time.Hour)).generation(4).policy("brand", 1).phase(greenlightv1alpha1.PostScheduled).obj()},
		{"policy edit reopened review", newPost("a").at(at.Add(-time.Hour)).generation(4).policy("brand", 2).
			phase(greenlightv1alpha1.PostInReview).obj()},
		{"approved again", newPost("a").at(at.Add(-time.Hour)).generation(4).policy("brand", 2).phase(greenlightv1alpha1.PostScheduled).obj()},
		{"publishing", newPost("a").at(at.Add(-time.Hour)).generation(4).policy("brand", 2).phase(greenlightv1alpha1.PostPublishing).
			channel("mastodon", greenlightv1alpha1.PublishRunning, 1, time.Time{}).obj()},
		{"failed", newPost("a").at(at.Add(-time.Hour)).generation(4).policy("brand", 2).phase(greenlightv1alpha1.PostFailed).
			channel("mastodon", greenlightv1alpha1.PublishFailed, 1, time.Time{}).obj()},
		{"retried", newPost("a").at(at.Add(-time.Hour)).generation(4).policy("brand", 2).phase(greenlightv1alpha1.PostPublishing).
			channel("mastodon", greenlightv1alpha1.PublishPending, 2, time.Time{}).obj()},
		{"published", newPost("a").at(at.Add(-time.Hour)).generation(4).policy("brand", 2).phase(greenlightv1alpha1.PostPublished).
			channel("mastodon", greenlightv1alpha1.PublishSucceeded, 2, at).obj()},
	}
	previous := -1
	for _, step := range steps {
		seq := sequence(t, step.post)
		NewWithT(t).Expect(seq).To(BeNumerically(">", previous), "SEQUENCE must rise at step %q", step.name)
		previous = seq
	}
}

func TestISODuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{time.Hour, "PT1H"},
		{90 * time.Minute, "PT1H30M"},
		{45 * time.Second, "PT45S"},
		{25*time.Hour + time.Second, "PT25H1S"},
		{0, "PT0S"},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(isoDuration(tt.in)).To(Equal(tt.want))
	}
}
