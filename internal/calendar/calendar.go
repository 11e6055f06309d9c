// Package calendar lays ContentPosts and their review deadlines out in time, for people who plan
// with calendars: a week or month grid for the terminal (Build, then Calendar.Render) and an
// iCalendar feed (WriteICS) that Google Calendar and Outlook import or subscribe to.
//
// It works on posts already read from the API server and on an injected now; it never calls the
// API server and never reads the clock, so that the same input always gives the same output.
//
// What is placed where:
//   - A post is placed at spec.publishAt. A post without publishAt is placed at the earliest
//     status.channels[].publishedAt once a channel published it; until then it has no time and
//     is listed under the grid as unscheduled (and has no event in the feed).
//   - A review deadline is status.departments[].deadline of each department still Pending or
//     Waiting; decided departments owe nothing, so their deadlines are not shown.
//   - A campaign filter keeps only posts whose spec.campaign equals it, in the grid and the feed.
package calendar

import (
	"slices"
	"strings"
	"time"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Span is the length of the period a grid shows.
type Span string

const (
	// Week shows seven days, Monday to Sunday.
	Week Span = "week"
	// Month shows a calendar month, in whole weeks from Monday to Sunday.
	Month Span = "month"
)

// Kind is what an Entry marks.
type Kind string

const (
	// KindPost is a post at its publish time.
	KindPost Kind = "Post"
	// KindDeadline is a department's review deadline for a post.
	KindDeadline Kind = "Deadline"
)

// Entry is one thing on the calendar: a post at its publish time or a department's deadline.
type Entry struct {
	// Kind says whether the entry is a post or a deadline.
	Kind Kind
	// At is when it happens, in the calendar's location; zero for an unscheduled post.
	At time.Time
	// Namespace and Post name the post.
	Namespace, Post string
	// Campaign is the post's spec.campaign.
	Campaign string
	// Phase is the post's status.phase.
	Phase greenlightv1alpha1.PostPhase
	// Department is the department whose deadline it is (deadlines only).
	Department string
}

// postTime is when the post is placed: spec.publishAt, else the earliest channel publishedAt.
// ok is false when neither is known.
func postTime(post *greenlightv1alpha1.ContentPost) (at time.Time, ok bool) {
	if post.Spec.PublishAt != nil {
		return post.Spec.PublishAt.Time, true
	}
	for _, ch := range post.Status.Channels {
		if ch.PublishedAt != nil && (!ok || ch.PublishedAt.Time.Before(at)) {
			at, ok = ch.PublishedAt.Time, true
		}
	}
	return at, ok
}

// pendingDeadline is one department deadline still running.
type pendingDeadline struct {
	department string
	at         time.Time
}

// pendingDeadlines are the deadlines of the post's departments that are still Pending or Waiting.
func pendingDeadlines(post *greenlightv1alpha1.ContentPost) []pendingDeadline {
	var out []pendingDeadline
	for _, d := range post.Status.Departments {
		if d.Deadline == nil || (d.State != greenlightv1alpha1.DepartmentPending && d.State != greenlightv1alpha1.DepartmentWaiting) {
			continue
		}
		out = append(out, pendingDeadline{department: d.Name, at: d.Deadline.Time})
	}
	return out
}

// selected reports whether the post passes the campaign filter ("" keeps every post).
func selected(post *greenlightv1alpha1.ContentPost, campaign string) bool {
	return campaign == "" || post.Spec.Campaign == campaign
}

// entries turns the selected posts into calendar entries in loc: the timed ones (posts and
// deadlines) and the posts without a time.
func entries(posts []greenlightv1alpha1.ContentPost, campaign string, loc *time.Location) (timed, unscheduled []Entry) {
	for i := range posts {
		post := &posts[i]
		if !selected(post, campaign) {
			continue
		}
		base := Entry{Namespace: post.Namespace, Post: post.Name, Campaign: post.Spec.Campaign, Phase: post.Status.Phase}
		if at, ok := postTime(post); ok {
			e := base
			e.Kind, e.At = KindPost, at.In(loc)
			timed = append(timed, e)
		} else {
			e := base
			e.Kind = KindPost
			unscheduled = append(unscheduled, e)
		}
		for _, d := range pendingDeadlines(post) {
			e := base
			e.Kind, e.At, e.Department = KindDeadline, d.at.In(loc), d.department
			timed = append(timed, e)
		}
	}
	slices.SortStableFunc(timed, compareEntries)
	slices.SortStableFunc(unscheduled, compareEntries)
	return timed, unscheduled
}

// compareEntries orders entries by time, then posts before deadlines, then by namespace, post
// and department, so that output never depends on list order.
func compareEntries(a, b Entry) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	if a.Kind != b.Kind {
		if a.Kind == KindPost {
			return -1
		}
		return 1
	}
	for _, c := range [][2]string{{a.Namespace, b.Namespace}, {a.Post, b.Post}, {a.Department, b.Department}} {
		if c := strings.Compare(c[0], c[1]); c != 0 {
			return c
		}
	}
	return 0
}
