// Command publisher publishes one approved post to one channel, or reports what a published
// post achieved. The Greenlight controller runs it in a publishing Job, built from an
// ApprovalPolicy's spec.publishing.channels[<channel>].jobTemplate, and in an insights Job from
// the same template at each offset of the channel's insights.after.
//
// Usage:
//
//	publisher --driver webhook|slack|mastodon [flags]
//
// Flags:
//
//	--driver           webhook, slack or mastodon (required)
//	--termination-log  where the result goes (default /dev/termination-log)
//	--timeout          time limit of one HTTP attempt (default 10s)
//	--media-timeout    time limit of one media download or upload attempt (default 2m)
//	--max-attempts     attempts per request, retrying 429, 5xx and network errors (default 5)
//	--visibility       mastodon: public, unlisted, private or direct (default public)
//	--language         mastodon: ISO 639 language of the status (default: the server decides)
//	--allow-http       webhook: also accept an http:// WEBHOOK_URL (and GREENLIGHT_REMOTE_URL),
//	                   for in-cluster receivers
//
// Env, set by the controller:
//
//	GREENLIGHT_POST_FILE        path of post.json (/var/run/greenlight/post.json); required
//	GREENLIGHT_CHANNEL          the channel; must equal post.json's "channel" when set
//	GREENLIGHT_IDEMPOTENCY_KEY  sent as Idempotency-Key; must equal post.json's when set
//	GREENLIGHT_MODE             publish (or unset) or insights
//	GREENLIGHT_REMOTE_ID        insights: the published post's id (mastodon: required)
//	GREENLIGHT_REMOTE_URL       insights: where the published post lives (webhook: required)
//
// Env from Secrets, per driver:
//
//	webhook:  WEBHOOK_URL, WEBHOOK_SECRET (both required; unsigned deliveries are refused)
//	slack:    SLACK_WEBHOOK_URL (required), SLACK_CHANNEL_URL (optional, reported as the url)
//	mastodon: MASTODON_SERVER (https:// base URL), MASTODON_TOKEN (both required)
//
// On success the publisher writes {"id": "...", "url": "..."} to the termination log and to
// stdout and exits 0. On failure it writes one short sentence to the termination log and exits
// 1 when the remote side may accept a later attempt (429, 5xx or network errors after every
// attempt), 2 when the Job is misconfigured (flags, env, post.json) and 3 when the remote side
// refused the post for good (any other 4xx, a redirect, an answer it cannot use, media whose
// SHA-256 differs from the reviewed one).
//
// In insights mode nothing is published: the mastodon and webhook drivers ask for the post's
// figures with a GET, with the same timeouts and retries, and write {"likes": N, "shares": N,
// "replies": N, "impressions": N} ("impressions" only when the remote side counts them) and
// exit 0. A post the remote side no longer has (404 or 410) reports zeros with "message": "the
// remote post <id> no longer exists" and exits 0. The slack driver has no insights and exits 2
// at once.
//
// Logs go to stderr. No output ever holds a token, a signing secret or an endpoint URL from the
// env: Slack webhook URLs are credentials too.
package main

import (
	"context"
	"crypto/x509"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	// Embedded CA roots, used when the image has none (a distroless or scratch image).
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/greenlight-operator/greenlight/internal/outbound"
)

// Exit codes; a Job's podFailurePolicy may fail the Job at once on exitConfig and exitRefused.
const (
	exitPublished = 0
	exitRetryable = 1
	exitConfig    = 2
	exitRefused   = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// program holds what tests replace: the clock, the waits between attempts and the CA roots.
type program struct {
	// sleep waits between attempts and between media status polls.
	sleep func(context.Context, time.Duration) error
	// now reads the time, for Retry-After given as an HTTP date.
	now func() time.Time
	// rootCAs verify servers' certificates; nil means the system's roots, or the embedded ones
	// when the system has none.
	rootCAs *x509.CertPool
}

// run publishes as args and env say and returns the exit code. env looks up an env var, as
// os.Getenv does.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	return program{sleep: outbound.Sleep, now: time.Now}.run(ctx, args, env, stdout, stderr)
}
