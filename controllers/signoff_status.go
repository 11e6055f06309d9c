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
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// +kubebuilder:rbac:groups=greenlight.dev,resources=signoffs/status,verbs=get;update;patch

// writeSignOffStatuses tells reviewers whether their SignOff counts: it sets each SignOff's
// Counted condition from the verdict the post's review computed (once per post, not once per
// SignOff), writing only the SignOffs whose status changed, and records a SignOffIgnored event on
// the post when a sign-off stops counting or never did. post is nil when it does not exist.
func (r *ContentPostReconciler) writeSignOffStatuses(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	signOffs []greenlightv1alpha1.SignOff, verdicts map[string]review.Verdict, now time.Time) error {
	for i := range signOffs {
		s := &signOffs[i]
		verdict, ok := verdicts[s.Name]
		if !ok {
			continue
		}
		status := signOffStatus(s, verdict, now)
		if equality.Semantic.DeepEqual(s.Status, status) {
			continue
		}
		was := meta.FindStatusCondition(s.Status.Conditions, greenlightv1alpha1.ConditionCounted)
		base := s.DeepCopy()
		s.Status = status
		if patched, _, err := patchStatus(ctx, r.client, s, base); err != nil || !patched {
			// A conflict means a newer SignOff status was written meanwhile: the post's next
			// reconcile (which its watch triggers) recomputes it. A SignOff withdrawn meanwhile
			// needs no status.
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("writing the status of SignOff %s: %w", s.Name, err)
			}
			continue
		}
		logf.FromContext(ctx).V(1).Info("Updated sign-off status", "signOff", s.Name, "counted", verdict.Counted, "reason", verdict.Reason)
		// Announce on the post, where reviewers and authors look, once per change of reason.
		if !verdict.Counted && post != nil && (was == nil || was.Reason != verdict.Reason) {
			r.recorder.Eventf(post, corev1.EventTypeWarning, EventSignOffIgnored,
				"SignOff %s by %s for %s does not count: %s", s.Name, reviewerName(s), s.Spec.Department, verdict.Message)
		}
	}
	return nil
}

// signOffStatus is the SignOff's status for a verdict.
func signOffStatus(s *greenlightv1alpha1.SignOff, verdict review.Verdict, now time.Time) greenlightv1alpha1.SignOffStatus {
	status := *s.Status.DeepCopy()
	status.ObservedGeneration = s.Generation
	counted := metav1.ConditionFalse
	if verdict.Counted {
		counted = metav1.ConditionTrue
	}
	conditionSetter{conditions: &status.Conditions, generation: s.Generation, now: now}.
		set(greenlightv1alpha1.ConditionCounted, counted, verdict.Reason, verdict.Message)
	return status
}

func reviewerName(s *greenlightv1alpha1.SignOff) string {
	if s.Spec.Reviewer == "" {
		return "an unknown reviewer"
	}
	return s.Spec.Reviewer
}
