// Command bench measures Greenlight's approval workload on a local control plane (kube-apiserver
// and etcd from bin/controlplane, with an audit log) against the manager binary (bin/manager)
// running as a separate process with its admission webhooks, as `make bench` runs it.
//
// One run creates N posts as an author under a policy of S stages of D departments, waits until
// every post is InReview, then C concurrent reviewer clients sign off every department of every
// stage, and a shared watch records when each post becomes Scheduled (Published with -publish).
// It then measures the API server's raw write floor with plain ConfigMap writes, counts the
// manager's writes in the audit log and its Events, and prints one summary line and a table.
//
//	make bench BENCH_FLAGS="-n 200"
//	bin/bench -n 1000 -c 10 -stages 2 -departments 3 -shards 1,2 -runs 3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/greenlight-operator/greenlight/internal/testenv"
)

// maxTextBytes is the CRD's maxLength for spec.body and for a channel's body variant.
const maxTextBytes = 65536

// config is the bench's command line.
type config struct {
	posts       int
	stages      int
	departments int
	clients     int
	// shardCounts lists the manager counts to measure, in order; the first is the baseline of
	// the scaling table.
	shardCounts  []int
	runs         int
	publish      bool
	channels     int
	bodyBytes    int
	variantBytes int
	managerFlags []string
	timeout      time.Duration
	managerPath  string
	assets       string
	keep         bool
	// apiserverMetrics is where to save the API server's /metrics after each run (empty: nowhere).
	apiserverMetrics string
	// apiserverProfile is where to save a CPU profile of the API server taken over the first
	// seconds of the approval phase (empty: none is taken).
	apiserverProfile string
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	// controller-runtime's clients and envtest log through it; errors are all the bench needs.
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAILED:", err)
		os.Exit(1)
	}
}

func parseFlags() (config, error) {
	root := testenv.RepoRoot()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "controlplane")
	}
	// A flag set of its own: the packages the bench imports register flags (--kubeconfig) that
	// mean nothing here.
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	var cfg config
	var shards, bodyBytes, variantBytes, managerFlags string
	fs.IntVar(&cfg.posts, "n", 1000, "posts per run")
	fs.IntVar(&cfg.stages, "stages", 1, "stages of the policy (1-10)")
	fs.IntVar(&cfg.departments, "departments", 2, "departments per stage (1-20), each approved by its own reviewer")
	fs.IntVar(&cfg.clients, "c", 10, "concurrent clients: authors creating posts, reviewers signing off, floor writers")
	fs.StringVar(&shards, "shards", "1", "manager processes, each watching its shard of the posts; a comma-separated list "+
		"(for example 1,2,4) measures each and prints the scaling against the first")
	fs.IntVar(&cfg.runs, "runs", 1, "measurements per shard count, each in a fresh namespace; more than one also prints the median")
	fs.BoolVar(&cfg.publish, "publish", false, "publish approved posts at once, playing the Job controller for their Jobs")
	fs.IntVar(&cfg.channels, "channels", 1, "channels per post (1-20), each published by the policy")
	fs.StringVar(&bodyBytes, "body-bytes", "64", "size of each post's spec.body, or max (65536, the CRD's limit)")
	fs.StringVar(&variantBytes, "variant-bytes", "0", "size of each channel's own body variant, or max; 0 gives channels none")
	fs.StringVar(&managerFlags, "manager-flags", "", "extra flags for every manager process, space separated "+
		"(for example --max-concurrent-reconciles=4)")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "time a run may take to bring every post through review")
	fs.StringVar(&cfg.managerPath, "manager", filepath.Join(root, "bin", "manager"), "the manager binary")
	fs.StringVar(&cfg.assets, "assets", assets, "directory holding kube-apiserver and etcd")
	fs.StringVar(&cfg.apiserverMetrics, "apiserver-metrics", "",
		"save the API server's /metrics to this file after each run, to see where its time goes")
	fs.StringVar(&cfg.apiserverProfile, "apiserver-profile", "",
		"save a CPU profile of the API server over the first 8 s of the approval phase to this file (go tool pprof reads it)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (audit log, manager logs) after a successful run")
	_ = fs.Parse(os.Args[1:]) // ExitOnError: Parse exits on a bad flag

	var err error
	if cfg.shardCounts, err = parseCounts(shards); err != nil {
		return cfg, fmt.Errorf("-shards: %w", err)
	}
	if cfg.bodyBytes, err = parseBytes(bodyBytes); err != nil {
		return cfg, fmt.Errorf("-body-bytes: %w", err)
	}
	if cfg.variantBytes, err = parseBytes(variantBytes); err != nil {
		return cfg, fmt.Errorf("-variant-bytes: %w", err)
	}
	cfg.managerFlags = strings.Fields(managerFlags)
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q: every setting is a flag (see -h)", fs.Args())
	}
	return cfg, cfg.validate()
}

func (c config) validate() error {
	switch {
	case c.posts < 1, c.clients < 1, c.runs < 1:
		return errors.New("-n, -c and -runs must be at least 1")
	case c.stages < 1 || c.stages > 10:
		return errors.New("-stages must be 1 to 10, as the ApprovalPolicy CRD allows")
	case c.departments < 1 || c.departments > 20:
		return errors.New("-departments must be 1 to 20, as the ApprovalPolicy CRD allows")
	case c.channels < 1 || c.channels > 20:
		return errors.New("-channels must be 1 to 20, as the ContentPost CRD allows")
	case c.bodyBytes < 1:
		return errors.New("-body-bytes must be at least 1")
	}
	return nil
}

// parseCounts reads a comma-separated list of positive integers.
func parseCounts(s string) ([]int, error) {
	var counts []int
	for field := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", field)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

// parseBytes reads a size in bytes, where "max" is the CRD's limit.
func parseBytes(s string) (int, error) {
	if s == "max" {
		return maxTextBytes, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxTextBytes {
		return 0, fmt.Errorf("%q must be a number of bytes from 0 to %d, or max", s, maxTextBytes)
	}
	return n, nil
}

// run starts the control plane once and measures every shard count -runs times.
func run(ctx context.Context, cfg config) (err error) {
	dir, err := os.MkdirTemp("", "greenlight-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil || cfg.keep {
			fmt.Fprintf(os.Stderr, "bench: the audit log and the manager logs are in %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()

	if err := checkManagerFlags(cfg); err != nil {
		return err
	}
	c, err := startCluster(cfg, dir)
	if err != nil {
		return err
	}
	defer c.stop()

	var medians []summary
	for _, shards := range cfg.shardCounts {
		var summaries []summary
		for i := 1; i <= cfg.runs; i++ {
			last := shards == cfg.shardCounts[len(cfg.shardCounts)-1] && i == cfg.runs
			res, err := runOnce(ctx, c, cfg, shards, i, last)
			if err != nil {
				return fmt.Errorf("shards=%d run %d: %w", shards, i, err)
			}
			fmt.Println(res.summary.line("bench:"))
			if err := printTable(os.Stdout, res); err != nil {
				return err
			}
			summaries = append(summaries, res.summary)
		}
		m := median(summaries)
		if cfg.runs > 1 {
			fmt.Println(m.line(fmt.Sprintf("bench: median of %d runs:", cfg.runs)))
		}
		medians = append(medians, m)
	}
	if len(medians) > 1 {
		return printScaling(os.Stdout, medians)
	}
	return nil
}
