package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// result is everything one run measured.
type result struct {
	cfg       config
	shards    int
	namespace string

	// postsCreated is how long the author took to create the posts, intake how long until
	// every post was InReview; neither is part of the throughput.
	postsCreated, intake time.Duration
	postCreate           []time.Duration
	// signOffStart is when the first SignOff create was sent; approvalEnd is when the watch saw
	// the last post reach its final phase.
	signOffStart, approvalEnd time.Time
	signOffCreate             []time.Duration
	// statusLatency runs from the response to each post's last SignOff create until the watch
	// saw it approved; publishLatency from then until it was Published.
	statusLatency, publishLatency []time.Duration
	jobPlayer                     *jobPlayer
	jobs                          int
	jobsPerSecond                 float64
	floor                         floorResult
	writes                        writeCounts
	events                        eventCounts
	// managers and webhookConnections are by shard.
	managers           []managerResult
	webhookConnections []int64
	shardResults       []shardResult
	summary            summary
}

// managerResult is one manager process's accounting.
type managerResult struct {
	pid int
	// start, intake and end are read when the posts are about to be created, when every post is
	// InReview, and when every post reached its final phase.
	start, intake, end processStats
}

func (m managerResult) cpu() time.Duration { return m.end.cpu - m.start.cpu }

// shardResult is what one shard's posts saw.
type shardResult struct {
	posts          int
	postsPerSecond float64
	status         []time.Duration
}

// compute derives the latencies and rates from what the watch saw of each post.
func (r *result) compute(posts map[string]postTimes) error {
	r.shardResults = make([]shardResult, r.shards)
	shardEnd := make([]time.Time, r.shards)
	for i := range r.cfg.posts {
		p, shard := posts[postName(i)], shardOf(i, r.shards)
		// The watch may deliver the new status before the create's response arrives: that
		// post's latency is none.
		status := max(0, p.approved.Sub(p.lastSignOff))
		r.statusLatency = append(r.statusLatency, status)
		if r.cfg.publish {
			r.publishLatency = append(r.publishLatency, p.done.Sub(p.approved))
		}
		r.shardResults[shard].posts++
		r.shardResults[shard].status = append(r.shardResults[shard].status, status)
		shardEnd[shard] = latest(shardEnd[shard], p.done)
		r.approvalEnd = latest(r.approvalEnd, p.done)
	}
	for shard := range r.shardResults {
		r.shardResults[shard].postsPerSecond = rate(r.shardResults[shard].posts, shardEnd[shard].Sub(r.signOffStart))
	}
	if r.jobPlayer != nil {
		created, err := r.jobPlayer.jobsCreated()
		if err != nil {
			return err
		}
		r.jobs = len(created)
		if len(created) > 0 {
			r.jobsPerSecond = rate(len(created), slices.MaxFunc(created, time.Time.Compare).Sub(r.signOffStart))
		}
	}
	r.summary = r.summarize()
	return nil
}

func (r *result) approvalDuration() time.Duration { return r.approvalEnd.Sub(r.signOffStart) }

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// rate is n per second of d.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return float64(n) / d.Seconds()
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of durations.
func percentile(durations []time.Duration, p float64) time.Duration {
	if len(durations) == 0 {
		return 0
	}
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summary is the one line a run prints; median takes the median of each measure over runs.
type summary struct {
	posts, clients, stages, departments, shards int
	publish                                     bool

	postsPerSecond, floorWritesPerSecond         float64
	signOffP50, signOffP99, statusP50, statusP99 float64 // milliseconds
	writesPerPost, conflicts                     float64
	rssMiB, cpuSeconds                           float64 // all managers together
	eventsMissing                                float64
	jobsPerSecond, publishedP50, publishedP99    float64 // milliseconds, with -publish
}

func (r *result) summarize() summary {
	s := summary{posts: r.cfg.posts, clients: r.cfg.clients, stages: r.cfg.stages, departments: r.cfg.departments,
		shards: r.shards, publish: r.cfg.publish,
		postsPerSecond:       rate(r.cfg.posts, r.approvalDuration()),
		floorWritesPerSecond: r.floor.writesPerSecond(),
		signOffP50:           ms(percentile(r.signOffCreate, 50)), signOffP99: ms(percentile(r.signOffCreate, 99)),
		statusP50: ms(percentile(r.statusLatency, 50)), statusP99: ms(percentile(r.statusLatency, 99)),
		writesPerPost: float64(sum(r.writes.manager)) / float64(r.cfg.posts),
		conflicts:     float64(sum(r.writes.conflicts)),
		eventsMissing: float64(r.events.totalMissing()),
		jobsPerSecond: r.jobsPerSecond,
		publishedP50:  ms(percentile(r.publishLatency, 50)), publishedP99: ms(percentile(r.publishLatency, 99)),
	}
	for _, m := range r.managers {
		s.rssMiB += float64(m.end.peakRSS) / (1 << 20)
		s.cpuSeconds += m.cpu().Seconds()
	}
	return s
}

// ratio is how many plain writes the API server served, in the floor, in the time the bench
// approved one post. Compared with the writes a post costs, it tells how far the approval
// throughput is from what the API server allows.
func (s summary) ratio() float64 { return s.floorWritesPerSecond / s.postsPerSecond }

func (s *summary) measures() []*float64 {
	return []*float64{&s.postsPerSecond, &s.floorWritesPerSecond, &s.signOffP50, &s.signOffP99, &s.statusP50, &s.statusP99,
		&s.writesPerPost, &s.conflicts, &s.rssMiB, &s.cpuSeconds, &s.eventsMissing, &s.jobsPerSecond, &s.publishedP50, &s.publishedP99}
}

func (s summary) line(prefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s n=%d c=%d stages=%d departments=%d shards=%d posts/s=%.1f floor=%.0f writes/s ratio=%.1f",
		prefix, s.posts, s.clients, s.stages, s.departments, s.shards, s.postsPerSecond, s.floorWritesPerSecond, s.ratio())
	fmt.Fprintf(&b, " signoff-create p50=%.1fms p99=%.1fms status p50=%.1fms p99=%.1fms",
		s.signOffP50, s.signOffP99, s.statusP50, s.statusP99)
	fmt.Fprintf(&b, " writes/post=%.2f conflicts=%.0f rss=%.0fMiB cpu=%.1fs events-missing=%.0f",
		s.writesPerPost, s.conflicts, s.rssMiB, s.cpuSeconds, s.eventsMissing)
	if s.publish {
		fmt.Fprintf(&b, " jobs/s=%.1f published p50=%.1fms p99=%.1fms", s.jobsPerSecond, s.publishedP50, s.publishedP99)
	}
	return b.String()
}

// median returns the median of each measure over the runs' summaries.
func median(runs []summary) summary {
	m := runs[0]
	for i, measure := range m.measures() {
		values := make([]float64, 0, len(runs))
		for _, run := range runs {
			values = append(values, *run.measures()[i])
		}
		slices.Sort(values)
		mid := len(values) / 2
		*measure = values[mid]
		if len(values)%2 == 0 {
			*measure = (values[mid-1] + values[mid]) / 2
		}
	}
	return m
}
