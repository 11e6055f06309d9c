package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// engagedPost is a post of campaign in namespace whose channels reported the given engagement
// (nil: published without figures yet) at minute observed.
func engagedPost(namespace, name, campaign string, observed int, channels map[string]*greenlightv1alpha1.Engagement) *greenlightv1alpha1.ContentPost {
	post := &greenlightv1alpha1.ContentPost{}
	post.Namespace, post.Name, post.Spec.Campaign = namespace, name, campaign
	post.Status.Phase = greenlightv1alpha1.PostPublished
	for channel, e := range channels {
		if e != nil {
			e.ObservedAt = metav1.NewTime(time.Date(2026, 12, 1, 9, observed, 0, 0, time.UTC))
		}
		post.Status.Channels = append(post.Status.Channels, greenlightv1alpha1.ChannelStatus{Name: channel, Engagement: e})
	}
	return post
}

func TestSumEngagement(t *testing.T) {
	posts := []greenlightv1alpha1.ContentPost{
		*engagedPost("acme", "a", "spring", 1, map[string]*greenlightv1alpha1.Engagement{
			"mastodon": {Likes: 5, Shares: 2, Replies: 1},
			"webhook":  {Likes: 1, Shares: 0, Replies: 0, Impressions: ptr.To[int64](100)}}),
		*engagedPost("acme", "b", "spring", 2, map[string]*greenlightv1alpha1.Engagement{
			"mastodon": {Likes: 10, Shares: 3, Replies: 4}, "linkedin": nil}),
		*engagedPost("acme", "c", "", 3, map[string]*greenlightv1alpha1.Engagement{"mastodon": {Likes: 7}}),
		*engagedPost("other", "d", "spring", 4, map[string]*greenlightv1alpha1.Engagement{"mastodon": {Likes: 100}}),
	}
	tests := []struct {
		name         string
		maxCampaigns int
		want         map[EngagementKey]EngagementTotals
	}{{
		name:         "summed per namespace, campaign and channel; impressions only where reported",
		maxCampaigns: 10,
		want: map[EngagementKey]EngagementTotals{
			{"acme", "spring", "mastodon"}:  {Likes: 15, Shares: 5, Replies: 5},
			{"acme", "spring", "webhook"}:   {Likes: 1, Impressions: 100, HasImpressions: true},
			{"acme", "", "mastodon"}:        {Likes: 7},
			{"other", "spring", "mastodon"}: {Likes: 100},
		},
	}, {
		name:         "past the bound, the campaigns with the oldest figures are summed under (other)",
		maxCampaigns: 1,
		want: map[EngagementKey]EngagementTotals{
			{"other", "spring", "mastodon"}:     {Likes: 100},
			{"acme", OtherCampaign, "mastodon"}: {Likes: 22, Shares: 5, Replies: 5},
			{"acme", OtherCampaign, "webhook"}:  {Likes: 1, Impressions: 100, HasImpressions: true},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(SumEngagement(posts, tc.maxCampaigns)).To(Equal(tc.want))
		})
	}
}

func TestEngagementIsReportedByTheLeaderFromTheCache(t *testing.T) {
	g := NewWithT(t)
	elected := make(chan struct{})
	_, reg := newTestRecorder(t, elected,
		engagedPost("acme", "a", "spring", 1, map[string]*greenlightv1alpha1.Engagement{"mastodon": {Likes: 5, Shares: 2, Replies: 1}}),
		engagedPost("acme", "b", "spring", 2, map[string]*greenlightv1alpha1.Engagement{
			"mastodon": {Likes: 10, Shares: 3, Replies: 4, Impressions: ptr.To[int64](50)}}))
	g.Expect(testutil.CollectAndCount(reg, Engagement)).To(Equal(0), "a standby replica reports nothing")
	close(elected)
	want := ""
	for _, kind := range []struct {
		name  string
		value int
	}{{KindImpressions, 50}, {KindLikes, 15}, {KindReplies, 5}, {KindShares, 5}} {
		want += fmt.Sprintf("greenlight_engagement{campaign=\"spring\",channel=\"mastodon\",kind=%q,namespace=\"acme\"} %d\n", kind.name, kind.value)
	}
	g.Expect(testutil.GatherAndCompare(reg, strings.NewReader(
		"# HELP greenlight_engagement The sum over published posts of the latest engagement their insights Jobs reported, by namespace, "+
			"campaign, channel and kind (likes, shares, replies, impressions).\n# TYPE greenlight_engagement gauge\n"+want), Engagement)).To(Succeed())
}
