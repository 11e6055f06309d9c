package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/report"
)

// reportOptions are the report command's flags.
type reportOptions struct {
	campaign      string
	since         string
	output        string
	allNamespaces bool
}

func (c *cli) reportCommand() *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report [--campaign C] [--since 720h] [-o table|json|csv]",
		Short: "Show the retrospective: response times, missed deadlines, publishing results, what expired or failed",
		Long: `Show, for the window that ends now: per department the reviews, the median and 90th
percentile response time, missed deadlines, changes requested and rejections; per channel the
publishing attempts that succeeded and failed; and the posts that expired or failed, with why.
The figures count the same events as the manager's metrics.`,
		Example: "  kubectl greenlight report\n  kubectl greenlight report --campaign spring-launch --since 2160h -o csv > spring.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.report(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.campaign, "campaign", "", "Count only the posts of this campaign (spec.campaign) and their sign-offs.")
	cmd.Flags().StringVar(&o.since, "since", "720h", `Length of the window that ends now, such as 168h; "0" for all time.`)
	cmd.Flags().StringVarP(&o.output, "output", "o", report.FormatTable, "Output format: "+strings.Join(report.Formats, ", ")+".")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "Count the posts of every namespace you can read.")
	_ = cmd.RegisterFlagCompletionFunc("campaign", c.completeCampaigns)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(report.Formats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (c *cli) report(ctx context.Context, o *reportOptions) error {
	since, err := parseSince(o.since)
	if err != nil {
		return err
	}
	if !slices.Contains(report.Formats, o.output) {
		return fmt.Errorf("-o %s is not an output format: use -o %s", o.output, strings.Join(report.Formats, ", -o "))
	}
	if _, err := c.connect(); err != nil {
		return err
	}
	posts, err := c.listPosts(ctx, o.allNamespaces)
	if err != nil {
		return err
	}
	signOffs := &greenlightv1alpha1.SignOffList{}
	if err := c.client.List(ctx, signOffs, c.scope(o.allNamespaces)...); err != nil {
		return fmt.Errorf("listing SignOffs: %w", err)
	}
	r := report.Build(posts, signOffs.Items, report.Options{Campaign: o.campaign, Since: since, Now: c.now()})
	return report.Write(c.streams.Out, r, o.output)
}

// parseSince reads --since: a Go duration such as 720h, or 0 for all time.
func parseSince(value string) (time.Duration, error) {
	since, err := time.ParseDuration(value)
	if err != nil || since < 0 {
		return 0, fmt.Errorf("--since %s is not a duration: use hours, minutes or seconds, such as 720h for 30 days, or 0 for all time",
			value)
	}
	return since, nil
}
