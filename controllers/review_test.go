package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// A reconcile that reads a post from before this manager's own last status write skips it: the
// write's watch event brings the post back.
func TestStatusWritesKnowWhenTheCacheIsBehind(t *testing.T) {
	g := NewWithT(t)
	at := func(rv string) *greenlightv1alpha1.ContentPost {
		return &greenlightv1alpha1.ContentPost{ObjectMeta: metav1.ObjectMeta{UID: "post-1", ResourceVersion: rv}}
	}
	writes := &statusWrites{}
	g.Expect(writes.behind(at("10"))).To(BeFalse(), "nothing written yet")

	writes.wrote("post-1", "10")
	g.Expect(writes.behind(at("10"))).To(BeTrue(), "the cache still has the version the write replaced")
	g.Expect(writes.behind(at("10"))).To(BeTrue(), "and keeps saying so until it catches up")
	g.Expect(writes.behind(at("11"))).To(BeFalse(), "the cache has the write")
	g.Expect(writes.behind(at("10"))).To(BeFalse(), "once caught up, the write is forgotten")

	writes.wrote("post-1", "12")
	writes.forget("post-1")
	g.Expect(writes.behind(at("12"))).To(BeFalse(), "a deleted post's write is forgotten")
}
