package webhook

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/greenlight-operator/greenlight/internal/policy"
)

// SetupWithManager registers every admission webhook. They read the API server directly (not
// the cache), so that each check sees the post as it is at the moment of the request. Members of
// adminGroups may delete anyone's SignOff.
func SetupWithManager(mgr ctrl.Manager, compiler *policy.Compiler, adminGroups []string) error {
	reader := mgr.GetAPIReader()
	if err := NewSignOffWebhook(reader, compiler, adminGroups).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := NewContentPostWebhook(reader, admission.NewDecoder(mgr.GetScheme())).SetupWithManager(mgr); err != nil {
		return err
	}
	return NewApprovalPolicyWebhook(reader, compiler).SetupWithManager(mgr)
}
