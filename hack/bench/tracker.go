package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// postTimes is what the shared watch saw of one post, and when the bench received it.
type postTimes struct {
	phase greenlightv1alpha1.PostPhase
	stage string
	// inReview is set once the post was seen InReview.
	inReview bool
	// approved is when the post was first seen out of review: Scheduled, Publishing or Published.
	approved time.Time
	// done is when the post was first seen in the run's final phase.
	done time.Time
	// lastSignOff is when the response to the post's last SignOff create arrived.
	lastSignOff time.Time
	// stageWaiters are closed when the post's status.stage is the stage they wait for.
	stageWaiters map[string]chan struct{}
}

// tracker follows every post of a run through one watch. The bench's workers wait on it for
// stages to start and for the run to finish.
type tracker struct {
	mu    sync.Mutex
	posts map[string]*postTimes
	final greenlightv1alpha1.PostPhase
	n     int
	// inReview and done count the posts seen InReview and in the final phase.
	inReview, done int
	allInReview    chan struct{}
	allDone        chan struct{}
	// failed is closed, with failure set, when a post reaches a phase it can never leave
	// without someone acting: the run cannot finish.
	failed  chan struct{}
	failure string
}

func newTracker(n int, final greenlightv1alpha1.PostPhase) *tracker {
	return &tracker{posts: map[string]*postTimes{}, final: final, n: n,
		allInReview: make(chan struct{}), allDone: make(chan struct{}), failed: make(chan struct{})}
}

// stuckPhases are the phases from which a post of the bench never reaches its final phase.
var stuckPhases = []greenlightv1alpha1.PostPhase{greenlightv1alpha1.PostBlocked, greenlightv1alpha1.PostRejected,
	greenlightv1alpha1.PostChangesRequested, greenlightv1alpha1.PostExpired, greenlightv1alpha1.PostFailed}

// approvedPhases are the phases of a post that passed review.
var approvedPhases = []greenlightv1alpha1.PostPhase{greenlightv1alpha1.PostScheduled,
	greenlightv1alpha1.PostPublishing, greenlightv1alpha1.PostPublished}

// observe records a post as the watch delivered it at now.
func (t *tracker) observe(post *greenlightv1alpha1.ContentPost, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.postLocked(post.Name)
	phase := post.Status.Phase
	p.phase, p.stage = phase, post.Status.Stage
	if !p.inReview && phase == greenlightv1alpha1.PostInReview {
		p.inReview = true
		t.count(&t.inReview, t.allInReview)
	}
	if p.approved.IsZero() && slices.Contains(approvedPhases, phase) {
		p.approved = now
	}
	if p.done.IsZero() && phase == t.final {
		p.done = now
		t.count(&t.done, t.allDone)
	}
	for stage, ch := range p.stageWaiters {
		if stage == p.stage || !p.approved.IsZero() {
			close(ch)
			delete(p.stageWaiters, stage)
		}
	}
	if slices.Contains(stuckPhases, phase) {
		t.failLocked(fmt.Sprintf("post %s became %s: %s", post.Name, phase, stalledMessage(post)))
	}
}

// postLocked returns the named post's times, adding them the first time.
func (t *tracker) postLocked(name string) *postTimes {
	p := t.posts[name]
	if p == nil {
		p = &postTimes{stageWaiters: map[string]chan struct{}{}}
		t.posts[name] = p
	}
	return p
}

// fail ends the run with reason: something happened that keeps it from finishing.
func (t *tracker) fail(reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failLocked(reason)
}

func (t *tracker) failLocked(reason string) {
	if t.failure == "" {
		t.failure = reason
		close(t.failed)
	}
}

// count adds one to *n and closes all when it reaches the run's post count.
func (t *tracker) count(n *int, all chan struct{}) {
	*n++
	if *n == t.n {
		close(all)
	}
}

func stalledMessage(post *greenlightv1alpha1.ContentPost) string {
	if c := meta.FindStatusCondition(post.Status.Conditions, greenlightv1alpha1.ConditionStalled); c != nil {
		return c.Reason + ": " + c.Message
	}
	return "no Stalled condition"
}

// stageStarted returns a channel that is closed once the post is under review in stage (or past
// review altogether).
func (t *tracker) stageStarted(post, stage string) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := make(chan struct{})
	p := t.postLocked(post)
	if p.stage == stage || !p.approved.IsZero() {
		close(ch)
		return ch
	}
	p.stageWaiters[stage] = ch
	return ch
}

// signedOff records when the response to the post's last SignOff create arrived.
func (t *tracker) signedOff(post string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.postLocked(post).lastSignOff = at
}

// snapshot returns a copy of every post's times.
func (t *tracker) snapshot() map[string]postTimes {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]postTimes, len(t.posts))
	for name, p := range t.posts {
		out[name] = *p
	}
	return out
}

// phaseCounts says how many posts are in each phase, for a run that does not finish.
func (t *tracker) phaseCounts() string {
	t.mu.Lock()
	counts := map[greenlightv1alpha1.PostPhase]int{}
	for _, p := range t.posts {
		counts[p.phase]++
	}
	t.mu.Unlock()
	parts := make([]string, 0, len(counts))
	for _, phase := range slices.Sorted(maps.Keys(counts)) {
		name := string(phase)
		if name == "" {
			name = "(no status yet)"
		}
		parts = append(parts, fmt.Sprintf("%s=%d", name, counts[phase]))
	}
	return strings.Join(parts, " ")
}

// wait waits for all to close, for the run to fail, or for the deadline.
func (t *tracker) wait(ctx context.Context, all <-chan struct{}, what string) error {
	select {
	case <-all:
		return nil
	case <-t.failed:
		return fmt.Errorf("waiting for %s: %s (phases: %s)", what, t.failure, t.phaseCounts())
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w (phases: %s)", what, ctx.Err(), t.phaseCounts())
	}
}

// watchFunc adapts a function to the watcher a RetryWatcher restarts.
type watchFunc func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error)

func (f watchFunc) WatchWithContext(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
	return f(ctx, options)
}

var _ cache.WatcherWithContext = watchFunc(nil)

// watchNamespace watches one kind in namespace from now on, through a RetryWatcher that resumes
// after the API server closes a watch, and calls handle with each object and the time it
// arrived. It returns once the watch is established; the watch ends with ctx.
func watchNamespace(ctx context.Context, c client.WithWatch, list client.ObjectList, namespace string,
	handle func(watch.EventType, client.Object, time.Time)) error {
	// A list of one item gives the resource version to start from without reading the objects.
	if err := c.List(ctx, list, client.InNamespace(namespace), client.Limit(1)); err != nil {
		return err
	}
	start, err := meta.NewAccessor().ResourceVersion(list)
	if err != nil {
		return err
	}
	from := func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return c.Watch(ctx, list.DeepCopyObject().(client.ObjectList), client.InNamespace(namespace), &client.ListOptions{Raw: &o})
	}
	w, err := watchtools.NewRetryWatcherWithContext(ctx, start, watchFunc(from))
	if err != nil {
		return err
	}
	go func() {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.ResultChan():
				if !ok {
					return
				}
				if obj, isObject := e.Object.(client.Object); isObject && e.Type != watch.Bookmark && e.Type != watch.Error {
					handle(e.Type, obj, time.Now())
				}
			}
		}
	}()
	return nil
}
