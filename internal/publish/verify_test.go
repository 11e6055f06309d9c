package publish

import (
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIsOurs(t *testing.T) {
	post := newPost("launch").withChannels("mastodon").obj()
	revision := "sha256:" + "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"
	desired := func() *batchv1.Job {
		tmpl := platformTemplate()
		tmpl.Spec.Template.Spec.Containers[0].Env = append(tmpl.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "NS",
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}})
		job := Job(post, "mastodon", revision, 1, tmpl, ConfigMapName(post.Name, revision))
		yes := true
		job.OwnerReferences = []metav1.OwnerReference{{APIVersion: "greenlight.dev/v1alpha1", Kind: "ContentPost", Name: post.Name,
			UID: post.UID, Controller: &yes}}
		return job
	}
	cases := []struct {
		name string
		edit func(*batchv1.Job)
		ours bool
	}{
		{"the Job Greenlight builds", func(*batchv1.Job) {}, true},
		{"with fields the API server defaults", func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
			j.Spec.Template.Spec.DNSPolicy = corev1.DNSClusterFirst
		}, true},
		{"with a fieldRef the API server defaults", func(j *batchv1.Job) {
			for i := range j.Spec.Template.Spec.Containers[0].Env {
				if f := j.Spec.Template.Spec.Containers[0].Env[i].ValueFrom; f != nil && f.FieldRef != nil {
					f.FieldRef.APIVersion = "v1"
				}
			}
		}, true},
		{"five copies in parallel", func(j *batchv1.Job) { five := int32(5); j.Spec.Parallelism, j.Spec.Completions = &five, &five }, false},
		{"another service account", func(j *batchv1.Job) { j.Spec.Template.Spec.ServiceAccountName = "powerful" }, false},
		{"controlled by nobody", func(j *batchv1.Job) { j.OwnerReferences = nil }, false},
		{"controlled by another post", func(j *batchv1.Job) { j.OwnerReferences[0].UID = "other" }, false},
		{"another image", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "evil:latest" }, false},
		{"other arguments", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Args = []string{"--driver=slack"} }, false},
		{"another idempotency key", func(j *batchv1.Job) {
			for i, e := range j.Spec.Template.Spec.Containers[0].Env {
				if e.Name == EnvIdempotencyKey {
					j.Spec.Template.Spec.Containers[0].Env[i].Value = "gl-other"
				}
			}
		}, false},
		{"other content mounted", func(j *batchv1.Job) {
			for i := range j.Spec.Template.Spec.Volumes {
				if j.Spec.Template.Spec.Volumes[i].ConfigMap != nil {
					j.Spec.Template.Spec.Volumes[i].ConfigMap.Name = "elsewhere"
				}
			}
		}, false},
		{"an extra container", func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers = append(j.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "evil"})
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			existing := desired()
			tc.edit(existing)
			g.Expect(IsOurs(existing, desired(), post)).To(Equal(tc.ours))
		})
	}
}
