package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Phases lists every phase greenlight_posts always reports, zero or not.
var Phases = []greenlightv1alpha1.PostPhase{
	greenlightv1alpha1.PostDraft, greenlightv1alpha1.PostInReview, greenlightv1alpha1.PostChangesRequested,
	greenlightv1alpha1.PostRejected, greenlightv1alpha1.PostExpired, greenlightv1alpha1.PostScheduled,
	greenlightv1alpha1.PostPublishing, greenlightv1alpha1.PostPublished, greenlightv1alpha1.PostFailed,
	greenlightv1alpha1.PostBlocked,
}

// postsCollector reports greenlight_posts from the manager's cache at each scrape: no API call,
// and nothing to keep in step with the reconcilers. Only the leader reports it (the cache of a
// standby replica is as full, and two replicas would double the sum); with a shard, each shard's
// leader reports its own posts.
type postsCollector struct {
	posts   client.Reader
	elected <-chan struct{}
	desc    *prometheus.Desc
}

func newPostsCollector(posts client.Reader, elected <-chan struct{}) *postsCollector {
	return &postsCollector{posts: posts, elected: elected, desc: prometheus.NewDesc(Posts,
		"Posts by phase, counted from the leading manager's cache; every phase is always present.", []string{"phase"}, nil)}
}

// postsListTimeout bounds a scrape's wait for a cache that is still syncing.
const postsListTimeout = 5 * time.Second

func (c *postsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *postsCollector) Collect(ch chan<- prometheus.Metric) {
	select {
	case <-c.elected:
	default:
		return // a standby replica: the leader reports
	}
	ctx, cancel := context.WithTimeout(context.Background(), postsListTimeout)
	defer cancel()
	var posts greenlightv1alpha1.ContentPostList
	// Read only: no copy of every post (bodies included) on each scrape.
	if err := c.posts.List(ctx, &posts, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for phase, n := range CountPhases(posts.Items) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(phase))
	}
}

// CountPhases counts posts by phase, with every phase present; a post not reconciled yet (no
// phase) is not counted.
func CountPhases(posts []greenlightv1alpha1.ContentPost) map[greenlightv1alpha1.PostPhase]int {
	counts := make(map[greenlightv1alpha1.PostPhase]int, len(Phases))
	for _, p := range Phases {
		counts[p] = 0
	}
	for i := range posts {
		if _, known := counts[posts[i].Status.Phase]; known {
			counts[posts[i].Status.Phase]++
		}
	}
	return counts
}
