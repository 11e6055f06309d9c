package metrics

import (
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Observation is one event to count: Metric names the metric, the other fields are its labels
// and value.
type Observation struct {
	Metric     string
	Department string
	Decision   string
	Channel    string
	Result     string
	Seconds    float64
}

// Labels are the label values a post may give: the departments and channels its policies
// define. Nothing a user writes into a SignOff or a post's spec becomes a label value unless a
// policy defines it, so the series are bounded by the policies, never by posts or SignOffs.
type Labels struct {
	Departments []string
	Channels    []string
}

// Context is what Observe needs besides the two statuses.
type Context struct {
	// Now is when the write was computed: the moment of approval.
	Now time.Time
	// SignOffs are the post's SignOffs, for the decision and response time of those first
	// recorded in observedSignOffs.
	SignOffs []greenlightv1alpha1.SignOff
	Labels   Labels
}

// Observe returns the events that the write from old (the stored status the write replaced) to
// updated (the status written) records for the first time:
//   - each SignOff UID new in observedSignOffs: its response time, by department and decision;
//   - the Approved condition turning True, or True for a new revision: the time since
//     reviewStartedAt;
//   - each entry new in missedDeadlines: a missed deadline of its department;
//   - each channel whose state became Succeeded or Failed for an attempt the old status did not
//     show finished: a publish result.
//
// Anything old already recorded is not observed again, so a reconcile that repeats a write, a
// restarted manager or a new leader counts nothing twice.
func Observe(old, updated *greenlightv1alpha1.ContentPostStatus, c Context) []Observation {
	out := responses(old, updated, c)
	if approved(updated) && (!approved(old) || old.Revision != updated.Revision) && updated.ReviewStartedAt != nil {
		out = append(out, Observation{Metric: TimeToApprovalSeconds, Seconds: max(c.Now.Sub(updated.ReviewStartedAt.Time).Seconds(), 0)})
	}
	out = append(out, missedDeadlines(old, updated, c.Labels)...)
	return append(out, publishResults(old, updated, c.Labels)...)
}

// responses are the response times of the SignOffs new in observedSignOffs.
func responses(old, updated *greenlightv1alpha1.ContentPostStatus, c Context) []Observation {
	var out []Observation
	for _, uid := range updated.ObservedSignOffs {
		if slices.Contains(old.ObservedSignOffs, uid) {
			continue
		}
		i := slices.IndexFunc(c.SignOffs, func(s greenlightv1alpha1.SignOff) bool { return string(s.UID) == uid })
		if i < 0 {
			continue
		}
		s := &c.SignOffs[i]
		if s.Status.RespondedAfter == nil || !slices.Contains(c.Labels.Departments, s.Spec.Department) || !validDecision(s.Spec.Decision) {
			continue
		}
		out = append(out, Observation{Metric: SignOffResponseSeconds, Department: s.Spec.Department,
			Decision: string(s.Spec.Decision), Seconds: s.Status.RespondedAfter.Seconds()})
	}
	return out
}

// missedDeadlines are the entries new in missedDeadlines.
func missedDeadlines(old, updated *greenlightv1alpha1.ContentPostStatus, labels Labels) []Observation {
	var out []Observation
	for _, m := range updated.MissedDeadlines {
		recorded := slices.ContainsFunc(old.MissedDeadlines, func(o greenlightv1alpha1.MissedDeadline) bool {
			return o.Department == m.Department && o.Deadline.Equal(&m.Deadline)
		})
		if !recorded && slices.Contains(labels.Departments, m.Department) {
			out = append(out, Observation{Metric: DeadlineMissedTotal, Department: m.Department})
		}
	}
	return out
}

// publishResults are the channels whose attempt finished in this write.
func publishResults(old, updated *greenlightv1alpha1.ContentPostStatus, labels Labels) []Observation {
	var out []Observation
	for _, ch := range updated.Channels {
		result := publishResult(ch.State)
		if result == "" || !slices.Contains(labels.Channels, ch.Name) {
			continue
		}
		i := slices.IndexFunc(old.Channels, func(o greenlightv1alpha1.ChannelStatus) bool { return o.Name == ch.Name })
		if i >= 0 && old.Channels[i].Attempts == ch.Attempts && old.Channels[i].State == ch.State {
			continue
		}
		out = append(out, Observation{Metric: PublishTotal, Channel: ch.Name, Result: result})
	}
	return out
}

func approved(status *greenlightv1alpha1.ContentPostStatus) bool {
	return meta.IsStatusConditionTrue(status.Conditions, greenlightv1alpha1.ConditionApproved)
}

func publishResult(state greenlightv1alpha1.PublishState) string {
	switch state {
	case greenlightv1alpha1.PublishSucceeded:
		return ResultSucceeded
	case greenlightv1alpha1.PublishFailed:
		return ResultFailed
	}
	return ""
}

func validDecision(d greenlightv1alpha1.Decision) bool {
	return d == greenlightv1alpha1.DecisionApprove || d == greenlightv1alpha1.DecisionRequestChanges || d == greenlightv1alpha1.DecisionReject
}

// MaxObservedSignOffs bounds status.observedSignOffs (its CRD MaxItems). A post with more
// SignOffs than that has the response times of the first ones counted, never one twice.
const MaxObservedSignOffs = 5000

// Responses is what RecordResponses decides from.
type Responses struct {
	// PostUID is the post's UID: only SignOffs bound to it (label greenlight.dev/post-uid) are
	// its responses.
	PostUID types.UID
	// SignOffs are the SignOffs naming the post, as the cache lists them.
	SignOffs []greenlightv1alpha1.SignOff
	// Counted names the SignOffs that count in this reconcile's review (nil once publishing
	// began); a SignOff whose stored Counted condition is True counts too (admission wrote it).
	Counted map[string]bool
	Labels  Labels
}

// RecordResponses returns status.observedSignOffs after this reconcile: the recorded UIDs of
// SignOffs that still exist (a deleted SignOff never comes back: UIDs are unique), then each
// SignOff that is a response to count and not recorded yet, in the order listed. A response is a
// SignOff bound to the post, for a department its policies define, with a valid decision and its
// respondedAfter written, that counts or counted when admitted: a SignOff that never counted (a
// forgery while the webhooks were down) is no response.
func RecordResponses(recorded []string, in Responses) []string {
	// Sets, so that a post with thousands of SignOffs costs linear time per reconcile.
	exists := make(map[string]bool, len(in.SignOffs))
	for i := range in.SignOffs {
		exists[string(in.SignOffs[i].UID)] = true
	}
	out := slices.DeleteFunc(slices.Clone(recorded), func(uid string) bool { return !exists[uid] })
	seen := make(map[string]bool, len(out))
	for _, uid := range out {
		seen[uid] = true
	}
	for i := range in.SignOffs {
		s := &in.SignOffs[i]
		if len(out) >= MaxObservedSignOffs || seen[string(s.UID)] || !isResponse(s, in) {
			continue
		}
		out = append(out, string(s.UID))
		seen[string(s.UID)] = true
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func isResponse(s *greenlightv1alpha1.SignOff, in Responses) bool {
	counts := in.Counted[s.Name] || meta.IsStatusConditionTrue(s.Status.Conditions, greenlightv1alpha1.ConditionCounted)
	return s.UID != "" && s.Labels[greenlightv1alpha1.LabelPostUID] == string(in.PostUID) && s.Status.RespondedAfter != nil &&
		slices.Contains(in.Labels.Departments, s.Spec.Department) && validDecision(s.Spec.Decision) && counts
}

// ReviewStartedAt returns status.reviewStartedAt: the recorded one, or else the earliest
// requestedAt of the post's departments (nil while no review began).
func ReviewStartedAt(recorded *metav1.Time, departments []greenlightv1alpha1.DepartmentStatus) *metav1.Time {
	if recorded != nil {
		return recorded
	}
	var earliest *metav1.Time
	for _, d := range departments {
		if d.RequestedAt != nil && (earliest == nil || d.RequestedAt.Before(earliest)) {
			earliest = d.RequestedAt.DeepCopy()
		}
	}
	return earliest
}
