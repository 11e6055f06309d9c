package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// floorResult is the API server's raw write rate: what plain clients get from it, with the
// same concurrency, in the same run.
type floorResult struct {
	writes  int
	elapsed time.Duration
	// create and patch are the latencies of each kind of write.
	create, patch []time.Duration
}

func (f floorResult) writesPerSecond() float64 { return rate(f.writes, f.elapsed) }

// floorWorker writes ConfigMaps through a connection of its own.
type floorWorker struct {
	c             client.Client
	create, patch []time.Duration
}

// floorPatch is the merge patch each ConfigMap gets after its create.
var floorPatch = client.RawPatch(types.MergePatchType, []byte(`{"data":{"patched":"true"}}`))

// measureFloor has -c clients create -n ConfigMaps in a namespace of their own and merge-patch
// each right after its create, then deletes them. It runs after the workload, while the managers
// idle, so that it measures the API server alone.
func measureFloor(ctx context.Context, c *cluster, cfg config, namespace string) (floorResult, error) {
	if err := c.admin.Create(ctx, &corev1.Namespace{ObjectMeta: objectMeta(namespace, "")}); err != nil {
		return floorResult{}, err
	}
	workers := make([]*floorWorker, cfg.clients)
	for i := range workers {
		w, err := c.adminClient()
		if err != nil {
			return floorResult{}, err
		}
		if err := w.Get(ctx, client.ObjectKey{Name: namespace}, &corev1.Namespace{}); err != nil { // opens the connection
			return floorResult{}, err
		}
		workers[i] = &floorWorker{c: w}
	}
	progress("measuring the write floor: %d ConfigMap creates and merge patches with %d clients", cfg.posts, cfg.clients)
	start := time.Now()
	err := forEachPost(ctx, cfg.posts, workers, func(ctx context.Context, w *floorWorker, i int) error {
		cm := &corev1.ConfigMap{ObjectMeta: objectMeta(fmt.Sprintf("floor-%05d", i), namespace),
			Data: map[string]string{"n": strconv.Itoa(i)}}
		sent := time.Now()
		if err := w.c.Create(ctx, cm); err != nil {
			return err
		}
		created := time.Now()
		if err := w.c.Patch(ctx, cm, floorPatch); err != nil {
			return err
		}
		w.create = append(w.create, created.Sub(sent))
		w.patch = append(w.patch, time.Since(created))
		return nil
	})
	if err != nil {
		return floorResult{}, err
	}
	f := floorResult{writes: 2 * cfg.posts, elapsed: time.Since(start)}
	for _, w := range workers {
		f.create = append(f.create, w.create...)
		f.patch = append(f.patch, w.patch...)
	}
	// The next run's managers would cache them otherwise.
	return f, c.admin.DeleteAllOf(ctx, &corev1.ConfigMap{}, client.InNamespace(namespace))
}
