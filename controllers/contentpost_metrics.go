package controllers

import (
	"context"
	"maps"
	"slices"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/metrics"
)

// recordObservations writes into the new status what the metrics count from it: when the post's
// first review began, and which SignOffs' responses are counted. The metrics themselves are
// observed only once the status that records them is written (observeWrite).
func (r *ContentPostReconciler) recordObservations(_ context.Context, scope *postScope) (bool, error) {
	status := scope.status
	status.ReviewStartedAt = metrics.ReviewStartedAt(status.ReviewStartedAt, status.Departments)
	counted := map[string]bool{}
	for name, v := range scope.verdicts {
		counted[name] = v.Counted
	}
	status.ObservedSignOffs = metrics.RecordResponses(status.ObservedSignOffs, metrics.Responses{
		PostUID: scope.post.UID, SignOffs: r.responses(scope.post, scope.in.signOffs), Counted: counted,
		Labels: metricLabels(scope.in, status),
	})
	return false, nil
}

// observeWrite counts the events that the status write from old to the post's status recorded
// for the first time. Call it only after that write succeeded.
func (r *ContentPostReconciler) observeWrite(scope *postScope, old *greenlightv1alpha1.ContentPostStatus) {
	if r.metrics == nil {
		return
	}
	updated := &scope.post.Status
	r.metrics.Record(metrics.Observe(old, updated, metrics.Context{
		Now: scope.now, SignOffs: r.responses(scope.post, scope.in.signOffs), Labels: metricLabels(scope.in, updated),
	}))
}

// metricLabels are the departments and channels the post's policies define: the only label
// values its metrics may have. Without the policies (a blocked post), the status's departments
// and channels, which Greenlight wrote from them, stand in.
func metricLabels(in reviewInputs, status *greenlightv1alpha1.ContentPostStatus) metrics.Labels {
	var labels metrics.Labels
	if in.requirements != nil {
		for _, d := range in.requirements.Departments {
			labels.Departments = append(labels.Departments, d.Name)
		}
		labels.Channels = slices.Sorted(maps.Keys(in.requirements.Publishers))
		return labels
	}
	for _, d := range status.Departments {
		labels.Departments = append(labels.Departments, d.Name)
	}
	for _, ch := range status.Channels {
		labels.Channels = append(labels.Channels, ch.Name)
	}
	return labels
}
