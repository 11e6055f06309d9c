package review

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// SignOffPostIndex is the manager cache's index of SignOffs by spec.post, which the reconciler
// and the webhooks list a post's sign-offs through: a label selector on the cache would scan
// every SignOff of the namespace, for every admission.
const SignOffPostIndex = "spec.post"

// SignOffStatus is a SignOff's status for its verdict, from its previous status: admission
// writes it when the SignOff is created, and the reconciler writes it again only when a later
// verdict differs. generation is the SignOff's metadata.generation the status describes.
func SignOffStatus(prev greenlightv1alpha1.SignOffStatus, verdict Verdict, generation int64,
	now time.Time) greenlightv1alpha1.SignOffStatus {
	status := *prev.DeepCopy()
	status.ObservedGeneration = generation
	counted := metav1.ConditionFalse
	if verdict.Counted {
		counted = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type: greenlightv1alpha1.ConditionCounted, Status: counted, Reason: verdict.Reason, Message: verdict.Message,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now.Truncate(time.Second)),
	})
	return status
}
