package notify

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	crzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify/notifytest"
	"github.com/greenlight-operator/greenlight/internal/outbound"
)

// httpOptions are the default options with http:// allowed, for the receivers on 127.0.0.1.
var httpOptions = func() Options { o := DefaultOptions; o.AllowHTTP = true; return o }()

// waitLog records the waits between attempts that a notifier asked for.
type waitLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitLog) sleep(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = append(w.waits, d)
	return nil
}

func (w *waitLog) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.waits...)
}

// logBuffer holds what a notifier logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newNotifier returns a notifier that reads the Secrets of namespace brand named by the keys of
// urls, each holding its value under the key "url", and the waits it asked for (it never
// really waits).
func newNotifier(t *testing.T, opts Options, urls map[string]string) (*Notifier, *waitLog) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	builder := fake.NewClientBuilder().WithScheme(scheme)
	for name, url := range urls {
		builder = builder.WithObjects(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "brand"},
			Data:       map[string][]byte{"url": []byte(url)},
		})
	}
	n := New(builder.Build(), opts, nil)
	waits := &waitLog{}
	n.sleep = waits.sleep
	return n, waits
}

// targetOf returns the notification team-chat of policy in namespace brand, sending to the URL
// in Secret secret.
func targetOf(policy, secret string, format greenlightv1alpha1.NotificationFormat) Target {
	return Target{Namespace: "brand", Policy: policy, Notification: greenlightv1alpha1.Notification{
		Name: "team-chat", Format: format, URLSecretRef: greenlightv1alpha1.SecretKeyRef{Name: secret, Key: "url"},
	}}
}

// setUp returns a notifier whose Secret "chat" holds url, the target of policy acme using it in
// format, and the waits the notifier asked for.
func setUp(t *testing.T, url string, format greenlightv1alpha1.NotificationFormat, opts Options) (*Notifier, Target, *waitLog) {
	n, waits := newNotifier(t, opts, map[string]string{"chat": url})
	return n, targetOf("acme", "chat", format), waits
}

var event = Event{
	Key: "uid-1/ReviewRequested/legal/sha256:abc", Type: greenlightv1alpha1.EventReviewRequested,
	Namespace: "brand", Post: "launch", Department: "legal",
	Message: "Review requested from legal (stage compliance).", Time: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
}

// eventWithKey returns event with another key, so that it is delivered again.
func eventWithKey(key string) Event {
	e := event
	e.Key = key
	return e
}

// start runs n until the test ends, and returns what it logs.
func start(t *testing.T, n *Notifier) *logBuffer {
	logs := &logBuffer{}
	ctx := logf.IntoContext(context.Background(), crzap.New(crzap.WriteTo(logs)))
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- n.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("Start: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Start did not return after its context ended")
		}
	})
	return logs
}

// idle reports whether no event is waiting or being delivered.
func (n *Notifier) idle() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.queued == 0
}

// deliverQueued starts n, waits until it has handled every queued event, and returns what it
// logged.
func deliverQueued(t *testing.T, n *Notifier) *logBuffer {
	logs := start(t, n)
	NewWithT(t).Eventually(n.idle, 10*time.Second, time.Millisecond).Should(BeTrue())
	return logs
}

func TestJSONPayload(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t)
	n, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
	g.Expect(n.Send(target, event)).To(BeTrue())
	deliverQueued(t, n)
	g.Expect(r.Received()).To(Equal([]map[string]any{{
		"key": "uid-1/ReviewRequested/legal/sha256:abc", "event": "ReviewRequested", "namespace": "brand", "post": "launch",
		"department": "legal", "message": "Review requested from legal (stage compliance).", "time": "2026-11-23T09:00:00Z",
	}}))
}

func TestSlackPayload(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t)
	n, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationSlack, httpOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Received()).To(Equal([]map[string]any{{
		"text": "*ReviewRequested* · brand/launch: Review requested from legal (stage compliance).",
	}}))
}

func TestHTTPSEndpointsAreUsedByDefault(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewTLSReceiver(t)
	n, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, DefaultOptions)
	n.http.Transport = r.Client().Transport // trusts the receiver's certificate
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Events()).To(Equal([]string{"ReviewRequested"}))
	g.Expect(n.Failures("brand", "acme")).To(BeEmpty())
}

func TestHTTPEndpointsNeedAllowHTTP(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t)
	n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, DefaultOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Received()).To(BeEmpty())
	g.Expect(waits.all()).To(BeEmpty(), "not retried")
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat",
		"notification team-chat of policy acme: the value of Secret brand/chat key url is an http:// URL; "+
			"notification URLs must be https:// (the manager accepts http:// only with --allow-http-notifications)"))

	allowed, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
	allowed.Send(target, event)
	deliverQueued(t, allowed)
	g.Expect(r.Events()).To(Equal([]string{"ReviewRequested"}))
}

func TestTheSecretIsReadWhenSending(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t)
	n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Events()).To(HaveLen(1))

	// Someone changes the Secret to a value that is not an http(s) URL: the next event fails
	// without a request, is not retried, and the failure says which Secret and key to fix.
	secrets := n.secrets.(client.Client)
	secret := &corev1.Secret{}
	g.Expect(secrets.Get(context.Background(), client.ObjectKey{Namespace: "brand", Name: "chat"}, secret)).To(Succeed())
	secret.Data["url"] = []byte("ftp://files.example/drop")
	g.Expect(secrets.Update(context.Background(), secret)).To(Succeed())
	n.Send(target, eventWithKey("uid-1/Approved"))
	g.Eventually(func() map[string]string { return n.Failures("brand", "acme") }, 5*time.Second, time.Millisecond).Should(
		HaveKeyWithValue("team-chat", "notification team-chat of policy acme: the value of Secret brand/chat key url "+
			"is not a valid http:// or https:// URL with a host; set it to the endpoint's URL"))
	g.Expect(r.Events()).To(HaveLen(1))
	g.Expect(waits.all()).To(BeEmpty())
}

func TestRetriesServerErrorsWithBackoffAndHonoursRetryAfter(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t, http.StatusInternalServerError, http.StatusBadGateway, http.StatusTooManyRequests)
	r.Headers["Retry-After"] = "7"
	n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Received()).To(HaveLen(4), "three failures, then delivered")
	// Every answer carries Retry-After: 7 here, and the notifier honours it over its backoff.
	g.Expect(waits.all()).To(Equal([]time.Duration{7 * time.Second, 7 * time.Second, 7 * time.Second}))
	g.Expect(n.Failures("brand", "acme")).To(BeEmpty())
}

func TestRetryAfterIsCappedAtMaxBackoff(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, retryAfter string
		wait             time.Duration
	}{
		{name: "seconds", retryAfter: "30", wait: 30 * time.Second},
		{name: "ten years in seconds", retryAfter: "315360000", wait: time.Minute},
		{name: "more seconds than a Duration holds", retryAfter: "99999999999999999", wait: time.Minute},
		{name: "HTTP date", retryAfter: now.Add(30 * time.Second).Format(http.TimeFormat), wait: 30 * time.Second},
		{name: "HTTP date in ten years", retryAfter: now.AddDate(10, 0, 0).Format(http.TimeFormat), wait: time.Minute},
		{name: "HTTP date in the past", retryAfter: now.Add(-time.Hour).Format(http.TimeFormat), wait: time.Second},
		{name: "neither", retryAfter: "soon", wait: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := notifytest.NewReceiver(t, http.StatusTooManyRequests, http.StatusServiceUnavailable)
			r.Headers["Retry-After"] = tc.retryAfter
			n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
			n.clock = clocktesting.NewFakePassiveClock(now)
			n.Send(target, event)
			deliverQueued(t, n)
			g.Expect(r.Received()).To(HaveLen(3))
			g.Expect(waits.all()).To(HaveLen(2))
			g.Expect(waits.all()[0]).To(Equal(tc.wait))
		})
	}
}

func TestBackoffDoublesWithoutRetryAfter(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t, 500, 500, 500, 500, 500)
	n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Received()).To(HaveLen(5), "MaxAttempts")
	g.Expect(waits.all()).To(Equal([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}))
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("endpoint answered 500 Internal Server Error (after 5 attempts)")))
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t, http.StatusBadRequest)
	n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Received()).To(HaveLen(1))
	g.Expect(waits.all()).To(BeEmpty())
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("400 Bad Request")))
}

func TestALaterSuccessClearsTheFailure(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t, http.StatusNotFound)
	n, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("404 Not Found")))
	n.Send(target, eventWithKey("uid-1/Approved"))
	g.Eventually(func() map[string]string { return n.Failures("brand", "acme") }, 5*time.Second, time.Millisecond).Should(BeEmpty())
	g.Expect(r.Received()).To(HaveLen(2))
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			g := NewWithT(t)
			elsewhere := notifytest.NewReceiver(t)
			r := notifytest.NewReceiver(t, status)
			r.Headers["Location"] = elsewhere.URL + "/collect"
			n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
			n.Send(target, event)
			deliverQueued(t, n)
			g.Expect(r.Received()).To(HaveLen(1))
			g.Expect(elsewhere.Received()).To(BeEmpty())
			g.Expect(waits.all()).To(BeEmpty(), "not retried")
			g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring(
				"endpoint answered %d %s; redirects are not followed (after 1 attempt)", status, http.StatusText(status))))
		})
	}
}

func TestEachKeyIsDeliveredOnce(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t)
	n, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
	g.Expect(n.Send(target, event)).To(BeTrue())
	g.Expect(n.Send(target, event)).To(BeFalse(), "a duplicate key is dropped")
	deliverQueued(t, n)
	g.Expect(n.Send(target, event)).To(BeFalse(), "also once delivered")
	g.Expect(r.Received()).To(HaveLen(1))
}

func TestAMissingSecretIsAFailureNotACrash(t *testing.T) {
	g := NewWithT(t)
	n, target, _ := setUp(t, "http://127.0.0.1:1", greenlightv1alpha1.NotificationJSON, httpOptions)
	target.Notification.URLSecretRef.Name = "missing"
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("reading Secret brand/missing")))
}

func TestEventsSentBeforeStartAreDeliveredWhenItRuns(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t)
	n, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, httpOptions)
	g.Expect(n.Send(target, event)).To(BeTrue())
	g.Expect(n.Send(target, eventWithKey("uid-1/Approved"))).To(BeTrue())
	deliverQueued(t, n)
	g.Expect(r.Received()).To(HaveLen(2))

	// The target's worker has exited with its queue empty; the next event starts another.
	g.Expect(n.Send(target, eventWithKey("uid-1/Published"))).To(BeTrue())
	g.Eventually(r.Received, 5*time.Second, time.Millisecond).Should(HaveLen(3))
}

func TestAFullQueueNeverBlocks(t *testing.T) {
	g := NewWithT(t)
	opts := httpOptions
	opts.QueueSize = 1
	n, target, _ := setUp(t, "http://127.0.0.1:1", greenlightv1alpha1.NotificationJSON, opts)
	g.Expect(n.Send(target, event)).To(BeTrue())
	g.Expect(n.Send(target, eventWithKey("uid-1/Approved"))).To(BeFalse())
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("was dropped")))
}

func TestQueuesAreBoundedPerTargetAndOverall(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t)
	opts := httpOptions
	opts.QueueSize, opts.TargetQueueSize = 3, 2
	n, _ := newNotifier(t, opts, map[string]string{"chat": r.URL})
	a, b, c := targetOf("a", "chat", greenlightv1alpha1.NotificationJSON),
		targetOf("b", "chat", greenlightv1alpha1.NotificationJSON), targetOf("c", "chat", greenlightv1alpha1.NotificationJSON)

	g.Expect(n.Send(a, eventWithKey("1"))).To(BeTrue())
	g.Expect(n.Send(a, eventWithKey("2"))).To(BeTrue())
	g.Expect(n.Send(a, eventWithKey("3"))).To(BeFalse(), "a's queue is full")
	g.Expect(n.Send(b, eventWithKey("1"))).To(BeTrue(), "b has room although a has none")
	g.Expect(n.Send(c, eventWithKey("1"))).To(BeFalse(), "all queues together are full")
	g.Expect(n.Failures("brand", "a")).To(HaveKeyWithValue("team-chat",
		"2 events are already waiting for this endpoint; event ReviewRequested for post launch was dropped"))
	g.Expect(n.Failures("brand", "b")).To(BeEmpty())
	g.Expect(n.Failures("brand", "c")).To(HaveKeyWithValue("team-chat",
		"the notification queue is full (3 events); event ReviewRequested for post launch was dropped"))

	deliverQueued(t, n)
	g.Expect(r.Received()).To(HaveLen(3))
	g.Expect(n.Failures("brand", "a")).To(BeEmpty(), "cleared by the deliveries that followed")
	g.Expect(n.Send(c, eventWithKey("2"))).To(BeTrue(), "room again")
}

func TestTimeoutsAreRetried(t *testing.T) {
	g := NewWithT(t)
	slow := hangingServer(t)
	opts := httpOptions
	opts.Timeout, opts.MaxAttempts = 50*time.Millisecond, 2
	n, target, waits := setUp(t, slow.URL, greenlightv1alpha1.NotificationJSON, opts)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(waits.all()).To(HaveLen(1), "the timed-out attempt was retried once")
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat",
		"notification team-chat of policy acme: the endpoint did not answer within 50ms (after 2 attempts)"))
}

// TestNoURLOrSecretValueIsShown sends to a Secret whose value holds a marker, as a password or
// a chat URL's secret path would, and checks that no failure and no log line shows it.
func TestNoURLOrSecretValueIsShown(t *testing.T) {
	const marker = "S3CR3T-7f3a9c"
	hanging := hangingServer(t)
	refusing := closedAddress(t)
	notFound := notifytest.NewReceiver(t)
	notFound.AlwaysAnswer(http.StatusNotFound)
	failing := notifytest.NewReceiver(t)
	failing.AlwaysAnswer(http.StatusInternalServerError)
	redirecting := notifytest.NewReceiver(t)
	redirecting.AlwaysAnswer(http.StatusFound)
	redirecting.Headers["Location"] = "https://elsewhere.example/" + marker
	untrusted := notifytest.NewTLSReceiver(t)
	hookPath := "/services/T000/B000/" + marker

	for _, tc := range []struct {
		name, value string
		allowHTTP   bool
		failure     string
	}{
		{name: "unparsable value", value: "hunter2%zz" + marker,
			failure: "notification team-chat of policy acme: the value of Secret brand/chat key url " +
				"is not a valid https:// URL with a host; set it to the endpoint's URL"},
		{name: "a password, not a URL", value: "hunter2-" + marker,
			failure: "the value of Secret brand/chat key url is not a valid https:// URL with a host"},
		{name: "wrong scheme", value: "postgres://app:" + marker + "@db.internal:5432/app",
			failure: "the value of Secret brand/chat key url is not a valid https:// URL with a host"},
		{name: "no host", value: "https:///" + marker,
			failure: "the value of Secret brand/chat key url is not a valid https:// URL with a host"},
		{name: "http not allowed", value: "http://hooks.example" + hookPath,
			failure: "the value of Secret brand/chat key url is an http:// URL; notification URLs must be https://"},
		{name: "user and password", value: "https://bot:" + marker + "@hooks.example/services",
			failure: "the value of Secret brand/chat key url is a URL with a user name or password, which notification URLs must not carry"},
		{name: "timeout", value: hanging.URL + hookPath, allowHTTP: true,
			failure: "the endpoint did not answer within 50ms (after 2 attempts)"},
		{name: "connection refused", value: "http://" + refusing + hookPath, allowHTTP: true,
			failure: "the endpoint refused the connection (after 2 attempts)"},
		{name: "404", value: notFound.URL + hookPath, allowHTTP: true,
			failure: "endpoint answered 404 Not Found (after 1 attempt)"},
		{name: "500 after retries", value: failing.URL + hookPath, allowHTTP: true,
			failure: "endpoint answered 500 Internal Server Error (after 2 attempts)"},
		{name: "redirect", value: redirecting.URL + hookPath, allowHTTP: true,
			failure: "endpoint answered 302 Found; redirects are not followed (after 1 attempt)"},
		{name: "untrusted certificate", value: untrusted.URL + hookPath,
			failure: "TLS error: the certificate of the endpoint is signed by an unknown authority (after 2 attempts)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			opts := DefaultOptions
			opts.AllowHTTP, opts.MaxAttempts = tc.allowHTTP, 2
			if tc.name == "timeout" {
				opts.Timeout = 50 * time.Millisecond
			}
			n, target, _ := setUp(t, tc.value, greenlightv1alpha1.NotificationJSON, opts)
			n.Send(target, event)
			logs := deliverQueued(t, n)

			failures := n.Failures("brand", "acme")
			g.Expect(failures).To(HaveKeyWithValue("team-chat", ContainSubstring(tc.failure)))
			g.Expect(failures["team-chat"]).NotTo(ContainSubstring(marker))
			g.Expect(failures["team-chat"]).NotTo(ContainSubstring("127.0.0.1"))
			g.Expect(logs.String()).To(ContainSubstring("Failed to deliver notification"))
			g.Expect(logs.String()).NotTo(ContainSubstring(marker))
			g.Expect(logs.String()).NotTo(ContainSubstring("127.0.0.1"))
		})
	}
}

// hangingServer returns an endpoint that never answers; it lets go of its requests when the
// client gives up or the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		// Read the body first: only then does the server notice that the client went away.
		_, _ = io.Copy(io.Discard, req.Body)
		select {
		case <-req.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(release) }) // runs first
	return s
}

// closedAddress returns a 127.0.0.1 address where nothing listens.
func closedAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestASlowEndpointDelaysNoOtherTarget stalls target a's endpoint for far longer than the test
// waits, and checks that target b's events are delivered meanwhile.
func TestASlowEndpointDelaysNoOtherTarget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, req *http.Request)
	}{
		{name: "hanging", answer: func(_ http.ResponseWriter, req *http.Request) {
			_, _ = io.Copy(io.Discard, req.Body)
			<-req.Context().Done() // until the notifier stops, when the test ends
		}},
		{name: "rate limiting for an hour", answer: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			reached := make(chan struct{}, 10)
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				reached <- struct{}{}
				tc.answer(w, req)
			}))
			t.Cleanup(slow.Close)
			fast := notifytest.NewReceiver(t)
			opts := httpOptions
			opts.Timeout, opts.MaxBackoff = time.Hour, time.Hour
			n, _ := newNotifier(t, opts, map[string]string{"slow": slow.URL, "fast": fast.URL})
			n.sleep = outbound.Sleep // really wait, until the test ends
			a := targetOf("a", "slow", greenlightv1alpha1.NotificationJSON)
			b := targetOf("b", "fast", greenlightv1alpha1.NotificationJSON)
			start(t, n)

			g.Expect(n.Send(a, eventWithKey("1"))).To(BeTrue())
			g.Expect(n.Send(a, eventWithKey("2"))).To(BeTrue())
			g.Eventually(reached, 5*time.Second).Should(Receive(), "a's endpoint has the first event")
			g.Expect(n.Send(b, eventWithKey("1"))).To(BeTrue())
			g.Expect(n.Send(b, eventWithKey("2"))).To(BeTrue())
			g.Eventually(fast.Received, 5*time.Second, time.Millisecond).Should(HaveLen(2))
			g.Expect(reached).NotTo(Receive(), "a's second event waits behind its first")
		})
	}
}
