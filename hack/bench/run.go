package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// benchRun is one measurement: its namespace, managers and what the watch saw.
type benchRun struct {
	c         *cluster
	cfg       config
	shards    int
	namespace string
	managers  []*manager
	proxy     *webhookProxy
	tracker   *tracker
	res       *result
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// runOnce measures the workload once with shards managers in a fresh namespace. The last run
// leaves its objects for the control plane's shutdown to discard.
func runOnce(ctx context.Context, c *cluster, cfg config, shards, i int, last bool) (*result, error) {
	r := &benchRun{c: c, cfg: cfg, shards: shards, namespace: fmt.Sprintf("bench-shards%d-run%d", shards, i),
		res: &result{cfg: cfg, shards: shards}}
	r.res.namespace = r.namespace
	final := greenlightv1alpha1.PostScheduled
	if cfg.publish {
		final = greenlightv1alpha1.PostPublished
	}
	r.tracker = newTracker(cfg.posts, final)

	progress("shards=%d run %d: starting %d manager(s) and namespace %s", shards, i, shards, r.namespace)
	managers, err := startManagers(ctx, c, cfg, shards, fmt.Sprintf("shards%d-run%d", shards, i))
	r.managers = managers
	defer stopManagers(managers)
	if err != nil {
		return nil, err
	}
	if shards > 1 {
		if err := r.startProxy(); err != nil {
			return nil, err
		}
		defer r.proxy.close()
	}
	if err := r.measure(ctx); err != nil {
		return nil, fmt.Errorf("%w (manager logs: %s)", err, managerLogs(managers))
	}
	if cfg.apiserverMetrics != "" {
		if err := c.saveAPIServerMetrics(ctx, cfg.apiserverMetrics); err != nil {
			return nil, err
		}
	}
	if !last {
		if err := r.cleanUp(ctx); err != nil {
			return nil, fmt.Errorf("deleting the run's objects: %w", err)
		}
	}
	return r.res, nil
}

func managerLogs(managers []*manager) string {
	paths := make([]string, 0, len(managers))
	for _, m := range managers {
		paths = append(paths, m.logPath)
	}
	return fmt.Sprint(paths)
}

// startProxy puts the round-robin proxy where the API server calls the webhooks.
func (r *benchRun) startProxy() error {
	hook := r.c.env.WebhookInstallOptions
	backends := make([]string, 0, len(r.managers))
	for _, m := range r.managers {
		backends = append(backends, m.webhookAddr)
	}
	proxy, err := startWebhookProxy(net.JoinHostPort(hook.LocalServingHost, strconv.Itoa(hook.LocalServingPort)), backends)
	r.proxy = proxy
	return err
}

// measure runs the phases of one measurement in order.
func (r *benchRun) measure(ctx context.Context) error {
	if err := r.setUpNamespace(ctx); err != nil {
		return err
	}
	watcher, err := r.c.adminClient()
	if err != nil {
		return err
	}
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	err = watchNamespace(watchCtx, watcher, &greenlightv1alpha1.ContentPostList{}, r.namespace,
		func(_ watch.EventType, obj client.Object, at time.Time) {
			r.tracker.observe(obj.(*greenlightv1alpha1.ContentPost), at)
		})
	if err != nil {
		return err
	}
	if err := r.review(ctx, watchCtx); err != nil {
		return err
	}
	stopWatching()
	if err := r.sampleManagers(func(m *managerResult, s processStats) { m.end = s }); err != nil {
		return err
	}
	floor, err := measureFloor(ctx, r.c, r.cfg, r.namespace+"-floor")
	if err != nil {
		return fmt.Errorf("measuring the write floor: %w", err)
	}
	r.res.floor = floor
	if r.res.events, err = countEvents(ctx, r.c.admin, r.cfg, r.namespace); err != nil {
		return err
	}
	if r.res.writes, err = countWrites(r.c.auditLog, r.namespace, r.shards); err != nil {
		return err
	}
	return r.res.compute(r.tracker.snapshot())
}

// review is the measured workload, the posts, then their sign-offs, within -timeout.
func (r *benchRun) review(ctx, watchCtx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.timeout)
	defer cancel()
	err := r.createAndSignOff(ctx, watchCtx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the posts did not get through review within -timeout %s (phases: %s): %w",
			r.cfg.timeout, r.tracker.phaseCounts(), err)
	}
	return err
}

func (r *benchRun) createAndSignOff(ctx, watchCtx context.Context) error {
	if err := r.sampleManagers(func(m *managerResult, s processStats) { m.start = s }); err != nil {
		return err
	}
	if err := r.createPosts(ctx); err != nil {
		return err
	}
	if err := r.sampleManagers(func(m *managerResult, s processStats) { m.intake = s }); err != nil {
		return err
	}
	if r.cfg.publish {
		jobs, err := startJobPlayer(watchCtx, r.c, r.cfg.clients, r.namespace, r.tracker.fail)
		if err != nil {
			return err
		}
		r.res.jobPlayer = jobs
	}
	return r.signOff(ctx)
}

// setUpNamespace creates the run's namespace, its role bindings and one policy per shard, and
// waits until every manager reconciled its policy, so that no post is seen without it.
func (r *benchRun) setUpNamespace(ctx context.Context) error {
	admin := r.c.admin
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: objectMeta(r.namespace, "")}); err != nil {
		return err
	}
	for _, b := range peopleBindings(r.namespace, r.cfg.stages*r.cfg.departments) {
		if err := admin.Create(ctx, b); err != nil {
			return err
		}
	}
	for shard := range r.shards {
		if err := admin.Create(ctx, benchPolicy(r.cfg, r.namespace, shard)); err != nil {
			return fmt.Errorf("creating the policy: %w", err)
		}
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var policies greenlightv1alpha1.ApprovalPolicyList
		if err := admin.List(ctx, &policies, client.InNamespace(r.namespace)); err != nil {
			return false, err
		}
		for _, p := range policies.Items {
			if !meta.IsStatusConditionTrue(p.Status.Conditions, greenlightv1alpha1.ConditionReady) {
				return false, nil
			}
		}
		return true, nil
	})
}

// sampleManagers reads every manager's /proc figures into the result with set.
func (r *benchRun) sampleManagers(set func(*managerResult, processStats)) error {
	if r.res.managers == nil {
		r.res.managers = make([]managerResult, len(r.managers))
	}
	for i, m := range r.managers {
		s, err := m.stats()
		if err != nil {
			return err
		}
		r.res.managers[i].pid = m.cmd.Process.Pid
		set(&r.res.managers[i], s)
	}
	if r.proxy != nil {
		r.res.webhookConnections = r.proxy.connectionCounts()
	}
	return nil
}

// cleanUp deletes the run's objects while the managers still serve the webhooks (a SignOff's
// deletion is admitted by them), so that the next run's managers do not cache them. envtest runs
// no namespace controller, so deleting the namespace alone would delete nothing.
func (r *benchRun) cleanUp(ctx context.Context) error {
	progress("deleting the run's objects")
	in := client.InNamespace(r.namespace)
	background := client.PropagationPolicy(metav1.DeletePropagationBackground)
	for _, obj := range []client.Object{&greenlightv1alpha1.SignOff{}, &greenlightv1alpha1.ContentPost{},
		&greenlightv1alpha1.ApprovalPolicy{}, &batchv1.Job{}, &corev1.Pod{}, &corev1.ConfigMap{}, &corev1.Event{}} {
		if err := r.c.admin.DeleteAllOf(ctx, obj, in, background); err != nil {
			return err
		}
	}
	return nil
}
