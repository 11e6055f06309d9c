package controllers

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/metrics"
	"github.com/greenlight-operator/greenlight/internal/notify"
)

// The manager reads a notification's Secret only when sending, straight from the API server.
// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get

// SetupWithManager registers the shared field indexes, the notifier and every reconciler. main.go
// and the integration tests wire the manager through it alike; the manager's cache must be
// configured with CacheOptions(opts.Shard).
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	healthChanges := make(chan event.GenericEvent, 100)
	notifier := notify.New(mgr.GetAPIReader(), opts.Notify, func(namespace, policy string) {
		select {
		case healthChanges <- event.GenericEvent{Object: &greenlightv1alpha1.ApprovalPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: policy}}}:
		default: // a reconcile is already queued; it reads the current failures
		}
	})
	if err := mgr.Add(notifier); err != nil {
		return err
	}
	posts := NewContentPostReconciler(mgr.GetClient(), mgr.GetAPIReader(), opts.Recorder, notifier, opts.Compiler, opts.Clock)
	posts.admission = opts.AdmissionWebhooks
	if opts.Metrics != nil {
		// greenlight_posts counts the cache's posts, and only the leader reports it.
		recorder, err := metrics.NewRecorder(opts.Metrics, mgr.GetCache(), mgr.Elected())
		if err != nil {
			return fmt.Errorf("registering Greenlight's metrics: %w", err)
		}
		posts.metrics = recorder
	}
	if err := posts.SetupWithManager(mgr, opts.concurrency(), opts.Shard); err != nil {
		return err
	}
	policies := NewApprovalPolicyReconciler(mgr.GetClient(), opts.Recorder, opts.Compiler, notifier, healthChanges, opts.Clock)
	return policies.SetupWithManager(mgr, opts.Shard)
}
