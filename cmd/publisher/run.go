package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/greenlight-operator/greenlight/internal/publish"
)

// Backoff between attempts: it doubles from initialBackoff up to maxBackoff, and a Retry-After
// answer replaces it but never exceeds maxBackoff.
const (
	initialBackoff = time.Second
	maxBackoff     = time.Minute
)

// maxPostFileSize is a ConfigMap's size limit; a larger post.json is not the controller's.
const maxPostFileSize = 1 << 20

// maxTerminationMessage keeps the failure message well inside the kubelet's 4096 bytes.
const maxTerminationMessage = 1024

// The drivers, as --driver names them. Each also names its remote side in messages.
const (
	driverWebhook  = "webhook"
	driverSlack    = "slack"
	driverMastodon = "mastodon"
)

// headerContentType is the Content-Type header's canonical name.
const headerContentType = "Content-Type"

// mediaTypeJSON is what the publisher sends, and asks for, as JSON.
const mediaTypeJSON = "application/json"

// options are the command-line flags.
type options struct {
	driver         string
	terminationLog string
	timeout        time.Duration
	mediaTimeout   time.Duration
	maxAttempts    int
	visibility     string
	language       string
	allowHTTP      bool
}

// post is post.json as the publisher read it.
type post struct {
	publish.PostFile
	// raw is post.json byte for byte: the webhook driver sends and signs exactly these bytes.
	raw []byte
}

// driver publishes a post to one kind of remote side.
type driver interface {
	deliver(ctx context.Context, p post) (publish.Result, error)
}

func (p program) run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	secrets := &redactor{}
	stdout, stderr = secrets.writer(stdout), secrets.writer(stderr)
	log := slog.New(slog.NewTextHandler(stderr, nil))

	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitPublished
	}
	mode := modePublish
	if err == nil {
		mode, err = readMode(env)
	}
	var loaded post
	if err == nil {
		loaded, err = loadPost(env)
	}
	if err == nil {
		log = log.With("post", loaded.Namespace+"/"+loaded.Name, "channel", loaded.Channel, "driver", opts.driver)
	}
	if err == nil && mode == publish.ModeInsights {
		err = checkInsightsDriver(opts.driver, loaded.Channel)
	}
	var d driver
	if err == nil {
		d, err = newDriver(opts, env, secrets, p.remote(opts, log))
	}
	var result any
	if err == nil {
		if mode == modePublish {
			result, err = publishPost(ctx, d, loaded, log)
		} else { // never publish unless asked to
			result, err = readInsights(ctx, d, opts.driver, loaded, env, log)
		}
	}
	if err != nil {
		message := secrets.redact(truncate(err.Error(), maxTerminationMessage))
		what := "Failed to publish"
		if mode == publish.ModeInsights {
			what = "Failed to read insights"
		}
		log.Error(what, "error", message)
		writeTerminationLog(log, opts.terminationLog, message)
		return exitCode(err)
	}

	data, err := json.Marshal(result)
	if err != nil { // strings and integers always encode
		panic(err)
	}
	_, _ = fmt.Fprintln(stdout, string(data))
	writeTerminationLog(log, opts.terminationLog, secrets.redact(string(data)))
	return exitPublished
}

// publishPost publishes the post and says where it now lives.
func publishPost(ctx context.Context, d driver, p post, log *slog.Logger) (publish.Result, error) {
	result, err := d.deliver(ctx, p)
	if err == nil {
		log.Info("Published post", "id", result.ID, "url", result.URL)
	}
	return result, err
}

func (p program) remote(o options, log *slog.Logger) *remote {
	return &remote{
		client:      newHTTPClient(p.rootCAs),
		timeout:     o.timeout,
		maxAttempts: o.maxAttempts,
		backoff:     initialBackoff,
		maxBackoff:  maxBackoff,
		sleep:       p.sleep,
		now:         p.now,
		log:         log,
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{terminationLog: "/dev/termination-log"}
	fs := flag.NewFlagSet("publisher", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.driver, "driver", "", "where to publish: webhook, slack or mastodon (required)")
	fs.StringVar(&o.terminationLog, "termination-log", o.terminationLog, "file that receives the result or the failure message")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit of one HTTP attempt")
	fs.DurationVar(&o.mediaTimeout, "media-timeout", 2*time.Minute, "time limit of one media download or upload attempt")
	fs.IntVar(&o.maxAttempts, "max-attempts", 5, "attempts per request; 429, 5xx and network errors are retried")
	fs.StringVar(&o.visibility, "visibility", "public", "mastodon: public, unlisted, private or direct")
	fs.StringVar(&o.language, "language", "", "mastodon: ISO 639 language of the status (default: the server decides)")
	fs.BoolVar(&o.allowHTTP, "allow-http", false,
		"webhook: also accept an http:// WEBHOOK_URL and GREENLIGHT_REMOTE_URL, for receivers inside the cluster")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, configErrorf("invalid flags: %v", err)
	}
	switch {
	case fs.NArg() > 0:
		return o, configErrorf("unexpected arguments %q: the publisher reads the post from %s, never from arguments",
			fs.Args(), publish.EnvPostFile)
	case o.driver == "":
		return o, configErrorf("--driver is required: webhook, slack or mastodon")
	case o.driver != driverWebhook && o.driver != driverSlack && o.driver != driverMastodon:
		return o, configErrorf("--driver %q is not known: use webhook, slack or mastodon", o.driver)
	case o.timeout <= 0 || o.mediaTimeout <= 0:
		return o, configErrorf("--timeout and --media-timeout must be positive")
	case o.maxAttempts < 1:
		return o, configErrorf("--max-attempts must be at least 1")
	}
	switch o.visibility {
	case "public", "unlisted", "private", "direct":
	default:
		return o, configErrorf("--visibility %q is not known: use public, unlisted, private or direct", o.visibility)
	}
	return o, nil
}

// loadPost reads post.json and checks it against the env the controller set beside it.
func loadPost(env func(string) string) (post, error) {
	path := env(publish.EnvPostFile)
	if path == "" {
		return post{}, configErrorf("%s is not set: it must name post.json, which the controller mounts at %s",
			publish.EnvPostFile, publish.PostFilePath)
	}
	raw, err := readFileLimited(path, maxPostFileSize)
	if err != nil {
		return post{}, err
	}
	file, err := publish.ParsePostFile(raw)
	if err != nil {
		return post{}, configErrorf("%s (%s)", err, path)
	}
	if channel := env(publish.EnvChannel); channel != "" && channel != file.Channel {
		return post{}, configErrorf("%s is %q but %s is for channel %q: the Job and its post file disagree",
			publish.EnvChannel, channel, path, file.Channel)
	}
	if key := env(publish.EnvIdempotencyKey); key != "" && key != file.IdempotencyKey {
		return post{}, configErrorf("%s differs from the idempotencyKey in %s: the Job and its post file disagree",
			publish.EnvIdempotencyKey, path)
	}
	return post{PostFile: file, raw: raw}, nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // G304: reading the file the controller names is the point.
	if errors.Is(err, os.ErrNotExist) {
		return nil, configErrorf("post file %s does not exist: is the post's ConfigMap mounted?", path)
	}
	if err != nil {
		return nil, configErrorf("post file %s cannot be read: %v", path, errors.Unwrap(err))
	}
	defer func() { _ = f.Close() }()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, configErrorf("post file %s cannot be read: %v", path, err)
	}
	if int64(len(raw)) > limit {
		return nil, configErrorf("post file %s is larger than %d bytes", path, limit)
	}
	return raw, nil
}

func newDriver(o options, env func(string) string, secrets *redactor, r *remote) (driver, error) {
	switch o.driver {
	case driverWebhook:
		return newWebhook(env, o.allowHTTP, secrets, r)
	case driverSlack:
		return newSlack(env, secrets, r)
	default:
		return newMastodon(env, o, secrets, r)
	}
}

// writeTerminationLog writes what the controller reads back from the pod. Failing to write it
// does not change the exit code: the post went out, or did not, either way.
func writeTerminationLog(log *slog.Logger, path, message string) {
	if path == "" {
		return
	}
	//nolint:gosec // G703: the Job's own --termination-log; writing it is the point.
	if err := os.WriteFile(path, []byte(message), 0o600); err != nil {
		log.Error("Failed to write the termination log; the controller will not see this result", "path", path, "error", err)
	}
}

func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not in the middle of a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

// failure is an error whose message is fit for the termination log, with the exit code it means.
type failure struct {
	code    int
	message string
}

func (f *failure) Error() string { return f.message }

// configErrorf reports a misconfigured Job: flags, env or post file.
func configErrorf(format string, args ...any) error {
	return &failure{code: exitConfig, message: fmt.Sprintf(format, args...)}
}

// refusedf reports a failure that another attempt with the same input cannot fix.
func refusedf(format string, args ...any) error {
	return &failure{code: exitRefused, message: fmt.Sprintf(format, args...)}
}

// retryablef reports a failure that a later attempt may not have.
func retryablef(format string, args ...any) error {
	return &failure{code: exitRetryable, message: fmt.Sprintf(format, args...)}
}

func exitCode(err error) int {
	var f *failure
	if errors.As(err, &f) {
		return f.code
	}
	return exitRetryable
}

// redactor removes credentials from everything the publisher prints or writes. The publisher
// never formats a credential or an error that quotes a URL; this is the second line of defence,
// for a remote side that echoes what it was sent.
type redactor struct {
	secrets []string
}

// minSecretLength keeps short fragments, which would redact ordinary words, off the list.
const minSecretLength = 8

// add registers a credential. For a URL it also registers the parts a server might echo on
// their own: the URL without its scheme, its path and query, and each long path segment.
func (r *redactor) add(value string, isURL bool) {
	r.addIfLong(value, minSecretLength)
	if !isURL {
		return
	}
	_, rest, ok := strings.Cut(value, "://")
	if !ok {
		return
	}
	r.addIfLong(rest, minSecretLength)
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return
	}
	r.addIfLong(rest[i:], minSecretLength)
	// Long segments look like tokens; short ones ("services", "hooks") are words.
	for _, segment := range strings.FieldsFunc(rest[i:], func(c rune) bool { return strings.ContainsRune("/?&=", c) }) {
		r.addIfLong(segment, 2*minSecretLength)
	}
}

func (r *redactor) addIfLong(value string, minLength int) {
	if len(value) >= minLength {
		r.secrets = append(r.secrets, value)
	}
}

func (r *redactor) redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

func (r *redactor) writer(w io.Writer) io.Writer { return redactingWriter{w: w, r: r} }

type redactingWriter struct {
	w io.Writer
	r *redactor
}

// Write redacts each write on its own; the logger and the result each write a line at once.
func (rw redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(rw.w, rw.r.redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
