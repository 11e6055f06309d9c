package controllers

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// ApprovalPolicyReconciler reports whether a policy is valid (its selector parses and its when
// expressions compile) and how many posts it selects.
type ApprovalPolicyReconciler struct {
	client   client.Client
	recorder EventRecorder
	compiler *policy.Compiler
	// health reports notification delivery failures; changes arrive on healthChanges.
	health        NotificationHealth
	healthChanges <-chan event.GenericEvent
	// clock stamps condition transitions; tests inject a fake one.
	clock clock.PassiveClock
	// shard selects the policies whose status this manager writes; nil selects all.
	shard labels.Selector
}

// NewApprovalPolicyReconciler returns a policy reconciler that reads time from clk.
func NewApprovalPolicyReconciler(c client.Client, recorder EventRecorder, compiler *policy.Compiler, health NotificationHealth,
	healthChanges <-chan event.GenericEvent, clk clock.PassiveClock) *ApprovalPolicyReconciler {
	return &ApprovalPolicyReconciler{client: c, recorder: recorder, compiler: compiler, health: health,
		healthChanges: healthChanges, clock: clk}
}

// +kubebuilder:rbac:groups=greenlight.dev,resources=approvalpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=greenlight.dev,resources=approvalpolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=greenlight.dev,resources=contentposts,verbs=get;list;watch

// Reconcile validates the policy, counts the posts it selects and writes the status when it
// changed.
func (r *ApprovalPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &greenlightv1alpha1.ApprovalPolicy{}
	if err := r.client.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.owns(p) {
		return ctrl.Result{}, nil // another shard's manager writes its status
	}
	problems := policy.Validate(p, r.compiler)

	var posts greenlightv1alpha1.ContentPostList
	if err := r.client.List(ctx, &posts, client.InNamespace(p.Namespace)); err != nil {
		return ctrl.Result{}, err
	}
	var matched int32
	for i := range posts.Items {
		if appliesTo(p, &posts.Items[i]) {
			matched++
		}
	}

	var failures map[string]string
	if r.health != nil {
		failures = r.health.Failures(p.Namespace, p.Name)
	}
	status := computePolicyStatus(p, problems, matched, failures, r.clock.Now())
	if equality.Semantic.DeepEqual(p.Status, status) {
		return ctrl.Result{}, nil
	}
	base := p.DeepCopy()
	p.Status = status
	if patched, result, err := patchStatus(ctx, r.client, p, base); !patched {
		return result, err
	}
	logf.FromContext(ctx).Info("Updated policy status", "matchedPosts", matched, "problems", len(problems))
	if failing := meta.FindStatusCondition(p.Status.Conditions, greenlightv1alpha1.ConditionNotificationsFailing); failing != nil &&
		meta.FindStatusCondition(base.Status.Conditions, greenlightv1alpha1.ConditionNotificationsFailing) == nil {
		r.recorder.Event(p, corev1.EventTypeWarning, greenlightv1alpha1.ConditionNotificationsFailing, failing.Message)
	}
	return ctrl.Result{}, nil
}

// matchedPostsDelay batches the policy status writes that posts arriving, leaving or being
// relabelled cause: a launch that creates a thousand posts in a few seconds costs each policy one
// matchedPosts write, not a thousand.
const matchedPostsDelay = 2 * time.Second

// SetupWithManager watches the policies this manager owns (shard selects them by label; nil owns
// all), and posts whose labels decide what the policies select.
func (r *ApprovalPolicyReconciler) SetupWithManager(mgr ctrl.Manager, shard labels.Selector) error {
	r.shard = shard
	owned := predicate.NewPredicateFuncs(r.owns)
	// Only a post's arrival, departure or label change can change what a policy matches.
	postMembership := handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.countAgainLater(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if !equality.Semantic.DeepEqual(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) {
				r.countAgainLater(ctx, e.ObjectNew, q)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.countAgainLater(ctx, e.Object, q)
		},
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&greenlightv1alpha1.ApprovalPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{}, owned)).
		Watches(&greenlightv1alpha1.ContentPost{}, postMembership)
	if r.healthChanges != nil {
		// A policy's notifications started or stopped failing.
		b = b.WatchesRawSource(source.Channel(r.healthChanges, &handler.EnqueueRequestForObject{}))
	}
	return b.Named("approvalpolicy").Complete(r)
}

// owns reports whether this manager writes the policy's status: every policy without a shard,
// the shard's policies with one.
func (r *ApprovalPolicyReconciler) owns(o client.Object) bool {
	return r.shard == nil || r.shard.Matches(labels.Set(o.GetLabels()))
}

// countAgainLater queues the owned policies of a post's namespace to count their posts again
// after matchedPostsDelay; posts changing meanwhile join the same reconcile.
func (r *ApprovalPolicyReconciler) countAgainLater(ctx context.Context, post client.Object,
	q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	var policies greenlightv1alpha1.ApprovalPolicyList
	if err := r.client.List(ctx, &policies, client.InNamespace(post.GetNamespace())); err != nil {
		logf.FromContext(ctx).Error(err, "Failed to list policies for a post change", "post", post.GetName())
		return
	}
	for i := range policies.Items {
		if r.owns(&policies.Items[i]) {
			q.AddAfter(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&policies.Items[i])}, matchedPostsDelay)
		}
	}
}

// appliesTo reports whether the policy applies to the post: it selects the post now, or it
// selected the submitted post at its current generation (status.appliedPolicies).
func appliesTo(p *greenlightv1alpha1.ApprovalPolicy, post *greenlightv1alpha1.ContentPost) bool {
	if ok, _ := policy.Matches(p, post.Labels); ok {
		return true
	}
	return slices.ContainsFunc(post.Status.AppliedPolicies, func(a greenlightv1alpha1.AppliedPolicy) bool {
		return a.UID == string(p.UID) && a.Generation == p.Generation
	})
}
