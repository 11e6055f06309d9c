package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		responded := r.respondedAfter(post, s)
		if equality.Semantic.DeepEqual(s.Status, withResponse(review.SignOffStatus(s.Status, verdict, s.Generation, now), responded)) {
			continue
		}
		was := meta.FindStatusCondition(s.Status.Conditions, greenlightv1alpha1.ConditionCounted)
		base := s.DeepCopy()
		s.Status = withResponse(review.SignOffStatus(s.Status, verdict, s.Generation+1, now), responded)
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

// respondedAfter is the SignOff's status.respondedAfter as Greenlight decides it: the one
// admission wrote, which never changes; without admission webhooks (whoever created the SignOff
// could have written any value) the one computed from its creationTimestamp and its department's
// review start, the same on every reconcile while that review runs; once it moved on, the value
// decided while it ran if the metrics counted it, else nil (the review's start is not known any
// more).
func (r *ContentPostReconciler) respondedAfter(post *greenlightv1alpha1.ContentPost, s *greenlightv1alpha1.SignOff) *metav1.Duration {
	stored := s.Status.RespondedAfter
	if post == nil || (stored != nil && r.admission) {
		return stored
	}
	d := post.Status.Department(s.Spec.Department)
	if d == nil || (s.Spec.Revision != "" && s.Spec.Revision != d.Revision) {
		// The review moved on: what was decided while it ran stays (the metrics counted it).
		if slices.Contains(post.Status.ObservedSignOffs, string(s.UID)) {
			return stored
		}
		return nil
	}
	return review.RespondedAfter(d, s.CreationTimestamp.Time)
}

// responses are the post's SignOffs as Greenlight decides their status, for the metrics: copies
// (writeSignOffStatuses still compares with what is stored). Without admission webhooks the
// stored status is whatever the SignOff's creator wrote: the copies carry the respondedAfter
// Greenlight decides and no conditions, so that only this reconcile's verdicts say what counts.
func (r *ContentPostReconciler) responses(post *greenlightv1alpha1.ContentPost,
	signOffs []greenlightv1alpha1.SignOff) []greenlightv1alpha1.SignOff {
	if r.admission {
		return signOffs
	}
	decided := make([]greenlightv1alpha1.SignOff, len(signOffs))
	for i := range signOffs {
		decided[i] = *signOffs[i].DeepCopy()
		decided[i].Status.RespondedAfter = r.respondedAfter(post, &signOffs[i])
		decided[i].Status.Conditions = nil
	}
	return decided
}

func withResponse(status greenlightv1alpha1.SignOffStatus, responded *metav1.Duration) greenlightv1alpha1.SignOffStatus {
	status.RespondedAfter = responded
	return status
}
