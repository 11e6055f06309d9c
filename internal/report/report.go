// Package report computes the retrospective of `kubectl greenlight report`: per department how
// many reviews, how fast (median and 90th percentile response time), missed deadlines, changes
// requested and rejections; per channel how many publishing attempts succeeded and failed; and
// the posts that expired or failed, with why. It works on ContentPosts and SignOffs already
// listed and an injected now; it never calls the API server or reads the clock.
//
// # The window
//
// A report covers the window from now - since to now, both ends included; since 0 means all
// time. Each figure counts the same events as a manager metric, placed in the window by the
// time of that event:
//
//   - Reviews, approvals, changes requested and rejections of a department: the SignOffs for
//     the department created (metadata.creationTimestamp) within the window, by spec.decision.
//   - Median and p90 response time: status.respondedAfter of those SignOffs, the value
//     greenlight_signoff_response_seconds{department, decision} observes once per SignOff when
//     it is created. SignOffs without respondedAfter (made before their department's review
//     started, or before Greenlight recorded it) are left out of the percentiles and counted
//     as "untimed".
//   - Missed deadlines of a department: the entries of the posts' status.missedDeadlines whose
//     deadline is within the window, which greenlight_deadline_missed_total{department} counts
//     once each.
//   - Published and failed of a channel: finished publishing attempts, which
//     greenlight_publish_total{channel, result} counts once each (a retry is a new attempt). A
//     channel in state Succeeded is one success at status.channels[].publishedAt. Its failed
//     attempts are attempts - 1 when it was retried (a retry only restarts a failed channel),
//     plus one when its state is Failed now. Status keeps no time per failed attempt, so failed
//     attempts are placed at the channel's finish: publishedAt when a retry succeeded, the
//     moment the post became Failed (its Stalled condition's lastTransitionTime) when it
//     failed, and now while a retry is still running.
//   - Expired and failed posts: posts in phase Expired or Failed now, placed at the moment they
//     became so (the Stalled condition's lastTransitionTime, else the Ready condition's, else
//     the post's creation), with the Ready condition's reason and message and each failed
//     channel's message.
//
// With a campaign, only posts whose spec.campaign equals it count, and only SignOffs of those
// posts. A SignOff belongs to the post whose UID its label greenlight.dev/post-uid names (to the
// post of its namespace and spec.post when it has no such label).
//
// # Engagement
//
// A channel of a post is published within the window when its status.channels[] entry is in
// state Succeeded with publishedAt within the window (the moment "Published" above counts it),
// whatever the post's phase (a Failed post may have published to its other channels). Its
// figures are its latest engagement (status.channels[].engagement: what the channel's last
// insights Job reported, whenever that was); a published channel without engagement has no
// figures (a channel whose policy asks for no insights never has any). A post is published
// within the window when at least one of its channels is, and its figures are the sums over
// those of its channels that have figures (impressions over those that report them). The total
// engagement of a post or channel is likes + shares + replies; impressions are never part of
// it, since only some channels report them.
//
//   - Engagement of a channel: over the posts published to the channel within the window, how
//     many have figures ("with figures"), and the sums of their likes, shares and replies;
//     impressions are summed over the posts whose figures include impressions, and how many
//     did is said beside the sum.
//   - Top posts: the posts published within the window that have figures, by total engagement,
//     highest first; ties are broken by more impressions (none reported counts as 0), then by
//     namespace/name in alphabetical order. At most five are shown, each with its campaign and
//     the figures of each of its channels.
//   - Engagement by review path: the posts published within the window, split into "approved
//     at once" (no SignOff with decision RequestChanges belongs to the post) and "changes
//     requested first" (at least one does, whenever it was created, whatever its revision; a
//     withdrawn one is gone and no longer does). For each group: how many posts, how many of them have figures, and the average likes,
//     shares and replies per post with figures (none without such a post). This is a
//     correlation over few posts, not proof that review makes posts better or worse: which
//     posts get changes requested, their campaign, channel and timing all differ too.
//
// With a campaign, only that campaign's posts count, as everywhere in the report.
//
// The totals of a channel equal what the gauge greenlight_engagement{namespace, campaign,
// channel, kind} reports at the same moment whenever the window covers every published post
// (--since 0, or a window that starts before the first publish; a shorter window leaves out the
// posts published before it). That gauge is, for kind likes, shares, replies or impressions,
// the sum over published posts (each channel in state Succeeded, whatever the post's phase) of
// their latest engagement, impressions over the posts that report them; the report's likes of
// channel C equal sum(greenlight_engagement{channel="C", kind="likes"}) over the namespaces the
// report lists, and with --campaign K over campaign="K" only (unless the metric sums K under
// campaign="(other)", which it does past its 200 (namespace, campaign) pairs with the most
// recent figures).
//
// # Where the report and the metrics differ
//
// The metrics count events as they happen; the report reads what the API server keeps now. A
// withdrawn (deleted) SignOff or a deleted post is gone from the report but stays counted in
// the metrics; a post keeps only its latest 100 missed deadlines; failed attempts that were
// retried are placed at the retry's finish, not at their own. The metric
// greenlight_signoff_response_seconds also leaves out SignOffs that never counted (for
// example, one created while the webhooks were down and refused by the controller), which the
// report shows as reviews. Prometheus' histogram_quantile interpolates within buckets, so its
// quantiles approximate the report's exact nearest-rank percentiles.
//
// # Percentiles
//
// Percentiles use the nearest-rank method: the p-th percentile of n values sorted ascending is
// the value at rank ceil(p/100 * n) (1-based), always one of the observed values. The median is
// the 50th percentile, so with two values it is the lower one; with no value there is none.
package report

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Options say what a report covers.
type Options struct {
	// Campaign keeps only posts whose spec.campaign equals it, and their SignOffs; empty keeps
	// all.
	Campaign string
	// Since is the length of the window that ends at Now; 0 or less means all time.
	Since time.Duration
	// Now is the end of the window.
	Now time.Time
}

// Report is the retrospective over one window.
type Report struct {
	// Campaign is the campaign filter, empty for all posts.
	Campaign string
	// Since is the window's length, 0 for all time.
	Since time.Duration
	// From is the start of the window (zero for all time) and To its end, now.
	From, To time.Time
	// Departments has one entry per department with a review or a missed deadline in the
	// window, by name.
	Departments []Department
	// Channels has one entry per channel with a finished publishing attempt in the window, by
	// name.
	Channels []Channel
	// Problems are the posts that expired or failed within the window, oldest first.
	Problems []Problem
	// TopPosts are the posts published within the window with the most engagement, at most
	// TopPostsShown, best first (see the package doc).
	TopPosts []TopPost
	// ReviewPaths split the posts published within the window by how their review went:
	// always two entries, ApprovedAtOnce then ChangesRequestedFirst.
	ReviewPaths []ReviewPath
}

// TopPostsShown is how many top posts a report shows at most.
const TopPostsShown = 5

// Department is what one department did in the window. Departments of different policies that
// share a name are one department here, as in the metrics.
type Department struct {
	Name string
	// Reviews counts the department's SignOffs created within the window; Approvals,
	// ChangesRequested and Rejections split them by decision.
	Reviews, Approvals, ChangesRequested, Rejections int
	// Timed counts the reviews with a response time (status.respondedAfter); Untimed those
	// without, which the percentiles leave out.
	Timed, Untimed int
	// Median and P90 are the nearest-rank percentiles of the timed reviews' response times;
	// nil when there is none.
	Median, P90 *time.Duration
	// MissedDeadlines counts the department's deadlines within the window that passed without
	// its decision.
	MissedDeadlines int
}

// Channel is the publishing attempts on one channel that finished within the window, and what
// the posts published by them achieved.
type Channel struct {
	Name string
	// Published counts attempts that succeeded; Failed those that failed. A channel succeeds
	// at most once per post, so Published is also the number of posts published to it.
	Published, Failed int
	// Engagement sums the figures of the posts published to the channel within the window;
	// its Reports counts those posts that have figures.
	Engagement Engagement
}

// Engagement is a sum of published channels' latest figures (status.channels[].engagement).
type Engagement struct {
	// Reports counts the figures summed, one per post and channel that has them.
	Reports                int
	Likes, Shares, Replies int64
	// ImpressionReports counts the figures that include impressions; Impressions sums theirs.
	ImpressionReports int
	Impressions       int64
}

// Total is the engagement that ranks posts: likes + shares + replies.
func (e Engagement) Total() int64 { return e.Likes + e.Shares + e.Replies }

func (e *Engagement) add(figures greenlightv1alpha1.Engagement) {
	e.Reports++
	e.Likes += figures.Likes
	e.Shares += figures.Shares
	e.Replies += figures.Replies
	if figures.Impressions != nil {
		e.ImpressionReports++
		e.Impressions += *figures.Impressions
	}
}

func (e *Engagement) addAll(other Engagement) {
	e.Reports += other.Reports
	e.Likes += other.Likes
	e.Shares += other.Shares
	e.Replies += other.Replies
	e.ImpressionReports += other.ImpressionReports
	e.Impressions += other.Impressions
}

// TopPost is a post published within the window and what it achieved there.
type TopPost struct {
	Namespace, Post, Campaign string
	// Engagement sums the figures of the post's channels published within the window; its
	// Reports counts the channels with figures.
	Engagement Engagement
	// Channels are those channels' figures, by channel name.
	Channels []ChannelEngagement
}

// ChannelEngagement is one channel's latest figures for one post.
type ChannelEngagement struct {
	Name    string
	Figures greenlightv1alpha1.Engagement
}

// Review paths: how a published post's review went.
const (
	// PathApprovedAtOnce: no SignOff of the post requested changes.
	PathApprovedAtOnce = "ApprovedAtOnce"
	// PathChangesRequestedFirst: at least one SignOff of the post requested changes.
	PathChangesRequestedFirst = "ChangesRequestedFirst"
)

// ReviewPath is the engagement of the posts published within the window that went one way
// through review.
type ReviewPath struct {
	// Path is PathApprovedAtOnce or PathChangesRequestedFirst.
	Path string
	// Posts counts the posts published within the window on this path; WithFigures those of
	// them that have figures.
	Posts, WithFigures int
	// Engagement sums the figures of the posts with figures.
	Engagement Engagement
}

// Averages are the average likes, shares and replies per post with figures; ok is false when
// no post has figures.
func (p ReviewPath) Averages() (likes, shares, replies float64, ok bool) {
	if p.WithFigures == 0 {
		return 0, 0, 0, false
	}
	n := float64(p.WithFigures)
	return float64(p.Engagement.Likes) / n, float64(p.Engagement.Shares) / n, float64(p.Engagement.Replies) / n, true
}

// Problem is a post that expired or failed, and why.
type Problem struct {
	Namespace, Post, Campaign string
	// Phase is Expired or Failed.
	Phase greenlightv1alpha1.PostPhase
	// At is when the post became Expired or Failed (see the package doc).
	At time.Time
	// Reason and Message are the post's Ready condition's.
	Reason, Message string
	// FailedChannels are the channels whose publishing failed, with the Job's reason and the
	// publisher's last words.
	FailedChannels []FailedChannel
}

// FailedChannel is one channel a post failed to publish to.
type FailedChannel struct {
	Name, Message string
}

// Build computes the report from the listed posts and SignOffs.
func Build(posts []greenlightv1alpha1.ContentPost, signOffs []greenlightv1alpha1.SignOff, opts Options) *Report {
	r := &Report{Campaign: opts.Campaign, Since: max(opts.Since, 0), To: opts.Now}
	if opts.Since > 0 {
		r.From = opts.Now.Add(-opts.Since)
	}
	t := &tally{report: r, now: opts.Now, departments: map[string]*Department{}, channels: map[string]*Channel{},
		responses: map[string][]time.Duration{}, byUID: map[string]*greenlightv1alpha1.ContentPost{},
		byName: map[string]*greenlightv1alpha1.ContentPost{}, changesRequested: map[*greenlightv1alpha1.ContentPost]bool{}}
	for i := range posts {
		post := &posts[i]
		t.byUID[string(post.UID)] = post
		t.byName[post.Namespace+"/"+post.Name] = post
		if opts.Campaign == "" || post.Spec.Campaign == opts.Campaign {
			t.addPost(post)
		}
	}
	for i := range signOffs {
		t.addSignOff(&signOffs[i])
	}
	t.finish()
	return r
}

// tally accumulates a report's figures.
type tally struct {
	report      *Report
	now         time.Time
	departments map[string]*Department
	channels    map[string]*Channel
	// responses are the response times of each department's timed reviews.
	responses     map[string][]time.Duration
	byUID, byName map[string]*greenlightv1alpha1.ContentPost
	// published are the posts published within the window, with their figures.
	published []publishedPost
	// changesRequested holds the posts that a RequestChanges SignOff belongs to.
	changesRequested map[*greenlightv1alpha1.ContentPost]bool
}

// publishedPost is a post published within the window and the figures of its channels
// published there.
type publishedPost struct {
	post    *greenlightv1alpha1.ContentPost
	figures TopPost
}

func (t *tally) department(name string) *Department {
	if t.departments[name] == nil {
		t.departments[name] = &Department{Name: name}
	}
	return t.departments[name]
}

func (t *tally) channel(name string) *Channel {
	if t.channels[name] == nil {
		t.channels[name] = &Channel{Name: name}
	}
	return t.channels[name]
}

// addPost counts the post's missed deadlines, finished publishing attempts and engagement, and
// lists it when it expired or failed within the window.
func (t *tally) addPost(post *greenlightv1alpha1.ContentPost) {
	r := t.report
	for _, m := range post.Status.MissedDeadlines {
		if r.within(m.Deadline.Time) {
			t.department(m.Department).MissedDeadlines++
		}
	}
	published := false
	figures := TopPost{Namespace: post.Namespace, Post: post.Name, Campaign: post.Spec.Campaign}
	for _, ch := range post.Status.Channels {
		if ch.State == greenlightv1alpha1.PublishSucceeded && ch.PublishedAt != nil && r.within(ch.PublishedAt.Time) {
			published = true
			channel := t.channel(ch.Name)
			channel.Published++
			if ch.Engagement != nil {
				channel.Engagement.add(*ch.Engagement)
				figures.Engagement.add(*ch.Engagement)
				figures.Channels = append(figures.Channels, ChannelEngagement{Name: ch.Name, Figures: *ch.Engagement.DeepCopy()})
			}
		}
		if failed := failedAttempts(ch); failed > 0 && r.within(failureTime(post, ch, t.now)) {
			t.channel(ch.Name).Failed += failed
		}
	}
	if problem, ok := problemOf(post); ok && r.within(problem.At) {
		r.Problems = append(r.Problems, problem)
	}
	if published {
		slices.SortFunc(figures.Channels, func(a, b ChannelEngagement) int { return strings.Compare(a.Name, b.Name) })
		t.published = append(t.published, publishedPost{post: post, figures: figures})
	}
}

// addSignOff counts a SignOff created within the window as a review of its department, and
// notes a RequestChanges SignOff against its post whenever it was created.
func (t *tally) addSignOff(s *greenlightv1alpha1.SignOff) {
	r := t.report
	if s.Spec.Decision == greenlightv1alpha1.DecisionRequestChanges {
		if post := postOf(s, t.byUID, t.byName); post != nil {
			t.changesRequested[post] = true
		}
	}
	if !r.within(s.CreationTimestamp.Time) {
		return
	}
	if r.Campaign != "" {
		if post := postOf(s, t.byUID, t.byName); post == nil || post.Spec.Campaign != r.Campaign {
			return
		}
	}
	d := t.department(s.Spec.Department)
	d.Reviews++
	switch s.Spec.Decision {
	case greenlightv1alpha1.DecisionApprove:
		d.Approvals++
	case greenlightv1alpha1.DecisionRequestChanges:
		d.ChangesRequested++
	case greenlightv1alpha1.DecisionReject:
		d.Rejections++
	}
	if s.Status.RespondedAfter == nil {
		d.Untimed++
		return
	}
	d.Timed++
	t.responses[d.Name] = append(t.responses[d.Name], s.Status.RespondedAfter.Duration)
}

// finish computes the percentiles and sorts every list, so that output never depends on the
// order the API server listed objects in.
func (t *tally) finish() {
	r := t.report
	for name, values := range t.responses {
		t.departments[name].Median = Percentile(values, 50)
		t.departments[name].P90 = Percentile(values, 90)
	}
	for _, d := range t.departments {
		r.Departments = append(r.Departments, *d)
	}
	slices.SortFunc(r.Departments, func(a, b Department) int { return strings.Compare(a.Name, b.Name) })
	for _, c := range t.channels {
		r.Channels = append(r.Channels, *c)
	}
	slices.SortFunc(r.Channels, func(a, b Channel) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Problems, func(a, b Problem) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace+"/"+a.Post, b.Namespace+"/"+b.Post)
	})
	t.finishEngagement()
}

// finishEngagement ranks the top posts and splits the published posts by review path.
func (t *tally) finishEngagement() {
	r := t.report
	atOnce, changed := ReviewPath{Path: PathApprovedAtOnce}, ReviewPath{Path: PathChangesRequestedFirst}
	var ranked []TopPost
	for _, p := range t.published {
		path := &atOnce
		if t.changesRequested[p.post] {
			path = &changed
		}
		path.Posts++
		if p.figures.Engagement.Reports > 0 {
			path.WithFigures++
			path.Engagement.addAll(p.figures.Engagement)
			ranked = append(ranked, p.figures)
		}
	}
	r.ReviewPaths = []ReviewPath{atOnce, changed}
	slices.SortFunc(ranked, compareTopPosts)
	r.TopPosts = ranked[:min(len(ranked), TopPostsShown)]
}

// compareTopPosts orders posts best first: more total engagement, then more impressions, then
// namespace/name alphabetically, so that equal posts always come in the same order.
func compareTopPosts(a, b TopPost) int {
	if c := cmp.Compare(b.Engagement.Total(), a.Engagement.Total()); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Engagement.Impressions, a.Engagement.Impressions); c != 0 {
		return c
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Post, b.Post)
}

// within reports whether t is in the window: From <= t <= To (no lower bound for all time).
func (r *Report) within(t time.Time) bool {
	return !t.After(r.To) && (r.Since == 0 || !t.Before(r.From))
}

// postOf is the post a SignOff belongs to: by its post-uid label, else by namespace and name.
func postOf(s *greenlightv1alpha1.SignOff, byUID, byName map[string]*greenlightv1alpha1.ContentPost) *greenlightv1alpha1.ContentPost {
	if uid, ok := s.Labels[greenlightv1alpha1.LabelPostUID]; ok {
		return byUID[uid]
	}
	return byName[s.Namespace+"/"+s.Spec.Post]
}

// failedAttempts is how many of the channel's attempts failed: every attempt before the
// current one (only a failed channel is retried), and the current one when it failed.
func failedAttempts(ch greenlightv1alpha1.ChannelStatus) int {
	failed := max(int(ch.Attempts)-1, 0)
	if ch.State == greenlightv1alpha1.PublishFailed {
		failed++
	}
	return failed
}

// failureTime places a channel's failed attempts in time (see the package doc).
func failureTime(post *greenlightv1alpha1.ContentPost, ch greenlightv1alpha1.ChannelStatus, now time.Time) time.Time {
	switch {
	case ch.State == greenlightv1alpha1.PublishSucceeded && ch.PublishedAt != nil:
		return ch.PublishedAt.Time
	case ch.State == greenlightv1alpha1.PublishFailed && post.Status.Phase == greenlightv1alpha1.PostFailed:
		return becameStuck(post)
	default: // a retry still running, or the post still publishing to another channel
		return now
	}
}

// becameStuck is when the post entered its current Expired or Failed phase: the Stalled
// condition's lastTransitionTime, else the Ready condition's, else the post's creation.
func becameStuck(post *greenlightv1alpha1.ContentPost) time.Time {
	for _, t := range []string{greenlightv1alpha1.ConditionStalled, greenlightv1alpha1.ConditionReady} {
		if c := meta.FindStatusCondition(post.Status.Conditions, t); c != nil && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	return post.CreationTimestamp.Time
}

func problemOf(post *greenlightv1alpha1.ContentPost) (Problem, bool) {
	if post.Status.Phase != greenlightv1alpha1.PostExpired && post.Status.Phase != greenlightv1alpha1.PostFailed {
		return Problem{}, false
	}
	p := Problem{Namespace: post.Namespace, Post: post.Name, Campaign: post.Spec.Campaign, Phase: post.Status.Phase, At: becameStuck(post)}
	if ready := meta.FindStatusCondition(post.Status.Conditions, greenlightv1alpha1.ConditionReady); ready != nil {
		p.Reason, p.Message = ready.Reason, ready.Message
	}
	for _, ch := range post.Status.Channels {
		if ch.State == greenlightv1alpha1.PublishFailed {
			p.FailedChannels = append(p.FailedChannels, FailedChannel{Name: ch.Name, Message: ch.Message})
		}
	}
	return p, true
}

// Percentile is the p-th percentile (1 <= p <= 100) of values by the nearest-rank method: the
// value at rank ceil(p/100 * n) of the n values sorted ascending. It is nil for no values.
// values is not modified. The rank is computed in integers, so that no rounding of p/100
// moves it.
func Percentile(values []time.Duration, p int) *time.Duration {
	if len(values) == 0 {
		return nil
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100
	rank = min(max(rank, 1), len(sorted))
	v := sorted[rank-1]
	return &v
}
