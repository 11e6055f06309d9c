package publish

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

const testConfigMap = "launch-content-94216d98da"

// platformTemplate is a job template as a platform team writes it, including fields that try to
// take over what Greenlight owns.
func platformTemplate() batchv1.JobTemplateSpec {
	tokenFromSecret := corev1.EnvVar{Name: "MASTODON_TOKEN", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "mastodon"}, Key: "token"},
	}}
	return batchv1.JobTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      map[string]string{"team": "platform", greenlightv1alpha1.LabelPost: "forged"},
			Annotations: map[string]string{"owner": "platform"},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](2),
			ActiveDeadlineSeconds: ptr.To[int64](300),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
			}}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{"app": "publisher", greenlightv1alpha1.LabelChannel: "forged"},
					Annotations: map[string]string{"sidecar.istio.io/inject": "false"},
				},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
					InitContainers: []corev1.Container{{
						Name: "wait-for-network", Image: "busybox", Command: []string{"sleep", "1"},
						Env: []corev1.EnvVar{{Name: EnvChannel, Value: "forged"}},
					}},
					Containers: []corev1.Container{{
						Name:    "publisher",
						Image:   "ghcr.io/greenlight-operator/greenlight:v1",
						Command: []string{"/publisher"},
						Args:    []string{"--driver=mastodon"},
						Env: []corev1.EnvVar{
							{Name: "MASTODON_URL", Value: "https://social.example"},
							{Name: EnvPostFile, Value: "/tmp/other-content.json"},
							tokenFromSecret,
							{Name: EnvIdempotencyKey, Value: "forged"},
						},
						EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: "publisher-settings"},
						}}},
						Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
							corev1.ResourceMemory: resource.MustParse("64Mi"),
						}},
						SecurityContext: &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "tmp", MountPath: "/tmp"},
							{Name: "greenlight-post", MountPath: "/elsewhere"},
							{Name: "other-content", MountPath: "/var/run/greenlight/post.json", SubPath: "post.json"},
						},
					}, {
						Name: "audit", Image: "audit:v1",
						VolumeMounts: []corev1.VolumeMount{{Name: "other-content", MountPath: "/var/run/greenlight/"}},
					}},
					Volumes: []corev1.Volume{
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "greenlight-post", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "other-content", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: "not-approved"},
						}}},
					},
				},
			},
		},
	}
}

func TestJob(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").withBody("SECRET-LAUNCH-TEXT").withVariant("mastodon", "VARIANT-TEXT").obj()
	tmpl := platformTemplate()
	before := tmpl.DeepCopy()

	job := Job(post, "mastodon", testRevision, 1, tmpl, testConfigMap)

	g.Expect(tmpl).To(Equal(*before), "the template is not changed")
	g.Expect(job.Name).To(Equal(JobName("launch", "mastodon", testRevision, 1)))
	g.Expect(job.Namespace).To(Equal("marketing"))
	g.Expect(job.OwnerReferences).To(BeEmpty(), "the caller sets the owner")

	greenlightLabels := map[string]string{
		greenlightv1alpha1.LabelPost:     "launch",
		greenlightv1alpha1.LabelChannel:  "mastodon",
		greenlightv1alpha1.LabelRevision: "0123456789abcdef",
	}
	g.Expect(job.Labels).To(Equal(withEntries(greenlightLabels, "team", "platform")))
	g.Expect(job.Annotations).To(Equal(map[string]string{"owner": "platform"}))
	g.Expect(job.Spec.Template.Labels).To(Equal(withEntries(greenlightLabels, "app", "publisher")))
	g.Expect(job.Spec.Template.Annotations).To(Equal(map[string]string{"sidecar.istio.io/inject": "false"}))
	for _, value := range job.Labels {
		g.Expect(validation.IsValidLabelValue(value)).To(BeEmpty())
	}

	// The template's own settings are kept.
	g.Expect(job.Spec.BackoffLimit).To(HaveValue(Equal(int32(2))))
	g.Expect(job.Spec.ActiveDeadlineSeconds).To(HaveValue(Equal(int64(300))))
	g.Expect(job.Spec.PodFailurePolicy).To(Equal(before.Spec.PodFailurePolicy))
	pod := job.Spec.Template.Spec
	g.Expect(pod.RestartPolicy).To(Equal(corev1.RestartPolicyNever))
	g.Expect(pod.SecurityContext).To(Equal(before.Spec.Template.Spec.SecurityContext))
	publisher := pod.Containers[0]
	g.Expect(publisher.Image).To(Equal("ghcr.io/greenlight-operator/greenlight:v1"))
	g.Expect(publisher.Command).To(Equal([]string{"/publisher"}))
	g.Expect(publisher.Args).To(Equal([]string{"--driver=mastodon"}))
	g.Expect(publisher.Resources).To(Equal(before.Spec.Template.Spec.Containers[0].Resources))
	g.Expect(publisher.SecurityContext).To(Equal(before.Spec.Template.Spec.Containers[0].SecurityContext))
	g.Expect(publisher.EnvFrom).To(Equal(before.Spec.Template.Spec.Containers[0].EnvFrom))

	// One post volume, from the approved ConfigMap; the template's volume of that name is gone.
	postVolume := corev1.Volume{Name: "greenlight-post", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: testConfigMap},
		Items:                []corev1.KeyToPath{{Key: "mastodon.json", Path: "post.json"}},
	}}}
	g.Expect(pod.Volumes).To(Equal([]corev1.Volume{
		before.Spec.Template.Spec.Volumes[0], before.Spec.Template.Spec.Volumes[2], postVolume,
	}))

	postMount := corev1.VolumeMount{Name: "greenlight-post", MountPath: "/var/run/greenlight", ReadOnly: true}
	key := IdempotencyKey(testUID, testRevision, "mastodon")
	greenlightEnv := []corev1.EnvVar{
		{Name: "GREENLIGHT_POST_FILE", Value: "/var/run/greenlight/post.json"},
		{Name: "GREENLIGHT_CHANNEL", Value: "mastodon"},
		{Name: "GREENLIGHT_IDEMPOTENCY_KEY", Value: key},
	}
	tests := []struct {
		name       string
		container  corev1.Container
		wantMounts []corev1.VolumeMount
		wantEnv    []corev1.EnvVar
	}{{
		name:       "publisher: the forged env and every mount that could shadow post.json are replaced",
		container:  publisher,
		wantMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}, postMount},
		wantEnv: append(append([]corev1.EnvVar{}, greenlightEnv...),
			corev1.EnvVar{Name: "MASTODON_URL", Value: "https://social.example"},
			before.Spec.Template.Spec.Containers[0].Env[2]),
	}, {
		name:       "a second container gets the same",
		container:  pod.Containers[1],
		wantMounts: []corev1.VolumeMount{postMount},
		wantEnv:    greenlightEnv,
	}, {
		name:       "an init container gets the same",
		container:  pod.InitContainers[0],
		wantMounts: []corev1.VolumeMount{postMount},
		wantEnv:    greenlightEnv,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tt.container.VolumeMounts).To(Equal(tt.wantMounts))
			g.Expect(tt.container.Env).To(Equal(tt.wantEnv))
		})
	}

	// The content never appears in the Job, let alone in command or args.
	encoded, err := json.Marshal(job)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(encoded)).NotTo(ContainSubstring("SECRET-LAUNCH-TEXT"))
	g.Expect(string(encoded)).NotTo(ContainSubstring("VARIANT-TEXT"))
}

func TestJobRestartPolicyAndExtraEnv(t *testing.T) {
	post := newPost("launch").withChannels("mastodon").obj()
	key := IdempotencyKey(testUID, testRevision, "mastodon")
	tests := []struct {
		name        string
		restart     corev1.RestartPolicy
		templateEnv []corev1.EnvVar
		extraEnv    []corev1.EnvVar
		wantRestart corev1.RestartPolicy
		wantEnv     []corev1.EnvVar
	}{{
		name:        "no restartPolicy becomes Never; no extra env",
		wantRestart: corev1.RestartPolicyNever,
		wantEnv: []corev1.EnvVar{
			{Name: EnvPostFile, Value: PostFilePath}, {Name: EnvChannel, Value: "mastodon"}, {Name: EnvIdempotencyKey, Value: key},
		},
	}, {
		name:        "OnFailure is kept; extra env follows Greenlight's and replaces the template's",
		restart:     corev1.RestartPolicyOnFailure,
		templateEnv: []corev1.EnvVar{{Name: "GREENLIGHT_MODE", Value: "publish"}, {Name: "LOG", Value: "debug"}},
		extraEnv:    []corev1.EnvVar{{Name: "GREENLIGHT_MODE", Value: "insights"}, {Name: "GREENLIGHT_REMOTE_ID", Value: "109"}},
		wantRestart: corev1.RestartPolicyOnFailure,
		wantEnv: []corev1.EnvVar{
			{Name: EnvPostFile, Value: PostFilePath}, {Name: EnvChannel, Value: "mastodon"}, {Name: EnvIdempotencyKey, Value: key},
			{Name: "GREENLIGHT_MODE", Value: "insights"}, {Name: "GREENLIGHT_REMOTE_ID", Value: "109"},
			{Name: "LOG", Value: "debug"},
		},
	}, {
		name:        "extra env cannot replace Greenlight's own; the last of two extras wins",
		restart:     corev1.RestartPolicyNever,
		extraEnv:    []corev1.EnvVar{{Name: EnvPostFile, Value: "/tmp/x"}, {Name: "A", Value: "1"}, {Name: "A", Value: "2"}},
		wantRestart: corev1.RestartPolicyNever,
		wantEnv: []corev1.EnvVar{
			{Name: EnvPostFile, Value: PostFilePath}, {Name: EnvChannel, Value: "mastodon"}, {Name: EnvIdempotencyKey, Value: key},
			{Name: "A", Value: "2"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tmpl := batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: tt.restart,
				Containers:    []corev1.Container{{Name: "publisher", Image: "publisher:v1", Env: tt.templateEnv}},
			}}}}
			job := Job(post, "mastodon", testRevision, 3, tmpl, testConfigMap, tt.extraEnv...)
			g.Expect(job.Name).To(Equal(JobName("launch", "mastodon", testRevision, 3)))
			g.Expect(job.Spec.Template.Spec.RestartPolicy).To(Equal(tt.wantRestart))
			g.Expect(job.Spec.Template.Spec.Containers[0].Env).To(Equal(tt.wantEnv))
			g.Expect(job.Labels).To(HaveKeyWithValue(greenlightv1alpha1.LabelChannel, "mastodon"))
			g.Expect(job.Spec.Template.Spec.Volumes).To(HaveLen(1))
		})
	}
}

// withEntries returns a copy of m with the key-value pairs kv added.
func withEntries(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// A sharded manager caches only its shard's Jobs and ConfigMaps: they carry their post's key.
func TestJobAndConfigMapJoinTheirPostsShard(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").withChannels("mastodon").obj()
	job := Job(post, "mastodon", testRevision, 1, platformTemplate(), testConfigMap)
	g.Expect(job.Labels).NotTo(HaveKey(greenlightv1alpha1.LabelShard), "an unsharded post's Job has no shard key")

	post.Labels = map[string]string{greenlightv1alpha1.LabelShard: "shard2"}
	job = Job(post, "mastodon", testRevision, 1, platformTemplate(), testConfigMap)
	g.Expect(job.Labels).To(HaveKeyWithValue(greenlightv1alpha1.LabelShard, "shard2"))
	configMap, err := ConfigMap(post, testRevision)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(configMap.Labels).To(HaveKeyWithValue(greenlightv1alpha1.LabelShard, "shard2"))
}
