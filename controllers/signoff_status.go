package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// +kubebuilder:rbac:groups=greenlight.dev,resources=signoffs,verbs=patch

// writeSignOffStatuses tells reviewers whether their SignOff counts: it sets each SignOff's
// Counted condition from the verdict the post's review computed (once per post, not once per
// SignOff), writing only the SignOffs whose status changed, and records a SignOffIgnored event on
// the post when a sign-off stops counting or never did. post is nil when it does not exist.
//
// Admission already wrote the Counted condition it decided, so a SignOff that counts as admitted
// costs no write here. A SignOff has no status subresource (admission could not write its status
// otherwise): its status is written with the object, and that write raises its generation by one,
// which the written status already observes.
func (r *ContentPostReconciler) writeSignOffStatuses(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	signOffs []greenlightv1alpha1.SignOff, verdicts map[string]review.Verdict, now time.Time) error {
	for i := range signOffs {
		s := &signOffs[i]
		verdict, ok := verdicts[s.Name]
		if !ok {
			continue
		}
		if equality.Semantic.DeepEqual(s.Status, review.SignOffStatus(s.Status, verdict, s.Generation, now)) {
			continue
		}
		was := meta.FindStatusCondition(s.Status.Conditions, greenlightv1alpha1.ConditionCounted)
		base := s.DeepCopy()
		s.Status = review.SignOffStatus(s.Status, verdict, s.Generation+1, now)
		err := r.client.Patch(ctx, s, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		if err != nil {
			// A conflict means the SignOff changed meanwhile: the post's next reconcile (which its
			// watch triggers) recomputes it. A SignOff withdrawn meanwhile needs no status.
			if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
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

func reviewerName(s *greenlightv1alpha1.SignOff) string {
	if s.Spec.Reviewer == "" {
		return "an unknown reviewer"
	}
	return s.Spec.Reviewer
}
