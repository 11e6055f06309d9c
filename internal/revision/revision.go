// Package revision computes the content digests that sign-offs are bound to.
//
// A post's revision is "sha256:" followed by the SHA-256 of a canonical encoding of its content
// fields. A department's covered revision is the same over only the fields it covers, so that an
// edit voids exactly the sign-offs of the departments that cover the edited field.
//
// The encoding is canonical and unambiguous: every string is written as its length and its raw
// bytes (so no two different texts, not even invalid UTF-8, encode alike), fields are written in a
// fixed order, channels are sorted by name (their order carries no meaning), media keep their
// order (it is the order they appear in), and publishAt is written in UTC with second precision.
// Re-applying the same manifest, or reordering its keys or channels, never changes a digest.
//
// The body field covers the text as it goes out on every channel: spec.body and each channel's
// body variant. A reviewer who approved the body has approved every text that will be published.
package revision

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strings"
	"time"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Prefix starts every digest.
const Prefix = "sha256:"

// encodingVersion separates this encoding's digests from any other's.
const encodingVersion = "greenlight.dev/revision/v2"

// Of returns the revision of all of a post's content: body, media, channels and publishAt.
func Of(spec *greenlightv1alpha1.ContentPostSpec) string {
	return Covered(spec, greenlightv1alpha1.AllCoveredFields)
}

// Covered returns the digest of the fields in covers. An empty covers means all fields, as it
// does in an ApprovalPolicy. A covered field is always written, even when empty, so that covering
// a field is visible in the digest.
func Covered(spec *greenlightv1alpha1.ContentPostSpec, covers []greenlightv1alpha1.CoveredField) string {
	if len(covers) == 0 {
		covers = greenlightv1alpha1.AllCoveredFields
	}
	e := encoder{h: sha256.New()}
	e.string(encodingVersion)
	// Fields in canonical order, whatever the order of covers.
	for _, field := range greenlightv1alpha1.AllCoveredFields {
		if !slices.Contains(covers, field) {
			continue
		}
		e.string(string(field))
		switch field {
		case greenlightv1alpha1.CoverBody:
			e.string(spec.Body)
			variants := sortedChannels(spec.Channels)
			variants = slices.DeleteFunc(variants, func(c greenlightv1alpha1.Channel) bool { return c.Body == "" })
			e.count(len(variants))
			for _, c := range variants {
				e.string(c.Name)
				e.string(c.Body)
			}
		case greenlightv1alpha1.CoverMedia:
			e.count(len(spec.Media))
			for _, m := range spec.Media {
				e.string(m.URL)
				e.string(m.SHA256)
				e.string(m.AltText)
			}
		case greenlightv1alpha1.CoverChannels:
			channels := sortedChannels(spec.Channels)
			e.count(len(channels))
			for _, c := range channels {
				e.string(c.Name)
				e.string(c.Body)
			}
		case greenlightv1alpha1.CoverSchedule:
			at := ""
			if spec.PublishAt != nil {
				at = spec.PublishAt.UTC().Truncate(time.Second).Format(time.RFC3339)
			}
			e.string(at)
		}
	}
	return Prefix + hex.EncodeToString(e.h.Sum(nil))
}

func sortedChannels(channels []greenlightv1alpha1.Channel) []greenlightv1alpha1.Channel {
	sorted := slices.Clone(channels)
	slices.SortStableFunc(sorted, func(a, b greenlightv1alpha1.Channel) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Body, b.Body)
	})
	return sorted
}

// encoder writes length-prefixed values, so that no two different sequences encode alike.
type encoder struct{ h hash.Hash }

func (e encoder) count(n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n)) //nolint:gosec // G115: n is a length, never negative

	e.h.Write(b[:])
}

func (e encoder) string(s string) {
	e.count(len(s))
	e.h.Write([]byte(s))
}
