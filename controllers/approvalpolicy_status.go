package controllers

import (
	"maps"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// Reasons of an ApprovalPolicy's conditions.
const (
	ReasonPolicyValid    = "Valid"
	ReasonDeliveryFailed = "DeliveryFailed"
)

// computePolicyStatus sets a policy's Ready and Stalled conditions from the problems found in it
// and counts the posts it selects.
func computePolicyStatus(p *greenlightv1alpha1.ApprovalPolicy, problems []string, matchedPosts int32,
	notificationFailures map[string]string, now time.Time) greenlightv1alpha1.ApprovalPolicyStatus {
	status := *p.Status.DeepCopy()
	status.ObservedGeneration = p.Generation
	status.MatchedPosts = matchedPosts
	conditions := conditionSetter{conditions: &status.Conditions, generation: p.Generation, now: now}
	frozen := ""
	if p.Spec.Freeze != nil {
		frozen = "Publishing of every post this policy selects is frozen: " + p.Spec.Freeze.Reason
	}
	conditions.setIf(p.Spec.Freeze != nil, greenlightv1alpha1.ConditionFrozen, ReasonFrozen, frozen)
	failing := make([]string, 0, len(notificationFailures))
	for _, name := range slices.Sorted(maps.Keys(notificationFailures)) {
		failing = append(failing, name+": "+notificationFailures[name])
	}
	conditions.setIf(len(failing) > 0, greenlightv1alpha1.ConditionNotificationsFailing, ReasonDeliveryFailed,
		strings.Join(failing, "; ")+". Reviews go on; only the announcements are missing.")
	if len(problems) > 0 {
		message := strings.Join(problems, "; ") + ". Posts this policy selects are Blocked until it is fixed."
		conditions.set(greenlightv1alpha1.ConditionReady, metav1.ConditionFalse, policy.ReasonInvalidPolicy, message)
		conditions.setIf(true, greenlightv1alpha1.ConditionStalled, policy.ReasonInvalidPolicy, message)
		return status
	}
	conditions.set(greenlightv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonPolicyValid, "The policy is valid.")
	conditions.setIf(false, greenlightv1alpha1.ConditionStalled, "", "")
	return status
}
