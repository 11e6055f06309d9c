package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/metrics"
	"github.com/greenlight-operator/greenlight/internal/publish"
)

func TestInsightsJobsRunAtEachOffsetAndNeverChangeThePhase(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	policy := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	mastodon := policy.Spec.Publishing.Channels["mastodon"]
	mastodon.Insights = &greenlightv1alpha1.ChannelInsights{After: []metav1.Duration{{Duration: 24 * time.Hour}, {Duration: time.Hour}}}
	policy.Spec.Publishing.Channels["mastodon"] = mastodon
	g.Expect(k.Create(ctx, policy)).To(Succeed())
	post := newPost("launch").in(ns).now().obj()
	post.Spec.Channels = []greenlightv1alpha1.Channel{{Name: "mastodon"}, {Name: "linkedin"}}
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	signOff(g, expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending"), "marketing", "alice")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostPublishing, "marketing=Approved")
	jobs := jobsOf(g, ns, 2)
	finishJobAt(g, jobs["mastodon"], true, `{"id": "109", "url": "https://social.example/@acme/109"}`, fakeClock.Now())
	finishJobAt(g, jobs["linkedin"], true, `{"id": "li-1", "url": "https://linkedin.example/posts/1"}`, fakeClock.Now())
	published := expectPost(g, ns, "launch", greenlightv1alpha1.PostPublished, "marketing=Approved")

	// Nothing is asked before the first offset, and linkedin, without insights, never is.
	g.Consistently(func(g Gomega) { jobsOf(g, ns, 2) }, time.Second, poll).Should(Succeed())
	g.Expect(channelOf(published, "linkedin").Insights).To(BeNil())

	// At 1h: one insights Job, recorded and pinned, with the remote post's id and URL.
	advance(g, published, time.Hour)
	insightsJob := func(offset time.Duration) *batchv1.Job {
		job := &batchv1.Job{}
		name := publish.InsightsJobName("launch", "mastodon", published.Status.Revision, offset)
		g.Eventually(func() error { return k.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, job) }, eventually, poll).Should(Succeed())
		return job
	}
	first := insightsJob(time.Hour)
	g.Expect(metav1.IsControlledBy(first, published)).To(BeTrue())
	g.Expect(first.Labels).To(HaveKeyWithValue(publish.LabelInsights, "1h0m0s"))
	env := envOf(first.Spec.Template.Spec.Containers[0])
	g.Expect(env).To(HaveKeyWithValue(publish.EnvMode, publish.ModeInsights))
	g.Expect(env).To(HaveKeyWithValue(publish.EnvRemoteID, "109"))
	g.Expect(env).To(HaveKeyWithValue(publish.EnvRemoteURL, "https://social.example/@acme/109"))
	g.Expect(env).To(HaveKeyWithValue(publish.EnvIdempotencyKey, publish.IdempotencyKey(published.UID, published.Status.Revision, "mastodon")))
	g.Eventually(func(g Gomega) {
		insights := channelOf(getPost(g, ns, "launch"), "mastodon").Insights
		g.Expect(insights).NotTo(BeNil())
		g.Expect(insights.Job).To(Equal(first.Name))
		g.Expect(insights.JobUID).To(Equal(string(first.UID)))
		g.Expect(insights.Jobs).To(Equal(int32(1)))
	}, eventually, poll).Should(Succeed())

	// A restarted manager makes no second Job for the offset.
	restartManager(t)
	g.Consistently(func(g Gomega) { jobsOf(g, ns, 3) }, time.Second, poll).Should(Succeed())

	// Its figures land on the channel; the post stays Published.
	finishJobAt(g, first, true, `{"likes": 5, "shares": 2, "replies": 1}`, fakeClock.Now())
	g.Eventually(func(g Gomega) {
		got := getPost(g, ns, "launch")
		ch := channelOf(got, "mastodon")
		g.Expect(ch.Engagement).NotTo(BeNil())
		g.Expect(*ch.Engagement).To(HaveField("Likes", int64(5)))
		g.Expect(*ch.Engagement).To(And(HaveField("Shares", int64(2)), HaveField("Replies", int64(1)), HaveField("Impressions", BeNil())))
		g.Expect(ch.Insights.LastOffset).To(Equal(&metav1.Duration{Duration: time.Hour}))
		g.Expect(ch.Insights.Job).To(BeEmpty())
		g.Expect(got.Status.Phase).To(Equal(greenlightv1alpha1.PostPublished))
	}, eventually, poll).Should(Succeed())

	// At 24h a second Job; it fails: the figures of 1h stay, a message says why, and the post
	// is still Published with Published=True.
	advance(g, published, 23*time.Hour)
	second := insightsJob(24 * time.Hour)
	finishJobAt(g, second, false, "mastodon answered 503 Service Unavailable", fakeClock.Now())
	g.Eventually(func(g Gomega) {
		got := getPost(g, ns, "launch")
		ch := channelOf(got, "mastodon")
		g.Expect(ch.Insights.Message).To(ContainSubstring("mastodon answered 503"))
		g.Expect(ch.Insights.LastOffset).To(Equal(&metav1.Duration{Duration: 24 * time.Hour}))
		g.Expect(ch.Engagement.Likes).To(Equal(int64(5)))
		g.Expect(got.Status.Phase).To(Equal(greenlightv1alpha1.PostPublished))
		g.Expect(condition(got, greenlightv1alpha1.ConditionPublished).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(condition(got, greenlightv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	}, eventually, poll).Should(Succeed())

	// Every offset ran once: nothing more, however long it waits.
	advance(g, published, 1000*time.Hour)
	g.Consistently(func(g Gomega) { jobsOf(g, ns, 4) }, time.Second, poll).Should(Succeed())
}

func TestAnInsightsJobDeletedBeforeItFinishedIsNotMadeAgain(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	policy := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	for name, ch := range policy.Spec.Publishing.Channels {
		ch.Insights = &greenlightv1alpha1.ChannelInsights{After: []metav1.Duration{{Duration: time.Hour}}}
		policy.Spec.Publishing.Channels[name] = ch
	}
	g.Expect(k.Create(ctx, policy)).To(Succeed())
	post := newPost("launch").in(ns).now().obj()
	post.Spec.Channels = []greenlightv1alpha1.Channel{{Name: "mastodon"}}
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	signOff(g, expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending"), "marketing", "alice")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostPublishing, "marketing=Approved")
	finishJobAt(g, jobsOf(g, ns, 1)["mastodon"], true, `{"id": "109", "url": "https://social.example/@acme/109"}`, fakeClock.Now())
	published := expectPost(g, ns, "launch", greenlightv1alpha1.PostPublished, "marketing=Approved")

	advance(g, published, time.Hour)
	name := publish.InsightsJobName("launch", "mastodon", published.Status.Revision, time.Hour)
	g.Eventually(func(g Gomega) {
		g.Expect(channelOf(getPost(g, ns, "launch"), "mastodon").Insights).To(HaveField("JobUID", Not(BeEmpty())))
	}, eventually, poll).Should(Succeed())
	g.Expect(k.Delete(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
		client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())

	g.Eventually(func(g Gomega) {
		ch := channelOf(getPost(g, ns, "launch"), "mastodon")
		g.Expect(ch.Insights.Message).To(ContainSubstring("was deleted before its figures were read"))
		g.Expect(ch.Insights.Job).To(BeEmpty())
	}, eventually, poll).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &batchv1.Job{})).NotTo(Succeed())
		g.Expect(getPost(g, ns, "launch").Status.Phase).To(Equal(greenlightv1alpha1.PostPublished))
	}, time.Second, poll).Should(Succeed())
}

// The engagement an insights Job reported is what the manager's metrics endpoint shows, summed
// per namespace, campaign, channel and kind.
func TestEngagementIsScrapedFromTheManager(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	// This test's manager alone reconciles, with its own metrics endpoint (as in
	// TestMetricsCountEachEventOnceAcrossRestarts).
	stopManager()
	original := ctrlmetrics.Registry
	t.Cleanup(func() {
		ctrlmetrics.Registry = original
		if err := startManager(); err != nil {
			t.Error(err)
		}
	})
	url, stop := metricsManager(t)
	defer stop()

	ns := newNamespace(t)
	policy := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	mastodon := policy.Spec.Publishing.Channels["mastodon"]
	mastodon.Insights = &greenlightv1alpha1.ChannelInsights{After: []metav1.Duration{{Duration: time.Hour}}}
	policy.Spec.Publishing.Channels["mastodon"] = mastodon
	g.Expect(k.Create(ctx, policy)).To(Succeed())
	post := newPost("launch").in(ns).now().obj()
	post.Spec.Campaign = "spring-launch"
	post.Spec.Channels = []greenlightv1alpha1.Channel{{Name: "mastodon"}}
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	signOff(g, expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending"), "marketing", "alice")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostPublishing, "marketing=Approved")
	finishJobAt(g, jobsOf(g, ns, 1)["mastodon"], true, `{"id": "109", "url": "https://social.example/@acme/109"}`, fakeClock.Now())
	published := expectPost(g, ns, "launch", greenlightv1alpha1.PostPublished, "marketing=Approved")

	advance(g, published, time.Hour)
	var job batchv1.Job
	name := publish.InsightsJobName("launch", "mastodon", published.Status.Revision, time.Hour)
	g.Eventually(func() error { return k.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &job) }, eventually, poll).Should(Succeed())
	finishJobAt(g, &job, true, `{"likes": 5, "shares": 2, "replies": 1, "impressions": 80}`, fakeClock.Now())

	series := map[string]string{"namespace": ns, "campaign": "spring-launch", "channel": "mastodon"}
	with := func(kind string) map[string]string {
		labels := map[string]string{"kind": kind}
		for k, v := range series {
			labels[k] = v
		}
		return labels
	}
	g.Eventually(func(g Gomega) {
		families := scrape(g, url)
		g.Expect(count(families, metrics.Engagement, with(metrics.KindLikes))).To(Equal(5.0))
		g.Expect(count(families, metrics.Engagement, with(metrics.KindShares))).To(Equal(2.0))
		g.Expect(count(families, metrics.Engagement, with(metrics.KindReplies))).To(Equal(1.0))
		g.Expect(count(families, metrics.Engagement, with(metrics.KindImpressions))).To(Equal(80.0))
	}, eventually, poll).Should(Succeed())
}

// Adding insights to a policy long after its posts published asks nothing for the offsets that
// have passed: only later offsets run, so the change never starts a Job for every old post.
func TestInsightsAddedLaterSkipTheOffsetsThatHavePassed(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	post := newPost("launch").in(ns).now().obj()
	post.Spec.Channels = []greenlightv1alpha1.Channel{{Name: "mastodon"}}
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	signOff(g, expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending"), "marketing", "alice")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostPublishing, "marketing=Approved")
	finishJobAt(g, jobsOf(g, ns, 1)["mastodon"], true, `{"id": "109", "url": "https://social.example/@acme/109"}`, fakeClock.Now())
	published := expectPost(g, ns, "launch", greenlightv1alpha1.PostPublished, "marketing=Approved")

	// Two days later the platform team asks for insights at 1h, 24h and 168h.
	fakeClock.Step(48 * time.Hour)
	policy := &greenlightv1alpha1.ApprovalPolicy{}
	update(g, policyObject(ns, "acme", policy), func() {
		mastodon := policy.Spec.Publishing.Channels["mastodon"]
		mastodon.Insights = &greenlightv1alpha1.ChannelInsights{After: []metav1.Duration{
			{Duration: time.Hour}, {Duration: 24 * time.Hour}, {Duration: 168 * time.Hour}}}
		policy.Spec.Publishing.Channels["mastodon"] = mastodon
	})
	g.Eventually(func(g Gomega) {
		insights := channelOf(getPost(g, ns, "launch"), "mastodon").Insights
		g.Expect(insights).NotTo(BeNil())
		g.Expect(insights.LastOffset).To(Equal(&metav1.Duration{Duration: 24 * time.Hour}))
		g.Expect(insights.Message).To(ContainSubstring("were not asked for"))
	}, eventually, poll).Should(Succeed())
	g.Consistently(func(g Gomega) { jobsOf(g, ns, 1) }, time.Second, poll).Should(Succeed())

	// The week's offset still runs.
	advance(g, published, 120*time.Hour)
	name := publish.InsightsJobName("launch", "mastodon", published.Status.Revision, 168*time.Hour)
	g.Eventually(func() error { return k.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &batchv1.Job{}) }, eventually, poll).
		Should(Succeed())
	jobsOf(g, ns, 2)
}

// policyObject points policy at namespace/name, for update.
func policyObject(namespace, name string, policy *greenlightv1alpha1.ApprovalPolicy) *greenlightv1alpha1.ApprovalPolicy {
	policy.Namespace, policy.Name = namespace, name
	return policy
}
