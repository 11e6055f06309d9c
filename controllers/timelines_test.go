package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Timeline scenarios against the API server, moving the reconcilers' fake clock.

func TestNotifyModeKeepsThePostWaiting(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	p := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	p.Spec.Stages[0].ReviewWindow = &metav1.Duration{Duration: time.Hour}
	p.Spec.Deadlines = &greenlightv1alpha1.Deadlines{OnMissed: greenlightv1alpha1.MissedDeadlineNotify}
	g.Expect(k.Create(ctx, p)).To(Succeed())
	post := newPost("launch").in(ns).obj()
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")

	advance(g, post, 61*time.Minute)
	g.Eventually(func(g Gomega) *metav1.Condition {
		return condition(getPost(g, ns, "launch"), greenlightv1alpha1.ConditionDeadlineExceeded)
	}, eventually, poll).ShouldNot(BeNil())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
	g.Expect(condition(got, greenlightv1alpha1.ConditionDeadlineExceeded).Message).To(Equal(
		"marketing missed their deadline; the post keeps waiting (onMissed: Notify)."))
	expectEvents(g, ns, "launch", HavePrefix("DeadlineExceeded: marketing missed their deadline"))

	// A late approval still counts.
	signOff(g, got, "marketing", "alice")
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "marketing=Approved")
	g.Expect(condition(got, greenlightv1alpha1.ConditionDeadlineExceeded)).To(BeNil())
}

func TestAnApprovalAfterThePublishingSlotExpiresThePost(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	p := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	p.Spec.Publishing.MaxLateness = &metav1.Duration{Duration: 30 * time.Minute}
	g.Expect(k.Create(ctx, p)).To(Succeed())
	post := newPost("launch").in(ns).obj()
	publishAt := metav1.NewTime(fakeClock.Now().Add(time.Hour).Truncate(time.Second))
	post.Spec.PublishAt = &publishAt
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")

	// Marketing approves two hours later: past publishAt plus maxLateness.
	advance(g, post, 2*time.Hour)
	signOff(g, got, "marketing", "alice")
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostExpired, "marketing=Approved")
	g.Expect(condition(got, greenlightv1alpha1.ConditionStalled).Reason).To(Equal(ReasonMissedPublishSlot))
	expectEvents(g, ns, "launch", HavePrefix("Expired: MissedPublishSlot: Approved, but not published by"))
}

func TestWindowsHoldApprovedPosts(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	now := fakeClock.Now().UTC()
	// A deny window that opened an hour ago and lasts three hours.
	opened := now.Add(-time.Hour)
	p := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	p.Spec.Windows = []greenlightv1alpha1.Window{{
		Kind: greenlightv1alpha1.WindowDeny, Duration: metav1.Duration{Duration: 3 * time.Hour}, TimeZone: "UTC",
		Schedule: opened.Format("4 15 2 1 *"), // minute hour day month, every year
	}}
	post := scheduledPost(g, p)
	g.Eventually(func(g Gomega) *metav1.Time {
		return getPost(g, ns, "launch").Status.NextWindow
	}, eventually, poll).ShouldNot(BeNil())
	got := getPost(g, ns, "launch")
	g.Expect(got.Status.NextWindow.Time).To(BeTemporally("==", opened.Add(3*time.Hour).Truncate(time.Minute)))
	// Due at its publishAt, far ahead, when no window holds it; the window shows in nextWindow.
	g.Expect(condition(got, greenlightv1alpha1.ConditionReady).Message).To(Equal("Approved; publishes at 2099-01-01T09:00:00Z."))

	// Once the window has closed, nothing holds the post.
	advance(g, post, 2*time.Hour+time.Minute)
	g.Eventually(func(g Gomega) *metav1.Time {
		return getPost(g, ns, "launch").Status.NextWindow
	}, eventually, poll).Should(BeNil())
	expectPost(g, ns, "launch", greenlightv1alpha1.PostScheduled, "marketing=Approved")

	// An Allow window that opens tomorrow holds it again until then.
	allowAt := fakeClock.Now().UTC().Add(24 * time.Hour)
	update(g, p, func() {
		p.Spec.Windows = []greenlightv1alpha1.Window{{
			Kind: greenlightv1alpha1.WindowAllow, Duration: metav1.Duration{Duration: time.Hour}, TimeZone: "UTC",
			Schedule: allowAt.Format("4 15 2 1 *"),
		}}
	})
	g.Eventually(func(g Gomega) *metav1.Time {
		return getPost(g, ns, "launch").Status.NextWindow
	}, eventually, poll).Should(HaveField("Time", BeTemporally("==", allowAt.Truncate(time.Minute))))
}
