package controllers

import (
	"context"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
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
)

// ContentPostReconciler takes posts through review: it resolves the policies that apply,
// counts sign-offs against each department's covered revision, and sets the phase.
type ContentPostReconciler struct {
	client   client.Client
	recorder EventRecorder
	notifier Notifier
	reader   reviewReader
	// clock is read once per reconcile; tests inject a fake one.
	clock clock.PassiveClock
}

// NewContentPostReconciler returns a reconciler that reads time from clk.
func NewContentPostReconciler(c client.Client, recorder EventRecorder, notifier Notifier, compiler *policy.Compiler,
	clk clock.PassiveClock) *ContentPostReconciler {
	return &ContentPostReconciler{client: c, recorder: recorder, notifier: notifier,
		reader: reviewReader{client: c, compiler: compiler}, clock: clk}
}

// +kubebuilder:rbac:groups=greenlight.dev,resources=contentposts,verbs=get;list;watch
// +kubebuilder:rbac:groups=greenlight.dev,resources=contentposts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=greenlight.dev,resources=approvalpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=greenlight.dev,resources=signoffs,verbs=get;list;watch

// Reconcile computes the post's review status and writes it when it changed.
func (r *ContentPostReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	post := &greenlightv1alpha1.ContentPost{}
	if err := r.client.Get(ctx, req.NamespacedName, post); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !post.DeletionTimestamp.IsZero() || post.Status.Phase == greenlightv1alpha1.PostPublished {
		// Published posts never change: what went out is the record.
		return ctrl.Result{}, nil
	}

	in, err := r.reader.read(ctx, post)
	if err != nil {
		return ctrl.Result{}, err
	}
	in.now = r.clock.Now()
	result := computeReview(post, in)

	// The next deadline or reminder wakes this post up; nothing polls.
	var wake ctrl.Result
	if !result.requeueAt.IsZero() {
		wake.RequeueAfter = max(result.requeueAt.Sub(in.now), time.Second)
	}
	if equality.Semantic.DeepEqual(post.Status, result.status) {
		return wake, nil
	}
	base := post.DeepCopy()
	post.Status = result.status
	if patched, result, err := patchStatus(ctx, r.client, post, base); !patched {
		return result, err
	}
	log.Info("Updated post status", "phase", post.Status.Phase, "stage", post.Status.Stage, "waitingOn", post.Status.WaitingOn)
	events := postEvents(&base.Status, &post.Status)
	for _, e := range events {
		r.recorder.Event(post, e.eventType, e.reason, e.message)
	}
	if in.requirements != nil {
		notifyPolicies(r.notifier, post, in.requirements.Notifications, events, in.now)
	}
	return wake, nil
}

// SetupWithManager watches posts, their sign-offs, and the policies that select them. Posts are
// watched without a predicate: a reconcile that ran on a stale cached post must run again once
// the cache catches up with its own status write, and compare-before-write keeps that to one
// read-only pass.
func (r *ContentPostReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&greenlightv1alpha1.ContentPost{}).
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
		if matched || err != nil || slices.Contains(post.Status.Policies, p.Name) {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(post)})
		}
	}
	return requests
}
