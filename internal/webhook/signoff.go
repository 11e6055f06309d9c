// Package webhook holds Greenlight's admission webhooks. They make sign-offs impossible to forge:
// the reviewer is always the authenticated user, a member of the department's approvers, who is
// not the post's author, signing off on the content as it is now.
package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
	"github.com/greenlight-operator/greenlight/internal/revision"
)

// DefaultAdminGroup may delete any SignOff (the --admin-group flag).
const DefaultAdminGroup = "system:masters"

// SignOffWebhook records the reviewer and revision of new SignOffs and denies the ones that
// must not count.
type SignOffWebhook struct {
	// reads come from the manager's cache; live from the API server, to confirm a denial.
	reads, live cachedReads
	compiler    *policy.Compiler
	adminGroups []string
	// clock is the controller's clock: a deadline passes for admission when it passes for the
	// reconciler.
	clock clock.PassiveClock
	// managerUser alone may change a SignOff's status.
	managerUser string
}

// NewSignOffWebhook returns the SignOff webhook, reading through reads.
func NewSignOffWebhook(reads cachedReads, opts Options) *SignOffWebhook {
	return &SignOffWebhook{reads: reads, live: cachedReads{cache: reads.api, api: reads.api}, compiler: opts.Compiler,
		adminGroups: opts.AdminGroups, clock: opts.Clock, managerUser: opts.ManagerUser}
}

// NewUncachedSignOffWebhook returns a SignOff webhook that reads everything from reader.
func NewUncachedSignOffWebhook(reader client.Reader, opts Options) *SignOffWebhook {
	return NewSignOffWebhook(cachedReads{cache: reader, api: reader}, opts)
}

// SetupWithManager registers the mutating and validating webhooks.
func (w *SignOffWebhook) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &greenlightv1alpha1.SignOff{}).WithDefaulter(w).WithValidator(w).Complete()
}

// +kubebuilder:webhook:path=/mutate-greenlight-dev-v1alpha1-signoff,mutating=true,failurePolicy=fail,sideEffects=None,groups=greenlight.dev,resources=signoffs,verbs=create,versions=v1alpha1,name=msignoff-v1alpha1.greenlight.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-greenlight-dev-v1alpha1-signoff,mutating=false,failurePolicy=fail,sideEffects=None,groups=greenlight.dev,resources=signoffs,verbs=create;update;delete,versions=v1alpha1,name=vsignoff-v1alpha1.greenlight.dev,admissionReviewVersions=v1

// +kubebuilder:rbac:groups=core,resources=namespaces,verbs=get

// Default fills spec.reviewer from the authenticated user when it is empty, and, for a post that
// can take the sign-off, spec.revision with the department's current covered digest, spec.approver
// with the approvers entry the user holds, and the labels binding it to the post's and the
// policy's UIDs and to the post's shard. It never overwrites a value, so that validation sees,
// and denies, a forged one. It writes the status, whatever the request said: the Counted
// condition as admission decided it, so that the reconciler writes a SignOff only when a later
// verdict differs.
func (w *SignOffWebhook) Default(ctx context.Context, s *greenlightv1alpha1.SignOff) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return err
	}
	s.Status = greenlightv1alpha1.SignOffStatus{}
	if s.Spec.Reviewer == "" {
		s.Spec.Reviewer = req.UserInfo.Username
	}
	// A sign-off whose post cannot be reviewed is denied by validation, with the reason. What
	// the cache says would not count is filled in again from the API server.
	filled, counted, err := w.fill(ctx, s, req.UserInfo, w.reads)
	if err == nil && !counted {
		filled, _, err = w.fill(ctx, s, req.UserInfo, w.live)
	}
	if err == nil && filled != nil {
		*s = *filled
	}
	return nil
}

// fill returns s filled in from what reads returns (nil when the post cannot take it), and
// whether it counts as filled in.
func (w *SignOffWebhook) fill(ctx context.Context, s *greenlightv1alpha1.SignOff, userInfo authenticationv1.UserInfo,
	reads cachedReads) (*greenlightv1alpha1.SignOff, bool, error) {
	target, denial, err := w.targetFrom(ctx, s, reads)
	if err != nil || denial != "" {
		return nil, false, err
	}
	s = s.DeepCopy()
	d := target.department
	if s.Spec.Revision == "" {
		s.Spec.Revision = revision.Covered(&target.post.Spec, d.Covers)
	}
	if s.Spec.Approver == "" {
		s.Spec.Approver = review.ApproverEntry(d.Approvers, userInfo.Username, userInfo.Groups)
	}
	// Bind the sign-off to this post and this policy's department, not to a later post of the
	// same name or another policy's department of the same name.
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if _, set := s.Labels[greenlightv1alpha1.LabelPostUID]; !set {
		s.Labels[greenlightv1alpha1.LabelPostUID] = string(target.post.UID)
	}
	if _, set := s.Labels[greenlightv1alpha1.LabelPolicyUID]; !set {
		s.Labels[greenlightv1alpha1.LabelPolicyUID] = d.PolicyUID
	}
	if shard, sharded := target.post.Labels[greenlightv1alpha1.LabelShard]; sharded {
		if _, set := s.Labels[greenlightv1alpha1.LabelShard]; !set {
			s.Labels[greenlightv1alpha1.LabelShard] = shard
		}
	}
	// The verdict on the SignOff as it is now filled in, for the generation it is created with.
	now := w.clock.Now()
	target.evaluate(s, now)
	verdict := target.review.Verdicts[s.Name]
	s.Status = review.SignOffStatus(s.Status, verdict, 1, now)
	// How long the reviewer took, from the department's review start as the review computes it
	// now (the stored status may lag a stage that just started) to the SignOff's creation: now,
	// never the request's creationTimestamp, which the API server replaces only after mutating
	// admission and which a reviewer could set far ahead to inflate their response time.
	s.Status.RespondedAfter = review.RespondedAfter(target.departmentStatus(), now)
	return s, verdict.Counted, nil
}

// ValidateCreate denies a SignOff unless its user may sign off for the department and it would
// count now: the identity checks need the request's user and live here; every other rule is the
// review package's, the same the controller counts with.
func (w *SignOffWebhook) ValidateCreate(ctx context.Context, s *greenlightv1alpha1.SignOff) (admission.Warnings, error) {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, err
	}
	user := req.UserInfo.Username
	if s.Spec.Reviewer != user {
		return nil, denied("spec.reviewer is %q but you are %q: leave spec.reviewer empty and Greenlight records you as the reviewer",
			s.Spec.Reviewer, user)
	}
	// A finalizer or owner reference would let a reviewer block the deletion of the post or the
	// namespace: Greenlight manages sign-offs without either.
	if len(s.Finalizers) > 0 || len(s.OwnerReferences) > 0 {
		return nil, denied("SignOffs cannot carry finalizers or owner references: remove metadata.finalizers and metadata.ownerReferences")
	}
	denial, err := w.judge(ctx, s, req.UserInfo, w.reads)
	if err == nil && denial != "" {
		// Deny on what the API server holds, never on a cache that lags by milliseconds.
		denial, err = w.judge(ctx, s, req.UserInfo, w.live)
	}
	if err != nil {
		return nil, err
	}
	if denial != "" {
		return nil, denied("%s", denial)
	}
	return nil, nil
}

// judge returns why the SignOff must be denied ("" when it may be created), from what reads
// returns.
func (w *SignOffWebhook) judge(ctx context.Context, s *greenlightv1alpha1.SignOff, userInfo authenticationv1.UserInfo,
	reads cachedReads) (string, error) {
	target, denial, err := w.targetFrom(ctx, s, reads)
	if err != nil || denial != "" {
		return denial, err
	}
	target.evaluate(s, w.clock.Now())
	d, user := target.department, userInfo.Username
	if review.ApproverEntry(d.Approvers, user, userInfo.Groups) == "" {
		return fmt.Sprintf("%s is not an approver of department %s (policy %s allows %s)%s", user, d.Name, d.Policy,
			review.DescribeApprovers(d.Approvers), contactHint(d)), nil
	}
	if s.Spec.Approver != "" && !review.Holds(s.Spec.Approver, user, userInfo.Groups) {
		return fmt.Sprintf("spec.approver is %q, an entry you (%s) do not hold: leave spec.approver empty and Greenlight records "+
			"the entry that admits you", s.Spec.Approver, user), nil
	}
	if waiting, ok := target.review.NotStarted[d.Name]; ok {
		return fmt.Sprintf("department %s reviews in stage %s, which has not started: stage %s must be approved first",
			d.Name, d.Stage, waiting), nil
	}
	if other := review.OtherVoice(target.signOffs, s); other != "" {
		return fmt.Sprintf("you already signed off for department %s on this revision of ContentPost %s (SignOff %s); one reviewer "+
			"has one voice: to change your decision, withdraw (delete) SignOff %s and create a new one", d.Name, target.post.Name, other, other), nil
	}
	if verdict := target.review.Verdicts[s.Name]; !verdict.Counted {
		return verdict.Message, nil
	}
	if !sameLabel(s.Labels, target.post.Labels, greenlightv1alpha1.LabelShard) {
		return fmt.Sprintf("label %s must be the post's (%s): remove it and Greenlight sets it", greenlightv1alpha1.LabelShard,
			describeLabel(target.post.Labels, greenlightv1alpha1.LabelShard)), nil
	}
	return "", nil
}

// ValidateUpdate denies any change to a SignOff's spec (a decision is a record), to its binding
// labels, and to its status by anyone but the manager.
func (w *SignOffWebhook) ValidateUpdate(ctx context.Context, oldObj, newObj *greenlightv1alpha1.SignOff) (admission.Warnings, error) {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, err
	}
	if !equality.Semantic.DeepEqual(oldObj.Status, newObj.Status) && (w.managerUser == "" || req.UserInfo.Username != w.managerUser) {
		return nil, denied("a SignOff's status says whether it counts and only Greenlight writes it (%s is not the Greenlight manager)",
			req.UserInfo.Username)
	}
	if !equality.Semantic.DeepEqual(oldObj.Spec, newObj.Spec) {
		return nil, denied("a SignOff cannot be changed after it is created: create a new SignOff with your new decision instead")
	}
	// A finalizer or owner reference would let someone block the deletion of the post or the
	// namespace; removing them is fine.
	if slices.ContainsFunc(newObj.Finalizers, func(f string) bool { return !slices.Contains(oldObj.Finalizers, f) }) ||
		(len(newObj.OwnerReferences) > 0 && !equality.Semantic.DeepEqual(oldObj.OwnerReferences, newObj.OwnerReferences)) {
		return nil, denied("SignOffs cannot carry finalizers or owner references: remove metadata.finalizers and metadata.ownerReferences")
	}
	for _, label := range []string{greenlightv1alpha1.LabelPostUID, greenlightv1alpha1.LabelPolicyUID, greenlightv1alpha1.LabelShard} {
		if !sameLabel(oldObj.Labels, newObj.Labels, label) {
			return nil, denied("label %s binds the SignOff to what it was made for and cannot be changed", label)
		}
	}
	return nil, nil
}

// ValidateDelete lets reviewers withdraw their own SignOffs, and admins and namespace deletion
// remove any.
func (w *SignOffWebhook) ValidateDelete(ctx context.Context, s *greenlightv1alpha1.SignOff) (admission.Warnings, error) {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, err
	}
	if req.UserInfo.Username == s.Spec.Reviewer || slices.Contains(garbageCollectors, req.UserInfo.Username) ||
		slices.ContainsFunc(req.UserInfo.Groups, func(g string) bool { return slices.Contains(w.adminGroups, g) }) {
		return nil, nil
	}
	if w.reads.namespaceTerminating(ctx, s.Namespace) {
		return nil, nil
	}
	return nil, denied("only %s, who made this sign-off, can withdraw it (or a member of %s)",
		s.Spec.Reviewer, strings.Join(w.adminGroups, ", "))
}

// garbageCollectors are the identities Kubernetes' garbage collector deletes dependents as, with
// and without --use-service-account-credentials.
var garbageCollectors = []string{"system:serviceaccount:kube-system:generic-garbage-collector", "system:kube-controller-manager"}

// reviewTarget is what a SignOff is about, as the post is now.
type reviewTarget struct {
	post         *greenlightv1alpha1.ContentPost
	department   policy.Department
	requirements *policy.Requirements
	// signOffs are the post's other SignOffs.
	signOffs []greenlightv1alpha1.SignOff
	// review is the post's review computed with the new SignOff among its sign-offs, exactly as
	// the controller will compute it; set by evaluate.
	review review.Result
}

// targetFrom resolves, from what reads returns, the post and department a SignOff names and what
// the post's review is computed from (the post, its policies and sign-offs as they are now, never
// the post's stored phase or department states); evaluate then computes the review with the
// SignOff in it. A non-empty denial says why the post cannot take this sign-off; err is a
// failure to read the API.
func (w *SignOffWebhook) targetFrom(ctx context.Context, s *greenlightv1alpha1.SignOff, reads cachedReads) (*reviewTarget, string, error) {
	post, err := reads.post(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Spec.Post})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("there is no ContentPost %s in namespace %s: spec.post must name the post you reviewed",
				s.Spec.Post, s.Namespace), nil
		}
		return nil, "", err
	}
	switch {
	case post.Spec.Draft:
		return nil, fmt.Sprintf("ContentPost %s is a draft: it can be reviewed once its author submits it (spec.draft: false)", post.Name), nil
	case post.Status.Phase == greenlightv1alpha1.PostPublished || post.Status.Phase == greenlightv1alpha1.PostPublishing ||
		post.Status.Phase == greenlightv1alpha1.PostFailed:
		return nil, fmt.Sprintf("ContentPost %s is already %s: sign-offs can no longer change it",
			post.Name, strings.ToLower(string(post.Status.Phase))), nil
	}

	policies, err := reads.policies(ctx, s.Namespace)
	if err != nil {
		return nil, "", err
	}
	requirements, blocked := policy.Resolve(post, policies, w.compiler)
	if blocked != nil {
		return nil, fmt.Sprintf("ContentPost %s cannot be reviewed because it is blocked: %s", post.Name, blocked.Message), nil
	}
	i := slices.IndexFunc(requirements.Departments, func(d policy.Department) bool { return d.Name == s.Spec.Department })
	if i < 0 {
		var names []string
		for _, d := range requirements.Departments {
			names = append(names, d.Name)
		}
		return nil, fmt.Sprintf("ContentPost %s does not need department %s: its policies (%s) define %s",
			post.Name, s.Spec.Department, strings.Join(requirements.Policies, ", "), strings.Join(names, ", ")), nil
	}
	// Only sign-offs bound to this post's UID can count or be the reviewer's other voice, so they
	// are selected by label: admission costs what the post's own sign-offs cost, not what the
	// namespace holds.
	signOffs, err := reads.signOffs(ctx, post)
	if err != nil {
		return nil, "", err
	}
	mine := slices.DeleteFunc(signOffs, func(o greenlightv1alpha1.SignOff) bool { return o.Spec.Post != post.Name })
	return &reviewTarget{post: post, department: requirements.Departments[i], requirements: requirements, signOffs: mine}, "", nil
}

// departmentStatus is the status of the SignOff's department in the computed review; nil before
// evaluate.
func (t *reviewTarget) departmentStatus() *greenlightv1alpha1.DepartmentStatus {
	i := slices.IndexFunc(t.review.Departments, func(d greenlightv1alpha1.DepartmentStatus) bool { return d.Name == t.department.Name })
	if i < 0 {
		return nil
	}
	return &t.review.Departments[i]
}

// createdAt is when a SignOff is made: by the API server's creationTimestamp or by the
// reconcilers' clock, whichever is later (see evaluate).
func createdAt(s *greenlightv1alpha1.SignOff, now time.Time) time.Time {
	if s.CreationTimestamp.After(now) {
		return s.CreationTimestamp.Time
	}
	return now
}

// evaluate computes the post's review with s among its sign-offs, made at now.
func (t *reviewTarget) evaluate(s *greenlightv1alpha1.SignOff, now time.Time) {
	candidate := *s.DeepCopy()
	if candidate.Name == "" {
		candidate.Name = "(new)" // generateName: the name is chosen after admission
	}
	// The sign-off is made now: by the API server's creationTimestamp (set before validating
	// admission) or by the reconcilers' clock, whichever is later, so a deadline that passed for
	// either has passed.
	candidate.CreationTimestamp = metav1.NewTime(createdAt(s, now))
	t.review = review.Evaluate(t.post, review.Inputs{Now: now, Requirements: t.requirements,
		SignOffs: append(slices.Clone(t.signOffs), candidate)})
	t.review.Verdicts[s.Name] = t.review.Verdicts[candidate.Name]
}

func contactHint(d policy.Department) string {
	if d.Contact == "" {
		return ""
	}
	return "; ask " + d.Contact + " to review it"
}

// denied is an admission denial: one sentence that says why and what to do. The API server shows
// it as `admission webhook "..." denied the request: <sentence>`.
func denied(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// sameLabel reports whether a and b agree on label: both without it, or both with the same value
// (a selector such as !key tells an empty value from none).
func sameLabel(a, b map[string]string, label string) bool {
	va, oka := a[label]
	vb, okb := b[label]
	return oka == okb && va == vb
}

func describeLabel(labels map[string]string, label string) string {
	if v, ok := labels[label]; ok {
		return fmt.Sprintf("%q", v)
	}
	return "none"
}
