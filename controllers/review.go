// Package controllers holds one reconciler per Greenlight kind. Each computes status with pure
// functions in <kind>_status.go and writes it once per reconcile.
package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// signOffPostIndex indexes SignOffs by spec.post, so that a post's sign-offs are found without
// listing every SignOff in the namespace (the webhooks use it too).
const signOffPostIndex = review.SignOffPostIndex

// SetupIndexes registers the field indexes the reconcilers share. Call it once per manager,
// before setting up the reconcilers.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &greenlightv1alpha1.SignOff{}, signOffPostIndex,
		func(o client.Object) []string { return []string{o.(*greenlightv1alpha1.SignOff).Spec.Post} })
}

// EventRecorder records Kubernetes Events. It is the core/v1 recorder's interface, which
// APIEventRecorder implements: unlike the events.k8s.io/v1 recorder, which folds every later
// event with the same object, reason and action into the first one's series for minutes, it
// keeps each distinct message, and the reconcilers announce each transition once with its own
// message.
type EventRecorder = record.EventRecorder

// reviewReader gathers what a post's review is computed from, through the manager's cache.
type reviewReader struct {
	client   client.Client
	compiler *policy.Compiler
}

// read returns the inputs for computing post's review. It costs one list of the namespace's
// policies and one indexed list of the post's sign-offs.
func (r reviewReader) read(ctx context.Context, post *greenlightv1alpha1.ContentPost) (reviewInputs, error) {
	var policies greenlightv1alpha1.ApprovalPolicyList
	if err := r.client.List(ctx, &policies, client.InNamespace(post.Namespace)); err != nil {
		return reviewInputs{}, fmt.Errorf("listing ApprovalPolicies: %w", err)
	}
	signOffs, err := r.signOffsOf(ctx, post.Namespace, post.Name)
	if err != nil {
		return reviewInputs{}, err
	}
	requirements, blocked := policy.Resolve(post, policies.Items, r.compiler)
	return reviewInputs{requirements: requirements, blocked: blocked, signOffs: signOffs}, nil
}

// signOffsOf lists the SignOffs whose spec.post names post, through the spec.post index.
func (r reviewReader) signOffsOf(ctx context.Context, namespace, post string) ([]greenlightv1alpha1.SignOff, error) {
	var signOffs greenlightv1alpha1.SignOffList
	if err := r.client.List(ctx, &signOffs, client.InNamespace(namespace), client.MatchingFields{signOffPostIndex: post}); err != nil {
		return nil, fmt.Errorf("listing SignOffs: %w", err)
	}
	return signOffs.Items, nil
}

// conflictRetry is how soon a reconcile whose status patch lost a race runs again.
const conflictRetry = 200 * time.Millisecond

// staleCacheRetry is how soon a post whose cached copy predates the manager's own last write is
// looked at again, should the write's watch event not come first.
const staleCacheRetry = time.Second

// patchStatus writes obj's status as a merge patch from base, guarded by base's resourceVersion:
// a status computed from a stale cached object must not overwrite a newer one. Losing that race
// is normal (the cache lags the API server by milliseconds); the reconcile runs again shortly
// with fresh data instead of reporting an error.
func patchStatus(ctx context.Context, c client.Client, obj, base client.Object) (patched bool, result ctrl.Result, err error) {
	err = c.Status().Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsConflict(err):
		return false, ctrl.Result{RequeueAfter: conflictRetry}, nil
	case err != nil:
		return false, ctrl.Result{}, err
	}
	return true, ctrl.Result{}, nil
}

// patchPostStatus is patchStatus for a post, remembering the write until the cache has it.
func (r *ContentPostReconciler) patchPostStatus(ctx context.Context,
	post, base *greenlightv1alpha1.ContentPost) (bool, ctrl.Result, error) {
	// The patch is computed from the status alone: a post's spec can be over a megabyte, and a
	// merge patch from the whole post would encode it twice per write.
	statusOf := func(p *greenlightv1alpha1.ContentPost) *greenlightv1alpha1.ContentPost {
		return &greenlightv1alpha1.ContentPost{TypeMeta: p.TypeMeta, ObjectMeta: metav1.ObjectMeta{
			Namespace: p.Namespace, Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion,
		}, Status: p.Status}
	}
	written := statusOf(post)
	patched, result, err := patchStatus(ctx, r.client, written, statusOf(base))
	if !patched {
		return patched, result, err
	}
	post.ResourceVersion, post.Generation, post.Status = written.ResourceVersion, written.Generation, written.Status
	// A patch that changed nothing stored (a time finer than a second, for one) makes no new
	// version and no watch event: it must not make the next reconcile wait for one.
	if post.ResourceVersion != base.ResourceVersion {
		r.writes.wrote(client.ObjectKeyFromObject(post), base.ResourceVersion)
	}
	return patched, result, err
}

// statusWrites remembers, per post, the resourceVersion this manager last wrote a status over. A
// reconcile that reads the post at that version from the cache reads it from before the write:
// under load, a sign-off's event often arrives before the cache has the manager's own last
// status write, and a second write from that stale copy could only fail with a conflict.
type statusWrites struct {
	sync.Mutex
	from map[types.NamespacedName]string
}

func (w *statusWrites) wrote(post types.NamespacedName, from string) {
	w.Lock()
	defer w.Unlock()
	if w.from == nil {
		w.from = map[types.NamespacedName]string{}
	}
	w.from[post] = from
}

// behind reports whether the cached post predates this manager's last write of its status, and
// forgets the write once the cache has caught up.
func (w *statusWrites) behind(post *greenlightv1alpha1.ContentPost) bool {
	w.Lock()
	defer w.Unlock()
	key := client.ObjectKeyFromObject(post)
	from, ok := w.from[key]
	if ok && from == post.ResourceVersion {
		return true
	}
	delete(w.from, key)
	return false
}

// forget drops a deleted post's write.
func (w *statusWrites) forget(post types.NamespacedName) {
	w.Lock()
	defer w.Unlock()
	delete(w.from, post)
}

// postsOfSignOff maps a SignOff to the post it names.
func postsOfSignOff(_ context.Context, o client.Object) []reconcile.Request {
	s := o.(*greenlightv1alpha1.SignOff)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: s.Namespace, Name: s.Spec.Post}}}
}
