package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/greenlight-operator/greenlight/internal/publish"
)

// webhook POSTs post.json, byte for byte as the controller wrote it, to WEBHOOK_URL:
//
//	Content-Type: application/json
//	Idempotency-Key: <GREENLIGHT_IDEMPOTENCY_KEY>
//	X-Greenlight-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with WEBHOOK_SECRET>
//
// The receiver answers 2xx with JSON {"id": "...", "url": "..."}: where the post now lives
// ("url" required). A receiver that honours Idempotency-Key answers a repeat with the first
// answer, so a retried Job never publishes twice.
//
// In insights mode it sends a GET to GREENLIGHT_REMOTE_URL, the "url" the receiver answered
// when the post was published, which must be on WEBHOOK_URL's origin (scheme, host and port;
// https://, or http:// with --allow-http; redirects are refused):
//
//	Accept: application/json
//	Idempotency-Key: <GREENLIGHT_IDEMPOTENCY_KEY>
//	X-Greenlight-Signature: sha256=<hex HMAC-SHA256 of the request target, keyed with WEBHOOK_SECRET>
//
// The request target is the URL's path and query exactly as they appear on the request line
// ("/posts/7?view=stats"; "/" for an empty path): a GET has no body, and signing the target
// binds each signature to the post it asks about. The receiver answers 2xx with JSON
// {"likes": N, "shares": N, "replies": N, "impressions": N} ("impressions" optional, no negative
// numbers, at most 64 KiB, other fields ignored), or 404 or 410 when the post was deleted.
type webhook struct {
	url       string
	secret    []byte
	allowHTTP bool
	remote    *remote
}

func newWebhook(env func(string) string, allowHTTP bool, secrets *redactor, r *remote) (*webhook, error) {
	endpoint := strings.TrimSpace(env("WEBHOOK_URL"))
	secret := env("WEBHOOK_SECRET")
	secrets.add(endpoint, true)
	secrets.add(secret, false)
	if endpoint == "" {
		return nil, configErrorf("WEBHOOK_URL is not set: set it from a Secret to the receiver's URL")
	}
	if problem := checkEndpoint(endpoint, allowHTTP); problem != "" {
		return nil, configErrorf("WEBHOOK_URL %s", problem)
	}
	if secret == "" {
		return nil, configErrorf("WEBHOOK_SECRET is not set: the publisher refuses unsigned deliveries; " +
			"set it from a Secret to the key the receiver checks X-Greenlight-Signature with")
	}
	return &webhook{url: endpoint, secret: []byte(secret), allowHTTP: allowHTTP, remote: r}, nil
}

// signature is the X-Greenlight-Signature value for body.
func signature(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (w *webhook) deliver(ctx context.Context, p post) (publish.Result, error) {
	got, err := w.remote.do(ctx, request{
		who:    driverWebhook,
		method: http.MethodPost,
		url:    w.url,
		header: http.Header{
			headerContentType:        {mediaTypeJSON},
			"Idempotency-Key":        {p.IdempotencyKey},
			"X-Greenlight-Signature": {signature(w.secret, p.raw)},
		},
		body: p.raw,
	})
	if err != nil {
		return publish.Result{}, err
	}
	var result publish.Result
	if err := json.Unmarshal(got.body, &result); err != nil {
		return publish.Result{}, refusedf(`webhook answered %d but not with JSON {"id": "...", "url": "..."}%s`,
			got.status, remoteMessage(got.body))
	}
	if strings.TrimSpace(result.URL) == "" {
		return publish.Result{}, refusedf(`webhook answered %d without a "url": the receiver must answer {"id": "...", "url": "..."} `+
			"saying where the post was published", got.status)
	}
	return result, nil
}

// webhookFigures is a receiver's insights answer; the pointers tell a missing field from 0.
type webhookFigures struct {
	Likes       *int64 `json:"likes"`
	Shares      *int64 `json:"shares"`
	Replies     *int64 `json:"replies"`
	Impressions *int64 `json:"impressions"`
}

const webhookFiguresShape = `{"likes": N, "shares": N, "replies": N}`

func (w *webhook) insights(ctx context.Context, p post, target remotePost) (engagement, error) {
	if target.url == "" {
		return engagement{}, configErrorf("%s is not set: the webhook driver asks the receiver at the url it answered "+
			"when the post was published; the controller sets it from the channel's status url", publish.EnvRemoteURL)
	}
	if problem := checkEndpoint(target.url, w.allowHTTP); problem != "" {
		return engagement{}, configErrorf("%s %s", publish.EnvRemoteURL, problem)
	}
	u, _ := url.Parse(target.url) // checkEndpoint parsed it
	if receiver, _ := url.Parse(w.url); !strings.EqualFold(u.Scheme, receiver.Scheme) || !strings.EqualFold(u.Host, receiver.Host) {
		// The url came from the receiver's answer: asking another host would hand it the
		// signature and idempotency key, and could reach addresses the pod sees but nobody else.
		return engagement{}, configErrorf("%s is not on the receiver's own origin (the scheme, host and port of WEBHOOK_URL): "+
			"the webhook driver asks only the receiver it publishes to; answer a url on that origin when publishing", publish.EnvRemoteURL)
	}
	got, err := w.remote.do(ctx, request{
		who:    driverWebhook,
		method: http.MethodGet,
		url:    target.url,
		header: http.Header{
			"Accept":                 {mediaTypeJSON},
			"Idempotency-Key":        {p.IdempotencyKey},
			"X-Greenlight-Signature": {signature(w.secret, []byte(u.RequestURI()))},
		},
		maxAnswer:      maxInsightsAnswer,
		answerStatuses: goneStatuses,
	})
	if err != nil {
		return engagement{}, err
	}
	if got.status == http.StatusNotFound || got.status == http.StatusGone {
		return gone(target.id), nil
	}
	var figures webhookFigures
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(got.body, &figures); errors.As(err, &typeErr) && typeErr.Field != "" {
		return engagement{}, refusedf("webhook answered %d with a %q that is not a whole number: counts are whole numbers",
			got.status, typeErr.Field)
	} else if err != nil {
		return engagement{}, refusedf("webhook answered %d but not with JSON %s%s", got.status, webhookFiguresShape, remoteMessage(got.body))
	}
	for _, field := range []struct {
		name  string
		value *int64
	}{{"likes", figures.Likes}, {"shares", figures.Shares}, {"replies", figures.Replies}, {"impressions", figures.Impressions}} {
		switch {
		case field.value == nil && field.name != "impressions":
			return engagement{}, refusedf("webhook answered %d without %q: the receiver must answer %s, and may add \"impressions\"",
				got.status, field.name, webhookFiguresShape)
		case field.value != nil && *field.value < 0:
			return engagement{}, refusedf("webhook answered %d with a negative %q: counts are never negative", got.status, field.name)
		}
	}
	return engagement{Likes: *figures.Likes, Shares: *figures.Shares, Replies: *figures.Replies, Impressions: figures.Impressions}, nil
}

const schemeHTTPS = "https"

// checkEndpoint says what is wrong with an endpoint URL from the env, without quoting it.
func checkEndpoint(value string, allowHTTP bool) string {
	u, err := url.Parse(value)
	switch {
	case err != nil, u.Scheme != schemeHTTPS && u.Scheme != "http", u.Opaque != "", u.Hostname() == "":
		return "is not a valid https:// URL with a host"
	case u.Scheme == "http" && !allowHTTP:
		return "is an http:// URL; use https:// (or --allow-http for a receiver inside the cluster)"
	}
	return ""
}
