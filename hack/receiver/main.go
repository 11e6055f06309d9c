// Command receiver stands in for the outside world in `make demo`: on a loopback address it
// prints every chat notification it receives (any path), and at /publish it plays a publishing
// endpoint for the publisher's webhook driver: it checks the X-Greenlight-Signature HMAC of the
// body with the shared secret, prints what it got, and answers {"id", "url"}, the same answer
// again for a repeated Idempotency-Key.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18090", "loopback address to listen on")
	secret := flag.String("secret", "", "the publisher's WEBHOOK_SECRET, to check signatures at /publish")
	flag.Parse()
	mux := http.NewServeMux()
	mux.Handle("/publish", &publishing{secret: []byte(*secret), answers: map[string]string{}, addr: *addr})
	mux.HandleFunc("/", func(_ http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		fmt.Printf("%s %s\n", time.Now().UTC().Format(time.TimeOnly), body)
	})
	server := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second, Handler: mux}
	if err := server.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}

// publishing answers the publisher's webhook driver.
type publishing struct {
	secret []byte
	addr   string
	mu     sync.Mutex
	// answers holds the answer given for each idempotency key.
	answers map[string]string
}

func (p *publishing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	mac := hmac.New(sha256.New, p.secret)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	now := time.Now().UTC().Format(time.TimeOnly)
	if !hmac.Equal([]byte(r.Header.Get("X-Greenlight-Signature")), []byte(want)) {
		fmt.Printf("%s publish: REFUSED, the signature does not match the body\n", now)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	var post struct {
		Namespace, Name, Channel, Body, Revision string
	}
	_ = json.Unmarshal(body, &post)
	key := r.Header.Get("Idempotency-Key")
	p.mu.Lock()
	answer, repeated := p.answers[key]
	if !repeated {
		id := fmt.Sprintf("%d", len(p.answers)+1)
		answer = fmt.Sprintf(`{"id": %q, "url": "http://%s/posts/%s"}`, id, p.addr, id)
		p.answers[key] = answer
	}
	p.mu.Unlock()
	fmt.Printf("%s publish: signature valid, Idempotency-Key %s%s: %s/%s on %s (revision %.19s): %q\n", now, key,
		map[bool]string{true: " (a repeat: same answer)", false: ""}[repeated], post.Namespace, post.Name, post.Channel, post.Revision, post.Body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, answer)
}
