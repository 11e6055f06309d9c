package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/greenlight-operator/greenlight/internal/publish"
)

// The insights mode. The controller runs an insights Job from the channel's own jobTemplate at
// each offset of spec.publishing.channels.<name>.insights.after, with publish.EnvMode set to
// publish.ModeInsights and publish.EnvRemoteID and publish.EnvRemoteURL added to the publishing
// env; the publisher then publishes nothing and reports what the published post achieved.
const modePublish = "publish"

// maxInsightsAnswer bounds a webhook receiver's insights answer; four numbers need far less.
const maxInsightsAnswer = 64 << 10

// goneStatuses are the answers that mean the remote post was deleted: an insights run then
// reports zeros and says so, and exits 0, since asking again would only get the same answer.
var goneStatuses = []int{http.StatusNotFound, http.StatusGone}

// engagement is the termination message of an insights run: {"likes": N, "shares": N,
// "replies": N, "impressions": N}, "impressions" left out when the remote side does not count
// them, and "message" set when the remote post no longer exists.
type engagement = publish.EngagementReport

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
	switch mode := env(publish.EnvMode); mode {
	case "", modePublish:
		return modePublish, nil
	case publish.ModeInsights:
		return publish.ModeInsights, nil
	default:
		return "", configErrorf("%s=%q is not known: the controller sets it to %s or %s (unset means %s)",
			publish.EnvMode, truncate(mode, 40), modePublish, publish.ModeInsights, modePublish)
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
//
// who names the driver in messages.
func readInsights(ctx context.Context, d driver, who string, p post, env func(string) string, log *slog.Logger) (
	engagement, error) {
	reader, ok := d.(insightsReader)
	if !ok {
		return engagement{}, configErrorf("the %s driver reports no insights: remove insights from channel %q", who, p.Channel)
	}
	target := remotePost{id: strings.TrimSpace(env(publish.EnvRemoteID)), url: strings.TrimSpace(env(publish.EnvRemoteURL))}
	got, err := reader.insights(ctx, p, target)
	if err != nil {
		return engagement{}, err
	}
	// The controller's own check of the termination message: figures it would not record (a
	// receiver's absurd count) fail here, where the remote side can be named.
	encoded, err := json.Marshal(got)
	if err == nil {
		_, err = publish.ParseEngagement(encoded)
	}
	if err != nil {
		return engagement{}, refusedf("%s answered figures that cannot be recorded: %v", who, err)
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
