package main

import (
	"errors"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The API server wraps an admission denial's own sentence in these words: a webhook's
// (`admission webhook "vsignoff-v1alpha1.greenlight.dev" denied the request: ...`) and a
// ValidatingAdmissionPolicy's (`... ValidatingAdmissionPolicy 'signoff-identity' with binding
// 'signoff-identity' denied request: ...`).
var denialMarkers = []string{"denied the request: ", "denied request: "}

// denial returns the sentence of an admission denial or of the API's schema validation, without
// what the API server wraps around it, and whether err is one.
func denial(err error) (string, bool) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return "", false
	}
	message := status.Status().Message
	for _, marker := range denialMarkers {
		if _, sentence, found := strings.Cut(message, marker); found {
			return sentence, true
		}
	}
	if apierrors.IsInvalid(err) {
		if details := status.Status().Details; details != nil && len(details.Causes) > 0 {
			return validationMessages(details.Causes), true
		}
	}
	return "", false
}

// validationMessages joins the schema validation failures of a request. The plugin names a
// SignOff after its post and department, so an invalid spec value also makes the name invalid:
// failures of metadata are left out when the spec has its own, which say what to fix.
func validationMessages(causes []metav1.StatusCause) string {
	specFailed := slices.ContainsFunc(causes, func(c metav1.StatusCause) bool { return !strings.HasPrefix(c.Field, "metadata.") })
	var parts []string
	for _, cause := range causes {
		if specFailed && strings.HasPrefix(cause.Field, "metadata.") {
			continue
		}
		parts = append(parts, validationMessage(cause.Field, cause.Message))
	}
	return strings.Join(parts, "; ")
}

// validationMessage shows one schema validation failure as "field: what is wrong". A CEL rule on
// a whole object reports its value as "object", which says nothing to a person.
func validationMessage(field, message string) string {
	message = strings.TrimPrefix(message, `Invalid value: "object": `)
	if field == "" {
		return message
	}
	return field + ": " + message
}
