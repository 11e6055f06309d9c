// Package admissionfuzz fuzzes the admission webhooks' decoding of arbitrary objects. It is a
// package of its own so that fuzz workers start without the webhook package's envtest suite.
package admissionfuzz
