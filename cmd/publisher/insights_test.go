package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// insightsEnv turns a harness's run into an insights run for the remote post id and url.
func insightsEnv(h *harness, id, url string) {
	h.env["GREENLIGHT_MODE"] = "insights"
	if id != "" {
		h.env["GREENLIGHT_REMOTE_ID"] = id
	}
	if url != "" {
		h.env["GREENLIGHT_REMOTE_URL"] = url
	}
}

// onlyGets says whether every request in log ("METHOD /path") is a GET.
func onlyGets(log []string) bool {
	for _, request := range log {
		if !strings.HasPrefix(request, http.MethodGet+" ") {
			return false
		}
	}
	return true
}

func TestMastodonInsights(t *testing.T) {
	tests := []struct {
		name       string
		id         string
		failGets   []int
		retryAfter string
		wantMsg    string
		wantWaits  []time.Duration
	}{{
		name:    "counters of the status",
		id:      "110001",
		wantMsg: `{"likes":42,"shares":7,"replies":3}`,
	}, {
		name:    "a deleted status reports zeros and says so, without retrying",
		id:      "110099",
		wantMsg: `{"likes":0,"shares":0,"replies":0,"message":"the remote post 110099 no longer exists"}`,
	}, {
		name:       "429 with Retry-After, then 200",
		id:         "110001",
		failGets:   []int{http.StatusTooManyRequests},
		retryAfter: "12",
		wantMsg:    `{"likes":42,"shares":7,"replies":3}`,
		wantWaits:  []time.Duration{12 * time.Second},
	}, {
		name:       "Retry-After is capped as when publishing",
		id:         "110001",
		failGets:   []int{http.StatusTooManyRequests},
		retryAfter: "3600",
		wantMsg:    `{"likes":42,"shares":7,"replies":3}`,
		wantWaits:  []time.Duration{time.Minute},
	}, {
		name:      "500 then 502, then 200, with the usual backoff",
		id:        "110001",
		failGets:  []int{http.StatusInternalServerError, http.StatusBadGateway},
		wantMsg:   `{"likes":42,"shares":7,"replies":3}`,
		wantWaits: []time.Duration{time.Second, 2 * time.Second},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := newFakeMastodon(t)
			m.counters["110001"] = [3]int64{42, 7, 3}
			m.failGets, m.retryAfter = tt.failGets, tt.retryAfter
			h := newMastodonHarness(t, m, newPost("mastodon").obj())
			insightsEnv(h, tt.id, "https://social.example/@greenlight/"+tt.id)

			g.Expect(h.run("--driver", "mastodon")).To(Equal(exitPublished), h.allOutput())
			g.Expect(h.terminationMessage()).To(Equal(tt.wantMsg))
			g.Expect(h.stdout.String()).To(Equal(tt.wantMsg + "\n"))
			g.Expect(h.recordedWaits()).To(Equal(tt.wantWaits))
			g.Expect(m.requestLog()).To(HaveLen(len(tt.failGets) + 1))
			g.Expect(m.requestLog()).To(HaveEach("GET /api/v1/statuses/" + tt.id))
			g.Expect(m.statuses()).To(BeEmpty(), "an insights run publishes nothing")
		})
	}
}

func TestMastodonInsightsAfterPublishing(t *testing.T) {
	g := NewWithT(t)
	m := newFakeMastodon(t)
	h := newMastodonHarness(t, m, newPost("mastodon").obj())
	g.Expect(h.run("--driver", "mastodon")).To(Equal(exitPublished), h.allOutput())
	published := h.result()
	m.counters[published.ID] = [3]int64{1, 0, 2}

	// The insights Job: the same template, post.json and env, plus the insights env.
	insightsEnv(h, published.ID, published.URL)
	g.Expect(h.run("--driver", "mastodon")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.terminationMessage()).To(Equal(`{"likes":1,"shares":0,"replies":2}`))
	g.Expect(h.stderr.String()).To(ContainSubstring(`msg="Read insights" post=marketing/launch channel=mastodon driver=mastodon likes=1 shares=0 replies=2`))
	g.Expect(m.statuses()).To(HaveLen(1), "the insights run posted nothing more")
	g.Expect(m.requestLog()).To(Equal([]string{"POST /api/v1/statuses", "GET /api/v1/statuses/" + published.ID}))
}

func TestMastodonInsightsFailures(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(h *harness, m *fakeMastodon)
		args     []string
		wantCode int
		wantMsg  string
	}{{
		name:     "no remote id",
		setup:    func(h *harness, _ *fakeMastodon) { delete(h.env, "GREENLIGHT_REMOTE_ID") },
		wantCode: exitConfig,
		wantMsg: "GREENLIGHT_REMOTE_ID is not set: the mastodon driver reads the counters of the status with this id; " +
			"the controller sets it from the channel's status id",
	}, {
		name:     "revoked token: the remote's words, no retry",
		setup:    func(h *harness, _ *fakeMastodon) { h.setSecret("MASTODON_TOKEN", "mtok-revoked-0123456789abcdef") },
		wantCode: exitRefused,
		wantMsg:  "mastodon answered 401 Unauthorized: The access token is invalid",
	}, {
		name:     "another 4xx",
		setup:    func(_ *harness, m *fakeMastodon) { m.failGets = []int{http.StatusForbidden} },
		wantCode: exitRefused,
		wantMsg:  "mastodon answered 403 Forbidden: Too many requests",
	}, {
		name:     "5xx on every attempt",
		setup:    func(_ *harness, m *fakeMastodon) { m.failGets = []int{503, 503, 503} },
		args:     []string{"--max-attempts", "3"},
		wantCode: exitRetryable,
		wantMsg:  "mastodon answered 503 Service Unavailable: Too many requests (gave up after 3 attempts)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := newFakeMastodon(t)
			m.counters["110001"] = [3]int64{42, 7, 3}
			h := newMastodonHarness(t, m, newPost("mastodon").obj())
			insightsEnv(h, "110001", "https://social.example/@greenlight/110001")
			tt.setup(h, m)

			g.Expect(h.run(append([]string{"--driver", "mastodon"}, tt.args...)...)).To(Equal(tt.wantCode), h.allOutput())
			g.Expect(h.terminationMessage()).To(Equal(tt.wantMsg))
			g.Expect(h.stderr.String()).To(ContainSubstring(`msg="Failed to read insights"`))
			g.Expect(h.stdout.String()).To(BeEmpty())
			g.Expect(onlyGets(m.requestLog())).To(BeTrue(), "requests: %v", m.requestLog())
			if tt.wantCode != exitRetryable {
				g.Expect(h.recordedWaits()).To(BeEmpty(), "not retried")
			}
		})
	}
}

// insightsReceiver is a webhook receiver that answers insights: a GET on the url it gave a
// published post, signed with HMAC-SHA256 of the request target. Its publishing endpoint
// (webhookPath) records any delivery, which an insights run must never make.
type insightsReceiver struct {
	srv *httptest.Server

	mu sync.Mutex
	// answer is the body of a 200 answer to a valid request.
	answer string
	// failFirst answers the first requests with these statuses before answer, each with
	// Retry-After: retryAfter when that is set; 404 and 410 keep answering.
	failFirst  []int
	retryAfter string
	// requests are "METHOD request-target" of every request, in order; keys their
	// Idempotency-Key and Accept headers.
	requests []string
	keys     []string
	accepts  []string
}

func newInsightsReceiver(t *testing.T, tls bool) *insightsReceiver {
	rcv := &insightsReceiver{answer: `{"likes":12,"shares":4,"replies":2,"impressions":900,"clicks":31}`}
	handler := http.HandlerFunc(rcv.serve)
	if tls {
		rcv.srv = httptest.NewTLSServer(handler)
	} else {
		rcv.srv = httptest.NewServer(handler)
	}
	t.Cleanup(rcv.srv.Close)
	return rcv
}

func (rcv *insightsReceiver) serve(w http.ResponseWriter, r *http.Request) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	rcv.requests = append(rcv.requests, r.Method+" "+r.RequestURI)
	rcv.keys = append(rcv.keys, r.Header.Get("Idempotency-Key"))
	rcv.accepts = append(rcv.accepts, r.Header.Get("Accept"))
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/posts/") {
		http.Error(w, `{"error":"insights are asked with GET /posts/..."}`, http.StatusMethodNotAllowed)
		return
	}
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write([]byte(r.RequestURI))
	if !hmac.Equal([]byte(r.Header.Get("X-Greenlight-Signature")), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) {
		http.Error(w, `{"error":"signature mismatch"}`, http.StatusUnauthorized)
		return
	}
	if len(rcv.failFirst) > 0 {
		status := rcv.failFirst[0]
		if status != http.StatusNotFound && status != http.StatusGone {
			rcv.failFirst = rcv.failFirst[1:]
		}
		if rcv.retryAfter != "" {
			w.Header().Set("Retry-After", rcv.retryAfter)
		}
		http.Error(w, `{"error":"not now","detail":"the stats store is busy"}`, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, rcv.answer)
}

func (rcv *insightsReceiver) log() (requests, keys, accepts []string) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]string(nil), rcv.requests...), append([]string(nil), rcv.keys...), append([]string(nil), rcv.accepts...)
}

// insightsPath is where the receiver said the post lives; the query is signed too.
const insightsPath = "/posts/7?view=stats"

func newWebhookInsightsHarness(t *testing.T, rcv *insightsReceiver) *harness {
	h := newHarness(t, newPost("blog").obj())
	h.trust(rcv.srv)
	h.setSecret("WEBHOOK_URL", rcv.srv.URL+webhookPath)
	h.setSecret("WEBHOOK_SECRET", webhookSecret)
	insightsEnv(h, "7", rcv.srv.URL+insightsPath)
	return h
}

func TestWebhookInsights(t *testing.T) {
	tests := []struct {
		name       string
		answer     string
		failFirst  []int
		retryAfter string
		noRemoteID bool
		wantMsg    string
		wantWaits  []time.Duration
	}{{
		name:    "the receiver's figures; unknown fields are ignored",
		wantMsg: `{"likes":12,"shares":4,"replies":2,"impressions":900}`,
	}, {
		name:    "impressions are optional",
		answer:  `{"likes":0,"shares":1,"replies":0}`,
		wantMsg: `{"likes":0,"shares":1,"replies":0}`,
	}, {
		name:      "404: the post was deleted",
		failFirst: []int{http.StatusNotFound},
		wantMsg:   `{"likes":0,"shares":0,"replies":0,"message":"the remote post 7 no longer exists"}`,
	}, {
		name:       "410 for a post without an id",
		failFirst:  []int{http.StatusGone},
		noRemoteID: true,
		wantMsg:    `{"likes":0,"shares":0,"replies":0,"message":"the remote post no longer exists"}`,
	}, {
		name:       "429 with Retry-After, then 200",
		failFirst:  []int{http.StatusTooManyRequests},
		retryAfter: "5",
		wantMsg:    `{"likes":12,"shares":4,"replies":2,"impressions":900}`,
		wantWaits:  []time.Duration{5 * time.Second},
	}, {
		name:      "500 then 200",
		failFirst: []int{http.StatusInternalServerError},
		wantMsg:   `{"likes":12,"shares":4,"replies":2,"impressions":900}`,
		wantWaits: []time.Duration{time.Second},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			rcv := newInsightsReceiver(t, true)
			rcv.failFirst, rcv.retryAfter = tt.failFirst, tt.retryAfter
			if tt.answer != "" {
				rcv.answer = tt.answer
			}
			h := newWebhookInsightsHarness(t, rcv)
			if tt.noRemoteID {
				delete(h.env, "GREENLIGHT_REMOTE_ID")
			}

			g.Expect(h.run("--driver", "webhook")).To(Equal(exitPublished), h.allOutput())
			g.Expect(h.terminationMessage()).To(Equal(tt.wantMsg))
			g.Expect(h.recordedWaits()).To(Equal(tt.wantWaits))
			requests, keys, accepts := rcv.log()
			g.Expect(requests).To(HaveLen(len(tt.wantWaits) + 1))
			g.Expect(requests).To(HaveEach("GET "+insightsPath), "only GETs on the post's url: nothing is published")
			g.Expect(keys).To(HaveEach(newPost("blog").obj().IdempotencyKey))
			g.Expect(accepts).To(HaveEach("application/json"))
		})
	}
}

func TestWebhookInsightsFailures(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(h *harness, rcv *insightsReceiver)
		args     []string
		wantCode int
		wantMsg  string
	}{{
		name:     "no remote url",
		setup:    func(h *harness, _ *insightsReceiver) { delete(h.env, "GREENLIGHT_REMOTE_URL") },
		wantCode: exitConfig,
		wantMsg: "GREENLIGHT_REMOTE_URL is not set: the webhook driver asks the receiver at the url it answered " +
			"when the post was published; the controller sets it from the channel's status url",
	}, {
		name:     "a remote url that is not http(s)",
		setup:    func(h *harness, _ *insightsReceiver) { h.env["GREENLIGHT_REMOTE_URL"] = "slack:launch" },
		wantCode: exitConfig,
		wantMsg:  "GREENLIGHT_REMOTE_URL is not a valid https:// URL with a host",
	}, {
		name:     "wrong signing secret",
		setup:    func(h *harness, _ *insightsReceiver) { h.setSecret("WEBHOOK_SECRET", "whsec-wrong-0123456789") },
		wantCode: exitRefused,
		wantMsg:  "webhook answered 401 Unauthorized: signature mismatch",
	}, {
		name:     "another 4xx: the remote's words",
		setup:    func(_ *harness, rcv *insightsReceiver) { rcv.failFirst = []int{http.StatusForbidden} },
		wantCode: exitRefused,
		wantMsg:  "webhook answered 403 Forbidden: not now: the stats store is busy",
	}, {
		name:     "5xx on every attempt",
		setup:    func(_ *harness, rcv *insightsReceiver) { rcv.failFirst = []int{502, 502} },
		args:     []string{"--max-attempts", "2"},
		wantCode: exitRetryable,
		wantMsg:  "webhook answered 502 Bad Gateway: not now: the stats store is busy (gave up after 2 attempts)",
	}, {
		name:     "not JSON",
		setup:    func(_ *harness, rcv *insightsReceiver) { rcv.answer = "<html>Post 7</html>" },
		wantCode: exitRefused,
		wantMsg:  `webhook answered 200 but not with JSON {"likes": N, "shares": N, "replies": N}: <html>Post 7</html>`,
	}, {
		name:     "a count missing",
		setup:    func(_ *harness, rcv *insightsReceiver) { rcv.answer = `{"likes":1,"shares":2}` },
		wantCode: exitRefused,
		wantMsg: `webhook answered 200 without "replies": the receiver must answer {"likes": N, "shares": N, "replies": N}, ` +
			`and may add "impressions"`,
	}, {
		name:     "the publishing answer instead of figures",
		setup:    func(_ *harness, rcv *insightsReceiver) { rcv.answer = `{"id":"7","url":"https://blog.example/7"}` },
		wantCode: exitRefused,
		wantMsg: `webhook answered 200 without "likes": the receiver must answer {"likes": N, "shares": N, "replies": N}, ` +
			`and may add "impressions"`,
	}, {
		name: "a negative count",
		setup: func(_ *harness, rcv *insightsReceiver) {
			rcv.answer = `{"likes":1,"shares":2,"replies":0,"impressions":-5}`
		},
		wantCode: exitRefused,
		wantMsg:  `webhook answered 200 with a negative "impressions": counts are never negative`,
	}, {
		name: "a count the controller would not record",
		setup: func(_ *harness, rcv *insightsReceiver) {
			rcv.answer = `{"likes":1,"shares":2,"replies":1152921504606846976}`
		},
		wantCode: exitRefused,
		wantMsg: "webhook answered figures that cannot be recorded: " +
			"the insights Job reported replies 1152921504606846976; each figure must be from 0 to 1125899906842624",
	}, {
		name:     "a fraction",
		setup:    func(_ *harness, rcv *insightsReceiver) { rcv.answer = `{"likes":1.5,"shares":2,"replies":0}` },
		wantCode: exitRefused,
		wantMsg:  `webhook answered 200 with a "likes" that is not a whole number: counts are whole numbers`,
	}, {
		name:     "a count as a string",
		setup:    func(_ *harness, rcv *insightsReceiver) { rcv.answer = `{"likes":1,"shares":"2","replies":0}` },
		wantCode: exitRefused,
		wantMsg:  `webhook answered 200 with a "shares" that is not a whole number: counts are whole numbers`,
	}, {
		name:     "an array",
		setup:    func(_ *harness, rcv *insightsReceiver) { rcv.answer = `[1,2,3]` },
		wantCode: exitRefused,
		wantMsg:  `webhook answered 200 but not with JSON {"likes": N, "shares": N, "replies": N}: [1,2,3]`,
	}, {
		name: "an answer over 64 KiB",
		setup: func(_ *harness, rcv *insightsReceiver) {
			rcv.answer = `{"likes":1,"shares":2,"replies":0,"padding":"` + strings.Repeat("x", 64<<10) + `"}`
		},
		wantCode: exitRefused,
		wantMsg:  "webhook answered 200 OK with more than 65536 bytes",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			rcv := newInsightsReceiver(t, true)
			h := newWebhookInsightsHarness(t, rcv)
			tt.setup(h, rcv)

			g.Expect(h.run(append([]string{"--driver", "webhook"}, tt.args...)...)).To(Equal(tt.wantCode), h.allOutput())
			g.Expect(h.terminationMessage()).To(Equal(tt.wantMsg))
			g.Expect(h.stderr.String()).To(ContainSubstring(`msg="Failed to read insights"`))
			g.Expect(h.stdout.String()).To(BeEmpty())
			g.Expect(h.allOutput()).NotTo(ContainSubstring("127.0.0.1"), "no URL, host or address in messages")
			requests, _, _ := rcv.log()
			g.Expect(onlyGets(requests)).To(BeTrue(), "requests: %v", requests)
		})
	}
}

func TestWebhookInsightsOverHTTPNeedsAllowHTTP(t *testing.T) {
	g := NewWithT(t)
	rcv := newInsightsReceiver(t, false)
	h := newWebhookInsightsHarness(t, rcv)
	h.setSecret("WEBHOOK_URL", strings.Replace(rcv.srv.URL, "http://", "https://", 1)+webhookPath)

	g.Expect(h.run("--driver", "webhook")).To(Equal(exitConfig))
	g.Expect(h.terminationMessage()).To(HavePrefix("GREENLIGHT_REMOTE_URL is an http:// URL; use https://"))
	requests, _, _ := rcv.log()
	g.Expect(requests).To(BeEmpty())

	h.setSecret("WEBHOOK_URL", rcv.srv.URL+webhookPath) // the receiver's own http:// origin
	g.Expect(h.run("--driver", "webhook", "--allow-http")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.terminationMessage()).To(Equal(`{"likes":12,"shares":4,"replies":2,"impressions":900}`))
}

// The url comes from the receiver's answer: the publisher asks only the receiver's own origin,
// never another host (which would get the signature and key) or an address only the pod sees.
func TestWebhookInsightsAsksOnlyTheReceiversOrigin(t *testing.T) {
	for _, remote := range []string{"https://stats.example/posts/7", "https://169.254.169.254/latest/meta-data"} {
		t.Run(remote, func(t *testing.T) {
			g := NewWithT(t)
			rcv := newInsightsReceiver(t, true)
			h := newWebhookInsightsHarness(t, rcv)
			h.env["GREENLIGHT_REMOTE_URL"] = remote

			g.Expect(h.run("--driver", "webhook")).To(Equal(exitConfig))
			g.Expect(h.terminationMessage()).To(HavePrefix("GREENLIGHT_REMOTE_URL is not on the receiver's own origin"))
			g.Expect(h.allOutput()).NotTo(ContainSubstring("169.254"), "no URL or address in messages")
			requests, _, _ := rcv.log()
			g.Expect(requests).To(BeEmpty())
		})
	}
}

func TestWebhookInsightsRefusesRedirects(t *testing.T) {
	g := NewWithT(t)
	rcv := newInsightsReceiver(t, true)
	redirecting := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, rcv.srv.URL+insightsPath, http.StatusFound)
	}))
	t.Cleanup(redirecting.Close)
	h := newWebhookInsightsHarness(t, rcv)
	h.setSecret("WEBHOOK_URL", redirecting.URL+webhookPath)
	h.env["GREENLIGHT_REMOTE_URL"] = redirecting.URL + "/posts/7"

	g.Expect(h.run("--driver", "webhook")).To(Equal(exitRefused))
	g.Expect(h.terminationMessage()).To(Equal("webhook answered 302 Found; redirects are not followed, configure the final URL"))
	requests, _, _ := rcv.log()
	g.Expect(requests).To(BeEmpty())
}

// The webhook driver's own publishing receiver sees nothing from an insights run, even when
// the post's url is the publishing endpoint itself.
func TestWebhookInsightsNeverDelivers(t *testing.T) {
	g := NewWithT(t)
	rcv := newWebhookReceiver(t, true)
	h := newWebhookHarness(t, rcv)
	insightsEnv(h, "post-1", rcv.url())

	g.Expect(h.run("--driver", "webhook")).To(Equal(exitPublished), h.allOutput())
	// The publishing receiver answers GET with 404 "wrong path" (it only takes POSTs).
	g.Expect(h.terminationMessage()).To(Equal(`{"likes":0,"shares":0,"replies":0,"message":"the remote post post-1 no longer exists"}`))
	g.Expect(rcv.published()).To(BeEmpty())
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	g.Expect(rcv.requests).To(BeZero(), "no POST reached the publishing endpoint")
}

func TestSlackReportsNoInsights(t *testing.T) {
	for _, withURL := range []bool{true, false} {
		t.Run(fmt.Sprintf("SLACK_WEBHOOK_URL set: %v", withURL), func(t *testing.T) {
			g := NewWithT(t)
			s := newSlackServer(t)
			h := newHarness(t, newPost("team-chat").obj())
			h.trust(s.srv)
			if withURL {
				h.setSecret("SLACK_WEBHOOK_URL", s.webhookURL())
			}
			insightsEnv(h, "gl-key", "slack:launch")

			g.Expect(h.run("--driver", "slack")).To(Equal(exitConfig), h.allOutput())
			g.Expect(h.terminationMessage()).To(Equal(`the slack driver reports no insights: remove insights from channel "team-chat" ` +
				`(spec.publishing.channels.team-chat.insights in the ApprovalPolicy), or use the webhook driver ` +
				`with a receiver that answers insights requests`))
			g.Expect(h.recordedWaits()).To(BeEmpty())
			g.Expect(s.accepted()).To(BeEmpty())
		})
	}
}

func TestExplicitPublishMode(t *testing.T) {
	g := NewWithT(t)
	rcv := newWebhookReceiver(t, true)
	h := newWebhookHarness(t, rcv)
	h.env["GREENLIGHT_MODE"] = "publish"

	g.Expect(h.run("--driver", "webhook")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.result().ID).To(Equal("post-1"))
	g.Expect(rcv.published()).To(HaveLen(1))
}
