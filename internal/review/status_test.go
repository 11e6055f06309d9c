package review

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func TestSignOffStatus(t *testing.T) {
	admitted := time.Date(2026, 11, 23, 9, 0, 0, 500, time.UTC)
	counts := Verdict{Counted: true, Reason: ReasonCounted, Message: "alice's Approve counts for department legal"}
	stale := Verdict{Reason: ReasonStaleRevision, Message: "ContentPost launch changed since alice reviewed it"}
	atAdmission := SignOffStatus(greenlightv1alpha1.SignOffStatus{}, counts, 1, admitted)

	tests := []struct {
		name       string
		prev       greenlightv1alpha1.SignOffStatus
		verdict    Verdict
		generation int64
		want       metav1.ConditionStatus
		wantReason string
		// wantSince is the condition's lastTransitionTime.
		wantSince time.Time
		// unchanged: the reconciler has nothing to write.
		unchanged bool
	}{{
		name: "admission records that it counts", verdict: counts, generation: 1,
		want: metav1.ConditionTrue, wantReason: ReasonCounted, wantSince: admitted.Truncate(time.Second),
	}, {
		name: "the same verdict later changes nothing", prev: atAdmission, verdict: counts, generation: 1,
		want: metav1.ConditionTrue, wantReason: ReasonCounted, wantSince: admitted.Truncate(time.Second), unchanged: true,
	}, {
		name: "an edit voids it: a new transition", prev: atAdmission, verdict: stale, generation: 2,
		want: metav1.ConditionFalse, wantReason: ReasonStaleRevision, wantSince: admitted.Add(time.Hour).Truncate(time.Second),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			now := admitted
			if !tt.unchanged && tt.prev.Conditions != nil {
				now = admitted.Add(time.Hour)
			}
			got := SignOffStatus(tt.prev, tt.verdict, tt.generation, now)
			counted := meta.FindStatusCondition(got.Conditions, greenlightv1alpha1.ConditionCounted)
			g.Expect(counted).NotTo(BeNil())
			g.Expect(counted.Status).To(Equal(tt.want))
			g.Expect(counted.Reason).To(Equal(tt.wantReason))
			g.Expect(counted.LastTransitionTime.Time).To(BeTemporally("==", tt.wantSince))
			g.Expect(got.ObservedGeneration).To(Equal(tt.generation))
			g.Expect(counted.ObservedGeneration).To(Equal(tt.generation))
			if tt.unchanged {
				g.Expect(got).To(Equal(tt.prev))
			}
		})
	}
}
