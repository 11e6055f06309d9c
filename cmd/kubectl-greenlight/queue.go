package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func (c *cli) queueCommand() *cobra.Command {
	var allNamespaces bool
	cmd := &cobra.Command{
		Use:   "queue [--all-namespaces]",
		Short: "List the posts waiting on a department you may approve, oldest review request first",
		Long: `List the posts waiting on a department you may approve: who you are comes from the API
server (SelfSubjectReview), and a department is yours when its policy lists you or one of your
groups among its approvers. Posts you wrote (and may therefore not approve) and departments you
approved already are left out. The oldest review request comes first, with the time left to
each deadline.`,
		Example: "  kubectl greenlight queue\n  kubectl greenlight queue -A",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.queue(cmd.Context(), allNamespaces)
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "List the posts of every namespace you can read.")
	return cmd
}

// queueEntry is one department of one post that waits on the user.
type queueEntry struct {
	post       *greenlightv1alpha1.ContentPost
	department greenlightv1alpha1.DepartmentStatus
}

func (c *cli) queue(ctx context.Context, allNamespaces bool) error {
	cl, err := c.connect()
	if err != nil {
		return err
	}
	who, err := whoAmI(ctx, cl)
	if err != nil {
		return err
	}
	var scope []client.ListOption
	if !allNamespaces {
		scope = append(scope, client.InNamespace(c.namespace))
	}
	posts := &greenlightv1alpha1.ContentPostList{}
	if err := cl.List(ctx, posts, scope...); err != nil {
		return fmt.Errorf("listing ContentPosts: %w", err)
	}
	policies := &greenlightv1alpha1.ApprovalPolicyList{}
	if err := cl.List(ctx, policies, scope...); err != nil {
		return fmt.Errorf("listing ApprovalPolicies to learn which departments you are in: %w", err)
	}
	return writeQueue(c.streams.Out, c.view(c.streams.Out), queueOf(posts.Items, policies.Items, who), who, allNamespaces)
}

// queueOf returns the departments of posts that wait on who, oldest review request first.
func queueOf(posts []greenlightv1alpha1.ContentPost, policies []greenlightv1alpha1.ApprovalPolicy, who identity) []queueEntry {
	var entries []queueEntry
	for i := range posts {
		post := &posts[i]
		for _, d := range waitingOn(post, definitions(post, policies), who, greenlightv1alpha1.DecisionApprove) {
			entries = append(entries, queueEntry{post: post, department: d})
		}
	}
	slices.SortStableFunc(entries, func(a, b queueEntry) int {
		if c := compareTimes(timeOf(a.department.RequestedAt), timeOf(b.department.RequestedAt)); c != 0 {
			return c
		}
		if c := strings.Compare(a.post.Namespace, b.post.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(a.post.Name, b.post.Name); c != 0 {
			return c
		}
		return strings.Compare(a.department.Name, b.department.Name)
	})
	return entries
}

// timeOf is t's instant, the zero time when t is nil.
func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

// compareTimes orders instants, the zero time (never requested) last.
func compareTimes(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

func writeQueue(w io.Writer, v view, entries []queueEntry, who identity, allNamespaces bool) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintf(w, "Nothing waits on you (%s).\n", who)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "POST\tDEPARTMENT\tSTAGE\tWAITING\tDEADLINE\tCAMPAIGN"
	if allNamespaces {
		header = "NAMESPACE\t" + header
	}
	_, _ = fmt.Fprintln(tw, header) // tabwriter reports write errors on Flush
	for _, e := range entries {
		waiting, deadline := "-", "none"
		if at := e.department.RequestedAt; at != nil {
			waiting = duration.HumanDuration(max(v.now.Sub(at.Time), 0))
		}
		if due := e.department.Deadline; due != nil {
			deadline = fmt.Sprintf("%s (%s)", timeLeft(due.Time, v.now), v.clockTime(due.Time))
		}
		row := strings.Join([]string{e.post.Name, e.department.Name, e.department.Stage, waiting, deadline, dash(e.post.Spec.Campaign)}, "\t")
		if allNamespaces {
			row = e.post.Namespace + "\t" + row
		}
		_, _ = fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}

// dash shows an empty value as "-", as kubectl does.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
