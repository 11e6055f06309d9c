package v1alpha1

import (
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Durations are Go/Kubernetes durations ("90s", "48h", "1h30m"). Each duration field carries the
// same two rules: the pattern admits only non-negative durations, and CEL rejects zero.

// ApprovalPolicySpec says which departments must sign off on the posts it selects, in which
// stages and by when, and how and when approved posts are published.
// +kubebuilder:validation:XValidation:rule="self.stages.all(s1, self.stages.all(s2, s1.name == s2.name || s1.departments.all(d, !s2.departments.exists(e, e.name == d.name))))",message="department names must be unique across all stages of a policy: rename the department that appears in two stages"
type ApprovalPolicySpec struct {
	// selector chooses the posts in this namespace that the policy applies to, by label. An
	// empty or absent selector selects every post in the namespace.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// allowSelfApproval lets a post's author (spec.author), its creator and the users who edited
	// its spec approve it. Off by default: nobody approves words they wrote.
	// +optional
	// +kubebuilder:default=false
	AllowSelfApproval bool `json:"allowSelfApproval,omitempty"`

	// freeze, when set, stops all publishing of the posts this policy matches, at once. Remove it
	// to resume.
	// +optional
	Freeze *Freeze `json:"freeze,omitempty"`

	// stages are reviewed in order: a stage starts when every department of the stage before it
	// has approved.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	Stages []Stage `json:"stages"`

	// deadlines sets when sign-offs are due, reminders before that, and what a missed deadline
	// does.
	// +optional
	Deadlines *Deadlines `json:"deadlines,omitempty"`

	// windows restrict when approved posts may be published, with Argo CD sync-window semantics:
	// a Deny window always blocks; when any Allow window exists, publishing happens only inside
	// one.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Windows []Window `json:"windows,omitempty"`

	// publishing says how approved posts are published to each channel.
	// +optional
	Publishing *Publishing `json:"publishing,omitempty"`

	// notifications send review events to chat or other HTTP endpoints.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=10
	Notifications []Notification `json:"notifications,omitempty"`
}

// Freeze halts publishing.
type Freeze struct {
	// reason says why publishing is halted; it is shown on every post the freeze stops.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason"`
}

// Stage is a step of review. Its departments review in parallel.
type Stage struct {
	// name identifies the stage, a DNS label such as "brand" or "compliance".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, for example compliance"
	Name string `json:"name"`

	// reviewWindow is how long each department of the stage has to decide, counted from the
	// stage's start, for example "48h".
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') && duration(self) > duration('0s')",message="must be a positive duration such as 90s or 48h"
	ReviewWindow *metav1.Duration `json:"reviewWindow,omitempty"`

	// departments review the stage in parallel; the stage is approved when all that are
	// required have approved.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	Departments []Department `json:"departments"`
}

// Department is a group of reviewers that must sign off.
// +kubebuilder:validation:XValidation:rule="(has(self.approvers.users) && size(self.approvers.users) > 0) || (has(self.approvers.groups) && size(self.approvers.groups) > 0)",message="approvers must name at least one user or group"
type Department struct {
	// name identifies the department, a DNS label such as "legal". Names are unique across all
	// stages of a policy; SignOffs name it in spec.department.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, for example legal"
	Name string `json:"name"`

	// approvers are the users and groups whose sign-offs count for this department.
	// +required
	Approvers Approvers `json:"approvers"`

	// minApprovals is how many distinct reviewers must approve (a quorum). Defaults to 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MinApprovals int32 `json:"minApprovals,omitempty"`

	// covers lists the post fields whose change voids this department's sign-offs: body (the
	// text of every channel: spec.body and each channel's body variant), media, channels (where
	// the post goes, with their variants) and schedule (publishAt). Absent means all four.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	Covers []CoveredField `json:"covers,omitempty"`

	// when is a CEL expression over the post (variable "post", with metadata.labels,
	// metadata.annotations and spec); the department is required only while it is true, for
	// example 'post.spec.channels.exists(c, c.name == "linkedin")'. Absent means always
	// required. An expression that fails at run time makes the department required.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	When string `json:"when,omitempty"`

	// contact is who notifications mention for this department, for example "#legal".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Contact string `json:"contact,omitempty"`
}

// Approvers names who may sign off for a department.
type Approvers struct {
	// users are user names as the API server authenticates them.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	Users []string `json:"users,omitempty"`

	// groups are group names as the API server authenticates them.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	Groups []string `json:"groups,omitempty"`
}

// MissedDeadlineAction is what a missed deadline does.
// +kubebuilder:validation:Enum=Expire;Notify
type MissedDeadlineAction string

const (
	// MissedDeadlineExpire expires the post: it fails closed and is never published late.
	MissedDeadlineExpire MissedDeadlineAction = "Expire"
	// MissedDeadlineNotify keeps the post waiting and flags the missed deadline.
	MissedDeadlineNotify MissedDeadlineAction = "Notify"
)

// Deadlines set when sign-offs are due.
type Deadlines struct {
	// leadTime makes every sign-off of a post with a publishAt due by publishAt minus leadTime.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') && duration(self) > duration('0s')",message="must be a positive duration such as 90s or 2h"
	LeadTime *metav1.Duration `json:"leadTime,omitempty"`

	// reminders notify a department this long before its deadline, once per offset, for
	// example ["24h", "1h"].
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:XValidation:rule="self.all(r, duration(r) > duration('0s'))",message="every reminder must be a positive duration such as 24h or 1h"
	Reminders []metav1.Duration `json:"reminders,omitempty"`

	// onMissed is what a missed deadline does: Expire (the default) expires the post so it is
	// never published unapproved or late; Notify keeps it waiting and flags it.
	// +optional
	// +kubebuilder:default=Expire
	OnMissed MissedDeadlineAction `json:"onMissed,omitempty"`
}

// WindowKind says whether a window allows or denies publishing.
// +kubebuilder:validation:Enum=Allow;Deny
type WindowKind string

const (
	// WindowAllow: with any Allow window, publishing happens only inside one.
	WindowAllow WindowKind = "Allow"
	// WindowDeny: publishing never happens inside one.
	WindowDeny WindowKind = "Deny"
)

// Window is a recurring period in which publishing is allowed or denied.
type Window struct {
	// kind is Allow or Deny.
	// +required
	Kind WindowKind `json:"kind"`

	// schedule is a standard five-field cron expression for when the window opens, for example
	// "0 18 * * 5" (Fridays at 18:00).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Schedule string `json:"schedule"`

	// duration is how long the window stays open each time, for example "62h".
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') && duration(self) > duration('0s')",message="must be a positive duration such as 90s or 62h"
	Duration metav1.Duration `json:"duration"`

	// timeZone is the IANA time zone the schedule is read in, for example "Europe/Berlin".
	// Defaults to UTC.
	// +optional
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MaxLength=64
	TimeZone string `json:"timeZone,omitempty"`
}

// Publishing says how approved posts reach their channels.
type Publishing struct {
	// maxLateness is how late after publishAt a post may still be published; a post approved
	// later than publishAt plus maxLateness expires instead of going out late.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') && duration(self) > duration('0s')",message="must be a positive duration such as 90s or 1h"
	MaxLateness *metav1.Duration `json:"maxLateness,omitempty"`

	// channels maps a channel name (a DNS label, as posts name it in spec.channels) to how to
	// publish to it.
	// +optional
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:rule="self.all(name, size(name) <= 63 && name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'))",message="channel names must be DNS labels (lowercase letters, digits and '-', at most 63 characters), as posts name them in spec.channels"
	Channels map[string]ChannelPublishing `json:"channels,omitempty"`
}

// ChannelPublishing is how to publish to one channel.
type ChannelPublishing struct {
	// jobTemplate is the Job that publishes a post to this channel, written by the platform
	// team. Greenlight mounts the approved post at /var/run/greenlight/post.json and sets
	// GREENLIGHT_POST_FILE, GREENLIGHT_CHANNEL and GREENLIGHT_IDEMPOTENCY_KEY in every container.
	// +required
	JobTemplate batchv1.JobTemplateSpec `json:"jobTemplate"`

	// insights asks, after the channel published, how the post is doing: at each offset the
	// controller runs one Job from jobTemplate with GREENLIGHT_MODE=insights,
	// GREENLIGHT_REMOTE_ID and GREENLIGHT_REMOTE_URL added, and records what it reports in the
	// post's status.channels[].engagement.
	// +optional
	Insights *ChannelInsights `json:"insights,omitempty"`
}

// ChannelInsights is when to ask for a published post's engagement.
type ChannelInsights struct {
	// after lists how long after the channel published to ask, for example [1h, 24h, 168h]:
	// positive durations, at most 10, each at most a year (8784h), no two the same.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	// +kubebuilder:validation:XValidation:rule="self.all(d, duration(d) > duration('0s') && duration(d) <= duration('8784h'))",message="every insights offset must be a positive duration of at most 8784h (a year), for example 1h or 168h"
	// +kubebuilder:validation:XValidation:rule="self.all(d, self.exists_one(e, duration(e) == duration(d)))",message="insights offsets must differ from each other: list each duration once"
	After []metav1.Duration `json:"after"`
}

// NotificationFormat is the payload format of a notification.
// +kubebuilder:validation:Enum=slack;json
type NotificationFormat string

const (
	// NotificationSlack posts a Slack-compatible incoming-webhook message.
	NotificationSlack NotificationFormat = "slack"
	// NotificationJSON posts the event as JSON.
	NotificationJSON NotificationFormat = "json"
)

// NotificationEvent is an event a notification can be sent for.
// +kubebuilder:validation:Enum=ReviewRequested;Reminder;ChangesRequested;Rejected;Approved;Published;Expired;Failed
type NotificationEvent string

// The events a notification can be sent for.
const (
	EventReviewRequested  NotificationEvent = "ReviewRequested"
	EventReminder         NotificationEvent = "Reminder"
	EventChangesRequested NotificationEvent = "ChangesRequested"
	EventRejected         NotificationEvent = "Rejected"
	EventApproved         NotificationEvent = "Approved"
	EventPublished        NotificationEvent = "Published"
	EventExpired          NotificationEvent = "Expired"
	EventFailed           NotificationEvent = "Failed"
)

// Notification sends events to an HTTP endpoint.
type Notification struct {
	// name identifies the notification in status and events.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, for example team-chat"
	Name string `json:"name"`

	// urlSecretRef names the Secret key, in the policy's namespace, holding the endpoint URL.
	// The URL is a credential for most chat services, so it never appears in the policy.
	// +required
	URLSecretRef SecretKeyRef `json:"urlSecretRef"`

	// format is the payload: json (the default) or slack.
	// +optional
	// +kubebuilder:default=json
	Format NotificationFormat `json:"format,omitempty"`

	// events lists the events to send.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	Events []NotificationEvent `json:"events"`
}

// SecretKeyRef names one key of a Secret in the same namespace.
type SecretKeyRef struct {
	// name is the Secret's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key is the key within the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// ConditionNotificationsFailing is True while some of a policy's notifications cannot be
// delivered (endpoint errors, a missing Secret, a full queue); the message says which and why.
// Reviews and publishing go on regardless. Polarity: abnormal-true; removed when False.
const ConditionNotificationsFailing = "NotificationsFailing"

// ApprovalPolicyStatus is what Greenlight observed about a policy.
type ApprovalPolicyStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// matchedPosts counts the posts the policy applies to: those it selects, and the submitted
	// posts it selected at its current generation (see ContentPost status.appliedPolicies).
	// +optional
	MatchedPosts int32 `json:"matchedPosts,omitempty"`

	// conditions are Ready and Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ap;policy,categories=greenlight
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Matched",type=integer,JSONPath=`.status.matchedPosts`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ApprovalPolicy declares which departments must sign off on the posts it selects.
type ApprovalPolicy struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the policy as the platform team wrote it.
	// +required
	Spec ApprovalPolicySpec `json:"spec"`

	// status is what Greenlight observed.
	// +optional
	Status ApprovalPolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ApprovalPolicyList is a list of ApprovalPolicies.
type ApprovalPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ApprovalPolicy `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &ApprovalPolicy{}, &ApprovalPolicyList{})
}
