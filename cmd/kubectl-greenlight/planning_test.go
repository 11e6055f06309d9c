package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"

	"github.com/greenlight-operator/greenlight/internal/testenv/golden"
)

// newYearsEve is the plugin's clock in the calendar tests: the week of the posts' publishAt.
var newYearsEve = time.Date(2098, 12, 31, 12, 0, 0, 0, time.UTC)

// planned creates three of dana's posts: two scheduled in the first days of 2099 in two
// campaigns, one without a publish time.
func planned(t *testing.T) string {
	ns := newNamespace(t)
	submit(t, ns, "launch")
	submit(t, ns, "teaser", func(p *greenlightv1alpha1.ContentPost) {
		p.Spec.Campaign = "winter-sale"
		p.Spec.PublishAt.Time = time.Date(2099, 1, 2, 15, 30, 0, 0, time.UTC)
	})
	submit(t, ns, "someday", func(p *greenlightv1alpha1.ContentPost) { p.Spec.PublishAt = nil })
	return ns
}

// The week grid of the cluster's posts, pinned by a golden file; the month and a campaign
// filter draw from the same posts.
func TestCalendarDrawsTheWeekFromTheCluster(t *testing.T) {
	g := NewWithT(t)
	ns := planned(t)

	week := kubectlAt(newYearsEve, "alice", ns, "calendar")
	g.Expect(week.code).To(Equal(0), week.errOut)
	golden.Expect(t, "calendar-week.golden", []byte(week.out))

	month := kubectlAt(newYearsEve, "alice", ns, "calendar", "--month", "--next", "1")
	g.Expect(month.code).To(Equal(0), month.errOut)
	g.Expect(month.out).To(ContainSubstring("January 2099"))
	g.Expect(month.out).To(ContainSubstring("launch"))
	g.Expect(month.out).To(ContainSubstring("teaser"))

	spring := kubectlAt(newYearsEve, "alice", ns, "calendar", "--campaign", "spring-launch")
	g.Expect(spring.out).To(ContainSubstring("launch"))
	g.Expect(spring.out).NotTo(ContainSubstring("teaser"))

	both := kubectlAt(newYearsEve, "alice", ns, "calendar", "--week", "--month")
	g.Expect(both.code).To(Equal(1))
	g.Expect(both.errOut).To(ContainSubstring("[month week] were all set"))
}

// --ics writes a feed that parses back: one event per scheduled post and one per running
// deadline, each with a stable UID.
func TestCalendarWritesAnICSFileThatParsesBack(t *testing.T) {
	g := NewWithT(t)
	ns := planned(t)
	path := filepath.Join(t.TempDir(), "greenlight.ics")

	written := kubectlAt(newYearsEve, "alice", ns, "calendar", "--ics", path)
	g.Expect(written.code).To(Equal(0), written.errOut)
	g.Expect(written.out).To(Equal("Wrote " + path + " (all campaigns): import it in Google Calendar or Outlook, or serve it for subscribers.\n"))
	data, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(HavePrefix("BEGIN:VCALENDAR\r\n"), "RFC 5545 lines end in CRLF")
	feed, err := ics.ParseCalendar(strings.NewReader(string(data)))
	g.Expect(err).NotTo(HaveOccurred())

	posts := &greenlightv1alpha1.ContentPostList{}
	g.Expect(k.List(t.Context(), posts, client.InNamespace(ns))).To(Succeed())
	var want []string
	for _, p := range posts.Items {
		if p.Spec.PublishAt != nil {
			want = append(want, string(p.UID)+"@greenlight.dev")
		}
		for _, d := range p.Status.Departments {
			if d.Deadline != nil && d.State == greenlightv1alpha1.DepartmentPending {
				want = append(want, string(p.UID)+"-"+d.Name+"-deadline@greenlight.dev")
			}
		}
	}
	var got []string
	for _, event := range feed.Events() {
		got = append(got, event.Id())
		g.Expect(event.GetProperty(ics.ComponentPropertyDtstamp)).NotTo(BeNil())
	}
	g.Expect(got).To(ConsistOf(want))
	g.Expect(got).To(HaveLen(2+3*2), "launch and teaser, and marketing's and public-relations' deadlines of each post")

	stdout := kubectlAt(newYearsEve, "alice", ns, "calendar", "--ics", "-", "--campaign", "winter-sale")
	g.Expect(stdout.code).To(Equal(0), stdout.errOut)
	teaserOnly, err := ics.ParseCalendar(strings.NewReader(stdout.out))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(teaserOnly.Events()).To(HaveLen(3))
}

// The report reads the cluster's posts and sign-offs: the same review gives the same figures.
func TestReportCountsTheReviewsOfTheCluster(t *testing.T) {
	g := NewWithT(t)
	ns := planned(t)
	g.Expect(kubectl("alice", ns, "approve", "launch").code).To(Equal(0))
	g.Expect(kubectl("bob", ns, "request-changes", "launch", "-m", "Say when it ships.").code).To(Equal(0))
	g.Expect(kubectl("erin", ns, "approve", "teaser", "--department", "marketing").code).To(Equal(0))

	type department struct {
		Name             string `json:"name"`
		Reviews          int    `json:"reviews"`
		Approvals        int    `json:"approvals"`
		ChangesRequested int    `json:"changesRequested"`
		Rejections       int    `json:"rejections"`
	}
	var doc struct {
		Campaign    string       `json:"campaign"`
		Departments []department `json:"departments"`
	}
	out := kubectl("alice", ns, "report", "-o", "json")
	g.Expect(out.code).To(Equal(0), out.errOut)
	g.Expect(json.Unmarshal([]byte(out.out), &doc)).To(Succeed())
	g.Expect(doc.Departments).To(ConsistOf(
		department{Name: "marketing", Reviews: 2, Approvals: 2},
		department{Name: "public-relations", Reviews: 1, ChangesRequested: 1},
	))

	spring := kubectl("alice", ns, "report", "--campaign", "spring-launch", "-o", "json")
	g.Expect(json.Unmarshal([]byte(spring.out), &doc)).To(Succeed())
	g.Expect(doc.Campaign).To(Equal("spring-launch"))
	g.Expect(doc.Departments).To(ContainElement(department{Name: "marketing", Reviews: 1, Approvals: 1}))

	table := kubectl("alice", ns, "report")
	g.Expect(table.code).To(Equal(0), table.errOut)
	g.Expect(table.out).To(ContainSubstring("public-relations"))
	csv := kubectl("alice", ns, "report", "-o", "csv", "--since", "0")
	g.Expect(csv.out).To(HavePrefix("section,name,namespace,campaign,reviews,"))

	g.Expect(kubectl("alice", ns, "report", "-o", "yaml").errOut).To(Equal("error: -o yaml is not an output format: use -o table, -o json, -o csv\n"))
	g.Expect(kubectl("alice", ns, "report", "--since", "30d").errOut).To(Equal("error: --since 30d is not a duration: " +
		"use hours, minutes or seconds, such as 720h for 30 days, or 0 for all time\n"))
}
