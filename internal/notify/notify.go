// Package notify delivers Greenlight's review events to chat and other HTTP endpoints, as an
// ApprovalPolicy's spec.notifications asks.
//
// Delivery never holds up a reconcile: Send only queues. Each target (one notifications entry
// of one policy) has its own queue and its own worker, started when an event arrives and gone
// when its queue is empty, so one slow, hanging or rate-limiting endpoint delays only its own
// events, never another target's. Queues are bounded per target (Options.TargetQueueSize) and
// over all targets (Options.QueueSize, counting the events being delivered), so memory and
// workers stay bounded whatever the number of policies; when a queue is full the event is
// dropped and recorded as a failure. Events sent before Start are delivered once it runs;
// workers stop when its context ends.
//
// A worker posts each event as JSON or as a Slack-compatible message to the URL in the
// referenced Secret. The Secret is read at send time, since it can change at any time, and its
// value must be an https:// URL with a host and without a user name or password
// (Options.AllowHTTP also allows http://, for local development and tests); otherwise the event
// fails at once, without a request. Each attempt has a timeout. 5xx, 429 and network errors
// (timeouts included) are retried with a backoff that doubles up to Options.MaxBackoff;
// Retry-After, in seconds or as an HTTP date, replaces the backoff but never exceeds
// MaxBackoff. Redirects are not followed: a 3xx answer is a permanent failure, as is a 4xx
// other than 429. A later success clears a target's failure.
//
// Failure messages (Failures, which becomes the policy's NotificationsFailing condition that
// every viewer can read, and the log) never contain the endpoint URL or any Secret value: a
// policy admin who cannot read Secrets may point urlSecretRef at any key, and a chat URL is a
// credential itself. A bad value is described by its Secret and key, and a network error by its
// kind (timeout, refused, TLS, ...), never by the error text, which quotes the URL.
//
// Each event key is delivered at most once per target: callers derive keys from transitions
// that are recorded in status, so a restarted manager does not announce them again, and the
// notifier drops a key it has already taken.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/outbound"
)

// Event is one announcement about a post.
type Event struct {
	// Key identifies the occurrence; at most one delivery is made per key and target.
	Key        string                               `json:"key"`
	Type       greenlightv1alpha1.NotificationEvent `json:"event"`
	Namespace  string                               `json:"namespace"`
	Post       string                               `json:"post"`
	Department string                               `json:"department,omitempty"`
	Message    string                               `json:"message"`
	Time       time.Time                            `json:"time"`
}

// Target is one notifications entry of a policy.
type Target struct {
	Namespace    string
	Policy       string
	Notification greenlightv1alpha1.Notification
}

func (t Target) id() string { return t.Namespace + "/" + t.Policy + "/" + t.Notification.Name }

// Options tune delivery. New gives a zero field its DefaultOptions value.
type Options struct {
	// QueueSize bounds the events waiting or being delivered, over all targets.
	QueueSize int
	// TargetQueueSize bounds the events waiting for one target, so that one stuck endpoint
	// holds few of QueueSize (this many, and the one being delivered). It is at most QueueSize.
	TargetQueueSize int
	// Timeout bounds one HTTP attempt.
	Timeout time.Duration
	// MaxAttempts bounds the attempts per event.
	MaxAttempts int
	// Backoff is the wait before the second attempt; it doubles up to MaxBackoff, which also
	// caps the wait an endpoint asks for with Retry-After.
	Backoff, MaxBackoff time.Duration
	// AllowHTTP accepts http:// endpoint URLs as well as https://, for local development and
	// tests (the manager flag --allow-http-notifications).
	AllowHTTP bool
}

// DefaultOptions suit chat webhooks.
var DefaultOptions = Options{QueueSize: 1000, TargetQueueSize: 100, Timeout: 10 * time.Second, MaxAttempts: 5,
	Backoff: time.Second, MaxBackoff: time.Minute}

// withDefaults gives zero or inconsistent fields a usable value.
func (o Options) withDefaults() Options {
	d := DefaultOptions
	if o.QueueSize <= 0 {
		o.QueueSize = d.QueueSize
	}
	if o.TargetQueueSize <= 0 {
		o.TargetQueueSize = d.TargetQueueSize
	}
	o.TargetQueueSize = min(o.TargetQueueSize, o.QueueSize)
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = d.MaxAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = d.Backoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.Backoff)
	return o
}

type delivery struct {
	target Target
	event  Event
}

// targetQueue holds one target's events; at most one worker delivers them, in order.
type targetQueue struct {
	waiting []delivery
	// busy is set while a worker runs for the target.
	busy bool
}

// Notifier queues and delivers events. Start it with the manager (it is a Runnable).
type Notifier struct {
	secrets client.Reader
	http    *http.Client
	opts    Options
	clock   clock.PassiveClock
	// sleep waits between attempts; tests replace it to record the waits.
	sleep func(ctx context.Context, d time.Duration) error
	// workers counts the running workers, so that Start returns after them.
	workers sync.WaitGroup

	mu sync.Mutex
	// queues holds the targets that have events waiting or a worker running, by Target.id.
	queues map[string]*targetQueue
	// queued counts the events waiting or being delivered, over all targets.
	queued int
	// ctx is Start's context: nil before Start, and workers run only while it lasts.
	ctx     context.Context
	stopped bool
	taken   *lru.Cache
	// failing holds the last failure of each target that is failing now, by Target.id.
	failing map[string]string
	// onChange is called when a target starts or stops failing, with the policy's namespace
	// and name, so that the policy's status can say so.
	onChange func(namespace, policy string)
}

// New returns a Notifier that reads Secrets with secrets (read at send time, so they need not be
// cached) and calls onChange when a policy's notifications start or stop failing.
func New(secrets client.Reader, opts Options, onChange func(namespace, policy string)) *Notifier {
	opts = opts.withDefaults()
	return &Notifier{
		secrets: secrets,
		http: &http.Client{
			Timeout: opts.Timeout,
			// A redirect could lead anywhere, and the answer would not say where the event went.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		opts:     opts,
		clock:    clock.RealClock{},
		sleep:    outbound.Sleep,
		queues:   map[string]*targetQueue{},
		taken:    lru.New(10000),
		failing:  map[string]string{},
		onChange: onChange,
	}
}

// Send queues an event for a target, without blocking. It reports false when the event was
// dropped: already taken (a duplicate key), the notifier has stopped, or a queue is full
// (recorded as a failure).
func (n *Notifier) Send(t Target, e Event) bool {
	id := t.id()
	key := id + "|" + e.Key
	n.mu.Lock()
	if _, dup := n.taken.Get(key); dup || n.stopped {
		n.mu.Unlock()
		return false
	}
	n.taken.Add(key, struct{}{})
	q := n.queues[id]
	var full string
	switch {
	case n.queued >= n.opts.QueueSize:
		full = fmt.Sprintf("the notification queue is full (%d events); event %s for post %s was dropped",
			n.opts.QueueSize, e.Type, e.Post)
	case q != nil && len(q.waiting) >= n.opts.TargetQueueSize:
		full = fmt.Sprintf("%d events are already waiting for this endpoint; event %s for post %s was dropped",
			len(q.waiting), e.Type, e.Post)
	default:
		if q == nil {
			q = &targetQueue{}
			n.queues[id] = q
		}
		q.waiting = append(q.waiting, delivery{target: t, event: e})
		n.queued++
		n.startWorkerLocked(id, q)
	}
	n.mu.Unlock()
	if full != "" {
		n.setFailure(t, full)
		return false
	}
	return true
}

// Failures returns the current failures of a policy's notifications, by notification name.
func (n *Notifier) Failures(namespace, policy string) map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]string{}
	prefix := namespace + "/" + policy + "/"
	for id, msg := range n.failing {
		if name, ok := strings.CutPrefix(id, prefix); ok && name != "" {
			out[name] = msg
		}
	}
	return out
}

// Start delivers events until ctx ends, then waits for the workers to stop.
func (n *Notifier) Start(ctx context.Context) error {
	n.mu.Lock()
	if n.ctx != nil {
		n.mu.Unlock()
		return errors.New("the notifier was already started")
	}
	n.ctx = ctx
	for id, q := range n.queues {
		n.startWorkerLocked(id, q)
	}
	n.mu.Unlock()

	<-ctx.Done()
	n.mu.Lock()
	n.stopped = true
	n.mu.Unlock()
	n.workers.Wait()
	return nil
}

// NeedLeaderElection makes only the leader deliver, so that replicas do not announce twice.
func (n *Notifier) NeedLeaderElection() bool { return true }

// startWorkerLocked starts a worker for a target that has events and none running, once Start
// has run and until it stops. The caller holds n.mu.
func (n *Notifier) startWorkerLocked(id string, q *targetQueue) {
	if n.ctx == nil || n.stopped || q.busy || len(q.waiting) == 0 {
		return
	}
	q.busy = true
	n.workers.Add(1)
	go n.work(n.ctx, id, q)
}

// work delivers a target's events in order and exits when its queue is empty or ctx ends.
func (n *Notifier) work(ctx context.Context, id string, q *targetQueue) {
	defer n.workers.Done()
	for {
		n.mu.Lock()
		if len(q.waiting) == 0 || ctx.Err() != nil {
			q.busy = false
			if len(q.waiting) == 0 {
				delete(n.queues, id)
			}
			n.mu.Unlock()
			return
		}
		d := q.waiting[0]
		q.waiting[0] = delivery{}
		q.waiting = q.waiting[1:]
		n.mu.Unlock()

		n.handle(ctx, d)

		n.mu.Lock()
		n.queued--
		n.mu.Unlock()
	}
}

// handle delivers one event and records whether its target is failing.
func (n *Notifier) handle(ctx context.Context, d delivery) {
	err := n.deliver(ctx, d)
	if ctx.Err() != nil {
		return // the manager is stopping; that says nothing about the endpoint
	}
	if err != nil {
		// err is built without the URL or any Secret value, so it may be logged and shown.
		logf.FromContext(ctx).Info("Failed to deliver notification", "namespace", d.target.Namespace,
			"policy", d.target.Policy, "notification", d.target.Notification.Name, "event", d.event.Type,
			"post", d.event.Post, "error", err.Error())
		n.setFailure(d.target, err.Error())
		return
	}
	n.setFailure(d.target, "")
}

// permanentError is a failure that retrying cannot fix.
type permanentError struct{ error }

func permanent(format string, args ...any) error {
	return permanentError{fmt.Errorf(format, args...)}
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func (n *Notifier) deliver(ctx context.Context, d delivery) error {
	endpoint, err := n.endpoint(ctx, d.target)
	if err != nil {
		return fmt.Errorf("notification %s of policy %s: %w", d.target.Notification.Name, d.target.Policy, err)
	}
	body, err := payload(d.target.Notification.Format, d.event)
	if err != nil {
		return err
	}
	wait := n.opts.Backoff
	for attempt := 1; ; attempt++ {
		retryAfter, err := n.post(ctx, endpoint, body)
		if err == nil {
			return nil
		}
		if errors.As(err, new(permanentError)) || attempt >= n.opts.MaxAttempts {
			return fmt.Errorf("notification %s of policy %s: %w (after %s)", d.target.Notification.Name, d.target.Policy, err, attempts(attempt))
		}
		pause := wait
		if retryAfter > 0 {
			pause = retryAfter
		}
		if err := n.sleep(ctx, pause); err != nil {
			return err
		}
		wait = min(2*wait, n.opts.MaxBackoff)
	}
}

// endpoint reads the endpoint URL from the target's Secret and checks it. Its errors name the
// Secret and key, never the value, which may be a credential or not a URL at all.
func (n *Notifier) endpoint(ctx context.Context, t Target) (*url.URL, error) {
	ref := t.Notification.URLSecretRef
	secret := &corev1.Secret{}
	if err := n.secrets.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: ref.Name}, secret); err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", t.Namespace, ref.Name, err)
	}
	value := strings.TrimSpace(string(secret.Data[ref.Key]))
	if value == "" {
		return nil, fmt.Errorf("the Secret %s/%s has no key %q holding the endpoint URL", t.Namespace, ref.Name, ref.Key)
	}
	u, problem := checkURL(value, n.opts.AllowHTTP)
	if problem != "" {
		return nil, fmt.Errorf("the value of Secret %s/%s key %s %s", t.Namespace, ref.Name, ref.Key, problem)
	}
	return u, nil
}

// checkURL parses an endpoint URL and says what is wrong with it, without quoting it.
func checkURL(value string, allowHTTP bool) (*url.URL, string) {
	schemes := "https://"
	if allowHTTP {
		schemes = "http:// or https://"
	}
	u, err := url.Parse(value)
	switch {
	case err != nil, u.Scheme != "https" && u.Scheme != "http", u.Opaque != "", u.Hostname() == "":
		return nil, "is not a valid " + schemes + " URL with a host; set it to the endpoint's URL"
	case u.Scheme == "http" && !allowHTTP:
		return nil, "is an http:// URL; notification URLs must be https:// " +
			"(the manager accepts http:// only with --allow-http-notifications)"
	case u.User != nil:
		return nil, "is a URL with a user name or password, which notification URLs must not carry"
	}
	return u, ""
}

// post makes one attempt. It returns how long the endpoint asked to wait (Retry-After, capped at
// MaxBackoff), and a permanentError when a retry cannot help. No error quotes the URL.
func (n *Notifier) post(ctx context.Context, endpoint *url.URL, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return 0, permanent("the endpoint URL cannot be requested")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.http.Do(req)
	if err != nil {
		return 0, errors.New(n.describeTransportError(err)) // worth retrying
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	// The status text is the standard one, not the endpoint's, which could say anything.
	status := strings.TrimSpace(fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return 0, nil
	case code >= 300 && code < 400:
		return 0, permanent("endpoint answered %s; redirects are not followed", status)
	case code == http.StatusTooManyRequests || code >= 500:
		return n.retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("endpoint answered %s", status)
	default:
		return 0, permanent("endpoint answered %s", status)
	}
}

// describeTransportError says why an attempt got no answer, without the URL.
func (n *Notifier) describeTransportError(err error) string {
	if errors.Is(err, context.Canceled) {
		return "the manager stopped before the endpoint answered"
	}
	return outbound.DescribeTransportError(err, "the endpoint", n.opts.Timeout)
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date, capped at MaxBackoff so
// that an endpoint cannot park its worker for longer than the notifier would wait on its own.
func (n *Notifier) retryAfter(header string) time.Duration {
	return outbound.RetryAfter(header, n.clock.Now(), n.opts.MaxBackoff)
}

// payload encodes an event as JSON, or as a Slack incoming-webhook message.
func payload(format greenlightv1alpha1.NotificationFormat, e Event) ([]byte, error) {
	if format == greenlightv1alpha1.NotificationSlack {
		return json.Marshal(map[string]string{
			"text": fmt.Sprintf("*%s* · %s/%s: %s", e.Type, e.Namespace, e.Post, e.Message),
		})
	}
	return json.Marshal(e)
}

func (n *Notifier) setFailure(t Target, message string) {
	n.mu.Lock()
	before, was := n.failing[t.id()]
	if message == "" {
		delete(n.failing, t.id())
	} else {
		n.failing[t.id()] = message
	}
	changed := was != (message != "") || (was && before != message)
	n.mu.Unlock()
	if changed && n.onChange != nil {
		n.onChange(t.Namespace, t.Policy)
	}
}
