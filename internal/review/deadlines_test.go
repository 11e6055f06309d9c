package review

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

func duration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func timePointer(t time.Time) *time.Time { return &t }

func TestDepartmentDeadline(t *testing.T) {
	start := metav1.NewTime(now)
	publishAt := metav1.NewTime(now.Add(10 * time.Hour))
	cases := []struct {
		name      string
		window    *metav1.Duration
		leadTime  *metav1.Duration
		publishAt *metav1.Time
		want      *time.Time
	}{
		{"neither", nil, nil, nil, nil},
		{"review window", duration(48 * time.Hour), nil, nil, timePointer(now.Add(48 * time.Hour))},
		{"lead time before publishAt", nil, duration(2 * time.Hour), &publishAt, timePointer(now.Add(8 * time.Hour))},
		{"the earlier of both", duration(48 * time.Hour), duration(2 * time.Hour), &publishAt, timePointer(now.Add(8 * time.Hour))},
		{"lead time without publishAt", duration(time.Hour), duration(2 * time.Hour), nil, timePointer(now.Add(time.Hour))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			d := policy.Department{ReviewWindow: tc.window, Deadlines: &greenlightv1alpha1.Deadlines{LeadTime: tc.leadTime}}
			post := testPost()
			post.Spec.PublishAt = tc.publishAt
			got := departmentDeadline(d, &start, post)
			if tc.want == nil {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got.Time).To(BeTemporally("==", *tc.want))
		})
	}
}
