package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// table writes rows of tab-separated cells, aligned, and keeps the first write error.
type table struct {
	w   *tabwriter.Writer
	err error
}

func newTable(out io.Writer) *table { return &table{w: tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)} }

// row writes one line; a blank line ends a block of aligned columns.
func (t *table) row(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format+"\n", args...)
	}
}

func (t *table) flush() error {
	if t.err != nil {
		return t.err
	}
	return t.w.Flush()
}

// printTable prints a run's details under its summary line.
func printTable(out io.Writer, r *result) error {
	t := newTable(out)
	printWorkload(t, r)
	printManagerWrites(t, r)
	printWritesByUser(t, r)
	printEvents(t, r)
	printManagers(t, r)
	t.row("")
	return t.flush()
}

func latencies(d []time.Duration) string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s", round(percentile(d, 50)), round(percentile(d, 90)),
		round(percentile(d, 99)), round(percentile(d, 100)))
}

func round(d time.Duration) time.Duration {
	if d > 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}

func printWorkload(t *table, r *result) {
	cfg := r.cfg
	final := "Scheduled"
	if cfg.publish {
		final = "Published"
	}
	t.row("\nWORKLOAD")
	t.row("posts\t%d in namespace %s, %d channel(s), body %d B, variants %d B, publish=%t",
		cfg.posts, r.namespace, cfg.channels, cfg.bodyBytes, cfg.variantBytes, cfg.publish)
	t.row("policy\t%d stage(s) of %d department(s), one reviewer each; %d shard(s); manager flags %q",
		cfg.stages, cfg.departments, r.shards, strings.Join(cfg.managerFlags, " "))
	t.row("intake (not timed)\tcreated in %s by %d clients, all InReview after %s",
		r.postsCreated.Round(time.Millisecond), cfg.clients, r.intake.Round(time.Millisecond))
	t.row("post create latency\t%s", latencies(r.postCreate))
	t.row("approval\t%d SignOffs by %d clients; every post %s %s after the first: %.1f posts/s",
		len(r.signOffCreate), cfg.clients, final, r.approvalDuration().Round(time.Millisecond), r.summary.postsPerSecond)
	t.row("signoff-create latency\t%s", latencies(r.signOffCreate))
	t.row("status latency\t%s (last SignOff's response until the watch saw the post approved)", latencies(r.statusLatency))
	if cfg.publish {
		t.row("jobs\t%d created, %.1f jobs/s (first SignOff until the last Job appeared)", r.jobs, r.jobsPerSecond)
		t.row("approval→Published\t%s", latencies(r.publishLatency))
	}
	t.row("write floor\t%d writes (ConfigMap create + merge patch) by %d clients in %s: %.0f writes/s",
		r.floor.writes, cfg.clients, r.floor.elapsed.Round(time.Millisecond), r.floor.writesPerSecond())
	t.row("floor create latency\t%s", latencies(r.floor.create))
	t.row("floor patch latency\t%s", latencies(r.floor.patch))
	t.row("ratio\t%.1f plain writes per approved post (floor writes/s ÷ posts/s); the managers wrote %.2f per post",
		r.summary.ratio(), r.summary.writesPerPost)
}

func printManagerWrites(t *table, r *result) {
	t.row("\nMANAGER WRITES\tCOUNT\tPER POST\t409 CONFLICT\tOTHER ERRORS")
	keys := slices.SortedFunc(maps.Keys(r.writes.manager), func(a, b writeKey) int {
		return strings.Compare(a.resource+" "+a.verb, b.resource+" "+b.verb)
	})
	for _, k := range keys {
		n := r.writes.manager[k]
		t.row("%s %s\t%d\t%.2f\t%d\t%d", k.verb, k.resource, n, perPost(n, r), r.writes.conflicts[k], r.writes.failed[k])
	}
	total := sum(r.writes.manager)
	t.row("total\t%d\t%.2f\t%d\t%d", total, perPost(total, r), sum(r.writes.conflicts), sum(r.writes.failed))
	if len(r.writes.failedCodes) > 0 {
		codes := make([]string, 0, len(r.writes.failedCodes))
		for _, code := range slices.Sorted(maps.Keys(r.writes.failedCodes)) {
			codes = append(codes, fmt.Sprintf("%d %s: %d", code, http.StatusText(code), r.writes.failedCodes[code]))
		}
		t.row("(other errors by status: %s)", strings.Join(codes, ", "))
	}
}

func printWritesByUser(t *table, r *result) {
	t.row("\nWRITES BY USER\tCOUNT\tPER POST")
	for _, user := range sortedKeys(r.writes.byUser) {
		n := r.writes.byUser[user]
		t.row("%s\t%d\t%.2f", user, n, perPost(n, r))
	}
}

func printEvents(t *table, r *result) {
	e := r.events
	t.row("\nEVENTS ON POSTS\tEXPECTED\tWRITTEN\tMISSING\tEXTRA")
	for _, reason := range sortedKeys(e.expected) {
		t.row("%s\t%d\t%d\t%d\t%d", reason, e.expected[reason], e.written[reason], e.missing[reason], e.extra[reason])
	}
	for _, reason := range sortedKeys(e.written) {
		if _, checked := e.expected[reason]; !checked {
			t.row("%s (not checked)\t-\t%d\t-\t-", reason, e.written[reason])
		}
	}
	t.row("(counted %s after the workload; WRITTEN counts a repeat folded into an existing Event, %d in all, as written again)",
		e.settled.Round(time.Second), e.repeated)
}

func printManagers(t *table, r *result) {
	t.row("\nMANAGER\tPEAK RSS\tCPU INTAKE\tCPU APPROVAL\tWRITES/POST\tCONFLICTS\tPOSTS/S\tSTATUS P50\tSTATUS P99\tWEBHOOK CONNS")
	for shard, m := range r.managers {
		s := r.shardResults[shard]
		conns := "-"
		if r.webhookConnections != nil {
			conns = fmt.Sprint(r.webhookConnections[shard])
		}
		t.row("%s (pid %d)\t%.0f MiB\t%.1fs\t%.1fs\t%.2f\t%d\t%.1f\t%s\t%s\t%s",
			shardName(shard), m.pid, float64(m.end.peakRSS)/(1<<20), (m.intake.cpu - m.start.cpu).Seconds(),
			(m.end.cpu - m.intake.cpu).Seconds(), float64(r.writes.shardWrites[shard])/float64(max(s.posts, 1)),
			r.writes.shardConflicts[shard], s.postsPerSecond, round(percentile(s.status, 50)), round(percentile(s.status, 99)), conns)
	}
}

// printScaling compares the shard counts' medians with the first.
func printScaling(out io.Writer, medians []summary) error {
	t := newTable(out)
	base := medians[0]
	t.row("SCALING\tPOSTS/S\tSPEED-UP\tEFFICIENCY\tSTATUS P99\tWRITES/POST\tCPU\tRSS")
	for _, s := range medians {
		speedUp := s.postsPerSecond / base.postsPerSecond
		t.row("shards=%d\t%.1f\t%.2fx\t%.0f%%\t%.1fms\t%.2f\t%.1fs\t%.0f MiB", s.shards, s.postsPerSecond, speedUp,
			100*speedUp*float64(base.shards)/float64(s.shards), s.statusP99, s.writesPerPost, s.cpuSeconds, s.rssMiB)
	}
	return t.flush()
}

func perPost(n int, r *result) float64 { return float64(n) / float64(r.cfg.posts) }
