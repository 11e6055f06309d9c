package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
)

// identity is who the API server says the person at the terminal is.
type identity struct {
	user   string
	groups []string
}

func (who identity) String() string { return who.user }

// whoAmI asks the API server who the credentials in use belong to (a SelfSubjectReview), as
// admission will see them, so that --as and every kubeconfig auth method are honoured.
func whoAmI(ctx context.Context, cl client.Client) (identity, error) {
	r := &authenticationv1.SelfSubjectReview{}
	if err := cl.Create(ctx, r); err != nil {
		return identity{}, fmt.Errorf("asking the API server who you are (SelfSubjectReview, authentication.k8s.io/v1): %w", err)
	}
	if r.Status.UserInfo.Username == "" {
		return identity{}, errors.New("the API server's SelfSubjectReview names no user for your credentials: " +
			"check --kubeconfig, --context and --as")
	}
	return identity{user: r.Status.UserInfo.Username, groups: r.Status.UserInfo.Groups}, nil
}

// departmentDefinition is a department as the policy that defines it says.
type departmentDefinition struct {
	policy *greenlightv1alpha1.ApprovalPolicy
	stage  string
	greenlightv1alpha1.Department
}

// definitions returns, by department name, the departments of the policies that apply to the
// post (status.policies), found among policies (the post's namespace's).
func definitions(post *greenlightv1alpha1.ContentPost, policies []greenlightv1alpha1.ApprovalPolicy) map[string]departmentDefinition {
	defs := map[string]departmentDefinition{}
	for i := range policies {
		p := &policies[i]
		if p.Namespace != post.Namespace || !slices.Contains(post.Status.Policies, p.Name) {
			continue
		}
		for _, stage := range p.Spec.Stages {
			for _, d := range stage.Departments {
				if _, seen := defs[d.Name]; !seen {
					defs[d.Name] = departmentDefinition{policy: p, stage: stage.Name, Department: d}
				}
			}
		}
	}
	return defs
}

// mayDecide says why who may not record decision for the department on the post ("" when they
// may), with Greenlight's own rules: membership in the department's approvers and, for an
// approval, that they did not write the post.
func mayDecide(post *greenlightv1alpha1.ContentPost, def departmentDefinition, who identity, decision greenlightv1alpha1.Decision) string {
	if review.ApproverEntry(def.Approvers, who.user, who.groups) == "" {
		return fmt.Sprintf("not an approver (%s)", review.DescribeApprovers(def.Approvers))
	}
	candidate := &greenlightv1alpha1.SignOff{Spec: greenlightv1alpha1.SignOffSpec{
		Post: post.Name, Department: def.Name, Decision: decision, Reviewer: who.user,
	}}
	in := review.CheckInput{SignOff: candidate, Post: post, Department: policy.Department{
		Department: def.Department, Policy: def.policy.Name, Stage: def.stage, AllowSelfApproval: def.policy.Spec.AllowSelfApproval,
	}}
	if _, message, failed := review.NotSelfApproval(in); failed {
		return message
	}
	return ""
}

// waitingOn returns the post's pending departments that who may decide on with decision and has
// not approved yet, in the post's stage order.
func waitingOn(post *greenlightv1alpha1.ContentPost, defs map[string]departmentDefinition, who identity,
	decision greenlightv1alpha1.Decision) []greenlightv1alpha1.DepartmentStatus {
	var mine []greenlightv1alpha1.DepartmentStatus
	for _, d := range post.Status.Departments {
		def, known := defs[d.Name]
		if d.State != greenlightv1alpha1.DepartmentPending || !known || slices.Contains(d.ApprovedBy, who.user) {
			continue
		}
		if mayDecide(post, def, who, decision) == "" {
			mine = append(mine, d)
		}
	}
	return mine
}

// inferDepartment picks the one pending department of the post that who may decide on, or says
// why there is not exactly one.
func inferDepartment(post *greenlightv1alpha1.ContentPost, defs map[string]departmentDefinition, who identity,
	decision greenlightv1alpha1.Decision) (string, error) {
	mine := waitingOn(post, defs, who, decision)
	if len(mine) == 1 {
		return mine[0].Name, nil
	}
	if len(mine) > 1 {
		names := make([]string, 0, len(mine))
		for _, d := range mine {
			names = append(names, d.Name)
		}
		return "", fmt.Errorf("you (%s) may decide for more than one department of ContentPost %s (%s): name one with --department",
			who, post.Name, strings.Join(names, ", "))
	}
	var pending []string
	for _, d := range post.Status.Departments {
		if d.State != greenlightv1alpha1.DepartmentPending {
			continue
		}
		why := "approved by you already"
		if def, known := defs[d.Name]; !known {
			why = "its policy cannot be read"
		} else if reason := mayDecide(post, def, who, decision); reason != "" {
			why = reason
		}
		pending = append(pending, fmt.Sprintf("%s (%s)", d.Name, why))
	}
	if len(pending) == 0 {
		return "", fmt.Errorf("ContentPost %s waits on no department now (phase %s): there is nothing to decide; "+
			"see `kubectl greenlight status %s`", post.Name, phaseOf(post), post.Name)
	}
	return "", fmt.Errorf("you (%s) may decide for none of the departments ContentPost %s waits on: %s; "+
		"name a department with --department if you are sure", who, post.Name, strings.Join(pending, "; "))
}

// phaseOf is the post's phase, or "not yet reconciled" before Greenlight has seen it.
func phaseOf(post *greenlightv1alpha1.ContentPost) string {
	if post.Status.Phase == "" {
		return "not yet reconciled"
	}
	return string(post.Status.Phase)
}
