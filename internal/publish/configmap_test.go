package publish

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func TestConfigMap(t *testing.T) {
	const (
		mastodonKey = "gl-f28df1e894dcf13d5464bca775e18b700da35b70"
		linkedinKey = "gl-e4e7fde77e51a1cf1c01beff7dc726fb9585c2e9"
		sum         = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	)
	berlin := time.FixedZone("CEST", 2*60*60)
	tests := []struct {
		name   string
		post   *greenlightv1alpha1.ContentPost
		golden map[string]string
	}{{
		name: "two channels, one with a variant, media, publishAt in another zone and a campaign",
		post: newPost("launch").withBody("We launched! <3").
			withChannels("mastodon").withVariant("linkedin", "We are proud to announce our launch.").
			withMedia(greenlightv1alpha1.Media{URL: "https://cdn.example.com/a.png", SHA256: sum, AltText: "A rocket"},
				greenlightv1alpha1.Media{URL: "https://cdn.example.com/b.mp4"}).
			withPublishAt(time.Date(2026, 5, 4, 11, 0, 0, 0, berlin)).withCampaign("spring-launch").obj(),
		golden: map[string]string{
			"mastodon.json": `{"namespace":"marketing","name":"launch","uid":"` + string(testUID) + `",` +
				`"revision":"` + testRevision + `","channel":"mastodon","body":"We launched! \u003c3",` +
				`"media":[{"url":"https://cdn.example.com/a.png","sha256":"` + sum + `","altText":"A rocket"},` +
				`{"url":"https://cdn.example.com/b.mp4","sha256":"","altText":""}],` +
				`"publishAt":"2026-05-04T09:00:00Z","campaign":"spring-launch","idempotencyKey":"` + mastodonKey + `"}`,
			"linkedin.json": `{"namespace":"marketing","name":"launch","uid":"` + string(testUID) + `",` +
				`"revision":"` + testRevision + `","channel":"linkedin","body":"We are proud to announce our launch.",` +
				`"media":[{"url":"https://cdn.example.com/a.png","sha256":"` + sum + `","altText":"A rocket"},` +
				`{"url":"https://cdn.example.com/b.mp4","sha256":"","altText":""}],` +
				`"publishAt":"2026-05-04T09:00:00Z","campaign":"spring-launch","idempotencyKey":"` + linkedinKey + `"}`,
		},
	}, {
		name: "no media is an empty array, unset publishAt and campaign are left out",
		post: newPost("launch").withChannels("mastodon").obj(),
		golden: map[string]string{
			"mastodon.json": `{"namespace":"marketing","name":"launch","uid":"` + string(testUID) + `",` +
				`"revision":"` + testRevision + `","channel":"mastodon","body":"We launched!",` +
				`"media":[],"idempotencyKey":"` + mastodonKey + `"}`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cm, err := ConfigMap(tt.post, testRevision)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cm.Name).To(Equal(ConfigMapName("launch", testRevision)))
			g.Expect(cm.Namespace).To(Equal("marketing"))
			g.Expect(cm.Immutable).To(HaveValue(BeTrue()))
			g.Expect(cm.Labels).To(Equal(map[string]string{
				greenlightv1alpha1.LabelPost:     "launch",
				greenlightv1alpha1.LabelRevision: "0123456789abcdef",
			}))
			g.Expect(cm.OwnerReferences).To(BeEmpty(), "the caller sets the owner")
			g.Expect(cm.BinaryData).To(BeEmpty())
			g.Expect(cm.Data).To(Equal(tt.golden))
			for key, file := range cm.Data {
				parsed, err := ParsePostFile([]byte(file))
				g.Expect(err).NotTo(HaveOccurred(), key)
				g.Expect(parsed.Channel + ".json").To(Equal(key))
			}
		})
	}
}

func TestConfigMapDoesNotChangeThePost(t *testing.T) {
	g := NewWithT(t)
	post := newPost("launch").withVariant("mastodon", "short").obj()
	before := post.DeepCopy()
	_, err := ConfigMap(post, testRevision)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(post).To(Equal(before))
}

func TestConfigMapRefusesIncompleteContent(t *testing.T) {
	tests := []struct {
		name     string
		post     *greenlightv1alpha1.ContentPost
		revision string
		wantErr  string
	}{{
		name: "a revision that is not a full digest", post: newPost("launch").withChannels("mastodon").obj(),
		revision: "sha256:0123", wantErr: `ContentPost marketing/launch, channel "mastodon": post file is incomplete: "revision"`,
	}, {
		name: "a post without UID", post: func() *greenlightv1alpha1.ContentPost {
			p := newPost("launch").withChannels("mastodon").obj()
			p.UID = ""
			return p
		}(),
		revision: testRevision, wantErr: `"uid" is empty`,
	}, {
		name: "a channel listed twice", post: newPost("launch").withChannels("mastodon", "mastodon").obj(),
		revision: testRevision, wantErr: `lists channel "mastodon" twice`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cm, err := ConfigMap(tt.post, tt.revision)
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
			g.Expect(cm).To(BeNil())
		})
	}
}
