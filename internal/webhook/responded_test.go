package webhook

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// Admission records how long the reviewer took, whatever the request said, and nothing changes
// it afterwards: not the manager's later status writes, not a cluster administrator.
func TestAdmissionRecordsHowLongTheReviewerTook(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := launchUnderReview(t, g)
	requested := getPost(g, ns, "launch").Status.Department("marketing").RequestedAt
	g.Expect(requested).NotTo(BeNil())

	// alice answers 2m30s after marketing was asked, claiming she took a second.
	testClock.SetTime(requested.Add(150 * time.Second))
	s := approval(ns, "launch", "marketing")
	s.Status.RespondedAfter = &metav1.Duration{Duration: time.Second}
	// Nor by sending a creationTimestamp far ahead: admission counts to its own clock.
	s.CreationTimestamp = metav1.NewTime(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	g.Expect(clients["alice"].Create(ctx, s)).To(Succeed())
	g.Expect(s.Status.RespondedAfter).To(Equal(&metav1.Duration{Duration: 150 * time.Second}))
	waitForDepartment(g, ns, "launch", "marketing", greenlightv1alpha1.DepartmentApproved)

	// Nobody but the manager may rewrite it.
	err := clients["root"].Patch(ctx, s, client.RawPatch(types.MergePatchType, []byte(`{"status":{"respondedAfter":"1s"}}`)))
	expectDenied(g, err, "only Greenlight writes it")

	// An hour later dana edits the post: marketing's review starts again and the manager writes the
	// SignOff's status (it no longer counts); the response time it recorded stays.
	testClock.Step(time.Hour)
	_, err = updatePost("dana", ns, "launch", func(p *greenlightv1alpha1.ContentPost) { p.Spec.Body += " Now with more." })
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		got := &greenlightv1alpha1.SignOff{}
		g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
		counted := meta.FindStatusCondition(got.Status.Conditions, greenlightv1alpha1.ConditionCounted)
		g.Expect(counted).NotTo(BeNil())
		g.Expect(counted.Reason).To(Equal(review.ReasonStaleRevision))
		g.Expect(got.Generation).To(Equal(int64(2)), "the manager wrote the SignOff")
		g.Expect(got.Status.RespondedAfter).To(Equal(&metav1.Duration{Duration: 150 * time.Second}))
	}, "10s", "50ms").Should(Succeed())
	g.Expect(getPost(g, ns, "launch").Status.Department("marketing").RequestedAt.Time).NotTo(Equal(requested.Time),
		"marketing's review started again, so recomputing would give another figure")
}
