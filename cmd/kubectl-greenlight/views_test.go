package main

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/publish/jobplay"
)

// The queue lists what waits on the user's departments, oldest request first, and nothing the
// user wrote, approved already, or may not approve.
func TestTheQueueShowsOnlyWhatYouMayApprove(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	submit(t, ns, "first")
	submit(t, ns, "second", func(p *greenlightv1alpha1.ContentPost) { p.Spec.Campaign = "" })

	alice := kubectl("alice", ns, "queue")
	g.Expect(alice.code).To(Equal(0), alice.errOut)
	lines := strings.Split(strings.TrimSpace(alice.out), "\n")
	g.Expect(lines).To(HaveLen(3))
	g.Expect(strings.Fields(lines[0])).To(Equal([]string{"POST", "DEPARTMENT", "STAGE", "WAITING", "DEADLINE", "CAMPAIGN"}))
	g.Expect(lines[1]).To(MatchRegexp(`^first\s+marketing\s+brand\s+\S+\s+4[78]h left \(\d{4}-\d\d-\d\d \d\d:\d\d \S+\)\s+spring-launch$`))
	g.Expect(lines[2]).To(MatchRegexp(`^second\s+marketing\s+brand\s+\S+\s+4[78]h left .*\s+-$`))

	// dana is in marketing but wrote both posts; carol's department has not been asked yet.
	g.Expect(kubectl("dana", ns, "queue").out).To(Equal("Nothing waits on you (dana).\n"))
	g.Expect(kubectl("carol", ns, "queue").out).To(Equal("Nothing waits on you (carol).\n"))
	g.Expect(kubectl("mallory", ns, "queue").out).To(Equal("Nothing waits on you (mallory).\n"))

	// erin (marketing and public-relations) sees both departments of both posts; once she
	// approved first's marketing, it leaves her queue.
	g.Expect(strings.Count(kubectl("erin", ns, "queue").out, "\n")).To(Equal(5))
	g.Expect(kubectl("erin", ns, "approve", "first", "--department", "marketing").code).To(Equal(0))
	erin := kubectl("erin", ns, "queue")
	g.Expect(erin.out).NotTo(MatchRegexp(`first\s+marketing`))
	g.Expect(erin.out).To(MatchRegexp(`first\s+public-relations`))
	g.Expect(strings.Count(erin.out, "\n")).To(Equal(4))
	g.Expect(kubectl("alice", ns, "queue").out).NotTo(ContainSubstring("first"), "marketing has approved first")

	// Across namespaces, with the namespace shown; identity follows --as as in kubectl.
	all := kubectl("admin", "", "--as", "alice", "--as-group", "marketing", "--as-group", "system:authenticated", "queue", "-A")
	g.Expect(all.code).To(Equal(0), all.errOut)
	g.Expect(all.out).To(HavePrefix("NAMESPACE"))
	g.Expect(all.out).To(MatchRegexp(`(?m)^` + ns + `\s+second\s+marketing\s`))
	g.Expect(all.out).NotTo(MatchRegexp(`(?m)^` + ns + `\s+first\s`))
}

// A policy admin freezes and unfreezes a policy; others may not.
func TestFreezeAndUnfreezeRoundTrip(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	submit(t, ns, "launch")
	for _, reviewer := range []string{"alice", "bob", "carol"} {
		g.Expect(kubectl(reviewer, ns, "approve", "launch").code).To(Equal(0))
	}
	policy := &greenlightv1alpha1.ApprovalPolicy{}
	key := client.ObjectKey{Namespace: ns, Name: "acme"}

	frozen := kubectl("pat", ns, "freeze", "acme", "--reason", "crisis: all publishing halted")
	g.Expect(frozen.code).To(Equal(0), frozen.errOut)
	g.Expect(frozen.out).To(Equal("ApprovalPolicy acme is frozen (\"crisis: all publishing halted\"): no post it matches publishes " +
		"until `kubectl greenlight unfreeze acme`.\n"))
	g.Expect(k.Get(ctx, key, policy)).To(Succeed())
	g.Expect(policy.Spec.Freeze).To(Equal(&greenlightv1alpha1.Freeze{Reason: "crisis: all publishing halted"}))
	g.Expect(policy.Spec.Stages).To(HaveLen(2), "a merge patch leaves the rest of the spec alone")

	g.Eventually(func(g Gomega) {
		status := kubectl("alice", ns, "status", "launch")
		g.Expect(status.out).To(ContainSubstring("\n  Frozen: Publishing is frozen by acme: crisis: all publishing halted.\n"))
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())

	refused := kubectl("alice", ns, "unfreeze", "acme")
	g.Expect(refused.code).To(Equal(1))
	g.Expect(refused.errOut).To(ContainSubstring(`User "alice" cannot patch resource "approvalpolicies"`))

	g.Expect(kubectl("pat", ns, "freeze", "acme").errOut).To(
		Equal("error: freeze needs --reason TEXT: it is shown on every post the freeze stops\n"))
	g.Expect(kubectl("pat", ns, "freeze", "nope", "--reason", "x").errOut).To(Equal("error: there is no ApprovalPolicy nope in namespace " +
		ns + ": check the name with `kubectl get approvalpolicies -n " + ns + "`\n"))

	thawed := kubectl("pat", ns, "unfreeze", "acme")
	g.Expect(thawed.code).To(Equal(0), thawed.errOut)
	g.Expect(thawed.out).To(Equal("ApprovalPolicy acme is not frozen: its approved posts publish when their time and windows come.\n"))
	g.Expect(k.Get(ctx, key, policy)).To(Succeed())
	g.Expect(policy.Spec.Freeze).To(BeNil())
	g.Expect(policy.Spec.Stages).To(HaveLen(2))
}

// history shows every sign-off, counted or not and why, and what was published where.
func TestHistoryListsEverySignOffAndWhatWasPublished(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	submit(t, ns, "launch", func(p *greenlightv1alpha1.ContentPost) { p.Spec.PublishAt = nil })

	g.Expect(kubectl("alice", ns, "approve", "launch", "-m", "On brand.").code).To(Equal(0))
	g.Expect(kubectl("bob", ns, "request-changes", "launch", "-m", "Say when it ships.").code).To(Equal(0))
	// dana edits the body: alice's approval and bob's request are for the old revision now.
	g.Expect(retryUpdate(t, "dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) {
		p.Spec.Body = "Our spring line ships on Monday"
	})).To(Succeed())
	waitForDepartment(t, ns, "launch", "marketing", greenlightv1alpha1.DepartmentPending)
	g.Expect(kubectl("erin", ns, "approve", "launch", "--department", "marketing").code).To(Equal(0))
	g.Expect(kubectl("bob", ns, "approve", "launch").code).To(Equal(0))
	g.Expect(kubectl("carol", ns, "approve", "launch", "-m", "Fine.").code).To(Equal(0))

	// The post publishes through one Job, which reports where the post now lives.
	job := finishTheJob(g, ns, true, `{"id":"109","url":"https://social.example/@acme/109"}`)
	g.Eventually(func(g Gomega) {
		post := &greenlightv1alpha1.ContentPost{}
		g.Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: "launch"}, post)).To(Succeed())
		g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostPublished))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())

	history := kubectl("mallory", ns, "history", "launch")
	g.Expect(history.code).To(Equal(0), history.errOut)
	out := history.out
	g.Expect(out).To(MatchRegexp(`^launch \(namespace ` + ns + `\): Published, revision [0-9a-f]{12}\nSign-offs\n`))
	g.Expect(out).To(MatchRegexp(`  \d{4}-\d\d-\d\d \d\d:\d\d \S+  alice approved for marketing  \(SignOff launch-marketing-[a-z0-9]{5}\)\n` +
		`      revision [0-9a-f]{12}; (responded after \S+; )?does not count \(StaleRevision\): [^\n]+\n` +
		`      comment: "On brand."\n`))
	g.Expect(out).To(MatchRegexp(`  bob requested changes for public-relations  .*\n      revision [0-9a-f]{12}; (responded after \S+; )?` +
		`does not count \(StaleRevision\): .*\n      comment: "Say when it ships."\n`))
	for _, counted := range []string{"erin approved for marketing", "bob approved for public-relations", "carol approved for legal"} {
		g.Expect(out).To(MatchRegexp(counted + `  .*\n      revision [0-9a-f]{12}; (responded after \S+; )?counts\n`))
	}
	g.Expect(out).To(MatchRegexp(`Published\n  mastodon: Succeeded; attempts 1; job ` + job.Name +
		`; at \d{4}-\d\d-\d\d \d\d:\d\d \S+; https://social.example/@acme/109\n$`))
}

// status draws the review tree from the cluster's post (the layout itself is pinned by the
// golden files of TestStatusLayout).
func TestStatusShowsEachStageAndDepartment(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	submit(t, ns, "launch")
	g.Expect(kubectl("alice", ns, "approve", "launch").code).To(Equal(0))

	status := kubectl("carol", ns, "status", "launch")
	g.Expect(status.code).To(Equal(0), status.errOut)
	g.Expect(status.out).To(MatchRegexp(`^launch \(namespace ` + ns + `\): InReview, stage brand, waiting on public-relations\n`))
	g.Expect(status.out).To(ContainSubstring("publish at 2099-01-01 09:00"))
	g.Expect(status.out).To(MatchRegexp(`(?m)^│   ├── marketing         Approved  1/1  by alice at \d{4}-\d\d-\d\d \d\d:\d\d \S+$`))
	g.Expect(status.out).To(MatchRegexp(`(?m)^│   └── public-relations  Pending   0/1  deadline \S+ \S+ \S+ \(4[78]h left\)$`))
	g.Expect(status.out).To(MatchRegexp(`(?m)^└── stage compliance\n    └── legal             Waiting   for an earlier stage$`))
	g.Expect(status.out).To(HaveSuffix("Publishing: not started (channels mastodon)\n"))
	g.Expect(status.out).NotTo(ContainSubstring("\x1b["), "no colour when output is not a terminal")

	g.Expect(kubectl("carol", ns, "status", "nope").errOut).To(HavePrefix("error: there is no ContentPost nope in namespace"))
}

// What others write never reaches the terminal as control characters: a publisher whose last
// words try to move the cursor up and redraw a line, then hide the rest, is shown flat.
func TestStatusNeverPrintsControlCharactersItRead(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	submit(t, ns, "launch", func(p *greenlightv1alpha1.ContentPost) { p.Spec.PublishAt = nil })
	for _, person := range []string{"alice", "bob", "carol"} {
		g.Expect(kubectl(person, ns, "approve", "launch").code).To(Equal(0))
	}
	finishTheJob(g, ns, false, "401\x1b[1A\x1b[2K    └── legal  Approved  1/1  by carol\x1b[8m")
	g.Eventually(func(g Gomega) {
		post := &greenlightv1alpha1.ContentPost{}
		g.Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: "launch"}, post)).To(Succeed())
		g.Expect(post.Status.Phase).To(Equal(greenlightv1alpha1.PostFailed))
		g.Expect(post.Status.Channels[0].Message).To(ContainSubstring("\x1b[8m"), "the status holds what the publisher said")
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())

	status := kubectl("carol", ns, "status", "launch")
	g.Expect(status.code).To(Equal(0), status.errOut)
	g.Expect(status.out).To(ContainSubstring("401?[1A?[2K └── legal Approved 1/1 by carol?[8m"))
	g.Expect(status.out).NotTo(ContainSubstring("\x1b"))
}

// Shell completion offers the namespace's posts and the post's departments, pending first.
func TestCompletionOffersPostsAndDepartments(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	submit(t, ns, "launch")

	posts := kubectl("alice", ns, "__complete", "approve", "")
	g.Expect(posts.code).To(Equal(0), posts.errOut)
	g.Expect(posts.out).To(HavePrefix("launch\tInReview\n:4\n"))

	departments := kubectl("alice", ns, "__complete", "approve", "launch", "--department", "")
	g.Expect(departments.out).To(HavePrefix("marketing\tPending\npublic-relations\tPending\nlegal\tWaiting\n:36\n"))

	policies := kubectl("pat", ns, "__complete", "freeze", "")
	g.Expect(policies.out).To(HavePrefix("acme\n:4\n"))

	script := kubectl("alice", ns, "completion", "bash")
	g.Expect(script.code).To(Equal(0))
	g.Expect(script.out).To(ContainSubstring("__start_kubectl-greenlight"))
}

// retryUpdate edits a post as person, retrying when the controller's status write won the race.
func retryUpdate(t *testing.T, person, ns, name string, edit func(*greenlightv1alpha1.ContentPost)) error {
	ctx, as := context.Background(), asUser(t, person)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		post := &greenlightv1alpha1.ContentPost{}
		if err := k.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, post); err != nil {
			return err
		}
		edit(post)
		return as.Update(ctx, post)
	})
}

// finishTheJob plays the Job controller and the kubelet for the one publishing Job of namespace:
// its pod terminates with message, and the Job completes or fails. It returns the Job.
func finishTheJob(g Gomega, namespace string, succeeded bool, message string) *batchv1.Job {
	ctx := context.Background()
	var job batchv1.Job
	g.Eventually(func(g Gomega) {
		jobs := &batchv1.JobList{}
		g.Expect(k.List(ctx, jobs, client.InNamespace(namespace))).To(Succeed())
		g.Expect(jobs.Items).To(HaveLen(1))
		job = jobs.Items[0]
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	pod := jobplay.Pod(&job)
	g.Expect(k.Create(ctx, pod)).To(Succeed())
	pod.Status = jobplay.TerminatedStatus(pod, succeeded, message)
	g.Expect(k.Status().Update(ctx, pod)).To(Succeed())
	jobplay.Finish(&job, succeeded, time.Now())
	g.Expect(k.Status().Update(ctx, &job)).To(Succeed())
	return &job
}
