package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

const (
	// nameHashLen is how many hex digits of a SHA-256 end a Job or ConfigMap name: enough that
	// two inputs sharing a truncated prefix never collide in practice.
	nameHashLen = 10

	// maxNameLen keeps names valid DNS labels: a Job's name becomes its pods' job-name label.
	maxNameLen = 63

	// configMapInfix sits between the post's name and the hash in a ConfigMap's name.
	configMapInfix = "-content-"

	// revisionLabelLen is how many hex digits of a revision fit the greenlight.dev/revision label
	// while staying readable next to `kubectl get -L`.
	revisionLabelLen = 16

	// idempotencyKeyHashLen is how many hex digits of a SHA-256 make an idempotency key.
	idempotencyKeyHashLen = 40
)

// JobName is the publishing Job's name for post, channel, revision ("sha256:<hex>") and attempt
// (1, 2, ...). It is deterministic, so that a retried reconcile finds the Job it created, and a
// valid DNS label of at most 63 characters: "<post>-<channel>-<hash>", where post and channel are
// truncated as needed and hash is the first 10 hex digits of sha256(post/channel/revision/attempt),
// so different inputs never share a name even when their readable parts are cut the same way.
func JobName(post, channel, revision string, attempt int32) string {
	return jobName(post, channel, fmt.Sprintf("%s/%s/%s/%d", post, channel, revision, attempt))
}

// jobName is "<post>-<channel>-<hash>" with hash the first 10 hex digits of sha256(hashInput).
func jobName(post, channel, hashInput string) string {
	hash := shortHash(hashInput, nameHashLen)
	// Two separators and the hash leave the rest for post and channel.
	budget := maxNameLen - nameHashLen - 2
	postPart, channelPart := dnsLabelPart(post), dnsLabelPart(channel)
	postLen, channelLen := splitBudget(len(postPart), len(channelPart), budget)
	return joinNonEmpty(
		trimDashes(postPart[:postLen]),
		trimDashes(channelPart[:channelLen]),
		hash,
	)
}

// ConfigMapName is the content ConfigMap's name for post and revision:
// "<post>-content-<hash>", where post is truncated as needed and hash is the first 10 hex digits
// of sha256(post/revision). It is a valid DNS label of at most 63 characters, and so also a valid
// ConfigMap name.
func ConfigMapName(post, revision string) string {
	hash := shortHash(post+"/"+revision, nameHashLen)
	postPart := dnsLabelPart(post)
	if budget := maxNameLen - len(configMapInfix) - nameHashLen; len(postPart) > budget {
		postPart = postPart[:budget]
	}
	postPart = trimDashes(postPart)
	if postPart == "" {
		return strings.TrimPrefix(configMapInfix, "-") + hash
	}
	return postPart + configMapInfix + hash
}

// IdempotencyKey is the key a publisher hands to the remote side: stable per post UID, revision
// and channel and the same across retries, so that a remote side that honours it never publishes
// the same content twice. It is "gl-" and the first 40 hex digits of
// sha256(uid + "/" + revision + "/" + channel).
func IdempotencyKey(uid types.UID, revision, channel string) string {
	return "gl-" + shortHash(string(uid)+"/"+revision+"/"+channel, idempotencyKeyHashLen)
}

// RevisionLabel is the value of the greenlight.dev/revision label for revision: its first 16 hex
// digits, without "sha256:". A full digest is too long for a label value.
func RevisionLabel(revision string) string {
	hexDigits := strings.TrimPrefix(revision, "sha256:")
	if len(hexDigits) > revisionLabelLen {
		hexDigits = hexDigits[:revisionLabelLen]
	}
	return hexDigits
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// dnsLabelPart lowers s and replaces every character a DNS label cannot hold, such as the dots
// a post's name may contain, with '-'. Truncation and trimDashes make it a label's start.
func dnsLabelPart(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		default:
			return '-'
		}
	}, s)
}

// splitBudget shares budget characters between two parts of lengths a and b: each keeps its
// length when both fit, else the shorter keeps its own and the longer gets the rest, and two long
// parts split the budget about evenly (a gets the odd character).
func splitBudget(a, b, budget int) (int, int) {
	if a+b <= budget {
		return a, b
	}
	half := budget / 2
	switch {
	case b <= half:
		return budget - b, b
	case a <= budget-half:
		return a, budget - a
	default:
		return budget - half, half
	}
}

func trimDashes(s string) string {
	return strings.Trim(s, "-")
}

func joinNonEmpty(parts ...string) string {
	kept := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "-")
}
