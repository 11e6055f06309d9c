package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/greenlight-operator/greenlight/internal/publish"
)

const (
	// maxMediaSize is the largest medium the publisher downloads; Mastodon's own limits (16 MB
	// for images, 99 MB for video by default) are enforced by the server.
	maxMediaSize = 40 << 20
	// maxMediaChecks bounds how often the publisher asks whether an upload has been processed;
	// with waits from mediaCheckWait doubling up to maxMediaCheckWait, about five minutes.
	maxMediaChecks    = 32
	mediaCheckWait    = time.Second
	maxMediaCheckWait = 10 * time.Second
)

// mastodon publishes a status with the REST API of MASTODON_SERVER, authenticated with the
// access token MASTODON_TOKEN (scope write:statuses and write:media):
//
//  1. each medium is downloaded over https, checked against its pinned SHA-256 and uploaded
//     with POST /api/v2/media (file, description = altText); a 202 answer means the server is
//     still processing it, and GET /api/v1/media/:id is asked until it answers 200;
//  2. POST /api/v1/statuses with status, media_ids, visibility and language, and the header
//     Idempotency-Key, which Mastodon keeps for an hour: a repeat returns the first status.
//
// The result is the status's id and url.
//
// In insights mode it asks GET /api/v1/statuses/:id for the status GREENLIGHT_REMOTE_ID names,
// on the same server and with the same token (which then also needs the scope read:statuses),
// and reports likes = favourites_count, shares = reblogs_count, replies = replies_count;
// Mastodon counts no impressions. A 404 or 410 means the status was deleted.
type mastodon struct {
	server       string
	token        string
	visibility   string
	language     string
	mediaTimeout time.Duration
	remote       *remote
}

func newMastodon(env func(string) string, o options, secrets *redactor, r *remote) (*mastodon, error) {
	server := strings.TrimRight(strings.TrimSpace(env("MASTODON_SERVER")), "/")
	token := strings.TrimSpace(env("MASTODON_TOKEN"))
	secrets.add(token, false)
	if server == "" {
		return nil, configErrorf("MASTODON_SERVER is not set: set it to the server's base URL, such as https://mastodon.social")
	}
	u, err := url.Parse(server)
	if err != nil || u.Scheme != schemeHTTPS || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, configErrorf("MASTODON_SERVER is not an https:// base URL such as https://mastodon.social")
	}
	if token == "" {
		return nil, configErrorf("MASTODON_TOKEN is not set: " +
			"set it from a Secret to an access token with the scopes write:statuses and write:media")
	}
	return &mastodon{
		server:       server,
		token:        token,
		visibility:   o.visibility,
		language:     o.language,
		mediaTimeout: o.mediaTimeout,
		remote:       r,
	}, nil
}

// mastodonAttachment is the part of a MediaAttachment the publisher reads.
type mastodonAttachment struct {
	ID string `json:"id"`
	// URL is null while the server is still processing the file.
	URL *string `json:"url"`
}

// mastodonStatus is the part of a Status the publisher reads.
type mastodonStatus struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	URI string `json:"uri"`
}

func (m *mastodon) deliver(ctx context.Context, p post) (publish.Result, error) {
	mediaIDs := []string{}
	for i, medium := range p.Media {
		id, err := m.attach(ctx, i, medium)
		if err != nil {
			return publish.Result{}, err
		}
		mediaIDs = append(mediaIDs, id)
	}
	body, err := json.Marshal(struct {
		Status     string   `json:"status"`
		MediaIDs   []string `json:"media_ids,omitempty"`
		Visibility string   `json:"visibility"`
		Language   string   `json:"language,omitempty"`
	}{Status: p.Body, MediaIDs: mediaIDs, Visibility: m.visibility, Language: m.language})
	if err != nil {
		return publish.Result{}, refusedf("the status cannot be encoded: %v", err)
	}
	header := m.header()
	header.Set(headerContentType, mediaTypeJSON)
	header.Set("Idempotency-Key", p.IdempotencyKey)
	got, err := m.remote.do(ctx, request{
		who:    driverMastodon,
		method: http.MethodPost,
		url:    m.server + "/api/v1/statuses",
		header: header,
		body:   body,
	})
	if err != nil {
		return publish.Result{}, err
	}
	var status mastodonStatus
	if err := json.Unmarshal(got.body, &status); err != nil || status.ID == "" {
		return publish.Result{}, refusedf("mastodon answered %d to the new status but not with a status", got.status)
	}
	result := publish.Result{ID: status.ID, URL: status.URL}
	if result.URL == "" {
		result.URL = status.URI
	}
	return result, nil
}

func (m *mastodon) header() http.Header {
	return http.Header{"Authorization": {"Bearer " + m.token}}
}

// attach uploads medium number i of the post and returns its media id once the server has
// processed it.
func (m *mastodon) attach(ctx context.Context, i int, medium publish.Medium) (string, error) {
	u, err := url.Parse(medium.URL)
	if err != nil || u.Scheme != schemeHTTPS || u.Hostname() == "" {
		return "", refusedf("media[%d] is not an https:// URL; the publisher downloads media over https only", i)
	}
	who := fmt.Sprintf("media[%d] (%s)", i, u.Hostname())
	file, err := m.remote.do(ctx, request{
		who:       who,
		method:    http.MethodGet,
		url:       medium.URL,
		timeout:   m.mediaTimeout,
		maxAnswer: maxMediaSize,
	})
	if err != nil {
		return "", err
	}
	if medium.SHA256 != "" {
		sum := sha256.Sum256(file.body)
		if got := hex.EncodeToString(sum[:]); got != medium.SHA256 {
			return "", refusedf("%s has SHA-256 %s but the post pins %s: the file changed after it was reviewed, so nothing was published",
				who, got, medium.SHA256)
		}
	}

	body, contentType, err := mediaForm(file, path.Base(u.Path), medium.AltText)
	if err != nil {
		return "", refusedf("media[%d] cannot be encoded for upload: %v", i, err)
	}
	header := m.header()
	header.Set(headerContentType, contentType)
	got, err := m.remote.do(ctx, request{
		who:     driverMastodon,
		method:  http.MethodPost,
		url:     m.server + "/api/v2/media",
		header:  header,
		body:    body,
		timeout: m.mediaTimeout,
	})
	if err != nil {
		return "", err
	}
	var attachment mastodonAttachment
	if err := json.Unmarshal(got.body, &attachment); err != nil || attachment.ID == "" {
		return "", refusedf("mastodon answered %d to the upload of media[%d] but not with a media attachment", got.status, i)
	}
	if got.status == http.StatusAccepted || attachment.URL == nil {
		return attachment.ID, m.awaitProcessing(ctx, i, attachment.ID)
	}
	return attachment.ID, nil
}

// awaitProcessing asks for an uploaded medium until the server says it is ready (200; 206
// means it is still processing).
func (m *mastodon) awaitProcessing(ctx context.Context, i int, id string) error {
	wait := mediaCheckWait
	for range maxMediaChecks {
		if err := m.remote.sleep(ctx, wait); err != nil {
			return retryablef("stopped while mastodon was processing media[%d]: %v", i, err)
		}
		got, err := m.remote.do(ctx, request{
			who:    driverMastodon,
			method: http.MethodGet,
			url:    m.server + "/api/v1/media/" + url.PathEscape(id),
			header: m.header(),
		})
		if err != nil {
			return err
		}
		if got.status == http.StatusOK {
			return nil
		}
		wait = min(2*wait, maxMediaCheckWait)
	}
	return retryablef("mastodon was still processing media[%d] after %d checks", i, maxMediaChecks)
}

// mediaForm is the multipart body of POST /api/v2/media.
func mediaForm(file answer, name, description string) ([]byte, string, error) {
	if name == "" || name == "/" || name == "." {
		name = "media"
	}
	contentType, _, err := mime.ParseMediaType(file.header.Get(headerContentType))
	if err != nil || contentType == "application/octet-stream" || !strings.Contains(contentType, "/") {
		contentType = http.DetectContentType(file.body)
	}
	var buf bytes.Buffer
	form := multipart.NewWriter(&buf)
	part, err := form.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": name})},
		headerContentType:     {contentType},
	})
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(file.body); err != nil {
		return nil, "", err
	}
	if description != "" {
		if err := form.WriteField("description", description); err != nil {
			return nil, "", err
		}
	}
	if err := form.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), form.FormDataContentType(), nil
}

// mastodonCounters are the counters of a Status; a status always has all three.
type mastodonCounters struct {
	ID         string `json:"id"`
	Favourites *int64 `json:"favourites_count"`
	Reblogs    *int64 `json:"reblogs_count"`
	Replies    *int64 `json:"replies_count"`
}

func (m *mastodon) insights(ctx context.Context, _ post, target remotePost) (engagement, error) {
	if target.id == "" {
		return engagement{}, configErrorf("%s is not set: the mastodon driver reads the counters of the status with this id; "+
			"the controller sets it from the channel's status id", publish.EnvRemoteID)
	}
	got, err := m.remote.do(ctx, request{
		who:            driverMastodon,
		method:         http.MethodGet,
		url:            m.server + "/api/v1/statuses/" + url.PathEscape(target.id),
		header:         m.header(),
		answerStatuses: goneStatuses,
	})
	if err != nil {
		return engagement{}, err
	}
	if got.status == http.StatusNotFound || got.status == http.StatusGone {
		return gone(target.id), nil
	}
	var status mastodonCounters
	if err := json.Unmarshal(got.body, &status); err != nil || status.ID == "" ||
		status.Favourites == nil || status.Reblogs == nil || status.Replies == nil {
		return engagement{}, refusedf("mastodon answered %d to the request for status %s but not with a status and its counters",
			got.status, target.id)
	}
	if *status.Favourites < 0 || *status.Reblogs < 0 || *status.Replies < 0 {
		return engagement{}, refusedf("mastodon answered negative counters for status %s", target.id)
	}
	return engagement{Likes: *status.Favourites, Shares: *status.Reblogs, Replies: *status.Replies}, nil
}
