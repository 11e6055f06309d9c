package main

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func TestWalkKeepsTheTrimmedPropertysOwnDescription(t *testing.T) {
	g := NewWithT(t)
	schema := &apiextensionsv1.JSONSchemaProps{
		Description: "root",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"name": {Description: "name of the thing"},
			"jobTemplate": {
				Description: "the job",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"spec": {
						Description: "job spec",
						Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"containers": {
								Description: "containers",
								Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
									Description: "a container",
								}},
							},
							"labels": {
								Description:          "labels",
								AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Schema: &apiextensionsv1.JSONSchemaProps{Description: "a label"}},
							},
						},
					},
				},
			},
		},
	}

	walk(schema, map[string]bool{"jobTemplate": true}, false)

	g.Expect(schema.Description).To(Equal("root"))
	g.Expect(schema.Properties["name"].Description).To(Equal("name of the thing"))
	job := schema.Properties["jobTemplate"]
	g.Expect(job.Description).To(Equal("the job"))
	spec := job.Properties["spec"]
	g.Expect(spec.Description).To(BeEmpty())
	g.Expect(spec.Properties["containers"].Description).To(BeEmpty())
	g.Expect(spec.Properties["containers"].Items.Schema.Description).To(BeEmpty())
	g.Expect(spec.Properties["labels"].AdditionalProperties.Schema.Description).To(BeEmpty())
}

// TestGeneratedPolicyCRDIsTrimmed guards `make manifests`: the committed ApprovalPolicy CRD keeps
// Greenlight's own descriptions and stays small enough to apply.
func TestGeneratedPolicyCRDIsTrimmed(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "greenlight.dev_approvalpolicies.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(len(data)).To(BeNumerically("<", 400_000), "the CRD grew past 400 KB: is trimcrd still run by `make manifests`?")

	var crd apiextensionsv1.CustomResourceDefinition
	g.Expect(yaml.Unmarshal(data, &crd)).To(Succeed())
	spec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	g.Expect(spec.Properties["stages"].Description).To(ContainSubstring("reviewed in order"))
	job := spec.Properties["publishing"].Properties["channels"].AdditionalProperties.Schema.Properties["jobTemplate"]
	g.Expect(job.Description).To(ContainSubstring("/var/run/greenlight/post.json"))
	g.Expect(job.Properties["spec"].Description).To(BeEmpty())
	g.Expect(job.Properties["spec"].Properties["template"].Properties).To(HaveKey("spec"), "the Pod schema itself must stay, so job templates are validated on apply")
}
