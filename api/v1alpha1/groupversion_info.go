// Package v1alpha1 contains the Greenlight API: ContentPost, ApprovalPolicy and SignOff in the
// greenlight.dev group.
// +kubebuilder:object:generate=true
// +groupName=greenlight.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "greenlight.dev", Version: "v1alpha1"}

	// SchemeBuilder collects the functions that add this group-version's types to a scheme. It
	// depends on apimachinery only, so that clients can import the API cheaply.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types in this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme

	// knownTypes are registered by each kind's file.
	knownTypes []runtime.Object
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, knownTypes...)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
