package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Decision is a reviewer's verdict.
// +kubebuilder:validation:Enum=Approve;RequestChanges;Reject
type Decision string

const (
	// DecisionApprove approves the revision the reviewer saw.
	DecisionApprove Decision = "Approve"
	// DecisionRequestChanges asks the author to change the fields the department covers.
	DecisionRequestChanges Decision = "RequestChanges"
	// DecisionReject rejects the revision for good; only a new revision reopens review.
	DecisionReject Decision = "Reject"
)

// SignOffSpec is one reviewer's decision on one post for one department. It is immutable: to
// change a decision, create a new SignOff.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a SignOff cannot be changed after it is created: create a new SignOff with the new decision instead"
// +kubebuilder:validation:XValidation:rule="self.decision == 'Approve' || (has(self.comment) && size(self.comment) > 0)",message="comment is required when decision is RequestChanges or Reject: say what must change or why the post is rejected"
type SignOffSpec struct {
	// post is the name of the ContentPost, in the same namespace, that the decision is about.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="must be the name of a ContentPost in this namespace (lowercase letters, digits, '-' and '.')"
	Post string `json:"post"`

	// department is the department the reviewer decides for, as named in the ApprovalPolicy.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, for example legal"
	Department string `json:"department"`

	// decision is Approve, RequestChanges or Reject.
	// +required
	Decision Decision `json:"decision"`

	// comment explains the decision; it is required for RequestChanges and Reject.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Comment string `json:"comment,omitempty"`

	// reviewer is the user who made the decision. Leave it empty: admission fills it from the
	// authenticated user, and denies any other value.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Reviewer string `json:"reviewer,omitempty"`

	// revision is the department's covered digest ("sha256:...") of the content the reviewer
	// saw, from the post's status.departments[].revision. Admission defaults it to the current
	// one; the sign-off counts only while it stays current.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	// +kubebuilder:validation:XValidation:rule="self.matches('^sha256:[0-9a-f]{64}$')",message="must be a department revision as shown in the post's status.departments[].revision: sha256: followed by 64 lowercase hex characters"
	Revision string `json:"revision,omitempty"`

	// approver is the entry of the department's approvers that admitted the reviewer:
	// "user:<name>" or "group:<name>". Leave it empty: admission fills it with an entry the
	// reviewer holds, and denies one they do not. The sign-off counts only while the department
	// still lists that entry, so removing a user or group from approvers voids their sign-offs.
	// +optional
	// +kubebuilder:validation:MaxLength=300
	// +kubebuilder:validation:XValidation:rule="self.matches('^(user|group):.+$')",message="must be user:<name> or group:<name>, an entry of the department's approvers; leave it empty and admission fills it"
	Approver string `json:"approver,omitempty"`
}

// Condition types specific to SignOff.
const (
	// ConditionCounted is True while the sign-off counts towards its department's decision, and
	// False with the reason when it does not (for example, the post changed since). Polarity:
	// normal-true.
	ConditionCounted = "Counted"
)

// SignOffStatus is whether the decision counts.
type SignOffStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions holds Counted.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// respondedAfter is how long the reviewer took: from the department's review start
	// (status.departments[].requestedAt of the post) to this SignOff's creation. Admission
	// writes it once, whatever the request said; it never changes afterwards. Empty when the
	// department's review had not started.
	// +optional
	RespondedAfter *metav1.Duration `json:"respondedAfter,omitempty"`
}

// SignOff has no status subresource: the admission webhook writes the status a SignOff is
// created with (whether it counts), so that the controller writes a SignOff only when a later
// verdict differs. Only the manager may change it afterwards (the webhook denies anyone else).
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=so,categories=greenlight
// +kubebuilder:printcolumn:name="Post",type=string,JSONPath=`.spec.post`
// +kubebuilder:printcolumn:name="Department",type=string,JSONPath=`.spec.department`
// +kubebuilder:printcolumn:name="Decision",type=string,JSONPath=`.spec.decision`
// +kubebuilder:printcolumn:name="Reviewer",type=string,JSONPath=`.spec.reviewer`
// +kubebuilder:printcolumn:name="Counted",type=string,JSONPath=`.status.conditions[?(@.type=="Counted")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// SignOff records one reviewer's decision on a ContentPost for one department.
type SignOff struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the decision.
	// +required
	Spec SignOffSpec `json:"spec"`

	// status is whether the decision counts.
	// +optional
	Status SignOffStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SignOffList is a list of SignOffs.
type SignOffList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SignOff `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &SignOff{}, &SignOffList{})
}
