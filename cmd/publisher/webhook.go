package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
type webhook struct {
	url    string
	secret []byte
	remote *remote
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
	return &webhook{url: endpoint, secret: []byte(secret), remote: r}, nil
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
			headerContentType:        {"application/json"},
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
