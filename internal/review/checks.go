package review

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// Reasons of a SignOff's Counted condition. Admission denies a new SignOff with the message of
// the first check it fails; the controller writes the same reason and message to its status.
const (
	ReasonCounted               = "Counted"
	ReasonWithdrawn             = "Withdrawn"
	ReasonNoReviewer            = "NoReviewer"
	ReasonOtherPost             = "OtherPost"
	ReasonOtherPolicy           = "OtherPolicy"
	ReasonNotAnApprover         = "NotAnApprover"
	ReasonStaleRevision         = "StaleRevision"
	ReasonSelfApproval          = "SelfApproval"
	ReasonDeadlineMissed        = "DeadlineMissed"
	ReasonDuplicateReviewer     = "DuplicateReviewer"
	ReasonStageNotStarted       = "StageNotStarted"
	ReasonUnknownDepartment     = "UnknownDepartment"
	ReasonDepartmentNotRequired = "DepartmentNotRequired"
	ReasonPostIsDraft           = "PostIsDraft"
	ReasonPostNotFound          = "PostNotFound"
	ReasonPostBlocked           = "PostBlocked"
	ReasonPostPublished         = "PostPublished"
)

// CheckInput is what one SignOff is judged on.
type CheckInput struct {
	SignOff *greenlightv1alpha1.SignOff
	Post    *greenlightv1alpha1.ContentPost
	// Department is the required department the sign-off names.
	Department policy.Department
	// Covered is the department's current covered digest.
	Covered string
	// CreatedAt is when the sign-off was made: its creationTimestamp, or now at admission.
	CreatedAt time.Time
	// Deadline is the department's deadline when missing it expires the department
	// (onMissed: Expire); nil otherwise.
	Deadline *metav1.Time

	// editors caches the post's editors record for a whole evaluation; nil reads it each time.
	editors *editorRecord
}

// editorRecord is the post's greenlight.dev/editors annotation, read once.
type editorRecord struct {
	users []string
	err   error
}

// Check is one rule a SignOff must pass to count. When it fails it returns the reason (the
// Counted condition's reason) and one sentence saying why and what to do.
type Check func(in CheckInput) (reason, message string, failed bool)

// Checks is the chain every SignOff passes, in order; the first failure is its verdict. Rules
// that depend on a post's other sign-offs (one voice per reviewer, stage order) are applied by
// Evaluate after the chain.
var Checks = []Check{
	NotWithdrawn,
	HasReviewer,
	BoundToPost,
	BoundToPolicy,
	ApproverListed,
	CurrentRevision,
	NotSelfApproval,
	InTime,
}

// Run returns the first failure of the chain, or failed=false when the sign-off passes it.
func Run(in CheckInput) (reason, message string, failed bool) {
	for _, check := range Checks {
		if reason, message, failed := check(in); failed {
			return reason, message, true
		}
	}
	return "", "", false
}

// NotWithdrawn fails for a SignOff that is being deleted.
func NotWithdrawn(in CheckInput) (string, string, bool) {
	if in.SignOff.DeletionTimestamp.IsZero() {
		return "", "", false
	}
	return ReasonWithdrawn, "the sign-off is being deleted (withdrawn)", true
}

// HasReviewer fails for a SignOff that names nobody.
func HasReviewer(in CheckInput) (string, string, bool) {
	if in.SignOff.Spec.Reviewer != "" {
		return "", "", false
	}
	return ReasonNoReviewer, "spec.reviewer is empty, so nobody vouches for this decision; create sign-offs through the " +
		"Kubernetes API so admission records the reviewer", true
}

// BoundToPost fails for a SignOff made for another post of the same name (a deleted one).
func BoundToPost(in CheckInput) (string, string, bool) {
	if uid := in.SignOff.Labels[greenlightv1alpha1.LabelPostUID]; uid != string(in.Post.UID) {
		return ReasonOtherPost, fmt.Sprintf("label %s is %q but ContentPost %s has UID %s: the sign-off was made for another post "+
			"of the same name; leave the label out and Greenlight sets it", greenlightv1alpha1.LabelPostUID, uid, in.Post.Name, in.Post.UID), true
	}
	return "", "", false
}

// BoundToPolicy fails for a SignOff made for another policy's department of the same name.
func BoundToPolicy(in CheckInput) (string, string, bool) {
	d := in.Department
	if uid := in.SignOff.Labels[greenlightv1alpha1.LabelPolicyUID]; uid != d.PolicyUID {
		return ReasonOtherPolicy, fmt.Sprintf("label %s is %q but department %s belongs to ApprovalPolicy %s (UID %s): "+
			"leave the label out and Greenlight sets it", greenlightv1alpha1.LabelPolicyUID, uid, d.Name, d.Policy, d.PolicyUID), true
	}
	return "", "", false
}

// ApproverListed fails unless the approvers entry that admitted the reviewer (spec.approver,
// recorded at admission) is still listed by the department: removing a user or a group from
// approvers voids the sign-offs it admitted.
func ApproverListed(in CheckInput) (string, string, bool) {
	s, d := in.SignOff, in.Department
	entry := s.Spec.Approver
	switch {
	case entry == "":
		return ReasonNotAnApprover, fmt.Sprintf("spec.approver is empty, so nothing records which approver of department %s "+
			"admitted %s; create sign-offs through the Kubernetes API so admission records it", d.Name, s.Spec.Reviewer), true
	case Lists(d.Approvers, entry) && (!strings.HasPrefix(entry, greenlightv1alpha1.ApproverUserPrefix) ||
		entry == greenlightv1alpha1.ApproverUserPrefix+s.Spec.Reviewer):
		return "", "", false
	}
	return ReasonNotAnApprover, fmt.Sprintf("%s signed off as %s, which is not an approver of department %s (policy %s allows %s)",
		s.Spec.Reviewer, entry, d.Name, d.Policy, DescribeApprovers(d.Approvers)), true
}

// CurrentRevision fails for a SignOff on content that has changed since.
func CurrentRevision(in CheckInput) (string, string, bool) {
	if in.SignOff.Spec.Revision == in.Covered {
		return "", "", false
	}
	return ReasonStaleRevision, fmt.Sprintf("ContentPost %s changed since %s reviewed it: department %s now reviews revision %s, "+
		"but the sign-off is for %s; look at the post again and sign off on its current revision",
		in.Post.Name, in.SignOff.Spec.Reviewer, in.Department.Name, in.Covered, in.SignOff.Spec.Revision), true
}

// NotSelfApproval fails for an approval by someone who wrote the post: its author, its creator
// or anyone who changed its spec, unless the policy allows self-approval. They may still reject
// or request changes.
func NotSelfApproval(in CheckInput) (string, string, bool) {
	s, d := in.SignOff, in.Department
	if s.Spec.Decision != greenlightv1alpha1.DecisionApprove || d.AllowSelfApproval {
		return "", "", false
	}
	if role := authorship(in.Post, in.editorsOf(), s.Spec.Reviewer); role != "" {
		return ReasonSelfApproval, fmt.Sprintf("%s cannot approve ContentPost %s because they %s; policy %s does not allow "+
			"self-approval (spec.allowSelfApproval), so someone else in department %s must approve it",
			s.Spec.Reviewer, in.Post.Name, role, d.Policy, d.Name), true
	}
	return "", "", false
}

// InTime fails for a sign-off made at or after its department's deadline when a missed deadline
// expires the department: a late decision never counts, even before the controller has written
// Expired.
func InTime(in CheckInput) (string, string, bool) {
	if in.Deadline == nil || in.CreatedAt.Before(in.Deadline.Time) {
		return "", "", false
	}
	return ReasonDeadlineMissed, fmt.Sprintf("department %s's deadline for ContentPost %s was %s, and this sign-off came at %s; "+
		"a late sign-off never counts: a new revision of the fields the department covers, or a later publishAt, reopens review",
		in.Department.Name, in.Post.Name, in.Deadline.UTC().Format(time.RFC3339), in.CreatedAt.UTC().Format(time.RFC3339)), true
}

// editorsOf returns the post's editors record, read once per evaluation.
func (in CheckInput) editorsOf() editorRecord {
	if in.editors != nil {
		return *in.editors
	}
	users, err := Editors(in.Post)
	return editorRecord{users: users, err: err}
}

// authorship says how user wrote the post ("are its author (spec.author)", ...), or "" when
// they did not. An editors annotation that cannot be read counts everyone as an editor.
func authorship(post *greenlightv1alpha1.ContentPost, editors editorRecord, user string) string {
	switch user {
	case post.Spec.Author:
		return "are its author (spec.author)"
	case post.Annotations[greenlightv1alpha1.AnnotationCreatedBy]:
		return "created it (" + greenlightv1alpha1.AnnotationCreatedBy + ")"
	}
	switch {
	case editors.err != nil:
		return "may have edited it (annotation " + greenlightv1alpha1.AnnotationEditors + " cannot be read)"
	case slices.Contains(editors.users, user):
		return "edited its spec (" + greenlightv1alpha1.AnnotationEditors + ")"
	}
	return ""
}

// Editors returns the users recorded in the post's greenlight.dev/editors annotation.
func Editors(post *greenlightv1alpha1.ContentPost) ([]string, error) {
	raw, ok := post.Annotations[greenlightv1alpha1.AnnotationEditors]
	if !ok {
		return nil, nil
	}
	var editors []string
	if err := json.Unmarshal([]byte(raw), &editors); err != nil {
		return nil, fmt.Errorf("annotation %s is not a JSON array of user names: %w", greenlightv1alpha1.AnnotationEditors, err)
	}
	return editors, nil
}

// Lists reports whether approvers lists entry ("user:<name>" or "group:<name>").
func Lists(approvers greenlightv1alpha1.Approvers, entry string) bool {
	if user, ok := strings.CutPrefix(entry, greenlightv1alpha1.ApproverUserPrefix); ok {
		return slices.Contains(approvers.Users, user)
	}
	if group, ok := strings.CutPrefix(entry, greenlightv1alpha1.ApproverGroupPrefix); ok {
		return slices.Contains(approvers.Groups, group)
	}
	return false
}

// Holds reports whether an authenticated user with groups holds entry.
func Holds(entry, user string, groups []string) bool {
	if name, ok := strings.CutPrefix(entry, greenlightv1alpha1.ApproverUserPrefix); ok {
		return name == user
	}
	if group, ok := strings.CutPrefix(entry, greenlightv1alpha1.ApproverGroupPrefix); ok {
		return slices.Contains(groups, group)
	}
	return false
}

// ApproverEntry returns the entry of approvers that admits user: their user entry first, then
// the first listed group they are in; "" when none does.
func ApproverEntry(approvers greenlightv1alpha1.Approvers, user string, groups []string) string {
	if slices.Contains(approvers.Users, user) {
		return greenlightv1alpha1.ApproverUserPrefix + user
	}
	for _, g := range approvers.Groups {
		if slices.Contains(groups, g) {
			return greenlightv1alpha1.ApproverGroupPrefix + g
		}
	}
	return ""
}

// DescribeApprovers names a department's approvers for messages.
func DescribeApprovers(a greenlightv1alpha1.Approvers) string {
	var parts []string
	if len(a.Users) > 0 {
		parts = append(parts, "users "+strings.Join(a.Users, ", "))
	}
	if len(a.Groups) > 0 {
		parts = append(parts, "groups "+strings.Join(a.Groups, ", "))
	}
	return strings.Join(parts, " and ")
}
