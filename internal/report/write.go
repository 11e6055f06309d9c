package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Formats that Write accepts, as `-o` names them.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatCSV   = "csv"
)

// Formats lists the output formats, for flag help and completion.
var Formats = []string{FormatTable, FormatJSON, FormatCSV}

// timeLayout is how the table and CSV show times, always in UTC.
const timeLayout = "2006-01-02 15:04 UTC"

// Write writes the report in format: table (aligned columns for people), json or csv.
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case FormatTable, "":
		return WriteTable(w, r)
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatCSV:
		return WriteCSV(w, r)
	}
	return fmt.Errorf("output format %q is not supported: use -o %s", format, strings.Join(Formats, ", -o "))
}

// HumanDuration writes d the way people say it, to two units at most and rounded down: 45s,
// 12m30s, 3h12m, 1d2h.
func HumanDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d < 0 {
		return "-" + HumanDuration(-d)
	}
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for i, u := range units {
		if d < u.size && i < len(units)-1 {
			continue
		}
		out := fmt.Sprintf("%d%s", d/u.size, u.name)
		if i+1 < len(units) {
			next := units[i+1]
			if rest := (d % u.size) / next.size; rest > 0 {
				out += fmt.Sprintf("%d%s", rest, next.name)
			}
		}
		return out
	}
	return "0s"
}

func humanOrDash(d *time.Duration) string {
	if d == nil {
		return "-"
	}
	return HumanDuration(*d)
}

// title is the report's first line: what it covers.
func (r *Report) title() string {
	scope := "all campaigns"
	if r.Campaign != "" {
		scope = "campaign " + r.Campaign
	}
	if r.Since == 0 {
		return fmt.Sprintf("Greenlight report for %s, all time to %s", scope, r.To.UTC().Format(timeLayout))
	}
	return fmt.Sprintf("Greenlight report for %s, %s to %s (last %s)", scope,
		r.From.UTC().Format(timeLayout), r.To.UTC().Format(timeLayout), HumanDuration(r.Since))
}

// WriteTable writes the report as aligned columns in three sections: departments, channels and
// the posts that expired or failed.
func WriteTable(w io.Writer, r *Report) error {
	var b strings.Builder
	b.WriteString(r.title() + "\n\n")

	if len(r.Departments) == 0 {
		b.WriteString("No reviews or missed deadlines in this period.\n")
	} else {
		rows := make([][]string, 0, 1+len(r.Departments))
		rows = append(rows, []string{"DEPARTMENT", "REVIEWS", "APPROVED", "CHANGES", "REJECTED", "MEDIAN", "P90", "UNTIMED", "MISSED"})
		for _, d := range r.Departments {
			rows = append(rows, []string{d.Name, itoa(d.Reviews), itoa(d.Approvals), itoa(d.ChangesRequested), itoa(d.Rejections),
				humanOrDash(d.Median), humanOrDash(d.P90), itoa(d.Untimed), itoa(d.MissedDeadlines)})
		}
		writeColumns(&b, rows)
	}
	b.WriteString("\n")

	if len(r.Channels) == 0 {
		b.WriteString("No publishing finished in this period.\n")
	} else {
		rows := make([][]string, 0, 1+len(r.Channels))
		rows = append(rows, []string{"CHANNEL", "PUBLISHED", "FAILED"})
		for _, c := range r.Channels {
			rows = append(rows, []string{c.Name, itoa(c.Published), itoa(c.Failed)})
		}
		writeColumns(&b, rows)
	}
	b.WriteString("\n")

	if len(r.Problems) == 0 {
		b.WriteString("No post expired or failed in this period.\n")
	} else {
		b.WriteString("Expired or failed:\n")
		rows := make([][]string, 0, 1+len(r.Problems))
		rows = append(rows, []string{"POST", "PHASE", "SINCE", "REASON", "MESSAGE"})
		for _, p := range r.Problems {
			rows = append(rows, []string{p.Namespace + "/" + p.Post, string(p.Phase), p.At.UTC().Format(timeLayout), p.Reason, p.Message})
		}
		writeColumns(&b, rows)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func itoa(n int) string { return strconv.Itoa(n) }

// writeColumns writes rows as columns separated by two spaces, without trailing blanks.
func writeColumns(b *strings.Builder, rows [][]string) {
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		// A tabwriter over a strings.Builder cannot fail.
		_, _ = io.WriteString(tw, strings.Join(row, "\t")+"\n")
	}
	_ = tw.Flush()
	for line := range strings.Lines(table.String()) {
		b.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
}

// jsonDuration is a duration as seconds for programs and as text for people.
type jsonDuration struct {
	Seconds float64 `json:"seconds"`
	Human   string  `json:"human"`
}

func toJSONDuration(d *time.Duration) *jsonDuration {
	if d == nil {
		return nil
	}
	return &jsonDuration{Seconds: d.Seconds(), Human: HumanDuration(*d)}
}

// The JSON document's field names are part of the plugin's output contract: add fields, never
// rename them.
type jsonReport struct {
	Campaign    string           `json:"campaign,omitempty"`
	Since       *jsonDuration    `json:"since"`
	From        *time.Time       `json:"from"`
	To          time.Time        `json:"to"`
	Departments []jsonDepartment `json:"departments"`
	Channels    []jsonChannel    `json:"channels"`
	Problems    []jsonProblem    `json:"problems"`
}

type jsonDepartment struct {
	Name             string        `json:"name"`
	Reviews          int           `json:"reviews"`
	Approvals        int           `json:"approvals"`
	ChangesRequested int           `json:"changesRequested"`
	Rejections       int           `json:"rejections"`
	Timed            int           `json:"timedReviews"`
	Untimed          int           `json:"untimedReviews"`
	Median           *jsonDuration `json:"medianResponse"`
	P90              *jsonDuration `json:"p90Response"`
	MissedDeadlines  int           `json:"missedDeadlines"`
}

type jsonChannel struct {
	Name      string `json:"name"`
	Published int    `json:"published"`
	Failed    int    `json:"failed"`
}

type jsonProblem struct {
	Namespace      string              `json:"namespace"`
	Post           string              `json:"post"`
	Campaign       string              `json:"campaign,omitempty"`
	Phase          string              `json:"phase"`
	At             time.Time           `json:"at"`
	Reason         string              `json:"reason"`
	Message        string              `json:"message"`
	FailedChannels []jsonFailedChannel `json:"failedChannels,omitempty"`
}

type jsonFailedChannel struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// WriteJSON writes the report as one indented JSON document. Durations are objects with
// "seconds" (a number) and "human" (such as "3h12m"); a percentile without values is null;
// times are RFC 3339 in UTC; "from" is null for all time.
func WriteJSON(w io.Writer, r *Report) error {
	doc := jsonReport{Campaign: r.Campaign, To: r.To.UTC(),
		Departments: []jsonDepartment{}, Channels: []jsonChannel{}, Problems: []jsonProblem{}}
	if r.Since > 0 {
		since, from := r.Since, r.From.UTC()
		doc.Since, doc.From = toJSONDuration(&since), &from
	}
	for _, d := range r.Departments {
		doc.Departments = append(doc.Departments, jsonDepartment{Name: d.Name, Reviews: d.Reviews, Approvals: d.Approvals,
			ChangesRequested: d.ChangesRequested, Rejections: d.Rejections, Timed: d.Timed, Untimed: d.Untimed,
			Median: toJSONDuration(d.Median), P90: toJSONDuration(d.P90), MissedDeadlines: d.MissedDeadlines})
	}
	for _, c := range r.Channels {
		doc.Channels = append(doc.Channels, jsonChannel(c))
	}
	for _, p := range r.Problems {
		jp := jsonProblem{Namespace: p.Namespace, Post: p.Post, Campaign: p.Campaign, Phase: string(p.Phase), At: p.At.UTC(),
			Reason: p.Reason, Message: p.Message}
		for _, c := range p.FailedChannels {
			jp.FailedChannels = append(jp.FailedChannels, jsonFailedChannel(c))
		}
		doc.Problems = append(doc.Problems, jp)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// csvHeader is the CSV's one header row: a section column (department, channel, problem) and
// the union of the sections' columns, empty where a column does not apply, so that a
// spreadsheet imports one table that filters by section. Durations are whole seconds.
var csvHeader = []string{columnSection, columnName, "namespace", columnCampaign,
	"reviews", "approvals", "changes_requested", "rejections", "timed_reviews", "untimed_reviews",
	"median_response_seconds", "p90_response_seconds", "missed_deadlines",
	"published", "failed",
	"phase", "at", "reason", "message"}

// Columns that every CSV section fills.
const (
	columnSection  = "section"
	columnName     = "name"
	columnCampaign = "campaign"
)

// WriteCSV writes the report as CSV (RFC 4180) with one header row and a section column.
func WriteCSV(w io.Writer, r *Report) error {
	out := csv.NewWriter(w)
	rows := make([][]string, 0, 1+len(r.Departments)+len(r.Channels)+len(r.Problems))
	rows = append(rows, csvHeader)
	row := func(values map[string]string) []string {
		line := make([]string, len(csvHeader))
		for i, column := range csvHeader {
			line[i] = values[column]
		}
		return line
	}
	for _, d := range r.Departments {
		rows = append(rows, row(map[string]string{columnSection: "department", columnName: d.Name, columnCampaign: r.Campaign,
			"reviews": itoa(d.Reviews), "approvals": itoa(d.Approvals), "changes_requested": itoa(d.ChangesRequested),
			"rejections": itoa(d.Rejections), "timed_reviews": itoa(d.Timed), "untimed_reviews": itoa(d.Untimed),
			"median_response_seconds": seconds(d.Median), "p90_response_seconds": seconds(d.P90),
			"missed_deadlines": itoa(d.MissedDeadlines)}))
	}
	for _, c := range r.Channels {
		rows = append(rows, row(map[string]string{columnSection: "channel", columnName: c.Name, columnCampaign: r.Campaign,
			"published": itoa(c.Published), "failed": itoa(c.Failed)}))
	}
	for _, p := range r.Problems {
		rows = append(rows, row(map[string]string{columnSection: "problem", columnName: p.Post, "namespace": p.Namespace,
			columnCampaign: p.Campaign, "phase": string(p.Phase), "at": p.At.UTC().Format(time.RFC3339),
			"reason": p.Reason, "message": p.Message}))
	}
	if err := out.WriteAll(rows); err != nil {
		return fmt.Errorf("writing the report as CSV: %w", err)
	}
	return nil
}

func seconds(d *time.Duration) string {
	if d == nil {
		return ""
	}
	return strconv.FormatInt(int64(d.Seconds()), 10)
}
