package publish

import (
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// IsOurs reports whether an existing Job is the one Greenlight builds for its name: controlled by
// owner and running the same work as desired (containers with their images, commands, arguments,
// environment and mounts, and the volumes). Job names are predictable, so a Job someone else
// created under the name first must never stand in for the approved one. Fields the API server
// defaults are not compared.
func IsOurs(existing, desired *batchv1.Job, owner metav1.Object) bool {
	if !metav1.IsControlledBy(existing, owner) {
		return false
	}
	if !sameCount(existing.Spec.Parallelism, desired.Spec.Parallelism) || !sameCount(existing.Spec.Completions, desired.Spec.Completions) {
		return false
	}
	have, want := existing.Spec.Template.Spec, desired.Spec.Template.Spec
	return have.ServiceAccountName == want.ServiceAccountName &&
		sameContainers(have.Containers, want.Containers) && sameContainers(have.InitContainers, want.InitContainers) &&
		sameVolumes(have.Volumes, want.Volumes)
}

// sameCount compares Job counts, an unset one being 1 as the API server defaults it.
func sameCount(have, want *int32) bool {
	one := func(c *int32) int32 {
		if c == nil {
			return 1
		}
		return *c
	}
	return one(have) == one(want)
}

// sameEnv compares env entries by what they resolve to: the API server fills defaults into a
// valueFrom (a fieldRef's apiVersion, an optional's false) that the template does not carry.
func sameEnv(have, want []corev1.EnvVar) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range want {
		h, w := have[i], want[i]
		if h.Name != w.Name || h.Value != w.Value || (h.ValueFrom == nil) != (w.ValueFrom == nil) {
			return false
		}
		if w.ValueFrom != nil && source(*h.ValueFrom) != source(*w.ValueFrom) {
			return false
		}
	}
	return true
}

// source names where a valueFrom reads from.
func source(v corev1.EnvVarSource) string {
	switch {
	case v.SecretKeyRef != nil:
		return "secret/" + v.SecretKeyRef.Name + "/" + v.SecretKeyRef.Key
	case v.ConfigMapKeyRef != nil:
		return "configmap/" + v.ConfigMapKeyRef.Name + "/" + v.ConfigMapKeyRef.Key
	case v.FieldRef != nil:
		return "field/" + v.FieldRef.FieldPath
	case v.ResourceFieldRef != nil:
		return "resource/" + v.ResourceFieldRef.ContainerName + "/" + v.ResourceFieldRef.Resource
	}
	return "other"
}

func sameContainers(have, want []corev1.Container) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range want {
		h, w := have[i], want[i]
		if h.Name != w.Name || h.Image != w.Image || !equality.Semantic.DeepEqual(h.Command, w.Command) ||
			!equality.Semantic.DeepEqual(h.Args, w.Args) || !sameEnv(h.Env, w.Env) ||
			!equality.Semantic.DeepEqual(h.EnvFrom, w.EnvFrom) || !sameMounts(h.VolumeMounts, w.VolumeMounts) {
			return false
		}
	}
	return true
}

func sameMounts(have, want []corev1.VolumeMount) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range want {
		if have[i].Name != want[i].Name || have[i].MountPath != want[i].MountPath || have[i].SubPath != want[i].SubPath ||
			have[i].ReadOnly != want[i].ReadOnly {
			return false
		}
	}
	return true
}

func sameVolumes(have, want []corev1.Volume) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range want {
		h, w := have[i], want[i]
		if h.Name != w.Name || (h.ConfigMap == nil) != (w.ConfigMap == nil) {
			return false
		}
		if w.ConfigMap != nil && (h.ConfigMap.Name != w.ConfigMap.Name || !equality.Semantic.DeepEqual(h.ConfigMap.Items, w.ConfigMap.Items)) {
			return false
		}
		if w.Secret != nil && (h.Secret == nil || h.Secret.SecretName != w.Secret.SecretName) {
			return false
		}
	}
	return true
}
