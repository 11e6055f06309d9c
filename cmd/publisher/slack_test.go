package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/greenlight-operator/greenlight/internal/publish"
)

const slackHookPath = "/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx"

// slackServer behaves like Slack's incoming webhooks: 200 "ok", and plain-text error codes.
type slackServer struct {
	srv *httptest.Server

	mu sync.Mutex
	// answers are served one per request, as status and body, before answering "ok".
	answers []slackAnswer
	// texts are the texts of the messages Slack accepted.
	texts []string
}

type slackAnswer struct {
	status     int
	body       string
	retryAfter string
}

func newSlackServer(t *testing.T) *slackServer {
	s := &slackServer{}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *slackServer) webhookURL() string { return s.srv.URL + slackHookPath }

func (s *slackServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != slackHookPath {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "no_service")
		return
	}
	if len(s.answers) > 0 {
		a := s.answers[0]
		s.answers = s.answers[1:]
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
		return
	}
	var msg struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "invalid_payload")
		return
	}
	if msg.Text == "" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "no_text")
		return
	}
	s.texts = append(s.texts, msg.Text)
	_, _ = io.WriteString(w, "ok")
}

func (s *slackServer) accepted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.texts
}

func newSlackHarness(t *testing.T, s *slackServer, post publish.PostFile) *harness {
	h := newHarness(t, post)
	h.trust(s.srv)
	h.setSecret("SLACK_WEBHOOK_URL", s.webhookURL())
	return h
}

func TestSlackPostsTextWithMediaLinks(t *testing.T) {
	g := NewWithT(t)
	s := newSlackServer(t)
	post := newPost("slack").
		withBody("Launch day <!channel> & friends").
		withMedia(
			publish.Medium{URL: "https://cdn.example.com/rocket.png?v=1&s=2", AltText: "A rocket\nlifting off"},
			publish.Medium{URL: "https://cdn.example.com/clip.mp4"},
		).obj()
	h := newSlackHarness(t, s, post)

	g.Expect(h.run("--driver", "slack")).To(Equal(exitPublished), h.allOutput())
	g.Expect(s.accepted()).To(Equal([]string{
		"Launch day &lt;!channel&gt; &amp; friends\n" +
			"<https://cdn.example.com/rocket.png?v=1&s=2|A rocket lifting off>\n" +
			"<https://cdn.example.com/clip.mp4>",
	}))
	// Incoming webhooks return no id or link.
	g.Expect(h.result()).To(Equal(publish.Result{ID: post.IdempotencyKey, URL: "slack:launch"}))
}

func TestSlackReportsTheChannelURLWhenSet(t *testing.T) {
	g := NewWithT(t)
	s := newSlackServer(t)
	h := newSlackHarness(t, s, newPost("slack").obj())
	h.env["SLACK_CHANNEL_URL"] = "https://example.slack.com/archives/C0123456"

	g.Expect(h.run("--driver", "slack")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.result().URL).To(Equal("https://example.slack.com/archives/C0123456"))
}

func TestSlackErrors(t *testing.T) {
	tests := []struct {
		name     string
		post     publish.PostFile
		answers  []slackAnswer
		wantCode int
		wantMsg  string
	}{{
		name:     "no_text",
		post:     newPost("slack").withBody("").obj(),
		wantCode: exitRefused,
		wantMsg:  "slack answered 400 Bad Request: no_text",
	}, {
		name:     "invalid_payload",
		answers:  []slackAnswer{{status: 400, body: "invalid_payload"}},
		wantCode: exitRefused,
		wantMsg:  "slack answered 400 Bad Request: invalid_payload",
	}, {
		name:     "action_prohibited",
		answers:  []slackAnswer{{status: 403, body: "action_prohibited"}},
		wantCode: exitRefused,
		wantMsg:  "slack answered 403 Forbidden: action_prohibited",
	}, {
		name:     "channel_not_found",
		answers:  []slackAnswer{{status: 404, body: "channel_not_found"}},
		wantCode: exitRefused,
		wantMsg:  "slack answered 404 Not Found: channel_not_found",
	}, {
		name:     "channel_is_archived",
		answers:  []slackAnswer{{status: 410, body: "channel_is_archived"}},
		wantCode: exitRefused,
		wantMsg:  "slack answered 410 Gone: channel_is_archived",
	}, {
		name:     "200 without ok",
		answers:  []slackAnswer{{status: 200, body: "<html>portal</html>"}},
		wantCode: exitRefused,
		wantMsg:  `slack answered 200 without "ok": <html>portal</html>`,
	}, {
		name: "rate limited on every attempt",
		answers: []slackAnswer{
			{status: 429, body: "rate_limited", retryAfter: "1"},
			{status: 429, body: "rate_limited", retryAfter: "1"},
			{status: 429, body: "rate_limited", retryAfter: "1"},
			{status: 429, body: "rate_limited", retryAfter: "1"},
			{status: 429, body: "rate_limited", retryAfter: "1"},
		},
		wantCode: exitRetryable,
		wantMsg:  "slack answered 429 Too Many Requests: rate_limited (gave up after 5 attempts)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := newSlackServer(t)
			s.answers = tt.answers
			post := tt.post
			if post.Name == "" {
				post = newPost("slack").obj()
			}
			h := newSlackHarness(t, s, post)
			g.Expect(h.run("--driver", "slack")).To(Equal(tt.wantCode), h.allOutput())
			g.Expect(h.terminationMessage()).To(Equal(tt.wantMsg))
			g.Expect(h.stderr.String()).To(ContainSubstring(`msg="Failed to publish"`))
			g.Expect(h.stdout.String()).To(BeEmpty())
			g.Expect(s.accepted()).To(BeEmpty())
		})
	}
}

func TestSlackHonoursRetryAfter(t *testing.T) {
	g := NewWithT(t)
	s := newSlackServer(t)
	s.answers = []slackAnswer{{status: 429, body: "rate_limited", retryAfter: "12"}}
	h := newSlackHarness(t, s, newPost("slack").obj())

	g.Expect(h.run("--driver", "slack")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.recordedWaits()).To(Equal([]time.Duration{12 * time.Second}))
	g.Expect(s.accepted()).To(HaveLen(1))
}
