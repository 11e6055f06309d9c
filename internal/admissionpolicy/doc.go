// Package admissionpolicy tests config/admissionpolicy: the ValidatingAdmissionPolicies that the
// API server evaluates itself, so that Greenlight's identity rules hold while its admission
// webhooks are down. The package has no code of its own; its tests run the policies in a real
// kube-apiserver without any webhook.
package admissionpolicy
