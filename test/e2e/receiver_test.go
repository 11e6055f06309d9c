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
	"sync"
	"testing"
	"time"
)

// receiver plays the outside world for the publisher's webhook driver, on 127.0.0.1 where the
// Job's pod (host network) reaches it. It checks each delivery's signature, counts deliveries
// per Idempotency-Key, and answers {"id", "url"}, the first answer again for a repeated key.
type receiver struct {
	secret []byte
	url    string

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
}

// delivery is post.json as the receiver got it.
type delivery struct {
	Namespace, Name, Channel, Body, Revision, IdempotencyKey string
}

func startReceiver(t *testing.T, secret string) *receiver {
	t.Helper()
	r := &receiver{secret: []byte(secret), attempts: map[string]int{}, delivered: map[string]int{}, bodies: map[string]delivery{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.url = "http://" + l.Addr().String() + "/publish"
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
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
	_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "url": fmt.Sprintf("https://social.example/%s/%s", d.Channel, id)})
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
