package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/greenlight-operator/greenlight/internal/outbound"
)

// defaultMaxAnswer bounds the answers the publisher reads, except media downloads.
const defaultMaxAnswer = 1 << 20

// maxRemoteMessage bounds how much of a remote side's error message a failure quotes.
const maxRemoteMessage = 300

// newHTTPClient returns a client that never follows redirects: a 3xx comes back as the answer,
// and the publisher refuses it. The timeout of each attempt comes from its context.
func newHTTPClient(rootCAs *x509.CertPool) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: rootCAs, MinVersion: tls.VersionTLS12}
	return &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// remote sends requests, retrying those that failed for a reason that may pass.
type remote struct {
	client *http.Client
	// timeout is the time limit of one attempt unless the request sets its own.
	timeout     time.Duration
	maxAttempts int
	backoff     time.Duration
	maxBackoff  time.Duration
	sleep       func(context.Context, time.Duration) error
	now         func() time.Time
	log         *slog.Logger
}

// request is one HTTP call, sent again as it is on each attempt.
type request struct {
	// who names the remote side in messages ("mastodon", "media[0] (cdn.example.com)"). The URL
	// never appears in a message: it may be a credential.
	who    string
	method string
	url    string
	header http.Header
	body   []byte
	// timeout overrides remote.timeout when set.
	timeout time.Duration
	// maxAnswer overrides defaultMaxAnswer when set.
	maxAnswer int64
	// answerStatuses are non-2xx statuses that come back as an answer, not as a failure, for a
	// caller that gives them a meaning of their own (a 404 in insights mode: a deleted post).
	answerStatuses []int
}

// answer is a 2xx response, or one of the request's answerStatuses, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends req until it gets a 2xx answer (or one of req.answerStatuses), a permanent
// failure, or has made maxAttempts attempts. 429, 5xx and network errors (timeouts included) are retried after a backoff that
// doubles from r.backoff up to r.maxBackoff; Retry-After replaces it, capped at r.maxBackoff.
func (r *remote) do(ctx context.Context, req request) (answer, error) {
	wait := r.backoff
	for attempt := 1; ; attempt++ {
		got, retryAfter, err := r.attempt(ctx, req)
		if err == nil {
			return got, nil
		}
		if ctx.Err() != nil {
			return answer{}, retryablef("stopped before %s answered: %v", req.who, context.Cause(ctx))
		}
		if exitCode(err) != exitRetryable {
			return answer{}, err
		}
		if attempt >= r.maxAttempts {
			return answer{}, retryablef("%v (gave up after %s)", err, attempts(attempt))
		}
		pause := wait
		if retryAfter > 0 {
			pause = retryAfter
		}
		r.log.Info("Retrying request", "remote", req.who, "attempt", attempt, "wait", pause, "reason", err.Error())
		if err := r.sleep(ctx, pause); err != nil {
			return answer{}, retryablef("stopped while waiting to retry %s: %v", req.who, err)
		}
		wait = min(2*wait, r.maxBackoff)
	}
}

// attempt sends req once. It returns how long the remote side asked to wait before the next
// attempt, if it did. No error it returns quotes the URL.
func (r *remote) attempt(ctx context.Context, req request) (answer, time.Duration, error) {
	timeout := req.timeout
	if timeout == 0 {
		timeout = r.timeout
	}
	maxAnswer := req.maxAnswer
	if maxAnswer == 0 {
		maxAnswer = defaultMaxAnswer
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil { // its text quotes the URL
		return answer{}, 0, configErrorf("the URL of %s cannot be requested", req.who)
	}
	for name, values := range req.header {
		httpReq.Header[name] = values
	}
	resp, err := r.client.Do(httpReq)
	if err != nil {
		return answer{}, 0, retryablef("%s", outbound.DescribeTransportError(err, req.who, timeout))
	}
	defer func() { _ = resp.Body.Close() }()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	// The status text is the standard one, not the remote side's, which could say anything.
	status := strings.TrimSpace(fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300, slices.Contains(req.answerStatuses, code):
		if readErr != nil {
			return answer{}, 0, retryablef("%s answered %s but its body could not be read: %s",
				req.who, status, outbound.DescribeTransportError(readErr, req.who, timeout))
		}
		if int64(len(data)) > maxAnswer {
			return answer{}, 0, refusedf("%s answered %s with more than %s", req.who, status, byteSize(maxAnswer))
		}
		return answer{status: code, header: resp.Header, body: data}, 0, nil
	case code >= 300 && code < 400:
		return answer{}, 0, refusedf("%s answered %s; redirects are not followed, configure the final URL", req.who, status)
	case code == http.StatusTooManyRequests || code >= 500:
		return answer{}, r.retryAfter(resp.Header.Get("Retry-After")), retryablef("%s answered %s%s", req.who, status, remoteMessage(data))
	default:
		return answer{}, 0, refusedf("%s answered %s%s", req.who, status, remoteMessage(data))
	}
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date, capped at r.maxBackoff
// so that a remote side cannot hold the Job for longer than the publisher would wait anyway.
func (r *remote) retryAfter(header string) time.Duration {
	return outbound.RetryAfter(header, r.now(), r.maxBackoff)
}

// remoteMessage returns ": " and a bounded, single-line excerpt of an error answer's body, or
// nothing for an empty body. From a JSON body it takes the usual message fields.
func remoteMessage(body []byte) string {
	text := strings.TrimSpace(string(body))
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil {
		var parts []string
		for _, key := range []string{"error", "error_description", "message", "detail"} {
			if s, ok := fields[key].(string); ok && strings.TrimSpace(s) != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) > 0 {
			text = strings.Join(parts, ": ")
		}
	}
	text = strings.Join(strings.FieldsFunc(text, func(c rune) bool { return unicode.IsSpace(c) || !unicode.IsPrint(c) }), " ")
	if text == "" {
		return ""
	}
	return ": " + truncate(text, maxRemoteMessage)
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func byteSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
