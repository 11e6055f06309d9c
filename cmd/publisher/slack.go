package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/greenlight-operator/greenlight/internal/publish"
)

// slack posts to a Slack incoming webhook (SLACK_WEBHOOK_URL): JSON {"text": ...} with the
// post's body and then one line per medium, a link labelled with its alt text. Slack answers
// 200 "ok"; its 4xx answers (invalid_payload, no_text, channel_not_found, channel_is_archived,
// ...) are permanent and quoted in the failure.
//
// An incoming webhook answers with neither an id nor a link, and honours no idempotency key, so
// the result is id = the idempotency key and url = SLACK_CHANNEL_URL when it is set (the link of
// the channel the webhook posts to), else "slack:<post name>".
type slack struct {
	url        string
	channelURL string
	remote     *remote
}

func newSlack(env func(string) string, secrets *redactor, r *remote) (*slack, error) {
	endpoint := strings.TrimSpace(env("SLACK_WEBHOOK_URL"))
	secrets.add(endpoint, true)
	if endpoint == "" {
		return nil, configErrorf("SLACK_WEBHOOK_URL is not set: set it from a Secret to the incoming webhook's URL")
	}
	if problem := checkEndpoint(endpoint, false); problem != "" {
		return nil, configErrorf("SLACK_WEBHOOK_URL %s", problem)
	}
	return &slack{url: endpoint, channelURL: strings.TrimSpace(env("SLACK_CHANNEL_URL")), remote: r}, nil
}

// slackText is the message text: Slack's three control characters escaped, so that the text
// shows as approved and a stray "<!channel>" notifies nobody.
func slackText(p publish.PostFile) string {
	var b strings.Builder
	b.WriteString(slackEscape(p.Body))
	for _, m := range p.Media {
		b.WriteString("\n<")
		b.WriteString(slackLinkEscaper.Replace(m.URL))
		if alt := strings.Join(strings.Fields(m.AltText), " "); alt != "" {
			b.WriteString("|")
			b.WriteString(slackEscape(alt))
		}
		b.WriteString(">")
	}
	return b.String()
}

var (
	slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	// slackLinkEscaper percent-encodes what would end a link early; the URL stays the same.
	slackLinkEscaper = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C")
)

func slackEscape(s string) string { return slackEscaper.Replace(s) }

func (s *slack) deliver(ctx context.Context, p post) (publish.Result, error) {
	body, err := json.Marshal(map[string]string{"text": slackText(p.PostFile)})
	if err != nil {
		return publish.Result{}, refusedf("the Slack message cannot be encoded: %v", err)
	}
	got, err := s.remote.do(ctx, request{
		who:    driverSlack,
		method: http.MethodPost,
		url:    s.url,
		header: http.Header{headerContentType: {mediaTypeJSON}},
		body:   body,
	})
	if err != nil {
		return publish.Result{}, err
	}
	if answer := strings.TrimSpace(string(got.body)); answer != "ok" {
		return publish.Result{}, refusedf("slack answered %d without \"ok\"%s", got.status, remoteMessage(got.body))
	}
	result := publish.Result{ID: p.IdempotencyKey, URL: s.channelURL}
	if result.URL == "" {
		result.URL = "slack:" + p.Name
	}
	return result, nil
}
