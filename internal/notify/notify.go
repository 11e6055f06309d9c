// Package notify delivers Greenlight's review events to chat and other HTTP endpoints, as an
// ApprovalPolicy's spec.notifications asks.
//
// Delivery never holds up a reconcile: Send only queues (a bounded queue; when it is full the
// event is dropped and counted as a failure). One worker posts each event as JSON or as a
// Slack-compatible message to the URL in the referenced Secret, read at send time, with a
// timeout, retrying with exponential backoff on 5xx, 429 (honouring Retry-After) and network
// errors. Each event key is delivered at most once: callers derive keys from transitions that
// are recorded in status, so a restarted manager does not announce them again, and the notifier
// drops a key it has already taken.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
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

// Options tune delivery.
type Options struct {
	// QueueSize bounds the events waiting to be sent.
	QueueSize int
	// Timeout bounds one HTTP attempt.
	Timeout time.Duration
	// MaxAttempts bounds the attempts per event.
	MaxAttempts int
	// Backoff is the wait before the second attempt; it doubles up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
}

// DefaultOptions suit chat webhooks.
var DefaultOptions = Options{QueueSize: 1000, Timeout: 10 * time.Second, MaxAttempts: 5, Backoff: time.Second, MaxBackoff: time.Minute}

type delivery struct {
	target Target
	event  Event
}

// Notifier queues and delivers events. Start it with the manager (it is a Runnable).
type Notifier struct {
	secrets client.Reader
	http    *http.Client
	opts    Options
	queue   chan delivery
	// sleep waits between attempts; tests replace it to record the waits.
	sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	taken *lru.Cache
	// failing holds the last failure of each target that is failing now, by Target.id.
	failing map[string]string
	// onChange is called when a target starts or stops failing, with the policy's namespace
	// and name, so that the policy's status can say so.
	onChange func(namespace, policy string)
}

// New returns a Notifier that reads Secrets with secrets (read at send time, so they need not be
// cached) and calls onChange when a policy's notifications start or stop failing.
func New(secrets client.Reader, opts Options, onChange func(namespace, policy string)) *Notifier {
	return &Notifier{
		secrets:  secrets,
		http:     &http.Client{Timeout: opts.Timeout},
		opts:     opts,
		queue:    make(chan delivery, opts.QueueSize),
		sleep:    sleepContext,
		taken:    lru.New(10000),
		failing:  map[string]string{},
		onChange: onChange,
	}
}

// Send queues an event for a target, without blocking. It reports false when the event was
// dropped: already taken (a duplicate key) or the queue is full (recorded as a failure).
func (n *Notifier) Send(t Target, e Event) bool {
	key := t.id() + "|" + e.Key
	n.mu.Lock()
	if _, dup := n.taken.Get(key); dup {
		n.mu.Unlock()
		return false
	}
	n.taken.Add(key, struct{}{})
	n.mu.Unlock()
	select {
	case n.queue <- delivery{target: t, event: e}:
		return true
	default:
		n.setFailure(t, fmt.Sprintf("the notification queue is full (%d events); event %s for post %s was dropped",
			n.opts.QueueSize, e.Type, e.Post))
		return false
	}
}

// Failures returns the current failures of a policy's notifications, by notification name.
func (n *Notifier) Failures(namespace, policy string) map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]string{}
	prefix := namespace + "/" + policy + "/"
	for id, msg := range n.failing {
		if len(id) > len(prefix) && id[:len(prefix)] == prefix {
			out[id[len(prefix):]] = msg
		}
	}
	return out
}

// Start delivers queued events until ctx ends.
func (n *Notifier) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-n.queue:
			n.handle(ctx, d)
		}
	}
}

// handle delivers one event and records whether its target is failing.
func (n *Notifier) handle(ctx context.Context, d delivery) {
	if err := n.deliver(ctx, d); err != nil {
		logf.FromContext(ctx).Info("Failed to deliver notification", "policy", d.target.Policy,
			"notification", d.target.Notification.Name, "event", d.event.Type, "post", d.event.Post, "error", err.Error())
		n.setFailure(d.target, err.Error())
		return
	}
	n.setFailure(d.target, "")
}

// NeedLeaderElection makes only the leader deliver, so that replicas do not announce twice.
func (n *Notifier) NeedLeaderElection() bool { return true }

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
	url, err := n.url(ctx, d.target)
	if err != nil {
		return err
	}
	body, err := payload(d.target.Notification.Format, d.event)
	if err != nil {
		return err
	}
	wait := n.opts.Backoff
	for attempt := 1; ; attempt++ {
		retryAfter, err := n.post(ctx, url, body)
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

// url reads the endpoint from the target's Secret.
func (n *Notifier) url(ctx context.Context, t Target) (string, error) {
	ref := t.Notification.URLSecretRef
	secret := &corev1.Secret{}
	if err := n.secrets.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: ref.Name}, secret); err != nil {
		return "", fmt.Errorf("notification %s of policy %s: reading Secret %s/%s: %w", t.Notification.Name, t.Policy, t.Namespace, ref.Name, err)
	}
	url := string(secret.Data[ref.Key])
	if url == "" {
		return "", fmt.Errorf("notification %s of policy %s: Secret %s/%s has no key %q holding the endpoint URL",
			t.Notification.Name, t.Policy, t.Namespace, ref.Name, ref.Key)
	}
	return url, nil
}

// post makes one attempt. It returns how long the endpoint asked to wait (Retry-After), and a
// permanentError when a retry cannot help.
func (n *Notifier) post(ctx context.Context, url string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, permanent("invalid endpoint URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.http.Do(req)
	if err != nil {
		return 0, err // timeouts and network errors are worth retrying
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("endpoint answered %s", resp.Status)
	default:
		return 0, permanent("endpoint answered %s", resp.Status)
	}
}

// retryAfter reads a Retry-After header given in seconds (the form rate limiters use).
func retryAfter(header string) time.Duration {
	if seconds, err := strconv.Atoi(header); err == nil && seconds > 0 {
		return time.Duration(seconds) * time.Second
	}
	return 0
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

func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
