// Package metrics holds Greenlight's Prometheus metrics: what they are, and which events one
// status write of a post records for the first time (Observe), so that each event is counted
// once, also across manager restarts and leader changes.
//
// The rule: a metric is observed only after the status write that records its event succeeded,
// and only for what the stored status before that write did not already record. The post's
// status is the record (missedDeadlines, the Approved condition and revision, each channel's
// state and attempts, observedSignOffs); a write is guarded by the resourceVersion it was
// computed from, so of two managers computing the same event only one write succeeds.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The metric names, as DESIGN.md fixes them.
const (
	SignOffResponseSeconds = "greenlight_signoff_response_seconds"
	TimeToApprovalSeconds  = "greenlight_time_to_approval_seconds"
	DeadlineMissedTotal    = "greenlight_deadline_missed_total"
	PublishTotal           = "greenlight_publish_total"
	Posts                  = "greenlight_posts"
	Engagement             = "greenlight_engagement"
)

// Names lists every metric the manager registers.
var Names = []string{SignOffResponseSeconds, TimeToApprovalSeconds, DeadlineMissedTotal, PublishTotal, Posts, Engagement}

// ResponseBuckets are human response times in seconds: 1, 5, 15 and 30 minutes, 1, 2, 4 and 8
// hours, 1, 2 and 3 days, a week.
var ResponseBuckets = []float64{60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 259200, 604800}

// Results of greenlight_publish_total.
const (
	ResultSucceeded = "succeeded"
	ResultFailed    = "failed"
)

// Recorder holds the metrics one manager reports. A nil Recorder records nothing.
type Recorder struct {
	response *prometheus.HistogramVec
	approval prometheus.Histogram
	missed   *prometheus.CounterVec
	publish  *prometheus.CounterVec
}

// NewRecorder registers Greenlight's metrics on reg. posts is the manager's cache and elected is
// closed once the manager leads (mgr.Elected()): greenlight_posts counts the cached posts by
// phase and greenlight_engagement sums the cached posts' engagement, and only the leader reports
// them.
func NewRecorder(reg prometheus.Registerer, posts client.Reader, elected <-chan struct{}) (*Recorder, error) {
	r := &Recorder{
		response: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: SignOffResponseSeconds,
			Help: "How long reviewers took to respond: from their department's review start to the SignOff's creation " +
				"(SignOff status.respondedAfter), by department and decision.",
			Buckets: ResponseBuckets,
		}, []string{"department", "decision"}),
		approval: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    TimeToApprovalSeconds,
			Help:    "How long posts took from their first review request to being approved (the Approved condition turning True for a revision).",
			Buckets: ResponseBuckets,
		}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: DeadlineMissedTotal,
			Help: "Department deadlines that passed without the department's decision (each once; onMissed Expire and Notify alike).",
		}, []string{"department"}),
		publish: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: PublishTotal,
			Help: "Publishing attempts that finished, by channel and result (succeeded or failed); a retry is a new attempt.",
		}, []string{"channel", "result"}),
	}
	for _, c := range []prometheus.Collector{r.response, r.approval, r.missed, r.publish, newPostsCollector(posts, elected),
		newEngagementCollector(posts, elected)} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Record counts observations; call it only after the status write that recorded them succeeded.
func (r *Recorder) Record(observations []Observation) {
	if r == nil {
		return
	}
	for _, o := range observations {
		switch o.Metric {
		case SignOffResponseSeconds:
			r.response.WithLabelValues(o.Department, o.Decision).Observe(o.Seconds)
		case TimeToApprovalSeconds:
			r.approval.Observe(o.Seconds)
		case DeadlineMissedTotal:
			r.missed.WithLabelValues(o.Department).Inc()
		case PublishTotal:
			r.publish.WithLabelValues(o.Channel, o.Result).Inc()
		}
	}
}
