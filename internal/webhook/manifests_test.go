package webhook

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/greenlight-operator/greenlight/internal/testenv"
)

// TestEveryWebhookFailsClosed guards the generated configuration: while the webhook server is
// down, the API server must refuse SignOffs, posts and policies rather than admit them unchecked.
func TestEveryWebhookFailsClosed(t *testing.T) {
	g := NewWithT(t)
	f, err := os.Open(filepath.Join(testenv.RepoRoot(), "config", "webhook", "manifests.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = f.Close() }()

	failurePolicies := map[string]admissionregistrationv1.FailurePolicyType{}
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var doc struct {
			Kind     string `json:"kind"`
			Webhooks []struct {
				Name          string                                     `json:"name"`
				FailurePolicy *admissionregistrationv1.FailurePolicyType `json:"failurePolicy"`
			} `json:"webhooks"`
		}
		if err := decoder.Decode(&doc); err != nil {
			break
		}
		for _, w := range doc.Webhooks {
			g.Expect(w.FailurePolicy).NotTo(BeNil(), w.Name)
			failurePolicies[w.Name] = *w.FailurePolicy
		}
	}
	g.Expect(failurePolicies).To(Equal(map[string]admissionregistrationv1.FailurePolicyType{
		"mcontentpost-v1alpha1.greenlight.dev":    admissionregistrationv1.Fail,
		"msignoff-v1alpha1.greenlight.dev":        admissionregistrationv1.Fail,
		"vapprovalpolicy-v1alpha1.greenlight.dev": admissionregistrationv1.Fail,
		"vcontentpost-v1alpha1.greenlight.dev":    admissionregistrationv1.Fail,
		"vsignoff-v1alpha1.greenlight.dev":        admissionregistrationv1.Fail,
	}))
}
