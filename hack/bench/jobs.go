package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// jobPlayer plays the Job controller and the kubelet for the Jobs the managers create, as the
// controllers' tests do (finishJob in controllers/publishing_test.go): envtest runs neither, so
// without it no post would ever be Published.
type jobPlayer struct {
	queue workqueue.TypedInterface[string]
	mu    sync.Mutex
	// created holds when the watch saw each Job appear.
	created []time.Time
	// err is the first Job the player could not finish.
	err error
	// fail ends the run: a Job that is never finished leaves its post Publishing.
	fail func(reason string)
}

// startJobPlayer watches the namespace's Jobs and finishes each, successfully, on one of
// workers clients.
func startJobPlayer(ctx context.Context, c *cluster, workers int, namespace string, fail func(string)) (*jobPlayer, error) {
	p := &jobPlayer{queue: workqueue.NewTyped[string](), fail: fail}
	watcher, err := c.adminClient()
	if err != nil {
		return nil, err
	}
	err = watchNamespace(ctx, watcher, &batchv1.JobList{}, namespace, func(e watch.EventType, obj client.Object, at time.Time) {
		if e == watch.Added {
			p.mu.Lock()
			p.created = append(p.created, at)
			p.mu.Unlock()
			p.queue.Add(obj.GetName())
		}
	})
	if err != nil {
		return nil, err
	}
	for range workers {
		kubelet, err := c.adminClient()
		if err != nil {
			return nil, err
		}
		go p.work(ctx, kubelet, namespace)
	}
	go func() {
		<-ctx.Done()
		p.queue.ShutDown()
	}()
	return p, nil
}

func (p *jobPlayer) work(ctx context.Context, c client.Client, namespace string) {
	for {
		name, shutdown := p.queue.Get()
		if shutdown {
			return
		}
		if err := finishJob(ctx, c, client.ObjectKey{Namespace: namespace, Name: name}); err != nil && ctx.Err() == nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = fmt.Errorf("finishing Job %s: %w", name, err)
				p.fail(p.err.Error())
			}
			p.mu.Unlock()
		}
		p.queue.Done(name)
	}
}

// jobsCreated returns when each Job was seen created, and the first failure to finish one.
func (p *jobPlayer) jobsCreated() ([]time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.created...), p.err
}

// finishJob gives the Job a pod it controls that terminated successfully with the publisher's
// termination message, then the status Kubernetes 1.36 writes for a Job that succeeded
// (SuccessCriteriaMet before Complete, start and completion times).
func finishJob(ctx context.Context, c client.Client, key client.ObjectKey) error {
	job := &batchv1.Job{}
	if err := c.Get(ctx, key, job); err != nil {
		return err
	}
	message, err := json.Marshal(map[string]string{
		"id":  job.Name,
		"url": fmt.Sprintf("https://social.example/%s/%s", job.Labels[greenlightv1alpha1.LabelPost], job.Labels[greenlightv1alpha1.LabelChannel]),
	})
	if err != nil {
		return err
	}
	if err := createTerminatedPod(ctx, c, job, string(message)); err != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, job); err != nil {
			return err
		}
		start, end := metav1.NewTime(time.Now().Add(-time.Second).Truncate(time.Second)), metav1.NewTime(time.Now().Truncate(time.Second))
		complete := func(t batchv1.JobConditionType) batchv1.JobCondition {
			return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached,
				LastTransitionTime: end, LastProbeTime: end}
		}
		job.Status.StartTime, job.Status.CompletionTime, job.Status.Succeeded = &start, &end, 1
		job.Status.Conditions = []batchv1.JobCondition{complete(batchv1.JobSuccessCriteriaMet), complete(batchv1.JobComplete)}
		return c.Status().Update(ctx, job)
	})
}

// createTerminatedPod creates the Job's pod and records that its container exited 0 with message.
func createTerminatedPod(ctx context.Context, c client.Client, job *batchv1.Job, message string) error {
	yes := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: job.Name + "-", Namespace: job.Namespace,
			Labels: map[string]string{batchv1.JobNameLabel: job.Name, batchv1.ControllerUidLabel: string(job.UID), "job-name": job.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: &yes, BlockOwnerDeletion: &yes}}},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	if err := c.Create(ctx, pod); err != nil {
		return err
	}
	container := pod.Spec.Containers[0]
	pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
		Name: container.Name, Image: container.Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Message: message, Reason: "Completed"}},
	}}}
	return c.Status().Update(ctx, pod)
}
