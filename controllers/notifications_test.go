package controllers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// chatReceiver is a chat webhook on 127.0.0.1 that answers with status and records the events.
type chatReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []map[string]any
}

func newChatReceiver(t *testing.T, status int) *chatReceiver {
	r := &chatReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		data, _ := io.ReadAll(req.Body)
		var e map[string]any
		_ = json.Unmarshal(data, &e)
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// types lists the "event" field of what was received, in order.
func (r *chatReceiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e["event"].(string))
	}
	return out
}

func policyNotifying(g Gomega, ns, url string) *greenlightv1alpha1.ApprovalPolicy {
	g.Expect(k.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "chat-webhook", Namespace: ns},
		StringData: map[string]string{"url": url},
	})).To(Succeed())
	p := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	p.Spec.Notifications = []greenlightv1alpha1.Notification{{
		Name: "team-chat", Format: greenlightv1alpha1.NotificationJSON,
		URLSecretRef: greenlightv1alpha1.SecretKeyRef{Name: "chat-webhook", Key: "url"},
		Events:       []greenlightv1alpha1.NotificationEvent{greenlightv1alpha1.EventReviewRequested, greenlightv1alpha1.EventApproved},
	}}
	return p
}

func TestNotificationsReachTheEndpointOnce(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	chat := newChatReceiver(t, http.StatusOK)
	post := scheduledPost(g, policyNotifying(g, ns, chat.URL))

	g.Eventually(chat.types, eventually, poll).Should(Equal([]string{"ReviewRequested", "Approved"}))
	chat.mu.Lock()
	first := chat.events[0]
	chat.mu.Unlock()
	g.Expect(first).To(HaveKeyWithValue("post", "launch"))
	g.Expect(first).To(HaveKeyWithValue("department", "marketing"))
	g.Expect(first).To(HaveKeyWithValue("message", HavePrefix("Review requested from marketing (stage brand)")))

	// Reconciles that change nothing announce nothing again.
	update(g, post, func() { post.Annotations = map[string]string{"touched": "yes"} })
	g.Consistently(chat.types, time.Second, poll).Should(Equal([]string{"ReviewRequested", "Approved"}))
}

func TestRemindersAreSentOnceAcrossAManagerRestart(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	chat := newChatReceiver(t, http.StatusOK)
	p := policyNotifying(g, ns, chat.URL)
	p.Spec.Stages[0].ReviewWindow = &metav1.Duration{Duration: time.Hour}
	p.Spec.Deadlines = &greenlightv1alpha1.Deadlines{Reminders: []metav1.Duration{{Duration: 30 * time.Minute}}}
	p.Spec.Notifications[0].Events = []greenlightv1alpha1.NotificationEvent{greenlightv1alpha1.EventReminder}
	g.Expect(k.Create(context.Background(), p)).To(Succeed())
	post := newPost("launch").in(ns).obj()
	g.Expect(k.Create(context.Background(), post)).To(Succeed())
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")

	advance(g, post, 31*time.Minute)
	g.Eventually(chat.types, eventually, poll).Should(Equal([]string{"Reminder"}))

	// A new manager, with empty caches and no memory, reconciles every post again.
	restartManager(t)
	advance(g, post, time.Minute)
	g.Consistently(chat.types, 2*time.Second, poll).Should(Equal([]string{"Reminder"}))
	var list corev1.EventList
	g.Expect(k.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var reminders int32
	for _, e := range list.Items {
		if e.Reason == EventReminder {
			reminders += max(e.Count, 1)
		}
	}
	g.Expect(reminders).To(Equal(int32(1)))
}

func TestAFailingEndpointShowsOnThePolicyAndReviewGoesOn(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	chat := newChatReceiver(t, http.StatusForbidden)
	p := policyNotifying(g, ns, chat.URL)
	scheduledPost(g, p) // the review completes although every announcement fails

	g.Eventually(func(g Gomega) {
		got := &greenlightv1alpha1.ApprovalPolicy{}
		g.Expect(k.Get(context.Background(), client.ObjectKeyFromObject(p), got)).To(Succeed())
		failing := meta.FindStatusCondition(got.Status.Conditions, greenlightv1alpha1.ConditionNotificationsFailing)
		g.Expect(failing).NotTo(BeNil())
		g.Expect(failing.Message).To(ContainSubstring("team-chat: notification team-chat of policy acme: endpoint answered 403 Forbidden"))
	}, eventually, poll).Should(Succeed())
	expectEvents(g, ns, "acme", HavePrefix("NotificationsFailing: team-chat: notification team-chat of policy acme"))
}
