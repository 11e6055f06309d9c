package publish

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func TestChannelState(t *testing.T) {
	const (
		backoff      = "BackoffLimitExceeded: Job has reached the specified backoff limit"
		unauthorized = "mastodon answered 401 Unauthorized: The access token is invalid"
		validResult  = `{"id": "109", "url": "https://social.example/@acme/109"}`
	)
	var (
		pending   = greenlightv1alpha1.PublishPending
		running   = greenlightv1alpha1.PublishRunning
		succeeded = greenlightv1alpha1.PublishSucceeded
		failed    = greenlightv1alpha1.PublishFailed
		published = &Result{ID: "109", URL: "https://social.example/@acme/109"}
		complete  = func() *jobWrapper {
			return newJob().condition(batchv1.JobSuccessCriteriaMet, "CompletionsReached", "").
				condition(batchv1.JobComplete, "CompletionsReached", "")
		}
		failedJob = func() *jobWrapper {
			return newJob().condition(batchv1.JobFailureTarget, "BackoffLimitExceeded", "Job has reached the specified backoff limit").
				condition(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
		}
	)
	tests := []struct {
		name string
		job  *batchv1.Job
		pods []corev1.Pod
		want ChannelOutcome
	}{{
		name: "no Job yet",
		want: ChannelOutcome{State: pending},
	}, {
		name: "a Job without status",
		job:  &batchv1.Job{},
		want: ChannelOutcome{State: pending},
	}, {
		name: "a pod waiting for a missing Secret is Pending with the kubelet's reason",
		job:  newJob().obj(),
		pods: []corev1.Pod{newPod("p1", 1, corev1.PodPending).
			waiting("publisher", "CreateContainerConfigError", `secret "mastodon" not found`).obj()},
		want: ChannelOutcome{State: pending,
			Message: `container publisher is waiting: CreateContainerConfigError: secret "mastodon" not found`},
	}, {
		name: "a pod still being created says nothing",
		job:  newJob().obj(),
		pods: []corev1.Pod{newPod("p1", 1, corev1.PodPending).waiting("publisher", "ContainerCreating", "").obj()},
		want: ChannelOutcome{State: pending},
	}, {
		name: "active pods make it Running",
		job:  newJob().active(1).obj(),
		want: ChannelOutcome{State: running},
	}, {
		name: "a Running pod makes it Running before status.active says so",
		job:  newJob().obj(),
		pods: []corev1.Pod{newPod("p1", 1, corev1.PodFailed).obj(), newPod("p2", 2, corev1.PodRunning).obj()},
		want: ChannelOutcome{State: running},
	}, {
		name: "success criteria met but pods still stopping is Running",
		job:  newJob().condition(batchv1.JobSuccessCriteriaMet, "CompletionsReached", "").obj(),
		want: ChannelOutcome{State: running, Message: "the Job met its success criteria; waiting for its pods to stop"},
	}, {
		name: "a failure target but pods still stopping is Running",
		job:  newJob().condition(batchv1.JobFailureTarget, "DeadlineExceeded", "Job was active longer than specified deadline").obj(),
		want: ChannelOutcome{State: running,
			Message: "the Job is failing: DeadlineExceeded: Job was active longer than specified deadline; waiting for its pods to stop"},
	}, {
		name: "complete with a valid termination message",
		job:  complete().obj(),
		pods: []corev1.Pod{newPod("p1", 1, corev1.PodSucceeded).terminated("publisher", 0, "Completed", validResult).obj()},
		want: ChannelOutcome{State: succeeded, Result: published},
	}, {
		name: "complete: the newest succeeded pod's first container with a message counts, whatever the order",
		job:  complete().obj(),
		pods: []corev1.Pod{
			newPod("p3", 3, corev1.PodFailed).terminated("publisher", 1, "Error", "boom").obj(),
			newPod("p1", 1, corev1.PodSucceeded).terminated("publisher", 0, "Completed", `{"url": "https://old.example"}`).obj(),
			newPod("p2", 2, corev1.PodSucceeded).withContainers("publisher", "log-shipper").
				terminated("log-shipper", 0, "Completed", "shipped 3 lines").
				terminated("publisher", 0, "Completed", validResult).obj(),
		},
		want: ChannelOutcome{State: succeeded, Result: published},
	}, {
		name: "complete with a message that is not JSON",
		job:  complete().obj(),
		pods: []corev1.Pod{newPod("p1", 1, corev1.PodSucceeded).terminated("publisher", 0, "Completed", "posted it!").obj()},
		want: ChannelOutcome{State: succeeded,
			Message: `the publisher's termination message is not JSON {"id": "...", "url": "..."}: "posted it!"`},
	}, {
		name: "complete with JSON but no url",
		job:  complete().obj(),
		pods: []corev1.Pod{newPod("p1", 1, corev1.PodSucceeded).terminated("publisher", 0, "Completed", `{"id": "1"}`).obj()},
		want: ChannelOutcome{State: succeeded,
			Message: `the publisher's termination message has no "url"; it must say where the post was published`},
	}, {
		name: "complete without a termination message",
		job:  complete().obj(),
		pods: []corev1.Pod{newPod("p1", 1, corev1.PodSucceeded).terminated("publisher", 0, "Completed", "").obj()},
		want: ChannelOutcome{State: succeeded,
			Message: `the publisher left no termination message; expected JSON {"id": "...", "url": "..."}`},
	}, {
		name: "complete, but its pods are gone",
		job:  complete().obj(),
		want: ChannelOutcome{State: succeeded, Message: `no succeeded pod of the Job is left to read the publisher's ` +
			`termination message from; expected JSON {"id": "...", "url": "..."}`},
	}, {
		name: "failed: the Job's reason and the newest failed pod's last words, whatever the order",
		job:  failedJob().obj(),
		pods: []corev1.Pod{
			newPod("p1", 1, corev1.PodFailed).terminated("publisher", 1, "Error", "mastodon answered 503").obj(),
			newPod("p3", 3, corev1.PodFailed).terminated("publisher", 1, "Error", "  "+unauthorized+"\n").obj(),
			newPod("p2", 2, corev1.PodFailed).terminated("publisher", 1, "Error", "mastodon answered 502").obj(),
		},
		want: ChannelOutcome{State: failed, Message: backoff + "; publisher: " + unauthorized},
	}, {
		name: "failed: a failed init container speaks first",
		job:  failedJob().obj(),
		pods: []corev1.Pod{func() corev1.Pod {
			p := newPod("p1", 1, corev1.PodFailed).obj()
			p.Spec.InitContainers = []corev1.Container{{Name: "fetch-token"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "fetch-token", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Message: "vault sealed"},
			}}}
			return p
		}()},
		want: ChannelOutcome{State: failed, Message: backoff + "; fetch-token: vault sealed"},
	}, {
		name: "failed: a container killed without a message gives its reason and exit code",
		job:  failedJob().obj(),
		pods: []corev1.Pod{newPod("p1", 1, corev1.PodFailed).terminated("publisher", 137, "OOMKilled", "").obj()},
		want: ChannelOutcome{State: failed, Message: backoff + "; publisher: OOMKilled, exit code 137"},
	}, {
		name: "failed under restartPolicy OnFailure: the last termination of a restarted container",
		job:  failedJob().obj(),
		pods: []corev1.Pod{newPod("p1", 1, corev1.PodRunning).restarted("publisher", 1, unauthorized).obj()},
		want: ChannelOutcome{State: failed, Message: backoff + "; publisher: " + unauthorized},
	}, {
		name: "failed: a pod evicted by the kubelet",
		job:  failedJob().obj(),
		pods: []corev1.Pod{func() corev1.Pod {
			p := newPod("p1", 1, corev1.PodFailed).obj()
			p.Status.Reason, p.Status.Message = "Evicted", "The node was low on resource: memory."
			return p
		}()},
		want: ChannelOutcome{State: failed, Message: backoff + "; pod p1: Evicted: The node was low on resource: memory."},
	}, {
		name: "failed without pods or reason",
		job:  newJob().condition(batchv1.JobFailed, "", "").obj(),
		want: ChannelOutcome{State: failed, Message: "the Job failed"},
	}, {
		name: "pods of another Job of the same name are ignored",
		job:  failedJob().obj(),
		pods: []corev1.Pod{
			newPod("old", 9, corev1.PodFailed).ownedBy("old-job-uid").terminated("publisher", 1, "Error", "from the old Job").obj(),
			newPod("p1", 1, corev1.PodFailed).terminated("publisher", 1, "Error", unauthorized).obj(),
		},
		want: ChannelOutcome{State: failed, Message: backoff + "; publisher: " + unauthorized},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var before []corev1.Pod
			for i := range tt.pods {
				before = append(before, *tt.pods[i].DeepCopy())
			}
			g.Expect(ChannelState(tt.job, tt.pods)).To(Equal(tt.want))
			g.Expect(tt.pods).To(Equal(before), "the pods are not changed or reordered")
		})
	}
}

func TestChannelStateTrimsLastWords(t *testing.T) {
	g := NewWithT(t)
	long := strings.Repeat("é", 5000)
	job := newJob().condition(batchv1.JobFailed, "BackoffLimitExceeded", "").obj()
	pods := []corev1.Pod{newPod("p1", 1, corev1.PodFailed).terminated("publisher", 1, "Error", long).obj()}

	got := ChannelState(job, pods)

	g.Expect(got.State).To(Equal(greenlightv1alpha1.PublishFailed))
	words := strings.TrimPrefix(got.Message, "BackoffLimitExceeded; publisher: ")
	g.Expect([]rune(words)).To(HaveLen(1024))
	g.Expect(words).To(HaveSuffix("…"))
}

func TestChannelStateNeverPanics(t *testing.T) {
	g := NewWithT(t)
	empty := []corev1.Pod{{}, {Status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{}}}}}
	for _, job := range []*batchv1.Job{
		nil, {},
		newJob().condition(batchv1.JobComplete, "", "").obj(),
		newJob().condition(batchv1.JobFailed, "", "").obj(),
	} {
		g.Expect(func() { ChannelState(job, empty) }).NotTo(Panic())
		g.Expect(func() { ChannelState(job, nil) }).NotTo(Panic())
	}
}
