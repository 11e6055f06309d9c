package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/publish/jobplay"
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
	pod := jobplay.Pod(job)
	if err := c.Create(ctx, pod); err != nil {
		return err
	}
	pod.Status = jobplay.TerminatedStatus(pod, true, string(message))
	if err := c.Status().Update(ctx, pod); err != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, job); err != nil {
			return err
		}
		jobplay.Finish(job, true, time.Now())
		return c.Status().Update(ctx, job)
	})
}
