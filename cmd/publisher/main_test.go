package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/greenlight-operator/greenlight/internal/publish"
)

// testNow is the publisher's clock in tests, for Retry-After dates.
var testNow = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

// postBuilder makes post files for tests: newPost("slack").withMedia(...).obj().
type postBuilder struct{ file publish.PostFile }

func newPost(channel string) *postBuilder {
	return &postBuilder{file: publish.PostFile{
		Namespace:      "marketing",
		Name:           "launch",
		UID:            "6f1c2d3e-0000-4000-8000-000000000001",
		Revision:       "sha256:" + strings.Repeat("0123456789abcdef", 4),
		Channel:        channel,
		Body:           "We launched Greenlight!",
		IdempotencyKey: "gl-6f1c2d3e-" + channel + "-0123456789abcdef",
	}}
}

func (b *postBuilder) withBody(body string) *postBuilder { b.file.Body = body; return b }

func (b *postBuilder) withMedia(media ...publish.Medium) *postBuilder {
	b.file.Media = append(b.file.Media, media...)
	return b
}

func (b *postBuilder) obj() publish.PostFile { return b.file }

// harness runs the publisher in-process as the Job would, with post.json on disk, env, a
// termination log, the test servers' CA and sleeps that return at once but are recorded.
type harness struct {
	t       *testing.T
	dir     string
	env     map[string]string
	secrets []string
	roots   *x509.CertPool

	mu    sync.Mutex
	waits []time.Duration

	stdout, stderr bytes.Buffer
	termLog        string
}

// newHarness writes post.json, indented so that byte-for-byte forwarding is visible, and sets
// the env the controller sets.
func newHarness(t *testing.T, post publish.PostFile) *harness {
	t.Helper()
	dir := t.TempDir()
	raw, err := json.MarshalIndent(post, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, termLog: filepath.Join(dir, "termination-log"), env: map[string]string{}}
	h.writePostFile(raw)
	h.env[publish.EnvChannel] = post.Channel
	h.env[publish.EnvIdempotencyKey] = post.IdempotencyKey
	// Whatever a test does, no credential may show up in anything the publisher wrote.
	t.Cleanup(h.expectNoSecrets)
	return h
}

func (h *harness) writePostFile(raw []byte) {
	path := filepath.Join(h.dir, "post.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		h.t.Fatal(err)
	}
	h.env[publish.EnvPostFile] = path
}

func (h *harness) postFileBytes() []byte {
	raw, err := os.ReadFile(h.env[publish.EnvPostFile])
	if err != nil {
		h.t.Fatal(err)
	}
	return raw
}

// setSecret sets an env var whose value must never be printed.
func (h *harness) setSecret(name, value string) {
	h.env[name] = value
	h.secrets = append(h.secrets, value)
}

// trust makes the publisher trust the certificate of httptest TLS servers (they share one).
func (h *harness) trust(srv *httptest.Server) {
	if srv.Certificate() == nil { // plain http
		return
	}
	h.roots = x509.NewCertPool()
	h.roots.AddCert(srv.Certificate())
}

func (h *harness) sleep(_ context.Context, d time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waits = append(h.waits, d)
	return nil
}

func (h *harness) recordedWaits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

// run runs the publisher with args and the termination log; it resets outputs first.
func (h *harness) run(args ...string) int {
	h.stdout.Reset()
	h.stderr.Reset()
	_ = os.Remove(h.termLog)
	p := program{sleep: h.sleep, now: func() time.Time { return testNow }, rootCAs: h.roots}
	args = append([]string{"--termination-log", h.termLog}, args...)
	return p.run(context.Background(), args, func(name string) string { return h.env[name] }, &h.stdout, &h.stderr)
}

func (h *harness) terminationMessage() string {
	data, err := os.ReadFile(h.termLog)
	if err != nil {
		return ""
	}
	return string(data)
}

func (h *harness) result() publish.Result {
	h.t.Helper()
	r, err := publish.ParseResult([]byte(h.terminationMessage()))
	if err != nil {
		h.t.Fatalf("termination message: %v\nstderr:\n%s", err, h.stderr.String())
	}
	return r
}

func (h *harness) allOutput() string {
	return h.stdout.String() + "\n" + h.stderr.String() + "\n" + h.terminationMessage()
}

func (h *harness) expectNoSecrets() {
	out := h.allOutput()
	for _, secret := range h.secrets {
		if secret != "" && strings.Contains(out, secret) {
			h.t.Errorf("output contains a credential (%d characters):\n%s", len(secret), out)
		}
		if i := strings.Index(secret, "://"); i >= 0 {
			if j := strings.IndexByte(secret[i+3:], '/'); j >= 0 {
				if path := secret[i+3+j:]; len(path) > 1 && strings.Contains(out, path) {
					h.t.Errorf("output contains the path of a credential URL:\n%s", out)
				}
			}
		}
	}
}

func TestInvocationErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     func(h *harness)
		wantMsg string
	}{{
		name:    "no driver",
		wantMsg: "--driver is required",
	}, {
		name:    "unknown driver",
		args:    []string{"--driver", "bluesky"},
		wantMsg: `--driver "bluesky" is not known`,
	}, {
		name:    "unknown flag",
		args:    []string{"--driver", "slack", "--colour"},
		wantMsg: "invalid flags",
	}, {
		name:    "content as an argument",
		args:    []string{"--driver", "slack", "hello world"},
		wantMsg: "never from arguments",
	}, {
		name:    "zero attempts",
		args:    []string{"--driver", "slack", "--max-attempts", "0"},
		wantMsg: "--max-attempts must be at least 1",
	}, {
		name:    "bad visibility",
		args:    []string{"--driver", "mastodon", "--visibility", "everyone"},
		wantMsg: `--visibility "everyone" is not known`,
	}, {
		name:    "post file env unset",
		args:    []string{"--driver", "slack"},
		env:     func(h *harness) { delete(h.env, publish.EnvPostFile) },
		wantMsg: "GREENLIGHT_POST_FILE is not set",
	}, {
		name:    "post file missing",
		args:    []string{"--driver", "slack"},
		env:     func(h *harness) { h.env[publish.EnvPostFile] = filepath.Join(h.dir, "nope.json") },
		wantMsg: "does not exist: is the post's ConfigMap mounted?",
	}, {
		name:    "post file not JSON",
		args:    []string{"--driver", "slack"},
		env:     func(h *harness) { h.writePostFile([]byte("body: hello")) },
		wantMsg: "post file is not valid JSON",
	}, {
		name:    "post file incomplete",
		args:    []string{"--driver", "slack"},
		env:     func(h *harness) { h.writePostFile([]byte(`{"channel":"slack"}`)) },
		wantMsg: `"namespace" is empty`,
	}, {
		name:    "channel disagrees",
		args:    []string{"--driver", "slack"},
		env:     func(h *harness) { h.env[publish.EnvChannel] = "mastodon" },
		wantMsg: `GREENLIGHT_CHANNEL is "mastodon" but`,
	}, {
		name:    "idempotency key disagrees",
		args:    []string{"--driver", "slack"},
		env:     func(h *harness) { h.env[publish.EnvIdempotencyKey] = "other" },
		wantMsg: "GREENLIGHT_IDEMPOTENCY_KEY differs",
	}, {
		name:    "unknown mode",
		args:    []string{"--driver", "slack"},
		env:     func(h *harness) { h.env["GREENLIGHT_MODE"] = "Insights" },
		wantMsg: `GREENLIGHT_MODE="Insights" is not known: the controller sets it to publish or insights (unset means publish)`,
	}, {
		name:    "slack webhook URL unset",
		args:    []string{"--driver", "slack"},
		wantMsg: "SLACK_WEBHOOK_URL is not set",
	}, {
		name: "slack webhook URL over http",
		args: []string{"--driver", "slack"},
		env: func(h *harness) {
			h.setSecret("SLACK_WEBHOOK_URL", "http://hooks.slack.test/services/T0/B0/abcdefghijklmnopqrstuvwx")
		},
		wantMsg: "SLACK_WEBHOOK_URL is an http:// URL",
	}, {
		name:    "webhook URL unset",
		args:    []string{"--driver", "webhook"},
		wantMsg: "WEBHOOK_URL is not set",
	}, {
		name: "webhook without a signing secret",
		args: []string{"--driver", "webhook"},
		env: func(h *harness) {
			h.setSecret("WEBHOOK_URL", "https://receiver.test/hooks/greenlight-0123456789abcdef")
		},
		wantMsg: "WEBHOOK_SECRET is not set: the publisher refuses unsigned deliveries",
	}, {
		name: "mastodon server over http",
		args: []string{"--driver", "mastodon"},
		env: func(h *harness) {
			h.env["MASTODON_SERVER"] = "http://social.test"
			h.setSecret("MASTODON_TOKEN", "token-0123456789abcdef")
		},
		wantMsg: "MASTODON_SERVER is not an https:// base URL",
	}, {
		name:    "mastodon token unset",
		args:    []string{"--driver", "mastodon"},
		env:     func(h *harness) { h.env["MASTODON_SERVER"] = "https://social.test" },
		wantMsg: "MASTODON_TOKEN is not set",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			h := newHarness(t, newPost("slack").obj())
			if tt.env != nil {
				tt.env(h)
			}
			g.Expect(h.run(tt.args...)).To(Equal(exitConfig), h.stderr.String())
			g.Expect(h.terminationMessage()).To(ContainSubstring(tt.wantMsg))
			g.Expect(h.stderr.String()).To(ContainSubstring("Failed to publish"))
			g.Expect(h.stdout.String()).To(BeEmpty())
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t, newPost("slack").obj())
	g.Expect(h.run("-h")).To(Equal(exitPublished))
	g.Expect(h.stderr.String()).To(ContainSubstring("-driver"))
	g.Expect(h.terminationMessage()).To(BeEmpty())
}

func TestTerminationLogThatCannotBeWritten(t *testing.T) {
	g := NewWithT(t)
	slack := newSlackServer(t)
	h := newHarness(t, newPost("slack").obj())
	h.trust(slack.srv)
	h.setSecret("SLACK_WEBHOOK_URL", slack.webhookURL())
	h.termLog = filepath.Join(h.dir, "missing-dir", "termination-log")

	// The post went out: the exit code says so, and the log says the controller will not know.
	g.Expect(h.run("--driver", "slack")).To(Equal(exitPublished))
	g.Expect(h.stderr.String()).To(ContainSubstring("Failed to write the termination log"))
	g.Expect(h.stdout.String()).To(ContainSubstring(`"url":"slack:launch"`))
}

func TestRedactor(t *testing.T) {
	g := NewWithT(t)
	r := &redactor{}
	r.add("https://hooks.slack.test/services/T0AAAA/B0BBBB/abcdefghijklmnopqrstuvwx", true)
	r.add("s3cr3t-signing-key", false)
	r.add("short", false) // too short to redact without mangling ordinary words

	g.Expect(r.redact("posting to https://hooks.slack.test/services/T0AAAA/B0BBBB/abcdefghijklmnopqrstuvwx failed")).
		To(Equal("posting to [redacted] failed"))
	g.Expect(r.redact("path /services/T0AAAA/B0BBBB/abcdefghijklmnopqrstuvwx")).To(Equal("path [redacted]"))
	g.Expect(r.redact("token abcdefghijklmnopqrstuvwx and s3cr3t-signing-key")).To(Equal("token [redacted] and [redacted]"))
	g.Expect(r.redact("short services")).To(Equal("short services"))
}

func TestTruncateKeepsRunesWhole(t *testing.T) {
	g := NewWithT(t)
	g.Expect(truncate("abc", 5)).To(Equal("abc"))
	g.Expect(truncate("ééé", 3)).To(Equal("é…"))
}
