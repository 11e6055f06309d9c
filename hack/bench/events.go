package main

import (
	"context"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The Event reasons every post must have (controllers/contentpost_events.go).
const (
	reasonReviewRequested = "ReviewRequested"
	reasonApproved        = "Approved"
	reasonPublished       = "Published"
)

// eventCounts compares the Events written on posts with those every post must have.
type eventCounts struct {
	// expected, written, missing and extra are totals over the posts, by reason; written holds
	// every reason seen, checked or not.
	expected, written, missing, extra map[string]int
	// repeated counts the Events the recorder wrote again (count above 1), included in written.
	repeated int
	// settled is how long the count took to stop changing after the workload.
	settled time.Duration
}

func (e eventCounts) totalMissing() int { return sum(e.missing) }

// expectedEvents is what each post must have: one ReviewRequested per stage, when the stage
// starts, one Approved when it passes review, and with -publish one Published.
func expectedEvents(cfg config) map[string]int {
	expected := map[string]int{reasonReviewRequested: cfg.stages, reasonApproved: 1}
	if cfg.publish {
		expected[reasonPublished] = 1
	}
	return expected
}

// countEvents counts the Events on the namespace's posts once their number stops changing (the
// manager's recorder writes them in the background), for at most a minute.
func countEvents(ctx context.Context, c client.Client, cfg config, namespace string) (eventCounts, error) {
	start := time.Now()
	var counts eventCounts
	unchangedSince := time.Now()
	for {
		next, err := listEvents(ctx, c, cfg, namespace)
		if err != nil {
			return counts, err
		}
		if !maps.Equal(next.written, counts.written) {
			unchangedSince = time.Now()
		}
		counts = next
		counts.settled = time.Since(start)
		if counts.totalMissing() == 0 || time.Since(unchangedSince) > 5*time.Second || time.Since(start) > time.Minute {
			return counts, nil
		}
		select {
		case <-ctx.Done():
			return counts, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func listEvents(ctx context.Context, c client.Client, cfg config, namespace string) (eventCounts, error) {
	// perPost counts each post's Events by reason.
	perPost := map[string]map[string]int{}
	counts := eventCounts{written: map[string]int{}}
	var list corev1.EventList
	opts := []client.ListOption{client.InNamespace(namespace), client.Limit(500)}
	for {
		if err := c.List(ctx, &list, opts...); err != nil {
			return counts, err
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Kind != "ContentPost" {
				continue
			}
			if perPost[e.InvolvedObject.Name] == nil {
				perPost[e.InvolvedObject.Name] = map[string]int{}
			}
			// A recorder folds a repeat of an Event into the first one: core/v1 recorders count it
			// in count, events.k8s.io ones in series.count. Each repeat was emitted once more.
			written := max(int(e.Count), 1)
			if e.Series != nil {
				written = max(written, int(e.Series.Count))
			}
			perPost[e.InvolvedObject.Name][e.Reason] += written
			counts.written[e.Reason] += written
			counts.repeated += written - 1
		}
		if list.Continue == "" {
			break
		}
		opts = []client.ListOption{client.InNamespace(namespace), client.Limit(500), client.Continue(list.Continue)}
	}
	counts.expected, counts.missing, counts.extra = map[string]int{}, map[string]int{}, map[string]int{}
	for i := range cfg.posts {
		got := perPost[postName(i)]
		for reason, want := range expectedEvents(cfg) {
			counts.expected[reason] += want
			counts.missing[reason] += max(0, want-got[reason])
			counts.extra[reason] += max(0, got[reason]-want)
		}
	}
	return counts, nil
}

func sum[K comparable](m map[K]int) int {
	total := 0
	for _, n := range m {
		total += n
	}
	return total
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
