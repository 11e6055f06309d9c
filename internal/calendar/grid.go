package calendar

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// Default widths of a rendered grid, in columns: a week fits an 80-column terminal; a month
// needs wider cells to stay readable.
const (
	DefaultWeekWidth  = 80
	DefaultMonthWidth = 120
	minCellWidth      = 8
	// agendaNameWidth keeps a week's agenda lines within 80 columns.
	agendaNameWidth = 36
)

// Options say which period a grid shows and how.
type Options struct {
	// Span is Week (the default) or Month.
	Span Span
	// Offset pages from the period containing Now: -1 is the previous week or month, 1 the next.
	Offset int
	// Location is the time zone days and times are shown in; nil means UTC.
	Location *time.Location
	// Campaign keeps only posts whose spec.campaign equals it; empty keeps all.
	Campaign string
	// Now is the current time; the period shown is the one containing it (plus Offset).
	Now time.Time
	// Width is the total width of the rendered grid in columns; 0 means DefaultWeekWidth or
	// DefaultMonthWidth.
	Width int
}

// Day is one day cell of the grid.
type Day struct {
	// Date is the day's midnight in the calendar's location.
	Date time.Time
	// InPeriod is false for the days of a month grid's first and last week that belong to the
	// month before or after; they are drawn empty.
	InPeriod bool
	// Today is true for the day containing Now.
	Today bool
	// Entries are the posts and deadlines of the day, in time order.
	Entries []Entry
}

// Calendar is a laid-out period: whole weeks of days with their entries, and the posts that
// have no time yet.
type Calendar struct {
	// Span is Week or Month.
	Span Span
	// Start and End bound the period in its location: Start is the first day's midnight, End
	// the midnight after its last day (exclusive).
	Start, End time.Time
	// Location is the time zone of the grid.
	Location *time.Location
	// Campaign is the campaign filter, empty for all posts.
	Campaign string
	// Weeks are the rows of the grid, Monday first.
	Weeks [][7]Day
	// Unscheduled are the posts without a publish time, by namespace and name.
	Unscheduled []Entry

	width          int
	showNamespaces bool
}

// Build lays the posts out over the week or month containing opts.Now (moved by opts.Offset).
func Build(posts []greenlightv1alpha1.ContentPost, opts Options) *Calendar {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	span := opts.Span
	if span != Month {
		span = Week
	}
	width := opts.Width
	if width <= 0 {
		width = DefaultWeekWidth
		if span == Month {
			width = DefaultMonthWidth
		}
	}
	now := opts.Now.In(loc)
	var start, end, gridStart, gridEnd time.Time
	if span == Week {
		start = mondayOf(now).AddDate(0, 0, 7*opts.Offset)
		end = start.AddDate(0, 0, 7)
		gridStart, gridEnd = start, end
	} else {
		start = time.Date(now.Year(), now.Month()+time.Month(opts.Offset), 1, 0, 0, 0, 0, loc)
		end = start.AddDate(0, 1, 0)
		gridStart = mondayOf(start)
		gridEnd = mondayOf(end.AddDate(0, 0, -1)).AddDate(0, 0, 7)
	}

	timed, unscheduled := entries(posts, opts.Campaign, loc)
	c := &Calendar{Span: span, Start: start, End: end, Location: loc, Campaign: opts.Campaign,
		Unscheduled: unscheduled, width: width, showNamespaces: manyNamespaces(posts)}
	today := midnight(now)
	for day := gridStart; day.Before(gridEnd); day = day.AddDate(0, 0, 7) {
		var week [7]Day
		for i := range week {
			date := day.AddDate(0, 0, i)
			next := date.AddDate(0, 0, 1)
			week[i] = Day{Date: date, InPeriod: !date.Before(start) && date.Before(end), Today: date.Equal(today)}
			if !week[i].InPeriod {
				continue
			}
			for _, e := range timed {
				if !e.At.Before(date) && e.At.Before(next) {
					week[i].Entries = append(week[i].Entries, e)
				}
			}
		}
		c.Weeks = append(c.Weeks, week)
	}
	return c
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// mondayOf is the midnight of the Monday on or before t.
func mondayOf(t time.Time) time.Time {
	back := (int(t.Weekday()) + 6) % 7 // Monday 0 ... Sunday 6
	return midnight(t).AddDate(0, 0, -back)
}

func manyNamespaces(posts []greenlightv1alpha1.ContentPost) bool {
	for i := range posts {
		if posts[i].Namespace != posts[0].Namespace {
			return true
		}
	}
	return false
}

// Render writes the grid as plain text (no colour: the caller adds it), then the unscheduled
// posts and a legend. Names longer than a cell end in an ellipsis.
func (c *Calendar) Render(w io.Writer) error {
	// Writes to a strings.Builder cannot fail; the one write to w is checked.
	bw := &strings.Builder{}
	cell := max((c.width-8)/7, minCellWidth)
	rule := "+" + strings.Repeat(strings.Repeat("-", cell)+"+", 7) + "\n"

	bw.WriteString(c.title() + "\n")
	bw.WriteString(rule)
	if c.Span == Week {
		var labels [7][]string
		for i, d := range c.Weeks[0] {
			labels[i] = []string{dayLabel(d)}
		}
		writeRow(bw, labels, cell)
		bw.WriteString(rule)
		writeRow(bw, c.cells(c.Weeks[0], 3, false), cell)
		bw.WriteString(rule)
		c.renderAgenda(bw)
	} else {
		var labels [7][]string
		for i, d := range c.Weeks[0] {
			labels[i] = []string{d.Date.Format("Mon")}
		}
		writeRow(bw, labels, cell)
		bw.WriteString(rule)
		for _, week := range c.Weeks {
			writeRow(bw, c.cells(week, 2, true), cell)
			bw.WriteString(rule)
		}
	}
	c.renderUnscheduled(bw)
	bw.WriteString("* today   ! review deadline of a department still to decide\n")
	_, err := io.WriteString(w, bw.String())
	return err
}

func (c *Calendar) title() string {
	var period string
	if c.Span == Week {
		last := c.End.AddDate(0, 0, -1)
		_, week := c.Start.ISOWeek()
		period = fmt.Sprintf("Week %d: %s - %s", week, c.Start.Format("Mon 2 Jan"), last.Format("Mon 2 Jan 2006"))
	} else {
		period = c.Start.Format("January 2006")
	}
	title := period + " (" + zoneName(c.Location, c.Start) + ")"
	if c.Campaign != "" {
		title += ", campaign " + c.Campaign
	}
	return title
}

func dayLabel(d Day) string {
	label := d.Date.Format("Mon 2")
	if d.Today {
		label += " *"
	}
	return label
}

// cells renders each day of a week as lines (writeRow cuts them to the cell width): a month cell starts with
// its day of the month; entries are separated by a blank line in a week, which has room.
func (c *Calendar) cells(week [7]Day, linesPerEntry int, dayNumber bool) [7][]string {
	var out [7][]string
	for i, d := range week {
		var lines []string
		if dayNumber && d.InPeriod {
			label := d.Date.Format("2")
			if d.Today {
				label += " *"
			}
			lines = append(lines, label)
		}
		for j, e := range d.Entries {
			if j > 0 && linesPerEntry > 2 {
				lines = append(lines, "")
			}
			lines = append(lines, c.entryLines(e, linesPerEntry)...)
		}
		out[i] = lines
	}
	return out
}

// entryLines is an entry as three lines (time, name, phase or department) in a week, or two
// (time with phase or department, name) in a month.
func (c *Calendar) entryLines(e Entry, lines int) []string {
	clock := e.At.Format("15:04")
	name := e.Post
	if c.showNamespaces {
		name = e.Namespace + "/" + e.Post
	}
	detail := string(e.Phase)
	if detail == "" {
		detail = "-"
	}
	if e.Kind == KindDeadline {
		clock += " !"
		detail = "due: " + e.Department
		if lines == 2 {
			detail = e.Department
		}
	}
	if lines == 2 {
		return []string{clock + " " + detail, name}
	}
	return []string{clock, name, detail}
}

// writeRow writes one grid row whose cells hold the given lines, padded to the tallest cell.
func writeRow(w *strings.Builder, cells [7][]string, width int) {
	height := 1
	for _, lines := range cells {
		height = max(height, len(lines))
	}
	for line := range height {
		w.WriteString("|")
		for _, lines := range cells {
			text := ""
			if line < len(lines) {
				text = lines[line]
			}
			w.WriteString(pad(truncate(text, width), width))
			w.WriteString("|")
		}
		w.WriteString("\n")
	}
}

// truncate shortens s to width runes, ending it with an ellipsis when it was cut.
func truncate(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	runes := []rune(s)
	return string(runes[:width-1]) + "…"
}

func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s)))
}

// renderAgenda lists a week's entries with full names under the grid, whose narrow cells cut
// them short.
func (c *Calendar) renderAgenda(w *strings.Builder) {
	var rows [][]string
	for _, d := range c.Weeks[0] {
		for _, e := range d.Entries {
			what := string(e.Phase)
			if e.Kind == KindDeadline {
				what = "! " + e.Department + " due"
			}
			rows = append(rows, []string{e.At.Format("Mon 2 15:04"), truncate(c.name(e), agendaNameWidth), what, truncate(e.Campaign, 20)})
		}
	}
	writeTable(w, rows)
}

func (c *Calendar) name(e Entry) string {
	if c.showNamespaces {
		return e.Namespace + "/" + e.Post
	}
	return e.Post
}

func (c *Calendar) renderUnscheduled(w *strings.Builder) {
	if len(c.Unscheduled) == 0 {
		return
	}
	w.WriteString("Unscheduled (no publishAt and not published yet):\n")
	rows := make([][]string, 0, len(c.Unscheduled))
	for _, e := range c.Unscheduled {
		rows = append(rows, []string{c.name(e), string(e.Phase), e.Campaign})
	}
	writeTable(w, rows)
}

// writeTable writes rows as aligned columns indented by two spaces, without trailing blanks.
func writeTable(w *strings.Builder, rows [][]string) {
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		// A tabwriter over a strings.Builder cannot fail.
		_, _ = io.WriteString(tw, "  "+strings.Join(row, "\t")+"\n")
	}
	_ = tw.Flush()
	for line := range strings.Lines(table.String()) {
		// A row with an empty last column would keep the padding of the one before.
		w.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
}

// zoneName names loc for a reader: its IANA name, or, for the process's local zone (which Go
// calls "Local"), the zone's abbreviation at t, such as CET or UTC.
func zoneName(loc *time.Location, t time.Time) string {
	if loc.String() != "Local" {
		return loc.String()
	}
	abbreviation, _ := t.In(loc).Zone()
	return abbreviation
}
