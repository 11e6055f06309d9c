package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/metrics"

	"github.com/greenlight-operator/greenlight/internal/testenv/golden"
)

func ptr(d time.Duration) *time.Duration { return &d }

func TestBuild(t *testing.T) {
	g := NewWithT(t)
	r := Build(fixturePosts(), fixtureSignOffs(), Options{Since: 720 * time.Hour, Now: now})
	g.Expect(r.From).To(Equal(utc(10, 26, 10, 30)))
	g.Expect(r.Departments).To(Equal([]Department{
		{Name: "brand", Reviews: 1, Approvals: 1, Timed: 1, Median: ptr(2 * time.Hour), P90: ptr(2 * time.Hour)},
		{Name: "legal", Reviews: 4, Approvals: 2, ChangesRequested: 1, Rejections: 1, Timed: 3, Untimed: 1,
			Median: ptr(3*time.Hour + 12*time.Minute), P90: ptr(26 * time.Hour), MissedDeadlines: 2},
		{Name: "marketing", Reviews: 2, Approvals: 2, Timed: 2, Median: ptr(10 * time.Minute), P90: ptr(45*time.Minute + 30*time.Second)},
	}))
	g.Expect(r.Channels).To(Equal([]Channel{
		// launch-faq: succeeded on its second attempt (one failure); recall-notice: succeeded,
		// without impressions.
		{Name: "linkedin", Published: 2, Failed: 1,
			Engagement: Engagement{Reports: 2, Likes: 45, Shares: 7, Replies: 4, ImpressionReports: 1, Impressions: 1500}},
		// launch-faq, winter-teaser and winter-faq (no figures yet): succeeded; recall-notice:
		// failed twice; publishing-now: failed while linkedin still runs; summer-sale failed and
		// autumn-recap published before the window.
		{Name: "mastodon", Published: 3, Failed: 3,
			Engagement: Engagement{Reports: 2, Likes: 42, Shares: 14, Replies: 7, ImpressionReports: 1, Impressions: 900}},
	}))
	g.Expect(topPostNames(r)).To(Equal([]string{"marketing/launch-faq 68", "marketing/winter-teaser 45", "marketing/recall-notice 6"}))
	g.Expect(r.TopPosts[0].Channels).To(HaveLen(2))
	g.Expect(r.TopPosts[0].Channels[0].Name).To(Equal("linkedin"), "a top post's channels are by name")
	g.Expect(r.ReviewPaths).To(Equal([]ReviewPath{
		// launch-faq and recall-notice (a rejection is not a request for changes).
		{Path: PathApprovedAtOnce, Posts: 2, WithFigures: 2,
			Engagement: Engagement{Reports: 3, Likes: 57, Shares: 11, Replies: 6, ImpressionReports: 1, Impressions: 1500}},
		// winter-teaser and winter-faq (no figures yet): their changes were requested before
		// the window.
		{Path: PathChangesRequestedFirst, Posts: 2, WithFigures: 1,
			Engagement: Engagement{Reports: 1, Likes: 30, Shares: 10, Replies: 5, ImpressionReports: 1, Impressions: 900}},
	}))
	var problems []string
	for _, p := range r.Problems {
		problems = append(problems, p.Post+" "+string(p.Phase)+" "+p.Reason)
	}
	g.Expect(problems).To(Equal([]string{"black-friday Expired DeadlineMissed", "recall-notice Failed Failed"}))
	g.Expect(r.Problems[1].FailedChannels).To(Equal([]FailedChannel{{Name: "mastodon", Message: "BackoffLimitExceeded: publisher: 401 Unauthorized"}}))
}

func TestBuildCampaign(t *testing.T) {
	g := NewWithT(t)
	r := Build(fixturePosts(), fixtureSignOffs(), Options{Campaign: "spring-launch", Since: 720 * time.Hour, Now: now})
	var departments []string
	for _, d := range r.Departments {
		departments = append(departments, d.Name)
	}
	g.Expect(departments).To(Equal([]string{"legal", "marketing"}), "brand reviewed only a winter post")
	g.Expect(r.Departments[0].Reviews).To(Equal(4))
	g.Expect(r.Departments[0].MissedDeadlines).To(Equal(1), "black-friday's missed deadline is in the winter campaign")
	g.Expect(r.Problems).To(HaveLen(1))
	g.Expect(r.Problems[0].Post).To(Equal("recall-notice"))
	g.Expect(r.Channels[1].Name).To(Equal("mastodon"))
	g.Expect(r.Channels[1].Engagement).To(Equal(Engagement{Reports: 1, Likes: 12, Shares: 4, Replies: 2}),
		"winter-teaser's figures are in the winter campaign")
	g.Expect(topPostNames(r)).To(Equal([]string{"marketing/launch-faq 68", "marketing/recall-notice 6"}))
	g.Expect(r.ReviewPaths).To(Equal([]ReviewPath{
		{Path: PathApprovedAtOnce, Posts: 2, WithFigures: 2,
			Engagement: Engagement{Reports: 3, Likes: 57, Shares: 11, Replies: 6, ImpressionReports: 1, Impressions: 1500}},
		{Path: PathChangesRequestedFirst},
	}))
}

func topPostNames(r *Report) []string {
	var names []string
	for _, p := range r.TopPosts {
		names = append(names, fmt.Sprintf("%s/%s %d", p.Namespace, p.Post, p.Engagement.Total()))
	}
	return names
}

// TestEngagementSums: a channel sums the figures of the posts published to it within the window,
// impressions only over the posts that report them.
func TestEngagementSums(t *testing.T) {
	inWindow, before := utc(11, 20, 9, 0), utc(10, 1, 9, 0)
	stuck := utc(11, 24, 12, 0)
	tests := []struct {
		name     string
		posts    []greenlightv1alpha1.ContentPost
		campaign string
		since    time.Duration
		want     []Channel
	}{
		{"no posts", nil, "", 720 * time.Hour, nil},
		{"published without figures", []greenlightv1alpha1.ContentPost{newPost("a").published("mastodon", inWindow).obj()}, "",
			720 * time.Hour, []Channel{{Name: "mastodon", Published: 1}}},
		{"figures of several posts; impressions only where reported", []greenlightv1alpha1.ContentPost{
			newPost("a").published("mastodon", inWindow).engagement("mastodon", 1, 2, 3, -1).obj(),
			newPost("b").published("mastodon", inWindow).engagement("mastodon", 10, 20, 30, 400).obj(),
			newPost("c").published("mastodon", inWindow).engagement("mastodon", 0, 0, 0, 0).obj(),
			newPost("d").published("mastodon", inWindow).obj(),
		}, "", 720 * time.Hour, []Channel{{Name: "mastodon", Published: 4,
			Engagement: Engagement{Reports: 3, Likes: 11, Shares: 22, Replies: 33, ImpressionReports: 2, Impressions: 400}}}},
		{"each channel of a post sums on its own", []greenlightv1alpha1.ContentPost{
			newPost("a").published("mastodon", inWindow).published("webhook", inWindow).
				engagement("mastodon", 1, 1, 1, -1).engagement("webhook", 5, 5, 5, 50).obj(),
		}, "", 720 * time.Hour, []Channel{
			{Name: "mastodon", Published: 1, Engagement: Engagement{Reports: 1, Likes: 1, Shares: 1, Replies: 1}},
			{Name: "webhook", Published: 1, Engagement: Engagement{Reports: 1, Likes: 5, Shares: 5, Replies: 5, ImpressionReports: 1, Impressions: 50}},
		}},
		{"published before the window: left out", []greenlightv1alpha1.ContentPost{
			newPost("a").published("mastodon", before).engagement("mastodon", 7, 7, 7, 7).obj(),
		}, "", 720 * time.Hour, nil},
		{"published before the window: counted for all time", []greenlightv1alpha1.ContentPost{
			newPost("a").published("mastodon", before).engagement("mastodon", 7, 7, 7, 7).obj(),
		}, "", 0, []Channel{{Name: "mastodon", Published: 1,
			Engagement: Engagement{Reports: 1, Likes: 7, Shares: 7, Replies: 7, ImpressionReports: 1, Impressions: 7}}}},
		{"a Failed post's published channel counts", []greenlightv1alpha1.ContentPost{
			newPost("a").published("mastodon", inWindow).engagement("mastodon", 2, 0, 0, -1).
				channel("slack", greenlightv1alpha1.PublishFailed, 1, time.Time{}, "BackoffLimitExceeded").
				phase(greenlightv1alpha1.PostFailed).
				condition(greenlightv1alpha1.ConditionStalled, metav1.ConditionTrue, "Failed", "", stuck).obj(),
		}, "", 720 * time.Hour, []Channel{
			{Name: "mastodon", Published: 1, Engagement: Engagement{Reports: 1, Likes: 2}},
			{Name: "slack", Failed: 1},
		}},
		{"campaign filter", []greenlightv1alpha1.ContentPost{
			newPost("a").campaign("spring").published("mastodon", inWindow).engagement("mastodon", 1, 0, 0, -1).obj(),
			newPost("b").campaign("winter").published("mastodon", inWindow).engagement("mastodon", 100, 0, 0, -1).obj(),
			newPost("c").published("mastodon", inWindow).engagement("mastodon", 1000, 0, 0, -1).obj(),
		}, "spring", 720 * time.Hour, []Channel{{Name: "mastodon", Published: 1, Engagement: Engagement{Reports: 1, Likes: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build(tt.posts, nil, Options{Campaign: tt.campaign, Since: tt.since, Now: now})
			NewWithT(t).Expect(r.Channels).To(Equal(tt.want))
		})
	}
}

// TestTopPosts: posts with figures by likes + shares + replies, then impressions, then
// namespace/name; at most five; posts without figures never.
func TestTopPosts(t *testing.T) {
	at := utc(11, 20, 9, 0)
	posts := []greenlightv1alpha1.ContentPost{
		newPost("tie-fewer-impressions").published("mastodon", at).engagement("mastodon", 5, 3, 2, 5).obj(),
		newPost("tie-more-impressions").published("mastodon", at).engagement("mastodon", 2, 3, 5, 7).obj(),
		newPost("tie-no-impressions").published("mastodon", at).engagement("mastodon", 10, 0, 0, -1).obj(),
		newPost("tie-no-impressions").namespace("alpha").published("mastodon", at).engagement("mastodon", 0, 10, 0, -1).obj(),
		newPost("two-channels").published("mastodon", at).published("webhook", at).
			engagement("mastodon", 9, 0, 0, -1).engagement("webhook", 0, 0, 11, 1).obj(),
		newPost("sixth").published("mastodon", at).engagement("mastodon", 1, 0, 0, 1000000).obj(),
		newPost("no-figures").published("mastodon", at).obj(),
		newPost("not-published").phase(greenlightv1alpha1.PostInReview).obj(),
	}
	want := []string{
		"marketing/two-channels 20",
		"marketing/tie-more-impressions 10",
		"marketing/tie-fewer-impressions 10",
		"alpha/tie-no-impressions 10",
		"marketing/tie-no-impressions 10",
	}
	for name, order := range map[string][]greenlightv1alpha1.ContentPost{"listed": posts, "reversed": reversed(posts)} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			r := Build(order, nil, Options{Since: 720 * time.Hour, Now: now})
			g.Expect(topPostNames(r)).To(Equal(want))
			g.Expect(r.TopPosts[0].Engagement).To(Equal(Engagement{Reports: 2, Likes: 9, Replies: 11, ImpressionReports: 1, Impressions: 1}))
			g.Expect(r.TopPosts[0].Channels).To(HaveLen(2))
			g.Expect(r.TopPosts[0].Channels[1].Name).To(Equal("webhook"))
			g.Expect(r.TopPosts[0].Channels[1].Figures.Replies).To(Equal(int64(11)))
		})
	}
	t.Run("fewer than five", func(t *testing.T) {
		r := Build(posts[5:], nil, Options{Since: 720 * time.Hour, Now: now})
		NewWithT(t).Expect(topPostNames(r)).To(Equal([]string{"marketing/sixth 1"}))
	})
	t.Run("a post with zero figures still has figures", func(t *testing.T) {
		r := Build([]greenlightv1alpha1.ContentPost{newPost("quiet").published("mastodon", at).engagement("mastodon", 0, 0, 0, -1).obj()},
			nil, Options{Since: 720 * time.Hour, Now: now})
		NewWithT(t).Expect(topPostNames(r)).To(Equal([]string{"marketing/quiet 0"}))
	})
}

func reversed[T any](in []T) []T {
	out := slices.Clone(in)
	slices.Reverse(out)
	return out
}

// TestReviewPaths: a published post is "changes requested first" when a RequestChanges SignOff
// belongs to it (bound as for reviews, whenever it was created), else "approved at once".
func TestReviewPaths(t *testing.T) {
	at := utc(11, 20, 9, 0)
	withFigures := func(name string, likes int64) greenlightv1alpha1.ContentPost {
		return newPost(name).campaign("c").published("mastodon", at).engagement("mastodon", likes, 2*likes, 3*likes, -1).obj()
	}
	staleLabel := newSignOff("a", "legal", requestChanges, utc(11, 10, 0, 0), time.Hour)
	staleLabel.Labels[greenlightv1alpha1.LabelPostUID] = "uid-of-a-deleted-post"
	unlabelled := newSignOff("a", "legal", requestChanges, utc(11, 10, 0, 0), time.Hour)
	unlabelled.Labels = nil
	tests := []struct {
		name     string
		posts    []greenlightv1alpha1.ContentPost
		signOffs []greenlightv1alpha1.SignOff
		campaign string
		// atOnce and changed are posts/with figures/likes of each path.
		atOnce, changed [3]int
	}{
		{"nothing published", []greenlightv1alpha1.ContentPost{newPost("a").phase(greenlightv1alpha1.PostInReview).obj()},
			[]greenlightv1alpha1.SignOff{newSignOff("a", "legal", requestChanges, utc(11, 10, 0, 0), time.Hour)}, "",
			[3]int{}, [3]int{}},
		{"no SignOffs", []greenlightv1alpha1.ContentPost{withFigures("a", 4)}, nil, "", [3]int{1, 1, 4}, [3]int{}},
		{"approvals and a rejection are not changes requested", []greenlightv1alpha1.ContentPost{withFigures("a", 4)},
			[]greenlightv1alpha1.SignOff{newSignOff("a", "legal", approve, utc(11, 10, 0, 0), time.Hour),
				newSignOff("a", "legal", reject, utc(11, 9, 0, 0), time.Hour)}, "", [3]int{1, 1, 4}, [3]int{}},
		{"changes requested within the window", []greenlightv1alpha1.ContentPost{withFigures("a", 4)},
			[]greenlightv1alpha1.SignOff{newSignOff("a", "legal", requestChanges, utc(11, 10, 0, 0), time.Hour)}, "",
			[3]int{}, [3]int{1, 1, 4}},
		{"changes requested before the window", []greenlightv1alpha1.ContentPost{withFigures("a", 4)},
			[]greenlightv1alpha1.SignOff{newSignOff("a", "legal", requestChanges, utc(9, 1, 0, 0), time.Hour)}, "",
			[3]int{}, [3]int{1, 1, 4}},
		{"the SignOff belongs to a deleted post of the same name", []greenlightv1alpha1.ContentPost{withFigures("a", 4)},
			[]greenlightv1alpha1.SignOff{staleLabel}, "", [3]int{1, 1, 4}, [3]int{}},
		{"an unlabelled SignOff by namespace and name", []greenlightv1alpha1.ContentPost{withFigures("a", 4)},
			[]greenlightv1alpha1.SignOff{unlabelled}, "", [3]int{}, [3]int{1, 1, 4}},
		{"posts without figures count as posts only", []greenlightv1alpha1.ContentPost{
			withFigures("a", 4), newPost("b").published("mastodon", at).obj(), newPost("c").published("mastodon", at).obj()},
			[]greenlightv1alpha1.SignOff{newSignOff("c", "legal", requestChanges, utc(11, 10, 0, 0), time.Hour)}, "",
			[3]int{2, 1, 4}, [3]int{1, 0, 0}},
		{"campaign filter", []greenlightv1alpha1.ContentPost{
			withFigures("a", 4), withFigures("b", 6), newPost("d").campaign("other").published("mastodon", at).obj()},
			[]greenlightv1alpha1.SignOff{newSignOff("b", "legal", requestChanges, utc(11, 10, 0, 0), time.Hour),
				newSignOff("d", "legal", requestChanges, utc(11, 10, 0, 0), time.Hour)}, "c",
			[3]int{1, 1, 4}, [3]int{1, 1, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			r := Build(tt.posts, tt.signOffs, Options{Campaign: tt.campaign, Since: 720 * time.Hour, Now: now})
			g.Expect(r.ReviewPaths).To(HaveLen(2))
			for i, want := range [][3]int{tt.atOnce, tt.changed} {
				p := r.ReviewPaths[i]
				g.Expect(p.Path).To(Equal([]string{PathApprovedAtOnce, PathChangesRequestedFirst}[i]))
				g.Expect([3]int{p.Posts, p.WithFigures, int(p.Engagement.Likes)}).To(Equal(want), p.Path)
			}
		})
	}
}

func TestReviewPathAverages(t *testing.T) {
	g := NewWithT(t)
	_, _, _, ok := ReviewPath{Posts: 3}.Averages()
	g.Expect(ok).To(BeFalse(), "no average without a post with figures")
	at := utc(11, 20, 9, 0)
	r := Build([]greenlightv1alpha1.ContentPost{
		newPost("a").published("mastodon", at).engagement("mastodon", 10, 1, 0, -1).obj(),
		newPost("b").published("mastodon", at).published("webhook", at).
			engagement("mastodon", 3, 1, 0, -1).engagement("webhook", 2, 0, 1, -1).obj(),
		newPost("c").published("mastodon", at).obj(), // no figures: not in the average
	}, nil, Options{Since: 720 * time.Hour, Now: now})
	likes, shares, replies, ok := r.ReviewPaths[0].Averages()
	g.Expect(ok).To(BeTrue())
	// Per post, not per channel: (10 + 3 + 2) / 2 posts.
	g.Expect([]float64{likes, shares, replies}).To(Equal([]float64{7.5, 1, 0.5}))
}

// TestEngagementEqualsTheMetric: with a window that covers every published post, the report's
// totals are what greenlight_engagement reports (metrics.SumEngagement, the sums the gauge
// exports), summed over the labels the report does not split by.
func TestEngagementEqualsTheMetric(t *testing.T) {
	posts := append(fixturePosts(),
		newPost("elsewhere").namespace("sales").campaign("winter").published("mastodon", utc(11, 1, 0, 0)).
			engagement("mastodon", 3, 2, 1, 50).obj())
	metric := metrics.SumEngagement(posts, metrics.MaxEngagementCampaigns)
	for _, campaign := range []string{"", "spring-launch", "winter"} {
		t.Run("campaign "+campaign, func(t *testing.T) {
			g := NewWithT(t)
			r := Build(posts, fixtureSignOffs(), Options{Campaign: campaign, Now: now})
			got := map[string]int64{}
			for _, c := range r.Channels {
				e := c.Engagement
				if e.Reports == 0 {
					continue // no figures: the metric has no series for the channel
				}
				got[c.Name+"/likes"], got[c.Name+"/shares"], got[c.Name+"/replies"] = e.Likes, e.Shares, e.Replies
				if e.ImpressionReports > 0 {
					got[c.Name+"/impressions"] = e.Impressions
				}
			}
			want := map[string]int64{}
			for key, sums := range metric {
				if campaign != "" && key.Campaign != campaign {
					continue
				}
				want[key.Channel+"/likes"] += sums.Likes
				want[key.Channel+"/shares"] += sums.Shares
				want[key.Channel+"/replies"] += sums.Replies
				if sums.HasImpressions {
					want[key.Channel+"/impressions"] += sums.Impressions
				}
			}
			g.Expect(want).NotTo(BeEmpty())
			g.Expect(got).To(Equal(want))
		})
	}
}

// TestWindow checks which event times fall in the window: both ends are included.
func TestWindow(t *testing.T) {
	from := now.Add(-720 * time.Hour)
	tests := []struct {
		name    string
		since   time.Duration
		created time.Time
		counted bool
	}{
		{"at the start", 720 * time.Hour, from, true},
		{"a second before the start", 720 * time.Hour, from.Add(-time.Second), false},
		{"at now", 720 * time.Hour, now, true},
		{"after now", 720 * time.Hour, now.Add(time.Second), false},
		{"all time", 0, utc(1, 1, 0, 0).AddDate(-5, 0, 0), true},
		{"all time but not the future", 0, now.Add(time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			post := newPost("a").missed("legal", tt.created).
				channel("mastodon", greenlightv1alpha1.PublishSucceeded, 1, tt.created, "").obj()
			signOff := newSignOff("a", "legal", approve, tt.created, time.Hour)
			r := Build([]greenlightv1alpha1.ContentPost{post}, []greenlightv1alpha1.SignOff{signOff}, Options{Since: tt.since, Now: now})
			if !tt.counted {
				g.Expect(r.Departments).To(BeEmpty())
				g.Expect(r.Channels).To(BeEmpty())
				return
			}
			g.Expect(r.Departments).To(HaveLen(1))
			g.Expect(r.Departments[0].Reviews).To(Equal(1))
			g.Expect(r.Departments[0].MissedDeadlines).To(Equal(1))
			g.Expect(r.Channels).To(Equal([]Channel{{Name: "mastodon", Published: 1}}))
		})
	}
}

// TestSignOffBelongsToPost: a campaign report binds SignOffs to posts by the post-uid label, so
// that a SignOff for a deleted post of the same name does not count for its successor.
func TestSignOffBelongsToPost(t *testing.T) {
	post := newPost("a").campaign("c").obj()
	bound := newSignOff("a", "legal", approve, utc(11, 20, 0, 0), time.Hour)
	stale := newSignOff("a", "legal", approve, utc(11, 20, 0, 0), time.Hour)
	stale.Labels[greenlightv1alpha1.LabelPostUID] = "uid-of-a-deleted-post"
	unlabelled := newSignOff("a", "legal", approve, utc(11, 20, 0, 0), time.Hour)
	unlabelled.Labels = nil
	otherNamespace := newSignOff("a", "legal", approve, utc(11, 20, 0, 0), time.Hour)
	otherNamespace.Labels, otherNamespace.Namespace = nil, "elsewhere"
	tests := []struct {
		name     string
		signOff  greenlightv1alpha1.SignOff
		campaign string
		reviews  int
	}{
		{"bound by label", bound, "c", 1},
		{"label names another post", stale, "c", 0},
		{"no label: by namespace and name", unlabelled, "c", 1},
		{"no label, another namespace", otherNamespace, "c", 0},
		{"without a campaign every SignOff counts", stale, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build([]greenlightv1alpha1.ContentPost{post}, []greenlightv1alpha1.SignOff{tt.signOff},
				Options{Campaign: tt.campaign, Since: 720 * time.Hour, Now: now})
			reviews := 0
			for _, d := range r.Departments {
				reviews += d.Reviews
			}
			NewWithT(t).Expect(reviews).To(Equal(tt.reviews))
		})
	}
}

func TestFailedAttempts(t *testing.T) {
	stuck := utc(11, 24, 12, 0)
	failedPost := newPost("a").phase(greenlightv1alpha1.PostFailed).
		condition(greenlightv1alpha1.ConditionStalled, metav1.ConditionTrue, "Failed", "", stuck).obj()
	publishing := newPost("a").phase(greenlightv1alpha1.PostPublishing).obj()
	tests := []struct {
		name    string
		post    greenlightv1alpha1.ContentPost
		channel greenlightv1alpha1.ChannelStatus
		failed  int
		at      time.Time
	}{
		{"succeeded first time", publishing, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishSucceeded, Attempts: 1,
			PublishedAt: &metav1.Time{Time: utc(11, 20, 0, 0)}}, 0, utc(11, 20, 0, 0)},
		{"succeeded on the third attempt", publishing, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishSucceeded,
			Attempts: 3, PublishedAt: &metav1.Time{Time: utc(11, 20, 0, 0)}}, 2, utc(11, 20, 0, 0)},
		{"failed, post Failed", failedPost, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishFailed, Attempts: 1}, 1, stuck},
		{"failed, post still publishing elsewhere", publishing,
			greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishFailed, Attempts: 1}, 1, now},
		{"retry running", publishing, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishRunning, Attempts: 2}, 1, now},
		{"first attempt running", publishing, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishRunning, Attempts: 1}, 0, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(failedAttempts(tt.channel)).To(Equal(tt.failed))
			g.Expect(failureTime(&tt.post, tt.channel, now)).To(Equal(tt.at))
		})
	}
}

func TestPercentile(t *testing.T) {
	minutes := func(ms ...int) []time.Duration {
		out := make([]time.Duration, 0, len(ms))
		for _, m := range ms {
			out = append(out, time.Duration(m)*time.Minute)
		}
		return out
	}
	ten := minutes(10, 1, 9, 2, 8, 3, 7, 4, 6, 5) // 1..10 minutes, unsorted
	tests := []struct {
		name   string
		values []time.Duration
		p      int
		want   *time.Duration
	}{
		{"no values: no median", nil, 50, nil},
		{"no values: no p90", nil, 90, nil},
		{"one value is every percentile", minutes(7), 50, ptr(7 * time.Minute)},
		{"one value p90", minutes(7), 90, ptr(7 * time.Minute)},
		{"two values: median is the lower (rank ceil(1.0) = 1)", minutes(9, 3), 50, ptr(3 * time.Minute)},
		{"two values: p90 is the higher (rank ceil(1.8) = 2)", minutes(9, 3), 90, ptr(9 * time.Minute)},
		{"ten values: median rank 5", ten, 50, ptr(5 * time.Minute)},
		{"ten values: p90 rank 9", ten, 90, ptr(9 * time.Minute)},
		{"ten values: p91 rank ceil(9.1) = 10", ten, 91, ptr(10 * time.Minute)},
		{"ten values: p100 is the maximum", ten, 100, ptr(10 * time.Minute)},
		{"ten values: p1 is the minimum", ten, 1, ptr(1 * time.Minute)},
		{"twenty values: p90 rank exactly 18", append(minutes(11, 12, 13, 14, 15, 16, 17, 18, 19, 20), ten...), 90, ptr(18 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			before := append([]time.Duration(nil), tt.values...)
			g.Expect(Percentile(tt.values, tt.p)).To(Equal(tt.want))
			g.Expect(tt.values).To(Equal(before), "the input is not reordered")
		})
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Millisecond, "0s"},
		{45 * time.Second, "45s"},
		{12*time.Minute + 30*time.Second, "12m30s"},
		{12 * time.Minute, "12m"},
		{3*time.Hour + 12*time.Minute + 59*time.Second, "3h12m"},
		{3 * time.Hour, "3h"},
		{26 * time.Hour, "1d2h"},
		{720 * time.Hour, "30d"},
		{-90 * time.Second, "-1m30s"},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(HumanDuration(tt.in)).To(Equal(tt.want), "%s", tt.in)
	}
}

func written(t *testing.T, r *Report, format string) []byte {
	var out bytes.Buffer
	NewWithT(t).Expect(Write(&out, r, format)).To(Succeed())
	return out.Bytes()
}

func TestWriters(t *testing.T) {
	r := Build(fixturePosts(), fixtureSignOffs(), Options{Since: 720 * time.Hour, Now: now})
	t.Run("table", func(t *testing.T) { golden.Expect(t, "report.txt", written(t, r, FormatTable)) })
	t.Run("json", func(t *testing.T) {
		g := NewWithT(t)
		raw := written(t, r, FormatJSON)
		golden.Expect(t, "report.json", raw)
		var doc struct {
			Departments []struct {
				Name           string `json:"name"`
				MedianResponse struct {
					Seconds float64 `json:"seconds"`
					Human   string  `json:"human"`
				} `json:"medianResponse"`
			} `json:"departments"`
		}
		g.Expect(json.Unmarshal(raw, &doc)).To(Succeed())
		g.Expect(doc.Departments[1].Name).To(Equal("legal"))
		g.Expect(doc.Departments[1].MedianResponse.Seconds).To(Equal(float64(3*3600 + 12*60)))
		g.Expect(doc.Departments[1].MedianResponse.Human).To(Equal("3h12m"))
	})
	t.Run("csv", func(t *testing.T) {
		g := NewWithT(t)
		raw := written(t, r, FormatCSV)
		golden.Expect(t, "report.csv", raw)
		rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		g.Expect(err).NotTo(HaveOccurred(), "every row has the header's columns")
		g.Expect(rows).To(HaveLen(1 + 3 + 2 + 2 + 3 + 2)) // header, departments, channels, problems, top posts, paths
	})
	t.Run("all time, empty", func(t *testing.T) {
		golden.Expect(t, "report-empty.txt", written(t, Build(nil, nil, Options{Campaign: "spring-launch", Now: now}), FormatTable))
	})
	t.Run("empty json has empty lists, not null", func(t *testing.T) {
		NewWithT(t).Expect(string(written(t, Build(nil, nil, Options{Now: now}), FormatJSON))).To(ContainSubstring(`"departments": []`))
	})
	t.Run("unknown format", func(t *testing.T) {
		NewWithT(t).Expect(Write(&bytes.Buffer{}, r, "yaml")).To(MatchError(ContainSubstring("use -o table, -o json, -o csv")))
	})
}
