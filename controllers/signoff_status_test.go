package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// Without admission webhooks (as this suite runs), whoever creates a SignOff could write its
// status: a forged response time is replaced by the one its creationTimestamp gives.
func TestWithoutWebhooksAForgedResponseTimeIsReplaced(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	g.Expect(as(g, "dana").Create(ctx, newPost("launch").in(ns).obj())).To(Succeed())
	post := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")

	forged := signOff(g, post, "marketing", "alice", func(b *signOffBuilder) *signOffBuilder {
		b.signOff.Status.RespondedAfter = &metav1.Duration{Duration: time.Second}
		return b
	})
	g.Eventually(func(g Gomega) {
		got := &greenlightv1alpha1.SignOff{}
		g.Expect(k.Get(ctx, client.ObjectKeyFromObject(forged), got)).To(Succeed())
		marketing := departmentOf(post, "marketing")
		want := review.RespondedAfter(&marketing, got.CreationTimestamp.Time)
		g.Expect(want).NotTo(BeNil())
		g.Expect(want.Duration).NotTo(Equal(time.Second), "the test needs a forged value that differs from the real one")
		g.Expect(got.Status.RespondedAfter).To(Equal(want))
	}, eventually, poll).Should(Succeed())
}

// Without admission webhooks, a SignOff whose creator wrote Counted=True into its status is still
// judged by the reconcile: the author's own approval never counts, and never becomes a response
// the metrics count.
func TestWithoutWebhooksAForgedCountedConditionIsNotAResponse(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	g.Expect(as(g, "dana").Create(ctx, newPost("launch").in(ns).obj())).To(Succeed())
	post := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")

	forged := signOff(g, post, "marketing", "dana", func(b *signOffBuilder) *signOffBuilder {
		b.signOff.Status.Conditions = []metav1.Condition{{Type: greenlightv1alpha1.ConditionCounted, Status: metav1.ConditionTrue,
			Reason: review.ReasonCounted, Message: "forged", LastTransitionTime: metav1.Now()}}
		b.signOff.Status.RespondedAfter = &metav1.Duration{Duration: time.Second}
		return b
	})
	expectCounted(g, forged, metav1.ConditionFalse, review.ReasonSelfApproval)
	g.Consistently(func(g Gomega) {
		got := getPost(g, ns, "launch")
		g.Expect(got.Status.ObservedSignOffs).NotTo(ContainElement(string(forged.UID)))
		g.Expect(states(got)).To(Equal([]string{"marketing=Pending"}))
	}, time.Second, poll).Should(Succeed())
}
