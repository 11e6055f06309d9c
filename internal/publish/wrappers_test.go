package publish

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

const testUID = types.UID("6f1c2d3e-0000-4000-8000-000000000001")

// postWrapper builds ContentPost fixtures.
type postWrapper struct{ greenlightv1alpha1.ContentPost }

func newPost(name string) *postWrapper {
	return &postWrapper{greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Namespace: "marketing", Name: name, UID: testUID},
		Spec:       greenlightv1alpha1.ContentPostSpec{Body: "We launched!"},
	}}
}

func (w *postWrapper) withBody(body string) *postWrapper { w.Spec.Body = body; return w }

func (w *postWrapper) withChannels(names ...string) *postWrapper {
	for _, n := range names {
		w.Spec.Channels = append(w.Spec.Channels, greenlightv1alpha1.Channel{Name: n})
	}
	return w
}

func (w *postWrapper) withVariant(channel, body string) *postWrapper {
	w.Spec.Channels = append(w.Spec.Channels, greenlightv1alpha1.Channel{Name: channel, Body: body})
	return w
}

func (w *postWrapper) withMedia(m ...greenlightv1alpha1.Media) *postWrapper {
	w.Spec.Media = append(w.Spec.Media, m...)
	return w
}

func (w *postWrapper) withPublishAt(t time.Time) *postWrapper {
	at := metav1.NewTime(t)
	w.Spec.PublishAt = &at
	return w
}

func (w *postWrapper) withCampaign(c string) *postWrapper { w.Spec.Campaign = c; return w }

func (w *postWrapper) obj() *greenlightv1alpha1.ContentPost { return w.DeepCopy() }

// jobWrapper builds publishing Job fixtures as the Job controller reports them.
type jobWrapper struct{ batchv1.Job }

func newJob() *jobWrapper {
	return &jobWrapper{batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "marketing", Name: "launch-mastodon-0123456789", UID: "job-uid"}}}
}

func (w *jobWrapper) active(n int32) *jobWrapper { w.Status.Active = n; return w }

func (w *jobWrapper) condition(t batchv1.JobConditionType, reason, message string) *jobWrapper {
	w.Status.Conditions = append(w.Status.Conditions, batchv1.JobCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
	})
	return w
}

func (w *jobWrapper) obj() *batchv1.Job { return w.DeepCopy() }

// podWrapper builds a publishing Job's pod fixtures.
type podWrapper struct{ corev1.Pod }

// newPod returns a pod of newJob's Job created at minute minute, with one container "publisher".
func newPod(name string, minute int, phase corev1.PodPhase) *podWrapper {
	return &podWrapper{corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:         "marketing",
			Name:              name,
			CreationTimestamp: metav1.NewTime(time.Date(2026, 5, 4, 9, minute, 0, 0, time.UTC)),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: "launch-mastodon-0123456789", UID: "job-uid", Controller: ptr.To(true),
			}},
		},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "publisher"}}},
		Status: corev1.PodStatus{Phase: phase},
	}}
}

// ownedBy makes another Job the pod's controller.
func (w *podWrapper) ownedBy(uid types.UID) *podWrapper {
	w.OwnerReferences[0].UID = uid
	return w
}

func (w *podWrapper) withContainers(names ...string) *podWrapper {
	w.Spec.Containers = nil
	for _, n := range names {
		w.Spec.Containers = append(w.Spec.Containers, corev1.Container{Name: n})
	}
	return w
}

// terminated records that container ended with exitCode and message.
func (w *podWrapper) terminated(container string, exitCode int32, reason, message string) *podWrapper {
	w.Status.ContainerStatuses = append(w.Status.ContainerStatuses, corev1.ContainerStatus{
		Name:  container,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, Reason: reason, Message: message}},
	})
	return w
}

// restarted records that container runs again after it ended with exitCode and message.
func (w *podWrapper) restarted(container string, exitCode int32, message string) *podWrapper {
	w.Status.ContainerStatuses = append(w.Status.ContainerStatuses, corev1.ContainerStatus{
		Name:                 container,
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, Message: message}},
	})
	return w
}

func (w *podWrapper) waiting(container, reason, message string) *podWrapper {
	w.Status.ContainerStatuses = append(w.Status.ContainerStatuses, corev1.ContainerStatus{
		Name:  container,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}},
	})
	return w
}

func (w *podWrapper) obj() corev1.Pod { return *w.DeepCopy() }
