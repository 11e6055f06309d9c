//go:build e2e

// Package e2e tests Greenlight deployed from its image on the local cluster (hack/local-cluster,
// config/local): as the people of the demo, through the API server, with publish Jobs whose pods
// really run the publisher against a receiver on 127.0.0.1. `make test-e2e` brings the cluster up,
// deploys Greenlight and runs these tests with E2E_CLUSTER_DIR set.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

const (
	managerNamespace = "greenlight-system"
	managerLease     = "greenlight.greenlight.dev"
	publishSecret    = "e2e-shared-secret" //nolint:gosec // G101: the test receiver's signing key, not a credential
)

var (
	scheme     = runtime.NewScheme()
	clusterDir string
	admin      client.Client
)

func TestMain(m *testing.M) {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(greenlightv1alpha1.AddToScheme(scheme))
	ctrllog.SetLogger(logr.Discard())
	clusterDir = os.Getenv("E2E_CLUSTER_DIR")
	if clusterDir == "" {
		fmt.Fprintln(os.Stderr, "E2E_CLUSTER_DIR is not set: run these tests with make test-e2e")
		os.Exit(1)
	}
	var err error
	if admin, err = clientFor("admin"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// clientFor returns a client with a person's kubeconfig (alice, bob, carol, dana), or the
// administrator's for "admin".
func clientFor(person string) (client.Client, error) {
	path := filepath.Join(clusterDir, "users", person+".kubeconfig")
	if person == "admin" {
		path = filepath.Join(clusterDir, "kubeconfig")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("reading %s's kubeconfig: %w", person, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	return client.New(cfg, client.Options{Scheme: scheme})
}

func mustClient(t *testing.T, person string) client.Client {
	t.Helper()
	c, err := clientFor(person)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// departments of the e2e policy, all in one stage, and who approves each.
var departments = []struct{ name, approver string }{
	{"marketing", "alice"}, {"public-relations", "bob"}, {"legal", "carol"},
}

// setUpNamespace creates a namespace with the people's role bindings, the publisher's Secret
// pointing at rcv, and a policy whose channels run Greenlight's publisher from the image.
func setUpNamespace(t *testing.T, ctx context.Context, name string, rcv *receiver, channels ...string) {
	t.Helper()
	g := NewWithT(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	g.Expect(admin.Create(ctx, ns)).To(Succeed())
	t.Cleanup(func() { _ = admin.Delete(context.Background(), ns) })
	objs := []client.Object{
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "authors", Namespace: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "greenlight-author"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "dana"}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "reviewers", Namespace: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "greenlight-reviewer"},
			Subjects: []rbacv1.Subject{
				{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "marketing"},
				{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "public-relations"},
				{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "legal"},
			},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "publisher-webhook", Namespace: name},
			StringData: map[string]string{"WEBHOOK_URL": rcv.url, "WEBHOOK_SECRET": publishSecret},
		},
		e2ePolicy(name, channels),
	}
	for _, obj := range objs {
		g.Expect(admin.Create(ctx, obj)).To(Succeed(), "creating %T %s", obj, obj.GetName())
	}
}

func e2ePolicy(namespace string, channels []string) *greenlightv1alpha1.ApprovalPolicy {
	stage := greenlightv1alpha1.Stage{Name: "review"}
	for _, d := range departments {
		stage.Departments = append(stage.Departments, greenlightv1alpha1.Department{
			Name: d.name, Approvers: greenlightv1alpha1.Approvers{Groups: []string{d.name}},
		})
	}
	publishing := &greenlightv1alpha1.Publishing{Channels: map[string]greenlightv1alpha1.ChannelPublishing{}}
	for _, ch := range channels {
		publishing.Channels[ch] = greenlightv1alpha1.ChannelPublishing{JobTemplate: publisherJob()}
	}
	return &greenlightv1alpha1.ApprovalPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e", Namespace: namespace},
		Spec: greenlightv1alpha1.ApprovalPolicySpec{
			Selector:   &metav1.LabelSelector{MatchLabels: map[string]string{"brand": "e2e"}},
			Stages:     []greenlightv1alpha1.Stage{stage},
			Publishing: publishing,
		},
	}
}

// publisherJob runs the image's publisher with the webhook driver on the host network, where the
// receiver listens.
func publisherJob() batchv1.JobTemplateSpec {
	backoff := int32(0)
	return batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
		BackoffLimit: &backoff,
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			HostNetwork:   true,
			DNSPolicy:     corev1.DNSDefault,
			Containers: []corev1.Container{{
				Name:            "publish",
				Image:           "greenlight:dev",
				ImagePullPolicy: corev1.PullNever,
				Command:         []string{"/publisher"},
				Args:            []string{"--driver=webhook", "--allow-http"},
				EnvFrom:         []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "publisher-webhook"}}}},
			}},
		}},
	}}
}

// scenario gives one test its namespace (see setUpNamespace) and receiver, and the post it
// works with, not created yet.
func scenario(t *testing.T, namespace string, channels ...string) (*receiver, *greenlightv1alpha1.ContentPost) {
	t.Helper()
	rcv := startReceiver(t, publishSecret)
	setUpNamespace(t, context.Background(), namespace, rcv, channels...)
	return rcv, newPost(namespace, "launch", channels...)
}

func newPost(namespace, name string, channels ...string) *greenlightv1alpha1.ContentPost {
	post := &greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"brand": "e2e"}},
		Spec:       greenlightv1alpha1.ContentPostSpec{Author: "dana", Body: "Spring is here: " + name},
	}
	for _, ch := range channels {
		post.Spec.Channels = append(post.Spec.Channels, greenlightv1alpha1.Channel{Name: ch})
	}
	return post
}

func signOff(namespace, post, department string) *greenlightv1alpha1.SignOff {
	return &greenlightv1alpha1.SignOff{
		ObjectMeta: metav1.ObjectMeta{Name: post + "-" + department, Namespace: namespace},
		Spec: greenlightv1alpha1.SignOffSpec{
			Post: post, Department: department, Decision: greenlightv1alpha1.DecisionApprove,
		},
	}
}

// approve creates the post as dana and signs it off as each department's reviewer.
func approve(t *testing.T, ctx context.Context, post *greenlightv1alpha1.ContentPost) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(mustClient(t, "dana").Create(ctx, post)).To(Succeed())
	waitPhase(t, ctx, post, greenlightv1alpha1.PostInReview, 60*time.Second)
	for _, d := range departments {
		g.Expect(mustClient(t, d.approver).Create(ctx, signOff(post.Namespace, post.Name, d.name))).
			To(Succeed(), "%s signing off for %s", d.approver, d.name)
	}
}

func waitPhase(t *testing.T, ctx context.Context, post *greenlightv1alpha1.ContentPost, phase greenlightv1alpha1.PostPhase,
	within time.Duration) *greenlightv1alpha1.ContentPost {
	t.Helper()
	got := &greenlightv1alpha1.ContentPost{}
	NewWithT(t).Eventually(func() (greenlightv1alpha1.PostPhase, error) {
		err := admin.Get(ctx, client.ObjectKeyFromObject(post), got)
		return got.Status.Phase, err
	}).WithTimeout(within).WithPolling(250*time.Millisecond).Should(Equal(phase),
		"post %s/%s never became %s; status: %+v", post.Namespace, post.Name, phase, &got.Status)
	return got
}

func TestPublishesThroughARealJob(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	rcv, post := scenario(t, "e2e-publish", "mastodon")
	ns := post.Namespace
	approve(t, ctx, post)
	published := waitPhase(t, ctx, post, greenlightv1alpha1.PostPublished, 2*time.Minute)

	_, delivered, bodies, badSigs := rcv.snapshot()
	g.Expect(badSigs).To(BeZero(), "deliveries with a bad signature")
	g.Expect(delivered).To(HaveLen(1), "one delivery per channel")
	for key, n := range delivered {
		g.Expect(n).To(Equal(1), "deliveries with key %s", key)
		d := bodies[key]
		g.Expect(d.Body).To(Equal(post.Spec.Body))
		g.Expect(d.Revision).To(Equal(published.Status.Revision), "the approved revision was delivered")
		g.Expect(published.Status.Channels).To(HaveLen(1))
		g.Expect(published.Status.Channels[0].URL).To(Equal(rcv.origin + "/posts/mastodon/" + published.Status.Channels[0].ID))
	}

	var pods corev1.PodList
	g.Expect(admin.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
	job := published.Status.Channels[0].Job
	ran := false
	for _, p := range pods.Items {
		if p.Labels["job-name"] == job && p.Status.Phase == corev1.PodSucceeded && p.Spec.NodeName != "" {
			ran = true
		}
	}
	g.Expect(ran).To(BeTrue(), "a pod of Job %s ran on the node and succeeded; pods: %v", job, podSummary(pods))
}

// Insights on the real node: an insights Job's pod runs the publisher in insights mode against
// the receiver at each offset after publishing, and the figures land on the post, which stays
// Published.
func TestInsightsJobsReportEngagementFromTheNode(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	rcv, post := scenario(t, "e2e-insights", "mastodon")
	policy := &greenlightv1alpha1.ApprovalPolicy{}
	g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: post.Namespace, Name: "e2e"}, policy)).To(Succeed())
	before := policy.DeepCopy()
	mastodon := policy.Spec.Publishing.Channels["mastodon"]
	mastodon.Insights = &greenlightv1alpha1.ChannelInsights{After: []metav1.Duration{{Duration: 3 * time.Second}, {Duration: 10 * time.Second}}}
	policy.Spec.Publishing.Channels["mastodon"] = mastodon
	g.Expect(admin.Patch(ctx, policy, client.MergeFrom(before))).To(Succeed())
	approve(t, ctx, post)
	published := waitPhase(t, ctx, post, greenlightv1alpha1.PostPublished, 2*time.Minute)
	path := "/posts/mastodon/" + published.Status.Channels[0].ID

	var got *greenlightv1alpha1.ContentPost
	g.Eventually(func(g Gomega) {
		got = &greenlightv1alpha1.ContentPost{}
		g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(post), got)).To(Succeed())
		ch := got.Status.Channels[0]
		g.Expect(ch.Insights).NotTo(BeNil())
		g.Expect(ch.Insights.LastOffset).To(Equal(&metav1.Duration{Duration: 10 * time.Second}), "message: %s", ch.Insights.Message)
	}, 2*time.Minute, time.Second).Should(Succeed())
	ch := got.Status.Channels[0]
	g.Expect(ch.Insights.Message).To(BeEmpty())
	g.Expect(ch.Insights.Jobs).To(Equal(int32(2)), "one Job per offset")
	g.Expect(rcv.insightsRequests()).To(Equal(map[string]int{path: 2}), "each offset asked once, on the post's url")
	g.Expect(ch.Engagement).NotTo(BeNil())
	g.Expect(ch.Engagement.Likes).To(Equal(int64(6)), "the latest figures: the second request's")
	g.Expect(ch.Engagement.Impressions).To(Equal(ptr.To[int64](200)))
	g.Expect(got.Status.Phase).To(Equal(greenlightv1alpha1.PostPublished))
	_, delivered, _, badSigs := rcv.snapshot()
	g.Expect(delivered).To(HaveLen(1), "insights never publish again")
	g.Expect(badSigs).To(BeZero())
}

func podSummary(pods corev1.PodList) []string {
	var out []string
	for _, p := range pods.Items {
		out = append(out, fmt.Sprintf("%s %s on %q", p.Name, p.Status.Phase, p.Spec.NodeName))
	}
	return out
}

func TestTheDeployedWebhookDeniesForgeries(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	_, post := scenario(t, "e2e-forgeries", "mastodon")
	ns := post.Namespace
	g.Expect(mustClient(t, "dana").Create(ctx, post)).To(Succeed())
	waitPhase(t, ctx, post, greenlightv1alpha1.PostInReview, 60*time.Second)

	nonMember := signOff(ns, post.Name, "marketing")
	err := mustClient(t, "carol").Create(ctx, nonMember)
	g.Expect(err).To(HaveOccurred(), "carol (legal) approved for marketing")
	g.Expect(err.Error()).To(ContainSubstring("denied the request"))
	g.Expect(err.Error()).To(ContainSubstring("marketing"))

	// alice is in marketing: only the name she signs with is wrong.
	forged := signOff(ns, post.Name, "marketing")
	forged.Name = "forged"
	forged.Spec.Reviewer = "bob"
	err = mustClient(t, "alice").Create(ctx, forged)
	g.Expect(err).To(HaveOccurred(), "alice signed in bob's name")
	g.Expect(err.Error()).To(ContainSubstring("bob"))
	g.Expect(err.Error()).To(Or(ContainSubstring("denied the request"), ContainSubstring("ValidatingAdmissionPolicy")))

	var signOffs greenlightv1alpha1.SignOffList
	g.Expect(admin.List(ctx, &signOffs, client.InNamespace(ns))).To(Succeed())
	g.Expect(signOffs.Items).To(BeEmpty(), "no forged SignOff was stored")
}

func TestAFailedPublisherIsRetriedWithTheSameKey(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	rcv, post := scenario(t, "e2e-retry", "mastodon")
	rcv.set("the access token was revoked", 0)
	approve(t, ctx, post)
	failed := waitPhase(t, ctx, post, greenlightv1alpha1.PostFailed, 2*time.Minute)
	g.Expect(failed.Status.Channels).To(HaveLen(1))
	g.Expect(failed.Status.Channels[0].Message).To(ContainSubstring("the access token was revoked"))
	attempts, delivered, _, _ := rcv.snapshot()
	g.Expect(delivered).To(BeEmpty())
	g.Expect(attempts).To(HaveLen(1))

	rcv.set("", 0)
	dana := mustClient(t, "dana")
	g.Eventually(func() error {
		p := &greenlightv1alpha1.ContentPost{}
		if err := dana.Get(ctx, client.ObjectKeyFromObject(post), p); err != nil {
			return err
		}
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations["greenlight.dev/retry"] = "1"
		return dana.Update(ctx, p)
	}).WithTimeout(30 * time.Second).Should(Succeed())
	published := waitPhase(t, ctx, post, greenlightv1alpha1.PostPublished, 2*time.Minute)
	g.Expect(published.Status.Channels[0].Attempts).To(Equal(int32(2)))

	attempts, delivered, _, _ = rcv.snapshot()
	g.Expect(attempts).To(HaveLen(1), "the retry used the same idempotency key")
	for key, n := range attempts {
		g.Expect(n).To(Equal(2), "two attempts with key %s: the failure and the retry", key)
		g.Expect(delivered[key]).To(Equal(1), "one delivery with key %s", key)
	}
}

// leader returns the pod holding the manager's lease.
func leader(t *testing.T, ctx context.Context) string {
	t.Helper()
	pod, _, _ := strings.Cut(leaderIdentity(t, ctx), "_")
	return pod
}

// leaderIdentity returns the lease's holder: the pod's name, "_", and the process's UUID.
func leaderIdentity(t *testing.T, ctx context.Context) string {
	t.Helper()
	lease := &coordinationv1.Lease{}
	err := retryFor(ctx, 60*time.Second, func() error {
		if err := admin.Get(ctx, client.ObjectKey{Namespace: managerNamespace, Name: managerLease}, lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return fmt.Errorf("nobody holds the lease")
		}
		return nil
	})
	if err != nil {
		t.Errorf("reading the leader: %v", err)
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// retry calls f every 200 ms until it succeeds or ctx ends, and then returns f's last error.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// retryFor is retry for at most within.
func retryFor(ctx context.Context, within time.Duration, f func() error) error {
	bounded, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	return retry(bounded, f)
}

func TestAnotherReplicaTakesOverWhileAPostPublishes(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	rcv, post := scenario(t, "e2e-failover", "mastodon", "linkedin")
	rcv.set("", 5*time.Second) // keep the Job's delivery in flight while the leader goes
	approve(t, ctx, post)
	waitPhase(t, ctx, post, greenlightv1alpha1.PostPublishing, 2*time.Minute)

	old := leader(t, ctx)
	g.Expect(admin.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: old}})).To(Succeed())
	g.Eventually(func() string { return leader(t, ctx) }).WithTimeout(90*time.Second).WithPolling(time.Second).
		ShouldNot(Equal(old), "no other replica took the lease")

	published := waitPhase(t, ctx, post, greenlightv1alpha1.PostPublished, 3*time.Minute)
	_, delivered, _, badSigs := rcv.snapshot()
	g.Expect(badSigs).To(BeZero())
	g.Expect(delivered).To(HaveLen(2), "one delivery per channel")
	for key, n := range delivered {
		g.Expect(n).To(Equal(1), "key %s was delivered %d times", key, n)
	}
	for _, ch := range published.Status.Channels {
		g.Expect(ch.State).To(Equal(greenlightv1alpha1.PublishSucceeded), "channel %s", ch.Name)
		g.Expect(ch.Attempts).To(Equal(int32(1)), "channel %s ran once", ch.Name)
	}
	waitForReplicas(t, ctx)
}

// waitForReplicas waits until both manager replicas run again.
func waitForReplicas(t *testing.T, ctx context.Context) {
	t.Helper()
	NewWithT(t).Eventually(func() (int, error) {
		var pods corev1.PodList
		err := admin.List(ctx, &pods, client.InNamespace(managerNamespace), client.MatchingLabels{"control-plane": "controller-manager"})
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				running++
			}
		}
		return running, err
	}).WithTimeout(2 * time.Minute).Should(Equal(2))
}
