package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/calendar"
)

// calendarOptions are the calendar command's flags.
type calendarOptions struct {
	week, month   bool
	offset        int
	campaign      string
	ics           string
	allNamespaces bool
}

func (c *cli) calendarCommand() *cobra.Command {
	o := &calendarOptions{}
	cmd := &cobra.Command{
		Use:   "calendar [--week|--month] [--campaign C] [--ics FILE]",
		Short: "Show the posts of a week or month on a calendar, with review deadlines; --ics writes iCalendar",
		Long: `Show a week (the default) or a month as a grid: each post at its publish time with its
phase, and each review deadline still running. Posts without a publish time are listed under
the grid.

--ics FILE writes an iCalendar file instead (one event per post and one per running deadline,
with stable UIDs), which Google Calendar and Outlook import; "-" writes it to standard output.`,
		Example: "  kubectl greenlight calendar\n  kubectl greenlight calendar --month --next 1 --campaign spring-launch\n" +
			"  kubectl greenlight calendar -A --ics greenlight.ics",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.calendar(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.week, "week", false, "Show the week (Monday to Sunday) containing today (the default).")
	cmd.Flags().BoolVar(&o.month, "month", false, "Show the month containing today.")
	cmd.MarkFlagsMutuallyExclusive("week", "month")
	cmd.Flags().IntVar(&o.offset, "next", 0, "Show the week or month this many periods ahead (negative: back).")
	cmd.Flags().StringVar(&o.campaign, "campaign", "", "Show only the posts of this campaign (spec.campaign).")
	cmd.Flags().StringVar(&o.ics, "ics", "", `Write an iCalendar file to FILE instead of drawing the grid ("-": standard output).`)
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "Show the posts of every namespace you can read.")
	_ = cmd.RegisterFlagCompletionFunc("campaign", c.completeCampaigns)
	return cmd
}

func (c *cli) calendar(ctx context.Context, o *calendarOptions) error {
	if _, err := c.connect(); err != nil {
		return err
	}
	posts, err := c.listPosts(ctx, o.allNamespaces)
	if err != nil {
		return err
	}
	now := c.now()
	if o.ics != "" {
		return c.writeICS(posts, o, calendar.FeedOptions{Campaign: o.campaign, Now: now})
	}
	span := calendar.Week
	if o.month {
		span = calendar.Month
	}
	grid := calendar.Build(posts, calendar.Options{Span: span, Offset: o.offset, Location: c.location, Campaign: o.campaign, Now: now})
	return grid.Render(c.streams.Out)
}

// writeICS writes the iCalendar feed to the named file (or standard output for "-").
func (c *cli) writeICS(posts []greenlightv1alpha1.ContentPost, o *calendarOptions, opts calendar.FeedOptions) error {
	if o.ics == "-" {
		return calendar.WriteICS(c.streams.Out, posts, opts)
	}
	f, err := os.Create(o.ics)
	if err != nil {
		return fmt.Errorf("writing the iCalendar file: %w", err)
	}
	if err := calendar.WriteICS(f, posts, opts); err != nil {
		return errors.Join(fmt.Errorf("writing the iCalendar file %s: %w", o.ics, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the iCalendar file %s: %w", o.ics, err)
	}
	scope := "all campaigns"
	if o.campaign != "" {
		scope = "campaign " + o.campaign
	}
	_, err = fmt.Fprintf(c.streams.Out, "Wrote %s (%s): import it in Google Calendar or Outlook, or serve it for subscribers.\n",
		o.ics, scope)
	return err
}

// listPosts lists the posts of the namespace in use, or of every namespace.
func (c *cli) listPosts(ctx context.Context, allNamespaces bool) ([]greenlightv1alpha1.ContentPost, error) {
	posts := &greenlightv1alpha1.ContentPostList{}
	if err := c.client.List(ctx, posts, c.scope(allNamespaces)...); err != nil {
		return nil, fmt.Errorf("listing ContentPosts: %w", err)
	}
	return posts.Items, nil
}

// scope is the namespace in use, or none for every namespace.
func (c *cli) scope(allNamespaces bool) []client.ListOption {
	if allNamespaces {
		return nil
	}
	return []client.ListOption{client.InNamespace(c.namespace)}
}
