package main

import (
	"slices"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Dynamic completion: cobra's `completion` command writes the shell scripts, which call back
// into the plugin (`__complete`) for post, department, policy and namespace names. The flags
// typed so far (--kubeconfig, -n, ...) are parsed before these run.

// completePosts completes the first argument with the names of the namespace's posts.
func (c *cli) completePosts(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	posts := &greenlightv1alpha1.ContentPostList{}
	if !c.listForCompletion(cmd, posts, true) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]cobra.Completion, 0, len(posts.Items))
	for _, p := range posts.Items {
		names = append(names, cobra.CompletionWithDesc(p.Name, string(p.Status.Phase)))
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeDepartments completes --department with the departments of the post named by the
// first argument, those pending first.
func (c *cli) completeDepartments(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if _, err := c.connect(); err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	post, err := c.getPost(cmd.Context(), args[0])
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	departments := slices.Clone(post.Status.Departments)
	slices.SortStableFunc(departments, func(a, b greenlightv1alpha1.DepartmentStatus) int {
		return boolRank(a.State != greenlightv1alpha1.DepartmentPending) - boolRank(b.State != greenlightv1alpha1.DepartmentPending)
	})
	names := make([]cobra.Completion, 0, len(departments))
	for _, d := range departments {
		names = append(names, cobra.CompletionWithDesc(d.Name, string(d.State)))
	}
	return names, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// completePolicies completes the first argument with the names of the namespace's policies.
func (c *cli) completePolicies(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	policies := &greenlightv1alpha1.ApprovalPolicyList{}
	if !c.listForCompletion(cmd, policies, true) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]cobra.Completion, 0, len(policies.Items))
	for _, p := range policies.Items {
		names = append(names, p.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeNamespaces completes -n with the namespaces the user may list.
func (c *cli) completeNamespaces(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	namespaces := &corev1.NamespaceList{}
	if !c.listForCompletion(cmd, namespaces, false) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]cobra.Completion, 0, len(namespaces.Items))
	for _, ns := range namespaces.Items {
		names = append(names, ns.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeCampaigns completes --campaign with the campaigns of the namespace's posts.
func (c *cli) completeCampaigns(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	posts := &greenlightv1alpha1.ContentPostList{}
	if !c.listForCompletion(cmd, posts, true) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var campaigns []cobra.Completion
	for _, p := range posts.Items {
		if p.Spec.Campaign != "" && !slices.Contains(campaigns, p.Spec.Campaign) {
			campaigns = append(campaigns, p.Spec.Campaign)
		}
	}
	return campaigns, cobra.ShellCompDirectiveNoFileComp
}

// listForCompletion lists into list, in the namespace of the command line when namespaced (known
// only once connected); false when connecting or listing failed, and completion then offers
// nothing.
func (c *cli) listForCompletion(cmd *cobra.Command, list client.ObjectList, namespaced bool) bool {
	cl, err := c.connect()
	if err != nil {
		return false
	}
	var opts []client.ListOption
	if namespaced {
		opts = append(opts, client.InNamespace(c.namespace))
	}
	return cl.List(cmd.Context(), list, opts...) == nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
