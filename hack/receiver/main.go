// Command receiver stands in for the outside world in `make demo`, on a loopback address:
//
//   - any path: it prints every chat notification it receives;
//   - /publish: it plays a publishing endpoint for the publisher's webhook driver. It checks the
//     X-Greenlight-Signature HMAC of the body with the shared secret, prints what it got, and
//     answers {"id": "N", "url": "http://<listen>/posts/N"}, the same answer again for a
//     repeated Idempotency-Key;
//   - GET /posts/N: it answers the webhook driver's insights requests for a post it published.
//     It checks the signature (HMAC of the request target, "/posts/N") and that the
//     Idempotency-Key is the one the post was published with, and answers {"likes", "shares",
//     "replies", "impressions"}: each request for a post adds 7 likes, 2 shares, 1 reply and
//     150 impressions, so that every insights Job sees the figures grow. A post it does not
//     know (after a restart, say) answers 404, which the publisher reports as deleted.
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
	"strconv"
	"sync"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18090", "loopback address to listen on")
	secret := flag.String("secret", "", "the publisher's WEBHOOK_SECRET, to check signatures at /publish and /posts/")
	flag.Parse()
	handler := newReceiver([]byte(*secret), "http://"+*addr, os.Stdout, time.Now)
	server := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second, Handler: handler}
	if err := server.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}

// Each insights request for a post adds these to its figures.
const (
	likesPerRequest       = 7
	sharesPerRequest      = 2
	repliesPerRequest     = 1
	impressionsPerRequest = 150
)

// receiver holds what it published, to answer repeats and insights requests.
type receiver struct {
	secret []byte
	// base is the scheme and address of the urls it answers: "http://127.0.0.1:18090".
	base string
	out  io.Writer
	now  func() time.Time

	mu sync.Mutex
	// answers holds the answer given for each idempotency key.
	answers map[string]string
	// posts holds each published post by id.
	posts map[string]*publishedPost
}

// publishedPost is a post the receiver published.
type publishedPost struct {
	key string
	// asked counts the valid insights requests for it.
	asked int64
}

// figures is the answer to an insights request.
type figures struct {
	Likes       int64 `json:"likes"`
	Shares      int64 `json:"shares"`
	Replies     int64 `json:"replies"`
	Impressions int64 `json:"impressions"`
}

func newReceiver(secret []byte, base string, out io.Writer, now func() time.Time) http.Handler {
	rcv := &receiver{secret: secret, base: base, out: out, now: now,
		answers: map[string]string{}, posts: map[string]*publishedPost{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/publish", rcv.publish)
	mux.HandleFunc("GET /posts/{id}", rcv.insights)
	mux.HandleFunc("/", rcv.notification)
	return mux
}

// printf prints one line of the receiver's log; the caller holds rcv.mu.
func (rcv *receiver) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(rcv.out, rcv.now().UTC().Format(time.TimeOnly)+" "+format+"\n", args...)
}

// signed says whether r carries the signature of data.
func (rcv *receiver) signed(r *http.Request, data []byte) bool {
	mac := hmac.New(sha256.New, rcv.secret)
	mac.Write(data)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(r.Header.Get("X-Greenlight-Signature")), []byte(want))
}

func (rcv *receiver) notification(_ http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	rcv.printf("%s", body)
}

func (rcv *receiver) publish(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if !rcv.signed(r, body) {
		rcv.printf("publish: REFUSED, the signature does not match the body")
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	var post struct {
		Namespace, Name, Channel, Body, Revision string
	}
	_ = json.Unmarshal(body, &post)
	key := r.Header.Get("Idempotency-Key")
	answer, repeated := rcv.answers[key]
	if !repeated {
		id := strconv.Itoa(len(rcv.answers) + 1)
		answer = fmt.Sprintf(`{"id": %q, "url": "%s/posts/%s"}`, id, rcv.base, id)
		rcv.answers[key] = answer
		rcv.posts[id] = &publishedPost{key: key}
	}
	rcv.printf("publish: signature valid, Idempotency-Key %s%s: %s/%s on %s (revision %.19s): %q", key,
		map[bool]string{true: " (a repeat: same answer)", false: ""}[repeated], post.Namespace, post.Name, post.Channel, post.Revision, post.Body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, answer)
}

// insights answers GET /posts/{id}, signed with the HMAC of the request target.
func (rcv *receiver) insights(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if !rcv.signed(r, []byte(r.RequestURI)) {
		rcv.printf("insights: REFUSED, the signature does not match %s", r.RequestURI)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	post, ok := rcv.posts[id]
	if !ok {
		rcv.printf("insights: post %s is not known here (404)", id)
		http.Error(w, "no such post", http.StatusNotFound)
		return
	}
	if key := r.Header.Get("Idempotency-Key"); key != post.key {
		rcv.printf("insights: REFUSED, Idempotency-Key %s is not the one post %s was published with", key, id)
		http.Error(w, "this Idempotency-Key did not publish this post", http.StatusForbidden)
		return
	}
	post.asked++
	n := post.asked
	got := figures{Likes: likesPerRequest * n, Shares: sharesPerRequest * n, Replies: repliesPerRequest * n,
		Impressions: impressionsPerRequest * n}
	rcv.printf("insights: signature valid, post %s, request %d: %d likes, %d shares, %d replies, %d impressions",
		id, n, got.Likes, got.Shares, got.Replies, got.Impressions)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(got)
}
