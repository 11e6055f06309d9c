package revision

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func spec() *greenlightv1alpha1.ContentPostSpec {
	at := metav1.NewTime(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	return &greenlightv1alpha1.ContentPostSpec{
		Author:    "dana",
		Campaign:  "spring",
		Body:      "Our spring line is here",
		Media:     []greenlightv1alpha1.Media{{URL: "https://cdn.example.com/a.png", AltText: "shirts"}},
		Channels:  []greenlightv1alpha1.Channel{{Name: "mastodon", Body: "short"}, {Name: "linkedin"}},
		PublishAt: &at,
	}
}

func TestDigestsChangeExactlyWithTheirFields(t *testing.T) {
	all := greenlightv1alpha1.AllCoveredFields
	body := []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverBody}
	bodyMedia := []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverBody, greenlightv1alpha1.CoverMedia}
	channels := []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverChannels}
	schedule := []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverSchedule}

	cases := []struct {
		name    string
		edit    func(*greenlightv1alpha1.ContentPostSpec)
		changes map[string]bool // covers name -> whether its digest changes
	}{
		{"nothing", func(*greenlightv1alpha1.ContentPostSpec) {},
			map[string]bool{"all": false, "body": false, "bodyMedia": false, "channels": false, "schedule": false}},
		{"body", func(s *greenlightv1alpha1.ContentPostSpec) { s.Body += "!" },
			map[string]bool{"all": true, "body": true, "bodyMedia": true, "channels": false, "schedule": false}},
		{"media alt text", func(s *greenlightv1alpha1.ContentPostSpec) { s.Media[0].AltText = "T-shirts" },
			map[string]bool{"all": true, "body": false, "bodyMedia": true, "channels": false, "schedule": false}},
		{"media bytes pinned", func(s *greenlightv1alpha1.ContentPostSpec) { s.Media[0].SHA256 = "ab" },
			map[string]bool{"all": true, "body": false, "bodyMedia": true, "channels": false, "schedule": false}},
		// Finding 3: a channel's variant is the text that goes out there, so body covers it.
		{"channel variant", func(s *greenlightv1alpha1.ContentPostSpec) { s.Channels[0].Body = "shorter" },
			map[string]bool{"all": true, "body": true, "bodyMedia": true, "channels": true, "schedule": false}},
		{"channel variant added", func(s *greenlightv1alpha1.ContentPostSpec) { s.Channels[1].Body = "a new text for linkedin" },
			map[string]bool{"all": true, "body": true, "bodyMedia": true, "channels": true, "schedule": false}},
		{"channel variant removed: the channel now gets spec.body", func(s *greenlightv1alpha1.ContentPostSpec) { s.Channels[0].Body = "" },
			map[string]bool{"all": true, "body": true, "bodyMedia": true, "channels": true, "schedule": false}},
		{"channel added without a variant", func(s *greenlightv1alpha1.ContentPostSpec) {
			s.Channels = append(s.Channels, greenlightv1alpha1.Channel{Name: "bluesky"})
		}, map[string]bool{"all": true, "body": false, "bodyMedia": false, "channels": true, "schedule": false}},
		{"channels reordered", func(s *greenlightv1alpha1.ContentPostSpec) {
			s.Channels[0], s.Channels[1] = s.Channels[1], s.Channels[0]
		}, map[string]bool{"all": false, "body": false, "bodyMedia": false, "channels": false, "schedule": false}},
		{"publishAt moved", func(s *greenlightv1alpha1.ContentPostSpec) {
			at := metav1.NewTime(s.PublishAt.Add(time.Hour))
			s.PublishAt = &at
		}, map[string]bool{"all": true, "body": false, "bodyMedia": false, "channels": false, "schedule": true}},
		{"publishAt in another zone, same instant", func(s *greenlightv1alpha1.ContentPostSpec) {
			at := metav1.NewTime(s.PublishAt.In(time.FixedZone("CET", 3600)))
			s.PublishAt = &at
		}, map[string]bool{"all": false, "body": false, "bodyMedia": false, "channels": false, "schedule": false}},
		{"publishAt removed", func(s *greenlightv1alpha1.ContentPostSpec) { s.PublishAt = nil },
			map[string]bool{"all": true, "body": false, "bodyMedia": false, "channels": false, "schedule": true}},
		{"author, campaign and draft are not content", func(s *greenlightv1alpha1.ContentPostSpec) {
			s.Author, s.Campaign, s.Draft = "eve", "autumn", true
		}, map[string]bool{"all": false, "body": false, "bodyMedia": false, "channels": false, "schedule": false}},
	}
	covers := map[string][]greenlightv1alpha1.CoveredField{
		"all": all, "body": body, "bodyMedia": bodyMedia, "channels": channels, "schedule": schedule,
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			before, after := spec(), spec()
			tc.edit(after)
			for name, fields := range covers {
				changed := Covered(before, fields) != Covered(after, fields)
				g.Expect(changed).To(Equal(tc.changes[name]), "digest covering %s", name)
			}
		})
	}
}

func TestDigestFormat(t *testing.T) {
	g := NewWithT(t)
	d := Of(spec())
	g.Expect(d).To(MatchRegexp(`^sha256:[0-9a-f]{64}$`))
	g.Expect(Of(spec())).To(Equal(d), "the same content always has the same revision")
	g.Expect(Covered(spec(), nil)).To(Equal(d), "no covers means all fields")
	g.Expect(Covered(spec(), []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverSchedule, greenlightv1alpha1.CoverBody})).
		To(Equal(Covered(spec(), []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverBody, greenlightv1alpha1.CoverSchedule})),
			"the order of covers does not matter")
	g.Expect(Covered(&greenlightv1alpha1.ContentPostSpec{Body: "x"}, []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverBody})).
		NotTo(Equal(Covered(&greenlightv1alpha1.ContentPostSpec{Body: "x"}, []greenlightv1alpha1.CoveredField{greenlightv1alpha1.CoverBody, greenlightv1alpha1.CoverMedia})),
			"covering an empty field is part of the digest")
}
