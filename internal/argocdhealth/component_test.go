package argocdhealth

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// argocdConfig is config/argocd, the kustomize Component.
var argocdConfig = filepath.Join("..", "..", "config", "argocd")

// healthKeys maps each argocd-cm key to the kind whose script it holds.
var healthKeys = map[string]string{
	"resource.customizations.health.greenlight.dev_ContentPost":    "ContentPost",
	"resource.customizations.health.greenlight.dev_ApprovalPolicy": "ApprovalPolicy",
}

// componentPatch is argocd-cm-patch.yaml as it must be: the scripts, verbatim, under their keys.
func componentPatch(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("# Generated from greenlight.dev/*/health.lua by internal/argocdhealth " +
		"(GREENLIGHT_UPDATE_ARGOCD_PATCH=1 go test ./internal/argocdhealth): edit the scripts, not this file.\n")
	out.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\ndata:\n")
	for _, key := range []string{"resource.customizations.health.greenlight.dev_ApprovalPolicy",
		"resource.customizations.health.greenlight.dev_ContentPost"} {
		script, err := os.ReadFile(ScriptFile(argocdConfig, healthKeys[key]))
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("  " + key + ": |\n")
		for line := range strings.Lines(string(script)) {
			if strings.TrimSpace(line) == "" {
				out.WriteString("\n")
				continue
			}
			out.WriteString("    " + line)
		}
	}
	return out.Bytes()
}

// The component's patch holds exactly the scripts that the fixtures test.
func TestComponentPatchHoldsTheScripts(t *testing.T) {
	g := NewWithT(t)
	path := filepath.Join(argocdConfig, "argocd-cm-patch.yaml")
	want := componentPatch(t)
	if os.Getenv("GREENLIGHT_UPDATE_ARGOCD_PATCH") != "" {
		g.Expect(os.WriteFile(path, want, 0o600)).To(Succeed())
	}
	have, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(have)).To(Equal(string(want)),
		"config/argocd/argocd-cm-patch.yaml is not the scripts: run GREENLIGHT_UPDATE_ARGOCD_PATCH=1 go test ./internal/argocdhealth")
	expectScripts(g, have)
}

// expectScripts checks that the ConfigMap in manifest holds each script under its key.
func expectScripts(g Gomega, manifest []byte) *corev1.ConfigMap {
	var configMap corev1.ConfigMap
	g.Expect(yaml.UnmarshalStrict(manifest, &configMap)).To(Succeed())
	for key, kind := range healthKeys {
		script, err := os.ReadFile(ScriptFile(argocdConfig, kind))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(configMap.Data).To(HaveKeyWithValue(key, string(script)))
	}
	return &configMap
}

// kustomize is the pinned kustomize the Makefile builds (or $KUSTOMIZE).
func kustomize(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("KUSTOMIZE"); path != "" {
		return path
	}
	path, err := filepath.Abs(filepath.Join("..", "..", "bin", "kustomize-v5.7.1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("kustomize is not built (make kustomize, or set KUSTOMIZE): %v", err)
	}
	return path
}

// Included in an Argo CD installation, the component adds the scripts to argocd-cm and keeps the
// rest, whether the installation sets argocd-cm's namespace or argocd-cm names it itself.
func TestComponentPatchesArgoCDConfigMap(t *testing.T) {
	bin := kustomize(t)
	for _, overlay := range []string{"argocd-install", "argocd-install-namespaced"} {
		t.Run(overlay, func(t *testing.T) {
			g := NewWithT(t)
			var stderr bytes.Buffer
			build := exec.Command(bin, "build", filepath.Join("testdata", overlay)) //nolint:gosec // the pinned kustomize
			build.Stderr = &stderr
			out, err := build.Output()
			g.Expect(err).NotTo(HaveOccurred(), stderr.String())
			configMap := expectScripts(g, out)
			g.Expect(configMap.Name).To(Equal("argocd-cm"), "Argo CD reads argocd-cm by this exact name")
			g.Expect(configMap.Namespace).To(Equal("argocd"))
			g.Expect(configMap.Labels).To(HaveKeyWithValue("app.kubernetes.io/part-of", "argocd"))
			g.Expect(configMap.Data).To(HaveKeyWithValue("timeout.reconciliation", "180s"), "argocd-cm's own settings are kept")
			g.Expect(configMap.Data).To(HaveLen(3))
		})
	}
}
