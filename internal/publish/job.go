package publish

import (
	"maps"
	"path"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// postVolumeName is the name of the volume that carries post.json into a publishing Job's pods.
const postVolumeName = "greenlight-post"

// postFileDir is the directory the post volume is mounted at; post.json is PostFilePath in it.
var postFileDir = path.Dir(PostFilePath)

// Job returns the Job that publishes post to channel at revision, attempt 1, 2, ..., from the
// platform team's template tmpl, with the content ConfigMap configMapName mounted. Everything the
// template sets is kept (image, command, args, env and envFrom, resources, securityContext,
// backoffLimit, activeDeadlineSeconds, podFailurePolicy, its pod template's labels and
// annotations, ...), except what Greenlight owns, which the template cannot override:
//   - the name JobName(...) and namespace post.Namespace, with no owner reference (the caller
//     sets it);
//   - the labels greenlight.dev/post, greenlight.dev/channel and greenlight.dev/revision, on the
//     Job and on its pod template;
//   - the volume "greenlight-post" holding the channel's post.json, mounted read-only at
//     /var/run/greenlight in every container and init container; template volumes of that name
//     and mounts of that name or at or below that directory are dropped, so that nothing can
//     shadow the approved file;
//   - the env GREENLIGHT_POST_FILE, GREENLIGHT_CHANNEL and GREENLIGHT_IDEMPOTENCY_KEY, then
//     extraEnv, in every container and init container, replacing template env of the same
//     names. They come first so that the template's own env can refer to them as
//     $(GREENLIGHT_CHANNEL); env also wins over any envFrom of the template.
//
// The pod's restartPolicy is the template's, Never when it has none. The content itself never
// appears in the Job: not in command, args or env.
func Job(post *greenlightv1alpha1.ContentPost, channel, revision string, attempt int32, tmpl batchv1.JobTemplateSpec,
	configMapName string, extraEnv ...corev1.EnvVar) *batchv1.Job {
	labels := map[string]string{
		greenlightv1alpha1.LabelPost:     post.Name,
		greenlightv1alpha1.LabelChannel:  channel,
		greenlightv1alpha1.LabelRevision: RevisionLabel(revision),
	}
	shardOf(post, labels)
	spec := *tmpl.Spec.DeepCopy()
	pod := &spec.Template
	pod.Labels = mergeLabels(pod.Labels, labels)
	if pod.Spec.RestartPolicy == "" {
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	}

	pod.Spec.Volumes = append(dropVolume(pod.Spec.Volumes), corev1.Volume{
		Name: postVolumeName,
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: configMapName},
			Items:                []corev1.KeyToPath{{Key: configMapKey(channel), Path: path.Base(PostFilePath)}},
		}},
	})
	env := greenlightEnv(post, channel, revision, extraEnv)
	for _, containers := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range containers {
			c := &containers[i]
			c.VolumeMounts = append(dropMounts(c.VolumeMounts), corev1.VolumeMount{
				Name:      postVolumeName,
				MountPath: postFileDir,
				ReadOnly:  true,
			})
			c.Env = append(append([]corev1.EnvVar{}, env...), dropEnv(c.Env, env)...)
		}
	}

	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        JobName(post.Name, channel, revision, attempt),
			Namespace:   post.Namespace,
			Labels:      mergeLabels(tmpl.Labels, labels),
			Annotations: maps.Clone(tmpl.Annotations),
		},
		Spec: spec,
	}
}

// greenlightEnv is the env Greenlight sets in every container: its own three variables, then
// extra (the last of each name wins; extra cannot replace Greenlight's own).
func greenlightEnv(post *greenlightv1alpha1.ContentPost, channel, revision string, extra []corev1.EnvVar) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: EnvPostFile, Value: PostFilePath},
		{Name: EnvChannel, Value: channel},
		{Name: EnvIdempotencyKey, Value: IdempotencyKey(post.UID, revision, channel)},
	}
	own := len(env)
	for _, e := range extra {
		if i := indexEnv(env, e.Name); i >= own {
			env[i] = e
		} else if i < 0 {
			env = append(env, e)
		}
	}
	return env
}

func indexEnv(env []corev1.EnvVar, name string) int {
	for i, e := range env {
		if e.Name == name {
			return i
		}
	}
	return -1
}

// dropEnv returns env without the variables that set names.
func dropEnv(env, set []corev1.EnvVar) []corev1.EnvVar {
	var kept []corev1.EnvVar
	for _, e := range env {
		if indexEnv(set, e.Name) < 0 {
			kept = append(kept, e)
		}
	}
	return kept
}

func dropVolume(volumes []corev1.Volume) []corev1.Volume {
	var kept []corev1.Volume
	for _, v := range volumes {
		if v.Name != postVolumeName {
			kept = append(kept, v)
		}
	}
	return kept
}

// dropMounts returns mounts without those of the post volume and those at or below the post
// file's directory, which would hide or replace post.json.
func dropMounts(mounts []corev1.VolumeMount) []corev1.VolumeMount {
	var kept []corev1.VolumeMount
	for _, m := range mounts {
		p := path.Clean(m.MountPath)
		if m.Name == postVolumeName || p == postFileDir || strings.HasPrefix(p, postFileDir+"/") {
			continue
		}
		kept = append(kept, m)
	}
	return kept
}

// mergeLabels returns base with own set over it; base is not changed.
func mergeLabels(base, own map[string]string) map[string]string {
	merged := make(map[string]string, len(base)+len(own))
	maps.Copy(merged, base)
	maps.Copy(merged, own)
	return merged
}

// shardOf copies the post's shard key (if any) into labels, so that the manager owning the post's
// shard caches what it creates for the post.
func shardOf(post *greenlightv1alpha1.ContentPost, labels map[string]string) {
	if shard, ok := post.Labels[greenlightv1alpha1.LabelShard]; ok {
		labels[greenlightv1alpha1.LabelShard] = shard
	}
}
