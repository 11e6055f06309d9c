package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
)

// The insights mode. The controller runs an insights Job from the channel's own jobTemplate at
// each offset of spec.publishing.channels.<name>.insights.after, with the env below added to
// the publishing env; the publisher then publishes nothing and reports what the published post
// achieved so far.
const (
	// envMode is "publish" (or unset) in a publishing Job and "insights" in an insights Job.
	envMode = "GREENLIGHT_MODE"
	// envRemoteID is the remote post's id, from status.channels[].id.
	envRemoteID = "GREENLIGHT_REMOTE_ID"
	// envRemoteURL is where the remote post lives, from status.channels[].url.
	envRemoteURL = "GREENLIGHT_REMOTE_URL"

	modePublish  = "publish"
	modeInsights = "insights"
)

// maxInsightsAnswer bounds a webhook receiver's insights answer; four numbers need far less.
const maxInsightsAnswer = 64 << 10

// goneStatuses are the answers that mean the remote post was deleted: an insights run then
// reports zeros and says so, and exits 0, since asking again would only get the same answer.
var goneStatuses = []int{http.StatusNotFound, http.StatusGone}

// engagement is the termination message of an insights run:
// {"likes": N, "shares": N, "replies": N, "impressions": N}.
type engagement struct {
	Likes   int64 `json:"likes"`
	Shares  int64 `json:"shares"`
	Replies int64 `json:"replies"`
	// Impressions is left out when the remote side does not count them (Mastodon does not).
	Impressions *int64 `json:"impressions,omitempty"`
	// Message says why the figures are zero when the remote post no longer exists.
	Message string `json:"message,omitempty"`
}

// remotePost is the published post an insights run asks about, as the controller recorded it
// in status.channels[]. Either field may be empty; each driver says which one it needs.
type remotePost struct {
	id  string
	url string
}

// insightsReader is a driver that can tell what a published post achieved.
type insightsReader interface {
	insights(ctx context.Context, p post, target remotePost) (engagement, error)
}

// readMode reads GREENLIGHT_MODE: unset means publish.
func readMode(env func(string) string) (string, error) {
	switch mode := env(envMode); mode {
	case "", modePublish:
		return modePublish, nil
	case modeInsights:
		return modeInsights, nil
	default:
		return "", configErrorf("%s=%q is not known: the controller sets it to %s or %s (unset means %s)",
			envMode, truncate(mode, 40), modePublish, modeInsights, modePublish)
	}
}

// checkInsightsDriver refuses at once, before any credential is read or request made, a driver
// that cannot report insights: a retry could not change that.
func checkInsightsDriver(driver, channel string) error {
	if driver == driverSlack {
		return configErrorf("the slack driver reports no insights: remove insights from channel %q "+
			"(spec.publishing.channels.%s.insights in the ApprovalPolicy), or use the webhook driver "+
			"with a receiver that answers insights requests", channel, channel)
	}
	return nil
}

// readInsights asks the remote side what the post published there achieved. Nothing is
// published: every request an insights run makes is a GET.
func readInsights(ctx context.Context, d driver, p post, env func(string) string, log *slog.Logger) (engagement, error) {
	reader, ok := d.(insightsReader)
	if !ok {
		return engagement{}, configErrorf("this driver reports no insights: remove insights from channel %q", p.Channel)
	}
	target := remotePost{id: strings.TrimSpace(env(envRemoteID)), url: strings.TrimSpace(env(envRemoteURL))}
	got, err := reader.insights(ctx, p, target)
	if err != nil {
		return engagement{}, err
	}
	if got.Message != "" {
		log.Info("Remote post no longer exists; reporting zeros", "id", target.id)
	} else {
		log.Info("Read insights", "likes", got.Likes, "shares", got.Shares, "replies", got.Replies)
	}
	return got, nil
}

// gone is what an insights run reports for a remote post that was deleted.
func gone(id string) engagement {
	post := "the remote post"
	if id != "" {
		post += " " + id
	}
	return engagement{Message: post + " no longer exists"}
}
