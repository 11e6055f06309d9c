package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The host settings kubelet changes when it starts (setupKernelTunables: there is no option to
// skip it while protectKernelDefaults is false), saved before and restored by down.
var kubeletSysctls = []string{
	"kernel.panic", "kernel.panic_on_oops", "vm.overcommit_memory", "vm.panic_on_oom",
	"kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes",
}

// hostPaths are directories outside the state directory that kubelet, containerd or the CNI
// plugins create whatever they are told (kubelet's device-plugin and container-log paths are
// fixed; libcni caches results in /var/lib/cni): down removes those that up found missing.
var hostPaths = []string{
	"/var/lib/kubelet", "/var/lib/cni", "/var/log/containers", "/var/log/pods", "/run/containerd",
	"/opt/containerd", "/etc/cni", "/run/netns", "/var/run/netns",
}

// hostState is what up found on the host before it changed anything; down puts it back.
type hostState struct {
	Sysctls map[string]string `json:"sysctls"`
	// MissingPaths did not exist before up.
	MissingPaths []string `json:"missingPaths"`
	// MissingCgroups are the cgroup directories (kubepods under each controller) that did not exist.
	MissingCgroups []string `json:"missingCgroups"`
	// IPTablesChains are the user chains of each table before up, keyed "iptables filter",
	// "ip6tables nat" and so on (kubelet adds its canary and firewall chains).
	IPTablesChains map[string][]string `json:"iptablesChains"`
}

func sysctlPath(name string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
}

// recordHost reads the host's settings as they are before the cluster starts.
func recordHost() (*hostState, error) {
	s := &hostState{Sysctls: map[string]string{}, IPTablesChains: map[string][]string{}}
	for _, name := range kubeletSysctls {
		data, err := os.ReadFile(sysctlPath(name))
		if err != nil {
			return nil, fmt.Errorf("reading sysctl %s: %w", name, err)
		}
		s.Sysctls[name] = strings.TrimSpace(string(data))
	}
	for _, p := range hostPaths {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			s.MissingPaths = append(s.MissingPaths, p)
		}
	}
	for _, dir := range kubepodsCgroups() {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			s.MissingCgroups = append(s.MissingCgroups, dir)
		}
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle"} {
			if chains, ok := iptablesChains(bin, table); ok {
				s.IPTablesChains[bin+" "+table] = chains
			}
		}
	}
	return s, nil
}

// kubepodsCgroups lists the kubepods directory kubelet makes under each cgroup v1 controller
// (cgroupDriver cgroupfs), or the one of the unified hierarchy.
func kubepodsCgroups() []string {
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup/kubepods"}
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", e.Name(), "kubepods"))
		}
	}
	return dirs
}

// iptablesChains lists the user chains of table; false when bin is not installed or the
// kernel lacks the table.
func iptablesChains(bin, table string) ([]string, bool) {
	if _, err := exec.LookPath(bin); err != nil {
		return nil, false
	}
	out, err := exec.Command(bin, "-w", "-t", table, "-S").Output()
	if err != nil {
		return nil, false
	}
	chains := []string{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "-N" {
			chains = append(chains, f[1])
		}
	}
	return chains, true
}

func (s *hostState) save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to path through a temporary file in the same directory and a
// rename, so that a reader (a later down) never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func loadHostState(path string) (*hostState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &hostState{}
	return s, json.Unmarshal(data, s)
}

// restore puts back every host setting up recorded; it goes on past errors and returns them all.
// Every process of the cluster must be gone first.
func (s *hostState) restore(stateDir string) error {
	var errs []error
	for name, value := range s.Sysctls {
		if err := os.WriteFile(sysctlPath(name), []byte(value), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restoring sysctl %s=%s: %w", name, value, err))
		}
	}
	roots := append([]string{stateDir}, s.MissingPaths...)
	if err := unmountUnder(roots); err != nil {
		// Removing a directory with something still mounted in it would remove what is mounted.
		return errors.Join(append(errs, err)...)
	}
	for _, p := range s.MissingPaths {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, fmt.Errorf("removing %s, which the cluster created: %w", p, err))
		}
	}
	for _, dir := range s.MissingCgroups {
		if err := removeCgroupTree(dir); err != nil {
			errs = append(errs, err)
		}
	}
	for key, before := range s.IPTablesChains {
		bin, table, _ := strings.Cut(key, " ")
		if err := removeNewChains(bin, table, before); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// mountsUnder returns the mount points from mountinfo that lie in one of roots, deepest first,
// so that each can be unmounted before the one it sits on.
func mountsUnder(mountinfo string, roots []string) []string {
	var found []string
	sc := bufio.NewScanner(strings.NewReader(mountinfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountPath(f[4])
		for _, r := range roots {
			if mp == r || strings.HasPrefix(mp, strings.TrimSuffix(r, "/")+"/") {
				found = append(found, mp)
				break
			}
		}
	}
	// Deeper first; a path mounted twice is unmounted twice.
	sort.SliceStable(found, func(i, j int) bool {
		return strings.Count(found[i], "/") > strings.Count(found[j], "/")
	})
	return found
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space and so on).
func unescapeMountPath(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+3 < len(p) {
			if v, err := strconv.ParseUint(p[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func unmountUnder(roots []string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var errs []error
	for _, mp := range mountsUnder(string(data), roots) {
		if err := unix.Unmount(mp, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
				errs = append(errs, fmt.Errorf("unmounting %s: %w", mp, err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree removes a cgroup directory and the ones below it, deepest first (a cgroup
// directory goes with rmdir once it has no processes and no children).
func removeCgroupTree(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing cgroup %s: %w", root, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := unix.Rmdir(dirs[i]); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("removing cgroup %s: %w", dirs[i], err)
		}
	}
	return nil
}

// removeNewChains flushes and deletes the chains of table that were not there before; the
// rules that jump to them from built-in chains go first.
func removeNewChains(bin, table string, before []string) error {
	now, ok := iptablesChains(bin, table)
	if !ok {
		return nil
	}
	had := map[string]bool{}
	for _, c := range before {
		had[c] = true
	}
	var added []string
	for _, c := range now {
		// Only kubelet's chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT...):
		// a chain another program added meanwhile is not ours to remove.
		if !had[c] && strings.HasPrefix(c, "KUBE-") {
			added = append(added, c)
		}
	}
	if len(added) == 0 {
		return nil
	}
	out, err := exec.Command(bin, "-w", "-t", table, "-S").Output()
	if err != nil {
		return fmt.Errorf("listing %s table %s: %w", bin, table, err)
	}
	var errs []error
	for _, rule := range jumpsTo(string(out), added) {
		args := append([]string{"-w", "-t", table, "-D"}, rule[1:]...)
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, out))
		}
	}
	for _, verb := range []string{"-F", "-X"} {
		for _, c := range added {
			if out, err := exec.Command(bin, "-w", "-t", table, verb, c).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s -t %s %s %s: %v: %s", bin, table, verb, c, err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// jumpsTo returns the rules (as `-A CHAIN ...` fields) of an `iptables -S` listing that jump to
// one of chains.
func jumpsTo(listing string, chains []string) [][]string {
	target := map[string]bool{}
	for _, c := range chains {
		target[c] = true
	}
	var rules [][]string
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" || target[f[1]] {
			continue
		}
		for i := 2; i+1 < len(f); i++ {
			if (f[i] == "-j" || f[i] == "-g") && target[f[i+1]] {
				rules = append(rules, f)
				break
			}
		}
	}
	return rules
}
