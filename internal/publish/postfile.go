package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The contract between the controller and a publishing Job's containers. The controller writes
// a PostFile as post.json into an immutable ConfigMap owned by the post, mounts it at
// PostFilePath in every container of the Job and sets the env vars below; the publisher reads
// it and reports where the post now lives as a Result in its termination message.
const (
	// PostFilePath is where post.json is mounted in every container of a publishing Job.
	PostFilePath = "/var/run/greenlight/post.json"

	// EnvPostFile names the env var that holds the path of post.json (PostFilePath).
	EnvPostFile = "GREENLIGHT_POST_FILE"

	// EnvChannel names the env var that holds the channel the Job publishes to. It always equals
	// post.json's "channel".
	EnvChannel = "GREENLIGHT_CHANNEL"

	// EnvIdempotencyKey names the env var that holds the idempotency key: stable per post UID,
	// revision and channel, and the same across retries, so a remote side that honours it never
	// publishes twice. It always equals post.json's "idempotencyKey".
	EnvIdempotencyKey = "GREENLIGHT_IDEMPOTENCY_KEY"
)

// PostFile is post.json: the approved content of one post for one channel.
//
// It encodes as {"namespace", "name", "uid", "revision", "channel", "body", "media": [{"url",
// "sha256", "altText"}], "publishAt", "campaign", "idempotencyKey"}. "media" is always an array,
// empty when the post has none; "publishAt" and "campaign" are left out when unset; every other
// field is always present, empty when it has no value. Readers must ignore fields they do not
// know: later versions may add some.
type PostFile struct {
	// Namespace is the post's namespace.
	Namespace string `json:"namespace"`
	// Name is the post's name.
	Name string `json:"name"`
	// UID is the post's metadata.uid.
	UID string `json:"uid"`
	// Revision is the full digest of the approved content, "sha256:" and 64 lowercase hex digits.
	Revision string `json:"revision"`
	// Channel is the channel this file is for, such as "mastodon".
	Channel string `json:"channel"`
	// Body is the text to publish: the channel's variant when the post has one, else its body.
	Body string `json:"body"`
	// Media are the assets to attach, in order.
	Media []Medium `json:"media"`
	// PublishAt is when the post was scheduled for; zero when it was to go out at once. It
	// encodes as an RFC 3339 string in UTC.
	PublishAt time.Time `json:"publishAt,omitzero"`
	// Campaign is the campaign the post belongs to, if any.
	Campaign string `json:"campaign,omitempty"`
	// IdempotencyKey is the key a publisher hands to the remote side (see EnvIdempotencyKey).
	IdempotencyKey string `json:"idempotencyKey"`
}

// Medium is one asset of a post, as reviewed.
type Medium struct {
	// URL is where the asset is served from, an https:// URL.
	URL string `json:"url"`
	// SHA256 is the lowercase hex SHA-256 of the asset's bytes when the post pins them, else
	// empty. A publisher that uploads the asset must refuse bytes with another digest: they are
	// not what the reviewers approved.
	SHA256 string `json:"sha256"`
	// AltText describes the asset for people who cannot see it; may be empty.
	AltText string `json:"altText"`
}

// MarshalJSON encodes the file as the contract says: "media" as an array even when there is
// none, and "publishAt" in UTC.
func (p PostFile) MarshalJSON() ([]byte, error) {
	type plain PostFile // the same fields without this method
	if p.Media == nil {
		p.Media = []Medium{}
	}
	if !p.PublishAt.IsZero() {
		p.PublishAt = p.PublishAt.UTC()
	}
	return json.Marshal(plain(p))
}

var (
	revisionPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	sha256Pattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ParsePostFile decodes post.json and checks that it holds what every publisher relies on. Its
// errors name the field at fault and never quote the content.
func ParsePostFile(data []byte) (PostFile, error) {
	var p PostFile
	if err := json.Unmarshal(data, &p); err != nil {
		return PostFile{}, fmt.Errorf("post file is not valid JSON: %w", err)
	}
	return p, p.Validate()
}

// Validate reports the first field of a post file that a publisher cannot work with.
func (p PostFile) Validate() error {
	var problems []string
	for _, required := range []struct{ field, value string }{
		{"namespace", p.Namespace},
		{"name", p.Name},
		{"uid", p.UID},
		{"channel", p.Channel},
		{"idempotencyKey", p.IdempotencyKey},
	} {
		if strings.TrimSpace(required.value) == "" {
			problems = append(problems, fmt.Sprintf("%q is empty", required.field))
		}
	}
	if !revisionPattern.MatchString(p.Revision) {
		problems = append(problems, `"revision" is not "sha256:" followed by 64 lowercase hex digits`)
	}
	for i, m := range p.Media {
		if strings.TrimSpace(m.URL) == "" {
			problems = append(problems, fmt.Sprintf(`"media[%d].url" is empty`, i))
		}
		if m.SHA256 != "" && !sha256Pattern.MatchString(m.SHA256) {
			problems = append(problems, fmt.Sprintf(`"media[%d].sha256" is not 64 lowercase hex digits`, i))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("post file is incomplete: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Result is the termination message of a publisher that succeeded: where the post now lives.
// The controller copies it into the post's status.channels[].
type Result struct {
	// ID is the remote side's identifier of the published post; may be empty.
	ID string `json:"id"`
	// URL is where people can see the published post.
	URL string `json:"url"`
}

// maxQuoted bounds how much of a malformed termination message an error quotes.
const maxQuoted = 120

// ParseResult decodes a publisher's termination message. The error says what is wrong in a
// sentence fit for status.channels[].message; it quotes at most the start of the message.
func ParseResult(message []byte) (Result, error) {
	trimmed := strings.TrimSpace(string(message))
	if trimmed == "" {
		return Result{}, errors.New(`the publisher left no termination message; expected JSON {"id": "...", "url": "..."}`)
	}
	var r Result
	if err := json.Unmarshal([]byte(trimmed), &r); err != nil {
		return Result{}, fmt.Errorf(`the publisher's termination message is not JSON {"id": "...", "url": "..."}: %q`, excerpt(trimmed))
	}
	if strings.TrimSpace(r.URL) == "" {
		return Result{}, errors.New(`the publisher's termination message has no "url"; it must say where the post was published`)
	}
	// The URL is shown to people: an absolute URL (with a scheme, such as https: or the slack
	// driver's slack:), which url.Parse refuses when it holds control characters.
	if u, err := url.Parse(r.URL); err != nil || u.Scheme == "" || strings.ContainsFunc(r.URL, unicode.IsControl) {
		return Result{}, fmt.Errorf(`the publisher's "url" is not an absolute URL: %q`, excerpt(r.URL))
	}
	if strings.ContainsFunc(r.ID, unicode.IsControl) {
		return Result{}, fmt.Errorf(`the publisher's "id" holds control characters: %q`, excerpt(r.ID))
	}
	return r, nil
}

func excerpt(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
