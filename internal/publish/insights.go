package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// The env an insights Job gets besides a publishing Job's.
const (
	// EnvMode names the env var that tells the publisher what to do: "insights" in an insights
	// Job; a publishing Job does not set it (publish).
	EnvMode = "GREENLIGHT_MODE"
	// ModeInsights is EnvMode's value in an insights Job.
	ModeInsights = "insights"
	// EnvRemoteID names the env var that holds the remote post's id (status.channels[].id).
	EnvRemoteID = "GREENLIGHT_REMOTE_ID"
	// EnvRemoteURL names the env var that holds the remote post's URL (status.channels[].url).
	EnvRemoteURL = "GREENLIGHT_REMOTE_URL"
)

// LabelInsights marks an insights Job (and its pods) with its offset, for example "24h0m0s".
const LabelInsights = "greenlight.dev/insights"

// maxEngagement bounds each reported figure: more than any post ever gets, and far from
// overflowing a sum over many posts.
const maxEngagement = 1 << 50

// InsightsJobName is the insights Job's name for post, channel, revision and offset: like
// JobName, "<post>-<channel>-<hash>", with a hash over the offset instead of an attempt, so it is
// the same for the same offset whatever else the policy lists, and never a publishing Job's name.
func InsightsJobName(post, channel, revision string, offset time.Duration) string {
	return jobName(post, channel, fmt.Sprintf("%s/%s/%s/insights/%d", post, channel, revision, offset.Nanoseconds()))
}

// InsightsJob returns the Job that asks how channel's published post is doing, offset after it
// published: the publishing Job of the same template and content (see Job), named
// InsightsJobName, labelled greenlight.dev/insights, with GREENLIGHT_MODE=insights and the remote
// post's id and URL added to every container's env.
func InsightsJob(post *greenlightv1alpha1.ContentPost, channel, revision string, offset time.Duration, tmpl batchv1.JobTemplateSpec,
	configMapName, remoteID, remoteURL string) *batchv1.Job {
	job := Job(post, channel, revision, 0, tmpl, configMapName,
		corev1.EnvVar{Name: EnvMode, Value: ModeInsights},
		corev1.EnvVar{Name: EnvRemoteID, Value: remoteID},
		corev1.EnvVar{Name: EnvRemoteURL, Value: remoteURL})
	job.Name = InsightsJobName(post.Name, channel, revision, offset)
	mark := map[string]string{LabelInsights: offset.String()}
	job.Labels = mergeLabels(job.Labels, mark)
	job.Spec.Template.Labels = mergeLabels(job.Spec.Template.Labels, mark)
	return job
}

// InsightsDue decides which insights offset to run for a channel that published at publishedAt,
// given the policy's offsets (any order) and the largest one already handled (nil when none): due
// is the largest offset above last whose time (publishedAt + offset) has come, so that after a
// long outage one Job reports the current figures instead of several stale ones in a row; ok is
// false when none has come. wakeAt is when the next offset above due (or above last, when none
// is due) comes, zero when there is none.
func InsightsDue(after []metav1.Duration, last *metav1.Duration, publishedAt, now time.Time) (
	due time.Duration, ok bool, wakeAt time.Time) {
	offsets := make([]time.Duration, 0, len(after))
	for _, d := range after {
		if d.Duration > 0 && (last == nil || d.Duration > last.Duration) {
			offsets = append(offsets, d.Duration)
		}
	}
	slices.Sort(offsets)
	for _, offset := range offsets {
		at := publishedAt.Add(offset)
		if at.After(now) {
			return due, ok, at
		}
		due, ok = offset, true
	}
	return due, ok, time.Time{}
}

// EngagementReport is what an insights Job reported.
type EngagementReport struct {
	Likes       int64  `json:"likes"`
	Shares      int64  `json:"shares"`
	Replies     int64  `json:"replies"`
	Impressions *int64 `json:"impressions,omitempty"`
	// Message is what the publisher had to say besides the figures, for example that the remote
	// post no longer exists.
	Message string `json:"message,omitempty"`
}

// ParseEngagement reads an insights Job's termination message: JSON {"likes": N, "shares": N,
// "replies": N, "impressions": N} (impressions optional, a "message" allowed, other fields
// ignored), every figure a whole number from 0 to 2^50.
func ParseEngagement(message []byte) (EngagementReport, error) {
	const shape = `JSON {"likes": N, "shares": N, "replies": N, "impressions": N}`
	trimmed := strings.TrimSpace(string(message))
	if trimmed == "" {
		return EngagementReport{}, errors.New("the insights Job left no termination message; expected " + shape)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &fields); err != nil {
		return EngagementReport{}, fmt.Errorf("the insights Job's termination message is not %s: %q", shape, excerpt(trimmed))
	}
	for _, name := range []string{"likes", "shares", "replies"} {
		if _, ok := fields[name]; !ok {
			return EngagementReport{}, fmt.Errorf("the insights Job's termination message has no %q; expected %s", name, shape)
		}
	}
	var r EngagementReport
	if err := json.Unmarshal([]byte(trimmed), &r); err != nil {
		return EngagementReport{}, fmt.Errorf("the insights Job's termination message is not %s: %q", shape, excerpt(trimmed))
	}
	figures := map[string]int64{"likes": r.Likes, "shares": r.Shares, "replies": r.Replies}
	if r.Impressions != nil {
		figures["impressions"] = *r.Impressions
	}
	for name, n := range figures {
		if n < 0 || n > maxEngagement {
			return EngagementReport{}, fmt.Errorf("the insights Job reported %s %d; each figure must be from 0 to %d", name, n, int64(maxEngagement))
		}
	}
	r.Message = brief(r.Message)
	return r, nil
}

// InsightsOutcome is where one insights Job stands.
type InsightsOutcome struct {
	// State is Pending, Running, Succeeded or Failed, as for publishing (see ChannelState).
	State greenlightv1alpha1.PublishState
	// Report is what a succeeded Job reported; nil otherwise, or when it was not valid.
	Report *EngagementReport
	// Message says why a Job failed or what is wrong with its report.
	Message string
}

// InsightsState reads an insights Job and its pods as ChannelState reads a publishing Job, with
// the termination message read as an EngagementReport.
func InsightsState(job *batchv1.Job, pods []corev1.Pod) InsightsOutcome {
	if job == nil || jobCondition(job, batchv1.JobComplete) == nil {
		outcome := ChannelState(job, pods)
		return InsightsOutcome{State: outcome.State, Message: outcome.Message}
	}
	message, sawSucceeded := succeededMessage(podsOf(job, pods))
	if !sawSucceeded {
		return InsightsOutcome{State: greenlightv1alpha1.PublishSucceeded,
			Message: "no succeeded pod of the insights Job is left to read its termination message from"}
	}
	report, err := ParseEngagement([]byte(message))
	if err != nil {
		return InsightsOutcome{State: greenlightv1alpha1.PublishSucceeded, Message: err.Error()}
	}
	return InsightsOutcome{State: greenlightv1alpha1.PublishSucceeded, Report: &report}
}
