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
