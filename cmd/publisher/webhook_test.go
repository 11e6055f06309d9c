package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

const (
	webhookPath   = "/hooks/greenlight-0123456789abcdef"
	webhookSecret = "whsec-0123456789abcdef"
)

// webhookReceiver behaves like a receiver that follows the contract: it checks the signature
// with the shared secret, requires an Idempotency-Key and answers a repeated key with the
// first answer.
type webhookReceiver struct {
	srv *httptest.Server

	mu sync.Mutex
	// failFirst answers the first requests with these statuses before behaving.
	failFirst []int
	// retryAfter is sent with each failFirst answer.
	retryAfter string
	// answer replaces the normal answer body when set.
	answer string
	// ids maps idempotency keys to the ids they were given.
	ids map[string]string
	// bodies are the bodies of the accepted deliveries.
	bodies   [][]byte
	requests int
}

func newWebhookReceiver(t *testing.T, tls bool) *webhookReceiver {
	rcv := &webhookReceiver{ids: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+webhookPath, rcv.serve)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "wrong path", http.StatusNotFound) })
	rcv.srv = httptest.NewUnstartedServer(mux)
	// The test that distrusts the certificate makes the server log a handshake error.
	rcv.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		rcv.srv.StartTLS()
	} else {
		rcv.srv.Start()
	}
	t.Cleanup(rcv.srv.Close)
	return rcv
}

func (rcv *webhookReceiver) url() string { return rcv.srv.URL + webhookPath }

func (rcv *webhookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	rcv.requests++
	body, _ := io.ReadAll(r.Body)
	if len(rcv.failFirst) > 0 {
		status := rcv.failFirst[0]
		rcv.failFirst = rcv.failFirst[1:]
		if rcv.retryAfter != "" {
			w.Header().Set("Retry-After", rcv.retryAfter)
		}
		http.Error(w, `{"error":"try later"}`, status)
		return
	}
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	switch {
	case r.Header.Get("Content-Type") != "application/json":
		http.Error(w, `{"error":"not JSON"}`, http.StatusUnsupportedMediaType)
		return
	case !hmac.Equal([]byte(r.Header.Get("X-Greenlight-Signature")), []byte(want)):
		http.Error(w, `{"error":"signature mismatch"}`, http.StatusUnauthorized)
		return
	case r.Header.Get("Idempotency-Key") == "":
		http.Error(w, `{"error":"Idempotency-Key required"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if rcv.answer != "" {
		_, _ = io.WriteString(w, rcv.answer)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	id, seen := rcv.ids[key]
	if !seen {
		rcv.bodies = append(rcv.bodies, body)
		id = fmt.Sprintf("post-%d", len(rcv.bodies))
		rcv.ids[key] = id
	}
	_, _ = fmt.Fprintf(w, `{"id":%q,"url":"https://blog.example/posts/%s"}`, id, id)
}

func (rcv *webhookReceiver) published() [][]byte {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return rcv.bodies
}

func newWebhookHarness(t *testing.T, rcv *webhookReceiver) *harness {
	h := newHarness(t, newPost("blog").obj())
	h.trust(rcv.srv)
	h.setSecret("WEBHOOK_URL", rcv.url())
	h.setSecret("WEBHOOK_SECRET", webhookSecret)
	return h
}

func TestWebhookPublishesSignedPostFile(t *testing.T) {
	g := NewWithT(t)
	rcv := newWebhookReceiver(t, true)
	h := newWebhookHarness(t, rcv)

	g.Expect(h.run("--driver", "webhook")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.terminationMessage()).To(Equal(`{"id":"post-1","url":"https://blog.example/posts/post-1"}`))
	g.Expect(h.stdout.String()).To(Equal(`{"id":"post-1","url":"https://blog.example/posts/post-1"}` + "\n"))
	g.Expect(h.stderr.String()).To(ContainSubstring(`msg="Published post"`))
	g.Expect(rcv.published()).To(HaveLen(1))
	// Exactly the bytes of post.json, indentation and all.
	g.Expect(rcv.published()[0]).To(Equal(h.postFileBytes()))
}

func TestWebhookReplayReturnsTheSameID(t *testing.T) {
	g := NewWithT(t)
	rcv := newWebhookReceiver(t, true)
	h := newWebhookHarness(t, rcv)

	g.Expect(h.run("--driver", "webhook")).To(Equal(exitPublished), h.allOutput())
	first := h.result()
	// The Job's second pod, or a retry of the post: same idempotency key.
	g.Expect(h.run("--driver", "webhook")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.result()).To(Equal(first))
	g.Expect(rcv.published()).To(HaveLen(1))
}

func TestWebhookFailures(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(h *harness, rcv *webhookReceiver)
		args     []string
		wantCode int
		wantMsg  string
	}{{
		name:     "wrong signing secret",
		setup:    func(h *harness, _ *webhookReceiver) { h.setSecret("WEBHOOK_SECRET", "whsec-wrong-0123456789") },
		wantCode: exitRefused,
		wantMsg:  "webhook answered 401 Unauthorized: signature mismatch",
	}, {
		name:     "2xx without a url",
		setup:    func(_ *harness, rcv *webhookReceiver) { rcv.answer = `{"id":"7"}` },
		wantCode: exitRefused,
		wantMsg: `webhook answered 200 without a "url": the receiver must answer {"id": "...", "url": "..."} ` +
			"saying where the post was published",
	}, {
		name:     "2xx that is not JSON",
		setup:    func(_ *harness, rcv *webhookReceiver) { rcv.answer = `thanks!` },
		wantCode: exitRefused,
		wantMsg:  `webhook answered 200 but not with JSON {"id": "...", "url": "..."}: thanks!`,
	}, {
		name: "unknown path is a permanent 404",
		setup: func(h *harness, rcv *webhookReceiver) {
			h.setSecret("WEBHOOK_URL", rcv.srv.URL+"/hooks/other-0123456789abcdef")
		},
		wantCode: exitRefused,
		wantMsg:  "webhook answered 404 Not Found: wrong path",
	}, {
		name:     "5xx on every attempt",
		setup:    func(_ *harness, rcv *webhookReceiver) { rcv.failFirst = []int{503, 503, 503} },
		args:     []string{"--max-attempts", "3"},
		wantCode: exitRetryable,
		wantMsg:  "webhook answered 503 Service Unavailable: try later (gave up after 3 attempts)",
	}, {
		name: "untrusted certificate",
		setup: func(h *harness, _ *webhookReceiver) {
			h.roots = nil
		},
		args:     []string{"--max-attempts", "1"},
		wantCode: exitRetryable,
		wantMsg:  "TLS error: the certificate of webhook is signed by an unknown authority (gave up after 1 attempt)",
	}, {
		name: "connection refused",
		setup: func(_ *harness, rcv *webhookReceiver) {
			rcv.srv.Close()
		},
		args:     []string{"--max-attempts", "2"},
		wantCode: exitRetryable,
		wantMsg:  "webhook refused the connection (gave up after 2 attempts)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			rcv := newWebhookReceiver(t, true)
			h := newWebhookHarness(t, rcv)
			tt.setup(h, rcv)
			g.Expect(h.run(append([]string{"--driver", "webhook"}, tt.args...)...)).To(Equal(tt.wantCode), h.allOutput())
			g.Expect(h.terminationMessage()).To(Equal(tt.wantMsg))
			g.Expect(h.stdout.String()).To(BeEmpty())
			g.Expect(h.allOutput()).NotTo(ContainSubstring("127.0.0.1"), "no URL, host or address in messages")
		})
	}
}

func TestWebhookRetriesWithBackoffAndRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		failFirst  []int
		retryAfter string
		wantWaits  []time.Duration
	}{{
		name:      "backoff doubles from 1s",
		failFirst: []int{500, 502, 503, 429},
		wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
	}, {
		name:       "Retry-After in seconds replaces the backoff",
		failFirst:  []int{429, 429},
		retryAfter: "7",
		wantWaits:  []time.Duration{7 * time.Second, 7 * time.Second},
	}, {
		name:       "Retry-After is capped at a minute",
		failFirst:  []int{503},
		retryAfter: "86400",
		wantWaits:  []time.Duration{time.Minute},
	}, {
		name:       "Retry-After as an HTTP date",
		failFirst:  []int{429},
		retryAfter: testNow.Add(30 * time.Second).Format(http.TimeFormat),
		wantWaits:  []time.Duration{30 * time.Second},
	}, {
		name:       "Retry-After as a far HTTP date is capped",
		failFirst:  []int{429},
		retryAfter: testNow.Add(time.Hour).Format(http.TimeFormat),
		wantWaits:  []time.Duration{time.Minute},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			rcv := newWebhookReceiver(t, true)
			rcv.failFirst, rcv.retryAfter = tt.failFirst, tt.retryAfter
			h := newWebhookHarness(t, rcv)
			g.Expect(h.run("--driver", "webhook")).To(Equal(exitPublished), h.allOutput())
			g.Expect(h.recordedWaits()).To(Equal(tt.wantWaits))
			g.Expect(h.stderr.String()).To(ContainSubstring(`remote=webhook attempt=1`))
			g.Expect(rcv.published()).To(HaveLen(1))
		})
	}
}

func TestBackoffIsCappedAtAMinute(t *testing.T) {
	g := NewWithT(t)
	rcv := newWebhookReceiver(t, true)
	rcv.failFirst = []int{500, 500, 500, 500, 500, 500, 500, 500}
	h := newWebhookHarness(t, rcv)
	g.Expect(h.run("--driver", "webhook", "--max-attempts", "8")).To(Equal(exitRetryable))
	g.Expect(h.recordedWaits()).To(Equal([]time.Duration{
		time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute,
	}))
}

func TestWebhookRefusesRedirects(t *testing.T) {
	g := NewWithT(t)
	var followed atomic.Bool
	target := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	t.Cleanup(target.Close)
	redirecting := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirecting.Close)

	h := newHarness(t, newPost("blog").obj())
	h.trust(redirecting)
	h.setSecret("WEBHOOK_URL", redirecting.URL+webhookPath)
	h.setSecret("WEBHOOK_SECRET", webhookSecret)

	g.Expect(h.run("--driver", "webhook")).To(Equal(exitRefused))
	g.Expect(h.terminationMessage()).To(Equal("webhook answered 307 Temporary Redirect; redirects are not followed, configure the final URL"))
	g.Expect(followed.Load()).To(BeFalse())
	g.Expect(h.allOutput()).NotTo(ContainSubstring("elsewhere"))
}

func TestWebhookOverHTTPNeedsAllowHTTP(t *testing.T) {
	g := NewWithT(t)
	rcv := newWebhookReceiver(t, false)
	h := newWebhookHarness(t, rcv)

	g.Expect(h.run("--driver", "webhook")).To(Equal(exitConfig))
	g.Expect(h.terminationMessage()).To(HavePrefix("WEBHOOK_URL is an http:// URL"))

	g.Expect(h.run("--driver", "webhook", "--allow-http")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.result().ID).To(Equal("post-1"))
}

func TestSlowReceiverTimesOutAndIsRetried(t *testing.T) {
	g := NewWithT(t)
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
		if first {
			select { // longer than --timeout; ends when the publisher gives up on it
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			// Never answer: a late 200 written as the publisher hangs up could still reach it.
			panic(http.ErrAbortHandler)
		}
		_, _ = io.WriteString(w, `{"id":"9","url":"https://blog.example/9"}`)
	}))
	t.Cleanup(srv.Close)
	h := newHarness(t, newPost("blog").obj())
	h.trust(srv)
	h.setSecret("WEBHOOK_URL", srv.URL+webhookPath)
	h.setSecret("WEBHOOK_SECRET", webhookSecret)

	g.Expect(h.run("--driver", "webhook", "--timeout", "200ms")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.result()).To(HaveField("ID", "9"))
	g.Expect(h.stderr.String()).To(ContainSubstring(`reason="webhook did not answer within 200ms"`))
	g.Expect(h.recordedWaits()).To(Equal([]time.Duration{time.Second}))
	g.Expect(strings.Count(h.stderr.String(), "Retrying request")).To(Equal(1))
}
