package webhook

import (
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/greenlight-operator/greenlight/internal/policy"
)

// SetupWithManager registers every admission webhook. They read the API server directly (not
// the cache), so that each check sees the post as it is at the moment of the request. Members of
// adminGroups may delete anyone's SignOff. clk is the reconcilers' clock, so that a deadline
// passes for admission when it passes for them.
func SetupWithManager(mgr ctrl.Manager, compiler *policy.Compiler, adminGroups []string, clk clock.PassiveClock) error {
	reader := mgr.GetAPIReader()
	if err := NewSignOffWebhook(reader, compiler, adminGroups, clk).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := NewContentPostWebhook(reader, admission.NewDecoder(mgr.GetScheme())).SetupWithManager(mgr); err != nil {
		return err
	}
	return NewApprovalPolicyWebhook(reader, compiler).SetupWithManager(mgr)
}
