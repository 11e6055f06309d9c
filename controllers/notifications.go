package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// Notifier queues notifications without blocking (internal/notify).
type Notifier interface {
	Send(target notify.Target, event notify.Event) bool
}

// NotificationHealth reports the current delivery failures of a policy's notifications.
type NotificationHealth interface {
	Failures(namespace, policyName string) map[string]string
}

// notifyPolicies sends each event to the notifications of the matching policies that list its
// type. It runs after the status write that recorded the transitions, and each event's key
// names the transition, so a restarted manager never announces one again (at most once).
func notifyPolicies(notifier Notifier, post *greenlightv1alpha1.ContentPost, notifications []policy.Notification,
	events []postEvent, now time.Time) {
	if notifier == nil {
		return
	}
	for _, e := range events {
		eventType, ok := notificationTypes[e.reason]
		if !ok {
			continue
		}
		sum := sha256.Sum256([]byte(e.message))
		event := notify.Event{
			Key:        string(post.UID) + "/" + e.reason + "/" + e.department + "/" + hex.EncodeToString(sum[:8]),
			Type:       eventType,
			Namespace:  post.Namespace,
			Post:       post.Name,
			Department: e.department,
			Message:    e.message,
			Time:       now.UTC().Truncate(time.Second),
		}
		for _, n := range notifications {
			if slices.Contains(n.Events, eventType) {
				notifier.Send(notify.Target{Namespace: post.Namespace, Policy: n.Policy, Notification: n.Notification}, event)
			}
		}
	}
}
