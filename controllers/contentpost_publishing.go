package controllers

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// publishingGate is what stands between an approved post and publishing now.
type publishingGate struct {
	// missedSlot says why the post can no longer be published on time; empty when it can.
	missedSlot string
	// frozen lists the freezes of the matching policies.
	frozen []string
	// nextWindow is when a window next allows publishing, when one blocks it now.
	nextWindow *metav1.Time
	// blockedBy says what holds publishing back now; empty when nothing does.
	blockedBy string
	// publishes says when the post publishes as things stand ("publishes at ...", "publishes when
	// the next publishing window opens at ...", "publishes once the freeze by ... is lifted"), for
	// Ready's message; empty when it is due now.
	publishes string
	// stuck is set when, as things stand, the post will never publish (no window opens within a
	// year, or the next one opens after its slot ends): a person must change the post or the
	// policy, so the post is Stalled although Scheduled.
	stuck bool
	// next is when the gate may change (a window edge, the end of the publishing slot).
	next time.Time
}

// gatePublishing checks an approved post against the matching policies' maxLateness, freezes and
// windows at now. A post is never published late: once now is past publishAt plus the strictest
// maxLateness, it has missed its slot for good.
func gatePublishing(post *greenlightv1alpha1.ContentPost, req *policy.Requirements, now time.Time) publishingGate {
	var gate publishingGate
	if post.Spec.PublishAt != nil && req.MaxLateness != nil {
		slotEnd := post.Spec.PublishAt.Add(*req.MaxLateness)
		if !now.Before(slotEnd) {
			gate.missedSlot = fmt.Sprintf("not published by %s (publishAt %s plus maxLateness %s); Greenlight never publishes late: "+
				"set a later publishAt to schedule it again", slotEnd.UTC().Format(time.RFC3339),
				post.Spec.PublishAt.UTC().Format(time.RFC3339), *req.MaxLateness)
			return gate
		}
		gate.next = slotEnd
	}
	// Publishing is due at publishAt: wake up then.
	if at := post.Spec.PublishAt; at != nil && at.After(now) && (gate.next.IsZero() || at.Time.Before(gate.next)) {
		gate.next = at.Time
	}
	gate.frozen = req.Freezes
	var blocks []string
	if len(req.Freezes) > 0 {
		blocks = append(blocks, "publishing is frozen ("+strings.Join(req.Freezes, "; ")+")")
	}
	if req.Windows != nil && !req.Windows.Allowed(now) {
		if at, ok := req.Windows.NextAllowed(now); ok {
			gate.nextWindow = &metav1.Time{Time: at.Truncate(time.Second)} // status keeps whole seconds
			blocks = append(blocks, "a publishing window opens at "+at.UTC().Format(time.RFC3339))
		} else {
			blocks = append(blocks, "no publishing window opens within a year")
		}
	}
	if req.Windows != nil {
		if edge := req.Windows.NextEdge(now); !edge.IsZero() && (gate.next.IsZero() || edge.Before(gate.next)) {
			gate.next = edge
		}
	}
	gate.blockedBy = strings.Join(blocks, "; ")
	gate.publishes, gate.stuck = publishesWhen(post, req, now)
	return gate
}

// publishesWhen says when an approved post in its slot publishes as things stand: at its
// publishAt, when a window next allows it, or once its policies' freezes are lifted (a freeze has
// no end that Greenlight could know). It is empty when the post is due now; stuck says that, as
// things stand, it never will.
func publishesWhen(post *greenlightv1alpha1.ContentPost, req *policy.Requirements, now time.Time) (message string, stuck bool) {
	at := now
	if post.Spec.PublishAt != nil && post.Spec.PublishAt.After(now) {
		at = post.Spec.PublishAt.Time
	}
	if len(req.Freezes) > 0 {
		if at.After(now) {
			return fmt.Sprintf("publishes at %s if %s lifted by then", rfc3339(at), describeFreezes(req.Freezes)), false
		}
		return fmt.Sprintf("publishes once %s lifted", describeFreezes(req.Freezes)), false
	}
	if req.Windows != nil && !req.Windows.Allowed(at) {
		next, ok := req.Windows.NextAllowed(at)
		if !ok {
			// No date: "within a year of now" would change the message, and so the status, on
			// every reconcile.
			return "will not publish: no publishing window opens within a year; change the policy's windows or the post's publishAt", true
		}
		if req.MaxLateness != nil && post.Spec.PublishAt != nil {
			if slotEnd := post.Spec.PublishAt.Add(*req.MaxLateness); !next.Before(slotEnd) {
				return fmt.Sprintf("the next publishing window opens at %s, after its slot ends at %s (publishAt plus maxLateness), "+
					"so it will expire unless publishAt or the policy's windows change", rfc3339(next), rfc3339(slotEnd)), true
			}
		}
		return "publishes when the next publishing window opens at " + rfc3339(next), false
	}
	if at.After(now) {
		return "publishes at " + rfc3339(at), false
	}
	return "", false
}

// describeFreezes names the policies of freezes ("policy: reason" each) with their reasons, as
// the subject of "is lifted".
func describeFreezes(freezes []string) string {
	parts := make([]string, 0, len(freezes))
	for _, f := range freezes {
		name, reason, _ := strings.Cut(f, ": ")
		parts = append(parts, fmt.Sprintf("%s (%q)", name, reason))
	}
	if len(parts) == 1 {
		return "the freeze by " + parts[0] + " is"
	}
	return "the freezes by " + strings.Join(parts, " and ") + " are"
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
