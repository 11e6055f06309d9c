package main

import (
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// The objects of a run. Department k (counting across stages) is dept-<k>, approved by the group
// of the same name, whose one member is reviewer-<k>.

func stageName(s int) string      { return fmt.Sprintf("stage-%d", s) }
func departmentName(k int) string { return fmt.Sprintf("dept-%d", k) }
func reviewerName(k int) string   { return fmt.Sprintf("reviewer-%d", k) }
func channelName(i int) string    { return fmt.Sprintf("channel-%d", i) }
func postName(i int) string       { return fmt.Sprintf("post-%05d", i) }

// shardOf is the shard of post i.
func shardOf(i, shards int) int { return i % shards }

const clusterRoleKind = "ClusterRole"

// benchLabel marks everything the bench's policies select.
const benchLabel = "greenlight.dev/bench"

func objectMeta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}

// peopleBindings let the author write posts and every department's group sign off in namespace.
func peopleBindings(namespace string, departments int) []*rbacv1.RoleBinding {
	reviewers := make([]rbacv1.Subject, 0, departments)
	for k := range departments {
		reviewers = append(reviewers, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: departmentName(k)})
	}
	return []*rbacv1.RoleBinding{
		{ObjectMeta: objectMeta("greenlight-authors", namespace),
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: clusterRoleKind, Name: "greenlight-author"},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: author}}},
		{ObjectMeta: objectMeta("greenlight-reviewers", namespace),
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: clusterRoleKind, Name: "greenlight-reviewer"},
			Subjects: reviewers},
	}
}

// benchPolicy is the policy for one shard's posts: its stages of departments, and a publishing
// Job for every channel (a post on a channel no policy publishes to is blocked). Each shard has
// a policy of its own, labelled for the shard, so that a manager that watches only its shard's
// objects still sees the policy of its posts.
func benchPolicy(cfg config, namespace string, shard int) *greenlightv1alpha1.ApprovalPolicy {
	labels := map[string]string{benchLabel: "true", shardLabel: shardName(shard)}
	p := &greenlightv1alpha1.ApprovalPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-" + shardName(shard), Namespace: namespace, Labels: labels},
		Spec: greenlightv1alpha1.ApprovalPolicySpec{
			Selector:   &metav1.LabelSelector{MatchLabels: labels},
			Publishing: &greenlightv1alpha1.Publishing{Channels: map[string]greenlightv1alpha1.ChannelPublishing{}},
		},
	}
	for s := range cfg.stages {
		stage := greenlightv1alpha1.Stage{Name: stageName(s)}
		for d := range cfg.departments {
			k := s*cfg.departments + d
			stage.Departments = append(stage.Departments, greenlightv1alpha1.Department{Name: departmentName(k), MinApprovals: 1,
				Approvers: greenlightv1alpha1.Approvers{Groups: []string{departmentName(k)}}})
		}
		p.Spec.Stages = append(p.Spec.Stages, stage)
	}
	for i := range cfg.channels {
		p.Spec.Publishing.Channels[channelName(i)] = greenlightv1alpha1.ChannelPublishing{JobTemplate: publisherTemplate()}
	}
	return p
}

// publisherTemplate is a publishing Job as a platform team writes it (as in the controllers'
// tests). Nothing runs it: with -publish the bench plays the Job controller.
func publisherTemplate() batchv1.JobTemplateSpec {
	return batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "publish", Image: "greenlight:dev", Command: []string{"/publisher"},
			Args: []string{"--driver=webhook"}}},
	}}}}
}

// farFuture is the publishAt of posts that are not published: approved, they wait Scheduled.
var farFuture = metav1.NewTime(time.Date(2099, 1, 1, 9, 0, 0, 0, time.UTC))

// filler is the text posts are cut from; each post starts with its own name, so that every post
// has its own revision.
var filler = strings.Repeat("Our spring line is here: twelve new colours, made from recycled cotton. ", maxTextBytes/70+1)

// text returns a text of exactly size bytes that begins with prefix.
func text(prefix string, size int) string {
	if size <= len(prefix) {
		return prefix[:size]
	}
	return prefix + filler[:size-len(prefix)]
}

// benchPost is post i, for its shard's policy.
func benchPost(cfg config, namespace string, i, shards int) *greenlightv1alpha1.ContentPost {
	name := postName(i)
	post := &greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels: map[string]string{benchLabel: "true", shardLabel: shardName(shardOf(i, shards))}},
		Spec: greenlightv1alpha1.ContentPostSpec{Author: author, Body: text(name+": ", cfg.bodyBytes)},
	}
	if !cfg.publish {
		post.Spec.PublishAt = &farFuture
	}
	for c := range cfg.channels {
		channel := greenlightv1alpha1.Channel{Name: channelName(c)}
		if cfg.variantBytes > 0 {
			channel.Body = text(name+" on "+channel.Name+": ", cfg.variantBytes)
		}
		post.Spec.Channels = append(post.Spec.Channels, channel)
	}
	return post
}

// benchSignOff approves post for department k, leaving reviewer, revision and approver to
// admission, as a reviewer does.
func benchSignOff(namespace, post string, k, shard int) *greenlightv1alpha1.SignOff {
	return &greenlightv1alpha1.SignOff{
		ObjectMeta: metav1.ObjectMeta{Name: post + "-" + departmentName(k), Namespace: namespace,
			Labels: map[string]string{shardLabel: shardName(shard)}},
		Spec: greenlightv1alpha1.SignOffSpec{Post: post, Department: departmentName(k), Decision: greenlightv1alpha1.DecisionApprove},
	}
}
