package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ContentPostSpec is the post an author wants published: its text, media, channels and time.
// +kubebuilder:validation:XValidation:rule="has(oldSelf.author) == has(self.author) && (!has(self.author) || oldSelf.author == self.author)",message="spec.author cannot be changed after the post is created: it decides who may not approve the post"
type ContentPostSpec struct {
	// author is who wrote the post, for authors who apply posts through GitOps where the
	// creating user is a pipeline. The author may not approve their own post unless the policy
	// sets allowSelfApproval.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Author string `json:"author,omitempty"`

	// draft keeps the post out of review while true: no department is asked to review it and
	// nothing is published. Set it to false (or remove it) to submit the post.
	// +optional
	// +kubebuilder:default=false
	Draft bool `json:"draft,omitempty"`

	// campaign groups posts on the calendar, for example "spring-launch".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!self.matches('[\\\\p{Cc}\\\\x{200E}\\\\x{200F}\\\\x{202A}-\\\\x{202E}\\\\x{2066}-\\\\x{2069}]')",message="must be one line of text without control characters (line breaks, tabs, escape sequences, bidirectional overrides), for example spring-launch"
	Campaign string `json:"campaign,omitempty"`

	// body is the text of the post, published on every channel that has no body of its own.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Body string `json:"body"`

	// media lists images and videos attached to the post, in the order they appear.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Media []Media `json:"media,omitempty"`

	// channels lists where the post is published. Each name must be a channel that the matching
	// ApprovalPolicy knows how to publish to (spec.publishing.channels).
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	Channels []Channel `json:"channels"`

	// publishAt is when the post should go out. Without it the post is published as soon as it
	// is approved and a publishing window is open.
	// +optional
	PublishAt *metav1.Time `json:"publishAt,omitempty"`
}

// Media is one asset attached to a post.
type Media struct {
	// url is where the asset is served from. It must be an https:// URL.
	// +required
	// +kubebuilder:validation:MinLength=9
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https' && url(self).getHost() != ''",message="must be an https:// URL, for example https://cdn.example.com/a.png"
	URL string `json:"url"`

	// sha256 pins the asset's exact bytes into the post's revision: the lowercase hex SHA-256 of
	// the file (64 characters, as printed by sha256sum). With it, swapping the file behind the
	// same URL is an edit that reviewers must approve again.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-f]{64}$')",message="must be the file's SHA-256 as 64 lowercase hex characters, as printed by sha256sum"
	SHA256 string `json:"sha256,omitempty"`

	// altText describes the asset for people who cannot see it.
	// +optional
	// +kubebuilder:validation:MaxLength=1500
	AltText string `json:"altText,omitempty"`
}

// Channel is one place a post is published to.
type Channel struct {
	// name is the channel, a DNS label such as "mastodon" or "linkedin". It must match a key of
	// the matching ApprovalPolicy's spec.publishing.channels.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, for example mastodon"
	Name string `json:"name"`

	// body replaces spec.body on this channel, for example a shorter text for a channel with a
	// character limit. It is reviewed like spec.body.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Body string `json:"body,omitempty"`
}

// PostPhase is where a post is in its life.
// +kubebuilder:validation:Enum=Draft;InReview;ChangesRequested;Rejected;Expired;Scheduled;Publishing;Published;Failed;Blocked
type PostPhase string

const (
	// PostDraft: spec.draft is true; no review has started.
	PostDraft PostPhase = "Draft"
	// PostInReview: departments are reviewing the current revision.
	PostInReview PostPhase = "InReview"
	// PostChangesRequested: a department asked for changes; editing a field it covers reopens review.
	PostChangesRequested PostPhase = "ChangesRequested"
	// PostRejected: a department rejected this revision; only a new revision reopens review.
	PostRejected PostPhase = "Rejected"
	// PostExpired: a deadline or the publishing slot was missed; the post is never published late.
	PostExpired PostPhase = "Expired"
	// PostScheduled: approved, waiting for publishAt or an open publishing window.
	PostScheduled PostPhase = "Scheduled"
	// PostPublishing: publishing Jobs are running.
	PostPublishing PostPhase = "Publishing"
	// PostPublished: every channel published successfully.
	PostPublished PostPhase = "Published"
	// PostFailed: publishing to a channel failed for good.
	PostFailed PostPhase = "Failed"
	// PostBlocked: no policy matches, or the matching policies conflict or are invalid. Greenlight
	// fails closed: a blocked post is never published.
	PostBlocked PostPhase = "Blocked"
)

// DepartmentState is where one department's review of a post stands.
// +kubebuilder:validation:Enum=Waiting;Pending;Approved;ChangesRequested;Rejected;NotRequired;Expired
type DepartmentState string

const (
	// DepartmentWaiting: an earlier stage has not been approved yet.
	DepartmentWaiting DepartmentState = "Waiting"
	// DepartmentPending: the department's stage has started and it has not approved yet.
	DepartmentPending DepartmentState = "Pending"
	// DepartmentApproved: enough current sign-offs approve the revision this department covers.
	DepartmentApproved DepartmentState = "Approved"
	// DepartmentChangesRequested: a reviewer asked for changes to the covered fields.
	DepartmentChangesRequested DepartmentState = "ChangesRequested"
	// DepartmentRejected: a reviewer rejected the covered revision.
	DepartmentRejected DepartmentState = "Rejected"
	// DepartmentNotRequired: the department's when expression is false for this post.
	DepartmentNotRequired DepartmentState = "NotRequired"
	// DepartmentExpired: the department missed its deadline.
	DepartmentExpired DepartmentState = "Expired"
)

// PublishState is where publishing to one channel stands.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type PublishState string

const (
	// PublishPending: the Job has not started yet.
	PublishPending PublishState = "Pending"
	// PublishRunning: the Job is running.
	PublishRunning PublishState = "Running"
	// PublishSucceeded: the post is live on the channel.
	PublishSucceeded PublishState = "Succeeded"
	// PublishFailed: the Job failed for good.
	PublishFailed PublishState = "Failed"
)

// Condition types specific to ContentPost.
const (
	// ConditionApproved is True when every required department approved the current revision.
	// Polarity: normal-true.
	ConditionApproved = "Approved"

	// ConditionPublished is True when the post is live on every channel. Polarity: normal-true.
	ConditionPublished = "Published"

	// ConditionDeadlineExceeded is True while a department whose policy sets onMissed: Notify is
	// past its deadline; the post keeps waiting. Polarity: abnormal-true; removed when False.
	ConditionDeadlineExceeded = "DeadlineExceeded"

	// ConditionFrozen is True while a matching policy's spec.freeze halts publishing (on posts and
	// on the policy). Polarity: abnormal-true; removed when False.
	ConditionFrozen = "Frozen"

	// ConditionDrifted is True when a post's spec no longer matches the revision that was
	// published; nothing is reviewed or published again. Polarity: abnormal-true; removed when
	// False.
	ConditionDrifted = "Drifted"
)

// ContentPostStatus is what Greenlight observed and decided about a post.
type ContentPostStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is where the post is in its life.
	// +optional
	Phase PostPhase `json:"phase,omitempty"`

	// revision is "sha256:" followed by the digest of every content field (body, media,
	// channels and publishAt). Sign-offs are bound to digests, so an edit is always seen.
	// +optional
	Revision string `json:"revision,omitempty"`

	// policies names the ApprovalPolicies that apply to the post: those that select it now and
	// those that selected it since it was submitted (see appliedPolicies).
	// +optional
	// +listType=atomic
	Policies []string `json:"policies,omitempty"`

	// appliedPolicies remembers, once the post was submitted, every ApprovalPolicy that selected
	// it and the departments it required, so that what the review requires only grows: a label,
	// annotation or spec edit can neither release the post from a policy nor make a required
	// department optional. Only a new generation of the policy re-evaluates both. Greenlight
	// alone writes it.
	// +optional
	// +listType=map
	// +listMapKey=uid
	AppliedPolicies []AppliedPolicy `json:"appliedPolicies,omitempty"`

	// stage is the stage under review now.
	// +optional
	Stage string `json:"stage,omitempty"`

	// waitingOn lists the departments whose decision the post is waiting for, comma separated.
	// +optional
	WaitingOn string `json:"waitingOn,omitempty"`

	// deadline is the earliest deadline now running.
	// +optional
	Deadline *metav1.Time `json:"deadline,omitempty"`

	// departments has one entry per department of the matching policies, in stage order.
	// +optional
	// +listType=map
	// +listMapKey=name
	Departments []DepartmentStatus `json:"departments,omitempty"`

	// channels has one entry per channel being or already published.
	// +optional
	// +listType=map
	// +listMapKey=name
	Channels []ChannelStatus `json:"channels,omitempty"`

	// lastRetry is the last greenlight.dev/retry annotation value acted on.
	// +optional
	LastRetry string `json:"lastRetry,omitempty"`

	// nextWindow is when publishing may next happen, when a publishing window blocks it now.
	// +optional
	NextWindow *metav1.Time `json:"nextWindow,omitempty"`

	// missedDeadlines records each department deadline that passed without the department's
	// decision, once, oldest first; only the latest 100 are kept. The report and the
	// greenlight_deadline_missed_total metric read it.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	MissedDeadlines []MissedDeadline `json:"missedDeadlines,omitempty"`

	// reviewStartedAt is when the post's first review began: the earliest requestedAt any of its
	// departments had, kept across edits. greenlight_time_to_approval_seconds measures from it.
	// +optional
	ReviewStartedAt *metav1.Time `json:"reviewStartedAt,omitempty"`

	// observedSignOffs lists the UIDs of the post's SignOffs whose response time the
	// greenlight_signoff_response_seconds histogram already counted, so that each is counted
	// once, across restarts and leader changes. It keeps only SignOffs that still exist.
	// Greenlight alone writes it.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=5000
	// +kubebuilder:validation:items:MaxLength=64
	ObservedSignOffs []string `json:"observedSignOffs,omitempty"`

	// conditions are Ready, Reconciling, Stalled, Approved and Published.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Department returns the status of the named department, or nil when the post has none.
func (s *ContentPostStatus) Department(name string) *DepartmentStatus {
	for i := range s.Departments {
		if s.Departments[i].Name == name {
			return &s.Departments[i]
		}
	}
	return nil
}

// DepartmentStatus is one department's review of the post.
type DepartmentStatus struct {
	// name is the department.
	// +required
	Name string `json:"name"`

	// stage is the stage the department reviews in.
	// +optional
	Stage string `json:"stage,omitempty"`

	// state is where the department's review stands.
	// +optional
	State DepartmentState `json:"state,omitempty"`

	// minApprovals is how many distinct reviewers must approve.
	// +optional
	MinApprovals int32 `json:"minApprovals,omitempty"`

	// approvedBy lists the reviewers whose approvals count for the current revision.
	// +optional
	// +listType=atomic
	ApprovedBy []string `json:"approvedBy,omitempty"`

	// revision is "sha256:" followed by the digest of the fields this department covers. A
	// SignOff counts only while its spec.revision equals it.
	// +optional
	Revision string `json:"revision,omitempty"`

	// requestedAt is when this department's review began.
	// +optional
	RequestedAt *metav1.Time `json:"requestedAt,omitempty"`

	// decidedAt is when the department reached its current decision.
	// +optional
	DecidedAt *metav1.Time `json:"decidedAt,omitempty"`

	// deadline is when the department's decision is due.
	// +optional
	Deadline *metav1.Time `json:"deadline,omitempty"`

	// remindersSent lists the deadlines.reminders offsets (for example "24h0m0s") already
	// announced for the current deadline, so that each is sent once, even across restarts.
	// +optional
	// +listType=atomic
	RemindersSent []string `json:"remindersSent,omitempty"`

	// comment is the latest changes-requested or reject comment.
	// +optional
	Comment string `json:"comment,omitempty"`

	// message says why the department is in its state when that is not obvious, for example
	// why a when expression could not be evaluated.
	// +optional
	Message string `json:"message,omitempty"`
}

// MissedDeadline is one department deadline that passed without the department's decision.
type MissedDeadline struct {
	// department is the department that did not decide in time.
	// +required
	Department string `json:"department"`

	// deadline is the deadline that passed.
	// +required
	Deadline metav1.Time `json:"deadline"`

	// onMissed is what the policy did about it: Expire or Notify.
	// +optional
	OnMissed MissedDeadlineAction `json:"onMissed,omitempty"`
}

// AppliedPolicy is a policy that applies to a submitted post, as evaluated at one generation.
type AppliedPolicy struct {
	// uid is the policy's UID: a policy deleted and created again under the same name is a new
	// policy.
	// +required
	UID string `json:"uid"`

	// name is the policy's name.
	// +required
	Name string `json:"name"`

	// generation is the policy's metadata.generation when the post was evaluated against it.
	// +required
	Generation int64 `json:"generation"`

	// required lists the policy's departments that the post required at that generation.
	// +optional
	// +listType=atomic
	Required []string `json:"required,omitempty"`
}

// ChannelStatus is publishing to one channel.
type ChannelStatus struct {
	// name is the channel.
	// +required
	Name string `json:"name"`

	// job is the name of the publishing Job of the current attempt.
	// +optional
	Job string `json:"job,omitempty"`

	// jobUID is the UID of that Job, recorded once Greenlight verified it is the Job it built: a
	// Job of the same name with another UID is never taken for it.
	// +optional
	JobUID string `json:"jobUID,omitempty"`

	// state is where publishing stands.
	// +optional
	State PublishState `json:"state,omitempty"`

	// attempts counts the Jobs created for this channel and revision (a retry adds one).
	// +optional
	Attempts int32 `json:"attempts,omitempty"`

	// id is the remote post's id, as reported by the publisher.
	// +optional
	ID string `json:"id,omitempty"`

	// url is where the post now lives, as reported by the publisher.
	// +optional
	URL string `json:"url,omitempty"`

	// publishedAt is when the channel's publishing succeeded.
	// +optional
	PublishedAt *metav1.Time `json:"publishedAt,omitempty"`

	// message says why publishing failed: the Job's reason and the publisher's last words.
	// +optional
	Message string `json:"message,omitempty"`

	// engagement is the latest the channel's insights Jobs reported: likes, shares, replies and
	// impressions, and when.
	// +optional
	Engagement *Engagement `json:"engagement,omitempty"`

	// insights is where the channel's insights Jobs stand (policies that ask for insights only).
	// +optional
	Insights *InsightsStatus `json:"insights,omitempty"`
}

// Engagement is what a published post achieved on one channel, as its publisher reported it.
type Engagement struct {
	// likes counts likes (favourites on Mastodon).
	// +optional
	// +kubebuilder:validation:Minimum=0
	Likes int64 `json:"likes"`

	// shares counts shares (boosts on Mastodon).
	// +optional
	// +kubebuilder:validation:Minimum=0
	Shares int64 `json:"shares"`

	// replies counts replies.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Replies int64 `json:"replies"`

	// impressions counts how often the post was seen, when the channel reports it.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Impressions *int64 `json:"impressions,omitempty"`

	// observedAt is when the insights Job that reported these figures finished.
	// +required
	ObservedAt metav1.Time `json:"observedAt"`
}

// InsightsStatus is where a published channel's insights Jobs stand.
type InsightsStatus struct {
	// lastOffset is the largest insights.after offset handled so far (its Job finished, or a
	// later offset came due first and it was skipped); the next Job is for the smallest offset
	// above it.
	// +optional
	LastOffset *metav1.Duration `json:"lastOffset,omitempty"`

	// offset is the offset of the insights Job now recorded as running; empty when none is.
	// +optional
	Offset *metav1.Duration `json:"offset,omitempty"`

	// job is the name of that Job. It is recorded before the Job is created, so that a crash
	// or a second manager never makes two Jobs for one offset.
	// +optional
	Job string `json:"job,omitempty"`

	// jobUID is that Job's UID once Greenlight verified it is the Job it built.
	// +optional
	JobUID string `json:"jobUID,omitempty"`

	// jobs counts the insights Jobs created for this channel.
	// +optional
	Jobs int32 `json:"jobs,omitempty"`

	// message says why the last insights Job did not report figures, or why insights stopped;
	// it never changes the post's phase.
	// +optional
	Message string `json:"message,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=post;posts;cp,categories=greenlight
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.status.stage`
// +kubebuilder:printcolumn:name="Waiting-on",type=string,JSONPath=`.status.waitingOn`
// +kubebuilder:printcolumn:name="Publish-At",type=string,JSONPath=`.spec.publishAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ContentPost is a social-media post that must be approved before it is published.
type ContentPost struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the post as its author wants it published.
	// +required
	Spec ContentPostSpec `json:"spec"`

	// status is what Greenlight observed and decided.
	// +optional
	Status ContentPostStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ContentPostList is a list of ContentPosts.
type ContentPostList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ContentPost `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &ContentPost{}, &ContentPostList{})
}
