package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
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

// WriteTable writes the report as aligned columns in five sections: departments, channels with
// their engagement, the top posts, engagement by review path, and the posts that expired or
// failed.
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
		rows = append(rows, []string{"CHANNEL", "PUBLISHED", "FAILED", "WITH-FIGURES", "LIKES", "SHARES", "REPLIES", "IMPRESSIONS"})
		for _, c := range r.Channels {
			e := c.Engagement
			impressions := "-"
			if e.ImpressionReports > 0 {
				impressions = fmt.Sprintf("%d (%s)", e.Impressions, plural(e.ImpressionReports, "post"))
			}
			rows = append(rows, []string{c.Name, itoa(c.Published), itoa(c.Failed), itoa(e.Reports),
				i64toa(e.Likes), i64toa(e.Shares), i64toa(e.Replies), impressions})
		}
		writeColumns(&b, rows)
	}
	b.WriteString("\n")

	writeEngagementTable(&b, r)
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

// writeEngagementTable writes the top posts and the engagement by review path, or one line
// when no post was published in the window.
func writeEngagementTable(b *strings.Builder, r *Report) {
	published := 0
	for _, p := range r.ReviewPaths {
		published += p.Posts
	}
	if published == 0 {
		b.WriteString("No post published in this period.\n")
		return
	}
	if len(r.TopPosts) == 0 {
		b.WriteString("No post published in this period has engagement figures yet.\n")
	} else {
		b.WriteString("Top posts by engagement (likes + shares + replies):\n")
		rows := make([][]string, 0, 1+len(r.TopPosts))
		rows = append(rows, []string{"RANK", "POST", "CAMPAIGN", "ENGAGEMENT", "LIKES", "SHARES", "REPLIES", "IMPRESSIONS", "CHANNELS"})
		for i, p := range r.TopPosts {
			e := p.Engagement
			impressions := "-"
			if e.ImpressionReports > 0 {
				impressions = i64toa(e.Impressions)
			}
			channels := make([]string, 0, len(p.Channels))
			for _, c := range p.Channels {
				channels = append(channels, fmt.Sprintf("%s %d", c.Name, c.Figures.Likes+c.Figures.Shares+c.Figures.Replies))
			}
			rows = append(rows, []string{itoa(i + 1), p.Namespace + "/" + p.Post, orDash(p.Campaign), i64toa(e.Total()),
				i64toa(e.Likes), i64toa(e.Shares), i64toa(e.Replies), impressions, strings.Join(channels, ", ")})
		}
		writeColumns(b, rows)
	}
	b.WriteString("\n")
	b.WriteString("Engagement by review path (a correlation over few posts, not proof):\n")
	rows := make([][]string, 0, 1+len(r.ReviewPaths))
	rows = append(rows, []string{"PATH", "POSTS", "WITH-FIGURES", "AVG-LIKES", "AVG-SHARES", "AVG-REPLIES"})
	for _, p := range r.ReviewPaths {
		averages := []string{"-", "-", "-"}
		if likes, shares, replies, ok := p.Averages(); ok {
			averages = []string{oneDecimal(likes), oneDecimal(shares), oneDecimal(replies)}
		}
		rows = append(rows, append([]string{pathTitles[p.Path], itoa(p.Posts), itoa(p.WithFigures)}, averages...))
	}
	writeColumns(b, rows)
}

// pathTitles name the review paths for people.
var pathTitles = map[string]string{
	PathApprovedAtOnce:        "approved at once",
	PathChangesRequestedFirst: "changes requested first",
}

func itoa(n int) string { return strconv.Itoa(n) }

func i64toa(n int64) string { return strconv.FormatInt(n, 10) }

func oneDecimal(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

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
	TopPosts    []jsonTopPost    `json:"topPosts"`
	ReviewPaths []jsonReviewPath `json:"reviewPaths"`
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
	jsonEngagement
	// PostsWithImpressions counts the posts whose figures include impressions.
	PostsWithImpressions int `json:"postsWithImpressions"`
}

// jsonEngagement is a sum of figures; impressions is null when no figure includes them.
type jsonEngagement struct {
	PostsWithEngagement int    `json:"postsWithEngagement"`
	Likes               int64  `json:"likes"`
	Shares              int64  `json:"shares"`
	Replies             int64  `json:"replies"`
	Impressions         *int64 `json:"impressions"`
}

func toJSONEngagement(e Engagement) jsonEngagement {
	doc := jsonEngagement{PostsWithEngagement: e.Reports, Likes: e.Likes, Shares: e.Shares, Replies: e.Replies}
	if e.ImpressionReports > 0 {
		impressions := e.Impressions
		doc.Impressions = &impressions
	}
	return doc
}

type jsonTopPost struct {
	Rank        int                     `json:"rank"`
	Namespace   string                  `json:"namespace"`
	Post        string                  `json:"post"`
	Campaign    string                  `json:"campaign,omitempty"`
	Engagement  int64                   `json:"engagement"`
	Likes       int64                   `json:"likes"`
	Shares      int64                   `json:"shares"`
	Replies     int64                   `json:"replies"`
	Impressions *int64                  `json:"impressions"`
	Channels    []jsonChannelEngagement `json:"channels"`
}

type jsonChannelEngagement struct {
	Name        string    `json:"name"`
	Likes       int64     `json:"likes"`
	Shares      int64     `json:"shares"`
	Replies     int64     `json:"replies"`
	Impressions *int64    `json:"impressions"`
	ObservedAt  time.Time `json:"observedAt"`
}

// jsonReviewPath has no impressions: averaged over posts whose channels report them or not,
// they would compare channels rather than review paths.
type jsonReviewPath struct {
	Path string `json:"path"`
	// Posts counts the posts published on this path; the sums are over those with figures.
	Posts               int      `json:"posts"`
	PostsWithEngagement int      `json:"postsWithEngagement"`
	Likes               int64    `json:"likes"`
	Shares              int64    `json:"shares"`
	Replies             int64    `json:"replies"`
	AverageLikes        *float64 `json:"averageLikes"`
	AverageShares       *float64 `json:"averageShares"`
	AverageReplies      *float64 `json:"averageReplies"`
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
// times are RFC 3339 in UTC; "from" is null for all time. Impressions are null where no figure
// includes them, and a review path's averages are null when none of its posts has figures.
func WriteJSON(w io.Writer, r *Report) error {
	doc := jsonReport{Campaign: r.Campaign, To: r.To.UTC(), Departments: []jsonDepartment{}, Channels: []jsonChannel{},
		Problems: []jsonProblem{}, TopPosts: []jsonTopPost{}, ReviewPaths: []jsonReviewPath{}}
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
		doc.Channels = append(doc.Channels, jsonChannel{Name: c.Name, Published: c.Published, Failed: c.Failed,
			jsonEngagement: toJSONEngagement(c.Engagement), PostsWithImpressions: c.Engagement.ImpressionReports})
	}
	for i, p := range r.TopPosts {
		e := toJSONEngagement(p.Engagement)
		jp := jsonTopPost{Rank: i + 1, Namespace: p.Namespace, Post: p.Post, Campaign: p.Campaign, Engagement: p.Engagement.Total(),
			Likes: e.Likes, Shares: e.Shares, Replies: e.Replies, Impressions: e.Impressions, Channels: []jsonChannelEngagement{}}
		for _, c := range p.Channels {
			jp.Channels = append(jp.Channels, jsonChannelEngagement{Name: c.Name, Likes: c.Figures.Likes, Shares: c.Figures.Shares,
				Replies: c.Figures.Replies, Impressions: c.Figures.Impressions, ObservedAt: c.Figures.ObservedAt.UTC()})
		}
		doc.TopPosts = append(doc.TopPosts, jp)
	}
	for _, p := range r.ReviewPaths {
		jp := jsonReviewPath{Path: p.Path, Posts: p.Posts, PostsWithEngagement: p.WithFigures,
			Likes: p.Engagement.Likes, Shares: p.Engagement.Shares, Replies: p.Engagement.Replies}
		if likes, shares, replies, ok := p.Averages(); ok {
			jp.AverageLikes, jp.AverageShares, jp.AverageReplies = &likes, &shares, &replies
		}
		doc.ReviewPaths = append(doc.ReviewPaths, jp)
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

// csvHeader is the CSV's one header row: a section column (department, channel, problem,
// top_post, review_path) and the union of the sections' columns, empty where a column does not
// apply, so that a spreadsheet imports one table that filters by section. Durations are whole
// seconds; impressions are empty where no figure includes them, averages where no post has
// figures. Columns are only ever added at the end.
var csvHeader = []string{columnSection, columnName, columnNamespace, columnCampaign,
	"reviews", "approvals", "changes_requested", "rejections", "timed_reviews", "untimed_reviews",
	"median_response_seconds", "p90_response_seconds", "missed_deadlines",
	"published", "failed",
	"phase", "at", "reason", "message",
	"rank", "posts", columnPostsWithEngagement, "engagement", columnLikes, columnShares, columnReplies, "impressions",
	"posts_with_impressions", "average_likes", "average_shares", "average_replies", "channels"}

// Columns that several CSV sections fill.
const (
	columnSection             = "section"
	columnName                = "name"
	columnNamespace           = "namespace"
	columnCampaign            = "campaign"
	columnPostsWithEngagement = "posts_with_engagement"
	columnLikes               = "likes"
	columnShares              = "shares"
	columnReplies             = "replies"
)

// WriteCSV writes the report as CSV (RFC 4180) with one header row and a section column.
func WriteCSV(w io.Writer, r *Report) error {
	out := csv.NewWriter(w)
	rows := make([][]string, 0, 1+len(r.Departments)+len(r.Channels)+len(r.Problems)+len(r.TopPosts)+len(r.ReviewPaths))
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
		values := engagementColumns(c.Engagement)
		maps.Copy(values, map[string]string{columnSection: "channel", columnName: c.Name, columnCampaign: r.Campaign,
			"published": itoa(c.Published), "failed": itoa(c.Failed), "posts_with_impressions": itoa(c.Engagement.ImpressionReports)})
		rows = append(rows, row(values))
	}
	for _, p := range r.Problems {
		rows = append(rows, row(map[string]string{columnSection: "problem", columnName: p.Post, columnNamespace: p.Namespace,
			columnCampaign: p.Campaign, "phase": string(p.Phase), "at": p.At.UTC().Format(time.RFC3339),
			"reason": p.Reason, "message": p.Message}))
	}
	for i, p := range r.TopPosts {
		values := engagementColumns(p.Engagement)
		channels := make([]string, 0, len(p.Channels))
		for _, c := range p.Channels {
			channels = append(channels, c.Name)
		}
		maps.Copy(values, map[string]string{columnSection: "top_post", columnName: p.Post, columnNamespace: p.Namespace,
			columnCampaign: p.Campaign, "rank": itoa(i + 1), "engagement": i64toa(p.Engagement.Total()),
			"channels": strings.Join(channels, " ")})
		delete(values, columnPostsWithEngagement) // a post's figures count channels, not posts
		rows = append(rows, row(values))
	}
	for _, p := range r.ReviewPaths {
		values := map[string]string{columnSection: "review_path", columnName: p.Path, columnCampaign: r.Campaign,
			"posts": itoa(p.Posts), columnPostsWithEngagement: itoa(p.WithFigures),
			columnLikes: i64toa(p.Engagement.Likes), columnShares: i64toa(p.Engagement.Shares), columnReplies: i64toa(p.Engagement.Replies)}
		if likes, shares, replies, ok := p.Averages(); ok {
			values["average_likes"], values["average_shares"], values["average_replies"] = decimal(likes), decimal(shares), decimal(replies)
		}
		rows = append(rows, row(values))
	}
	for _, cells := range rows {
		for i := range cells {
			cells[i] = inertCell(cells[i])
		}
	}
	if err := out.WriteAll(rows); err != nil {
		return fmt.Errorf("writing the report as CSV: %w", err)
	}
	return nil
}

// inertCell keeps a spreadsheet from running a cell as a formula: campaigns, names and messages
// are written by authors and publishers, and a cell starting with =, +, -, @ (or a tab or
// carriage return) would be evaluated on import. Such a cell gets a leading apostrophe; numbers,
// negative or not, are left alone.
func inertCell(cell string) string {
	if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return cell
	}
	if _, err := strconv.ParseFloat(cell, 64); err == nil {
		return cell
	}
	return "'" + cell
}

func seconds(d *time.Duration) string {
	if d == nil {
		return ""
	}
	return strconv.FormatInt(int64(d.Seconds()), 10)
}

// engagementColumns are the CSV columns of a sum of figures.
func engagementColumns(e Engagement) map[string]string {
	values := map[string]string{columnPostsWithEngagement: itoa(e.Reports),
		columnLikes: i64toa(e.Likes), columnShares: i64toa(e.Shares), columnReplies: i64toa(e.Replies)}
	if e.ImpressionReports > 0 {
		values["impressions"] = i64toa(e.Impressions)
	}
	return values
}

// decimal writes an average with as many digits as it needs.
func decimal(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
