package main

import (
	"io"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// relative says when t is from now, as kubectl shows ages: "in 47h", "3m10s ago", "now".
func relative(t, now time.Time) string {
	d := t.Sub(now).Truncate(time.Second)
	switch {
	case d == 0:
		return "now"
	case d > 0:
		return "in " + duration.HumanDuration(d)
	default:
		return duration.HumanDuration(-d) + " ago"
	}
}

// timeLeft says how long is left until a deadline: "47h left", "overdue by 5m".
func timeLeft(deadline, now time.Time) string {
	d := deadline.Sub(now).Truncate(time.Second)
	if d <= 0 {
		return "overdue by " + duration.HumanDuration(-d)
	}
	return duration.HumanDuration(d) + " left"
}

// view is how output is shown: the time it is, the zone times are shown in, and colour.
type view struct {
	now      time.Time
	location *time.Location
	paint    painter
}

// view returns how to show output on out.
func (c *cli) view(out io.Writer) view {
	return view{now: c.now(), location: c.location, paint: c.painterFor(out)}
}

// clockTime shows an instant to the minute in the zone the plugin shows times in.
func (v view) clockTime(t time.Time) string {
	return t.In(v.location).Format("2006-01-02 15:04 MST")
}

// painter colours words on a terminal and leaves them alone anywhere else.
type painter struct{ on bool }

// ANSI SGR codes for the few colours the plugin uses.
const (
	green  = "32"
	yellow = "33"
	red    = "31"
	faint  = "2"
	bold   = "1"
)

func (p painter) paint(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// colourOf is the colour of a department state, channel state or phase: green when done well,
// yellow while waiting on someone, red when a person must act, faint when not in play.
func colourOf(state string) string {
	switch state {
	case string(greenlightv1alpha1.DepartmentApproved), string(greenlightv1alpha1.PublishSucceeded),
		string(greenlightv1alpha1.PostScheduled), string(greenlightv1alpha1.PostPublished):
		return green
	case string(greenlightv1alpha1.DepartmentPending), string(greenlightv1alpha1.PublishRunning),
		string(greenlightv1alpha1.PostInReview), string(greenlightv1alpha1.PostPublishing):
		return yellow
	case string(greenlightv1alpha1.DepartmentChangesRequested), string(greenlightv1alpha1.DepartmentRejected),
		string(greenlightv1alpha1.DepartmentExpired), string(greenlightv1alpha1.PublishFailed), string(greenlightv1alpha1.PostBlocked):
		return red
	}
	return faint
}

// state paints a state word in its colour.
func (p painter) state(s string) string { return p.paint(colourOf(s), s) }

// painterFor colours output only on a terminal, never with --no-color or NO_COLOR set
// (https://no-color.org).
func (c *cli) painterFor(out io.Writer) painter {
	if c.noColor || c.getenv("NO_COLOR") != "" {
		return painter{}
	}
	f, ok := out.(*os.File)
	if !ok {
		return painter{}
	}
	info, err := f.Stat()
	return painter{on: err == nil && info.Mode()&os.ModeCharDevice != 0}
}

// listed shows a comma-separated list (status.waitingOn) with a space after each comma.
func listed(commaSeparated string) string {
	items := strings.Split(commaSeparated, ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return strings.Join(items, ", ")
}

// shortRevision is a digest's first 12 hex digits, as people quote commits.
func shortRevision(digest string) string {
	const keep = len("sha256:") + 12
	if len(digest) <= keep {
		return digest
	}
	return digest[len("sha256:"):keep]
}
