package controllers

import (
	"context"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/greenlight-operator/greenlight/internal/policy"
)

// SetupWithManager registers the shared field indexes and every reconciler, reading time from
// clk. main.go and the integration tests wire the manager through it alike.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, compiler *policy.Compiler, recorder EventRecorder,
	clk clock.PassiveClock) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	if err := NewContentPostReconciler(mgr.GetClient(), recorder, compiler, clk).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := NewApprovalPolicyReconciler(mgr.GetClient(), compiler, clk).SetupWithManager(mgr); err != nil {
		return err
	}
	return NewSignOffReconciler(mgr.GetClient(), recorder, compiler, clk).SetupWithManager(mgr)
}
