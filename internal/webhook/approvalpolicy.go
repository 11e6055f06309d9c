package webhook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
)

// ApprovalPolicyWebhook denies policies that the API server's schema accepts but Greenlight could
// not enforce, and warns about edits that change what posts are waiting for.
type ApprovalPolicyWebhook struct {
	reader   client.Reader
	compiler *policy.Compiler
}

// NewApprovalPolicyWebhook returns the ApprovalPolicy webhook.
func NewApprovalPolicyWebhook(reader client.Reader, compiler *policy.Compiler) *ApprovalPolicyWebhook {
	return &ApprovalPolicyWebhook{reader: reader, compiler: compiler}
}

// SetupWithManager registers the validating webhook.
func (w *ApprovalPolicyWebhook) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &greenlightv1alpha1.ApprovalPolicy{}).WithValidator(w).Complete()
}

// +kubebuilder:webhook:path=/validate-greenlight-dev-v1alpha1-approvalpolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=greenlight.dev,resources=approvalpolicies,verbs=create;update,versions=v1alpha1,name=vapprovalpolicy-v1alpha1.greenlight.dev,admissionReviewVersions=v1

// ValidateCreate denies a policy with problems and warns about questionable durations.
func (w *ApprovalPolicyWebhook) ValidateCreate(_ context.Context, p *greenlightv1alpha1.ApprovalPolicy) (admission.Warnings, error) {
	if err := w.validate(p); err != nil {
		return nil, err
	}
	return durationWarnings(p), nil
}

// ValidateUpdate validates like ValidateCreate, and warns when the edit drops a department that
// posts are waiting on.
func (w *ApprovalPolicyWebhook) ValidateUpdate(ctx context.Context,
	oldObj, newObj *greenlightv1alpha1.ApprovalPolicy) (admission.Warnings, error) {
	if err := w.validate(newObj); err != nil {
		return nil, err
	}
	warnings := durationWarnings(newObj)
	removed := departmentNames(oldObj)
	for name := range departmentNames(newObj) {
		delete(removed, name)
	}
	if len(removed) == 0 {
		return warnings, nil
	}
	var posts greenlightv1alpha1.ContentPostList
	if err := w.reader.List(ctx, &posts, client.InNamespace(newObj.Namespace)); err != nil {
		return append(warnings, fmt.Sprintf("could not check which posts wait on the removed departments: %v", err)), nil
	}
	for _, post := range posts.Items {
		if !slices.Contains(post.Status.Policies, newObj.Name) {
			continue
		}
		for _, d := range post.Status.Departments {
			if removed[d.Name] && (d.State == greenlightv1alpha1.DepartmentPending || d.State == greenlightv1alpha1.DepartmentWaiting) {
				warnings = append(warnings, fmt.Sprintf(
					"ContentPost %s is waiting on department %s, which this change removes: the post will no longer need its sign-off",
					post.Name, d.Name))
			}
		}
	}
	return warnings, nil
}

// ValidateDelete allows every deletion: posts the policy selected become Blocked if nothing else
// selects them, which fails closed.
func (w *ApprovalPolicyWebhook) ValidateDelete(context.Context, *greenlightv1alpha1.ApprovalPolicy) (admission.Warnings, error) {
	return nil, nil
}

// validate returns every problem in one error, each naming its field.
func (w *ApprovalPolicyWebhook) validate(p *greenlightv1alpha1.ApprovalPolicy) error {
	problems := policy.Validate(p, w.compiler)
	seen := map[string]string{}
	for _, stage := range p.Spec.Stages {
		for _, d := range stage.Departments {
			if other, dup := seen[d.Name]; dup {
				problems = append(problems, fmt.Sprintf("department %s appears in stages %s and %s: department names must be unique across stages",
					d.Name, other, stage.Name))
			}
			seen[d.Name] = stage.Name
		}
	}
	if p.Spec.Publishing != nil {
		for _, name := range slices.Sorted(maps.Keys(p.Spec.Publishing.Channels)) {
			problems = append(problems, jobTemplateProblems(name, p.Spec.Publishing.Channels[name])...)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New("ApprovalPolicy " + p.Name + " is invalid: " + strings.Join(problems, "; "))
}

// jobTemplateProblems catches job templates the API server would only reject when Greenlight
// creates the Job, long after the policy was applied.
func jobTemplateProblems(channel string, c greenlightv1alpha1.ChannelPublishing) []string {
	field := fmt.Sprintf("spec.publishing.channels.%s.jobTemplate.spec.template.spec", channel)
	pod := c.JobTemplate.Spec.Template.Spec
	var problems []string
	if len(pod.Containers) == 0 {
		problems = append(problems, field+".containers must name at least one container (the publisher)")
	}
	if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		problems = append(problems, fmt.Sprintf("%s.restartPolicy must be Never or OnFailure for a Job (it is %q)", field, pod.RestartPolicy))
	}
	return problems
}

// durationWarnings flags durations that are valid but probably not what the author meant.
func durationWarnings(p *greenlightv1alpha1.ApprovalPolicy) admission.Warnings {
	var warnings admission.Warnings
	if p.Spec.Deadlines == nil {
		return nil
	}
	for _, stage := range p.Spec.Stages {
		if stage.ReviewWindow == nil {
			continue
		}
		for _, reminder := range p.Spec.Deadlines.Reminders {
			if reminder.Duration >= stage.ReviewWindow.Duration {
				warnings = append(warnings, fmt.Sprintf(
					"reminder %s is not shorter than stage %s's reviewWindow %s: it is due as soon as the stage starts",
					reminder.Duration, stage.Name, stage.ReviewWindow.Duration))
			}
		}
	}
	return warnings
}

func departmentNames(p *greenlightv1alpha1.ApprovalPolicy) map[string]bool {
	names := map[string]bool{}
	for _, stage := range p.Spec.Stages {
		for _, d := range stage.Departments {
			names[d.Name] = true
		}
	}
	return names
}
