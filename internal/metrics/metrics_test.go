package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// newTestRecorder registers the metrics on a fresh registry, with posts in the cache.
func newTestRecorder(t *testing.T, elected chan struct{}, posts ...*greenlightv1alpha1.ContentPost) (*Recorder, *prometheus.Registry) {
	t.Helper()
	scheme := runtime.NewScheme()
	NewWithT(t).Expect(greenlightv1alpha1.AddToScheme(scheme)).To(Succeed())
	builder := fake.NewClientBuilder().WithScheme(scheme)
	for _, p := range posts {
		builder = builder.WithObjects(p).WithStatusSubresource(p)
	}
	reg := prometheus.NewRegistry()
	r, err := NewRecorder(reg, builder.Build(), elected)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return r, reg
}

func TestRecorderExposesTheDesignedMetrics(t *testing.T) {
	g := NewWithT(t)
	elected := make(chan struct{})
	close(elected)
	post := &greenlightv1alpha1.ContentPost{}
	post.Namespace, post.Name, post.Status.Phase = "ns", "launch", greenlightv1alpha1.PostInReview
	post.Status.Channels = []greenlightv1alpha1.ChannelStatus{{Name: "mastodon", Engagement: &greenlightv1alpha1.Engagement{Likes: 1}}}
	r, reg := newTestRecorder(t, elected, post)
	r.Record([]Observation{
		{Metric: SignOffResponseSeconds, Department: "legal", Decision: "Approve", Seconds: 400},
		{Metric: TimeToApprovalSeconds, Seconds: 90000},
		{Metric: DeadlineMissedTotal, Department: "legal"},
		{Metric: PublishTotal, Channel: "mastodon", Result: ResultFailed},
	})
	g.Expect(testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP greenlight_deadline_missed_total Department deadlines that passed without the department's decision (each once; onMissed Expire and Notify alike).
# TYPE greenlight_deadline_missed_total counter
greenlight_deadline_missed_total{department="legal"} 1
# HELP greenlight_publish_total Publishing attempts that finished, by channel and result (succeeded or failed); a retry is a new attempt.
# TYPE greenlight_publish_total counter
greenlight_publish_total{channel="mastodon",result="failed"} 1
# HELP greenlight_posts Posts by phase, counted from the leading manager's cache; every phase is always present.
# TYPE greenlight_posts gauge
greenlight_posts{phase="Blocked"} 0
greenlight_posts{phase="ChangesRequested"} 0
greenlight_posts{phase="Draft"} 0
greenlight_posts{phase="Expired"} 0
greenlight_posts{phase="Failed"} 0
greenlight_posts{phase="InReview"} 1
greenlight_posts{phase="Published"} 0
greenlight_posts{phase="Publishing"} 0
greenlight_posts{phase="Rejected"} 0
greenlight_posts{phase="Scheduled"} 0
`), DeadlineMissedTotal, PublishTotal, Posts)).To(Succeed())

	families, err := reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetType().String() != "HISTOGRAM" {
			continue
		}
		var bounds []float64
		for _, b := range f.GetMetric()[0].GetHistogram().GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		g.Expect(bounds).To(Equal(ResponseBuckets), f.GetName())
	}
	g.Expect(registeredNames(t, reg)).To(ConsistOf(Names))
}

func TestPostsAreReportedOnlyByTheLeader(t *testing.T) {
	g := NewWithT(t)
	elected := make(chan struct{})
	_, reg := newTestRecorder(t, elected)
	g.Expect(testutil.CollectAndCount(reg, Posts)).To(Equal(0), "a standby replica reports no posts")
	close(elected)
	g.Expect(testutil.CollectAndCount(reg, Posts)).To(Equal(len(Phases)))
}

// registeredNames gathers every metric family a recorder registers, after one observation of
// each.
func registeredNames(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	families, err := reg.Gather()
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	return names
}

var metricName = regexp.MustCompile(`greenlight_[a-z_]+`)

// namesIn returns the metric names an expression uses, without a histogram's series suffix.
func namesIn(expr string, histograms []string) []string {
	var names []string
	for _, n := range metricName.FindAllString(expr, -1) {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if base, ok := strings.CutSuffix(n, suffix); ok && slices.Contains(histograms, base) {
				n = base
			}
		}
		names = append(names, n)
	}
	return names
}

func TestAlertsAndDashboardUseRegisteredMetrics(t *testing.T) {
	g := NewWithT(t)
	elected := make(chan struct{})
	close(elected)
	r, reg := newTestRecorder(t, elected,
		engagedPost("acme", "a", "spring", 1, map[string]*greenlightv1alpha1.Engagement{"mastodon": {Likes: 1}}))
	r.Record([]Observation{{Metric: SignOffResponseSeconds, Department: "legal", Decision: "Approve"}, {Metric: TimeToApprovalSeconds},
		{Metric: DeadlineMissedTotal, Department: "legal"}, {Metric: PublishTotal, Channel: "mastodon", Result: ResultSucceeded}})
	registered := registeredNames(t, reg)
	histograms := []string{SignOffResponseSeconds, TimeToApprovalSeconds}

	var rule struct {
		Kind string `json:"kind"`
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
					Expr  string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	raw, err := os.ReadFile("../../config/prometheus/rules.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(yaml.Unmarshal(raw, &rule)).To(Succeed())
	g.Expect(rule.Kind).To(Equal("PrometheusRule"))
	var alerts []string
	for _, group := range rule.Spec.Groups {
		for _, r := range group.Rules {
			alerts = append(alerts, r.Alert)
			used := namesIn(r.Expr, histograms)
			g.Expect(used).NotTo(BeEmpty(), r.Alert)
			g.Expect(registered).To(ContainElements(used), "alert %s", r.Alert)
		}
	}
	g.Expect(alerts).To(ConsistOf("GreenlightDeadlineMissed", "GreenlightPublishFailed", "GreenlightReviewStalled", "GreenlightPostsBlocked"))

	var dashboard struct {
		SchemaVersion int `json:"schemaVersion"`
		Panels        []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	raw, err = os.ReadFile("../../config/prometheus/dashboard.json")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(json.Unmarshal(raw, &dashboard)).To(Succeed())
	g.Expect(dashboard.SchemaVersion).To(BeNumerically("<=", 42))
	var shown []string
	for _, p := range dashboard.Panels {
		g.Expect(p.Targets).NotTo(BeEmpty(), p.Title)
		for _, target := range p.Targets {
			used := namesIn(target.Expr, histograms)
			g.Expect(used).NotTo(BeEmpty(), p.Title)
			g.Expect(registered).To(ContainElements(used), "panel %q", p.Title)
			shown = append(shown, used...)
		}
	}
	g.Expect(shown).To(ContainElements(Names), "a panel for each metric")
}
