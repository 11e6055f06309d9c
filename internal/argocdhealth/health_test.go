package argocdhealth

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"
)

// customizations is config/argocd/greenlight.dev: one directory per kind, in Argo CD's
// resource_customizations layout.
var customizations = filepath.Join("..", "..", "config", "argocd", "greenlight.dev")

// healthTests is Argo CD's health_test.yaml.
type healthTests struct {
	Tests []struct {
		HealthStatus Status `json:"healthStatus"`
		InputPath    string `json:"inputPath"`
	} `json:"tests"`
}

func readHealthTests(t *testing.T, kind string) healthTests {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(customizations, kind, "health_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tests healthTests
	if err := yaml.UnmarshalStrict(raw, &tests); err != nil {
		t.Fatalf("%s/health_test.yaml: %v", kind, err)
	}
	return tests
}

// readObject reads a fixture as Argo CD's own health tests do: YAML to JSON to a map.
func readObject(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}

func TestHealthScriptsOnTheirFixtures(t *testing.T) {
	for _, kind := range []string{"ContentPost", "ApprovalPolicy"} {
		script := ScriptFile(filepath.Join("..", "..", "config", "argocd"), kind)
		tests := readHealthTests(t, kind)
		if len(tests.Tests) == 0 {
			t.Fatalf("%s/health_test.yaml has no tests", kind)
		}
		for _, tc := range tests.Tests {
			for _, libs := range []struct {
				name string
				libs Libraries
			}{{"argocd-libraries", ArgoCDLibraries}, {"all-libraries", AllLibraries}} {
				t.Run(kind+"/"+tc.InputPath+"/"+libs.name, func(t *testing.T) {
					g := NewWithT(t)
					got, err := RunFile(script, readObject(t, filepath.Join(customizations, kind, tc.InputPath)), libs.libs)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(got).To(Equal(tc.HealthStatus))
				})
			}
		}
	}
}

// Every fixture is tested, and the ContentPost fixtures cover every phase of the CRD.
func TestFixturesCoverEveryPhase(t *testing.T) {
	g := NewWithT(t)
	for _, kind := range []string{"ContentPost", "ApprovalPolicy"} {
		var tested []string
		for _, tc := range readHealthTests(t, kind).Tests {
			tested = append(tested, filepath.Clean(tc.InputPath))
		}
		fixtures, err := filepath.Glob(filepath.Join(customizations, kind, "testdata", "*.yaml"))
		g.Expect(err).NotTo(HaveOccurred())
		for _, f := range fixtures {
			rel, err := filepath.Rel(filepath.Join(customizations, kind), f)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(tested).To(ContainElement(rel), "%s is in no test of %s/health_test.yaml", rel, kind)
		}
	}

	var phases []string
	for _, tc := range readHealthTests(t, "ContentPost").Tests {
		obj := readObject(t, filepath.Join(customizations, "ContentPost", tc.InputPath))
		if status, ok := obj["status"].(map[string]any); ok {
			if phase, ok := status["phase"].(string); ok && !slices.Contains(phases, phase) {
				phases = append(phases, phase)
			}
		}
	}
	g.Expect(phases).To(ConsistOf(crdPhases(t)))
}

// crdPhases is the enum of status.phase in the generated ContentPost CRD.
func crdPhases(t *testing.T) []any {
	t.Helper()
	crd := readObject(t, filepath.Join("..", "..", "config", "crd", "bases", "greenlight.dev_contentposts.yaml"))
	versions, _ := crd["spec"].(map[string]any)["versions"].([]any)
	if len(versions) != 1 {
		t.Fatalf("the ContentPost CRD has %d versions; this test reads one", len(versions))
	}
	node := versions[0]
	for _, key := range []string{"schema", "openAPIV3Schema", "properties", "status", "properties", "phase", "enum"} {
		m, ok := node.(map[string]any)
		if !ok {
			t.Fatalf("the ContentPost CRD has no %s where expected", key)
		}
		node = m[key]
	}
	phases, ok := node.([]any)
	if !ok || len(phases) == 0 {
		t.Fatal("the ContentPost CRD lists no phases")
	}
	return phases
}

// The runner is as strict as Argo CD: a script that needs a library Argo CD does not open fails
// with ArgoCDLibraries, and a status Argo CD does not know is shown as Unknown.
func TestRunIsAsStrictAsArgoCD(t *testing.T) {
	g := NewWithT(t)
	obj := map[string]any{"metadata": map[string]any{"name": "launch", "generation": int64(2)}}
	usesString := `return {status = string.lower("HEALTHY") == "healthy" and "Healthy" or "Degraded"}`
	_, err := Run(usesString, obj, ArgoCDLibraries)
	g.Expect(err).To(HaveOccurred(), "the string library is not open in Argo CD")
	got, err := Run(usesString, obj, AllLibraries)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Status).To(Equal(Healthy))

	got, err = Run(`return {status = "Fine", message = obj.metadata.name}`, obj, ArgoCDLibraries)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(Status{Status: Unknown, Message: "Lua returned an invalid health status"}))

	got, err = Run(`return {status = "Healthy", message = "generation " .. obj.metadata.generation}`, obj, ArgoCDLibraries)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Message).To(Equal("generation 2"), "numbers arrive as Lua numbers")

	_, err = Run(`return "Healthy"`, obj, ArgoCDLibraries)
	g.Expect(err).To(MatchError(ContainSubstring("expect table output")))

	_, err = Run(`while true do end`, obj, ArgoCDLibraries)
	g.Expect(err).To(HaveOccurred(), "a script gets one second, as in Argo CD")
}
