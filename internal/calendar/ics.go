package calendar

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// EventLength is how long a post's event lasts in a calendar: publishing is a moment, but a
// calendar shows a zero-length event poorly.
const EventLength = 15 * time.Minute

// DefaultRefresh is how often subscribed calendars are asked to fetch the feed again.
const DefaultRefresh = time.Hour

// ProductID is the feed's PRODID.
const ProductID = "-//greenlight.dev//Greenlight//EN"

// FeedOptions configure an iCalendar feed.
type FeedOptions struct {
	// Name is the calendar's name (X-WR-CALNAME); empty means "Greenlight", with the campaign
	// appended when there is one.
	Name string
	// Campaign keeps only posts whose spec.campaign equals it; empty keeps all.
	Campaign string
	// Now is written as every event's DTSTAMP.
	Now time.Time
	// Refresh is how often subscribers should fetch the feed again (REFRESH-INTERVAL and
	// X-PUBLISHED-TTL); 0 means DefaultRefresh.
	Refresh time.Duration
}

// WriteICS writes an iCalendar (RFC 5545) file, lines ending in CRLF, with one VEVENT per post
// that has a publish time and one per department deadline still running (see the package doc).
// Times are in UTC.
//
// Every event has a stable UID, so that a calendar that imports the file again or subscribes
// to it updates the event instead of adding a copy: "<post uid>@greenlight.dev" for a post and
// "<post uid>-<department>-deadline@greenlight.dev" for a deadline.
//
// SEQUENCE is derived from the objects, never stored, and rises whenever an event's time or
// title changes in the usual course of a post:
//
//	base     = metadata.generation + the sum of status.appliedPolicies[].generation
//	post     = 100*base + 10*min(retries, 9) + phase rank (Draft 0, Blocked 1, InReview 2,
//	           ChangesRequested 3, Rejected 4, Expired 5, Scheduled 6, Publishing 7,
//	           Published 8, Failed 9)
//	deadline = base
//
// where retries is the largest status.channels[].attempts minus one. An edit of publishAt or a
// covered field bumps the post's generation, and an edit of a policy (which can move deadlines
// or reopen a review) bumps the policy's generation, so both raise SEQUENCE; within one
// generation the phase moves forward, and a retry (Failed back to Publishing) adds 10.
// Known gaps, where the title changes but SEQUENCE falls: a withdrawn RequestChanges sign-off
// (ChangesRequested back to InReview) and a post that becomes Blocked during review (a
// policy deleted). DTSTAMP, which is always now, still changes, and subscribed calendars
// (Google, Outlook) replace events by UID on every refresh regardless.
func WriteICS(w io.Writer, posts []greenlightv1alpha1.ContentPost, opts FeedOptions) error {
	return feed(posts, opts).SerializeTo(w, ics.WithNewLineWindows)
}

func feed(posts []greenlightv1alpha1.ContentPost, opts FeedOptions) *ics.Calendar {
	cal := ics.NewCalendar()
	cal.SetProductId(ProductID)
	cal.SetMethod(ics.MethodPublish)
	cal.SetCalscale("GREGORIAN")
	name := opts.Name
	if name == "" {
		name = "Greenlight"
		if opts.Campaign != "" {
			name += " " + opts.Campaign
		}
	}
	cal.SetXWRCalName(name)
	refresh := opts.Refresh
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	cal.SetRefreshInterval(isoDuration(refresh))
	cal.SetXPublishedTTL(isoDuration(refresh))

	for i := range posts {
		post := &posts[i]
		if !selected(post, opts.Campaign) {
			continue
		}
		uid := string(post.UID)
		if uid == "" {
			uid = post.Namespace + "." + post.Name
		}
		base := baseSequence(post)
		if at, ok := postTime(post); ok {
			event := cal.AddEvent(uid + "@greenlight.dev")
			event.SetDtStampTime(opts.Now)
			event.SetSequence(clampSequence(100*base + 10*int64(retries(post)) + int64(phaseRank(post.Status.Phase))))
			event.SetStartAt(at)
			event.SetEndAt(at.Add(EventLength))
			event.SetSummary(postSummary(post))
			event.SetDescription(postDescription(post))
			if post.Spec.Campaign != "" {
				event.AddCategory(post.Spec.Campaign)
			}
		}
		for _, d := range pendingDeadlines(post) {
			event := cal.AddEvent(uid + "-" + d.department + "-deadline@greenlight.dev")
			event.SetDtStampTime(opts.Now)
			event.SetSequence(clampSequence(base))
			event.SetStartAt(d.at)
			event.SetEndAt(d.at)
			event.SetSummary(fmt.Sprintf("Deadline: %s on %s%s", d.department, post.Name, campaignSuffix(post)))
			event.SetDescription(fmt.Sprintf("%s must approve, request changes or reject %s/%s by this time.\n%s",
				d.department, post.Namespace, post.Name, firstLine(post.Spec.Body)))
			if post.Spec.Campaign != "" {
				event.AddCategory(post.Spec.Campaign)
			}
		}
	}
	return cal
}

func campaignSuffix(post *greenlightv1alpha1.ContentPost) string {
	if post.Spec.Campaign == "" {
		return ""
	}
	return " (" + post.Spec.Campaign + ")"
}

// postSummary is the event title: the post's name, campaign and phase.
func postSummary(post *greenlightv1alpha1.ContentPost) string {
	phase := string(post.Status.Phase)
	if phase == "" {
		phase = "not reconciled yet"
	}
	return fmt.Sprintf("%s%s: %s", post.Name, campaignSuffix(post), phase)
}

// postDescription is the body's first line, the post's namespace and, once published, where
// it lives on each channel.
func postDescription(post *greenlightv1alpha1.ContentPost) string {
	lines := []string{firstLine(post.Spec.Body), "Post: " + post.Namespace + "/" + post.Name}
	for _, ch := range post.Status.Channels {
		if ch.URL != "" {
			lines = append(lines, ch.Name+": "+ch.URL)
		}
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

func baseSequence(post *greenlightv1alpha1.ContentPost) int64 {
	base := post.Generation
	for _, p := range post.Status.AppliedPolicies {
		base += p.Generation
	}
	return base
}

// retries is how many times the post's publishing was retried: the most attempts of any
// channel, minus the first, at most 9.
func retries(post *greenlightv1alpha1.ContentPost) int {
	most := int32(0)
	for _, ch := range post.Status.Channels {
		most = max(most, ch.Attempts)
	}
	return min(max(int(most)-1, 0), 9)
}

// phaseRank orders the phases in the direction a post usually moves within one generation.
func phaseRank(phase greenlightv1alpha1.PostPhase) int {
	switch phase {
	case greenlightv1alpha1.PostBlocked:
		return 1
	case greenlightv1alpha1.PostInReview:
		return 2
	case greenlightv1alpha1.PostChangesRequested:
		return 3
	case greenlightv1alpha1.PostRejected:
		return 4
	case greenlightv1alpha1.PostExpired:
		return 5
	case greenlightv1alpha1.PostScheduled:
		return 6
	case greenlightv1alpha1.PostPublishing:
		return 7
	case greenlightv1alpha1.PostPublished:
		return 8
	case greenlightv1alpha1.PostFailed:
		return 9
	default: // Draft, or not reconciled yet
		return 0
	}
}

// clampSequence keeps SEQUENCE within RFC 5545's INTEGER (a signed 32-bit number).
func clampSequence(seq int64) int {
	return int(min(max(seq, 0), math.MaxInt32))
}

// isoDuration writes d as an RFC 5545 duration such as PT1H or PT1H30M (whole seconds).
func isoDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("PT")
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m := (d % time.Hour) / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if s := (d % time.Minute) / time.Second; s > 0 {
		fmt.Fprintf(&b, "%dS", s)
	}
	return b.String()
}
