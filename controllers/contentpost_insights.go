package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/publish"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

// Insights follow publishing with the same exactly-once rules: a channel's next insights Job is
// recorded in its status (name and offset) before it is created, under a name derived from the
// post, channel, revision and offset, so a crash, a stale cache or a second manager never makes a
// second Job for one offset; the Job's UID is pinned once created, and one deleted before it
// finished is never made again (its offset is skipped, with a message). An insights Job never
// changes the post's phase: a Published post stays Published whatever its insights report.

// observeInsights, for each channel of a post that published to it and whose policy asks for
// insights, reads a finished insights Job into the channel's engagement (or says why it reported
// nothing), then records the next due offset's Job. It returns when the next offset comes due
// (zero when none will), which wakes the post: nothing polls.
func (r *ContentPostReconciler) observeInsights(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	status *greenlightv1alpha1.ContentPostStatus, publishers map[string]policy.Publisher, now time.Time) (time.Time, error) {
	var wakeAt time.Time
	for i := range status.Channels {
		ch := &status.Channels[i]
		publisher, ok := publishers[ch.Name]
		if ch.State != greenlightv1alpha1.PublishSucceeded || ch.PublishedAt == nil || !ok || publisher.Insights == nil {
			continue
		}
		if ch.Insights == nil {
			ch.Insights = startInsights(publisher.Insights.After, ch.PublishedAt.Time, now)
		}
		if ch.Insights.Job != "" {
			if err := r.readInsightsJob(ctx, post, ch, publisher, now); err != nil {
				return time.Time{}, err
			}
			if ch.Insights.Job != "" {
				continue // still running: its end wakes the post
			}
		}
		due, ok, wake := publish.InsightsDue(publisher.Insights.After, ch.Insights.LastOffset, ch.PublishedAt.Time, now)
		if ok {
			ch.Insights.Offset = &metav1.Duration{Duration: due}
			ch.Insights.Job = publish.InsightsJobName(post.Name, ch.Name, status.Revision, due)
			ch.Insights.JobUID = ""
			ch.Insights.Jobs++
		}
		if !wake.IsZero() && (wakeAt.IsZero() || wake.Before(wakeAt)) {
			wakeAt = wake
		}
	}
	return wakeAt, nil
}

// insightsGrace is how late after its offset a channel's first insights Job may still run: a
// publish observed a little late (the manager was busy or restarting) still gets its figures.
const insightsGrace = time.Hour

// startInsights is a channel's insights status when Greenlight first records it. Offsets that
// had passed more than insightsGrace before (the policy asked for insights only after the post
// published, or an old published post now matches a policy that asks) are recorded as handled
// without a Job: adding insights to a policy never starts one Job for every post it ever
// published.
func startInsights(after []metav1.Duration, publishedAt, now time.Time) *greenlightv1alpha1.InsightsStatus {
	insights := &greenlightv1alpha1.InsightsStatus{}
	if due, ok, _ := publish.InsightsDue(after, nil, publishedAt, now); ok && now.Sub(publishedAt.Add(due)) > insightsGrace {
		insights.LastOffset = &metav1.Duration{Duration: due}
		insights.Message = fmt.Sprintf("insights began after the offsets up to %s after publishing had passed; those were not asked for", due)
	}
	return insights
}

// readInsightsJob reads the channel's recorded insights Job. Once it finished (or is gone, or is
// not the Job Greenlight built), its offset is done: the channel's engagement holds what it
// reported, or its message says why there is nothing new.
func (r *ContentPostReconciler) readInsightsJob(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	ch *greenlightv1alpha1.ChannelStatus, publisher policy.Publisher, now time.Time) error {
	insights := ch.Insights
	job := &batchv1.Job{}
	key := client.ObjectKey{Namespace: post.Namespace, Name: insights.Job}
	err := r.client.Get(ctx, key, job)
	if apierrors.IsNotFound(err) && insights.JobUID != "" {
		// As for publishing Jobs: only the API server may say a pinned Job is gone.
		job = &batchv1.Job{}
		err = r.apiReader.Get(ctx, key, job)
	}
	switch {
	case apierrors.IsNotFound(err) && insights.JobUID == "":
		return nil // recorded, not created yet: createInsightsJobs creates it
	case err != nil && !apierrors.IsNotFound(err):
		return err
	case err != nil || !job.DeletionTimestamp.IsZero():
		finishInsights(insights, fmt.Sprintf("insights Job %s was deleted before its figures were read; the figures due %s after "+
			"publishing were skipped", insights.Job, insights.Offset.Duration))
		return nil
	}
	if message := r.trustInsightsJob(post, ch, job, publisher); message != "" {
		finishInsights(insights, message)
		return nil
	}
	if !finished(job) {
		return nil
	}
	var pods corev1.PodList
	if err := r.apiReader.List(ctx, &pods, client.InNamespace(post.Namespace),
		client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		return fmt.Errorf("listing the pods of insights Job %s: %w", job.Name, err)
	}
	outcome := publish.InsightsState(job, pods.Items)
	if outcome.Report == nil {
		finishInsights(insights, fmt.Sprintf("insights Job %s reported no figures: %s", job.Name, outcome.Message))
		return nil
	}
	at := metav1.NewTime(now.Truncate(time.Second))
	if job.Status.CompletionTime != nil {
		at = *job.Status.CompletionTime
	}
	report := outcome.Report
	ch.Engagement = &greenlightv1alpha1.Engagement{Likes: report.Likes, Shares: report.Shares, Replies: report.Replies,
		Impressions: report.Impressions, ObservedAt: at}
	finishInsights(insights, report.Message)
	return nil
}

// finishInsights marks the recorded insights Job's offset as handled, with message ("" when it
// reported figures and had nothing to add).
func finishInsights(insights *greenlightv1alpha1.InsightsStatus, message string) {
	insights.LastOffset, insights.Offset = insights.Offset, nil
	insights.Job, insights.JobUID, insights.Message = "", "", message
}

// trustInsightsJob decides, as trustJob does for publishing Jobs, whether job is the channel's
// recorded insights Job; it returns why not, or "".
func (r *ContentPostReconciler) trustInsightsJob(post *greenlightv1alpha1.ContentPost, ch *greenlightv1alpha1.ChannelStatus,
	job *batchv1.Job, publisher policy.Publisher) string {
	if ch.Insights.JobUID != "" {
		if string(job.UID) == ch.Insights.JobUID {
			return ""
		}
		return fmt.Sprintf("insights Job %s was replaced by one that Greenlight did not create; its figures were not read", job.Name)
	}
	if !publish.IsOurs(job, r.desiredInsightsJob(post, *ch, publisher), post) {
		return fmt.Sprintf("insights Job %s was not created by Greenlight for this post (it is not controlled by the post, or runs other "+
			"work than the policy's jobTemplate); its figures were not read", job.Name)
	}
	ch.Insights.JobUID = string(job.UID)
	return ""
}

// insightsJobTTL is how long a finished insights Job (and its pods) is kept. Unlike a publishing
// Job, it is not the record of anything: its figures are read into the status within seconds,
// and up to ten per channel per published post would otherwise pile up in etcd and the cache. A
// manager down for longer than this loses that offset's figures (the channel says so).
const insightsJobTTL = 24 * time.Hour

// desiredInsightsJob is the insights Job Greenlight runs for a channel's recorded offset.
func (r *ContentPostReconciler) desiredInsightsJob(post *greenlightv1alpha1.ContentPost, ch greenlightv1alpha1.ChannelStatus,
	publisher policy.Publisher) *batchv1.Job {
	job := publish.InsightsJob(post, ch.Name, post.Status.Revision, ch.Insights.Offset.Duration, publisher.JobTemplate,
		publish.ConfigMapName(post.Name, post.Status.Revision), ch.ID, ch.URL)
	job.Spec.TTLSecondsAfterFinished = ptr.To(int32(insightsJobTTL / time.Second))
	return job
}

// createInsightsJobs creates the insights Jobs that the written status records and pins their
// UIDs. The content ConfigMap is the one publishing created; should it be gone, it is made
// again only while the spec still is the published revision, and otherwise the offset is
// skipped with a message: nothing but the approved content ever reaches a Job.
func (r *ContentPostReconciler) createInsightsJobs(ctx context.Context, scope *postScope) (bool, error) {
	post := scope.post
	if !publishingStarted(post.Status.Phase) || scope.in.requirements == nil {
		return false, nil
	}
	base := post.DeepCopy()
	for i := range post.Status.Channels {
		ch := &post.Status.Channels[i]
		if ch.Insights == nil || ch.Insights.Job == "" || ch.Insights.JobUID != "" {
			continue
		}
		publisher, ok := scope.in.requirements.Publishers[ch.Name]
		if !ok || publisher.Insights == nil {
			finishInsights(ch.Insights, "no applying policy asks for insights on channel "+ch.Name+" any more")
			continue
		}
		if message, err := r.ensureInsightsContent(ctx, post, ch.Name); err != nil {
			return false, err
		} else if message != "" {
			finishInsights(ch.Insights, message)
			continue
		}
		job := r.desiredInsightsJob(post, *ch, publisher)
		if err := r.createOwned(ctx, post, job); err != nil {
			return false, fmt.Errorf("creating insights Job %s: %w", job.Name, err)
		}
		if job.UID != "" {
			ch.Insights.JobUID = string(job.UID)
		}
	}
	if equality.Semantic.DeepEqual(base.Status, post.Status) {
		return false, nil
	}
	if patched, retry, err := r.patchPostStatus(ctx, post, base); !patched {
		scope.result = retry
		return true, err
	}
	return false, nil
}

// ensureInsightsContent makes sure the content ConfigMap an insights Job mounts exists and is
// Greenlight's; it returns why the offset must be skipped instead, or "". While the spec still
// is the published revision it is checked (and made again if gone) as for publishing; after an
// edit of the published post the content cannot be rebuilt, and the post's own immutable
// ConfigMap, verified when the channel published, must still be there.
func (r *ContentPostReconciler) ensureInsightsContent(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	channel string) (string, error) {
	if revision.Of(&post.Spec) == post.Status.Revision {
		want, err := publish.ConfigMap(post, post.Status.Revision)
		if err != nil {
			return "", err
		}
		if err := r.createOwned(ctx, post, want); err != nil {
			return "", fmt.Errorf("creating ConfigMap %s: %w", want.Name, err)
		}
		var foreign foreignContent
		if err := r.verifyContent(ctx, post, want, []string{channel}); errors.As(err, &foreign) {
			return foreign.message, nil
		} else if err != nil {
			return "", err
		}
		return "", nil
	}
	name := publish.ConfigMapName(post.Name, post.Status.Revision)
	have := &corev1.ConfigMap{}
	err := r.apiReader.Get(ctx, client.ObjectKey{Namespace: post.Namespace, Name: name}, have)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("ConfigMap %s with the published content is gone and the spec changed since, so no insights Job can run", name), nil
	case err != nil:
		return "", err
	case !metav1.IsControlledBy(have, post) || have.Immutable == nil || !*have.Immutable:
		return fmt.Sprintf("ConfigMap %s, which must hold the published content, was not created by Greenlight for this post; "+
			"no insights Job runs with it", name), nil
	}
	return "", nil
}
