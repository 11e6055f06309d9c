package controllers

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
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

// SetupWithManager watches policies, and posts whose labels decide what the policies select.
func (r *ApprovalPolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	// Only a post's arrival, departure or label change can change what a policy matches.
	postMembership := predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !equality.Semantic.DeepEqual(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
		},
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&greenlightv1alpha1.ApprovalPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&greenlightv1alpha1.ContentPost{}, handler.EnqueueRequestsFromMapFunc(r.policiesInNamespace),
			builder.WithPredicates(postMembership))
	if r.healthChanges != nil {
		// A policy's notifications started or stopped failing.
		b = b.WatchesRawSource(source.Channel(r.healthChanges, &handler.EnqueueRequestForObject{}))
	}
	return b.Named("approvalpolicy").Complete(r)
}

// policiesInNamespace maps a post to the policies of its namespace.
func (r *ApprovalPolicyReconciler) policiesInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var policies greenlightv1alpha1.ApprovalPolicyList
	if err := r.client.List(ctx, &policies, client.InNamespace(o.GetNamespace())); err != nil {
		logf.FromContext(ctx).Error(err, "Failed to list policies for a post change", "post", o.GetName())
		return nil
	}
	requests := make([]reconcile.Request, 0, len(policies.Items))
	for i := range policies.Items {
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&policies.Items[i])})
	}
	return requests
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
