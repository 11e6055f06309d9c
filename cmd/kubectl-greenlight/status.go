package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func (c *cli) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status POST",
		Short: "Show where a post stands: each stage and department, and each channel's publishing",
		Long: `Show a post's phase and what it waits on, then a tree of its review, stage by stage: each
department's state, who approved and when, its deadline and the time left, and the latest
comment; then each channel's publishing state, attempts, URL and failure message.`,
		Example:           "  kubectl greenlight status launch-teaser -n acme",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: c.completePosts,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.status(cmd.Context(), args[0])
		},
	}
}

func (c *cli) status(ctx context.Context, name string) error {
	return c.showPost(ctx, name, renderStatus)
}

// showPost reads the named post and its SignOffs and writes them with render (status, history).
func (c *cli) showPost(ctx context.Context, name string,
	render func(io.Writer, view, *greenlightv1alpha1.ContentPost, []greenlightv1alpha1.SignOff) error) error {
	if _, err := c.connect(); err != nil {
		return err
	}
	post, err := c.getPost(ctx, name)
	if err != nil {
		return err
	}
	signOffs, err := c.signOffsOf(ctx, post)
	if err != nil {
		return err
	}
	return render(c.streams.Out, c.view(c.streams.Out), post, signOffs)
}

// signOffsOf lists the SignOffs made for the post (by spec.post), oldest first.
func (c *cli) signOffsOf(ctx context.Context, post *greenlightv1alpha1.ContentPost) ([]greenlightv1alpha1.SignOff, error) {
	list := &greenlightv1alpha1.SignOffList{}
	if err := c.client.List(ctx, list, client.InNamespace(post.Namespace)); err != nil {
		return nil, fmt.Errorf("listing the SignOffs of namespace %s: %w", post.Namespace, err)
	}
	mine := slices.DeleteFunc(list.Items, func(s greenlightv1alpha1.SignOff) bool { return s.Spec.Post != post.Name })
	sortOldestFirst(mine)
	return mine, nil
}

// sortOldestFirst orders sign-offs by creation. creationTimestamps have whole seconds: within
// one second, by name, so that the order is the same every time.
func sortOldestFirst(signOffs []greenlightv1alpha1.SignOff) {
	slices.SortStableFunc(signOffs, func(a, b greenlightv1alpha1.SignOff) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// Tree branches, as tree(1) draws them.
const (
	branch     = "├── "
	lastBranch = "└── "
	trunk      = "│   "
	gap        = "    "
)

// renderStatus writes a post's status as a tree. signOffs (the post's, oldest first) say who
// requested changes or rejected; the post's status says the rest.
func renderStatus(w io.Writer, v view, post *greenlightv1alpha1.ContentPost, signOffs []greenlightv1alpha1.SignOff) error {
	var b strings.Builder
	p := v.paint
	st := &post.Status

	// The headline: the phase and what the post waits on.
	headline := fmt.Sprintf("%s (namespace %s): %s", p.paint(bold, post.Name), post.Namespace, p.state(phaseOf(post)))
	if st.Stage != "" && st.WaitingOn != "" {
		headline += ", stage " + st.Stage + ", waiting on " + listed(st.WaitingOn)
	}
	fmt.Fprintln(&b, headline)
	if ready := meta.FindStatusCondition(st.Conditions, greenlightv1alpha1.ConditionReady); ready != nil && ready.Message != "" {
		fmt.Fprintf(&b, "  %s\n", ready.Message)
	}
	for _, cond := range st.Conditions {
		abnormal := cond.Type == greenlightv1alpha1.ConditionFrozen || cond.Type == greenlightv1alpha1.ConditionDrifted ||
			cond.Type == greenlightv1alpha1.ConditionDeadlineExceeded
		if abnormal && cond.Status == metav1.ConditionTrue {
			fmt.Fprintf(&b, "  %s: %s\n", p.paint(red, cond.Type), cond.Message)
		}
	}
	fmt.Fprintf(&b, "  %s\n", strings.Join(facts(v, post), " · "))

	writeReview(&b, v, post, signOffs)
	writeChannels(&b, v, post)
	_, err := io.WriteString(w, b.String())
	return err
}

// facts are the post's revision, schedule, campaign and policies.
func facts(v view, post *greenlightv1alpha1.ContentPost) []string {
	var out []string
	if post.Status.Revision != "" {
		out = append(out, "revision "+shortRevision(post.Status.Revision))
	}
	if at := post.Spec.PublishAt; at != nil {
		out = append(out, fmt.Sprintf("publish at %s (%s)", v.clockTime(at.Time), relative(at.Time, v.now)))
	} else {
		out = append(out, "publish as soon as approved")
	}
	if next := post.Status.NextWindow; next != nil {
		out = append(out, fmt.Sprintf("next window %s (%s)", v.clockTime(next.Time), relative(next.Time, v.now)))
	}
	if post.Spec.Campaign != "" {
		out = append(out, "campaign "+post.Spec.Campaign)
	}
	if len(post.Status.Policies) > 0 {
		out = append(out, "policies "+strings.Join(post.Status.Policies, ", "))
	}
	return out
}

// writeReview writes the review tree: stages in the order the post lists its departments.
func writeReview(b *strings.Builder, v view, post *greenlightv1alpha1.ContentPost, signOffs []greenlightv1alpha1.SignOff) {
	departments := post.Status.Departments
	if len(departments) == 0 {
		fmt.Fprintln(b, "Review: no department reviews this post (yet)")
		return
	}
	var stages []string
	nameWidth, stateWidth := 0, 0
	for _, d := range departments {
		if !slices.Contains(stages, d.Stage) {
			stages = append(stages, d.Stage)
		}
		nameWidth, stateWidth = max(nameWidth, len(d.Name)), max(stateWidth, len(d.State))
	}
	fmt.Fprintln(b, "Review")
	for i, stage := range stages {
		stageBranch, stageTrunk := branch, trunk
		if i == len(stages)-1 {
			stageBranch, stageTrunk = lastBranch, gap
		}
		fmt.Fprintf(b, "%sstage %s\n", stageBranch, stage)
		inStage := slices.DeleteFunc(slices.Clone(departments), func(d greenlightv1alpha1.DepartmentStatus) bool { return d.Stage != stage })
		for j, d := range inStage {
			deptBranch, deptTrunk := branch, trunk
			if j == len(inStage)-1 {
				deptBranch, deptTrunk = lastBranch, gap
			}
			fmt.Fprintf(b, "%s%s%s  %s  %s\n", stageTrunk, deptBranch, pad(d.Name, nameWidth),
				v.paint.state(string(d.State))+strings.Repeat(" ", stateWidth-len(d.State)), departmentDetails(v, d, signOffs))
			indent := stageTrunk + deptTrunk + strings.Repeat(" ", nameWidth+2)
			if d.Comment != "" {
				fmt.Fprintf(b, "%scomment: %q\n", indent, d.Comment)
			}
			if d.Message != "" {
				fmt.Fprintf(b, "%snote: %s\n", indent, d.Message)
			}
		}
	}
}

// departmentDetails says who decided and when, or by when the department must.
func departmentDetails(v view, d greenlightv1alpha1.DepartmentStatus, signOffs []greenlightv1alpha1.SignOff) string {
	approvals := fmt.Sprintf("%d/%d", len(d.ApprovedBy), max(d.MinApprovals, 1))
	var parts []string
	switch d.State {
	case greenlightv1alpha1.DepartmentApproved:
		parts = append(parts, approvals, decided(v, strings.Join(d.ApprovedBy, ", "), d.DecidedAt))
	case greenlightv1alpha1.DepartmentPending:
		parts = append(parts, approvals)
		if len(d.ApprovedBy) > 0 {
			parts = append(parts, "approved so far by "+strings.Join(d.ApprovedBy, ", "))
		}
		if d.Deadline != nil {
			parts = append(parts, fmt.Sprintf("deadline %s (%s)", v.clockTime(d.Deadline.Time), timeLeft(d.Deadline.Time, v.now)))
		} else {
			parts = append(parts, "no deadline")
		}
	case greenlightv1alpha1.DepartmentChangesRequested, greenlightv1alpha1.DepartmentRejected:
		parts = append(parts, decided(v, decidedBy(d, signOffs), d.DecidedAt))
	case greenlightv1alpha1.DepartmentExpired:
		if d.Deadline != nil {
			parts = append(parts, fmt.Sprintf("deadline was %s", v.clockTime(d.Deadline.Time)))
		}
	case greenlightv1alpha1.DepartmentWaiting:
		parts = append(parts, "for an earlier stage")
	case greenlightv1alpha1.DepartmentNotRequired:
		parts = append(parts, "not needed for this post")
	}
	return strings.Join(parts, "  ")
}

// decided says who decided and when: "by alice, erin at 2026-11-27 08:12 UTC".
func decided(v view, who string, at *metav1.Time) string {
	var words []string
	if who != "" {
		words = append(words, "by "+who)
	}
	if at != nil {
		words = append(words, "at "+v.clockTime(at.Time))
	}
	return strings.Join(words, " ")
}

// decidedBy names the reviewers whose counted sign-offs gave a department its ChangesRequested
// or Rejected state.
func decidedBy(d greenlightv1alpha1.DepartmentStatus, signOffs []greenlightv1alpha1.SignOff) string {
	decision := greenlightv1alpha1.DecisionReject
	if d.State == greenlightv1alpha1.DepartmentChangesRequested {
		decision = greenlightv1alpha1.DecisionRequestChanges
	}
	var who []string
	for _, s := range signOffs {
		if s.Spec.Department == d.Name && s.Spec.Decision == decision && s.Spec.Revision == d.Revision &&
			meta.IsStatusConditionTrue(s.Status.Conditions, greenlightv1alpha1.ConditionCounted) && !slices.Contains(who, s.Spec.Reviewer) {
			who = append(who, s.Spec.Reviewer)
		}
	}
	return strings.Join(who, ", ")
}

// writeChannels writes each channel's publishing.
func writeChannels(b *strings.Builder, v view, post *greenlightv1alpha1.ContentPost) {
	channels := post.Status.Channels
	if len(channels) == 0 {
		names := make([]string, 0, len(post.Spec.Channels))
		for _, ch := range post.Spec.Channels {
			names = append(names, ch.Name)
		}
		fmt.Fprintf(b, "Publishing: not started (channels %s)\n", strings.Join(names, ", "))
		return
	}
	nameWidth, stateWidth := 0, 0
	for _, ch := range channels {
		nameWidth, stateWidth = max(nameWidth, len(ch.Name)), max(stateWidth, len(ch.State))
	}
	fmt.Fprintln(b, "Publishing")
	for i, ch := range channels {
		chBranch, chTrunk := branch, trunk
		if i == len(channels)-1 {
			chBranch, chTrunk = lastBranch, gap
		}
		parts := []string{fmt.Sprintf("attempt %d", ch.Attempts)}
		if ch.PublishedAt != nil {
			parts = append(parts, "published "+v.clockTime(ch.PublishedAt.Time))
		}
		if ch.URL != "" {
			parts = append(parts, ch.URL)
		}
		fmt.Fprintf(b, "%s%s  %s  %s\n", chBranch, pad(ch.Name, nameWidth),
			v.paint.state(string(ch.State))+strings.Repeat(" ", stateWidth-len(ch.State)), strings.Join(parts, "  "))
		indent := chTrunk + strings.Repeat(" ", nameWidth+2)
		if ch.Job != "" {
			fmt.Fprintf(b, "%sjob %s\n", indent, ch.Job)
		}
		if ch.Message != "" {
			fmt.Fprintf(b, "%smessage: %s\n", indent, ch.Message)
		}
		writeEngagement(b, v, indent, ch)
	}
}

// writeEngagement writes what a published channel's insights Jobs reported and where they stand.
func writeEngagement(b *strings.Builder, v view, indent string, ch greenlightv1alpha1.ChannelStatus) {
	if e := ch.Engagement; e != nil {
		figures := fmt.Sprintf("%d likes, %d shares, %d replies", e.Likes, e.Shares, e.Replies)
		if e.Impressions != nil {
			figures += fmt.Sprintf(", %d impressions", *e.Impressions)
		}
		fmt.Fprintf(b, "%sengagement: %s (as of %s)\n", indent, figures, v.clockTime(e.ObservedAt.Time))
	}
	insights := ch.Insights
	if insights == nil {
		return
	}
	if insights.Job != "" && insights.Offset != nil {
		fmt.Fprintf(b, "%sinsights: job %s asks for the figures %s after publishing\n", indent, insights.Job, insights.Offset.Duration)
	}
	if insights.Message != "" {
		fmt.Fprintf(b, "%sinsights: %s\n", indent, insights.Message)
	}
}

// pad fills s with spaces to width.
func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(width-len(s), 0))
}
