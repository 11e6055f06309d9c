package publish

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation"
)

const otherRevision = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

func TestJobName(t *testing.T) {
	long := strings.Repeat("p", 253)
	longChannel := strings.Repeat("c", 63)
	tests := []struct {
		name     string
		post     string
		channel  string
		revision string
		attempt  int32
		prefix   string
	}{{
		name: "short names are kept whole", post: "launch", channel: "mastodon", revision: testRevision, attempt: 1,
		prefix: "launch-mastodon-",
	}, {
		name: "a 253-character post name is cut, the channel kept", post: long, channel: "mastodon", revision: testRevision, attempt: 1,
		prefix: strings.Repeat("p", 43) + "-mastodon-",
	}, {
		name: "a 63-character channel is cut, a short post kept", post: "launch", channel: longChannel, revision: testRevision, attempt: 1,
		prefix: "launch-" + strings.Repeat("c", 45) + "-",
	}, {
		name: "both long: about half each", post: long, channel: longChannel, revision: testRevision, attempt: 1,
		prefix: strings.Repeat("p", 26) + "-" + strings.Repeat("c", 25) + "-",
	}, {
		name: "dots in a post name become dashes, a dash at a cut is dropped", post: "spring.launch" + strings.Repeat("-", 60),
		channel: "x", revision: testRevision, attempt: 2,
		prefix: "spring-launch-x-",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			name := JobName(tt.post, tt.channel, tt.revision, tt.attempt)
			g.Expect(validation.IsDNS1123Label(name)).To(BeEmpty(), name)
			g.Expect(len(name)).To(BeNumerically("<=", 63))
			g.Expect(name).To(HavePrefix(tt.prefix))
			g.Expect(name).To(MatchRegexp(`-[0-9a-f]{10}$`))
			g.Expect(JobName(tt.post, tt.channel, tt.revision, tt.attempt)).To(Equal(name), "deterministic")
		})
	}
}

// TestNamesAreStable pins names and keys to values computed with sha256sum: a manager that
// named a Job differently after an upgrade would create a second Job for the same attempt, and a
// changed idempotency key would let a retry publish twice.
func TestNamesAreStable(t *testing.T) {
	g := NewWithT(t)
	g.Expect(JobName("launch", "mastodon", testRevision, 1)).To(Equal("launch-mastodon-398cee44d5"))
	g.Expect(ConfigMapName("launch", testRevision)).To(Equal("launch-content-94216d98da"))
	g.Expect(IdempotencyKey(testUID, testRevision, "mastodon")).To(Equal("gl-f28df1e894dcf13d5464bca775e18b700da35b70"))
}

func TestJobNameIsUniqueUnderTruncation(t *testing.T) {
	g := NewWithT(t)
	long := strings.Repeat("a", 200)
	inputs := []struct {
		post, channel, revision string
		attempt                 int32
	}{
		{long + "1", "mastodon", testRevision, 1},
		{long + "2", "mastodon", testRevision, 1}, // same readable part after the cut
		{long + "1", "mastodon", testRevision, 2}, // retry
		{long + "1", "mastodon", otherRevision, 1},
		{long + "1", strings.Repeat("c", 62) + "1", testRevision, 1},
		{long + "1", strings.Repeat("c", 62) + "2", testRevision, 1},
		{"spring.launch", "x", testRevision, 1},
		{"spring-launch", "x", testRevision, 1}, // the same once the dot becomes a dash
		{"a-b", "c", testRevision, 1},
		{"a", "b-c", testRevision, 1}, // the same once joined with dashes
	}
	seen := map[string]int{}
	for i, in := range inputs {
		name := JobName(in.post, in.channel, in.revision, in.attempt)
		g.Expect(seen).NotTo(HaveKey(name), "input %d shares its name with input %d", i, seen[name])
		seen[name] = i
	}
}

func TestConfigMapName(t *testing.T) {
	tests := []struct {
		name   string
		post   string
		prefix string
	}{
		{name: "short", post: "launch", prefix: "launch-content-"},
		{name: "253 characters", post: strings.Repeat("p", 253), prefix: strings.Repeat("p", 44) + "-content-"},
		{name: "a dot at the cut", post: strings.Repeat("p", 43) + ".q", prefix: strings.Repeat("p", 43) + "-content-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			name := ConfigMapName(tt.post, testRevision)
			g.Expect(validation.IsDNS1123Subdomain(name)).To(BeEmpty(), name)
			g.Expect(validation.IsDNS1123Label(name)).To(BeEmpty(), name)
			g.Expect(name).To(HavePrefix(tt.prefix))
			g.Expect(name).To(MatchRegexp(`-content-[0-9a-f]{10}$`))
			g.Expect(ConfigMapName(tt.post, testRevision)).To(Equal(name), "deterministic")
			g.Expect(ConfigMapName(tt.post, otherRevision)).NotTo(Equal(name), "one per revision")
		})
	}
	long := strings.Repeat("p", 100)
	NewWithT(t).Expect(ConfigMapName(long+"1", testRevision)).NotTo(Equal(ConfigMapName(long+"2", testRevision)))
}

func TestIdempotencyKey(t *testing.T) {
	g := NewWithT(t)
	key := IdempotencyKey(testUID, testRevision, "mastodon")
	g.Expect(key).To(MatchRegexp(`^gl-[0-9a-f]{40}$`))
	g.Expect(IdempotencyKey(testUID, testRevision, "mastodon")).To(Equal(key), "the same across retries")
	for _, other := range []string{
		IdempotencyKey("another-uid", testRevision, "mastodon"),
		IdempotencyKey(testUID, otherRevision, "mastodon"),
		IdempotencyKey(testUID, testRevision, "slack"),
	} {
		g.Expect(other).NotTo(Equal(key))
	}
}

func TestRevisionLabel(t *testing.T) {
	tests := []struct{ revision, want string }{
		{testRevision, "0123456789abcdef"},
		{otherRevision, "fedcba9876543210"},
		{"sha256:abc", "abc"},
		{"", ""},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		got := RevisionLabel(tt.revision)
		g.Expect(got).To(Equal(tt.want))
		g.Expect(validation.IsValidLabelValue(got)).To(BeEmpty())
	}
}
