package controllers

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// Options configure the reconcilers. main.go and the integration tests fill them alike.
type Options struct {
	Compiler *policy.Compiler
	Recorder EventRecorder
	// Clock is read once per reconcile; tests inject a fake one.
	Clock  clock.PassiveClock
	Notify notify.Options
	// MaxConcurrentReconciles is how many posts reconcile at once (one post is never reconciled
	// twice at once); 0 means DefaultMaxConcurrentReconciles.
	MaxConcurrentReconciles int
	// Shard selects, by label, the posts this manager owns and the policies whose status it
	// writes. Nil owns everything. Every shard reads every policy (a post is reviewed against
	// all the policies of its namespace, whatever their labels), every SignOff and every Job:
	// nothing a label can say may hide a sign-off or a Job from the manager of its post.
	Shard labels.Selector
	// Metrics is where the greenlight_* metrics are registered (controller-runtime's
	// metrics.Registry in main.go); nil reports none, so that tests can run several managers.
	Metrics prometheus.Registerer
	// AdmissionWebhooks says that Greenlight's admission webhooks run, and so wrote every
	// SignOff's status.respondedAfter when it was created. Without them (ENABLE_WEBHOOKS=false)
	// whoever creates a SignOff could write any value there: the reconciler computes it from the
	// SignOff's creationTimestamp instead, until the metrics counted it.
	AdmissionWebhooks bool
}

// DefaultMaxConcurrentReconciles is the manager's --max-concurrent-reconciles default. A post's
// reconcile mostly waits for its status write and its Event; with 4 at once the queue fell
// seconds behind 45 approvals a second, with 16 it kept up (`make bench`, see the README). One
// post is never reconciled twice at once, and a reconcile that reads a post older than this
// manager's own last write skips it, so more workers do not add conflicts.
const DefaultMaxConcurrentReconciles = 16

func (o Options) concurrency() int {
	if o.MaxConcurrentReconciles > 0 {
		return o.MaxConcurrentReconciles
	}
	return DefaultMaxConcurrentReconciles
}

// ParseShard parses a --watch-label-selector value; empty selects everything (nil).
func ParseShard(selector string) (labels.Selector, error) {
	if selector == "" {
		return nil, nil
	}
	parsed, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("--watch-label-selector %q is not a label selector (for example %s=shard1): %w",
			selector, greenlightv1alpha1.LabelShard, err)
	}
	return parsed, nil
}

// CacheOptions are the manager's cache settings. The cache keeps only what the reconcilers and
// webhooks read: no managedFields and no kubectl last-applied-configuration annotation (a
// second copy of the whole object), and, with a shard, only the shard's posts, the largest
// objects. SignOffs and Jobs are cached in every shard: a label on them (which whoever may
// create or edit them controls) must never hide a Reject or a squatting Job from the manager of
// their post.
func CacheOptions(shard labels.Selector) cache.Options {
	opts := cache.Options{DefaultTransform: trimForCache}
	if shard != nil {
		opts.ByObject = map[client.Object]cache.ByObject{&greenlightv1alpha1.ContentPost{}: {Label: shard}}
	}
	return opts
}

// lastApplied is the annotation kubectl apply keeps a copy of the applied object in.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// trimForCache drops from a cached object what Greenlight never reads. The reconcilers write
// with merge patches computed between two cached copies, so a dropped field is never written
// back as removed.
var trimForCache toolscache.TransformFunc = func(in any) (any, error) {
	accessor, err := meta.Accessor(in)
	if err != nil {
		return in, nil // a tombstone or a non-object: keep it as it is
	}
	accessor.SetManagedFields(nil)
	if annotations := accessor.GetAnnotations(); annotations[lastApplied] != "" {
		delete(annotations, lastApplied)
		accessor.SetAnnotations(annotations)
	}
	return in, nil
}
