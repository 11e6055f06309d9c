// Command trimcrd removes the descriptions that controller-gen copies from embedded Kubernetes
// types (the Pod schema under an ApprovalPolicy's jobTemplate) out of a generated CRD.
//
// Those descriptions make up most of the ApprovalPolicy CRD (about 870 KB with them, too large
// to apply comfortably); the schema itself stays, so the API server still validates job
// templates on apply. Greenlight's own fields keep their descriptions for `kubectl explain`.
//
// Usage: trimcrd FILE FIELD...   rewrites FILE, trimming below every property named FIELD.
package main

import (
	"bytes"
	"fmt"
	"os"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: trimcrd FILE FIELD...")
		os.Exit(2)
	}
	if err := trim(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "trimcrd:", err)
		os.Exit(1)
	}
}

func trim(path string, fields []string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(bytes.TrimPrefix(data, []byte("---\n")), &crd); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	trimmed := map[string]bool{}
	for _, field := range fields {
		trimmed[field] = true
	}
	for i := range crd.Spec.Versions {
		if v := crd.Spec.Versions[i].Schema; v != nil && v.OpenAPIV3Schema != nil {
			walk(v.OpenAPIV3Schema, trimmed, false)
		}
	}
	out, err := yaml.Marshal(&crd)
	if err != nil {
		return err
	}
	// Keep controller-gen's document marker so the file diffs cleanly when regenerated.
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o600)
}

// walk clears the descriptions of s and everything below it when below is set. A property named
// in trimmed keeps its own description and loses those of everything below it.
func walk(s *apiextensionsv1.JSONSchemaProps, trimmed map[string]bool, below bool) {
	if below {
		s.Description = ""
	}
	for name, prop := range s.Properties {
		own := prop.Description
		walk(&prop, trimmed, below || trimmed[name])
		if !below {
			prop.Description = own
		}
		s.Properties[name] = prop
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		walk(s.AdditionalProperties.Schema, trimmed, below)
	}
	if s.Items != nil && s.Items.Schema != nil {
		walk(s.Items.Schema, trimmed, below)
	}
}
