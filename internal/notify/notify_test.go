package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify/notifytest"
)

// setUp returns a notifier whose Secret "chat" holds url, the target using it in format, and the
// waits the notifier asked for.
func setUp(t *testing.T, url string, format greenlightv1alpha1.NotificationFormat, opts Options) (*Notifier, Target, *[]time.Duration) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	secrets := fake.NewClientBuilder().WithScheme(scheme).WithObjects(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "chat", Namespace: "brand"},
		Data:       map[string][]byte{"url": []byte(url)},
	}).Build()
	n := New(secrets, opts, nil)
	var waits []time.Duration
	n.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	target := Target{Namespace: "brand", Policy: "acme", Notification: greenlightv1alpha1.Notification{
		Name: "team-chat", Format: format, URLSecretRef: greenlightv1alpha1.SecretKeyRef{Name: "chat", Key: "url"},
	}}
	return n, target, &waits
}

var event = Event{
	Key: "uid-1/ReviewRequested/legal/sha256:abc", Type: greenlightv1alpha1.EventReviewRequested,
	Namespace: "brand", Post: "launch", Department: "legal",
	Message: "Review requested from legal (stage compliance).", Time: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
}

// deliverQueued runs the worker until the queue is empty.
func deliverQueued(_ *testing.T, n *Notifier) {
	for len(n.queue) > 0 {
		n.handle(context.Background(), <-n.queue)
	}
}

func TestJSONPayload(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t)
	n, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, DefaultOptions)
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
	n, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationSlack, DefaultOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Received()).To(Equal([]map[string]any{{
		"text": "*ReviewRequested* · brand/launch: Review requested from legal (stage compliance).",
	}}))
}

func TestRetriesServerErrorsWithBackoffAndHonoursRetryAfter(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t, http.StatusInternalServerError, http.StatusBadGateway, http.StatusTooManyRequests)
	r.Headers["Retry-After"] = "7"
	n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, DefaultOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Received()).To(HaveLen(4), "three failures, then delivered")
	// Every answer carries Retry-After: 7 here, and the notifier honours it over its backoff.
	g.Expect(*waits).To(Equal([]time.Duration{7 * time.Second, 7 * time.Second, 7 * time.Second}))
	g.Expect(n.Failures("brand", "acme")).To(BeEmpty())
}

func TestBackoffDoublesWithoutRetryAfter(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t, 500, 500, 500, 500, 500)
	n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, DefaultOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Received()).To(HaveLen(5), "MaxAttempts")
	g.Expect(*waits).To(Equal([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}))
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("endpoint answered 500 Internal Server Error (after 5 attempts)")))
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t, http.StatusBadRequest)
	n, target, waits := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, DefaultOptions)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(r.Received()).To(HaveLen(1))
	g.Expect(*waits).To(BeEmpty())
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("400 Bad Request")))
}

func TestEachKeyIsDeliveredOnce(t *testing.T) {
	g := NewWithT(t)
	r := notifytest.NewReceiver(t)
	n, target, _ := setUp(t, r.URL, greenlightv1alpha1.NotificationJSON, DefaultOptions)
	g.Expect(n.Send(target, event)).To(BeTrue())
	g.Expect(n.Send(target, event)).To(BeFalse(), "a duplicate key is dropped")
	deliverQueued(t, n)
	g.Expect(r.Received()).To(HaveLen(1))
}

func TestAMissingSecretIsAFailureNotACrash(t *testing.T) {
	g := NewWithT(t)
	n, target, _ := setUp(t, "http://127.0.0.1:1", greenlightv1alpha1.NotificationJSON, DefaultOptions)
	target.Notification.URLSecretRef.Name = "missing"
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("reading Secret brand/missing")))
}

func TestAFullQueueNeverBlocks(t *testing.T) {
	g := NewWithT(t)
	opts := DefaultOptions
	opts.QueueSize = 1
	n, target, _ := setUp(t, "http://127.0.0.1:1", greenlightv1alpha1.NotificationJSON, opts)
	g.Expect(n.Send(target, event)).To(BeTrue())
	second := event
	second.Key = "uid-1/Approved"
	g.Expect(n.Send(target, second)).To(BeFalse())
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("the notification queue is full")))
}

func TestTimeoutsAreRetried(t *testing.T) {
	g := NewWithT(t)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(200 * time.Millisecond)
	}))
	t.Cleanup(slow.Close)
	opts := DefaultOptions
	opts.Timeout, opts.MaxAttempts = 50*time.Millisecond, 2
	n, target, waits := setUp(t, slow.URL, greenlightv1alpha1.NotificationJSON, opts)
	n.Send(target, event)
	deliverQueued(t, n)
	g.Expect(*waits).To(HaveLen(1), "the timed-out attempt was retried once")
	g.Expect(n.Failures("brand", "acme")).To(HaveKeyWithValue("team-chat", ContainSubstring("after 2 attempts")))
}
