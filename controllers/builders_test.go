package controllers

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Fixture builders: newPost("launch").withChannels("mastodon").obj().

type postBuilder struct {
	post greenlightv1alpha1.ContentPost
}

func newPost(name string) *postBuilder {
	return &postBuilder{post: greenlightv1alpha1.ContentPost{
		// dana creates it: the admission policy demands the creator's record, which the webhook
		// would set.
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"brand": "acme"},
			Annotations: map[string]string{greenlightv1alpha1.AnnotationCreatedBy: "dana"}},
		Spec: greenlightv1alpha1.ContentPostSpec{
			Author:   "dana",
			Body:     "Our spring line is here",
			Channels: []greenlightv1alpha1.Channel{{Name: "mastodon"}},
			// Far ahead, so that an approved post waits Scheduled; publishing tests use now().
			PublishAt: &metav1.Time{Time: time.Date(2099, 1, 1, 9, 0, 0, 0, time.UTC)},
		},
	}}
}

// now publishes the post as soon as it is approved.
func (b *postBuilder) now() *postBuilder { b.post.Spec.PublishAt = nil; return b }

func (b *postBuilder) in(namespace string) *postBuilder     { b.post.Namespace = namespace; return b }
func (b *postBuilder) draft() *postBuilder                  { b.post.Spec.Draft = true; return b }
func (b *postBuilder) obj() *greenlightv1alpha1.ContentPost { return b.post.DeepCopy() }

type policyBuilder struct {
	policy greenlightv1alpha1.ApprovalPolicy
}

// newPolicy selects brand=acme and publishes to mastodon and linkedin (a post with a channel no
// policy publishes to is blocked).
func newPolicy(name string) *policyBuilder {
	return &policyBuilder{policy: greenlightv1alpha1.ApprovalPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: greenlightv1alpha1.ApprovalPolicySpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"brand": "acme"}},
			Publishing: &greenlightv1alpha1.Publishing{Channels: map[string]greenlightv1alpha1.ChannelPublishing{
				"mastodon": {JobTemplate: publisherTemplate()}, "linkedin": {JobTemplate: publisherTemplate()}}},
		},
	}}
}

// withoutPublishing leaves publishing to another policy.
func (b *policyBuilder) withoutPublishing() *policyBuilder { b.policy.Spec.Publishing = nil; return b }

// publisherTemplate is a publishing Job as a platform team writes it.
func publisherTemplate() batchv1.JobTemplateSpec {
	return batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "publish", Image: "greenlight:dev", Command: []string{"/publisher"}, Args: []string{"--driver=webhook"},
			// The API server defaults a fieldRef's apiVersion: Greenlight must still know its own Job.
			Env: []corev1.EnvVar{{Name: "NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}}},
	}}}}
}

func (b *policyBuilder) in(namespace string) *policyBuilder { b.policy.Namespace = namespace; return b }

// selecting sets the selector's matchLabels; nil selects every post.
func (b *policyBuilder) selecting(l map[string]string) *policyBuilder {
	b.policy.Spec.Selector = nil
	if l != nil {
		b.policy.Spec.Selector = &metav1.LabelSelector{MatchLabels: l}
	}
	return b
}

// stage adds a stage whose departments are approved by the group of the same name.
func (b *policyBuilder) stage(name string, departments ...string) *policyBuilder {
	s := greenlightv1alpha1.Stage{Name: name}
	for _, d := range departments {
		s.Departments = append(s.Departments, greenlightv1alpha1.Department{
			Name: d, MinApprovals: 1, Approvers: greenlightv1alpha1.Approvers{Groups: []string{d}},
		})
	}
	b.policy.Spec.Stages = append(b.policy.Spec.Stages, s)
	return b
}

// department edits the named department.
func (b *policyBuilder) department(name string, edit func(*greenlightv1alpha1.Department)) *policyBuilder {
	for i := range b.policy.Spec.Stages {
		for j := range b.policy.Spec.Stages[i].Departments {
			if b.policy.Spec.Stages[i].Departments[j].Name == name {
				edit(&b.policy.Spec.Stages[i].Departments[j])
			}
		}
	}
	return b
}

func (b *policyBuilder) obj() *greenlightv1alpha1.ApprovalPolicy { return b.policy.DeepCopy() }

// covers is a department edit that sets covers.
func covers(fields ...greenlightv1alpha1.CoveredField) func(*greenlightv1alpha1.Department) {
	return func(d *greenlightv1alpha1.Department) { d.Covers = fields }
}

type signOffBuilder struct{ signOff greenlightv1alpha1.SignOff }

// newSignOff is an approval of post for department by reviewer. This suite runs without the
// webhooks, so tests set what admission would: the reviewer, the approvers entry (each
// department is approved by the group of its name) and, with the builders below, the revision
// and the binding labels.
func newSignOff(post, department, reviewer string) *signOffBuilder {
	return &signOffBuilder{signOff: greenlightv1alpha1.SignOff{
		ObjectMeta: metav1.ObjectMeta{GenerateName: post + "-" + department + "-"},
		Spec: greenlightv1alpha1.SignOffSpec{
			Post: post, Department: department, Reviewer: reviewer, Decision: greenlightv1alpha1.DecisionApprove,
			Approver: greenlightv1alpha1.ApproverGroupPrefix + department,
		},
	}}
}

func (b *signOffBuilder) in(namespace string) *signOffBuilder {
	b.signOff.Namespace = namespace
	return b
}

// boundTo sets the post-UID and policy-UID labels, as admission does.
func (b *signOffBuilder) boundTo(post *greenlightv1alpha1.ContentPost, policyUID string) *signOffBuilder {
	b.signOff.Labels = map[string]string{
		greenlightv1alpha1.LabelPostUID:   string(post.UID),
		greenlightv1alpha1.LabelPolicyUID: policyUID,
	}
	return b
}
func (b *signOffBuilder) revision(r string) *signOffBuilder { b.signOff.Spec.Revision = r; return b }
func (b *signOffBuilder) requestChanges(comment string) *signOffBuilder {
	b.signOff.Spec.Decision, b.signOff.Spec.Comment = greenlightv1alpha1.DecisionRequestChanges, comment
	return b
}
func (b *signOffBuilder) reject(comment string) *signOffBuilder {
	b.signOff.Spec.Decision, b.signOff.Spec.Comment = greenlightv1alpha1.DecisionReject, comment
	return b
}
func (b *signOffBuilder) obj() *greenlightv1alpha1.SignOff { return b.signOff.DeepCopy() }

// Polling for the reconcilers: watches deliver in milliseconds; these bound a broken test.
const (
	eventually = 10 * time.Second
	poll       = 50 * time.Millisecond
)
