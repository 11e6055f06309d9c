package v1alpha1

// Condition types shared by the Greenlight kinds. They follow kstatus: Ready has normal-true
// polarity and is always present once a controller has seen the object; Reconciling and Stalled
// have abnormal-true polarity and are present only while True.
const (
	// ConditionReady is True when the object is fully reconciled and nothing is wrong with it.
	// Polarity: normal-true.
	ConditionReady = "Ready"

	// ConditionReconciling is True while the controller is still working towards the desired
	// state (for example, a post waiting on reviews). Polarity: abnormal-true; removed when False.
	ConditionReconciling = "Reconciling"

	// ConditionStalled is True when progress needs a person to act (for example, no policy
	// matches a post). Polarity: abnormal-true; removed when False.
	ConditionStalled = "Stalled"
)

// Labels and annotations that Greenlight sets. Tools outside the project rely on these names.
const (
	// LabelPost names the ContentPost a publishing Job belongs to.
	LabelPost = "greenlight.dev/post"

	// LabelChannel names the channel a publishing Job publishes to.
	LabelChannel = "greenlight.dev/channel"

	// LabelRevision holds the content revision a publishing Job publishes, without its
	// "sha256:" prefix and shortened to fit a label value.
	LabelRevision = "greenlight.dev/revision"

	// LabelPostUID binds a SignOff to the UID of the ContentPost it was made for. Admission sets it;
	// a SignOff whose label does not match the post's UID (for example, made for a deleted post
	// of the same name) never counts.
	LabelPostUID = "greenlight.dev/post-uid"

	// LabelPolicyUID binds a SignOff to the UID of the ApprovalPolicy whose department it was made
	// for. Admission sets it; a SignOff counts only for that policy's department, so relabelling a
	// post into another policy with a department of the same name carries no approvals over.
	LabelPolicyUID = "greenlight.dev/policy-uid"

	// LabelShard is Flux's sharding key. A manager started with --watch-label-selector owns the
	// posts it selects; admission copies a post's key to its SignOffs, and the controller to
	// its Jobs and ConfigMaps, so that they land in the same shard.
	LabelShard = "sharding.fluxcd.io/key"

	// AnnotationCreatedBy records the user who created a ContentPost. Admission sets it from the
	// request's authenticated user; users cannot set or change it.
	AnnotationCreatedBy = "greenlight.dev/created-by"

	// AnnotationEditors records, as a JSON array of user names, every user who changed a
	// ContentPost's spec after it was created. Admission maintains it from the request's
	// authenticated user; users cannot set or change it. Editors may not approve the post unless
	// the policy sets allowSelfApproval: whoever wrote the words does not approve them.
	AnnotationEditors = "greenlight.dev/editors"

	// AnnotationRetry, set on a Failed post to a value other than status.lastRetry, starts one new
	// publishing attempt for each failed channel, with the same idempotency key.
	AnnotationRetry = "greenlight.dev/retry"
)

// Prefixes of a SignOff's spec.approver: the approvers entry that admitted the reviewer.
const (
	ApproverUserPrefix  = "user:"
	ApproverGroupPrefix = "group:"
)

// CoveredField names a group of ContentPost fields whose change voids a department's sign-off.
// +kubebuilder:validation:Enum=body;media;channels;schedule
type CoveredField string

const (
	// CoverBody is the text as it goes out on every channel: spec.body and each channel's body
	// variant (spec.channels[].body).
	CoverBody CoveredField = "body"
	// CoverMedia is spec.media.
	CoverMedia CoveredField = "media"
	// CoverChannels is spec.channels, including each channel's body variant.
	CoverChannels CoveredField = "channels"
	// CoverSchedule is spec.publishAt.
	CoverSchedule CoveredField = "schedule"
)

// AllCoveredFields lists every CoveredField in canonical order: a department without covers
// covers all of them.
var AllCoveredFields = []CoveredField{CoverBody, CoverMedia, CoverChannels, CoverSchedule}
