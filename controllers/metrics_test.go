package controllers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/metrics"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// metricsManager runs the reconcilers as main.go does, with the metrics registered on a fresh
// controller-runtime registry served by the manager's metrics server on a free port: a new
// process, with nothing counted yet. It returns the /metrics URL; the manager stops with the
// test or when stop is called.
func metricsManager(t *testing.T) (url string, stop func()) {
	t.Helper()
	g := NewWithT(t)
	// A free port: the manager does not tell which port it bound.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	addr := listener.Addr().String()
	g.Expect(listener.Close()).To(Succeed())
	registry := prometheus.NewRegistry()
	ctrlmetrics.Registry = registry
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(testEnv.Config, ctrl.Options{
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Scheme:                 testScheme,
		Cache:                  CacheOptions(nil),
		Metrics:                metricsserver.Options{BindAddress: addr},
		HealthProbeBindAddress: "0",
	})
	g.Expect(err).NotTo(HaveOccurred())
	compiler, err := policy.NewCompiler()
	g.Expect(err).NotTo(HaveOccurred())
	recorder := NewAPIEventRecorder(mgr.GetClient(), mgr.GetScheme(), "greenlight", "test", clock.RealClock{})
	g.Expect(SetupWithManager(ctx, mgr, Options{Compiler: compiler, Recorder: recorder, Clock: fakeClock,
		Notify: httpNotifications(), Metrics: registry})).To(Succeed())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-stopped }) }
	t.Cleanup(stop)
	g.Eventually(func() error {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}, eventually, poll).Should(Succeed())
	return "http://" + addr + "/metrics", stop
}

// scrape reads the metrics endpoint.
func scrape(g Gomega, url string) map[string]*dto.MetricFamily {
	resp, err := http.Get(url) //nolint:gosec // the test's own manager on 127.0.0.1
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return families
}

// count is a counter's value, or a histogram's sample count, for the series with labels; 0 when
// the series does not exist.
func count(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		matches := true
		for k, v := range labels {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			matches = matches && found
		}
		if !matches {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		}
	}
	return total
}

// counts is what the scripted review's metrics show, in the order the test reads them.
type counts struct {
	responses, changes, missed, approvals, mastodonFailed, mastodonSucceeded, linkedinSucceeded float64
}

func countsOf(families map[string]*dto.MetricFamily) counts {
	return counts{
		responses:         count(families, metrics.SignOffResponseSeconds, nil),
		changes:           count(families, metrics.SignOffResponseSeconds, map[string]string{"department": "marketing", "decision": "RequestChanges"}),
		missed:            count(families, metrics.DeadlineMissedTotal, map[string]string{"department": "marketing"}),
		approvals:         count(families, metrics.TimeToApprovalSeconds, nil),
		mastodonFailed:    count(families, metrics.PublishTotal, map[string]string{"channel": "mastodon", "result": "failed"}),
		mastodonSucceeded: count(families, metrics.PublishTotal, map[string]string{"channel": "mastodon", "result": "succeeded"}),
		linkedinSucceeded: count(families, metrics.PublishTotal, map[string]string{"channel": "linkedin", "result": "succeeded"}),
	}
}

// poke changes an annotation of the post, so that the manager reconciles it now.
func poke(g Gomega, namespace, name, value string) {
	post := getPost(g, namespace, name)
	patch := client.MergeFrom(post.DeepCopy())
	metav1.SetMetaDataAnnotation(&post.ObjectMeta, "test.greenlight.dev/poke", value)
	g.Expect(k.Patch(context.Background(), post, patch)).To(Succeed())
}

// A scripted review, scraped from the manager's metrics endpoint: every event counted once, and
// nothing counted again by a restarted manager.
func TestMetricsCountEachEventOnceAcrossRestarts(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	// This test's manager alone reconciles: the suite's manager would write some of the statuses,
	// and count nothing.
	stopManager()
	original := ctrlmetrics.Registry
	t.Cleanup(func() {
		ctrlmetrics.Registry = original
		if err := startManager(); err != nil {
			t.Error(err)
		}
	})
	url, stop := metricsManager(t)

	ns := newNamespace(t)
	p := newPolicy("acme").in(ns).stage("brand", "marketing").stage("compliance", "legal").obj()
	p.Spec.Stages[0].ReviewWindow = &metav1.Duration{Duration: time.Hour}
	p.Spec.Deadlines = &greenlightv1alpha1.Deadlines{OnMissed: greenlightv1alpha1.MissedDeadlineNotify}
	g.Expect(k.Create(ctx, p)).To(Succeed())
	post := newPost("launch").in(ns).now().obj()
	post.Spec.Channels = []greenlightv1alpha1.Channel{{Name: "mastodon"}, {Name: "linkedin"}}
	g.Expect(as(g, "dana").Create(ctx, post)).To(Succeed())
	got := expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "legal=Waiting")

	// marketing misses its deadline (onMissed: Notify: the post keeps waiting).
	fakeClock.Step(2 * time.Hour)
	poke(g, ns, "launch", "deadline")
	g.Eventually(func(g Gomega) {
		g.Expect(getPost(g, ns, "launch").Status.MissedDeadlines).To(HaveLen(1))
	}, eventually, poll).Should(Succeed())

	// marketing asks for changes; dana edits; marketing, then legal, approve; publishing begins.
	signOff(g, got, "marketing", "alice", func(b *signOffBuilder) *signOffBuilder { return b.requestChanges("Say which line.") })
	expectPost(g, ns, "launch", greenlightv1alpha1.PostChangesRequested, "marketing=ChangesRequested", "legal=Waiting")
	got = getPost(g, ns, "launch")
	update(g, got, func() { got.Spec.Body = "Our spring line of jackets is here" })
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Pending", "legal=Waiting")
	signOff(g, got, "marketing", "alice")
	got = expectPost(g, ns, "launch", greenlightv1alpha1.PostInReview, "marketing=Approved", "legal=Pending")
	signOff(g, got, "legal", "carol")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostPublishing, "marketing=Approved", "legal=Approved")

	// linkedin publishes, mastodon's publisher fails.
	jobs := jobsOf(g, ns, 2)
	finishJob(g, jobs["linkedin"], true, `{"id":"1","url":"https://linkedin.example/1"}`)
	finishJob(g, jobs["mastodon"], false, "401 Unauthorized")
	expectPost(g, ns, "launch", greenlightv1alpha1.PostFailed, "marketing=Approved", "legal=Approved")

	once := counts{responses: 3, changes: 1, missed: 1, approvals: 1, mastodonFailed: 1, linkedinSucceeded: 1}
	g.Eventually(func(g Gomega) { g.Expect(countsOf(scrape(g, url))).To(Equal(once)) }, eventually, poll).Should(Succeed())
	families := scrape(g, url)
	g.Expect(families[metrics.Posts].GetMetric()).To(HaveLen(len(metrics.Phases)), "every phase is reported")
	g.Expect(count(families, metrics.Posts, map[string]string{"phase": "Failed"})).To(BeNumerically(">=", 1))
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				g.Expect(l.GetValue()).NotTo(Equal("launch"), "no post name as a label value (%s)", f.GetName())
			}
		}
	}

	// A new manager process (a restart, or a new leader) counts nothing that the status records.
	stop()
	url, _ = metricsManager(t)
	poke(g, ns, "launch", "restarted")
	g.Consistently(func(g Gomega) { g.Expect(countsOf(scrape(g, url))).To(Equal(counts{})) }, "2s", "100ms").Should(Succeed())

	// dana retries; mastodon's second attempt succeeds: that alone is counted.
	got = getPost(g, ns, "launch")
	update(g, got, func() { metav1.SetMetaDataAnnotation(&got.ObjectMeta, greenlightv1alpha1.AnnotationRetry, "1") })
	retried := &batchv1.Job{}
	g.Eventually(func(g Gomega) {
		for _, ch := range getPost(g, ns, "launch").Status.Channels {
			if ch.Name == "mastodon" {
				g.Expect(ch.Attempts).To(Equal(int32(2)))
				g.Expect(ch.JobUID).NotTo(BeEmpty())
				g.Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: ch.Job}, retried)).To(Succeed())
			}
		}
	}, eventually, poll).Should(Succeed())
	finishJob(g, retried, true, `{"id":"2","url":"https://mastodon.example/2"}`)
	expectPost(g, ns, "launch", greenlightv1alpha1.PostPublished, "marketing=Approved", "legal=Approved")
	g.Eventually(func(g Gomega) { g.Expect(countsOf(scrape(g, url))).To(Equal(counts{mastodonSucceeded: 1})) }, eventually, poll).Should(Succeed())
	g.Consistently(func(g Gomega) { g.Expect(countsOf(scrape(g, url))).To(Equal(counts{mastodonSucceeded: 1})) }, "1s", "100ms").Should(Succeed())
}
