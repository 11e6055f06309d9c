package publish

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// maxLastWords bounds how many runes of a failed publisher's termination message reach a
// channel's status message.
const maxLastWords = 1024

// ChannelOutcome is where publishing to one channel stands, read from its Job and pods.
type ChannelOutcome struct {
	// State is Pending, Running, Succeeded or Failed.
	State greenlightv1alpha1.PublishState
	// Result is where the post now lives; nil unless State is Succeeded and the publisher
	// reported a valid result.
	Result *Result
	// Message says why a Job failed, what is wrong with a succeeded publisher's result, or what
	// a pending or running pod waits for; empty when there is nothing to say.
	Message string
}

// ChannelState reads a publishing Job and its pods into a channel's state, as the Job controller
// and kubelet of Kubernetes 1.36 report them:
//   - Failed when the Job has the condition Failed=True. Message joins the condition's reason
//     and message and the last words of the newest failed pod (its failing container's
//     termination message, at most 1024 runes), for example "BackoffLimitExceeded: Job has
//     reached the specified backoff limit; publisher: mastodon answered 401 Unauthorized".
//   - Succeeded when it has Complete=True. Result is the termination message of the first
//     container that left one in the newest succeeded pod (see ParseResult). When there is none
//     or it is not valid, Result is nil and Message says what was wrong: the caller decides.
//   - Running while FailureTarget or SuccessCriteriaMet is True without Failed or Complete yet
//     (the outcome is decided but the pods are still stopping), when status.active > 0, or when
//     any pod is Running.
//   - Pending otherwise.
//
// Pods that another Job controls are ignored, and pods may come in any order. A nil Job is
// Pending. ChannelState never panics on missing fields.
func ChannelState(job *batchv1.Job, pods []corev1.Pod) ChannelOutcome {
	if job == nil {
		return ChannelOutcome{State: greenlightv1alpha1.PublishPending}
	}
	own := podsOf(job, pods)
	if c := jobCondition(job, batchv1.JobFailed); c != nil {
		return failedOutcome(c, own)
	}
	if jobCondition(job, batchv1.JobComplete) != nil {
		return succeededOutcome(own)
	}
	if c := jobCondition(job, batchv1.JobFailureTarget); c != nil {
		return ChannelOutcome{
			State:   greenlightv1alpha1.PublishRunning,
			Message: strings.TrimSuffix("the Job is failing: "+joinReason(c.Reason, c.Message), ": ") + "; waiting for its pods to stop",
		}
	}
	if jobCondition(job, batchv1.JobSuccessCriteriaMet) != nil {
		return ChannelOutcome{
			State:   greenlightv1alpha1.PublishRunning,
			Message: "the Job met its success criteria; waiting for its pods to stop",
		}
	}
	state := greenlightv1alpha1.PublishPending
	if job.Status.Active > 0 || slices.ContainsFunc(own, func(p corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }) {
		state = greenlightv1alpha1.PublishRunning
	}
	return ChannelOutcome{State: state, Message: waitingFor(own)}
}

func failedOutcome(failed *batchv1.JobCondition, pods []corev1.Pod) ChannelOutcome {
	parts := []string{cmp.Or(joinReason(failed.Reason, failed.Message), "the Job failed")}
	if words := lastWords(pods); words != "" {
		parts = append(parts, words)
	}
	return ChannelOutcome{State: greenlightv1alpha1.PublishFailed, Message: strings.Join(parts, "; ")}
}

func succeededOutcome(pods []corev1.Pod) ChannelOutcome {
	outcome := ChannelOutcome{State: greenlightv1alpha1.PublishSucceeded}
	message, sawSucceeded := succeededMessage(pods)
	if !sawSucceeded {
		outcome.Message = `no succeeded pod of the Job is left to read the publisher's termination message from; ` +
			`expected JSON {"id": "...", "url": "..."}`
		return outcome
	}
	// An empty message is said in ParseResult's words.
	result, err := ParseResult([]byte(message))
	if err != nil {
		outcome.Message = err.Error()
		return outcome
	}
	outcome.Result = &result
	return outcome
}

// succeededMessage is the termination message of the first container that left one in the
// newest succeeded pod ("" when none did), and whether any pod succeeded.
func succeededMessage(pods []corev1.Pod) (message string, sawSucceeded bool) {
	for i := range pods {
		if pods[i].Status.Phase != corev1.PodSucceeded {
			continue
		}
		sawSucceeded = true
		for _, s := range statusesInSpecOrder(&pods[i], false) {
			if t := s.State.Terminated; t != nil && strings.TrimSpace(t.Message) != "" {
				return t.Message, true
			}
		}
	}
	return "", sawSucceeded
}

// lastWords is what the newest failed pod said before it died: the termination message of its
// first container that exited with an error, else that container's reason and exit code, else
// the pod's own reason. Pods that are not Failed (such as those restarted in place under
// restartPolicy OnFailure) count after every Failed pod.
func lastWords(pods []corev1.Pod) string {
	failedFirst := slices.Clone(pods)
	slices.SortStableFunc(failedFirst, func(a, b corev1.Pod) int {
		return boolRank(a.Status.Phase == corev1.PodFailed) - boolRank(b.Status.Phase == corev1.PodFailed)
	})
	for i := range failedFirst {
		pod := &failedFirst[i]
		for _, s := range append(statusesInSpecOrder(pod, true), statusesInSpecOrder(pod, false)...) {
			t := s.State.Terminated
			if t == nil || t.ExitCode == 0 {
				t = s.LastTerminationState.Terminated
			}
			if t == nil || t.ExitCode == 0 {
				continue
			}
			if words := brief(t.Message); words != "" {
				return s.Name + ": " + words
			}
			return fmt.Sprintf("%s: %s, exit code %d", s.Name, cmp.Or(t.Reason, "Error"), t.ExitCode)
		}
		if pod.Status.Phase == corev1.PodFailed && (pod.Status.Reason != "" || pod.Status.Message != "") {
			return "pod " + pod.Name + ": " + joinReason(pod.Status.Reason, brief(pod.Status.Message))
		}
	}
	return ""
}

// waitingFor says why the newest pod is not running yet, when the kubelet or scheduler said so:
// a missing Secret, an image that cannot be pulled, no node that fits.
func waitingFor(pods []corev1.Pod) string {
	if len(pods) == 0 {
		return ""
	}
	pod := &pods[0]
	for _, s := range append(statusesInSpecOrder(pod, true), statusesInSpecOrder(pod, false)...) {
		w := s.State.Waiting
		if w == nil || w.Reason == "" || w.Reason == "ContainerCreating" || w.Reason == "PodInitializing" {
			continue
		}
		return "container " + s.Name + " is waiting: " + joinReason(w.Reason, brief(w.Message))
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason != "" {
			return "pod " + pod.Name + " is not scheduled: " + joinReason(c.Reason, brief(c.Message))
		}
	}
	return ""
}

// podsOf returns the pods of job, newest first, leaving out pods another Job controls (such as
// those of a deleted Job of the same name). It does not change pods.
func podsOf(job *batchv1.Job, pods []corev1.Pod) []corev1.Pod {
	own := make([]corev1.Pod, 0, len(pods))
	for i := range pods {
		// Only the Job's own pods speak for it: a pod that merely carries its label (anyone who
		// may create pods can add one) must not report a result.
		ref := metav1.GetControllerOf(&pods[i])
		if job.UID != "" && (ref == nil || ref.Kind != "Job" || ref.UID != job.UID) {
			continue
		}
		own = append(own, pods[i])
	}
	slices.SortStableFunc(own, func(a, b corev1.Pod) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		if c := startTime(b).Compare(startTime(a).Time); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	return own
}

func startTime(p corev1.Pod) metav1.Time {
	if p.Status.StartTime == nil {
		return metav1.Time{}
	}
	return *p.Status.StartTime
}

// statusesInSpecOrder returns a pod's container (or init container) statuses in the order the
// spec lists the containers, which the kubelet does not promise; statuses of containers the spec
// does not list come last, in their own order.
func statusesInSpecOrder(pod *corev1.Pod, initContainers bool) []corev1.ContainerStatus {
	containers, statuses := pod.Spec.Containers, pod.Status.ContainerStatuses
	if initContainers {
		containers, statuses = pod.Spec.InitContainers, pod.Status.InitContainerStatuses
	}
	rank := func(name string) int {
		if i := slices.IndexFunc(containers, func(c corev1.Container) bool { return c.Name == name }); i >= 0 {
			return i
		}
		return len(containers)
	}
	ordered := slices.Clone(statuses)
	slices.SortStableFunc(ordered, func(a, b corev1.ContainerStatus) int { return rank(a.Name) - rank(b.Name) })
	return ordered
}

func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if c := &job.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// joinReason is "reason: message", or whichever of the two is set.
func joinReason(reason, message string) string {
	message = strings.TrimSpace(message)
	switch {
	case reason == "":
		return message
	case message == "":
		return reason
	default:
		return reason + ": " + message
	}
}

// brief puts s on one line and cuts it to at most maxLastWords runes, the last of them "…" when
// it cut, so that a chatty publisher cannot flood the post's status.
func brief(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	runes := []rune(s)
	if len(runes) <= maxLastWords {
		return s
	}
	return string(runes[:maxLastWords-1]) + "…"
}

func boolRank(b bool) int {
	if b {
		return 0
	}
	return 1
}
