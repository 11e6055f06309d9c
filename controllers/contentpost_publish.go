package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/publish"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

// The manager creates each channel's Job and the content ConfigMap, and reads the finished pods'
// termination messages (straight from the API server, only once a Job has finished).
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=core,resources=configmaps,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=core,resources=pods,verbs=get;list

// Reasons of the post's conditions while and after publishing.
const (
	ReasonPublishing = "Publishing"
	ReasonFailed     = "Failed"
	ReasonDrifted    = "Drifted"
)

// publishingStarted reports whether the post's review is over because its publishing began: from
// then on only its Jobs move it.
func publishingStarted(phase greenlightv1alpha1.PostPhase) bool {
	return phase == greenlightv1alpha1.PostPublishing || phase == greenlightv1alpha1.PostPublished || phase == greenlightv1alpha1.PostFailed
}

// dueNow reports whether an approved post may be published now: its gate is open and its
// publishAt, if any, has come.
func dueNow(post *greenlightv1alpha1.ContentPost, gate publishingGate, now time.Time) bool {
	return gate.missedSlot == "" && gate.blockedBy == "" && (post.Spec.PublishAt == nil || !post.Spec.PublishAt.After(now))
}

// startPublishing records the intent to publish the approved revision to each channel: the
// channel's first Job, Pending. The Jobs are created only once this status is written (see
// ensureJobs), so that what status says is the single record of what may run.
func startPublishing(status *greenlightv1alpha1.ContentPostStatus, post *greenlightv1alpha1.ContentPost) {
	status.Channels = nil
	for _, ch := range post.Spec.Channels {
		status.Channels = append(status.Channels, greenlightv1alpha1.ChannelStatus{
			Name: ch.Name, Job: publish.JobName(post.Name, ch.Name, status.Revision, 1), State: greenlightv1alpha1.PublishPending, Attempts: 1,
		})
	}
	slices.SortFunc(status.Channels, func(a, b greenlightv1alpha1.ChannelStatus) int { return strings.Compare(a.Name, b.Name) })
	status.Phase = greenlightv1alpha1.PostPublishing
	status.NextWindow = nil
}

// retryFailed starts one new attempt for each failed channel when the post's retry annotation
// holds a value not acted on yet.
func retryFailed(status *greenlightv1alpha1.ContentPostStatus, post *greenlightv1alpha1.ContentPost) {
	value, asked := post.Annotations[greenlightv1alpha1.AnnotationRetry]
	if status.Phase != greenlightv1alpha1.PostFailed || !asked || value == status.LastRetry {
		return
	}
	for i := range status.Channels {
		ch := &status.Channels[i]
		if ch.State != greenlightv1alpha1.PublishFailed {
			continue
		}
		ch.Attempts++
		ch.Job, ch.JobUID = publish.JobName(post.Name, ch.Name, status.Revision, ch.Attempts), ""
		ch.State, ch.Message = greenlightv1alpha1.PublishPending, ""
	}
	status.LastRetry = value
}

// observe reads each unfinished channel's Job (and, once it finished, its pods) into the
// channel's status.
func (r *ContentPostReconciler) observe(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	status *greenlightv1alpha1.ContentPostStatus, publishers map[string]policy.Publisher, now time.Time) error {
	for i := range status.Channels {
		ch := &status.Channels[i]
		if ch.State == greenlightv1alpha1.PublishSucceeded || ch.State == greenlightv1alpha1.PublishFailed {
			continue
		}
		job := &batchv1.Job{}
		key := client.ObjectKey{Namespace: post.Namespace, Name: ch.Job}
		err := r.client.Get(ctx, key, job)
		if apierrors.IsNotFound(err) && (ch.JobUID != "" || ch.State == greenlightv1alpha1.PublishRunning) {
			// The status may be newer than the Job cache: another replica that led a moment
			// ago created the Job and pinned it, and the watches of posts and Jobs are not
			// ordered. Only the API server may say that the Job is gone.
			job = &batchv1.Job{}
			err = r.apiReader.Get(ctx, key, job)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err != nil || !job.DeletionTimestamp.IsZero() {
			if ch.JobUID != "" || ch.State == greenlightv1alpha1.PublishRunning {
				// Recreating it could publish twice: say so, and let a person decide to retry.
				ch.State = greenlightv1alpha1.PublishFailed
				ch.Message = fmt.Sprintf("Job %s was deleted before it finished, so whether it published is unknown: check %s, then retry "+
					"(a retry has the same idempotency key)", ch.Job, ch.Name)
			}
			continue // a Pending Job not created yet: ensureJobs creates it
		}
		if message := r.trustJob(post, ch, job, publishers); message != "" {
			ch.State, ch.Message = greenlightv1alpha1.PublishFailed, message
			continue
		}
		var pods []corev1.Pod
		if finished(job) {
			var list corev1.PodList
			if err := r.apiReader.List(ctx, &list, client.InNamespace(post.Namespace),
				client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
				return fmt.Errorf("listing the pods of Job %s: %w", job.Name, err)
			}
			pods = list.Items
		}
		outcome := publish.ChannelState(job, pods)
		ch.State, ch.Message = outcome.State, outcome.Message
		if outcome.State == greenlightv1alpha1.PublishSucceeded {
			if outcome.Result != nil {
				ch.ID, ch.URL = outcome.Result.ID, outcome.Result.URL
			}
			at := metav1.NewTime(now.Truncate(time.Second))
			if job.Status.CompletionTime != nil {
				at = *job.Status.CompletionTime
			}
			ch.PublishedAt = &at
		}
	}
	return nil
}

// trustJob decides whether job is the channel's Job: the first time Greenlight sees it, it must
// be the Job Greenlight builds (names are predictable: one someone else created under the name
// first never stands in for ours), and its UID is recorded; after that, only the recorded UID
// counts, so a later change of the policy's template does not disown a Job already running. It
// returns why the Job is not trusted, or "".
func (r *ContentPostReconciler) trustJob(post *greenlightv1alpha1.ContentPost, ch *greenlightv1alpha1.ChannelStatus, job *batchv1.Job,
	publishers map[string]policy.Publisher) string {
	if ch.JobUID != "" {
		if string(job.UID) == ch.JobUID {
			return ""
		}
		return fmt.Sprintf("Job %s was replaced by one that Greenlight did not create; delete it, check %s, then retry", job.Name, ch.Name)
	}
	publisher, ok := publishers[ch.Name]
	if !ok || !publish.IsOurs(job, r.desiredJob(post, *ch, publisher), post) {
		return fmt.Sprintf("Job %s was not created by Greenlight for this post (it is not controlled by the post, or runs other work "+
			"than the policy's jobTemplate with the approved content); delete it and retry", job.Name)
	}
	ch.JobUID = string(job.UID)
	return ""
}

func finished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// publishingPhase is the phase of a post whose publishing began: Publishing while any channel
// is unfinished, then Published when every channel succeeded, else Failed.
func publishingPhase(status *greenlightv1alpha1.ContentPostStatus) greenlightv1alpha1.PostPhase {
	if len(status.Channels) == 0 {
		return greenlightv1alpha1.PostFailed // nothing says where it went: never claim it was published
	}
	phase := greenlightv1alpha1.PostPublished
	for _, ch := range status.Channels {
		switch ch.State {
		case greenlightv1alpha1.PublishPending, greenlightv1alpha1.PublishRunning:
			return greenlightv1alpha1.PostPublishing
		case greenlightv1alpha1.PublishFailed:
			phase = greenlightv1alpha1.PostFailed
		}
	}
	return phase
}

// setPublishedConditions sets the conditions of a post whose publishing began, from its phase
// and channels, and Drifted when its spec no longer matches the revision that went out.
func setPublishedConditions(status *greenlightv1alpha1.ContentPostStatus, post *greenlightv1alpha1.ContentPost, now time.Time) {
	conditions := conditionSetter{conditions: &status.Conditions, generation: post.Generation, now: now}
	names := make([]string, 0, len(status.Channels))
	var failures []string
	for _, ch := range status.Channels {
		names = append(names, ch.Name)
		if ch.State == greenlightv1alpha1.PublishFailed {
			failures = append(failures, ch.Name+": "+ch.Message)
		}
	}
	switch status.Phase {
	case greenlightv1alpha1.PostPublishing:
		message := "Publishing to " + strings.Join(names, ", ") + "."
		conditions.set(greenlightv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonPublishing, message)
		conditions.setIf(true, greenlightv1alpha1.ConditionReconciling, ReasonPublishing, message)
		conditions.setIf(false, greenlightv1alpha1.ConditionStalled, "", "")
		conditions.set(greenlightv1alpha1.ConditionPublished, metav1.ConditionFalse, ReasonPublishing, message)
	case greenlightv1alpha1.PostPublished:
		message := "Published to " + describeChannels(status.Channels) + "."
		conditions.set(greenlightv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonPublished, message)
		conditions.setIf(false, greenlightv1alpha1.ConditionReconciling, "", "")
		conditions.setIf(false, greenlightv1alpha1.ConditionStalled, "", "")
		conditions.set(greenlightv1alpha1.ConditionPublished, metav1.ConditionTrue, ReasonPublished, message)
	case greenlightv1alpha1.PostFailed:
		message := "Publishing failed: " + strings.Join(failures, "; ") + ". Set the annotation " + greenlightv1alpha1.AnnotationRetry +
			" to a new value to retry the failed channels."
		conditions.set(greenlightv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonFailed, message)
		conditions.setIf(false, greenlightv1alpha1.ConditionReconciling, "", "")
		conditions.setIf(true, greenlightv1alpha1.ConditionStalled, ReasonFailed, message)
		conditions.set(greenlightv1alpha1.ConditionPublished, metav1.ConditionFalse, ReasonFailed, message)
	}
	current := revision.Of(&post.Spec)
	conditions.setIf(current != status.Revision, greenlightv1alpha1.ConditionDrifted, ReasonDrifted, fmt.Sprintf(
		"The spec (revision %s) no longer matches revision %s, which was published; nothing is reviewed or published again.",
		shortRevision(current), shortRevision(status.Revision)))
}

func describeChannels(channels []greenlightv1alpha1.ChannelStatus) string {
	parts := make([]string, 0, len(channels))
	for _, ch := range channels {
		if ch.URL != "" {
			parts = append(parts, ch.Name+" ("+ch.URL+")")
		} else {
			parts = append(parts, ch.Name)
		}
	}
	return strings.Join(parts, ", ")
}

// ensureJobs creates the content ConfigMap and the Job of every channel whose status says its
// current attempt is Pending, as the status that was just written (or read) records it.
//
// Exactly once: a Job's name is derived from the post, channel, revision and attempt, so the API
// server itself refuses a second Job for the same four (AlreadyExists, which counts as done). A
// new attempt, and so a new name, comes only from a status write that recorded it with an
// optimistic lock: a reconcile that read a stale post, or a second manager during a leader
// hand-over, loses that write and creates nothing new. A crash between the status write and the
// Job's creation is repaired by the next reconcile, which reads Pending and creates the same
// name. Jobs are owned by the post and their TTL is cleared, so a finished Job stays as the
// record of its attempt, and one deleted after Greenlight saw it is never made again (observe
// fails its channel; a retry is a person's decision, with the same idempotency key, which lets
// the remote side refuse a repeat). Nothing is created unless the spec still is the approved
// revision, and an existing ConfigMap or Job under these predictable names must be the one
// Greenlight builds (verifyContent, trustJob).
func (r *ContentPostReconciler) ensureJobs(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	publishers map[string]policy.Publisher) (created map[string]string, err error) {
	pending, err := r.missingJobs(ctx, post)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	// The content is built from the spec: only while the spec still is the approved revision (an
	// edit between approval and here, after a failed attempt to store it, must never go out).
	if current := revision.Of(&post.Spec); current != post.Status.Revision {
		return nil, foreignContent{channels: pending, message: fmt.Sprintf("ContentPost %s changed after it was approved (its spec is "+
			"now revision %s; %s was approved), so its content cannot be stored as approved; nothing was published on this channel: "+
			"set the spec back to the approved revision, then retry", post.Name, shortRevision(current), shortRevision(post.Status.Revision))}
	}
	configMap, err := publish.ConfigMap(post, post.Status.Revision)
	if err != nil {
		return nil, err
	}
	if err := r.createOwned(ctx, post, configMap); err != nil {
		return nil, fmt.Errorf("creating ConfigMap %s: %w", configMap.Name, err)
	}
	if err := r.verifyContent(ctx, post, configMap, pending); err != nil {
		return nil, err
	}
	created = map[string]string{}
	for _, ch := range post.Status.Channels {
		if !slices.Contains(pending, ch.Name) {
			continue
		}
		publisher, ok := publishers[ch.Name]
		if !ok {
			return created, fmt.Errorf("no applying policy publishes to channel %s any more", ch.Name)
		}
		job := r.desiredJob(post, ch, publisher)
		if err := r.createOwned(ctx, post, job); err != nil {
			return created, fmt.Errorf("creating Job %s: %w", ch.Job, err)
		}
		if job.UID != "" {
			created[ch.Name] = string(job.UID)
		}
	}
	return created, nil
}

// missingJobs names the Pending channels whose Job does not exist. The cache answers first, so a
// reconcile of a post whose Jobs exist makes no API call; a miss is confirmed with the API
// server, since the cache may not have seen a Job created a moment ago.
func (r *ContentPostReconciler) missingJobs(ctx context.Context, post *greenlightv1alpha1.ContentPost) ([]string, error) {
	var missing []string
	for _, ch := range post.Status.Channels {
		if ch.State != greenlightv1alpha1.PublishPending {
			continue
		}
		key := client.ObjectKey{Namespace: post.Namespace, Name: ch.Job}
		err := r.client.Get(ctx, key, &batchv1.Job{})
		if apierrors.IsNotFound(err) {
			err = r.apiReader.Get(ctx, key, &batchv1.Job{})
		}
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, ch.Name)
		case err != nil:
			return nil, err
		}
	}
	return missing, nil
}

// desiredJob is the Job Greenlight runs for a channel's current attempt.
func (r *ContentPostReconciler) desiredJob(post *greenlightv1alpha1.ContentPost, ch greenlightv1alpha1.ChannelStatus,
	publisher policy.Publisher) *batchv1.Job {
	job := publish.Job(post, ch.Name, post.Status.Revision, ch.Attempts, publisher.JobTemplate,
		publish.ConfigMapName(post.Name, post.Status.Revision))
	job.Spec.TTLSecondsAfterFinished = nil
	return job
}

// foreignContent says why the approved content cannot be stored for the Jobs: the spec changed
// after approval, or the ConfigMap's name is taken by one Greenlight did not create with the
// approved content. No Job may be created.
type foreignContent struct {
	// channels are the channels whose Jobs must not be created.
	channels []string
	message  string
}

func (f foreignContent) Error() string { return f.message }

// verifyContent checks, straight from the API server, that the ConfigMap under the content's
// name is the one Greenlight created: controlled by the post, immutable, holding exactly the
// approved post.json of every channel. Its name is predictable, so one created by someone else
// first must never feed a Job.
func (r *ContentPostReconciler) verifyContent(ctx context.Context, post *greenlightv1alpha1.ContentPost, want *corev1.ConfigMap,
	channels []string) error {
	have := &corev1.ConfigMap{}
	if err := r.apiReader.Get(ctx, client.ObjectKeyFromObject(want), have); err != nil {
		return err
	}
	if !metav1.IsControlledBy(have, post) || have.Immutable == nil || !*have.Immutable || !equality.Semantic.DeepEqual(have.Data, want.Data) {
		return foreignContent{channels: channels, message: fmt.Sprintf(
			"ConfigMap %s, which must hold the approved content, was not created by Greenlight for this "+
				"post (it is not controlled by the post, not immutable, or holds other content); nothing was published: delete it and retry",
			want.Name)}
	}
	return nil
}

// createOwned creates obj with a controller reference to the post; one that already exists counts
// as created.
func (r *ContentPostReconciler) createOwned(ctx context.Context, post *greenlightv1alpha1.ContentPost, obj client.Object) error {
	if err := controllerutil.SetControllerReference(post, obj, r.client.Scheme()); err != nil {
		return err
	}
	err := r.client.Create(ctx, obj)
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil
	case err != nil:
		return err
	}
	logf.FromContext(ctx).Info("Created publishing object", "kind", fmt.Sprintf("%T", obj), "name", obj.GetName())
	return nil
}
