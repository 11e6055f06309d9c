package controllers

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// Reasons of an ApprovalPolicy's conditions.
const (
	ReasonPolicyValid = "Valid"
)

// computePolicyStatus sets a policy's Ready and Stalled conditions from the problems found in it
// and counts the posts it selects.
func computePolicyStatus(p *greenlightv1alpha1.ApprovalPolicy, problems []string, matchedPosts int32) greenlightv1alpha1.ApprovalPolicyStatus {
	status := *p.Status.DeepCopy()
	status.ObservedGeneration = p.Generation
	status.MatchedPosts = matchedPosts
	set := func(condition string, s metav1.ConditionStatus, reason, message string) {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{
			Type: condition, Status: s, Reason: reason, Message: message, ObservedGeneration: p.Generation,
		})
	}
	if len(problems) > 0 {
		message := strings.Join(problems, "; ") + ". Posts this policy selects are Blocked until it is fixed."
		set(greenlightv1alpha1.ConditionReady, metav1.ConditionFalse, policy.ReasonInvalidPolicy, message)
		set(greenlightv1alpha1.ConditionStalled, metav1.ConditionTrue, policy.ReasonInvalidPolicy, message)
		return status
	}
	set(greenlightv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonPolicyValid, "The policy is valid.")
	meta.RemoveStatusCondition(&status.Conditions, greenlightv1alpha1.ConditionStalled)
	return status
}
