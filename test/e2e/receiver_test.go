//go:build e2e

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver plays the outside world for the publisher's webhook driver, on 127.0.0.1 where the
// Job's pod (host network) reaches it. It checks each delivery's signature, counts deliveries
// per Idempotency-Key, and answers {"id", "url"}, the first answer again for a repeated key; the
// url is on its own origin, where it answers insights GETs with figures that grow with each.
type receiver struct {
	secret []byte
	url    string
	origin string

	mu sync.Mutex
	// failWith, when set, is the error message of a 401 answer to every delivery.
	failWith string
	// delay holds each delivery this long before answering.
	delay time.Duration
	// attempts counts requests per key; delivered counts the ones answered 2xx.
	attempts  map[string]int
	delivered map[string]int
	bodies    map[string]delivery
	badSigs   int
	// insights counts the insights GETs per post path ("/posts/<channel>/<id>").
	insights map[string]int
}

// delivery is post.json as the receiver got it.
type delivery struct {
	Namespace, Name, Channel, Body, Revision, IdempotencyKey string
}

func startReceiver(t *testing.T, secret string) *receiver {
	t.Helper()
	r := &receiver{secret: []byte(secret), attempts: map[string]int{}, delivered: map[string]int{}, bodies: map[string]delivery{},
		insights: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.origin = "http://" + l.Addr().String()
	r.url = r.origin + "/publish"
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/posts/") {
		r.serveInsights(w, req)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	key := req.Header.Get("Idempotency-Key")
	mac := hmac.New(sha256.New, r.secret)
	mac.Write(body)
	if !hmac.Equal([]byte(req.Header.Get("X-Greenlight-Signature")), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) {
		r.mu.Lock()
		r.badSigs++
		r.mu.Unlock()
		http.Error(w, `{"error": "invalid signature"}`, http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	r.attempts[key]++
	delay, failWith := r.delay, r.failWith
	r.mu.Unlock()
	time.Sleep(delay)
	if failWith != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": failWith})
		return
	}
	var d delivery
	_ = json.Unmarshal(body, &d)
	d.IdempotencyKey = key
	r.mu.Lock()
	first := r.delivered[key] == 0
	r.delivered[key]++
	if first {
		r.bodies[key] = d
	}
	r.mu.Unlock()
	id := hex.EncodeToString([]byte(key))[:16]
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "url": fmt.Sprintf("%s/posts/%s/%s", r.origin, d.Channel, id)})
}

// serveInsights answers the webhook driver's insights GET on a post's url: signed (HMAC of the
// request target), with figures that grow with each request for the post.
func (r *receiver) serveInsights(w http.ResponseWriter, req *http.Request) {
	mac := hmac.New(sha256.New, r.secret)
	mac.Write([]byte(req.RequestURI))
	if !hmac.Equal([]byte(req.Header.Get("X-Greenlight-Signature")), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) {
		r.mu.Lock()
		r.badSigs++
		r.mu.Unlock()
		http.Error(w, `{"error": "invalid signature"}`, http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	r.insights[req.URL.Path]++
	n := r.insights[req.URL.Path]
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"likes": 3 * n, "shares": n, "replies": n, "impressions": 100 * n})
}

// insightsRequests returns how many insights GETs each post path got.
func (r *receiver) insightsRequests() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.insights {
		out[k] = v
	}
	return out
}

func (r *receiver) set(failWith string, delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failWith, r.delay = failWith, delay
}

// snapshot returns copies of the counters.
func (r *receiver) snapshot() (attempts, delivered map[string]int, bodies map[string]delivery, badSigs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	attempts, delivered, bodies = map[string]int{}, map[string]int{}, map[string]delivery{}
	for k, v := range r.attempts {
		attempts[k] = v
	}
	for k, v := range r.delivered {
		delivered[k] = v
	}
	for k, v := range r.bodies {
		bodies[k] = v
	}
	return attempts, delivered, bodies, r.badSigs
}
