// Package jobplay plays the Job controller and the kubelet for one run of a publishing Job, as
// Kubernetes 1.36 records it, for the envtest suites and the benchmark, where no controller
// manager or node runs Jobs.
package jobplay

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Pod is the pod the Job controller creates for job (create it, then set TerminatedStatus).
func Pod(job *batchv1.Job) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: job.Name + "-", Namespace: job.Namespace,
			Labels: map[string]string{batchv1.JobNameLabel: job.Name, batchv1.ControllerUidLabel: string(job.UID), "job-name": job.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
}

// TerminatedStatus is the kubelet's status for pod whose first container exited, successfully
// or not, with message as its termination message.
func TerminatedStatus(pod *corev1.Pod, succeeded bool, message string) corev1.PodStatus {
	exit, phase, reason := int32(0), corev1.PodSucceeded, "Completed"
	if !succeeded {
		exit, phase, reason = 1, corev1.PodFailed, "Error"
	}
	container := pod.Spec.Containers[0]
	return corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
		Name: container.Name, Image: container.Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: message, Reason: reason}},
	}}}
}

// Finish sets job's status as the Job controller does when its run ended at now: start and
// completion times, and SuccessCriteriaMet before Complete, or FailureTarget before Failed.
func Finish(job *batchv1.Job, succeeded bool, now time.Time) {
	start, end := metav1.NewTime(now.Add(-time.Second).Truncate(time.Second)), metav1.NewTime(now.Truncate(time.Second))
	job.Status.StartTime = &start
	condition := func(t batchv1.JobConditionType, reason string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, LastTransitionTime: end, LastProbeTime: end}
	}
	if succeeded {
		job.Status.Succeeded, job.Status.CompletionTime = 1, &end
		job.Status.Conditions = []batchv1.JobCondition{
			condition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached),
			condition(batchv1.JobComplete, batchv1.JobReasonCompletionsReached)}
		return
	}
	job.Status.Failed = 1
	job.Status.Conditions = []batchv1.JobCondition{
		condition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded),
		condition(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)}
}
