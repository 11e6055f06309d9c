package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// A reconcile that reads a post from before this manager's own last status write skips it: the
// write's watch event brings the post back.
func TestStatusWritesKnowWhenTheCacheIsBehind(t *testing.T) {
	g := NewWithT(t)
	at := func(rv string) *greenlightv1alpha1.ContentPost {
		return &greenlightv1alpha1.ContentPost{ObjectMeta: metav1.ObjectMeta{Namespace: "brand", Name: "launch", ResourceVersion: rv}}
	}
	launch := types.NamespacedName{Namespace: "brand", Name: "launch"}
	writes := &statusWrites{}
	g.Expect(writes.behind(at("10"))).To(BeFalse(), "nothing written yet")

	writes.wrote(launch, "10")
	g.Expect(writes.behind(at("10"))).To(BeTrue(), "the cache still has the version the write replaced")
	g.Expect(writes.behind(at("10"))).To(BeTrue(), "and keeps saying so until it catches up")
	g.Expect(writes.behind(at("11"))).To(BeFalse(), "the cache has the write")
	g.Expect(writes.behind(at("10"))).To(BeFalse(), "once caught up, the write is forgotten")

	writes.wrote(launch, "12")
	writes.forget(launch)
	g.Expect(writes.behind(at("12"))).To(BeFalse(), "a deleted post's write is forgotten")
}

// A shard's manager is woken by the SignOffs and Jobs of its own posts, whatever labels they
// carry, and by keyed or unkeyed ones of its shard; never by another shard's.
func TestShardWakeUps(t *testing.T) {
	mine := &greenlightv1alpha1.ContentPost{ObjectMeta: metav1.ObjectMeta{Namespace: "brand", Name: "mine",
		Labels: map[string]string{greenlightv1alpha1.LabelShard: "shard1"}}}
	cache := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(mine).Build()
	r := &ContentPostReconciler{client: cache}
	shard, err := ParseShard(greenlightv1alpha1.LabelShard + "=shard1")
	if err != nil {
		t.Fatal(err)
	}
	signOff := func(post string, keys map[string]string) *greenlightv1alpha1.SignOff {
		return &greenlightv1alpha1.SignOff{ObjectMeta: metav1.ObjectMeta{Namespace: "brand", Name: "s", Labels: keys},
			Spec: greenlightv1alpha1.SignOffSpec{Post: post}}
	}
	job := func(post string, keys map[string]string) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "brand", Name: "j", Labels: keys}}
		j.OwnerReferences = []metav1.OwnerReference{{Kind: "ContentPost", Name: post, Controller: ptr.To(true)}}
		return j
	}
	other := map[string]string{greenlightv1alpha1.LabelShard: "shard2"}
	own := map[string]string{greenlightv1alpha1.LabelShard: "shard1"}
	tests := []struct {
		name   string
		object client.Object
		shard  labels.Selector
		want   bool
	}{
		{"unsharded managers wake for everything", signOff("elsewhere", other), nil, true},
		{"a sign-off of my post, wrongly keyed", signOff("mine", other), shard, true},
		{"a Job of my post, wrongly keyed", job("mine", other), shard, true},
		{"another shard's sign-off", signOff("elsewhere", other), shard, false},
		{"another shard's Job", job("elsewhere", other), shard, false},
		{"a sign-off of a gone post of my shard (judged as an orphan)", signOff("gone", own), shard, true},
		{"an unkeyed sign-off of a gone post", signOff("gone", nil), shard, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(r.wakes(tt.object, tt.shard)).To(Equal(tt.want))
		})
	}
}

// Chaos on a real node found that a replica taking over read a post whose status pinned a Job
// that the replica's Job cache had not seen yet (the watches of posts and Jobs are not ordered),
// and failed the channel as "deleted". Only the API server may say that a pinned Job is gone.
func TestAPinnedJobTheCacheHasNotSeenIsReadFromTheAPIServer(t *testing.T) {
	g := NewWithT(t)
	post := &greenlightv1alpha1.ContentPost{ObjectMeta: metav1.ObjectMeta{Namespace: "brand", Name: "launch", UID: "post-uid"}}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "brand", Name: "launch-mastodon-1", UID: "job-uid"},
		Status: batchv1.JobStatus{Active: 1}}
	running := func() *greenlightv1alpha1.ContentPostStatus {
		return &greenlightv1alpha1.ContentPostStatus{Channels: []greenlightv1alpha1.ChannelStatus{{
			Name: "mastodon", Job: job.Name, JobUID: string(job.UID), State: greenlightv1alpha1.PublishRunning, Attempts: 1,
		}}}
	}
	cache := fake.NewClientBuilder().WithScheme(testScheme).Build()

	r := &ContentPostReconciler{client: cache, apiReader: fake.NewClientBuilder().WithScheme(testScheme).WithObjects(job).Build()}
	status := running()
	g.Expect(r.observe(context.Background(), post, status, nil, time.Now())).To(Succeed())
	g.Expect(status.Channels[0].State).To(Equal(greenlightv1alpha1.PublishRunning), status.Channels[0].Message)

	r.apiReader = fake.NewClientBuilder().WithScheme(testScheme).Build()
	status = running()
	g.Expect(r.observe(context.Background(), post, status, nil, time.Now())).To(Succeed())
	g.Expect(status.Channels[0].State).To(Equal(greenlightv1alpha1.PublishFailed), "gone from the API server too")
	g.Expect(status.Channels[0].Message).To(ContainSubstring("was deleted before it finished"))
}
