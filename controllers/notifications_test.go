package controllers

import (
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify/notifytest"
)

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
	chat := notifytest.NewReceiver(t)
	post := scheduledPost(g, policyNotifying(g, ns, chat.URL))

	g.Eventually(chat.Events, eventually, poll).Should(Equal([]string{"ReviewRequested", "Approved"}))
	first := chat.Received()[0]
	g.Expect(first).To(HaveKeyWithValue("post", "launch"))
	g.Expect(first).To(HaveKeyWithValue("department", "marketing"))
	g.Expect(first).To(HaveKeyWithValue("message", HavePrefix("Review requested from marketing (stage brand)")))

	// Reconciles that change nothing announce nothing again.
	update(g, post, func() { post.Annotations["touched"] = "yes" })
	g.Consistently(chat.Events, time.Second, poll).Should(Equal([]string{"ReviewRequested", "Approved"}))
}

func TestRemindersAreSentOnceAcrossAManagerRestart(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	chat := notifytest.NewReceiver(t)
	p := policyNotifying(g, ns, chat.URL)
	p.Spec.Stages[0].ReviewWindow = &metav1.Duration{Duration: time.Hour}
	p.Spec.Deadlines = &greenlightv1alpha1.Deadlines{Reminders: []metav1.Duration{{Duration: 30 * time.Minute}}}
	p.Spec.Notifications[0].Events = []greenlightv1alpha1.NotificationEvent{greenlightv1alpha1.EventReminder}
	g.Expect(k.Create(context.Background(), p)).To(Succeed())
	post := newPost("launch").in(ns).obj()
	g.Expect(as(g, "dana").Create(context.Background(), post)).To(Succeed())
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")

	advance(g, post, 31*time.Minute)
	g.Eventually(chat.Events, eventually, poll).Should(Equal([]string{"Reminder"}))

	// A new manager, with empty caches and no memory, reconciles every post again.
	restartManager(t)
	advance(g, post, time.Minute)
	g.Consistently(chat.Events, 2*time.Second, poll).Should(Equal([]string{"Reminder"}))
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
	chat := notifytest.NewReceiver(t)
	chat.AlwaysAnswer(http.StatusForbidden)
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
