package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/greenlight-operator/greenlight/internal/publish"
)

const mastodonToken = "mtok-ZXhhbXBsZS10b2tlbi0wMTIzNDU2Nzg5" //nolint:gosec // G101: the fake server's token.

// fakeMastodon behaves like the parts of Mastodon's REST API the publisher uses.
type fakeMastodon struct {
	srv *httptest.Server

	mu sync.Mutex
	// processingChecks is how many GET /api/v1/media/:id answer 206 before 200; when non-zero
	// an upload answers 202 with url null.
	processingChecks int
	// slowStatuses is how many POST /api/v1/statuses hang before the server answers.
	slowStatuses int
	// echoToken puts the presented token into 401 answers, as a careless proxy might.
	echoToken bool

	// counters are the favourites, reblogs and replies of the statuses GET /api/v1/statuses/:id
	// knows; any other id answers 404, as a deleted status does.
	counters map[string][3]int64
	// failGets answers the first GET /api/v1/statuses/:id with these statuses, each with
	// Retry-After: retryAfter when that is set.
	failGets   []int
	retryAfter string

	media        map[string]*fakeMedia
	mediaChecks  int
	statusByKey  map[string]mastodonStatus
	statusBodies []statusRequest
	statusCalls  int
	// requests are the method and path of every request, in order.
	requests []string
}

type fakeMedia struct {
	data        []byte
	filename    string
	contentType string
	description string
	checksLeft  int
}

type statusRequest struct {
	Status     string   `json:"status"`
	MediaIDs   []string `json:"media_ids"`
	Visibility string   `json:"visibility"`
	Language   string   `json:"language"`
	key        string
}

func newFakeMastodon(t *testing.T) *fakeMastodon {
	m := &fakeMastodon{media: map[string]*fakeMedia{}, statusByKey: map[string]mastodonStatus{}, counters: map[string][3]int64{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/media", m.authorized(m.upload))
	mux.HandleFunc("GET /api/v1/media/{id}", m.authorized(m.getMedia))
	mux.HandleFunc("POST /api/v1/statuses", m.authorized(m.createStatus))
	mux.HandleFunc("GET /api/v1/statuses/{id}", m.authorized(m.getStatus))
	m.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.requests = append(m.requests, r.Method+" "+r.URL.Path)
		m.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (m *fakeMastodon) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+mastodonToken {
			msg := "The access token is invalid"
			if m.echoToken {
				msg += " (" + strings.TrimPrefix(got, "Bearer ") + ")"
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
			return
		}
		next(w, r)
	}
}

func (m *fakeMastodon) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Validation failed: File can't be blank"})
		return
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Validation failed: File can't be blank"})
		return
	}
	data, _ := io.ReadAll(file)
	m.mu.Lock()
	defer m.mu.Unlock()
	id := fmt.Sprintf("%d", 1000+len(m.media))
	m.media[id] = &fakeMedia{
		data:        data,
		filename:    header.Filename,
		contentType: header.Header.Get("Content-Type"),
		description: r.FormValue("description"),
		checksLeft:  m.processingChecks,
	}
	if m.processingChecks > 0 {
		writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "type": "video", "url": nil})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "type": "image", "url": "https://files.social.example/" + id})
}

func (m *fakeMastodon) getMedia(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mediaChecks++
	media, ok := m.media[r.PathValue("id")]
	switch {
	case !ok:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
	case media.checksLeft > 0:
		media.checksLeft--
		writeJSON(w, http.StatusPartialContent, map[string]any{"id": r.PathValue("id"), "url": nil})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "url": "https://files.social.example/" + r.PathValue("id")})
	}
}

func (m *fakeMastodon) createStatus(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	m.statusCalls++
	slow := m.slowStatuses > 0
	if slow {
		m.slowStatuses--
	}
	m.mu.Unlock()
	body, _ := io.ReadAll(r.Body) // the server notices a closed connection only after the body
	if slow {
		select { // longer than the publisher's --timeout
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		// Never answer: a late 200 written as the publisher hangs up could still reach it.
		panic(http.ErrAbortHandler)
	}
	var req statusRequest
	if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &req) != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Unreadable status"})
		return
	}
	if req.Status == "" && len(req.MediaIDs) == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Validation failed: Text can't be blank"})
		return
	}
	req.key = r.Header.Get("Idempotency-Key")
	m.mu.Lock()
	defer m.mu.Unlock()
	if status, ok := m.statusByKey[req.key]; ok && req.key != "" {
		writeJSON(w, http.StatusOK, status) // Mastodon's answer to a repeated Idempotency-Key
		return
	}
	for _, id := range req.MediaIDs {
		if media, ok := m.media[id]; !ok || media.checksLeft > 0 {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Media not found or not processed"})
			return
		}
	}
	id := fmt.Sprintf("11%04d", len(m.statusBodies)+1)
	status := mastodonStatus{ID: id, URL: "https://social.example/@greenlight/" + id, URI: "https://social.example/users/greenlight/statuses/" + id}
	m.statusBodies = append(m.statusBodies, req)
	if req.key != "" {
		m.statusByKey[req.key] = status
	}
	writeJSON(w, http.StatusOK, status)
}

// getStatus answers a Status with its counters, as Mastodon does (trimmed to a few fields).
func (m *fakeMastodon) getStatus(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.failGets) > 0 {
		status := m.failGets[0]
		m.failGets = m.failGets[1:]
		if m.retryAfter != "" {
			w.Header().Set("Retry-After", m.retryAfter)
		}
		writeJSON(w, status, map[string]string{"error": "Too many requests"})
		return
	}
	id := r.PathValue("id")
	counts, ok := m.counters[id]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "url": "https://social.example/@greenlight/" + id, "content": "<p>We launched Greenlight!</p>",
		"visibility": "public", "favourites_count": counts[0], "reblogs_count": counts[1], "replies_count": counts[2],
		"account": map[string]any{"id": "1", "followers_count": 5000},
	})
}

func (m *fakeMastodon) requestLog() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.requests...)
}

func (m *fakeMastodon) statuses() []statusRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]statusRequest(nil), m.statusBodies...)
}

func (m *fakeMastodon) uploaded() map[string]fakeMedia {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]fakeMedia{}
	for id, media := range m.media {
		out[id] = *media
	}
	return out
}

// mediaServer serves files by path over https, as a CDN would.
func mediaServer(t *testing.T, files map[string][]byte) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved.png" {
			http.Redirect(w, r, "/rocket.png", http.StatusFound)
			return
		}
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".png") {
			w.Header().Set("Content-Type", "image/png")
		}
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

var rocketPNG = append([]byte("\x89PNG\r\n\x1a\n"), []byte(strings.Repeat("rocket pixels ", 64))...)

func newMastodonHarness(t *testing.T, m *fakeMastodon, post publish.PostFile) *harness {
	h := newHarness(t, post)
	h.trust(m.srv)
	h.env["MASTODON_SERVER"] = m.srv.URL + "/"
	h.setSecret("MASTODON_TOKEN", mastodonToken)
	return h
}

func TestMastodonPublishesAStatus(t *testing.T) {
	g := NewWithT(t)
	m := newFakeMastodon(t)
	post := newPost("mastodon").obj()
	h := newMastodonHarness(t, m, post)

	g.Expect(h.run("--driver", "mastodon", "--visibility", "unlisted", "--language", "en")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.result()).To(Equal(publish.Result{ID: "110001", URL: "https://social.example/@greenlight/110001"}))
	g.Expect(m.statuses()).To(Equal([]statusRequest{{
		Status: "We launched Greenlight!", Visibility: "unlisted", Language: "en", key: post.IdempotencyKey,
	}}))
}

func TestMastodonReplayReturnsTheSameStatus(t *testing.T) {
	g := NewWithT(t)
	m := newFakeMastodon(t)
	h := newMastodonHarness(t, m, newPost("mastodon").obj())

	g.Expect(h.run("--driver", "mastodon")).To(Equal(exitPublished), h.allOutput())
	first := h.result()
	g.Expect(h.run("--driver", "mastodon")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.result()).To(Equal(first))
	g.Expect(m.statuses()).To(HaveLen(1))
	g.Expect(m.statuses()[0].Visibility).To(Equal("public"))
	g.Expect(m.statuses()[0].Language).To(BeEmpty())
}

func TestMastodonUploadsMedia(t *testing.T) {
	clip := []byte(strings.Repeat("\x00\x00\x00\x18ftypmp42", 32))
	tests := []struct {
		name             string
		processingChecks int
		wantChecks       int
		wantWaits        []time.Duration
	}{{
		name: "images are ready at once (200)",
	}, {
		name:             "video is processed first (202, then 206 until 200)",
		processingChecks: 2,
		wantChecks:       6, // per medium: 206, 206, 200
		wantWaits:        []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := newFakeMastodon(t)
			m.processingChecks = tt.processingChecks
			cdn := mediaServer(t, map[string][]byte{"/rocket.png": rocketPNG, "/clip.mp4": clip})
			post := newPost("mastodon").withMedia(
				publish.Medium{URL: cdn.URL + "/rocket.png", SHA256: sha256Hex(rocketPNG), AltText: "A rocket lifting off"},
				publish.Medium{URL: cdn.URL + "/clip.mp4"},
			).obj()
			h := newMastodonHarness(t, m, post)

			g.Expect(h.run("--driver", "mastodon")).To(Equal(exitPublished), h.allOutput())
			uploaded := m.uploaded()
			g.Expect(uploaded).To(HaveLen(2))
			g.Expect(uploaded["1000"].data).To(Equal(rocketPNG))
			g.Expect(uploaded["1000"].filename).To(Equal("rocket.png"))
			g.Expect(uploaded["1000"].contentType).To(Equal("image/png"))
			g.Expect(uploaded["1000"].description).To(Equal("A rocket lifting off"))
			g.Expect(uploaded["1001"].data).To(Equal(clip))
			g.Expect(uploaded["1001"].contentType).To(Equal("video/mp4"))
			g.Expect(uploaded["1001"].description).To(BeEmpty())
			g.Expect(m.statuses()).To(HaveLen(1))
			g.Expect(m.statuses()[0].MediaIDs).To(Equal([]string{"1000", "1001"}))
			g.Expect(m.mediaChecks).To(Equal(tt.wantChecks))
			g.Expect(h.recordedWaits()).To(Equal(append(tt.wantWaits, tt.wantWaits...)))
		})
	}
}

func TestMastodonRefusesMedia(t *testing.T) {
	tests := []struct {
		name    string
		medium  func(cdnURL string) publish.Medium
		wantMsg string
	}{{
		name: "sha256 mismatch",
		medium: func(cdnURL string) publish.Medium {
			return publish.Medium{URL: cdnURL + "/rocket.png", SHA256: sha256Hex([]byte("the reviewed rocket"))}
		},
		wantMsg: fmt.Sprintf("media[0] (127.0.0.1) has SHA-256 %s but the post pins %s: the file changed after it was reviewed, so nothing was published",
			sha256Hex(rocketPNG), sha256Hex([]byte("the reviewed rocket"))),
	}, {
		name:    "redirect",
		medium:  func(cdnURL string) publish.Medium { return publish.Medium{URL: cdnURL + "/moved.png"} },
		wantMsg: "media[0] (127.0.0.1) answered 302 Found; redirects are not followed, configure the final URL",
	}, {
		name:    "missing file",
		medium:  func(cdnURL string) publish.Medium { return publish.Medium{URL: cdnURL + "/gone.png"} },
		wantMsg: "media[0] (127.0.0.1) answered 404 Not Found: 404 page not found",
	}, {
		name: "plain http",
		medium: func(cdnURL string) publish.Medium {
			return publish.Medium{URL: strings.Replace(cdnURL, "https://", "http://", 1) + "/rocket.png"}
		},
		wantMsg: "media[0] is not an https:// URL; the publisher downloads media over https only",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := newFakeMastodon(t)
			cdn := mediaServer(t, map[string][]byte{"/rocket.png": rocketPNG})
			h := newMastodonHarness(t, m, newPost("mastodon").withMedia(tt.medium(cdn.URL)).obj())

			g.Expect(h.run("--driver", "mastodon")).To(Equal(exitRefused), h.allOutput())
			g.Expect(h.terminationMessage()).To(Equal(tt.wantMsg))
			g.Expect(m.uploaded()).To(BeEmpty())
			g.Expect(m.statuses()).To(BeEmpty())
		})
	}
}

func TestMastodonInvalidToken(t *testing.T) {
	for _, echo := range []bool{false, true} {
		t.Run(fmt.Sprintf("server echoes token: %v", echo), func(t *testing.T) {
			g := NewWithT(t)
			m := newFakeMastodon(t)
			m.echoToken = echo
			h := newMastodonHarness(t, m, newPost("mastodon").obj())
			h.setSecret("MASTODON_TOKEN", "mtok-revoked-0123456789abcdef")

			g.Expect(h.run("--driver", "mastodon")).To(Equal(exitRefused), h.allOutput())
			g.Expect(h.terminationMessage()).To(HavePrefix("mastodon answered 401 Unauthorized: The access token is invalid"))
			g.Expect(h.stderr.String()).To(ContainSubstring("The access token is invalid"))
			g.Expect(h.recordedWaits()).To(BeEmpty(), "a 401 is not retried")
			if echo {
				g.Expect(h.terminationMessage()).To(HaveSuffix("([redacted])"))
			}
			// The harness checks at cleanup that the token is in no output.
		})
	}
}

func TestMastodonStatusValidationError(t *testing.T) {
	g := NewWithT(t)
	m := newFakeMastodon(t)
	h := newMastodonHarness(t, m, newPost("mastodon").withBody("").obj())

	g.Expect(h.run("--driver", "mastodon")).To(Equal(exitRefused))
	g.Expect(h.terminationMessage()).To(Equal("mastodon answered 422 Unprocessable Entity: Validation failed: Text can't be blank"))
}

func TestMastodonSlowServerIsRetriedWithTheSameKey(t *testing.T) {
	g := NewWithT(t)
	m := newFakeMastodon(t)
	m.slowStatuses = 1
	post := newPost("mastodon").obj()
	h := newMastodonHarness(t, m, post)

	g.Expect(h.run("--driver", "mastodon", "--timeout", "200ms")).To(Equal(exitPublished), h.allOutput())
	g.Expect(h.stderr.String()).To(ContainSubstring(`reason="mastodon did not answer within 200ms"`))
	g.Expect(h.recordedWaits()).To(Equal([]time.Duration{time.Second}))
	g.Expect(m.statusCalls).To(Equal(2))
	g.Expect(m.statuses()).To(HaveLen(1))
	g.Expect(m.statuses()[0].key).To(Equal(post.IdempotencyKey))
}

func TestMastodonGivesUpOnASlowServer(t *testing.T) {
	g := NewWithT(t)
	m := newFakeMastodon(t)
	m.slowStatuses = 2
	h := newMastodonHarness(t, m, newPost("mastodon").obj())

	g.Expect(h.run("--driver", "mastodon", "--timeout", "100ms", "--max-attempts", "2")).To(Equal(exitRetryable))
	g.Expect(h.terminationMessage()).To(Equal("mastodon did not answer within 100ms (gave up after 2 attempts)"))
	g.Expect(m.statuses()).To(BeEmpty())
}
