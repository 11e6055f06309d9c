package calendar

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// now is Wednesday 25 November 2026, 10:30 UTC (11:30 in Berlin).
var now = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

func utc(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
}

// Fixture builders: newPost("launch").at(t).phase(greenlightv1alpha1.PostScheduled).obj().
type postBuilder struct {
	post greenlightv1alpha1.ContentPost
}

func newPost(name string) *postBuilder {
	return &postBuilder{post: greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "marketing", UID: types.UID("uid-" + name), Generation: 1},
		Spec: greenlightv1alpha1.ContentPostSpec{Body: "Text of " + name + "\nSecond line.",
			Channels: []greenlightv1alpha1.Channel{{Name: "mastodon"}}},
	}}
}

func (b *postBuilder) at(t time.Time) *postBuilder {
	b.post.Spec.PublishAt = &metav1.Time{Time: t}
	return b
}
func (b *postBuilder) in(namespace string) *postBuilder { b.post.Namespace = namespace; return b }
func (b *postBuilder) campaign(c string) *postBuilder   { b.post.Spec.Campaign = c; return b }
func (b *postBuilder) generation(g int64) *postBuilder  { b.post.Generation = g; return b }
func (b *postBuilder) phase(p greenlightv1alpha1.PostPhase) *postBuilder {
	b.post.Status.Phase = p
	return b
}
func (b *postBuilder) policy(name string, generation int64) *postBuilder {
	b.post.Status.AppliedPolicies = append(b.post.Status.AppliedPolicies,
		greenlightv1alpha1.AppliedPolicy{UID: "uid-" + name, Name: name, Generation: generation})
	return b
}
func (b *postBuilder) department(name string, state greenlightv1alpha1.DepartmentState, deadline time.Time) *postBuilder {
	d := greenlightv1alpha1.DepartmentStatus{Name: name, State: state}
	if !deadline.IsZero() {
		d.Deadline = &metav1.Time{Time: deadline}
	}
	b.post.Status.Departments = append(b.post.Status.Departments, d)
	return b
}
func (b *postBuilder) channel(name string, state greenlightv1alpha1.PublishState, attempts int32, publishedAt time.Time) *postBuilder {
	ch := greenlightv1alpha1.ChannelStatus{Name: name, State: state, Attempts: attempts}
	if !publishedAt.IsZero() {
		ch.PublishedAt = &metav1.Time{Time: publishedAt}
		ch.URL = "https://social.example/@acme/" + name + "-" + b.post.Name
	}
	b.post.Status.Channels = append(b.post.Status.Channels, ch)
	return b
}
func (b *postBuilder) obj() greenlightv1alpha1.ContentPost { return *b.post.DeepCopy() }

// fixturePosts are posts in most phases around the week of now.
func fixturePosts() []greenlightv1alpha1.ContentPost {
	return []greenlightv1alpha1.ContentPost{
		newPost("launch-teaser").campaign("spring-launch").at(utc(11, 26, 9, 0)).generation(3).policy("brand", 2).
			phase(greenlightv1alpha1.PostInReview).
			department("marketing", greenlightv1alpha1.DepartmentApproved, utc(11, 24, 16, 0)).
			department("legal", greenlightv1alpha1.DepartmentPending, utc(11, 25, 16, 0)).obj(),
		newPost("launch-faq").campaign("spring-launch").at(utc(11, 27, 14, 30)).generation(2).policy("brand", 2).
			phase(greenlightv1alpha1.PostScheduled).obj(),
		newPost("holiday-greeting").campaign("winter").at(utc(11, 23, 8, 0)).policy("brand", 2).
			phase(greenlightv1alpha1.PostPublished).
			channel("mastodon", greenlightv1alpha1.PublishSucceeded, 1, utc(11, 23, 8, 1)).obj(),
		newPost("press-release-about-the-new-factory").campaign("spring-launch").policy("brand", 2).
			phase(greenlightv1alpha1.PostPublished).
			channel("linkedin", greenlightv1alpha1.PublishSucceeded, 1, utc(11, 24, 12, 5)).
			channel("mastodon", greenlightv1alpha1.PublishSucceeded, 1, utc(11, 24, 12, 0)).obj(),
		newPost("recall-notice").campaign("spring-launch").at(utc(11, 29, 18, 0)).policy("brand", 2).
			phase(greenlightv1alpha1.PostFailed).
			channel("mastodon", greenlightv1alpha1.PublishFailed, 2, time.Time{}).obj(),
		newPost("black-friday").campaign("winter").at(utc(11, 2, 10, 0)).policy("brand", 2).
			phase(greenlightv1alpha1.PostExpired).
			department("legal", greenlightv1alpha1.DepartmentExpired, utc(11, 2, 8, 0)).obj(),
		newPost("draft-idea").phase(greenlightv1alpha1.PostDraft).obj(),
		newPost("year-in-review").campaign("winter").policy("brand", 2).phase(greenlightv1alpha1.PostInReview).
			department("brand", greenlightv1alpha1.DepartmentPending, utc(11, 28, 12, 0)).
			department("legal", greenlightv1alpha1.DepartmentWaiting, utc(11, 30, 17, 0)).obj(),
	}
}
