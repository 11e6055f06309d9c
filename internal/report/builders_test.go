package report

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// now is Wednesday 25 November 2026, 10:30 UTC; a 720h window starts 26 October 10:30.
var now = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

func utc(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
}

// Fixture builders: newPost("launch").campaign("spring").phase(...).obj().
type postBuilder struct {
	post greenlightv1alpha1.ContentPost
}

func newPost(name string) *postBuilder {
	return &postBuilder{post: greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "marketing", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(utc(10, 1, 9, 0))},
		Spec: greenlightv1alpha1.ContentPostSpec{Body: "Text of " + name},
	}}
}

func (b *postBuilder) campaign(c string) *postBuilder { b.post.Spec.Campaign = c; return b }
func (b *postBuilder) phase(p greenlightv1alpha1.PostPhase) *postBuilder {
	b.post.Status.Phase = p
	return b
}
func (b *postBuilder) missed(department string, deadline time.Time) *postBuilder {
	b.post.Status.MissedDeadlines = append(b.post.Status.MissedDeadlines, greenlightv1alpha1.MissedDeadline{
		Department: department, Deadline: metav1.NewTime(deadline), OnMissed: greenlightv1alpha1.MissedDeadlineExpire})
	return b
}
func (b *postBuilder) condition(conditionType string, status metav1.ConditionStatus, reason, message string, at time.Time) *postBuilder {
	b.post.Status.Conditions = append(b.post.Status.Conditions, metav1.Condition{Type: conditionType, Status: status,
		Reason: reason, Message: message, LastTransitionTime: metav1.NewTime(at)})
	return b
}
func (b *postBuilder) channel(name string, state greenlightv1alpha1.PublishState, attempts int32, publishedAt time.Time,
	message string) *postBuilder {
	ch := greenlightv1alpha1.ChannelStatus{Name: name, State: state, Attempts: attempts, Message: message}
	if !publishedAt.IsZero() {
		ch.PublishedAt = &metav1.Time{Time: publishedAt}
	}
	b.post.Status.Channels = append(b.post.Status.Channels, ch)
	return b
}
func (b *postBuilder) namespace(ns string) *postBuilder {
	b.post.Namespace, b.post.UID = ns, types.UID("uid-"+ns+"-"+b.post.Name)
	return b
}

// engagement sets the latest figures of the post's channel, which must be added already;
// impressions < 0 means the channel does not report impressions.
func (b *postBuilder) engagement(channel string, likes, shares, replies, impressions int64) *postBuilder {
	for i := range b.post.Status.Channels {
		if b.post.Status.Channels[i].Name == channel {
			e := &greenlightv1alpha1.Engagement{Likes: likes, Shares: shares, Replies: replies, ObservedAt: metav1.NewTime(utc(11, 25, 9, 0))}
			if impressions >= 0 {
				e.Impressions = &impressions
			}
			b.post.Status.Channels[i].Engagement = e
			return b
		}
	}
	panic("engagement for a channel the post has not got: " + channel)
}

// published adds a channel that published at publishedAt.
func (b *postBuilder) published(channel string, publishedAt time.Time) *postBuilder {
	return b.phase(greenlightv1alpha1.PostPublished).channel(channel, greenlightv1alpha1.PublishSucceeded, 1, publishedAt, "")
}

func (b *postBuilder) obj() greenlightv1alpha1.ContentPost { return *b.post.DeepCopy() }

// newSignOff is a SignOff bound to the post's UID, created at created, with respondedAfter
// unless it is 0.
func newSignOff(post, department string, decision greenlightv1alpha1.Decision, created time.Time,
	respondedAfter time.Duration) greenlightv1alpha1.SignOff {
	s := greenlightv1alpha1.SignOff{
		ObjectMeta: metav1.ObjectMeta{Name: post + "-" + department + "-" + created.Format("0102150405"), Namespace: "marketing",
			CreationTimestamp: metav1.NewTime(created), Labels: map[string]string{greenlightv1alpha1.LabelPostUID: "uid-" + post}},
		Spec: greenlightv1alpha1.SignOffSpec{Post: post, Department: department, Decision: decision},
	}
	if respondedAfter > 0 {
		s.Status.RespondedAfter = &metav1.Duration{Duration: respondedAfter}
	}
	return s
}

const (
	approve        = greenlightv1alpha1.DecisionApprove
	requestChanges = greenlightv1alpha1.DecisionRequestChanges
	reject         = greenlightv1alpha1.DecisionReject
)

func fixturePosts() []greenlightv1alpha1.ContentPost {
	stalled, ready := greenlightv1alpha1.ConditionStalled, greenlightv1alpha1.ConditionReady
	return []greenlightv1alpha1.ContentPost{
		newPost("launch-teaser").campaign("spring-launch").phase(greenlightv1alpha1.PostInReview).
			missed("legal", utc(11, 20, 17, 0)).missed("legal", utc(10, 1, 17, 0)).obj(),
		newPost("launch-faq").campaign("spring-launch").phase(greenlightv1alpha1.PostPublished).
			channel("mastodon", greenlightv1alpha1.PublishSucceeded, 1, utc(11, 20, 9, 0), "").
			channel("linkedin", greenlightv1alpha1.PublishSucceeded, 2, utc(11, 21, 9, 0), "").
			engagement("mastodon", 12, 4, 2, -1).engagement("linkedin", 40, 7, 3, 1500).obj(),
		newPost("recall-notice").campaign("spring-launch").phase(greenlightv1alpha1.PostFailed).
			channel("linkedin", greenlightv1alpha1.PublishSucceeded, 1, utc(11, 24, 11, 58), "").
			engagement("linkedin", 5, 0, 1, -1).
			channel("mastodon", greenlightv1alpha1.PublishFailed, 2, time.Time{}, "BackoffLimitExceeded: publisher: 401 Unauthorized").
			condition(ready, metav1.ConditionFalse, "Failed",
				"Publishing failed: mastodon: BackoffLimitExceeded: publisher: 401 Unauthorized. Set the annotation "+
					"greenlight.dev/retry to a new value to retry the failed channels.", utc(11, 20, 9, 0)).
			condition(stalled, metav1.ConditionTrue, "Failed", "Publishing failed.", utc(11, 24, 12, 0)).obj(),
		newPost("publishing-now").campaign("spring-launch").phase(greenlightv1alpha1.PostPublishing).
			channel("mastodon", greenlightv1alpha1.PublishFailed, 1, time.Time{}, "DeadlineExceeded").
			channel("linkedin", greenlightv1alpha1.PublishRunning, 1, time.Time{}, "").obj(),
		newPost("black-friday").campaign("winter").phase(greenlightv1alpha1.PostExpired).missed("legal", utc(11, 2, 8, 0)).
			condition(ready, metav1.ConditionFalse, "DeadlineMissed",
				"legal missed its deadline 2026-11-02T08:00:00Z. Edit a field legal covers or publishAt to start a new review.",
				utc(10, 30, 9, 0)).
			condition(stalled, metav1.ConditionTrue, "DeadlineMissed", "legal missed its deadline.", utc(11, 2, 8, 0)).obj(),
		newPost("summer-sale").campaign("winter").phase(greenlightv1alpha1.PostFailed).
			channel("mastodon", greenlightv1alpha1.PublishFailed, 1, time.Time{}, "BackoffLimitExceeded").
			condition(stalled, metav1.ConditionTrue, "Failed", "Publishing failed.", utc(9, 1, 12, 0)).obj(),
		// winter-teaser had changes requested before the window, then published within it.
		newPost("winter-teaser").campaign("winter").published("mastodon", utc(11, 22, 9, 0)).
			engagement("mastodon", 30, 10, 5, 900).obj(),
		// winter-faq had changes requested too; its figures have not come yet.
		newPost("winter-faq").campaign("winter").published("mastodon", utc(11, 23, 9, 0)).obj(),
		// autumn-recap published before the window: only an all-time report counts it.
		newPost("autumn-recap").campaign("winter").published("mastodon", utc(10, 1, 9, 0)).
			engagement("mastodon", 100, 50, 20, -1).obj(),
	}
}

func fixtureSignOffs() []greenlightv1alpha1.SignOff {
	return []greenlightv1alpha1.SignOff{
		newSignOff("launch-teaser", "legal", approve, utc(11, 2, 10, 0), time.Hour),
		newSignOff("launch-teaser", "legal", requestChanges, utc(11, 3, 10, 0), 26*time.Hour),
		newSignOff("launch-faq", "legal", approve, utc(11, 10, 10, 0), 3*time.Hour+12*time.Minute),
		newSignOff("recall-notice", "legal", reject, utc(11, 12, 10, 0), 0),
		newSignOff("launch-faq", "legal", approve, utc(10, 1, 10, 0), 5*time.Hour), // before the window
		newSignOff("launch-teaser", "marketing", approve, utc(11, 1, 10, 0), 10*time.Minute),
		newSignOff("launch-faq", "marketing", approve, utc(11, 9, 10, 0), 45*time.Minute+30*time.Second),
		newSignOff("black-friday", "brand", approve, utc(10, 28, 10, 0), 2*time.Hour),
		newSignOff("winter-teaser", "brand", requestChanges, utc(10, 20, 10, 0), time.Hour), // before the window
		newSignOff("winter-teaser", "brand", approve, utc(10, 21, 10, 0), time.Hour),        // before the window
		newSignOff("winter-faq", "brand", requestChanges, utc(10, 22, 10, 0), time.Hour),    // before the window
	}
}
