package webhook

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// cachedReads is what the SignOff webhook reads, at cache speed. A consistent LIST waits for
// the API server's watch cache to catch up with etcd (for a rarely written resource, up to the
// next progress notification, about 100 ms), so admission never makes one:
//   - policies come from the manager's cache, which holds every policy in every shard;
//   - the post comes from the cache, or by GET (a quorum read, without that wait) when the cache
//     does not have it: created a moment ago, or in another shard;
//   - the post's sign-offs come from the cache, which holds every SignOff in every shard.
//
// None of this weakens what counts: the reconciler re-checks every rule on every sign-off
// (README, "Performance and scale", goes through them one by one).
type cachedReads struct {
	cache client.Reader
	api   client.Reader
	// indexed: cache has the SignOff index by spec.post (the manager's cache does).
	indexed bool
}

// post reads a post; a NotFound error means the API server does not have it either.
func (r cachedReads) post(ctx context.Context, key client.ObjectKey) (*greenlightv1alpha1.ContentPost, error) {
	post := &greenlightv1alpha1.ContentPost{}
	err := r.cache.Get(ctx, key, post)
	if apierrors.IsNotFound(err) {
		err = r.api.Get(ctx, key, post)
	}
	return post, err
}

func (r cachedReads) policies(ctx context.Context, namespace string) ([]greenlightv1alpha1.ApprovalPolicy, error) {
	var policies greenlightv1alpha1.ApprovalPolicyList
	err := r.cache.List(ctx, &policies, client.InNamespace(namespace))
	return policies.Items, err
}

// signOffs lists the sign-offs bound to the post's UID.
func (r cachedReads) signOffs(ctx context.Context, post *greenlightv1alpha1.ContentPost) ([]greenlightv1alpha1.SignOff, error) {
	var signOffs greenlightv1alpha1.SignOffList
	if !r.indexed {
		err := r.cache.List(ctx, &signOffs, client.InNamespace(post.Namespace),
			client.MatchingLabels{greenlightv1alpha1.LabelPostUID: string(post.UID)})
		return signOffs.Items, err
	}
	err := r.cache.List(ctx, &signOffs, client.InNamespace(post.Namespace), client.MatchingFields{review.SignOffPostIndex: post.Name})
	bound := slices.DeleteFunc(signOffs.Items, func(s greenlightv1alpha1.SignOff) bool {
		return s.Labels[greenlightv1alpha1.LabelPostUID] != string(post.UID)
	})
	return bound, err
}

// namespaceTerminating reports whether a namespace is being deleted, read live: it decides who
// may delete a SignOff, and namespaces are not cached.
func (r cachedReads) namespaceTerminating(ctx context.Context, name string) bool {
	ns := &corev1.Namespace{}
	return r.api.Get(ctx, client.ObjectKey{Name: name}, ns) == nil && !ns.DeletionTimestamp.IsZero()
}
