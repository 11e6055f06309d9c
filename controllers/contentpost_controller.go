package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/metrics"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// ContentPostReconciler takes posts through review: it resolves the policies that apply,
// counts sign-offs against each department's covered revision, sets the phase, and tells each
// SignOff whether it counts.
type ContentPostReconciler struct {
	client client.Client
	// apiReader reads what the manager does not cache: the pods of a finished publishing Job.
	apiReader client.Reader
	recorder  EventRecorder
	notifier  Notifier
	reader    reviewReader
	// clock is read once per reconcile; tests inject a fake one.
	clock clock.PassiveClock
	// writes remembers each post's last status write until the cache has it.
	writes *statusWrites
	// holds remembers the partial approvals held back to be written with the next.
	holds *approvalHolds
	// metrics counts what each status write records for the first time; nil counts nothing.
	metrics *metrics.Recorder
	// admission is set when the admission webhooks wrote each SignOff's respondedAfter (see
	// Options.AdmissionWebhooks).
	admission bool
}

// NewContentPostReconciler returns a reconciler that reads time from clk.
func NewContentPostReconciler(c client.Client, apiReader client.Reader, recorder EventRecorder, notifier Notifier,
	compiler *policy.Compiler, clk clock.PassiveClock) *ContentPostReconciler {
	return &ContentPostReconciler{client: c, apiReader: apiReader, recorder: recorder, notifier: notifier,
		reader: reviewReader{client: c, compiler: compiler}, clock: clk, writes: &statusWrites{},
		holds: &approvalHolds{}}
}

// +kubebuilder:rbac:groups=greenlight.dev,resources=contentposts,verbs=get;list;watch
// +kubebuilder:rbac:groups=greenlight.dev,resources=contentposts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=greenlight.dev,resources=approvalpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=greenlight.dev,resources=signoffs,verbs=get;list;watch

// postScope is what one reconcile of a post works with. Each field says which phase sets it.
type postScope struct {
	// post is the post as read at the start; writeStatus replaces its status once written.
	post *greenlightv1alpha1.ContentPost
	// now is read once from the injected clock, before any phase.
	now time.Time
	// in are the applying policies' requirements (or why the post is blocked) and its sign-offs;
	// set by readInputs.
	in reviewInputs
	// status is the post's new status; set by review, or by observePublishing once publishing
	// began.
	status *greenlightv1alpha1.ContentPostStatus
	// verdicts say whether each SignOff counts; set by review, nil once publishing began.
	verdicts map[string]review.Verdict
	// requeueAt is the next time the status may change with time alone; set by review.
	requeueAt time.Time
	// result ends the reconcile early when a phase says so (a lost status write retries soon).
	result ctrl.Result
}

// reconcilePhase is one step of a post's reconcile; done ends the reconcile with scope.result.
type reconcilePhase func(ctx context.Context, scope *postScope) (done bool, err error)

// Reconcile takes a post one step further: it reads what its review depends on, computes the
// review (or, once publishing began, what its Jobs report), writes the status, creates the Jobs
// that status records as pending, and tells each SignOff whether it counts.
func (r *ContentPostReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	scope := &postScope{now: r.clock.Now(), post: &greenlightv1alpha1.ContentPost{}}
	if err := r.client.Get(ctx, req.NamespacedName, scope.post); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		r.writes.forget(req.NamespacedName)
		r.holds.forget(req.NamespacedName)
		// Another shard's post is not in this manager's cache: only a post the API server does
		// not have either leaves orphans.
		if err := r.apiReader.Get(ctx, req.NamespacedName, &greenlightv1alpha1.ContentPost{}); !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.judgeOrphans(ctx, req.NamespacedName, scope.now)
	}
	if !scope.post.DeletionTimestamp.IsZero() {
		r.writes.forget(req.NamespacedName)
		r.holds.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if r.writes.behind(scope.post) {
		// The cache has not yet seen this manager's last status write; the watch event that
		// brings it reconciles the post again (and, should it never come, the requeue). Writing
		// now would only lose the race.
		return ctrl.Result{RequeueAfter: staleCacheRetry}, nil
	}
	for _, phase := range []reconcilePhase{r.readInputs, r.review, r.observePublishing, r.recordObservations, r.writeStatus,
		r.createJobs, r.createInsightsJobs, r.judgeSignOffs} {
		if done, err := phase(ctx, scope); err != nil || done {
			return scope.result, err
		}
	}
	// The next deadline, reminder, window edge or publishAt wakes this post up; nothing polls.
	if scope.requeueAt.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(scope.requeueAt.Sub(scope.now), time.Second)}, nil
}

// readInputs reads the namespace's policies and the post's sign-offs from the cache.
func (r *ContentPostReconciler) readInputs(ctx context.Context, scope *postScope) (bool, error) {
	in, err := r.reader.read(ctx, scope.post)
	in.now = scope.now
	scope.in = in
	return false, err
}

// review computes the post's review, unless its publishing began: then the review is over.
func (r *ContentPostReconciler) review(_ context.Context, scope *postScope) (bool, error) {
	if publishingStarted(scope.post.Status.Phase) {
		return false, nil
	}
	result := computeReview(scope.post, scope.in)
	scope.status, scope.verdicts, scope.requeueAt = &result.status, result.verdicts, result.requeueAt
	return false, nil
}

// observePublishing, once publishing began, acts on a retry the author asked for and reads what
// the post's Jobs report into its channels, phase and conditions, and what its insights Jobs
// report into the channels' engagement.
func (r *ContentPostReconciler) observePublishing(ctx context.Context, scope *postScope) (bool, error) {
	post := scope.post
	if !publishingStarted(post.Status.Phase) {
		return false, nil
	}
	status := post.Status.DeepCopy()
	status.ObservedGeneration = post.Generation
	retryFailed(status, post)
	var publishers map[string]policy.Publisher
	if scope.in.requirements != nil {
		publishers = scope.in.requirements.Publishers
	}
	if err := r.observe(ctx, post, status, publishers, scope.now); err != nil {
		return false, err
	}
	wakeAt, err := r.observeInsights(ctx, post, status, publishers, scope.now)
	if err != nil {
		return false, err
	}
	scope.requeueAt = wakeAt
	status.Phase = publishingPhase(status)
	setPublishedConditions(status, post, scope.now)
	scope.status = status
	return false, nil
}

// writeStatus writes the new status when it differs, then announces its transitions: events, and
// notifications to the policies that ask for them. A write that lost a race ends the reconcile,
// which runs again shortly with fresh data.
func (r *ContentPostReconciler) writeStatus(ctx context.Context, scope *postScope) (bool, error) {
	post := scope.post
	if equality.Semantic.DeepEqual(post.Status, *scope.status) {
		return false, nil
	}
	if r.holds.hold(client.ObjectKeyFromObject(post), &post.Status, scope.status) {
		// A stage's other approvals may be on their way: write them together (approvalHold).
		scope.result = ctrl.Result{RequeueAfter: approvalHold}
		return true, nil
	}
	base := post.DeepCopy()
	post.Status = *scope.status
	patched, retry, err := r.patchPostStatus(ctx, post, base)
	if !patched {
		scope.result = retry
		return true, err
	}
	logf.FromContext(ctx).Info("Updated post status", "phase", post.Status.Phase, "stage", post.Status.Stage,
		"waitingOn", post.Status.WaitingOn)
	r.observeWrite(scope, &base.Status)
	events := postEvents(&base.Status, &post.Status)
	for _, e := range kubernetesEvents(events, &post.Status) {
		r.recorder.Event(post, e.eventType, e.reason, e.message)
	}
	if scope.in.requirements != nil {
		notifyPolicies(r.notifier, post, scope.in.requirements.Notifications, events, scope.now)
	}
	return false, nil
}

// createJobs creates the content ConfigMap and the Jobs that the written status records as
// pending (see ensureJobs for why this makes each Job exactly once).
func (r *ContentPostReconciler) createJobs(ctx context.Context, scope *postScope) (bool, error) {
	post := scope.post
	if post.Status.Phase != greenlightv1alpha1.PostPublishing {
		return false, nil
	}
	if scope.in.requirements == nil {
		return false, fmt.Errorf("cannot create the publishing Jobs of post %s: %s", post.Name, scope.in.blocked.Message)
	}
	created, err := r.ensureJobs(ctx, post, scope.in.requirements.Publishers)
	var foreign foreignContent
	isForeign := errors.As(err, &foreign)
	if err != nil && !isForeign && len(created) == 0 {
		return false, err
	}
	// Record what was created (each new Job's UID, so that it is pinned before anyone can delete
	// it and have it made again), or fail closed, saying why, the channels whose Jobs must not
	// be created.
	base := post.DeepCopy()
	for i := range post.Status.Channels {
		ch := &post.Status.Channels[i]
		if uid, ok := created[ch.Name]; ok && ch.JobUID == "" {
			ch.JobUID = uid
		}
		if isForeign && slices.Contains(foreign.channels, ch.Name) {
			ch.State, ch.Message = greenlightv1alpha1.PublishFailed, foreign.message
		}
	}
	post.Status.Phase = publishingPhase(&post.Status)
	setPublishedConditions(&post.Status, post, scope.now)
	if equality.Semantic.DeepEqual(base.Status, post.Status) {
		return false, err
	}
	if patched, retry, patchErr := r.patchPostStatus(ctx, post, base); !patched {
		scope.result = retry
		return true, patchErr
	}
	r.observeWrite(scope, &base.Status)
	if isForeign {
		r.recorder.Event(post, corev1.EventTypeWarning, EventFailed, foreign.message)
		return false, nil
	}
	return false, err
}

// judgeSignOffs writes each SignOff's Counted condition; once publishing began, only new ones
// get one (they never count).
func (r *ContentPostReconciler) judgeSignOffs(ctx context.Context, scope *postScope) (bool, error) {
	if scope.verdicts == nil {
		return false, r.judgeLate(ctx, scope.post, scope.in.signOffs, scope.now)
	}
	return false, r.writeSignOffStatuses(ctx, scope.post, scope.in.signOffs, scope.verdicts, scope.now)
}

// judgeOrphans marks the SignOffs that name a post that does not exist.
func (r *ContentPostReconciler) judgeOrphans(ctx context.Context, key client.ObjectKey, now time.Time) error {
	signOffs, err := r.reader.signOffsOf(ctx, key.Namespace, key.Name)
	if err != nil {
		return err
	}
	verdicts := map[string]review.Verdict{}
	for _, s := range signOffs {
		verdicts[s.Name] = review.Verdict{Reason: review.ReasonPostNotFound, Message: fmt.Sprintf(
			"there is no ContentPost %s in namespace %s: spec.post must name the post you reviewed", key.Name, key.Namespace)}
	}
	return r.writeSignOffStatuses(ctx, nil, signOffs, verdicts, now)
}

// judgeLate marks SignOffs made after the post's publishing began, which never count. What went
// out is the record, and so is what counted towards it: a SignOff counts only if it is an
// approval the post's departments recorded (admission may have admitted a late one while its
// cache lagged, or a sign-off may have come while the webhooks were down).
func (r *ContentPostReconciler) judgeLate(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	signOffs []greenlightv1alpha1.SignOff, now time.Time) error {
	verdicts := map[string]review.Verdict{}
	for _, s := range signOffs {
		counted := meta.FindStatusCondition(s.Status.Conditions, greenlightv1alpha1.ConditionCounted)
		if counted != nil && (counted.Status != metav1.ConditionTrue || countedTowardsApproval(post, &s)) {
			continue // judged before publishing began
		}
		verdicts[s.Name] = review.Verdict{Reason: review.ReasonPostPublished, Message: fmt.Sprintf(
			"ContentPost %s is already published: sign-offs can no longer change it", post.Name)}
	}
	return r.writeSignOffStatuses(ctx, post, signOffs, verdicts, now)
}

// countedTowardsApproval reports whether s is one of the approvals the post's status recorded
// for the revision that was published.
func countedTowardsApproval(post *greenlightv1alpha1.ContentPost, s *greenlightv1alpha1.SignOff) bool {
	d := post.Status.Department(s.Spec.Department)
	return d != nil && s.Spec.Decision == greenlightv1alpha1.DecisionApprove && s.Spec.Revision == d.Revision &&
		slices.Contains(d.ApprovedBy, s.Spec.Reviewer)
}

// SetupWithManager watches posts, their sign-offs, and the policies that select them. A SignOff
// naming a post that does not exist is reconciled under the post's name. Posts are
// watched without a predicate: a reconcile that ran on a stale cached post must run again once
// the cache catches up with its own status write, and compare-before-write keeps that to one
// read-only pass.
//
// With a shard, the cache holds every SignOff and Job (see CacheOptions), but only those of this
// shard's posts wake a post up here (see wakes).
func (r *ContentPostReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int, shard labels.Selector) error {
	inShard := predicate.NewPredicateFuncs(func(o client.Object) bool { return r.wakes(o, shard) })
	return ctrl.NewControllerManagedBy(mgr).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		For(&greenlightv1alpha1.ContentPost{}).
		// A publishing Job's progress moves its post.
		Owns(&batchv1.Job{}, builder.WithPredicates(inShard)).
		// SignOffs are immutable: only their creation and deletion change a post's review.
		Watches(&greenlightv1alpha1.SignOff{}, handler.EnqueueRequestsFromMapFunc(postsOfSignOff),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}, inShard)).
		Watches(&greenlightv1alpha1.ApprovalPolicy{}, handler.EnqueueRequestsFromMapFunc(r.postsOfPolicy),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("contentpost").
		Complete(r)
}

// wakes reports whether a SignOff or Job event concerns this shard: its post is in this shard's
// cache (whatever labels the object carries), or the object carries this shard's key or none (a
// SignOff whose post is gone is judged by the shard it names).
func (r *ContentPostReconciler) wakes(o client.Object, shard labels.Selector) bool {
	if shard == nil {
		return true
	}
	post := ""
	switch o := o.(type) {
	case *greenlightv1alpha1.SignOff:
		post = o.Spec.Post
	default:
		if owner := metav1.GetControllerOf(o); owner != nil && owner.Kind == "ContentPost" {
			post = owner.Name
		}
	}
	if post != "" {
		// An event handler must not wait for long on a cache that is still syncing; the labels
		// decide then.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if r.client.Get(ctx, client.ObjectKey{Namespace: o.GetNamespace(), Name: post}, &greenlightv1alpha1.ContentPost{}) == nil {
			return true
		}
	}
	_, keyed := o.GetLabels()[greenlightv1alpha1.LabelShard]
	return !keyed || shard.Matches(labels.Set(o.GetLabels()))
}

// postsOfPolicy maps a policy to the posts it selects now and the posts it selected before (a
// selector edit must release those).
func (r *ContentPostReconciler) postsOfPolicy(ctx context.Context, o client.Object) []reconcile.Request {
	p := o.(*greenlightv1alpha1.ApprovalPolicy)
	var posts greenlightv1alpha1.ContentPostList
	if err := r.client.List(ctx, &posts, client.InNamespace(p.Namespace)); err != nil {
		logf.FromContext(ctx).Error(err, "Failed to list posts for a policy change", "policy", p.Name)
		return nil
	}
	var requests []reconcile.Request
	for i := range posts.Items {
		post := &posts.Items[i]
		matched, err := policy.Matches(p, post.Labels)
		if matched || err != nil || slices.Contains(post.Status.Policies, p.Name) ||
			slices.ContainsFunc(post.Status.AppliedPolicies, func(a greenlightv1alpha1.AppliedPolicy) bool { return a.UID == string(p.UID) }) {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(post)})
		}
	}
	return requests
}
