package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func ptr(d time.Duration) *time.Duration { return &d }

func TestBuild(t *testing.T) {
	g := NewWithT(t)
	r := Build(fixturePosts(), fixtureSignOffs(), Options{Since: 720 * time.Hour, Now: now})
	g.Expect(r.From).To(Equal(utc(10, 26, 10, 30)))
	g.Expect(r.Departments).To(Equal([]Department{
		{Name: "brand", Reviews: 1, Approvals: 1, Timed: 1, Median: ptr(2 * time.Hour), P90: ptr(2 * time.Hour)},
		{Name: "legal", Reviews: 4, Approvals: 2, ChangesRequested: 1, Rejections: 1, Timed: 3, Untimed: 1,
			Median: ptr(3*time.Hour + 12*time.Minute), P90: ptr(26 * time.Hour), MissedDeadlines: 2},
		{Name: "marketing", Reviews: 2, Approvals: 2, Timed: 2, Median: ptr(10 * time.Minute), P90: ptr(45*time.Minute + 30*time.Second)},
	}))
	g.Expect(r.Channels).To(Equal([]Channel{
		// launch-faq: succeeded on its second attempt (one failure); recall-notice: succeeded.
		{Name: "linkedin", Published: 2, Failed: 1},
		// launch-faq: succeeded; recall-notice: failed twice; publishing-now: failed while
		// linkedin still runs; summer-sale failed before the window.
		{Name: "mastodon", Published: 1, Failed: 3},
	}))
	var problems []string
	for _, p := range r.Problems {
		problems = append(problems, p.Post+" "+string(p.Phase)+" "+p.Reason)
	}
	g.Expect(problems).To(Equal([]string{"black-friday Expired DeadlineMissed", "recall-notice Failed Failed"}))
	g.Expect(r.Problems[1].FailedChannels).To(Equal([]FailedChannel{{Name: "mastodon", Message: "BackoffLimitExceeded: publisher: 401 Unauthorized"}}))
}

func TestBuildCampaign(t *testing.T) {
	g := NewWithT(t)
	r := Build(fixturePosts(), fixtureSignOffs(), Options{Campaign: "spring-launch", Since: 720 * time.Hour, Now: now})
	var departments []string
	for _, d := range r.Departments {
		departments = append(departments, d.Name)
	}
	g.Expect(departments).To(Equal([]string{"legal", "marketing"}), "brand reviewed only a winter post")
	g.Expect(r.Departments[0].Reviews).To(Equal(4))
	g.Expect(r.Departments[0].MissedDeadlines).To(Equal(1), "black-friday's missed deadline is in the winter campaign")
	g.Expect(r.Problems).To(HaveLen(1))
	g.Expect(r.Problems[0].Post).To(Equal("recall-notice"))
}

// TestWindow checks which event times fall in the window: both ends are included.
func TestWindow(t *testing.T) {
	from := now.Add(-720 * time.Hour)
	tests := []struct {
		name    string
		since   time.Duration
		created time.Time
		counted bool
	}{
		{"at the start", 720 * time.Hour, from, true},
		{"a second before the start", 720 * time.Hour, from.Add(-time.Second), false},
		{"at now", 720 * time.Hour, now, true},
		{"after now", 720 * time.Hour, now.Add(time.Second), false},
		{"all time", 0, utc(1, 1, 0, 0).AddDate(-5, 0, 0), true},
		{"all time but not the future", 0, now.Add(time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			post := newPost("a").missed("legal", tt.created).
				channel("mastodon", greenlightv1alpha1.PublishSucceeded, 1, tt.created, "").obj()
			signOff := newSignOff("a", "legal", approve, tt.created, time.Hour)
			r := Build([]greenlightv1alpha1.ContentPost{post}, []greenlightv1alpha1.SignOff{signOff}, Options{Since: tt.since, Now: now})
			if !tt.counted {
				g.Expect(r.Departments).To(BeEmpty())
				g.Expect(r.Channels).To(BeEmpty())
				return
			}
			g.Expect(r.Departments).To(HaveLen(1))
			g.Expect(r.Departments[0].Reviews).To(Equal(1))
			g.Expect(r.Departments[0].MissedDeadlines).To(Equal(1))
			g.Expect(r.Channels).To(Equal([]Channel{{Name: "mastodon", Published: 1}}))
		})
	}
}

// TestSignOffBelongsToPost: a campaign report binds SignOffs to posts by the post-uid label, so
// that a SignOff for a deleted post of the same name does not count for its successor.
func TestSignOffBelongsToPost(t *testing.T) {
	post := newPost("a").campaign("c").obj()
	bound := newSignOff("a", "legal", approve, utc(11, 20, 0, 0), time.Hour)
	stale := newSignOff("a", "legal", approve, utc(11, 20, 0, 0), time.Hour)
	stale.Labels[greenlightv1alpha1.LabelPostUID] = "uid-of-a-deleted-post"
	unlabelled := newSignOff("a", "legal", approve, utc(11, 20, 0, 0), time.Hour)
	unlabelled.Labels = nil
	otherNamespace := newSignOff("a", "legal", approve, utc(11, 20, 0, 0), time.Hour)
	otherNamespace.Labels, otherNamespace.Namespace = nil, "elsewhere"
	tests := []struct {
		name     string
		signOff  greenlightv1alpha1.SignOff
		campaign string
		reviews  int
	}{
		{"bound by label", bound, "c", 1},
		{"label names another post", stale, "c", 0},
		{"no label: by namespace and name", unlabelled, "c", 1},
		{"no label, another namespace", otherNamespace, "c", 0},
		{"without a campaign every SignOff counts", stale, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build([]greenlightv1alpha1.ContentPost{post}, []greenlightv1alpha1.SignOff{tt.signOff},
				Options{Campaign: tt.campaign, Since: 720 * time.Hour, Now: now})
			reviews := 0
			for _, d := range r.Departments {
				reviews += d.Reviews
			}
			NewWithT(t).Expect(reviews).To(Equal(tt.reviews))
		})
	}
}

func TestFailedAttempts(t *testing.T) {
	stuck := utc(11, 24, 12, 0)
	failedPost := newPost("a").phase(greenlightv1alpha1.PostFailed).
		condition(greenlightv1alpha1.ConditionStalled, metav1.ConditionTrue, "Failed", "", stuck).obj()
	publishing := newPost("a").phase(greenlightv1alpha1.PostPublishing).obj()
	tests := []struct {
		name    string
		post    greenlightv1alpha1.ContentPost
		channel greenlightv1alpha1.ChannelStatus
		failed  int
		at      time.Time
	}{
		{"succeeded first time", publishing, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishSucceeded, Attempts: 1,
			PublishedAt: &metav1.Time{Time: utc(11, 20, 0, 0)}}, 0, utc(11, 20, 0, 0)},
		{"succeeded on the third attempt", publishing, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishSucceeded,
			Attempts: 3, PublishedAt: &metav1.Time{Time: utc(11, 20, 0, 0)}}, 2, utc(11, 20, 0, 0)},
		{"failed, post Failed", failedPost, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishFailed, Attempts: 1}, 1, stuck},
		{"failed, post still publishing elsewhere", publishing,
			greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishFailed, Attempts: 1}, 1, now},
		{"retry running", publishing, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishRunning, Attempts: 2}, 1, now},
		{"first attempt running", publishing, greenlightv1alpha1.ChannelStatus{State: greenlightv1alpha1.PublishRunning, Attempts: 1}, 0, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(failedAttempts(tt.channel)).To(Equal(tt.failed))
			g.Expect(failureTime(&tt.post, tt.channel, now)).To(Equal(tt.at))
		})
	}
}

func TestPercentile(t *testing.T) {
	minutes := func(ms ...int) []time.Duration {
		out := make([]time.Duration, 0, len(ms))
		for _, m := range ms {
			out = append(out, time.Duration(m)*time.Minute)
		}
		return out
	}
	ten := minutes(10, 1, 9, 2, 8, 3, 7, 4, 6, 5) // 1..10 minutes, unsorted
	tests := []struct {
		name   string
		values []time.Duration
		p      int
		want   *time.Duration
	}{
		{"no values: no median", nil, 50, nil},
		{"no values: no p90", nil, 90, nil},
		{"one value is every percentile", minutes(7), 50, ptr(7 * time.Minute)},
		{"one value p90", minutes(7), 90, ptr(7 * time.Minute)},
		{"two values: median is the lower (rank ceil(1.0) = 1)", minutes(9, 3), 50, ptr(3 * time.Minute)},
		{"two values: p90 is the higher (rank ceil(1.8) = 2)", minutes(9, 3), 90, ptr(9 * time.Minute)},
		{"ten values: median rank 5", ten, 50, ptr(5 * time.Minute)},
		{"ten values: p90 rank 9", ten, 90, ptr(9 * time.Minute)},
		{"ten values: p91 rank ceil(9.1) = 10", ten, 91, ptr(10 * time.Minute)},
		{"ten values: p100 is the maximum", ten, 100, ptr(10 * time.Minute)},
		{"ten values: p1 is the minimum", ten, 1, ptr(1 * time.Minute)},
		{"twenty values: p90 rank exactly 18", append(minutes(11, 12, 13, 14, 15, 16, 17, 18, 19, 20), ten...), 90, ptr(18 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			before := append([]time.Duration(nil), tt.values...)
			g.Expect(Percentile(tt.values, tt.p)).To(Equal(tt.want))
			g.Expect(tt.values).To(Equal(before), "the input is not reordered")
		})
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Millisecond, "0s"},
		{45 * time.Second, "45s"},
		{12*time.Minute + 30*time.Second, "12m30s"},
		{12 * time.Minute, "12m"},
		{3*time.Hour + 12*time.Minute + 59*time.Second, "3h12m"},
		{3 * time.Hour, "3h"},
		{26 * time.Hour, "1d2h"},
		{720 * time.Hour, "30d"},
		{-90 * time.Second, "-1m30s"},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(HumanDuration(tt.in)).To(Equal(tt.want), "%s", tt.in)
	}
}

func written(t *testing.T, r *Report, format string) []byte {
	var out bytes.Buffer
	NewWithT(t).Expect(Write(&out, r, format)).To(Succeed())
	return out.Bytes()
}

func TestWriters(t *testing.T) {
	r := Build(fixturePosts(), fixtureSignOffs(), Options{Since: 720 * time.Hour, Now: now})
	t.Run("table", func(t *testing.T) { golden(t, "report.txt", written(t, r, FormatTable)) })
	t.Run("json", func(t *testing.T) {
		g := NewWithT(t)
		raw := written(t, r, FormatJSON)
		golden(t, "report.json", raw)
		var doc struct {
			Departments []struct {
				Name           string `json:"name"`
				MedianResponse struct {
					Seconds float64 `json:"seconds"`
					Human   string  `json:"human"`
				} `json:"medianResponse"`
			} `json:"departments"`
		}
		g.Expect(json.Unmarshal(raw, &doc)).To(Succeed())
		g.Expect(doc.Departments[1].Name).To(Equal("legal"))
		g.Expect(doc.Departments[1].MedianResponse.Seconds).To(Equal(float64(3*3600 + 12*60)))
		g.Expect(doc.Departments[1].MedianResponse.Human).To(Equal("3h12m"))
	})
	t.Run("csv", func(t *testing.T) {
		g := NewWithT(t)
		raw := written(t, r, FormatCSV)
		golden(t, "report.csv", raw)
		rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		g.Expect(err).NotTo(HaveOccurred(), "every row has the header's columns")
		g.Expect(rows).To(HaveLen(1 + 3 + 2 + 2))
	})
	t.Run("all time, empty", func(t *testing.T) {
		golden(t, "report-empty.txt", written(t, Build(nil, nil, Options{Campaign: "spring-launch", Now: now}), FormatTable))
	})
	t.Run("empty json has empty lists, not null", func(t *testing.T) {
		NewWithT(t).Expect(string(written(t, Build(nil, nil, Options{Now: now}), FormatJSON))).To(ContainSubstring(`"departments": []`))
	})
	t.Run("unknown format", func(t *testing.T) {
		NewWithT(t).Expect(Write(&bytes.Buffer{}, r, "yaml")).To(MatchError(ContainSubstring("use -o table, -o json, -o csv")))
	})
}
