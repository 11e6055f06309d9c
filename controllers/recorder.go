package controllers

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// +kubebuilder:rbac:groups=core,resources=events,verbs=create

// APIEventRecorder records each Event with one create request, in the caller's goroutine.
// client-go's recorder hands Events to a single background writer through a bounded queue and
// drops them, silently, when the queue is full: under load (hundreds of posts a second) it lost
// more than half. Here the reconcile that announces a transition waits for its Event, so load
// slows reconciles down instead of losing what people read in `kubectl describe`. Its Events
// are what the core/v1 recorder writes (involvedObject, reason, message, type, count 1, first
// and last timestamps, source component), without its aggregation: Greenlight announces each
// transition once.
type APIEventRecorder struct {
	client    client.Client
	scheme    *runtime.Scheme
	component string
	instance  string
	clock     clock.PassiveClock
}

// NewAPIEventRecorder returns a recorder that writes Events as component (and instance, for
// example the pod's name).
func NewAPIEventRecorder(c client.Client, scheme *runtime.Scheme, component, instance string, clk clock.PassiveClock) *APIEventRecorder {
	return &APIEventRecorder{client: c, scheme: scheme, component: component, instance: instance, clock: clk}
}

// eventWriteAttempts bounds the retries of an Event whose create failed (the API server briefly
// unavailable, or throttling); each waits eventRetryDelay times its number.
const (
	eventWriteAttempts = 3
	eventRetryDelay    = 200 * time.Millisecond
	// maxEventMessage is the longest message the events API keeps (the events.k8s.io note limit).
	maxEventMessage = 1024
)

// Event records an Event on obj. A failure is logged, never returned: the transition it
// announces is already in the object's status.
func (r *APIEventRecorder) Event(obj runtime.Object, eventType, reason, message string) {
	ref, err := reference.GetReference(r.scheme, obj)
	if err != nil {
		logf.Log.Error(err, "Cannot record an event on an object without a reference", "reason", reason)
		return
	}
	now := metav1.NewTime(r.clock.Now())
	event := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			// client-go's naming: unique per object and moment, plus a random suffix for two
			// events in one nanosecond.
			Name:      eventName(ref.Name, now.UnixNano()),
			Namespace: ref.Namespace,
		},
		InvolvedObject:      *ref,
		Reason:              reason,
		Message:             truncate(message, maxEventMessage),
		Type:                eventType,
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		Source:              corev1.EventSource{Component: r.component},
		ReportingController: r.component,
		ReportingInstance:   r.instance,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err = r.client.Create(ctx, event.DeepCopy())
		if err == nil || attempt == eventWriteAttempts {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * eventRetryDelay):
		}
	}
	if err != nil {
		logf.Log.Error(err, "Failed to record an event", "object", ref.Namespace+"/"+ref.Name, "reason", reason, "message", message)
	}
}

// Eventf is Event with a format.
func (r *APIEventRecorder) Eventf(obj runtime.Object, eventType, reason, messageFmt string, args ...any) {
	r.Event(obj, eventType, reason, fmt.Sprintf(messageFmt, args...))
}

// AnnotatedEventf is Eventf; Greenlight's Events carry no annotations.
func (r *APIEventRecorder) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventType, reason, messageFmt string, args ...any) {
	r.Eventf(obj, eventType, reason, messageFmt, args...)
}

// eventName is unique per object and moment (client-go's naming), with a random suffix for two
// events in one nanosecond, cut to a valid name length for the longest object names.
func eventName(object string, nanos int64) string {
	suffix := fmt.Sprintf(".%x%s", nanos, rand.String(4))
	return object[:min(len(object), validation.DNS1123SubdomainMaxLength-len(suffix))] + suffix
}

// truncate shortens s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
