package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// forEachPost calls work for posts 0..n-1, spread over the workers, each working on one post at
// a time. It stops at the first error and returns it.
func forEachPost[W any](ctx context.Context, n int, workers []W, work func(context.Context, W, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			for i := range next {
				if err := work(ctx, w, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// authorWorker creates posts through a connection of its own.
type authorWorker struct {
	c         client.Client
	latencies []time.Duration
}

// reviewerWorker signs off through one client per department, each its reviewer's.
type reviewerWorker struct {
	reviewers []client.Client
	latencies []time.Duration
}

// warmUp makes one read with c, so that its connection is open before the clock starts.
func warmUp(ctx context.Context, c client.Client, namespace string) error {
	return c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "bench-" + shardName(0)}, &greenlightv1alpha1.ApprovalPolicy{})
}

// createPosts creates every post as the author and waits until each is InReview. This intake
// is not part of the approval throughput.
func (r *benchRun) createPosts(ctx context.Context) error {
	workers := make([]*authorWorker, r.cfg.clients)
	for i := range workers {
		c, err := r.c.clientFor(author)
		if err != nil {
			return err
		}
		if err := warmUp(ctx, c, r.namespace); err != nil {
			return err
		}
		workers[i] = &authorWorker{c: c}
	}
	progress("creating %d posts as %s with %d clients", r.cfg.posts, author, r.cfg.clients)
	start := time.Now()
	err := forEachPost(ctx, r.cfg.posts, workers, func(ctx context.Context, w *authorWorker, i int) error {
		post := benchPost(r.cfg, r.namespace, i, r.shards)
		sent := time.Now()
		if err := w.c.Create(ctx, post); err != nil {
			return fmt.Errorf("creating ContentPost %s as %s: %w", post.Name, author, err)
		}
		w.latencies = append(w.latencies, time.Since(sent))
		return nil
	})
	if err != nil {
		return err
	}
	r.res.postsCreated = time.Since(start)
	if err := r.tracker.wait(ctx, r.tracker.allInReview, "every post to be InReview"); err != nil {
		return err
	}
	r.res.intake = time.Since(start)
	for _, w := range workers {
		r.res.postCreate = append(r.res.postCreate, w.latencies...)
	}
	return nil
}

// signOff is the measured phase: -c reviewer workers take posts from a queue and sign off each
// department of each stage, waiting for the post to enter a stage before signing its
// departments, as reviewers can only then. It ends when the watch has seen every post in its
// final phase.
func (r *benchRun) signOff(ctx context.Context) error {
	workers, err := r.reviewerWorkers(ctx)
	if err != nil {
		return err
	}
	progress("signing off %d posts (%d stage(s) of %d department(s)) with %d clients",
		r.cfg.posts, r.cfg.stages, r.cfg.departments, r.cfg.clients)
	var first sync.Once
	err = forEachPost(ctx, r.cfg.posts, workers, func(ctx context.Context, w *reviewerWorker, i int) error {
		first.Do(func() {
			r.res.signOffStart = time.Now()
			r.profileAPIServer(ctx)
		})
		return r.signOffPost(ctx, w, i)
	})
	if err != nil {
		return err
	}
	if err := r.tracker.wait(ctx, r.tracker.allDone, fmt.Sprintf("every post to be %s", r.tracker.final)); err != nil {
		return err
	}
	for _, w := range workers {
		r.res.signOffCreate = append(r.res.signOffCreate, w.latencies...)
	}
	return nil
}

// profileAPIServer starts a CPU profile of the API server in the background when
// -apiserver-profile asks for one; a failure is reported, not fatal.
func (r *benchRun) profileAPIServer(ctx context.Context) {
	if r.cfg.apiserverProfile == "" {
		return
	}
	go func() {
		if err := r.c.saveAPIServerProfile(ctx, r.cfg.apiserverProfile, 8); err != nil {
			progress("%v", err)
		}
	}()
}

func (r *benchRun) reviewerWorkers(ctx context.Context) ([]*reviewerWorker, error) {
	workers := make([]*reviewerWorker, r.cfg.clients)
	for i := range workers {
		w := &reviewerWorker{}
		for k := range r.cfg.stages * r.cfg.departments {
			c, err := r.c.clientFor(reviewerName(k))
			if err != nil {
				return nil, err
			}
			if err := warmUp(ctx, c, r.namespace); err != nil {
				return nil, err
			}
			w.reviewers = append(w.reviewers, c)
		}
		workers[i] = w
	}
	return workers, nil
}

// signOffPost approves post i for every department, stage by stage, and records when the
// response to its last SignOff create arrived.
func (r *benchRun) signOffPost(ctx context.Context, w *reviewerWorker, i int) error {
	post, shard := postName(i), shardOf(i, r.shards)
	var last time.Time
	for s := range r.cfg.stages {
		if s > 0 {
			select {
			case <-r.tracker.stageStarted(post, stageName(s)):
			case <-r.tracker.failed:
				return fmt.Errorf("waiting for %s to enter %s: %s", post, stageName(s), r.tracker.failure)
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s to enter %s: %w", post, stageName(s), ctx.Err())
			}
		}
		for d := range r.cfg.departments {
			k := s*r.cfg.departments + d
			signOff := benchSignOff(r.namespace, post, k, shard)
			sent := time.Now()
			if err := w.reviewers[k].Create(ctx, signOff); err != nil {
				return fmt.Errorf("creating SignOff %s as %s: %w", signOff.Name, reviewerName(k), err)
			}
			last = time.Now()
			w.latencies = append(w.latencies, last.Sub(sent))
		}
	}
	r.tracker.signedOff(post, last)
	return nil
}
