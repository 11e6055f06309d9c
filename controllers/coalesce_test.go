package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Only a partial approval that leaves the post in review, in the same stage, waits to be written
// with the next; and only once.
func TestOnlyAPartialApprovalIsHeldBack(t *testing.T) {
	since := metav1.NewTime(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	dept := func(name string, state greenlightv1alpha1.DepartmentState) greenlightv1alpha1.DepartmentStatus {
		return greenlightv1alpha1.DepartmentStatus{Name: name, Stage: "brand", State: state, Revision: "sha256:1", RequestedAt: &since}
	}
	status := func(phase greenlightv1alpha1.PostPhase, stage string, departments ...greenlightv1alpha1.DepartmentStatus) *greenlightv1alpha1.ContentPostStatus {
		return &greenlightv1alpha1.ContentPostStatus{Phase: phase, Stage: stage, Revision: "sha256:0", Departments: departments}
	}
	pending := status(greenlightv1alpha1.PostInReview, "brand",
		dept("marketing", greenlightv1alpha1.DepartmentPending), dept("legal", greenlightv1alpha1.DepartmentPending))
	tests := []struct {
		name    string
		updated *greenlightv1alpha1.ContentPostStatus
		want    bool
	}{
		{"one department of two approves", status(greenlightv1alpha1.PostInReview, "brand",
			dept("marketing", greenlightv1alpha1.DepartmentApproved), dept("legal", greenlightv1alpha1.DepartmentPending)), true},
		{"the last approval: Scheduled at once", status(greenlightv1alpha1.PostScheduled, "",
			dept("marketing", greenlightv1alpha1.DepartmentApproved), dept("legal", greenlightv1alpha1.DepartmentApproved)), false},
		{"changes requested: at once", status(greenlightv1alpha1.PostChangesRequested, "brand",
			dept("marketing", greenlightv1alpha1.DepartmentChangesRequested), dept("legal", greenlightv1alpha1.DepartmentPending)), false},
		{"the next stage starts: at once (its review clock starts)", status(greenlightv1alpha1.PostInReview, "compliance",
			dept("marketing", greenlightv1alpha1.DepartmentApproved), dept("legal", greenlightv1alpha1.DepartmentPending)), false},
		{"nothing approved", pending, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			holds := &approvalHolds{}
			post := types.NamespacedName{Namespace: "brand", Name: "launch"}
			g.Expect(holds.hold(post, pending, tt.updated)).To(Equal(tt.want))
			if tt.want {
				g.Expect(holds.hold(post, pending, tt.updated)).To(BeFalse(), "held back once, written the next time")
				g.Expect(holds.hold(post, pending, tt.updated)).To(BeTrue(), "a later partial approval may wait again")
			}
		})
	}
}
