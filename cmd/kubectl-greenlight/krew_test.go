package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/greenlight-operator/greenlight/internal/testenv"
)

// krewPlugin is the part of krew's Plugin (krew.googlecontainertools.github.com/v1alpha2) that
// the manifest uses; decoding is strict, so a misspelt field fails the test.
type krewPlugin struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector metav1.LabelSelector `json:"selector"`
			URI      string               `json:"uri"`
			SHA256   string               `json:"sha256"`
			Files    []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
			Bin string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// The krew manifest parses, follows krew's rules and installs this binary on every platform.
func TestTheKrewManifestNamesThePlugin(t *testing.T) {
	g := NewWithT(t)
	path := filepath.Join(testenv.RepoRoot(), "plugins", "greenlight.yaml")
	data, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	var plugin krewPlugin
	g.Expect(yaml.UnmarshalStrict(data, &plugin)).To(Succeed())

	g.Expect(plugin.APIVersion).To(Equal("krew.googlecontainertools.github.com/v1alpha2"))
	g.Expect(plugin.Kind).To(Equal("Plugin"))
	g.Expect(plugin.Metadata.Name).To(Equal(strings.TrimSuffix(filepath.Base(path), ".yaml")), "krew wants the file named after the plugin")
	g.Expect(plugin.Metadata.Name).To(Equal("greenlight"), "installed as kubectl-greenlight, run as `kubectl greenlight`")
	g.Expect(plugin.Spec.Version).To(MatchRegexp(`^v\d+\.\d+\.\d+$`))
	g.Expect(plugin.Spec.ShortDescription).NotTo(BeEmpty())
	g.Expect(plugin.Spec.Description).NotTo(BeEmpty())

	seen := map[string]bool{}
	for _, p := range plugin.Spec.Platforms {
		system, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		platform := system + "/" + arch
		g.Expect(seen).NotTo(HaveKey(platform), "one entry per platform")
		seen[platform] = true
		binary := "kubectl-greenlight"
		if system == "windows" {
			binary += ".exe"
		}
		g.Expect(p.Bin).To(Equal(binary), platform)
		g.Expect(p.Files).To(ContainElement(HaveField("From", binary)), platform)
		u, err := url.Parse(p.URI)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(u.Scheme).To(Equal("https"), platform)
		g.Expect(p.URI).To(ContainSubstring("/"+plugin.Spec.Version+"/"), "the archive of this version")
		g.Expect(p.URI).To(MatchRegexp(regexp.QuoteMeta(fmt.Sprintf("kubectl-greenlight_%s_%s.", system, arch))+`(tar\.gz|zip)$`), platform)
		g.Expect(p.SHA256).To(MatchRegexp(`^[0-9a-f]{64}$`), platform)
	}
	g.Expect(seen).To(HaveKey("linux/amd64"))
	g.Expect(seen).To(HaveKey("darwin/arm64"))
}
