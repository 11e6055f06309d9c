package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// SignOffReconciler tells reviewers whether their SignOff counts: it sets the SignOff's Counted
// condition, and records a SignOffIgnored event on the post when a sign-off stops counting or
// never did. It uses the same computation as the post's review, so the two always agree.
type SignOffReconciler struct {
	client   client.Client
	recorder EventRecorder
	reader   reviewReader
	// clock stamps condition transitions; tests inject a fake one.
	clock clock.PassiveClock
}

// NewSignOffReconciler returns a SignOff reconciler that reads time from clk.
func NewSignOffReconciler(c client.Client, recorder EventRecorder, compiler *policy.Compiler, clk clock.PassiveClock) *SignOffReconciler {
	return &SignOffReconciler{client: c, recorder: recorder, reader: reviewReader{client: c, compiler: compiler}, clock: clk}
}

// +kubebuilder:rbac:groups=greenlight.dev,resources=signoffs,verbs=get;list;watch
// +kubebuilder:rbac:groups=greenlight.dev,resources=signoffs/status,verbs=get;update;patch

// Reconcile sets the SignOff's Counted condition.
func (r *SignOffReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	signOff := &greenlightv1alpha1.SignOff{}
	if err := r.client.Get(ctx, req.NamespacedName, signOff); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	now := r.clock.Now()
	post := &greenlightv1alpha1.ContentPost{}
	var verdict signOffVerdict
	err := r.client.Get(ctx, client.ObjectKey{Namespace: signOff.Namespace, Name: signOff.Spec.Post}, post)
	switch {
	case apierrors.IsNotFound(err):
		post = nil
		verdict = signOffVerdict{reason: ReasonPostNotFound, message: fmt.Sprintf(
			"there is no ContentPost %s in namespace %s", signOff.Spec.Post, signOff.Namespace)}
	case err != nil:
		return ctrl.Result{}, err
	case post.Status.Phase == greenlightv1alpha1.PostPublished:
		// The post's record is final, and so is what counted towards it.
		return ctrl.Result{}, nil
	default:
		in, err := r.reader.read(ctx, post)
		if err != nil {
			return ctrl.Result{}, err
		}
		in.now = now
		var found bool
		if verdict, found = computeReview(post, in).verdicts[signOff.Name]; !found {
			// The cache has the SignOff but its index does not yet: try again shortly.
			return ctrl.Result{}, fmt.Errorf("SignOff %s is not yet listed for post %s", signOff.Name, post.Name)
		}
	}

	status := signOffStatus(signOff, verdict, now)
	if equality.Semantic.DeepEqual(signOff.Status, status) {
		return ctrl.Result{}, nil
	}
	wasCounted := meta.FindStatusCondition(signOff.Status.Conditions, greenlightv1alpha1.ConditionCounted)
	base := signOff.DeepCopy()
	signOff.Status = status
	if patched, result, err := patchStatus(ctx, r.client, signOff, base); !patched {
		return result, err
	}
	logf.FromContext(ctx).Info("Updated sign-off status", "counted", verdict.counted, "reason", verdict.reason)

	// Announce on the post, where reviewers and authors look, once per change of reason.
	if !verdict.counted && post != nil && (wasCounted == nil || wasCounted.Reason != verdict.reason) {
		r.recorder.Eventf(post, corev1.EventTypeWarning, EventSignOffIgnored,
			"SignOff %s by %s for %s does not count: %s", signOff.Name, reviewerName(signOff), signOff.Spec.Department, verdict.message)
	}
	return ctrl.Result{}, nil
}

// signOffStatus is the SignOff's status for a verdict.
func signOffStatus(s *greenlightv1alpha1.SignOff, verdict signOffVerdict, now time.Time) greenlightv1alpha1.SignOffStatus {
	status := *s.Status.DeepCopy()
	status.ObservedGeneration = s.Generation
	counted := metav1.ConditionFalse
	if verdict.counted {
		counted = metav1.ConditionTrue
	}
	conditionSetter{conditions: &status.Conditions, generation: s.Generation, now: now}.
		set(greenlightv1alpha1.ConditionCounted, counted, verdict.reason, verdict.message)
	return status
}

func reviewerName(s *greenlightv1alpha1.SignOff) string {
	if s.Spec.Reviewer == "" {
		return "an unknown reviewer"
	}
	return s.Spec.Reviewer
}

// SetupWithManager watches SignOffs and re-checks a post's sign-offs whenever the post changes,
// or another of its sign-offs comes or goes (whether a reviewer's approval is a duplicate
// depends on their other sign-offs).
func (r *SignOffReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&greenlightv1alpha1.SignOff{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&greenlightv1alpha1.ContentPost{}, handler.EnqueueRequestsFromMapFunc(
			func(ctx context.Context, o client.Object) []reconcile.Request {
				return r.signOffsOfPost(ctx, o.GetNamespace(), o.GetName())
			})).
		Watches(&greenlightv1alpha1.SignOff{}, handler.EnqueueRequestsFromMapFunc(
			func(ctx context.Context, o client.Object) []reconcile.Request {
				return r.signOffsOfPost(ctx, o.GetNamespace(), o.(*greenlightv1alpha1.SignOff).Spec.Post)
			}), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("signoff").
		Complete(r)
}

// signOffsOfPost lists a post's SignOffs, through the spec.post index.
func (r *SignOffReconciler) signOffsOfPost(ctx context.Context, namespace, post string) []reconcile.Request {
	var signOffs greenlightv1alpha1.SignOffList
	if err := r.client.List(ctx, &signOffs, client.InNamespace(namespace),
		client.MatchingFields{signOffPostIndex: post}); err != nil {
		logf.FromContext(ctx).Error(err, "Failed to list sign-offs for a change", "post", post)
		return nil
	}
	requests := make([]reconcile.Request, 0, len(signOffs.Items))
	for i := range signOffs.Items {
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&signOffs.Items[i])})
	}
	return requests
}
