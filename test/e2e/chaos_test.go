//go:build e2e && chaos

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestChaos sends CHAOS_POSTS posts (default 300) across 3 namespaces and 2 channels each through
// approval and publishing while the leading manager is killed CHAOS_KILLS times (default 20) at
// random moments, alternately by deleting its pod and by killing its process, and checks that
// nothing is lost, stuck or published twice.
func TestChaos(t *testing.T) {
	g := NewWithT(t)
	posts, kills := envInt("CHAOS_POSTS", 300), envInt("CHAOS_KILLS", 20)
	budget := time.Duration(envInt("CHAOS_MINUTES", 10)) * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()

	rcv := startReceiver(t, publishSecret)
	namespaces := []string{"chaos-a", "chaos-b", "chaos-c"}
	for _, ns := range namespaces {
		setUpNamespace(t, ctx, ns, rcv, "mastodon", "linkedin")
	}

	people := map[string]client.Client{}
	for _, person := range []string{"dana", "alice", "bob", "carol"} {
		people[person] = mustClient(t, person)
	}
	var done atomic.Bool
	killed := make(chan map[string]int, 1)
	go func() { killed <- killLeaders(t, ctx, kills, &done) }()
	// However the test ends, the killer stops before it does (it reports through t).
	drained := false
	defer func() {
		if !drained {
			done.Store(true)
			cancel()
			<-killed
		}
	}()

	// Authors and reviewers work in parallel; a request that fails while a manager dies is
	// retried, as a person would.
	work := make(chan int)
	var wg sync.WaitGroup
	var failures sync.Map
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := createAndApprove(ctx, people, namespaces[i%len(namespaces)], fmt.Sprintf("post-%04d", i)); err != nil {
					failures.Store(i, err)
				}
			}
		}()
	}
	for i := range posts {
		work <- i
	}
	close(work)
	wg.Wait()
	failures.Range(func(k, v any) bool {
		t.Errorf("post %v: %v", k, v)
		return true
	})

	// Every post must end Published, each channel once.
	var final map[string]*greenlightv1alpha1.ContentPost
	g.Eventually(func() (int, error) {
		listed, err := listPosts(ctx, namespaces)
		if err != nil {
			return -1, err
		}
		final = listed
		published := 0
		for _, p := range final {
			if p.Status.Phase == greenlightv1alpha1.PostPublished {
				published++
			}
		}
		return published, err
	}).WithContext(ctx).WithPolling(2*time.Second).Should(Equal(posts), func() string {
		return fmt.Sprintf("posts Published before the budget of %s ran out; phases: %v", budget, phaseCounts(final))
	})
	elapsed := time.Since(start)
	done.Store(true)
	byKind := <-killed
	drained = true

	attempts, delivered, _, badSigs := rcv.snapshot()
	duplicates := 0
	for key, n := range delivered {
		if n > 1 {
			duplicates += n - 1
			t.Errorf("key %s was delivered %d times", key, n)
		}
	}
	g.Expect(badSigs).To(BeZero())
	g.Expect(delivered).To(HaveLen(posts*2), "one delivery per post and channel")
	for name, p := range final {
		g.Expect(p.Status.Channels).To(HaveLen(2), "post %s", name)
		for _, ch := range p.Status.Channels {
			g.Expect(ch.State).To(Equal(greenlightv1alpha1.PublishSucceeded), "post %s channel %s", name, ch.Name)
			g.Expect(ch.URL).NotTo(BeEmpty(), "post %s channel %s", name, ch.Name)
		}
	}
	signOffs := 0
	for _, ns := range namespaces {
		var list greenlightv1alpha1.SignOffList
		g.Expect(admin.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		for _, s := range list.Items {
			g.Expect(meta.IsStatusConditionTrue(s.Status.Conditions, greenlightv1alpha1.ConditionCounted)).
				To(BeTrue(), "SignOff %s/%s counts", ns, s.Name)
		}
		signOffs += len(list.Items)
	}
	g.Expect(signOffs).To(Equal(posts*len(departments)), "no SignOff lost")
	requests := 0
	for _, n := range attempts {
		requests += n
	}
	fmt.Printf("chaos: posts=%d channels=%d kills=%d (pod deletions %d, process kills %d; %d after the last post was published) "+
		"deliveries=%d requests=%d duplicates=%d signoffs=%d time=%s\n", posts, posts*2, byKind["pod"]+byKind["process"],
		byKind["pod"], byKind["process"], byKind["late"], len(delivered), requests, duplicates, signOffs, elapsed.Round(time.Second))
	g.Expect(byKind["pod"]+byKind["process"]).To(Equal(kills), "the leader was killed as often as asked")
	waitForReplicas(t, context.Background())
}

// createAndApprove creates a post as dana and signs it off for every department, retrying what
// fails while a manager is down (AlreadyExists means an earlier try got through).
func createAndApprove(ctx context.Context, people map[string]client.Client, namespace, name string) error {
	post := newPost(namespace, name, "mastodon", "linkedin")
	if err := retry(ctx, func() error { return ignoreExists(people["dana"].Create(ctx, post.DeepCopy())) }); err != nil {
		return fmt.Errorf("creating: %w", err)
	}
	// Sign off once the post is in review (a SignOff for a post still in Draft is denied).
	if err := retry(ctx, func() error {
		p := &greenlightv1alpha1.ContentPost{}
		if err := admin.Get(ctx, client.ObjectKeyFromObject(post), p); err != nil {
			return err
		}
		if p.Status.Phase != greenlightv1alpha1.PostInReview {
			return fmt.Errorf("phase %q", p.Status.Phase)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("waiting for InReview: %w", err)
	}
	for _, d := range departments {
		reviewer := people[d.approver]
		if err := retry(ctx, func() error { return ignoreExists(reviewer.Create(ctx, signOff(namespace, name, d.name))) }); err != nil {
			return fmt.Errorf("%s signing off: %w", d.approver, err)
		}
	}
	return nil
}

func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func phaseCounts(posts map[string]*greenlightv1alpha1.ContentPost) map[greenlightv1alpha1.PostPhase]int {
	counts := map[greenlightv1alpha1.PostPhase]int{}
	for _, p := range posts {
		counts[p.Status.Phase]++
	}
	return counts
}

func listPosts(ctx context.Context, namespaces []string) (map[string]*greenlightv1alpha1.ContentPost, error) {
	all := map[string]*greenlightv1alpha1.ContentPost{}
	for _, ns := range namespaces {
		var list greenlightv1alpha1.ContentPostList
		if err := admin.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		for i := range list.Items {
			all[ns+"/"+list.Items[i].Name] = &list.Items[i]
		}
	}
	return all, nil
}

// killLeaders kills the leading manager n times at random moments, alternately deleting its pod
// and killing its process (SIGKILL, found on this host by the POD_NAME in its environment); after
// each kill it waits until another process holds the lease, so that every kill hits a leader. It
// returns the kills by kind.
func killLeaders(t *testing.T, ctx context.Context, n int, done *atomic.Bool) map[string]int {
	byKind := map[string]int{}
	for i := range n {
		select {
		case <-ctx.Done():
			return byKind
		case <-time.After(time.Duration(1000+rand.IntN(3000)) * time.Millisecond):
		}
		holder := leaderIdentity(t, ctx)
		pod, _, _ := strings.Cut(holder, "_")
		kind := "pod"
		if i%2 == 1 {
			kind = "process"
		}
		if err := killLeader(ctx, pod, kind); err != nil {
			t.Errorf("kill %d (%s of %s): %v", i+1, kind, pod, err)
			continue
		}
		byKind[kind]++
		if done.Load() {
			byKind["late"]++
		}
		if err := retryFor(ctx, 2*time.Minute, func() error {
			if now := leaderIdentity(t, ctx); now == holder {
				return fmt.Errorf("%s still holds the lease", holder)
			}
			return nil
		}); err != nil {
			t.Errorf("after kill %d: %v", i+1, err)
		}
	}
	return byKind
}

func killLeader(ctx context.Context, pod, kind string) error {
	if kind == "pod" {
		zero := int64(0)
		return admin.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: pod}},
			&client.DeleteOptions{GracePeriodSeconds: &zero})
	}
	pid, err := managerPID(pod)
	if err != nil {
		return err
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// managerPID finds the manager process of pod on this host by POD_NAME in its environment.
func managerPID(pod string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if !strings.HasPrefix(string(cmdline), "/manager\x00") {
			continue
		}
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		for _, kv := range strings.Split(string(environ), "\x00") {
			if kv == "POD_NAME="+pod {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no manager process of pod %s on this host", pod)
}
