package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func (c *cli) historyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "history POST",
		Short: "Show a post's audit trail: every sign-off, and what was published where and when",
		Long: `Show every SignOff made for a post, oldest first: who decided what and when, the revision
they reviewed, how long after the review request they answered, and whether the sign-off counts
(and why not); then what was published on each channel, when, with which Job and where it lives.`,
		Example:           "  kubectl greenlight history launch-teaser",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: c.completePosts,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.history(cmd.Context(), args[0])
		},
	}
}

func (c *cli) history(ctx context.Context, name string) error {
	return c.showPost(ctx, name, renderHistory)
}

// decisionVerbs are decisions as the audit trail words them.
var decisionVerbs = map[greenlightv1alpha1.Decision]string{
	greenlightv1alpha1.DecisionApprove:        "approved",
	greenlightv1alpha1.DecisionRequestChanges: "requested changes",
	greenlightv1alpha1.DecisionReject:         "rejected",
}

// renderHistory writes the audit trail of a post: its sign-offs (oldest first) and its channels.
func renderHistory(w io.Writer, v view, post *greenlightv1alpha1.ContentPost, signOffs []greenlightv1alpha1.SignOff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (namespace %s): %s, revision %s\n", v.paint.paint(bold, post.Name), post.Namespace,
		v.paint.state(phaseOf(post)), dash(shortRevision(post.Status.Revision)))
	if len(signOffs) == 0 {
		fmt.Fprintln(&b, "Sign-offs: none yet")
	} else {
		fmt.Fprintln(&b, "Sign-offs")
	}
	for _, s := range signOffs {
		reviewer := s.Spec.Reviewer
		if reviewer == "" {
			reviewer = "(nobody)"
		}
		fmt.Fprintf(&b, "  %s  %s %s for %s  (SignOff %s)\n", v.clockTime(s.CreationTimestamp.Time), reviewer,
			decisionVerbs[s.Spec.Decision], s.Spec.Department, s.Name)
		facts := []string{"revision " + dash(shortRevision(s.Spec.Revision))}
		if s.Status.RespondedAfter != nil {
			facts = append(facts, "responded after "+duration.HumanDuration(s.Status.RespondedAfter.Duration))
		}
		facts = append(facts, countedFact(v, s))
		fmt.Fprintf(&b, "      %s\n", strings.Join(facts, "; "))
		if s.Spec.Comment != "" {
			fmt.Fprintf(&b, "      comment: %q\n", s.Spec.Comment)
		}
	}
	writePublished(&b, v, post)
	_, err := io.WriteString(w, b.String())
	return err
}

// countedFact says whether a sign-off counts now, and why not.
func countedFact(v view, s greenlightv1alpha1.SignOff) string {
	counted := meta.FindStatusCondition(s.Status.Conditions, greenlightv1alpha1.ConditionCounted)
	switch {
	case counted == nil:
		return "not judged yet"
	case counted.Status == metav1.ConditionTrue:
		return v.paint.paint(green, "counts")
	}
	return fmt.Sprintf("%s (%s): %s", v.paint.paint(red, "does not count"), counted.Reason, counted.Message)
}

// writePublished writes what was published where and when.
func writePublished(b *strings.Builder, v view, post *greenlightv1alpha1.ContentPost) {
	if len(post.Status.Channels) == 0 {
		fmt.Fprintln(b, "Published: nothing yet")
		return
	}
	fmt.Fprintln(b, "Published")
	for _, ch := range post.Status.Channels {
		facts := []string{v.paint.state(string(ch.State)), fmt.Sprintf("attempts %d", ch.Attempts)}
		if ch.Job != "" {
			facts = append(facts, "job "+ch.Job)
		}
		if ch.PublishedAt != nil {
			facts = append(facts, "at "+v.clockTime(ch.PublishedAt.Time))
		}
		if ch.URL != "" {
			facts = append(facts, ch.URL)
		}
		fmt.Fprintf(b, "  %s: %s\n", ch.Name, strings.Join(facts, "; "))
		if ch.Message != "" {
			fmt.Fprintf(b, "      message: %s\n", ch.Message)
		}
	}
}
