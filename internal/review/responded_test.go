package review

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func TestRespondedAfter(t *testing.T) {
	requested := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	started := &greenlightv1alpha1.DepartmentStatus{Name: "legal", RequestedAt: &metav1.Time{Time: requested}}
	tests := []struct {
		name       string
		department *greenlightv1alpha1.DepartmentStatus
		created    time.Time
		want       *metav1.Duration
	}{
		{name: "from the review's start to the creation", department: started, created: requested.Add(3*time.Hour + 12*time.Minute),
			want: &metav1.Duration{Duration: 3*time.Hour + 12*time.Minute}},
		{name: "whole seconds, as Kubernetes stores times", department: started, created: requested.Add(90*time.Second + 700*time.Millisecond),
			want: &metav1.Duration{Duration: 90 * time.Second}},
		{name: "at once", department: started, created: requested, want: &metav1.Duration{}},
		{name: "never negative (a clock a second behind)", department: started, created: requested.Add(-time.Second), want: &metav1.Duration{}},
		{name: "review not begun", department: &greenlightv1alpha1.DepartmentStatus{Name: "legal"}, created: requested},
		{name: "no such department", department: nil, created: requested},
		{name: "no creation time", department: started},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(RespondedAfter(tt.department, tt.created)).To(Equal(tt.want))
		})
	}
}
