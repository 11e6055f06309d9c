package metrics

import (
	"cmp"
	"context"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Kinds of greenlight_engagement.
const (
	KindLikes       = "likes"
	KindShares      = "shares"
	KindReplies     = "replies"
	KindImpressions = "impressions"
)

// MaxEngagementCampaigns bounds how many (namespace, campaign) pairs greenlight_engagement
// reports: campaign is free text an author writes, and every pair adds up to four series per
// channel. Past the bound, the pairs whose figures are oldest are summed under OtherCampaign.
const MaxEngagementCampaigns = 200

// OtherCampaign is the campaign label of the pairs past MaxEngagementCampaigns.
const OtherCampaign = "(other)"

// EngagementKey is one series group of greenlight_engagement.
type EngagementKey struct {
	Namespace, Campaign, Channel string
}

// EngagementTotals sums the latest engagement of the channels of one EngagementKey.
type EngagementTotals struct {
	Likes, Shares, Replies int64
	// Impressions sums the impressions of the channels that report them; HasImpressions says
	// whether any does (otherwise no impressions series is reported).
	Impressions    int64
	HasImpressions bool
}

// SumEngagement sums, per namespace, campaign and channel, the latest engagement
// (status.channels[].engagement) of every post's published channels. At most maxCampaigns
// (namespace, campaign) pairs keep their campaign: those with the most recent figures (ties by
// name); the rest are summed under OtherCampaign, so the sum over all series stays exact.
func SumEngagement(posts []greenlightv1alpha1.ContentPost, maxCampaigns int) map[EngagementKey]EngagementTotals {
	type campaign struct{ namespace, name string }
	latest := map[campaign]int64{}
	for i := range posts {
		for _, ch := range posts[i].Status.Channels {
			if ch.Engagement == nil {
				continue
			}
			c := campaign{posts[i].Namespace, posts[i].Spec.Campaign}
			latest[c] = max(latest[c], ch.Engagement.ObservedAt.Unix())
		}
	}
	ranked := make([]campaign, 0, len(latest))
	for c := range latest {
		ranked = append(ranked, c)
	}
	slices.SortFunc(ranked, func(a, b campaign) int {
		return cmp.Or(cmp.Compare(latest[b], latest[a]), cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	kept := map[campaign]bool{}
	for _, c := range ranked[:min(len(ranked), maxCampaigns)] {
		kept[c] = true
	}
	sums := map[EngagementKey]EngagementTotals{}
	for i := range posts {
		for _, ch := range posts[i].Status.Channels {
			e := ch.Engagement
			if e == nil {
				continue
			}
			key := EngagementKey{Namespace: posts[i].Namespace, Campaign: posts[i].Spec.Campaign, Channel: ch.Name}
			if !kept[campaign{key.Namespace, key.Campaign}] {
				key.Campaign = OtherCampaign
			}
			t := sums[key]
			t.Likes, t.Shares, t.Replies = t.Likes+e.Likes, t.Shares+e.Shares, t.Replies+e.Replies
			if e.Impressions != nil {
				t.Impressions, t.HasImpressions = t.Impressions+*e.Impressions, true
			}
			sums[key] = t
		}
	}
	return sums
}

// engagementCollector reports greenlight_engagement from the manager's cache at each scrape, as
// postsCollector reports greenlight_posts: no API call, and only the leader reports.
type engagementCollector struct {
	posts   client.Reader
	elected <-chan struct{}
	desc    *prometheus.Desc
}

func newEngagementCollector(posts client.Reader, elected <-chan struct{}) *engagementCollector {
	return &engagementCollector{posts: posts, elected: elected, desc: prometheus.NewDesc(Engagement,
		"The sum over published posts of the latest engagement their insights Jobs reported, by namespace, campaign, "+
			"channel and kind (likes, shares, replies, impressions).", []string{"namespace", "campaign", "channel", "kind"}, nil)}
}

func (c *engagementCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *engagementCollector) Collect(ch chan<- prometheus.Metric) {
	select {
	case <-c.elected:
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), postsListTimeout)
	defer cancel()
	var posts greenlightv1alpha1.ContentPostList
	// Read only: no copy of every post (bodies included) on each scrape.
	if err := c.posts.List(ctx, &posts, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for key, t := range SumEngagement(posts.Items, MaxEngagementCampaigns) {
		gauge := func(kind string, v int64) {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), key.Namespace, key.Campaign, key.Channel, kind)
		}
		gauge(KindLikes, t.Likes)
		gauge(KindShares, t.Shares)
		gauge(KindReplies, t.Replies)
		if t.HasImpressions {
			gauge(KindImpressions, t.Impressions)
		}
	}
}
