package publish

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

const testRevision = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// newPostFile returns a complete post file without media, publishAt or campaign.
func newPostFile() PostFile {
	return PostFile{
		Namespace:      "marketing",
		Name:           "launch",
		UID:            "6f1c2d3e-0000-4000-8000-000000000001",
		Revision:       testRevision,
		Channel:        "mastodon",
		Body:           "We launched! <3 & more",
		IdempotencyKey: "gl-6f1c2d3e-mastodon-0123456789abcdef",
	}
}

func TestPostFileEncoding(t *testing.T) {
	berlin := time.FixedZone("CEST", 2*60*60)
	tests := []struct {
		name   string
		modify func(*PostFile)
		golden string
	}{{
		name:   "nil media encodes as an empty array, unset publishAt and campaign are left out",
		modify: func(*PostFile) {},
		golden: `{"namespace":"marketing","name":"launch","uid":"6f1c2d3e-0000-4000-8000-000000000001",` +
			`"revision":"` + testRevision + `","channel":"mastodon","body":"We launched! \u003c3 \u0026 more",` +
			`"media":[],"idempotencyKey":"gl-6f1c2d3e-mastodon-0123456789abcdef"}`,
	}, {
		name:   "empty media encodes as an empty array",
		modify: func(p *PostFile) { p.Media = []Medium{} },
		golden: `{"namespace":"marketing","name":"launch","uid":"6f1c2d3e-0000-4000-8000-000000000001",` +
			`"revision":"` + testRevision + `","channel":"mastodon","body":"We launched! \u003c3 \u0026 more",` +
			`"media":[],"idempotencyKey":"gl-6f1c2d3e-mastodon-0123456789abcdef"}`,
	}, {
		name: "every field set, publishAt converted to UTC, empty medium fields kept",
		modify: func(p *PostFile) {
			p.Media = []Medium{
				{URL: "https://cdn.example.com/a.png", SHA256: strings.Repeat("ab", 32), AltText: "A rocket"},
				{URL: "https://cdn.example.com/b.mp4"},
			}
			p.PublishAt = time.Date(2026, 5, 4, 11, 30, 0, 0, berlin)
			p.Campaign = "spring"
		},
		golden: `{"namespace":"marketing","name":"launch","uid":"6f1c2d3e-0000-4000-8000-000000000001",` +
			`"revision":"` + testRevision + `","channel":"mastodon","body":"We launched! \u003c3 \u0026 more",` +
			`"media":[{"url":"https://cdn.example.com/a.png","sha256":"` + strings.Repeat("ab", 32) + `","altText":"A rocket"},` +
			`{"url":"https://cdn.example.com/b.mp4","sha256":"","altText":""}],` +
			`"publishAt":"2026-05-04T09:30:00Z","campaign":"spring","idempotencyKey":"gl-6f1c2d3e-mastodon-0123456789abcdef"}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p := newPostFile()
			tt.modify(&p)

			data, err := json.Marshal(p)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(data)).To(Equal(tt.golden))

			// A pointer encodes the same way, as it does inside other structs.
			data, err = json.Marshal(&p)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(data)).To(Equal(tt.golden))
		})
	}
}

func TestPostFileRoundTrip(t *testing.T) {
	g := NewWithT(t)
	p := newPostFile()
	p.Media = []Medium{{URL: "https://cdn.example.com/a.png", SHA256: strings.Repeat("0f", 32), AltText: "Ä rocket 🚀"}}
	p.PublishAt = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)
	p.Campaign = "spring"

	data, err := json.Marshal(p)
	g.Expect(err).NotTo(HaveOccurred())
	back, err := ParsePostFile(data)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(back).To(Equal(p))

	again, err := json.Marshal(back)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(data))
}

func TestParsePostFile(t *testing.T) {
	valid, err := json.Marshal(newPostFile())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    string
		wantErr []string
	}{{
		name: "valid",
		data: string(valid),
	}, {
		name: "unknown fields from a newer controller are ignored",
		data: strings.Replace(string(valid), `{`, `{"future":{"x":1},`, 1),
	}, {
		name:    "not JSON",
		data:    `channel: mastodon`,
		wantErr: []string{"post file is not valid JSON"},
	}, {
		name:    "empty object",
		data:    `{}`,
		wantErr: []string{`"namespace" is empty`, `"name" is empty`, `"uid" is empty`, `"channel" is empty`, `"idempotencyKey" is empty`, `"revision" is not`},
	}, {
		name:    "short revision",
		data:    strings.Replace(string(valid), testRevision, "sha256:abc", 1),
		wantErr: []string{`"revision" is not "sha256:" followed by 64 lowercase hex digits`},
	}, {
		name:    "medium without URL and with a bad digest",
		data:    strings.Replace(string(valid), `"media":[]`, `"media":[{"url":"","sha256":"ABC"}]`, 1),
		wantErr: []string{`"media[0].url" is empty`, `"media[0].sha256" is not 64 lowercase hex digits`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := ParsePostFile([]byte(tt.data))
			if len(tt.wantErr) == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(HaveOccurred())
			for _, want := range tt.wantErr {
				g.Expect(err.Error()).To(ContainSubstring(want))
			}
		})
	}
}

func TestParseResult(t *testing.T) {
	tests := []struct {
		name    string
		message string
		want    Result
		wantErr string
	}{{
		name:    "id and url",
		message: `{"id":"109","url":"https://social.example/@greenlight/109"}`,
		want:    Result{ID: "109", URL: "https://social.example/@greenlight/109"},
	}, {
		name:    "surrounding whitespace and unknown fields",
		message: "\n {\"url\":\"https://hooks.example/p/1\",\"extra\":true}\n",
		want:    Result{URL: "https://hooks.example/p/1"},
	}, {
		name:    "empty",
		message: "  ",
		wantErr: "left no termination message",
	}, {
		name:    "human failure message",
		message: "slack answered 404 Not Found: channel_not_found",
		wantErr: `is not JSON {"id": "...", "url": "..."}: "slack answered 404 Not Found: channel_not_found"`,
	}, {
		name:    "long garbage is quoted only in part",
		message: strings.Repeat("é", 500),
		wantErr: strings.Repeat("é", 60) + "…",
	}, {
		name:    "missing url",
		message: `{"id":"109"}`,
		wantErr: `has no "url"`,
	}, {
		name:    "a url with an escape sequence",
		message: `{"id":"1","url":"https://social.example/1\u001b[8m"}`,
		wantErr: `is not an absolute URL`,
	}, {
		name:    "a url with a C1 control character",
		message: `{"id":"1","url":"https://social.example/1\u009b8m"}`,
		wantErr: `is not an absolute URL`,
	}, {
		name:    "a relative url",
		message: `{"id":"1","url":"/posts/1"}`,
		wantErr: `is not an absolute URL`,
	}, {
		name:    "the slack driver's url (an incoming webhook has no post page)",
		message: `{"id":"gl-1","url":"slack:launch"}`,
		want:    Result{ID: "gl-1", URL: "slack:launch"},
	}, {
		name:    "an id with a line break",
		message: `{"id":"1\nReview","url":"https://social.example/1"}`,
		wantErr: `"id" holds control characters`,
	}, {
		name:    "url of the wrong type",
		message: `{"id":"1","url":42}`,
		wantErr: "is not JSON",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ParseResult([]byte(tt.message))
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(len(err.Error())).To(BeNumerically("<", 400))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}
