// Package notifytest provides an HTTP endpoint on 127.0.0.1 that records the notifications it
// receives, for the tests of every package that sends them.
package notifytest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Receiver answers each request with the next of its statuses (then 200, or the status given
// to AlwaysAnswer), sets Headers on every answer, and records the JSON bodies it received.
type Receiver struct {
	*httptest.Server
	// Headers are set on every answer, for example Retry-After.
	Headers map[string]string
	// fallback answers once the statuses are used up: 200 unless AlwaysAnswer changes it.
	fallback int

	mu       sync.Mutex
	bodies   []map[string]any
	statuses []int
}

// NewReceiver starts a Receiver on http://127.0.0.1 that the test stops when it ends. A notifier
// sends to it only when its options allow http:// (notify.Options.AllowHTTP).
func NewReceiver(t testing.TB, statuses ...int) *Receiver {
	return newReceiver(t, httptest.NewServer, statuses)
}

// NewTLSReceiver starts a Receiver on https://127.0.0.1, with a certificate that only the
// transport of its Client trusts, and that the test stops when it ends.
func NewTLSReceiver(t testing.TB, statuses ...int) *Receiver {
	return newReceiver(t, httptest.NewTLSServer, statuses)
}

func newReceiver(t testing.TB, serve func(http.Handler) *httptest.Server, statuses []int) *Receiver {
	r := &Receiver{statuses: statuses, Headers: map[string]string{}, fallback: http.StatusOK}
	r.Server = serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		data, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(data, &body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.bodies = append(r.bodies, body)
		status := r.fallback
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		for k, v := range r.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// AlwaysAnswer makes the receiver answer status once its statuses are used up.
func (r *Receiver) AlwaysAnswer(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fallback = status
}

// Received returns the bodies received so far, in order.
func (r *Receiver) Received() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...)
}

// Events returns the "event" field of each JSON notification received, in order.
func (r *Receiver) Events() []string {
	var out []string
	for _, body := range r.Received() {
		if e, ok := body["event"].(string); ok {
			out = append(out, e)
		}
	}
	return out
}
