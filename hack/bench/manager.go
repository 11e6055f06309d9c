package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// shardLabel is the label that assigns a post to a manager, as Flux's sharding names it.
const shardLabel = "sharding.fluxcd.io/key"

func shardName(i int) string { return fmt.Sprintf("shard%d", i) }

// managerUser is the user every manager authenticates as, as replicas sharing a service account
// do: each manager's webhooks accept a SignOff's status only from the manager's own user, and
// the proxy hands any shard's admission request to any manager.
const managerUser = "greenlight-manager"

// manager is one running manager process.
type manager struct {
	shard   int
	cmd     *exec.Cmd
	logPath string
	probe   string
	// webhookAddr is where it serves the admission webhooks.
	webhookAddr string
	// exited is closed when the process has exited.
	exited chan struct{}
}

// startManagers starts one manager per shard and waits until each is ready. With one shard the
// manager serves the webhooks where the API server calls them; with more, each serves on a port
// of its own behind the round-robin proxy.
func startManagers(ctx context.Context, c *cluster, cfg config, shards int, run string) ([]*manager, error) {
	hook := c.env.WebhookInstallOptions
	var managers []*manager
	for i := range shards {
		port := hook.LocalServingPort
		if shards > 1 {
			p, err := freePort()
			if err != nil {
				return managers, err
			}
			port = p
		}
		m, err := startManager(c, cfg, i, shards, run, net.JoinHostPort(hook.LocalServingHost, strconv.Itoa(port)))
		if err != nil {
			return managers, err
		}
		managers = append(managers, m)
	}
	for _, m := range managers {
		if err := m.waitReady(ctx); err != nil {
			return managers, err
		}
	}
	return managers, nil
}

func startManager(c *cluster, cfg config, shard, shards int, run, webhookAddr string) (*manager, error) {
	if err := c.addUser(managerUser, managerGroup); err != nil {
		return nil, err
	}
	kubeconfig, err := c.writeKubeconfig(managerUser)
	if err != nil {
		return nil, err
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(webhookAddr)
	m := &manager{shard: shard, webhookAddr: webhookAddr, exited: make(chan struct{}),
		probe:   net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort)),
		logPath: filepath.Join(c.dir, fmt.Sprintf("manager-%s-%s.log", run, shardName(shard)))}
	args := []string{"--health-probe-bind-address=" + m.probe, "--metrics-bind-address=0",
		"--webhook-host=" + host, "--webhook-port=" + port, "--webhook-cert-path=" + c.env.WebhookInstallOptions.LocalServingCertDir}
	if shards > 1 {
		args = append(args, "--watch-label-selector="+shardLabel+"="+shardName(shard))
	}
	args = append(args, cfg.managerFlags...)
	logFile, err := os.Create(m.logPath)
	if err != nil {
		return nil, err
	}
	m.cmd = exec.Command(cfg.managerPath, args...) //nolint:gosec // G204: the bench runs the manager binary it was given
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	if err := m.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", cfg.managerPath, err)
	}
	go func() {
		_ = m.cmd.Wait()
		_ = logFile.Close()
		close(m.exited)
	}()
	return m, nil
}

// waitReady waits until the manager's /readyz answers OK, which includes its webhook server.
func (m *manager) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	url := "http://" + m.probe + "/readyz"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-m.exited:
			return fmt.Errorf("manager %s exited before it was ready: %s; see its log %s", shardName(m.shard), m.cmd.ProcessState, m.logPath)
		case <-ctx.Done():
			return fmt.Errorf("manager %s was not ready within a minute; see its log %s", shardName(m.shard), m.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop asks the manager to stop, and kills it after ten seconds.
func (m *manager) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
}

func stopManagers(managers []*manager) {
	for _, m := range managers {
		m.stop()
	}
}

// processStats is what the kernel accounts for a process.
type processStats struct {
	// peakRSS is VmHWM, the peak resident set size, in bytes.
	peakRSS int64
	// cpu is user plus system time.
	cpu time.Duration
}

// clockTicksPerSecond is USER_HZ, in which /proc/PID/stat counts CPU time; it is 100 on every
// Linux architecture Go supports.
const clockTicksPerSecond = 100

// stats reads the manager's peak RSS and CPU time from /proc.
func (m *manager) stats() (processStats, error) {
	pid := m.cmd.Process.Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return processStats{}, fmt.Errorf("reading the manager's status (it needs Linux's /proc): %w", err)
	}
	var s processStats
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return s, fmt.Errorf("reading VmHWM %q: %w", line, err)
			}
			s.peakRSS = kb << 10
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name, in parentheses, may hold spaces: fields count from the last ')'.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 13 {
		return s, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, stat)
	}
	var ticks int64
	for _, field := range fields[11:13] { // utime and stime, fields 14 and 15 of stat(5)
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return s, err
		}
		ticks += n
	}
	s.cpu = time.Duration(ticks) * time.Second / clockTicksPerSecond
	return s, nil
}

// checkManagerFlags fails early, with the reason, when the manager binary lacks a flag the bench
// would pass it: -shards needs --watch-label-selector, and -manager-flags names its own.
func checkManagerFlags(cfg config) error {
	var needed []string
	for _, f := range cfg.managerFlags {
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		needed = append(needed, name)
	}
	for _, shards := range cfg.shardCounts {
		if shards > 1 {
			needed = append(needed, "watch-label-selector")
			break
		}
	}
	if len(needed) == 0 {
		return nil
	}
	// The flag package prints usage on -help and exits with 0 (or 2 in older Go): only the
	// text matters.
	out, err := exec.Command(cfg.managerPath, "--help").CombinedOutput() //nolint:gosec // G204: the manager binary given
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return fmt.Errorf("running %s --help: %w", cfg.managerPath, err)
	}
	for _, name := range needed {
		if !bytes.Contains(out, []byte("  -"+name+" ")) && !bytes.Contains(out, []byte("  -"+name+"\n")) {
			return fmt.Errorf("%s has no --%s flag (see its --help); rebuild it with `go build -o bin/manager .` "+
				"or leave the flag out", cfg.managerPath, name)
		}
	}
	return nil
}

// freePort returns a loopback port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
