// Package policy resolves which ApprovalPolicies apply to a post and what they require of it:
// the departments that must sign off, in which stages, and whether each is required for this
// post. Resolution fails closed: a post that no valid policy covers is blocked, never approved.
package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/windows"
)

// Reasons a post is blocked. They become the reason of the post's Stalled condition.
const (
	// ReasonNoMatchingPolicy: no policy in the namespace selects the post.
	ReasonNoMatchingPolicy = "NoMatchingPolicy"
	// ReasonInvalidPolicy: a policy that selects the post (or whose selector cannot be read) is
	// invalid.
	ReasonInvalidPolicy = "InvalidPolicy"
	// ReasonPolicyConflict: two matching policies define the same department or configure the
	// same channel.
	ReasonPolicyConflict = "PolicyConflict"
	// ReasonNoPublisher: a channel of the post is one that no applying policy publishes to. The
	// post is blocked rather than published on some channels only.
	ReasonNoPublisher = "NoPublisher"
)

// Department is one department a post must pass, as a matching policy defines it.
type Department struct {
	greenlightv1alpha1.Department

	// Policy is the name of the policy that defines the department, and PolicyUID its UID.
	Policy    string
	PolicyUID string
	// Stage is the name of the department's stage, and StageIndex its position in the policy.
	Stage      string
	StageIndex int
	// AllowSelfApproval is the policy's allowSelfApproval.
	AllowSelfApproval bool
	// ReviewWindow is the stage's reviewWindow; nil when the stage sets none.
	ReviewWindow *metav1.Duration
	// Deadlines are the policy's deadlines; nil when it sets none.
	Deadlines *greenlightv1alpha1.Deadlines
	// When is the compiled `when` expression, nil when the department is always required.
	When cel.Program
	// Required reports whether the post requires the department: it has no when expression,
	// its when expression is true or cannot be evaluated (fail closed), or the post required it
	// before at the policy's current generation (requirements only grow).
	Required bool
	// RequiredMessage says why the department is required when that is not obvious.
	RequiredMessage string
}

// Requirements are what the matching policies require of a post.
type Requirements struct {
	// Policies are the names of the matching policies, sorted.
	Policies []string
	// Departments are in policy order, then stage order, then the policy's department order.
	Departments []Department
	// Windows are the publishing windows of every matching policy, together (never nil): any Deny
	// window blocks, and with any Allow window publishing happens only inside one.
	Windows *windows.Set
	// Freezes are "policy: reason" for each matching policy that freezes publishing now.
	Freezes []string
	// MaxLateness is the strictest publishing.maxLateness of the matching policies; nil when
	// none sets one.
	MaxLateness *time.Duration
	// Notifications are the notifications entries of the matching policies.
	Notifications []Notification
	// Publishers maps each of the post's channels to the policy that publishes to it and how.
	Publishers map[string]Publisher
	// Applied is what the post's status.appliedPolicies must remember after this resolution:
	// every policy that applies to the submitted post, at its generation, with the departments
	// it requires.
	Applied []greenlightv1alpha1.AppliedPolicy
}

// Publisher is how one channel is published, by which policy.
type Publisher struct {
	Policy string
	greenlightv1alpha1.ChannelPublishing
}

// Notification is one notifications entry of a matching policy.
type Notification struct {
	Policy string
	greenlightv1alpha1.Notification
}

// Blocked says why a post cannot be reviewed.
type Blocked struct {
	Reason  string
	Message string
}

func (b *Blocked) Error() string { return b.Reason + ": " + b.Message }

// Matches reports whether a policy selects a post by its labels. A nil or empty selector
// selects every post in the namespace.
func Matches(p *greenlightv1alpha1.ApprovalPolicy, postLabels map[string]string) (bool, error) {
	if p.Spec.Selector == nil {
		return true, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
	if err != nil {
		return false, err
	}
	return selector.Matches(labels.Set(postLabels)), nil
}

// Resolve returns the requirements of the policies (all in the post's namespace) that apply to
// the post, or why the post is blocked.
//
// A policy applies when its selector selects the post's labels, or when it selected the post
// since it was submitted and has not changed since (status.appliedPolicies records the policy's
// UID and generation): once a submitted post has matched a policy, no label edit releases it.
// Likewise a department is required when its when expression is true now, or when it was
// required at the policy's current generation: no edit of the post makes a required department
// optional. Only a new generation of the policy, which only policy admins can make, re-evaluates
// both from scratch.
func Resolve(post *greenlightv1alpha1.ContentPost, policies []greenlightv1alpha1.ApprovalPolicy,
	compiler *Compiler) (*Requirements, *Blocked) {
	sorted := slices.Clone(policies)
	slices.SortFunc(sorted, func(a, b greenlightv1alpha1.ApprovalPolicy) int { return strings.Compare(a.Name, b.Name) })
	remembered := map[string]greenlightv1alpha1.AppliedPolicy{}
	for _, a := range post.Status.AppliedPolicies {
		remembered[a.UID] = a
	}

	r := resolution{post: post, compiler: compiler, req: &Requirements{Windows: &windows.Set{}, Publishers: map[string]Publisher{}},
		departmentPolicy: map[string]string{}, channelPolicy: map[string]string{}}
	for i := range sorted {
		p := &sorted[i]
		matched, err := Matches(p, post.Labels)
		if err != nil {
			// The selector cannot say whether it selects this post: fail closed.
			return nil, &Blocked{ReasonInvalidPolicy, fmt.Sprintf(
				"ApprovalPolicy %s has an invalid spec.selector (%v); fix the selector so Greenlight can tell which posts it covers", p.Name, err)}
		}
		memory, held := remembered[string(p.UID)]
		held = held && memory.Generation == p.Generation
		if !matched && !held {
			continue
		}
		if blocked := r.add(p, matched, held, memory); blocked != nil {
			return nil, blocked
		}
	}

	if len(r.req.Policies) == 0 {
		return nil, &Blocked{ReasonNoMatchingPolicy, fmt.Sprintf(
			"no ApprovalPolicy in namespace %s selects this post (labels: %s); add labels that a policy's spec.selector matches, or create a policy",
			post.Namespace, describeLabels(post.Labels))}
	}
	for _, ch := range post.Spec.Channels {
		if _, ok := r.req.Publishers[ch.Name]; !ok {
			return nil, &Blocked{ReasonNoPublisher, fmt.Sprintf(
				"channel %s: none of the ApprovalPolicies that apply to this post (%s) publishes to it; add spec.publishing.channels.%s "+
					"with a jobTemplate to one of them, or remove the channel from the post", ch.Name, strings.Join(r.req.Policies, ", "), ch.Name)}
		}
	}
	return r.req, nil
}

// resolution gathers the requirements of the policies that apply to one post.
type resolution struct {
	post     *greenlightv1alpha1.ContentPost
	compiler *Compiler
	req      *Requirements
	// departmentPolicy and channelPolicy name the policy that defines each department and
	// configures each of the post's channels so far, to find conflicts.
	departmentPolicy, channelPolicy map[string]string
}

// add adds what policy p requires: it selects the post now (matched), or it selected the
// submitted post at its current generation (held, with memory).
func (r *resolution) add(p *greenlightv1alpha1.ApprovalPolicy, matched, held bool, memory greenlightv1alpha1.AppliedPolicy) *Blocked {
	r.req.Policies = append(r.req.Policies, p.Name)
	applied := greenlightv1alpha1.AppliedPolicy{UID: string(p.UID), Name: p.Name, Generation: p.Generation}
	for stageIndex, stage := range p.Spec.Stages {
		for _, d := range stage.Departments {
			dept, blocked := r.department(p, stageIndex, d, held && slices.Contains(memory.Required, d.Name))
			if blocked != nil {
				return blocked
			}
			if held && !matched && dept.Required && dept.RequiredMessage == "" {
				dept.RequiredMessage = fmt.Sprintf("required by ApprovalPolicy %s, which selected this post when it was submitted: "+
					"label edits do not release a submitted post from a policy (only a change to the policy does)", p.Name)
			}
			if dept.Required {
				applied.Required = append(applied.Required, d.Name)
			}
			r.req.Departments = append(r.req.Departments, dept)
		}
	}
	// Requirements ratchet once the post is submitted, and stay through a later draft toggle.
	if !r.post.Spec.Draft || len(r.post.Status.AppliedPolicies) > 0 {
		r.req.Applied = append(r.req.Applied, applied)
	}

	policyWindows, err := windows.Parse(p.Spec.Windows)
	if err != nil {
		return &Blocked{ReasonInvalidPolicy, fmt.Sprintf("ApprovalPolicy %s has invalid windows: %v", p.Name, err)}
	}
	r.req.Windows.Include(policyWindows)
	if p.Spec.Freeze != nil {
		r.req.Freezes = append(r.req.Freezes, p.Name+": "+p.Spec.Freeze.Reason)
	}
	for _, n := range p.Spec.Notifications {
		r.req.Notifications = append(r.req.Notifications, Notification{Policy: p.Name, Notification: n})
	}
	return r.addPublishing(p)
}

// department resolves one department of policy p; wasRequired says the post required it at the
// policy's current generation.
func (r *resolution) department(p *greenlightv1alpha1.ApprovalPolicy, stageIndex int, d greenlightv1alpha1.Department,
	wasRequired bool) (Department, *Blocked) {
	if other, dup := r.departmentPolicy[d.Name]; dup {
		return Department{}, &Blocked{ReasonPolicyConflict, fmt.Sprintf(
			"ApprovalPolicies %s and %s both define department %s; define it in one policy, or narrow their selectors so only one matches",
			other, p.Name, d.Name)}
	}
	r.departmentPolicy[d.Name] = p.Name
	stage := p.Spec.Stages[stageIndex]
	dept := Department{Department: d, Policy: p.Name, PolicyUID: string(p.UID), Stage: stage.Name, StageIndex: stageIndex,
		AllowSelfApproval: p.Spec.AllowSelfApproval, ReviewWindow: stage.ReviewWindow, Deadlines: p.Spec.Deadlines}
	if d.When != "" {
		program, err := r.compiler.Compile(d.When)
		if err != nil {
			return Department{}, &Blocked{ReasonInvalidPolicy, fmt.Sprintf(
				"ApprovalPolicy %s: department %s has a when expression that does not compile: %v", p.Name, d.Name, err)}
		}
		dept.When = program
	}
	dept.Required, dept.RequiredMessage = required(dept, r.post, wasRequired)
	return dept, nil
}

// addPublishing adds p's maxLateness and the post's channels it publishes to.
func (r *resolution) addPublishing(p *greenlightv1alpha1.ApprovalPolicy) *Blocked {
	if p.Spec.Publishing == nil {
		return nil
	}
	if m := p.Spec.Publishing.MaxLateness; m != nil && (r.req.MaxLateness == nil || m.Duration < *r.req.MaxLateness) {
		r.req.MaxLateness = &m.Duration
	}
	for _, ch := range r.post.Spec.Channels {
		publishing, ok := p.Spec.Publishing.Channels[ch.Name]
		if !ok {
			continue
		}
		if other, dup := r.channelPolicy[ch.Name]; dup {
			return &Blocked{ReasonPolicyConflict, fmt.Sprintf(
				"ApprovalPolicies %s and %s both configure publishing to channel %s; keep the channel's jobTemplate in one policy",
				other, p.Name, ch.Name)}
		}
		r.channelPolicy[ch.Name] = p.Name
		r.req.Publishers[ch.Name] = Publisher{Policy: p.Name, ChannelPublishing: publishing}
	}
	return nil
}

// required evaluates a department's when expression against the post. An expression that fails
// makes the department required (fail closed), and so does having been required before at the
// same policy generation (wasRequired); the message says why when that is not obvious.
func required(d Department, post *greenlightv1alpha1.ContentPost, wasRequired bool) (bool, string) {
	if d.When == nil {
		return true, ""
	}
	now, err := Eval(d.When, post)
	switch {
	case err != nil:
		return true, fmt.Sprintf("required because its when expression could not be evaluated: %v", err)
	case now:
		return true, ""
	case wasRequired:
		return true, fmt.Sprintf("required: its when expression was true for this post under ApprovalPolicy %s, and edits to a "+
			"submitted post never make a required department optional (only a change to the policy does)", d.Policy)
	}
	return false, ""
}

func describeLabels(l map[string]string) string {
	if len(l) == 0 {
		return "none"
	}
	return labels.Set(l).String()
}

// Validate checks what the API server's schema cannot: that the selector parses and every
// `when` expression compiles. It returns one message per problem.
func Validate(p *greenlightv1alpha1.ApprovalPolicy, compiler *Compiler) []string {
	var problems []string
	if p.Spec.Selector != nil {
		if _, err := metav1.LabelSelectorAsSelector(p.Spec.Selector); err != nil {
			problems = append(problems, fmt.Sprintf("spec.selector is invalid: %v", err))
		}
	}
	if _, err := windows.Parse(p.Spec.Windows); err != nil {
		problems = append(problems, err.Error())
	}
	for i, stage := range p.Spec.Stages {
		for j, d := range stage.Departments {
			if d.When == "" {
				continue
			}
			if _, err := compiler.Compile(d.When); err != nil {
				problems = append(problems, fmt.Sprintf("spec.stages[%d].departments[%d].when (department %s) does not compile: %v", i, j, d.Name, err))
			}
		}
	}
	return problems
}
