package publish

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func TestInsightsDue(t *testing.T) {
	published := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	offsets := func(ds ...time.Duration) []metav1.Duration {
		var out []metav1.Duration
		for _, d := range ds {
			out = append(out, metav1.Duration{Duration: d})
		}
		return out
	}
	last := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	policy := offsets(168*time.Hour, time.Hour, 24*time.Hour) // any order
	tests := []struct {
		name     string
		last     *metav1.Duration
		now      time.Time
		wantDue  time.Duration
		wantOK   bool
		wantWake time.Time
	}{
		{name: "just published: nothing due, wake at the first offset",
			now: published.Add(time.Minute), wantWake: published.Add(time.Hour)},
		{name: "the first offset has come",
			now: published.Add(time.Hour), wantDue: time.Hour, wantOK: true, wantWake: published.Add(24 * time.Hour)},
		{name: "the first offset handled: wake at the second",
			last: last(time.Hour), now: published.Add(2 * time.Hour), wantWake: published.Add(24 * time.Hour)},
		{name: "after an outage two offsets have come: only the later one runs",
			now: published.Add(30 * time.Hour), wantDue: 24 * time.Hour, wantOK: true, wantWake: published.Add(168 * time.Hour)},
		{name: "the last offset",
			last: last(24 * time.Hour), now: published.Add(200 * time.Hour), wantDue: 168 * time.Hour, wantOK: true},
		{name: "every offset handled",
			last: last(168 * time.Hour), now: published.Add(1000 * time.Hour)},
		{name: "a policy edit left offsets below the last one handled: they are not run",
			last: last(48 * time.Hour), now: published.Add(49 * time.Hour), wantWake: published.Add(168 * time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			due, ok, wake := InsightsDue(policy, tc.last, published, tc.now)
			g.Expect(ok).To(Equal(tc.wantOK))
			g.Expect(due).To(Equal(tc.wantDue))
			g.Expect(wake).To(Equal(tc.wantWake))
		})
	}
}

func TestParseEngagement(t *testing.T) {
	tests := []struct {
		name    string
		message string
		want    EngagementReport
		wantErr string
	}{
		{name: "all four figures", message: `{"likes": 3, "shares": 2, "replies": 1, "impressions": 40}`,
			want: EngagementReport{Likes: 3, Shares: 2, Replies: 1, Impressions: ptr.To[int64](40)}},
		{name: "without impressions, other fields ignored", message: ` {"likes": 0, "shares": 0, "replies": 5, "extra": true}` + "\n",
			want: EngagementReport{Replies: 5}},
		{name: "a deleted remote post", message: `{"likes": 0, "shares": 0, "replies": 0, "message": "the remote post 109 no longer exists"}`,
			want: EngagementReport{Message: "the remote post 109 no longer exists"}},
		{name: "empty", message: "", wantErr: "left no termination message"},
		{name: "not JSON", message: "oops", wantErr: `is not JSON {"likes": N`},
		{name: "a figure missing", message: `{"likes": 1, "shares": 1}`, wantErr: `has no "replies"`},
		{name: "a negative figure", message: `{"likes": -1, "shares": 0, "replies": 0}`, wantErr: "reported likes -1"},
		{name: "a huge figure", message: `{"likes": 0, "shares": 0, "replies": 0, "impressions": 9007199254740993}`,
			wantErr: "reported impressions"},
		{name: "a fraction", message: `{"likes": 1.5, "shares": 0, "replies": 0}`, wantErr: "is not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ParseEngagement([]byte(tc.message))
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestInsightsJob(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").withBody("Spring").obj()

	job := InsightsJob(post, "mastodon", testRevision, 24*time.Hour, platformTemplate(), testConfigMap, "109", "https://social.example/@acme/109")
	publishing := Job(post, "mastodon", testRevision, 1, platformTemplate(), testConfigMap)

	g.Expect(job.Name).To(Equal(InsightsJobName("launch", "mastodon", testRevision, 24*time.Hour)))
	g.Expect(job.Name).NotTo(Equal(publishing.Name), "never a publishing Job's name")
	g.Expect(job.Name).NotTo(Equal(InsightsJobName("launch", "mastodon", testRevision, time.Hour)), "one name per offset")
	g.Expect(InsightsJobName("launch", "mastodon", testRevision, time.Second)).
		NotTo(Equal(InsightsJobName("launch", "mastodon", testRevision, 1500*time.Millisecond)), "even offsets within a second")
	g.Expect(len(job.Name)).To(BeNumerically("<=", 63))
	g.Expect(job.Labels).To(HaveKeyWithValue(LabelInsights, "24h0m0s"))
	g.Expect(job.Spec.Template.Labels).To(HaveKeyWithValue(LabelInsights, "24h0m0s"))
	g.Expect(job.Labels).To(HaveKeyWithValue(greenlightv1alpha1.LabelPost, "launch"))
	for _, c := range append(job.Spec.Template.Spec.InitContainers, job.Spec.Template.Spec.Containers...) {
		g.Expect(c.Env).To(ContainElements(
			corev1.EnvVar{Name: EnvMode, Value: ModeInsights},
			corev1.EnvVar{Name: EnvRemoteID, Value: "109"},
			corev1.EnvVar{Name: EnvRemoteURL, Value: "https://social.example/@acme/109"},
			corev1.EnvVar{Name: EnvIdempotencyKey, Value: IdempotencyKey(post.UID, testRevision, "mastodon")},
		), "container %s", c.Name)
	}
	g.Expect(job.Spec.Template.Spec.Volumes).To(Equal(publishing.Spec.Template.Spec.Volumes), "the same approved content")
	for _, c := range publishing.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			g.Expect(e.Name).NotTo(Equal(EnvMode), "a publishing Job runs in the publisher's default mode")
		}
	}
}

func TestInsightsState(t *testing.T) {
	complete := newJob().condition(batchv1.JobComplete, "CompletionsReached", "").obj()
	tests := []struct {
		name string
		job  *batchv1.Job
		pods []corev1.Pod
		want InsightsOutcome
	}{
		{name: "running", job: newJob().active(1).obj(),
			want: InsightsOutcome{State: greenlightv1alpha1.PublishRunning}},
		{name: "failed", job: newJob().condition(batchv1.JobFailed, "BackoffLimitExceeded", "").obj(),
			pods: []corev1.Pod{newPod("p1", 1, corev1.PodFailed).terminated("publisher", 1, "Error", "mastodon answered 401").obj()},
			want: InsightsOutcome{State: greenlightv1alpha1.PublishFailed, Message: "BackoffLimitExceeded; publisher: mastodon answered 401"}},
		{name: "succeeded with figures", job: complete,
			pods: []corev1.Pod{newPod("p1", 1, corev1.PodSucceeded).terminated("publisher", 0, "Completed", `{"likes": 4, "shares": 1, "replies": 0}`).obj()},
			want: InsightsOutcome{State: greenlightv1alpha1.PublishSucceeded, Report: &EngagementReport{Likes: 4, Shares: 1}}},
		{name: "succeeded with a publishing result instead of figures", job: complete,
			pods: []corev1.Pod{newPod("p1", 1, corev1.PodSucceeded).terminated("publisher", 0, "Completed", `{"id": "1", "url": "https://x"}`).obj()},
			want: InsightsOutcome{State: greenlightv1alpha1.PublishSucceeded,
				Message: `the insights Job's termination message has no "likes"; expected JSON {"likes": N, "shares": N, "replies": N, "impressions": N}`}},
		{name: "a pod of another Job does not speak for it", job: complete,
			pods: []corev1.Pod{newPod("p1", 1, corev1.PodSucceeded).ownedBy("other").terminated("publisher", 0, "Completed", `{"likes": 9, "shares": 9, "replies": 9}`).obj()},
			want: InsightsOutcome{State: greenlightv1alpha1.PublishSucceeded, Message: "no succeeded pod of the insights Job is left to read its termination message from"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(InsightsState(tc.job, tc.pods)).To(Equal(tc.want))
		})
	}
}
