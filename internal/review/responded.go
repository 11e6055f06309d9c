package review

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// RespondedAfter is a SignOff's status.respondedAfter: how long after its department's review
// began (department.requestedAt) the SignOff was created. Admission computes it when the SignOff
// is created, and the reconciler, when the webhooks are down, from its creationTimestamp; both
// call this function. It is nil when the department's review has not begun, and never negative.
// Kubernetes stores times to the second, so the duration is whole seconds.
func RespondedAfter(department *greenlightv1alpha1.DepartmentStatus, created time.Time) *metav1.Duration {
	if department == nil || department.RequestedAt == nil || created.IsZero() {
		return nil
	}
	after := created.Truncate(time.Second).Sub(department.RequestedAt.Truncate(time.Second))
	return &metav1.Duration{Duration: max(after, 0)}
}
