package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// approvalHold is how long a post's partial approval waits before it is written: sign-offs that
// arrive together (a stage's departments approving within a second) are written together, in
// one status write instead of one per department. The SignOff's own Counted condition is
// written by admission at once, and a post's last approval, or any other change, is written at
// once: only an approval that leaves the post in review, in the same stage, waits.
const approvalHold = time.Second

// approvalHolds remembers the posts whose partial approval is being held back.
type approvalHolds struct {
	sync.Mutex
	held map[types.NamespacedName]bool
}

// hold reports whether the change from old to updated is only more departments of the current
// stage approving, and is not held back already; then it is held back once.
func (h *approvalHolds) hold(post types.NamespacedName, old, updated *greenlightv1alpha1.ContentPostStatus) bool {
	h.Lock()
	defer h.Unlock()
	if h.held[post] || !onlyApprovals(old, updated) {
		delete(h.held, post)
		return false
	}
	if h.held == nil {
		h.held = map[types.NamespacedName]bool{}
	}
	h.held[post] = true
	return true
}

// onlyApprovals reports whether updated differs from old only by departments of the stage under
// review turning Approved: the same phase (InReview), stage and revision, the same departments
// with the same review clocks, and no other department state changed.
func onlyApprovals(old, updated *greenlightv1alpha1.ContentPostStatus) bool {
	if old.Phase != greenlightv1alpha1.PostInReview || updated.Phase != greenlightv1alpha1.PostInReview ||
		old.Stage != updated.Stage || old.Revision != updated.Revision || len(old.Departments) != len(updated.Departments) {
		return false
	}
	approved := false
	for i, d := range updated.Departments {
		prev := old.Departments[i]
		if prev.Name != d.Name || prev.Revision != d.Revision || !prev.RequestedAt.Equal(d.RequestedAt) ||
			!prev.Deadline.Equal(d.Deadline) || len(prev.RemindersSent) != len(d.RemindersSent) {
			return false
		}
		switch {
		case prev.State == d.State:
		case prev.State == greenlightv1alpha1.DepartmentPending && d.State == greenlightv1alpha1.DepartmentApproved:
			approved = true
		default:
			return false
		}
	}
	return approved
}

// forget drops a deleted post's hold.
func (h *approvalHolds) forget(post types.NamespacedName) {
	h.Lock()
	defer h.Unlock()
	delete(h.held, post)
}
