package controllers

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/publish"
	"github.com/greenlight-operator/greenlight/internal/publish/jobplay"
)

// publishingPost creates, in a new namespace, a policy publishing to mastodon and linkedin and a
// post for both (with a shorter text for mastodon) due at once, approves it as alice, and waits
// until its Jobs exist.
func publishingPost(t *testing.T, g Gomega) (*greenlightv1alpha1.ContentPost, map[string]*batchv1.Job) {
	ns := newNamespace(t)
	g.Expect(k.Create(context.Background(), newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	post := newPost("launch").in(ns).now().obj()
	post.Spec.Channels = []greenlightv1alpha1.Channel{{Name: "mastodon", Body: "Spring is here."}, {Name: "linkedin"}}
	g.Expect(as(g, "dana").Create(context.Background(), post)).To(Succeed())
	signOff(g, expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending"), "marketing", "alice")
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostPublishing, "marketing=Approved")
	return got, jobsOf(g, ns, 2)
}

// jobsOf waits until namespace holds exactly n Jobs and returns them by channel.
func jobsOf(g Gomega, namespace string, n int) map[string]*batchv1.Job {
	jobs := map[string]*batchv1.Job{}
	g.Eventually(func(g Gomega) {
		var list batchv1.JobList
		g.Expect(k.List(context.Background(), &list, client.InNamespace(namespace))).To(Succeed())
		g.Expect(list.Items).To(HaveLen(n))
		for i := range list.Items {
			jobs[list.Items[i].Labels[greenlightv1alpha1.LabelChannel]] = &list.Items[i]
		}
	}, eventually, poll).Should(Succeed())
	return jobs
}

// finishJob plays the Job controller and the kubelet for one run of job: a pod it owns that
// terminated with message, then the Job's status with the conditions Kubernetes 1.36 writes
// (SuccessCriteriaMet before Complete, FailureTarget before Failed, start and completion times).
func finishJob(g Gomega, job *batchv1.Job, succeeded bool, message string) {
	finishJobAt(g, job, succeeded, message, time.Now())
}

// finishJobAt is finishJob with the Job's completion at finished: tests of what follows a
// channel's publishedAt on the reconcilers' fake clock pass fakeClock.Now().
func finishJobAt(g Gomega, job *batchv1.Job, succeeded bool, message string, finished time.Time) {
	ctx := context.Background()
	pod := jobplay.Pod(job)
	g.Expect(k.Create(ctx, pod)).To(Succeed())
	pod.Status = jobplay.TerminatedStatus(pod, succeeded, message)
	g.Expect(k.Status().Update(ctx, pod)).To(Succeed())

	g.Expect(k.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
	jobplay.Finish(job, succeeded, finished)
	g.Expect(k.Status().Update(ctx, job)).To(Succeed())
}

func envOf(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func TestAnApprovedPostIsPublishedOnceThroughOneJobPerChannel(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	post, jobs := publishingPost(t, g)
	g.Expect(post.Status.Channels).To(HaveLen(2))

	// Each Job: Greenlight's name, labels, owner, mount and env, the template kept, no content in args.
	configMap := &corev1.ConfigMap{}
	g.Expect(k.Get(ctx, client.ObjectKey{Namespace: post.Namespace, Name: publish.ConfigMapName(post.Name, post.Status.Revision)}, configMap)).
		To(Succeed())
	g.Expect(*configMap.Immutable).To(BeTrue())
	g.Expect(metav1.IsControlledBy(configMap, post)).To(BeTrue())
	g.Expect(configMap.Data["mastodon.json"]).To(ContainSubstring(`"body":"Spring is here."`), "the channel's variant")
	g.Expect(configMap.Data["linkedin.json"]).To(ContainSubstring(`"body":"Our spring line is here"`))
	for channel, job := range jobs {
		status := post.Status.Channels[slices.IndexFunc(post.Status.Channels, func(c greenlightv1alpha1.ChannelStatus) bool { return c.Name == channel })]
		g.Expect(job.Name).To(Equal(status.Job))
		g.Expect(job.Name).To(Equal(publish.JobName(post.Name, channel, post.Status.Revision, 1)))
		g.Expect(job.Labels).To(HaveKeyWithValue(greenlightv1alpha1.LabelPost, post.Name))
		g.Expect(job.Labels).To(HaveKeyWithValue(greenlightv1alpha1.LabelRevision, strings.TrimPrefix(post.Status.Revision, "sha256:")[:16]))
		g.Expect(metav1.IsControlledBy(job, post)).To(BeTrue())
		container := job.Spec.Template.Spec.Containers[0]
		g.Expect(container.Image).To(Equal("greenlight:dev"), "the template's own fields are kept")
		g.Expect(envOf(container)).To(HaveKeyWithValue("GREENLIGHT_POST_FILE", "/var/run/greenlight/post.json"))
		g.Expect(envOf(container)).To(HaveKeyWithValue("GREENLIGHT_CHANNEL", channel))
		g.Expect(envOf(container)).To(HaveKeyWithValue("GREENLIGHT_IDEMPOTENCY_KEY", publish.IdempotencyKey(post.UID, post.Status.Revision, channel)))
		g.Expect(container.VolumeMounts).To(ContainElement(HaveField("MountPath", "/var/run/greenlight")))
		g.Expect(strings.Join(append(container.Command, container.Args...), " ")).NotTo(ContainSubstring("spring"))
	}

	// A manager restarted from a fresh cache after the Jobs were created creates nothing new.
	restartManager(t)
	g.Consistently(func(g Gomega) { jobsOf(g, post.Namespace, 2) }, time.Second, poll).Should(Succeed())

	finishJob(g, jobs["mastodon"], true, `{"id": "109", "url": "https://social.example/@acme/109"}`)
	finishJob(g, jobs["linkedin"], true, `{"id": "li-1", "url": "https://linkedin.example/posts/1"}`)
	got := expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostPublished, "marketing=Approved")
	g.Expect(condition(got, greenlightv1alpha1.ConditionPublished).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(got.Status.Channels).To(ConsistOf(
		And(HaveField("Name", "linkedin"), HaveField("State", greenlightv1alpha1.PublishSucceeded), HaveField("URL", "https://linkedin.example/posts/1")),
		And(HaveField("Name", "mastodon"), HaveField("ID", "109"), HaveField("URL", "https://social.example/@acme/109"),
			HaveField("PublishedAt", Not(BeNil())))))
	expectEvents(g, post.Namespace, "launch",
		HavePrefix("Approved: Every required department approved revision"), // straight from review to publishing
		HavePrefix("Published: Published to linkedin (https://linkedin.example/posts/1), mastodon"))

	// After publishing, an edit is neither reviewed nor published: the post says it drifted.
	update(g, got, func() { got.Spec.Body = "Our spring line is here, now cheaper" })
	g.Eventually(func(g Gomega) {
		drifted := condition(getPost(g, post.Namespace, "launch"), greenlightv1alpha1.ConditionDrifted)
		g.Expect(drifted).NotTo(BeNil())
		g.Expect(drifted.Message).To(ContainSubstring("nothing is reviewed or published again"))
	}, eventually, poll).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(getPost(g, post.Namespace, "launch").Status.Phase).To(Equal(greenlightv1alpha1.PostPublished))
		jobsOf(g, post.Namespace, 2)
	}, time.Second, poll).Should(Succeed())
}

func TestAFailedChannelIsRetriedWithTheSameIdempotencyKey(t *testing.T) {
	g := NewWithT(t)
	post, jobs := publishingPost(t, g)
	finishJob(g, jobs["linkedin"], true, `{"id": "li-1", "url": "https://linkedin.example/posts/1"}`)
	finishJob(g, jobs["mastodon"], false, "mastodon answered 401 Unauthorized: The access token is invalid")

	got := expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostFailed, "marketing=Approved")
	failed := got.Status.Channels[slices.IndexFunc(got.Status.Channels, func(c greenlightv1alpha1.ChannelStatus) bool { return c.Name == "mastodon" })]
	g.Expect(failed.State).To(Equal(greenlightv1alpha1.PublishFailed))
	g.Expect(failed.Message).To(And(ContainSubstring("BackoffLimitExceeded"), ContainSubstring("The access token is invalid")))
	g.Expect(condition(got, greenlightv1alpha1.ConditionPublished).Status).To(Equal(metav1.ConditionFalse))
	g.Expect(condition(got, greenlightv1alpha1.ConditionStalled).Reason).To(Equal(ReasonFailed))
	expectEvents(g, post.Namespace, "launch", ContainSubstring("Failed: Failed: Publishing failed: mastodon: BackoffLimitExceeded"))

	// The author asks for a retry: one new Job for the failed channel only, with the same key.
	update(g, got, func() { got.Annotations[greenlightv1alpha1.AnnotationRetry] = "1" })
	jobsOf(g, post.Namespace, 3)
	var second *batchv1.Job
	var list batchv1.JobList
	g.Expect(k.List(context.Background(), &list, client.InNamespace(post.Namespace))).To(Succeed())
	for i := range list.Items {
		if list.Items[i].Name == publish.JobName(post.Name, "mastodon", post.Status.Revision, 2) {
			second = &list.Items[i]
		}
	}
	g.Expect(second).NotTo(BeNil())
	g.Expect(envOf(second.Spec.Template.Spec.Containers[0])["GREENLIGHT_IDEMPOTENCY_KEY"]).
		To(Equal(envOf(jobs["mastodon"].Spec.Template.Spec.Containers[0])["GREENLIGHT_IDEMPOTENCY_KEY"]))
	got = expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostPublishing, "marketing=Approved")
	g.Expect(got.Status.LastRetry).To(Equal("1"))

	finishJob(g, second, true, `{"id": "110", "url": "https://social.example/@acme/110"}`)
	got = expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostPublished, "marketing=Approved")
	g.Expect(got.Status.Channels).To(ContainElement(And(HaveField("Name", "mastodon"), HaveField("Attempts", int32(2)),
		HaveField("URL", "https://social.example/@acme/110"))))
	g.Consistently(func(g Gomega) { jobsOf(g, post.Namespace, 3) }, time.Second, poll).Should(Succeed())
}

// Two managers briefly overlapping (a leader hand-over) reconcile the same post at once: still one
// Job per channel.
func TestTwoManagersAtOnceCreateOneJobPerChannel(t *testing.T) {
	g := NewWithT(t)
	stopSecond, err := newManager()
	g.Expect(err).NotTo(HaveOccurred())
	defer stopSecond()
	post, _ := publishingPost(t, g)
	g.Consistently(func(g Gomega) { jobsOf(g, post.Namespace, 2) }, 2*time.Second, poll).Should(Succeed())
}

// Job and ConfigMap names are predictable: someone with rights to create them in the namespace
// may create them first. Greenlight never lets such an object stand in for its own.
func TestObjectsCreatedUnderGreenlightsNamesAreNeverTrusted(t *testing.T) {
	ctx := context.Background()
	for _, squat := range []string{"configmap", "job"} {
		t.Run(squat, func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t)
			g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
			post := newPost("launch").in(ns).now().obj()
			g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
			pending := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending")
			rev := pending.Status.Revision
			yes := true
			owned := []metav1.OwnerReference{{APIVersion: "greenlight.dev/v1alpha1", Kind: "ContentPost", Name: post.Name, UID: pending.UID, Controller: &yes}}
			switch squat {
			case "configmap":
				g.Expect(k.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: publish.ConfigMapName(post.Name, rev), Namespace: ns,
					OwnerReferences: owned}, Immutable: &yes, Data: map[string]string{"mastodon.json": `{"body":"Buy crypto now"}`}})).To(Succeed())
			case "job":
				job := publish.Job(pending, "mastodon", rev, 1, publisherTemplate(), publish.ConfigMapName(post.Name, rev))
				job.OwnerReferences = owned
				job.Spec.Template.Spec.Containers[0].Image = "evil:latest"
				g.Expect(k.Create(ctx, job)).To(Succeed())
			}
			signOff(g, pending, "marketing", "alice")
			got := expectPost(g, ns, "launch", greenlightv1alpha1.PostFailed, "marketing=Approved")
			g.Expect(got.Status.Channels[0].Message).To(ContainSubstring("was not created by Greenlight for this post"))
			g.Expect(condition(got, greenlightv1alpha1.ConditionPublished).Status).To(Equal(metav1.ConditionFalse))
		})
	}
}

// channelOf returns the named channel's status.
func channelOf(post *greenlightv1alpha1.ContentPost, name string) greenlightv1alpha1.ChannelStatus {
	for _, ch := range post.Status.Channels {
		if ch.Name == name {
			return ch
		}
	}
	return greenlightv1alpha1.ChannelStatus{}
}

// Review found that an edit made after approval, before the content was stored, went out; the
// same edit on a Failed post went out with a retry. No Job is created unless the spec still is the
// approved revision.
func TestAnEditAfterApprovalIsNeverPublishedByARetry(t *testing.T) {
	g := NewWithT(t)
	post, jobs := publishingPost(t, g)
	finishJob(g, jobs["linkedin"], true, `{"id": "li-1", "url": "https://linkedin.example/posts/1"}`)
	finishJob(g, jobs["mastodon"], false, "mastodon answered 503")
	got := expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostFailed, "marketing=Approved")

	update(g, got, func() {
		got.Spec.Channels[0].Body = "UNAPPROVED text"
		got.Annotations[greenlightv1alpha1.AnnotationRetry] = "1"
	})
	g.Eventually(func(g Gomega) {
		failed := channelOf(getPost(g, post.Namespace, "launch"), "mastodon")
		g.Expect(failed.Attempts).To(Equal(int32(2)))
		g.Expect(failed.State).To(Equal(greenlightv1alpha1.PublishFailed))
		g.Expect(failed.Message).To(ContainSubstring("changed after it was approved"))
	}, eventually, poll).Should(Succeed())
	g.Consistently(func(g Gomega) { jobsOf(g, post.Namespace, 2) }, time.Second, poll).Should(Succeed())
}

// Review found that a change of the policy's template while Jobs ran disowned them (Failed, and a
// retry ran a second Job next to the first), and that a Job deleted while running left the post
// Publishing for ever.
func TestRunningJobsSurviveATemplateChangeAndADeletedJobFails(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	post, jobs := publishingPost(t, g)
	g.Eventually(func(g Gomega) {
		got := getPost(g, post.Namespace, "launch")
		g.Expect(channelOf(got, "mastodon").JobUID).To(Equal(string(jobs["mastodon"].UID)), "verified once, then pinned")
		g.Expect(channelOf(got, "linkedin").JobUID).To(Equal(string(jobs["linkedin"].UID)))
	}, eventually, poll).Should(Succeed())

	p := &greenlightv1alpha1.ApprovalPolicy{}
	g.Expect(k.Get(ctx, client.ObjectKey{Namespace: post.Namespace, Name: "acme"}, p)).To(Succeed())
	update(g, p, func() {
		for name, ch := range p.Spec.Publishing.Channels {
			ch.JobTemplate.Spec.Template.Spec.Containers[0].Image = "greenlight:v2"
			p.Spec.Publishing.Channels[name] = ch
		}
	})
	g.Expect(k.Delete(ctx, jobs["linkedin"], client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
	finishJob(g, jobs["mastodon"], true, `{"id": "109", "url": "https://social.example/@acme/109"}`)

	got := expectPost(g, post.Namespace, "launch", greenlightv1alpha1.PostFailed, "marketing=Approved")
	g.Expect(channelOf(got, "mastodon").State).To(Equal(greenlightv1alpha1.PublishSucceeded), "its Job ran the approved template")
	g.Expect(channelOf(got, "linkedin").Message).To(ContainSubstring("was deleted before it finished, so whether it published is unknown"))
	// No Job is made again behind anyone's back (envtest has no garbage collector to finish
	// deleting the linkedin Job, so it lingers, being deleted).
	g.Consistently(func(g Gomega) {
		var list batchv1.JobList
		g.Expect(k.List(ctx, &list, client.InNamespace(post.Namespace))).To(Succeed())
		for _, job := range list.Items {
			g.Expect(job.Name).To(BeElementOf(jobs["mastodon"].Name, jobs["linkedin"].Name))
		}
	}, time.Second, poll).Should(Succeed())
}
