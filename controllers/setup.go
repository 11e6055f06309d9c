package controllers

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// The manager reads a notification's Secret only when sending, straight from the API server.
// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get

// SetupWithManager registers the shared field indexes, the notifier and every reconciler,
// reading time from clk. main.go and the integration tests wire the manager through it alike.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, compiler *policy.Compiler, recorder EventRecorder,
	clk clock.PassiveClock, notifyOptions notify.Options) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	healthChanges := make(chan event.GenericEvent, 100)
	notifier := notify.New(mgr.GetAPIReader(), notifyOptions, func(namespace, policy string) {
		select {
		case healthChanges <- event.GenericEvent{Object: &greenlightv1alpha1.ApprovalPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: policy}}}:
		default: // a reconcile is already queued; it reads the current failures
		}
	})
	if err := mgr.Add(notifier); err != nil {
		return err
	}
	posts := NewContentPostReconciler(mgr.GetClient(), mgr.GetAPIReader(), recorder, notifier, compiler, clk)
	if err := posts.SetupWithManager(mgr); err != nil {
		return err
	}
	return NewApprovalPolicyReconciler(mgr.GetClient(), recorder, compiler, notifier, healthChanges, clk).SetupWithManager(mgr)
}
