// Package revision computes the content digests that sign-offs are bound to.
//
// A post's revision is "sha256:" followed by the SHA-256 of a canonical JSON encoding of its
// content fields. A department's covered revision is the same over only the fields it covers,
// so that an edit voids exactly the sign-offs of the departments that cover the edited field.
//
// The encoding is canonical: fields are written in a fixed order, channels are sorted by name
// (their order carries no meaning), media keep their order (it is the order they appear in),
// and publishAt is written in UTC with second precision. Re-applying the same manifest, or
// reordering its keys or channels, never changes a digest.
package revision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Prefix starts every digest.
const Prefix = "sha256:"

// covered is the canonical encoding. A field that is not covered is absent; a covered field is
// always present, even when empty, so that covering a field is visible in the digest.
type covered struct {
	Body      *string    `json:"body,omitempty"`
	Media     *[]media   `json:"media,omitempty"`
	Channels  *[]channel `json:"channels,omitempty"`
	PublishAt *string    `json:"publishAt,omitempty"`
}

type media struct {
	URL     string `json:"url"`
	SHA256  string `json:"sha256"`
	AltText string `json:"altText"`
}

type channel struct {
	Name string `json:"name"`
	Body string `json:"body"`
}

// Of returns the revision of all of a post's content: body, media, channels and publishAt.
func Of(spec *greenlightv1alpha1.ContentPostSpec) string {
	return Covered(spec, greenlightv1alpha1.AllCoveredFields)
}

// Covered returns the digest of the fields in covers. An empty covers means all fields, as it
// does in an ApprovalPolicy.
func Covered(spec *greenlightv1alpha1.ContentPostSpec, covers []greenlightv1alpha1.CoveredField) string {
	if len(covers) == 0 {
		covers = greenlightv1alpha1.AllCoveredFields
	}
	var c covered
	for _, field := range covers {
		switch field {
		case greenlightv1alpha1.CoverBody:
			c.Body = &spec.Body
		case greenlightv1alpha1.CoverMedia:
			m := make([]media, 0, len(spec.Media))
			for _, item := range spec.Media {
				m = append(m, media{URL: item.URL, SHA256: item.SHA256, AltText: item.AltText})
			}
			c.Media = &m
		case greenlightv1alpha1.CoverChannels:
			ch := make([]channel, 0, len(spec.Channels))
			for _, item := range spec.Channels {
				ch = append(ch, channel{Name: item.Name, Body: item.Body})
			}
			slices.SortFunc(ch, func(a, b channel) int { return strings.Compare(a.Name, b.Name) })
			c.Channels = &ch
		case greenlightv1alpha1.CoverSchedule:
			at := ""
			if spec.PublishAt != nil {
				at = spec.PublishAt.UTC().Truncate(time.Second).Format(time.RFC3339)
			}
			c.PublishAt = &at
		}
	}
	// Marshalling a struct of strings and slices of strings cannot fail.
	data, _ := json.Marshal(c)
	sum := sha256.Sum256(data)
	return Prefix + hex.EncodeToString(sum[:])
}
