package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// kubelet is the node agent's binary and process name.
const kubelet = "kubelet"

// processes is how many processes up starts: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd and kubelet.
const processes = 6

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// cluster is one local cluster, known by its state directory.
type cluster struct {
	cfg config
}

func newCluster(cfg config) *cluster { return &cluster{cfg: cfg} }

func (c *cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.cfg.dir}, elem...)...)
}

func (c *cluster) server() string { return "https://127.0.0.1:" + strconv.Itoa(apiserverPort) }

// people are the demo's users and the groups their client certificates carry.
var people = []identity{
	{user: "alice", groups: []string{"marketing"}},
	{user: "bob", groups: []string{"public-relations"}},
	{user: "carol", groups: []string{"legal"}},
	{user: "dana", groups: []string{"authors"}},
}

// preflight says what this machine lacks before anything is changed.
func (c *cluster) preflight() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("a local node needs Linux, not %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("a local node needs root (kubelet and containerd manage cgroups and mounts)")
	}
	for _, bin := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", kubelet} {
		if _, err := os.Stat(filepath.Join(c.cfg.assets, bin)); err != nil {
			return fmt.Errorf("%s is missing from %s: run hack/build-controlplane.sh --node", bin, c.cfg.assets)
		}
	}
	for _, bin := range []string{"containerd", "ctr", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s is not installed: apt-get install containerd runc containernetworking-plugins", bin)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/loopback"); err != nil {
		return fmt.Errorf("the CNI loopback plugin is not installed: apt-get install containernetworking-plugins")
	}
	for _, img := range c.cfg.images {
		if _, err := os.Stat(img); err != nil {
			return fmt.Errorf("image %s is missing: run make image", img)
		}
	}
	for _, dir := range kubepodsCgroups() {
		if _, err := os.Stat(dir); err == nil {
			return fmt.Errorf("%s exists: another kubelet runs (or ran) on this host, and its pods would be taken for ours", dir)
		}
	}
	for _, port := range []int{apiserverPort, etcdPort, etcdPeerPort, kubeletPort, 10248, 10257, 10259} {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("port %d on 127.0.0.1 is taken; the local cluster needs it: %w", port, err)
		}
		_ = l.Close()
	}
	return nil
}

// start brings the cluster up in order, recording each process as it starts.
func (c *cluster) start(ctx context.Context) error {
	if err := os.MkdirAll(c.cfg.dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(c.path(marker), nil, 0o600); err != nil {
		return err
	}
	for _, d := range []string{"pki", "users", "logs", "etcd", "containerd", "cni", "kubelet", "pod-logs"} {
		if err := os.MkdirAll(c.path(d), 0o700); err != nil {
			return err
		}
	}
	host, err := recordHost()
	if err != nil {
		return err
	}
	if err := host.save(c.path("host.json")); err != nil {
		return err
	}
	if err := c.writePKI(); err != nil {
		return err
	}
	if err := c.startControlPlane(ctx); err != nil {
		return err
	}
	if err := c.startContainerd(ctx); err != nil {
		return err
	}
	if err := c.startKubelet(); err != nil {
		return err
	}
	if err := c.waitReady(ctx); err != nil {
		return err
	}
	env := fmt.Sprintf("KUBECONFIG=%s\nAPISERVER_HOST=127.0.0.1\nAPISERVER_PORT=%d\nCONTAINERD_ADDRESS=%s\n",
		c.path("kubeconfig"), apiserverPort, c.path("containerd", "containerd.sock"))
	return os.WriteFile(c.path("cluster.env"), []byte(env), 0o600)
}

func (c *cluster) writePKI() error {
	ca, err := newCA()
	if err != nil {
		return err
	}
	pki := c.path("pki")
	if err := os.WriteFile(filepath.Join(pki, "ca.crt"), ca.pem, 0o600); err != nil {
		return err
	}
	hosts := []string{"127.0.0.1", "localhost", "10.0.0.1", "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if err := ca.writePair(pki, "apiserver", identity{user: "kube-apiserver"}, hosts...); err != nil {
		return err
	}
	if err := ca.writePair(pki, "apiserver-kubelet-client",
		identity{user: "kube-apiserver-kubelet-client", groups: []string{"system:masters"}}); err != nil {
		return err
	}
	if err := writeServiceAccountKey(pki); err != nil {
		return err
	}
	kubeconfigs := map[string]identity{
		c.path("kubeconfig"):                     {user: "admin", groups: []string{"system:masters"}},
		c.path("pki", "controller-manager.conf"): {user: "system:kube-controller-manager"},
		c.path("pki", "scheduler.conf"):          {user: "system:kube-scheduler"},
		c.path("pki", "kubelet.conf"):            {user: "system:node:" + nodeName, groups: []string{"system:nodes"}},
	}
	for _, p := range people {
		kubeconfigs[c.path("users", p.user+".kubeconfig")] = p
	}
	for path, who := range kubeconfigs {
		if err := ca.writeKubeconfig(path, c.server(), who); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) startControlPlane(ctx context.Context) error {
	pki := func(name string) string { return c.path("pki", name) }
	etcd := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(etcdPeerPort)
	if err := c.run("etcd", filepath.Join(c.cfg.assets, "etcd"),
		"--name=local", "--data-dir="+c.path("etcd"), "--listen-client-urls="+etcd, "--advertise-client-urls="+etcd,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer, "--initial-cluster=local="+peer,
		"--unsafe-no-fsync=true"); err != nil {
		return err
	}
	if err := c.run("kube-apiserver", filepath.Join(c.cfg.assets, "kube-apiserver"),
		"--etcd-servers="+etcd, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiserverPort), "--cert-dir="+c.path("pki"),
		"--tls-cert-file="+pki("apiserver.crt"), "--tls-private-key-file="+pki("apiserver.key"),
		"--client-ca-file="+pki("ca.crt"),
		"--kubelet-client-certificate="+pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+pki("apiserver-kubelet-client.key"),
		"--kubelet-preferred-address-types=Hostname,InternalIP",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki("sa.pub"), "--service-account-signing-key-file="+pki("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24", "--endpoint-reconciler-type=none",
		"--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true"); err != nil {
		return err
	}
	if err := c.waitAPIServer(ctx); err != nil {
		return err
	}
	if err := c.run("kube-controller-manager", filepath.Join(c.cfg.assets, "kube-controller-manager"),
		"--kubeconfig="+pki("controller-manager.conf"), "--authentication-kubeconfig="+pki("controller-manager.conf"),
		"--authorization-kubeconfig="+pki("controller-manager.conf"), "--bind-address=127.0.0.1",
		"--use-service-account-credentials=true", "--service-account-private-key-file="+pki("sa.key"),
		"--root-ca-file="+pki("ca.crt"), "--leader-elect=false",
		"--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle"); err != nil {
		return err
	}
	return c.run("kube-scheduler", filepath.Join(c.cfg.assets, "kube-scheduler"),
		"--kubeconfig="+pki("scheduler.conf"), "--authentication-kubeconfig="+pki("scheduler.conf"),
		"--authorization-kubeconfig="+pki("scheduler.conf"), "--bind-address=127.0.0.1", "--leader-elect=false")
}

// containerdConfig is containerd's own configuration: its own root, state and socket (the
// host's containerd, if any, is never touched), the CRI plugin with the settings this machine
// needs (see LOCAL-CLUSTER facts: restrict_oom_score_adj, cgroupfs) and a loopback-only CNI.
func (c *cluster) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's state stays in this cluster's directory, not in a host's /run/containerd/runc.
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, c.path("containerd", "root"), c.path("containerd", "state"), c.path("containerd", "containerd.sock"),
		c.path("containerd", "opt"), pauseImage, c.path("containerd", "runc"), c.path("cni"))
}

const loopbackCNI = `{"cniVersion": "0.4.0", "name": "loopback", "plugins": [{"type": "loopback"}]}
`

func (c *cluster) startContainerd(ctx context.Context) error {
	if err := os.WriteFile(c.path("cni", "99-loopback.conflist"), []byte(loopbackCNI), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(c.path("containerd", "config.toml"), []byte(c.containerdConfig()), 0o600); err != nil {
		return err
	}
	if err := c.run("containerd", "containerd", "--config="+c.path("containerd", "config.toml")); err != nil {
		return err
	}
	sock := c.path("containerd", "containerd.sock")
	if err := poll(ctx, "containerd's socket", func() error {
		return exec.CommandContext(ctx, "ctr", "--address", sock, "version").Run()
	}); err != nil {
		return err
	}
	for _, img := range c.cfg.images {
		if out, err := exec.CommandContext(ctx, "ctr", "--address", sock, "-n", "k8s.io", "images", "import",
			"--no-unpack=false", img).CombinedOutput(); err != nil {
			return fmt.Errorf("importing %s into containerd: %w: %s", img, err, out)
		}
	}
	return nil
}

func (c *cluster) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://%s
podLogsDir: %s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization:
  mode: Webhook
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%"}
syncFrequency: 10s
maxPods: 1000
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
resolvConf: /etc/resolv.conf
`, kubeletPort, c.path("containerd", "containerd.sock"), c.path("pod-logs"), c.path("pki", "ca.crt"))
}

func (c *cluster) startKubelet() error {
	if err := os.WriteFile(c.path("kubelet", "config.yaml"), []byte(c.kubeletConfig()), 0o600); err != nil {
		return err
	}
	return c.run(kubelet, filepath.Join(c.cfg.assets, kubelet),
		"--config="+c.path("kubelet", "config.yaml"), "--kubeconfig="+c.path("pki", "kubelet.conf"),
		"--hostname-override="+nodeName, "--root-dir="+c.path("kubelet", "root"), "--cert-dir="+c.path("kubelet", "pki"))
}

func (c *cluster) client() (*kubernetes.Clientset, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", c.path("kubeconfig"))
	if err != nil {
		return nil, err
	}
	rc.Timeout = 5 * time.Second
	return kubernetes.NewForConfig(rc)
}

func (c *cluster) waitAPIServer(ctx context.Context) error {
	cs, err := c.client()
	if err != nil {
		return err
	}
	return poll(ctx, "the API server to be ready", func() error {
		_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}

// waitReady waits for the API server and for the node to be Ready.
func (c *cluster) waitReady(ctx context.Context) error {
	if err := c.waitAPIServer(ctx); err != nil {
		return err
	}
	cs, err := c.client()
	if err != nil {
		return err
	}
	return poll(ctx, "node "+nodeName+" to be Ready", func() error {
		node, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s is not Ready", nodeName)
	})
}

// poll calls check every 100 ms until it succeeds or ctx ends, and then says what it waited for
// and the last error.
func poll(ctx context.Context, what string, check func() error) error {
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// proc is a process up started, known by PID and start time (so that a reused PID is never
// signalled).
type proc struct {
	Name  string `json:"name"`
	PID   int    `json:"pid"`
	Start string `json:"start"`
}

// run starts name in its own session with its output in logs/NAME.log and records it.
func (c *cluster) run(name, bin string, args ...string) error {
	logFile, err := os.OpenFile(c.path("logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	start, err := startTime(cmd.Process.Pid)
	if err != nil {
		return err
	}
	procs, _ := c.procs()
	procs = append(procs, proc{Name: name, PID: cmd.Process.Pid, Start: start})
	data, err := json.Marshal(procs)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(c.path("pids"), data); err != nil {
		return err
	}
	_ = cmd.Process.Release()
	return nil
}

func (c *cluster) procs() ([]proc, error) {
	data, err := os.ReadFile(c.path("pids"))
	if err != nil {
		return nil, err
	}
	var procs []proc
	return procs, json.Unmarshal(data, &procs)
}

// startTime is field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
func startTime(pid int) (string, error) {
	start, _, err := procStat(pid)
	return start, err
}

// procStat reads a process's start time (field 22 of /proc/PID/stat, in clock ticks since boot)
// and state (field 3: R, S, Z for a zombie, ...).
func procStat(pid int) (start, state string, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", "", err
	}
	// The command name (field 2) may hold spaces; fields after it follow the last ')'.
	rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 20 {
		return "", "", fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return f[19], f[0], nil
}

// alive says whether p is still the process up started and has not exited: a zombie (exited,
// not yet reaped by its parent) is dead.
func (p proc) alive() bool {
	start, state, err := procStat(p.PID)
	return err == nil && start == p.Start && state != "Z" && state != "X"
}

// running says whether every process up started is still there.
func (c *cluster) running() bool {
	procs, err := c.procs()
	if err != nil || len(procs) == 0 {
		return false
	}
	for _, p := range procs {
		if !p.alive() {
			return false
		}
	}
	return len(procs) == processes
}

// stop ends the cluster: kubelet first, then the pods' processes (everything in the kubepods
// cgroups), containerd's shims for this containerd, then the rest in reverse order of start;
// then it restores the host.
func (c *cluster) stop() error {
	procs, err := c.procs()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var errs []error
	byName := map[string]proc{}
	for _, p := range procs {
		byName[p.Name] = p
	}
	if p, ok := byName[kubelet]; ok {
		errs = append(errs, terminate(p))
	}
	host, hostErr := loadHostState(c.path("host.json"))
	if hostErr == nil && len(host.MissingCgroups) > 0 {
		// The kubepods cgroups did not exist before up: every process in them is one of our pods.
		errs = append(errs, killPods())
	}
	errs = append(errs, killShims(c.path("containerd", "containerd.sock")))
	for i := len(procs) - 1; i >= 0; i-- {
		if procs[i].Name != kubelet {
			errs = append(errs, terminate(procs[i]))
		}
	}
	switch err := hostErr; {
	case err == nil:
		// Killed processes leave their cgroups and mounts a moment later: try again briefly.
		var restoreErr error
		for range 10 {
			if restoreErr = host.restore(c.cfg.dir); restoreErr == nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		errs = append(errs, restoreErr)
	case !errors.Is(err, os.ErrNotExist):
		errs = append(errs, err)
	default:
		errs = append(errs, unmountUnder([]string{c.cfg.dir}))
	}
	return errors.Join(errs...)
}

// terminate sends SIGTERM, waits up to 10 s, then SIGKILL; a process already gone is fine.
func terminate(p proc) error {
	if !p.alive() {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	for range 100 {
		if !p.alive() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	for range 50 {
		if !p.alive() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s (pid %d) did not stop", p.Name, p.PID)
}

// killPods kills every process in the kubepods cgroups: the pods' containers.
func killPods() error {
	var errs []error
	for round := 0; round < 50; round++ {
		pids := podPIDs()
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("killing pod process %d: %w", pid, err))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.Join(append(errs, fmt.Errorf("pod processes still running: %v", podPIDs()))...)
}

func podPIDs() []int {
	seen := map[int]bool{}
	var pids []int
	for _, root := range kubepodsCgroups() {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
					seen[pid] = true
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// killShims kills the containerd shims serving this cluster's containerd (found by the socket
// address on their command line); they outlive containerd by design.
func killShims(sock string) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 0 && strings.Contains(filepath.Base(args[0]), "containerd-shim") && containsPair(args, "-address", sock) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

func containsPair(args []string, flag, value string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag && args[i+1] == value {
			return true
		}
	}
	return false
}
