package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// decisionWords are how each decision is named on the command line and in sentences.
var decisionWords = map[greenlightv1alpha1.Decision]struct{ command, past, short string }{
	greenlightv1alpha1.DecisionApprove:        {"approve", "Approved", "Approve a post for your department"},
	greenlightv1alpha1.DecisionRequestChanges: {"request-changes", "Requested changes to", "Ask the author to change a post"},
	greenlightv1alpha1.DecisionReject:         {"reject", "Rejected", "Reject this revision of a post for good"},
}

// decisionOptions are a decision command's flags.
type decisionOptions struct {
	department string
	message    string
	wait       time.Duration
}

func (c *cli) decisionCommand(decision greenlightv1alpha1.Decision) *cobra.Command {
	words := decisionWords[decision]
	o := &decisionOptions{}
	cmd := &cobra.Command{
		Use:   words.command + " POST [--department D] [-m TEXT]",
		Short: words.short,
		Long: words.short + ` by recording your SignOff, then say whether it counts and what the post
waits on now. Without --department, the one department of the post that waits on you is used.`,
		Example: "  kubectl greenlight " + words.command + " launch-teaser --department legal -m \"Claims checked.\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.decide(cmd.Context(), args[0], decision, o)
		},
		ValidArgsFunction: c.completePosts,
	}
	messageHelp := "Comment for the author (required: say what must change or why)."
	if decision == greenlightv1alpha1.DecisionApprove {
		messageHelp = "Comment for the author (optional)."
	}
	cmd.Flags().StringVar(&o.department, "department", "",
		"Department you decide for (default: the one pending department you may decide for).")
	cmd.Flags().StringVarP(&o.message, "message", "m", "", messageHelp)
	cmd.Flags().DurationVar(&o.wait, "wait", 5*time.Second, "How long to wait for the post's status to show the decision (0: do not wait).")
	_ = cmd.RegisterFlagCompletionFunc("department", c.completeDepartments)
	return cmd
}

// decide records one decision and reports it in one line.
func (c *cli) decide(ctx context.Context, postName string, decision greenlightv1alpha1.Decision, o *decisionOptions) error {
	if decision != greenlightv1alpha1.DecisionApprove && strings.TrimSpace(o.message) == "" {
		return fmt.Errorf("%s needs -m TEXT: say what must change or why the post is rejected", decisionWords[decision].command)
	}
	cl, err := c.connect()
	if err != nil {
		return err
	}
	post, err := c.getPost(ctx, postName)
	if err != nil {
		return err
	}
	department := o.department
	if department == "" {
		if department, err = c.inferDepartment(ctx, post, decision); err != nil {
			return err
		}
	}
	signOff := &greenlightv1alpha1.SignOff{
		ObjectMeta: metav1.ObjectMeta{GenerateName: post.Name + "-" + department + "-", Namespace: post.Namespace},
		// spec.reviewer and spec.revision are left to admission: it records who you are and the
		// revision you reviewed.
		Spec: greenlightv1alpha1.SignOffSpec{Post: post.Name, Department: department, Decision: decision, Comment: o.message},
	}
	if err := cl.Create(ctx, signOff); err != nil {
		return err
	}
	post = c.waitForPost(ctx, post, signOff, o.wait)
	_, err = fmt.Fprintln(c.streams.Out, outcome(signOff, post, c.now()))
	return err
}

// getPost reads a post of the namespace in use, with a fix when it does not exist.
func (c *cli) getPost(ctx context.Context, name string) (*greenlightv1alpha1.ContentPost, error) {
	post := &greenlightv1alpha1.ContentPost{}
	err := c.client.Get(ctx, client.ObjectKey{Namespace: c.namespace, Name: name}, post)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("there is no ContentPost %s in namespace %s: check the name with `kubectl get posts -n %s`, "+
			"or pick the namespace with -n", name, c.namespace, c.namespace)
	}
	return post, err
}

// inferDepartment finds the one pending department of the post that the user may decide for.
func (c *cli) inferDepartment(ctx context.Context, post *greenlightv1alpha1.ContentPost,
	decision greenlightv1alpha1.Decision) (string, error) {
	who, err := whoAmI(ctx, c.client)
	if err != nil {
		return "", err
	}
	policies := &greenlightv1alpha1.ApprovalPolicyList{}
	if err := c.client.List(ctx, policies, client.InNamespace(post.Namespace)); err != nil {
		return "", fmt.Errorf("reading the ApprovalPolicies of namespace %s to find your department (or name it with --department): %w",
			post.Namespace, err)
	}
	return inferDepartment(post, definitions(post, policies.Items), who, decision)
}

// waitForPost polls the post until its status shows the sign-off (or it does not count, or wait
// runs out), and returns the post as last read.
func (c *cli) waitForPost(ctx context.Context, post *greenlightv1alpha1.ContentPost, signOff *greenlightv1alpha1.SignOff,
	wait time.Duration) *greenlightv1alpha1.ContentPost {
	if !meta.IsStatusConditionTrue(signOff.Status.Conditions, greenlightv1alpha1.ConditionCounted) {
		return post
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		latest := &greenlightv1alpha1.ContentPost{}
		if err := c.client.Get(ctx, client.ObjectKeyFromObject(post), latest); err == nil {
			post = latest
			if shows(post, signOff) {
				return post
			}
		}
		select {
		case <-ctx.Done():
			return post
		case <-ticker.C:
		}
	}
}

// shows reports whether the post's status reflects a counted sign-off.
func shows(post *greenlightv1alpha1.ContentPost, signOff *greenlightv1alpha1.SignOff) bool {
	d := post.Status.Department(signOff.Spec.Department)
	if d == nil {
		return false
	}
	switch signOff.Spec.Decision {
	case greenlightv1alpha1.DecisionApprove:
		return slices.Contains(d.ApprovedBy, signOff.Spec.Reviewer)
	case greenlightv1alpha1.DecisionRequestChanges:
		return d.State == greenlightv1alpha1.DepartmentChangesRequested
	default:
		return d.State == greenlightv1alpha1.DepartmentRejected
	}
}

// outcome is the one line a decision command prints: what was recorded, whether it counts, and
// what the post waits on now.
func outcome(signOff *greenlightv1alpha1.SignOff, post *greenlightv1alpha1.ContentPost, now time.Time) string {
	recorded := fmt.Sprintf("%s %s for %s (SignOff %s)", decisionWords[signOff.Spec.Decision].past, signOff.Spec.Post,
		signOff.Spec.Department, signOff.Name)
	counted := meta.FindStatusCondition(signOff.Status.Conditions, greenlightv1alpha1.ConditionCounted)
	switch {
	case counted == nil:
		return recorded + ": Greenlight has not judged it yet; " + postNow(post, now) + "."
	case counted.Status != metav1.ConditionTrue:
		return fmt.Sprintf("%s: it does not count (%s: %s); %s.", recorded, counted.Reason, strings.TrimSuffix(counted.Message, "."),
			postNow(post, now))
	}
	if !shows(post, signOff) {
		return recorded + ": it counts; the post's status does not show it yet (" + postNow(post, now) + ")."
	}
	return recorded + ": it counts; " + postNow(post, now) + "."
}

// postNow says where a post stands and what it waits on, in a clause.
func postNow(post *greenlightv1alpha1.ContentPost, now time.Time) string {
	s := fmt.Sprintf("%s is %s", post.Name, phaseOf(post))
	if post.Status.Stage != "" && post.Status.WaitingOn != "" {
		s += ", stage " + post.Status.Stage
	}
	switch {
	case post.Status.WaitingOn != "":
		s += ", waiting on " + listed(post.Status.WaitingOn)
		if post.Status.Deadline != nil {
			s += " (due " + relative(post.Status.Deadline.Time, now) + ")"
		}
	case post.Status.Phase == greenlightv1alpha1.PostScheduled:
		s += ": every department approved"
	}
	return s
}

func (c *cli) withdrawCommand() *cobra.Command {
	var department string
	cmd := &cobra.Command{
		Use:   "withdraw POST --department D",
		Short: "Take back your decision on a post for a department (deletes your SignOff)",
		Long: `Take back your decision on a post for a department: your own SignOffs for it are deleted, so
that you may decide again. Other reviewers' sign-offs are never touched.`,
		Example:           "  kubectl greenlight withdraw launch-teaser --department legal",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: c.completePosts,
		RunE: func(cmd *cobra.Command, args []string) error {
			if department == "" {
				return fmt.Errorf("withdraw needs --department D: the department whose sign-off you take back")
			}
			return c.withdraw(cmd.Context(), args[0], department)
		},
	}
	cmd.Flags().StringVar(&department, "department", "", "Department whose sign-off you take back (required).")
	_ = cmd.RegisterFlagCompletionFunc("department", c.completeDepartments)
	return cmd
}

// withdraw deletes the user's own SignOffs for the post and department.
func (c *cli) withdraw(ctx context.Context, postName, department string) error {
	cl, err := c.connect()
	if err != nil {
		return err
	}
	post, err := c.getPost(ctx, postName)
	if err != nil {
		return err
	}
	who, err := whoAmI(ctx, cl)
	if err != nil {
		return err
	}
	signOffs, err := c.signOffsOf(ctx, post)
	if err != nil {
		return err
	}
	var withdrawn int
	for i := range signOffs {
		s := &signOffs[i]
		if s.Spec.Department != department || s.Spec.Reviewer != who.user || !s.DeletionTimestamp.IsZero() {
			continue
		}
		if err := cl.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
			return err
		}
		withdrawn++
		if _, err := fmt.Fprintf(c.streams.Out, "Withdrew SignOff %s (%s %s for %s).\n", s.Name, who,
			decisionVerbs[s.Spec.Decision], department); err != nil {
			return err
		}
	}
	if withdrawn == 0 {
		return fmt.Errorf("you (%s) have no SignOff for department %s of ContentPost %s to withdraw: "+
			"see `kubectl greenlight history %s`", who, department, post.Name, post.Name)
	}
	return nil
}
