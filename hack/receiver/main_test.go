package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

const testSecret = "demo-signing-secret"

// startReceiver serves the receiver on a loopback port; the urls it answers use that port.
func startReceiver(t *testing.T) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	srv := httptest.NewUnstartedServer(nil)
	clock := func() time.Time { return time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC) }
	srv.Config.Handler = newReceiver([]byte(testSecret), "http://"+srv.Listener.Addr().String(), &out, clock)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &out
}

// sign is the publisher's X-Greenlight-Signature of data, written here from its documentation.
func sign(secret string, data []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(data)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func send(t *testing.T, method, target string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range header {
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// publishPost delivers a post as the webhook driver does and returns the url it was given.
func publishPost(t *testing.T, srv *httptest.Server, key string) string {
	t.Helper()
	body := []byte(`{"namespace":"demo","name":"launch-teaser","channel":"mastodon","body":"Hello"}`)
	status, answer := send(t, http.MethodPost, srv.URL+"/publish", body,
		map[string]string{"Idempotency-Key": key, "X-Greenlight-Signature": sign(testSecret, body)})
	if status != http.StatusOK {
		t.Fatalf("publish answered %d: %s", status, answer)
	}
	var result struct{ ID, URL string }
	if err := json.Unmarshal([]byte(answer), &result); err != nil {
		t.Fatal(err)
	}
	return result.URL
}

// askInsights sends the webhook driver's insights GET for postURL, signed with secret.
func askInsights(t *testing.T, postURL, key, secret string) (int, string) {
	t.Helper()
	u, err := url.Parse(postURL)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, http.MethodGet, postURL, nil, map[string]string{
		"Idempotency-Key": key, "Accept": "application/json", "X-Greenlight-Signature": sign(secret, []byte(u.RequestURI())),
	})
}

func TestInsightsGrowWithEachRequest(t *testing.T) {
	g := NewWithT(t)
	srv, out := startReceiver(t)
	postURL := publishPost(t, srv, "gl-key-1")
	g.Expect(postURL).To(Equal(srv.URL + "/posts/1"))

	status, first := askInsights(t, postURL, "gl-key-1", testSecret)
	g.Expect(status).To(Equal(http.StatusOK), first)
	g.Expect(first).To(MatchJSON(`{"likes":7,"shares":2,"replies":1,"impressions":150}`))
	status, second := askInsights(t, postURL, "gl-key-1", testSecret)
	g.Expect(status).To(Equal(http.StatusOK), second)
	g.Expect(second).To(MatchJSON(`{"likes":14,"shares":4,"replies":2,"impressions":300}`))

	// Each post counts on its own.
	other := publishPost(t, srv, "gl-key-2")
	_, fresh := askInsights(t, other, "gl-key-2", testSecret)
	g.Expect(fresh).To(MatchJSON(`{"likes":7,"shares":2,"replies":1,"impressions":150}`))

	g.Expect(out.String()).To(ContainSubstring("09:30:00 insights: signature valid, post 1, request 2: 14 likes, 4 shares, 2 replies, 300 impressions"))
}

func TestRepeatedPublishKeepsItsURL(t *testing.T) {
	g := NewWithT(t)
	srv, out := startReceiver(t)
	g.Expect(publishPost(t, srv, "gl-key-1")).To(Equal(publishPost(t, srv, "gl-key-1")))
	g.Expect(out.String()).To(ContainSubstring("(a repeat: same answer)"))
}

func TestInsightsRefusals(t *testing.T) {
	tests := []struct {
		name       string
		ask        func(t *testing.T, postURL string) (int, string)
		wantStatus int
		wantLog    string
	}{{
		name: "wrong secret",
		ask: func(t *testing.T, postURL string) (int, string) {
			return askInsights(t, postURL, "gl-key-1", "not-the-secret")
		},
		wantStatus: http.StatusUnauthorized,
		wantLog:    "insights: REFUSED, the signature does not match /posts/1",
	}, {
		name: "signed like a delivery (HMAC of the empty body)",
		ask: func(t *testing.T, postURL string) (int, string) {
			return send(t, http.MethodGet, postURL, nil, map[string]string{
				"Idempotency-Key": "gl-key-1", "X-Greenlight-Signature": sign(testSecret, nil),
			})
		},
		wantStatus: http.StatusUnauthorized,
		wantLog:    "insights: REFUSED",
	}, {
		name: "a signature for another post",
		ask: func(t *testing.T, postURL string) (int, string) {
			return send(t, http.MethodGet, postURL, nil, map[string]string{
				"Idempotency-Key": "gl-key-1", "X-Greenlight-Signature": sign(testSecret, []byte("/posts/2")),
			})
		},
		wantStatus: http.StatusUnauthorized,
		wantLog:    "insights: REFUSED",
	}, {
		name: "another post's idempotency key",
		ask: func(t *testing.T, postURL string) (int, string) {
			return askInsights(t, postURL, "gl-key-9", testSecret)
		},
		wantStatus: http.StatusForbidden,
		wantLog:    "insights: REFUSED, Idempotency-Key gl-key-9 is not the one post 1 was published with",
	}, {
		name: "a post it never published",
		ask: func(t *testing.T, postURL string) (int, string) {
			return askInsights(t, strings.TrimSuffix(postURL, "/1")+"/42", "gl-key-1", testSecret)
		},
		wantStatus: http.StatusNotFound,
		wantLog:    "insights: post 42 is not known here (404)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			srv, out := startReceiver(t)
			postURL := publishPost(t, srv, "gl-key-1")

			status, body := tt.ask(t, postURL)
			g.Expect(status).To(Equal(tt.wantStatus), body)
			g.Expect(out.String()).To(ContainSubstring(tt.wantLog))
			// A refused request does not count: the next valid one sees the first figures.
			_, figures := askInsights(t, postURL, "gl-key-1", testSecret)
			g.Expect(figures).To(MatchJSON(`{"likes":7,"shares":2,"replies":1,"impressions":150}`))
		})
	}
}

// TestThePublishersInsights runs the real publisher, as the demo's Jobs do, against the
// receiver: it publishes, then reads insights twice and sees them grow.
func TestThePublishersInsights(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/publisher")
	}
	g := NewWithT(t)
	dir := t.TempDir()
	publisher := filepath.Join(dir, "publisher")
	build := exec.Command("go", "build", "-o", publisher, "../../cmd/publisher") //nolint:gosec // G204: a temp dir of this test.
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ../../cmd/publisher: %v\n%s", err, out)
	}
	srv, _ := startReceiver(t)
	postFile := filepath.Join(dir, "post.json")
	g.Expect(os.WriteFile(postFile, []byte(`{"namespace":"demo","name":"launch-teaser","uid":"u-1",`+
		`"revision":"sha256:`+strings.Repeat("ab", 32)+`","channel":"mastodon","body":"Hello","media":[],`+
		`"idempotencyKey":"gl-key-1"}`), 0o600)).To(Succeed())
	termLog := filepath.Join(dir, "termination-log")
	run := func(extraEnv ...string) string {
		//nolint:gosec // G204: the publisher this test just built.
		cmd := exec.Command(publisher, "--driver=webhook", "--allow-http", "--termination-log="+termLog)
		cmd.Env = append([]string{"GREENLIGHT_POST_FILE=" + postFile, "GREENLIGHT_CHANNEL=mastodon",
			"GREENLIGHT_IDEMPOTENCY_KEY=gl-key-1", "WEBHOOK_URL=" + srv.URL + "/publish", "WEBHOOK_SECRET=" + testSecret}, extraEnv...)
		out, err := cmd.CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), string(out))
		message, err := os.ReadFile(termLog)
		g.Expect(err).NotTo(HaveOccurred())
		return string(message)
	}

	g.Expect(run()).To(MatchJSON(`{"id":"1","url":"` + srv.URL + `/posts/1"}`))
	insights := []string{"GREENLIGHT_MODE=insights", "GREENLIGHT_REMOTE_ID=1", "GREENLIGHT_REMOTE_URL=" + srv.URL + "/posts/1"}
	g.Expect(run(insights...)).To(MatchJSON(`{"likes":7,"shares":2,"replies":1,"impressions":150}`))
	g.Expect(run(insights...)).To(MatchJSON(`{"likes":14,"shares":4,"replies":2,"impressions":300}`))
}
