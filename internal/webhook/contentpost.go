package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// ContentPostWebhook records who created a post and who edited it, and warns about channels no
// policy publishes to.
type ContentPostWebhook struct {
	reader  client.Reader
	decoder admission.Decoder
}

// NewContentPostWebhook returns the ContentPost webhook.
func NewContentPostWebhook(reader client.Reader, decoder admission.Decoder) *ContentPostWebhook {
	return &ContentPostWebhook{reader: reader, decoder: decoder}
}

// SetupWithManager registers the mutating and validating webhooks.
func (w *ContentPostWebhook) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &greenlightv1alpha1.ContentPost{}).WithDefaulter(w).WithValidator(w).Complete()
}

// +kubebuilder:webhook:path=/mutate-greenlight-dev-v1alpha1-contentpost,mutating=true,failurePolicy=fail,sideEffects=None,groups=greenlight.dev,resources=contentposts,verbs=create;update,versions=v1alpha1,name=mcontentpost-v1alpha1.greenlight.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-greenlight-dev-v1alpha1-contentpost,mutating=false,failurePolicy=fail,sideEffects=None,groups=greenlight.dev,resources=contentposts,verbs=create;update,versions=v1alpha1,name=vcontentpost-v1alpha1.greenlight.dev,admissionReviewVersions=v1

// Default records who wrote the post. On create it sets greenlight.dev/created-by from the
// authenticated user and drops any greenlight.dev/editors the request carried. On update it puts
// created-by back when a request drops it (as a server-side apply of a manifest that never had it
// does), and sets greenlight.dev/editors to the users recorded before plus the requesting user
// when the request changes the spec, unless the request changes the record itself, which
// validation then denies.
func (w *ContentPostWebhook) Default(ctx context.Context, post *greenlightv1alpha1.ContentPost) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return err
	}
	if req.OldObject.Raw == nil {
		setAnnotation(post, greenlightv1alpha1.AnnotationCreatedBy, req.UserInfo.Username)
		delete(post.Annotations, greenlightv1alpha1.AnnotationEditors)
		return nil
	}
	old := &greenlightv1alpha1.ContentPost{}
	if err := w.decoder.DecodeRaw(req.OldObject, old); err != nil {
		return err
	}
	createdBy, had := old.Annotations[greenlightv1alpha1.AnnotationCreatedBy]
	if _, has := post.Annotations[greenlightv1alpha1.AnnotationCreatedBy]; had && !has {
		setAnnotation(post, greenlightv1alpha1.AnnotationCreatedBy, createdBy)
	}
	given, present := post.Annotations[greenlightv1alpha1.AnnotationEditors]
	if recorded, had := old.Annotations[greenlightv1alpha1.AnnotationEditors]; present && (!had || given != recorded) {
		return nil // a changed record: validation denies it
	}
	editors, ok := expectedEditors(old, post, req.UserInfo.Username)
	switch {
	case !ok:
		// The record cannot be read: keep it as it was; the controller then counts no approval.
		setAnnotation(post, greenlightv1alpha1.AnnotationEditors, old.Annotations[greenlightv1alpha1.AnnotationEditors])
	case editors == "":
		delete(post.Annotations, greenlightv1alpha1.AnnotationEditors)
	default:
		setAnnotation(post, greenlightv1alpha1.AnnotationEditors, editors)
	}
	return nil
}

// expectedEditors is the greenlight.dev/editors value an update by user must leave: the editors
// recorded on old, plus user when the update changes the spec ("" when nobody edited). ok is
// false when old's record cannot be read.
func expectedEditors(old, updated *greenlightv1alpha1.ContentPost, user string) (value string, ok bool) {
	editors, err := review.Editors(old)
	if err != nil {
		return "", false
	}
	if !equality.Semantic.DeepEqual(old.Spec, updated.Spec) && !slices.Contains(editors, user) {
		editors = append(editors, user)
	}
	if len(editors) == 0 {
		return "", true
	}
	var buf bytes.Buffer
	encoder := json.NewEncoder(&buf)
	encoder.SetEscapeHTML(false)
	_ = encoder.Encode(editors) // a list of strings always encodes
	return strings.TrimSuffix(buf.String(), "\n"), true
}

// ValidateCreate denies a post that names its own editors and warns about channels that no
// matching policy publishes to.
func (w *ContentPostWebhook) ValidateCreate(ctx context.Context, post *greenlightv1alpha1.ContentPost) (admission.Warnings, error) {
	if shard, ok := post.Labels[greenlightv1alpha1.LabelShard]; ok && shard == "" {
		return nil, denied("label %s names the Greenlight shard of the post and cannot be empty: name a shard or leave the label out",
			greenlightv1alpha1.LabelShard)
	}
	if _, set := post.Annotations[greenlightv1alpha1.AnnotationEditors]; set {
		return nil, denied("annotation %s records who changed the post and cannot be set: remove it from your manifest",
			greenlightv1alpha1.AnnotationEditors)
	}
	return w.warnings(ctx, post), nil
}

// ValidateUpdate denies changes to greenlight.dev/created-by and greenlight.dev/editors other
// than the ones Default makes, and warns like ValidateCreate.
func (w *ContentPostWebhook) ValidateUpdate(ctx context.Context,
	oldObj, newObj *greenlightv1alpha1.ContentPost) (admission.Warnings, error) {
	before, after := oldObj.Annotations[greenlightv1alpha1.AnnotationCreatedBy], newObj.Annotations[greenlightv1alpha1.AnnotationCreatedBy]
	if before != after {
		return nil, denied("annotation %s records who created the post and cannot be set or changed (it is %q): remove it from your manifest",
			greenlightv1alpha1.AnnotationCreatedBy, before)
	}
	// A shard's manager takes over a post with the review it finds; a post moved between
	// shards would change hands mid-review.
	if !sameLabel(oldObj.Labels, newObj.Labels, greenlightv1alpha1.LabelShard) {
		return nil, denied("label %s places the post in one Greenlight shard and cannot change (it is %s): "+
			"to move the post to another shard, create it anew there", greenlightv1alpha1.LabelShard,
			describeLabel(oldObj.Labels, greenlightv1alpha1.LabelShard))
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, err
	}
	editors, ok := expectedEditors(oldObj, newObj, req.UserInfo.Username)
	if !ok && !equality.Semantic.DeepEqual(oldObj.Spec, newObj.Spec) {
		return nil, denied("annotation %s of ContentPost %s cannot be read, so Greenlight cannot record you as an editor: "+
			"ask a cluster administrator to repair it (a JSON array of user names) before changing the spec",
			greenlightv1alpha1.AnnotationEditors, newObj.Name)
	}
	if ok && newObj.Annotations[greenlightv1alpha1.AnnotationEditors] != editors {
		return nil, denied("annotation %s records who changed the post's spec and cannot be set or changed: remove it from your manifest",
			greenlightv1alpha1.AnnotationEditors)
	}
	return w.warnings(ctx, newObj), nil
}

// ValidateDelete allows every deletion: RBAC decides who may delete posts.
func (w *ContentPostWebhook) ValidateDelete(context.Context, *greenlightv1alpha1.ContentPost) (admission.Warnings, error) {
	return nil, nil
}

// warnings tells the author, at apply time, what would keep the post from being reviewed or
// published. They are warnings, not denials: policies may be applied after posts.
func (w *ContentPostWebhook) warnings(ctx context.Context, post *greenlightv1alpha1.ContentPost) admission.Warnings {
	var policies greenlightv1alpha1.ApprovalPolicyList
	if err := w.reader.List(ctx, &policies, client.InNamespace(post.Namespace)); err != nil {
		return admission.Warnings{fmt.Sprintf("could not check the ApprovalPolicies of namespace %s: %v", post.Namespace, err)}
	}
	var matched []greenlightv1alpha1.ApprovalPolicy
	for _, p := range policies.Items {
		if ok, err := policy.Matches(&p, post.Labels); ok || err != nil {
			matched = append(matched, p)
		}
	}
	if len(matched) == 0 {
		return admission.Warnings{fmt.Sprintf(
			"no ApprovalPolicy in namespace %s selects this post's labels: it will be Blocked until one does", post.Namespace)}
	}
	var warnings admission.Warnings
	for _, ch := range post.Spec.Channels {
		if !slices.ContainsFunc(matched, func(p greenlightv1alpha1.ApprovalPolicy) bool {
			if p.Spec.Publishing == nil {
				return false
			}
			_, ok := p.Spec.Publishing.Channels[ch.Name]
			return ok
		}) {
			warnings = append(warnings, fmt.Sprintf(
				"channel %s: no matching ApprovalPolicy publishes to it (spec.publishing.channels), so the post cannot be published there",
				ch.Name))
		}
	}
	return warnings
}

func setAnnotation(post *greenlightv1alpha1.ContentPost, key, value string) {
	if post.Annotations == nil {
		post.Annotations = map[string]string{}
	}
	post.Annotations[key] = value
}
