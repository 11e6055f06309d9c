package controllers

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestEventNamesAreValidForTheLongestObjectNames(t *testing.T) {
	g := NewWithT(t)
	for _, object := range []string{"launch", strings.Repeat("a", 253)} {
		name := eventName(object, 1763884800000000000)
		g.Expect(validation.IsDNS1123Subdomain(name)).To(BeEmpty(), name)
		g.Expect(name).To(HavePrefix(object[:min(len(object), 200)]))
	}
	g.Expect(eventName("launch", 1)).NotTo(Equal(eventName("launch", 1)), "two events in one nanosecond")
}

func TestTruncateKeepsWholeCharacters(t *testing.T) {
	g := NewWithT(t)
	g.Expect(truncate("short", 10)).To(Equal("short"))
	long := strings.Repeat("é", 10) // 20 bytes
	got := truncate(long, 10)
	g.Expect(len(got)).To(BeNumerically("<=", 10))
	g.Expect(got).To(Equal("ééé..."), "7 bytes left before the dots hold three 2-byte characters")
}
