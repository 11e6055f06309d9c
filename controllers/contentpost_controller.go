package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// ContentPostReconciler takes posts through review: it resolves the policies that apply,
// counts sign-offs against each department's covered revision, sets the phase, and tells each
// SignOff whether it counts.
type ContentPostReconciler struct {
	client client.Client
	// apiReader reads what the manager does not cache: the pods of a finished publishing Job.
	apiReader client.Reader
	recorder  EventRecorder
	notifier  Notifier
	reader    reviewReader
	// clock is read once per reconcile; tests inject a fake one.
	clock clock.PassiveClock
}

// NewContentPostReconciler returns a reconciler that reads time from clk.
func NewContentPostReconciler(c client.Client, apiReader client.Reader, recorder EventRecorder, notifier Notifier,
	compiler *policy.Compiler, clk clock.PassiveClock) *ContentPostReconciler {
	return &ContentPostReconciler{client: c, apiReader: apiReader, recorder: recorder, notifier: notifier,
		reader: reviewReader{client: c, compiler: compiler}, clock: clk}
}

// +kubebuilder:rbac:groups=greenlight.dev,resources=contentposts,verbs=get;list;watch
// +kubebuilder:rbac:groups=greenlight.dev,resources=contentposts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=greenlight.dev,resources=approvalpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=greenlight.dev,resources=signoffs,verbs=get;list;watch

// Reconcile computes the post's review, writes the post's status when it changed, and then each
// of its SignOffs' Counted condition.
func (r *ContentPostReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	now := r.clock.Now()
	post := &greenlightv1alpha1.ContentPost{}
	if err := r.client.Get(ctx, req.NamespacedName, post); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.judgeOrphans(ctx, req.NamespacedName, now)
	}
	if !post.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}

	in, err := r.reader.read(ctx, post)
	if err != nil {
		return ctrl.Result{}, err
	}
	in.now = now
	if publishingStarted(post.Status.Phase) {
		return r.reconcilePublishing(ctx, post, in)
	}
	result := computeReview(post, in)

	// The next deadline or reminder wakes this post up; nothing polls.
	var wake ctrl.Result
	if !result.requeueAt.IsZero() {
		wake.RequeueAfter = max(result.requeueAt.Sub(in.now), time.Second)
	}
	if !equality.Semantic.DeepEqual(post.Status, result.status) {
		base := post.DeepCopy()
		post.Status = result.status
		if patched, retry, err := patchStatus(ctx, r.client, post, base); !patched {
			return retry, err
		}
		log.Info("Updated post status", "phase", post.Status.Phase, "stage", post.Status.Stage, "waitingOn", post.Status.WaitingOn)
		events := postEvents(&base.Status, &post.Status)
		for _, e := range events {
			r.recorder.Event(post, e.eventType, e.reason, e.message)
		}
		if in.requirements != nil {
			notifyPolicies(r.notifier, post, in.requirements.Notifications, events, in.now)
		}
	}
	if post.Status.Phase == greenlightv1alpha1.PostPublishing {
		if err := r.ensureJobs(ctx, post, in.requirements.Publishers); err != nil {
			return ctrl.Result{}, err
		}
	}
	return wake, r.writeSignOffStatuses(ctx, post, in.signOffs, result.verdicts, now)
}

// reconcilePublishing moves a post whose publishing began: a retry the author asked for, what its
// Jobs report, the phase and conditions that follow, and the Jobs its status records as pending.
func (r *ContentPostReconciler) reconcilePublishing(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	in reviewInputs) (ctrl.Result, error) {
	status := post.Status.DeepCopy()
	status.ObservedGeneration = post.Generation
	retryFailed(status, post)
	if err := r.observe(ctx, post, status, in.now); err != nil {
		return ctrl.Result{}, err
	}
	status.Phase = publishingPhase(status)
	setPublishedConditions(status, post, in.now)
	if !equality.Semantic.DeepEqual(post.Status, *status) {
		base := post.DeepCopy()
		post.Status = *status
		if patched, retry, err := patchStatus(ctx, r.client, post, base); !patched {
			return retry, err
		}
		logf.FromContext(ctx).Info("Updated post status", "phase", post.Status.Phase)
		events := phaseEvents(&base.Status, &post.Status)
		for _, e := range events {
			r.recorder.Event(post, e.eventType, e.reason, e.message)
		}
		if in.requirements != nil {
			notifyPolicies(r.notifier, post, in.requirements.Notifications, events, in.now)
		}
	}
	if post.Status.Phase == greenlightv1alpha1.PostPublishing {
		if in.requirements == nil {
			return ctrl.Result{}, fmt.Errorf("cannot create the publishing Jobs of post %s: %s", post.Name, in.blocked.Message)
		}
		if err := r.ensureJobs(ctx, post, in.requirements.Publishers); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, r.judgeLate(ctx, post, in.now)
}

// judgeOrphans marks the SignOffs that name a post that does not exist.
func (r *ContentPostReconciler) judgeOrphans(ctx context.Context, key client.ObjectKey, now time.Time) error {
	signOffs, err := r.reader.signOffsOf(ctx, key.Namespace, key.Name)
	if err != nil {
		return err
	}
	verdicts := map[string]review.Verdict{}
	for _, s := range signOffs {
		verdicts[s.Name] = review.Verdict{Reason: review.ReasonPostNotFound, Message: fmt.Sprintf(
			"there is no ContentPost %s in namespace %s: spec.post must name the post you reviewed", key.Name, key.Namespace)}
	}
	return r.writeSignOffStatuses(ctx, nil, signOffs, verdicts, now)
}

// judgeLate marks SignOffs made after the post's publishing began, which never count. What went
// out is the record, and so is what counted towards it.
func (r *ContentPostReconciler) judgeLate(ctx context.Context, post *greenlightv1alpha1.ContentPost, now time.Time) error {
	signOffs, err := r.reader.signOffsOf(ctx, post.Namespace, post.Name)
	if err != nil {
		return err
	}
	verdicts := map[string]review.Verdict{}
	for _, s := range signOffs {
		if meta.FindStatusCondition(s.Status.Conditions, greenlightv1alpha1.ConditionCounted) == nil {
			verdicts[s.Name] = review.Verdict{Reason: review.ReasonPostPublished, Message: fmt.Sprintf(
				"ContentPost %s is already published: sign-offs can no longer change it", post.Name)}
		}
	}
	return r.writeSignOffStatuses(ctx, post, signOffs, verdicts, now)
}

// SetupWithManager watches posts, their sign-offs, and the policies that select them. A SignOff
// naming a post that does not exist is reconciled under the post's name. Posts are
// watched without a predicate: a reconcile that ran on a stale cached post must run again once
// the cache catches up with its own status write, and compare-before-write keeps that to one
// read-only pass.
func (r *ContentPostReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&greenlightv1alpha1.ContentPost{}).
		// A publishing Job's progress moves its post.
		Owns(&batchv1.Job{}).
		// SignOffs are immutable: only their creation and deletion change a post's review.
		Watches(&greenlightv1alpha1.SignOff{}, handler.EnqueueRequestsFromMapFunc(postsOfSignOff),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&greenlightv1alpha1.ApprovalPolicy{}, handler.EnqueueRequestsFromMapFunc(r.postsOfPolicy),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("contentpost").
		Complete(r)
}

// postsOfPolicy maps a policy to the posts it selects now and the posts it selected before (a
// selector edit must release those).
func (r *ContentPostReconciler) postsOfPolicy(ctx context.Context, o client.Object) []reconcile.Request {
	p := o.(*greenlightv1alpha1.ApprovalPolicy)
	var posts greenlightv1alpha1.ContentPostList
	if err := r.client.List(ctx, &posts, client.InNamespace(p.Namespace)); err != nil {
		logf.FromContext(ctx).Error(err, "Failed to list posts for a policy change", "policy", p.Name)
		return nil
	}
	var requests []reconcile.Request
	for i := range posts.Items {
		post := &posts.Items[i]
		matched, err := policy.Matches(p, post.Labels)
		if matched || err != nil || slices.Contains(post.Status.Policies, p.Name) ||
			slices.ContainsFunc(post.Status.AppliedPolicies, func(a greenlightv1alpha1.AppliedPolicy) bool { return a.UID == string(p.UID) }) {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(post)})
		}
	}
	return requests
}
