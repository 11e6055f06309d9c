// Command local-cluster runs a real single-node Kubernetes cluster on this machine, built from
// source (bin/controlplane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kubelet from hack/build-controlplane.sh --node) with Debian's containerd, runc and CNI plugins.
// Everything listens on 127.0.0.1; pods use the host network. `make cluster-up` and `make
// cluster-down` run it.
//
//	local-cluster up   [-dir .cluster]  start it (nothing happens when it is already up)
//	local-cluster down [-dir .cluster]  stop what up started, by PID, and restore the host
//
// Into DIR it writes kubeconfig (a cluster administrator), users/NAME.kubeconfig (alice in
// marketing, bob in public-relations, carol in legal, dana an author), cluster.env (the API
// server's address and the images), and its own state: certificates, etcd's data, containerd's
// and kubelet's directories, logs, the PIDs it started and the host settings it found.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ports of the cluster, all on 127.0.0.1.
const (
	apiserverPort = 16443
	etcdPort      = 12379
	etcdPeerPort  = 12380
	kubeletPort   = 10250
	// nodeName is kubelet's --hostname-override: its serving address for the API server
	// (kubelet refuses a loopback node IP).
	nodeName = "localhost"
	// pauseImage is the pod sandbox image that containerd runs; `make image` builds it.
	pauseImage = "docker.io/library/greenlight-pause:dev"
)

type config struct {
	dir    string
	assets string
	images []string
	// timeout bounds up.
	timeout time.Duration
}

func main() {
	cfg := config{}
	root, _ := os.Getwd()
	fs := flag.NewFlagSet("local-cluster", flag.ExitOnError)
	fs.StringVar(&cfg.dir, "dir", filepath.Join(root, ".cluster"), "state directory (kubeconfigs, certificates, data, logs)")
	fs.StringVar(&cfg.assets, "assets", filepath.Join(root, "bin", "controlplane"), "directory holding the Kubernetes binaries")
	pause := fs.String("pause-image", filepath.Join(root, "bin", "pause-image.tar"), "tarball of the sandbox image")
	fs.DurationVar(&cfg.timeout, "timeout", 2*time.Minute, "how long up may take")
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: local-cluster up|down|status [-dir DIR] [image.tar ...]")
		os.Exit(2)
	}
	cmd := os.Args[1]
	_ = fs.Parse(os.Args[2:])
	dir, err := stateDir(cfg.dir)
	if err != nil {
		fail(err)
	}
	cfg.dir = dir
	cfg.images = append([]string{*pause}, fs.Args()...)

	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	switch cmd {
	case "up":
		err = up(ctx, cfg)
	case "down":
		err = down(cfg)
	case "status":
		err = status(cfg)
	default:
		err = fmt.Errorf("unknown command %q: want up, down or status", cmd)
	}
	if err != nil {
		fail(err)
	}
}

// marker is written first into a state directory by up; down removes nothing in a directory
// without it.
const marker = ".greenlight-local-cluster"

// stateDir resolves dir (symlinks too: mount points are listed by their real paths) and refuses
// the root and the home directory.
func stateDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	} else if parent, perr := filepath.EvalSymlinks(filepath.Dir(abs)); perr == nil {
		abs = filepath.Join(parent, filepath.Base(abs))
	}
	home, _ := os.UserHomeDir()
	if abs == "/" || abs == filepath.Clean(home) || filepath.Dir(abs) == "/" {
		return "", fmt.Errorf("-dir %s: the state directory must be a directory of its own, such as ./.cluster", dir)
	}
	return abs, nil
}

// checkOwned says whether dir is a local cluster's state directory (it has the marker), or is
// missing or empty, so that up may use it.
func checkOwned(dir string) (owned bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
		return true, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return false, fmt.Errorf("%s holds files but is not a local cluster's state directory (no %s): "+
		"choose another -dir, or empty it yourself", dir, marker)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "local-cluster:", err)
	os.Exit(1)
}

// up starts the cluster unless it is already running; a cluster left half up is taken down
// first.
func up(ctx context.Context, cfg config) error {
	c := newCluster(cfg)
	if _, err := checkOwned(cfg.dir); err != nil {
		return err
	}
	if c.running() {
		ready, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := c.waitReady(ready)
		cancel()
		if err == nil {
			fmt.Printf("The local cluster is already up (kubeconfig %s)\n", c.path("kubeconfig"))
			return nil
		}
	}
	if _, err := os.Stat(c.path("pids")); err == nil {
		fmt.Println("Taking down what is left of an earlier local cluster")
		if err := down(cfg); err != nil {
			return err
		}
	}
	if err := c.preflight(); err != nil {
		return err
	}
	start := time.Now()
	if err := c.start(ctx); err != nil {
		return fmt.Errorf("%w (logs in %s; make cluster-down cleans up)", err, c.path("logs"))
	}
	fmt.Printf("Local cluster up in %s: kubeconfig %s, people in %s\n",
		time.Since(start).Round(100*time.Millisecond), c.path("kubeconfig"), c.path("users"))
	return nil
}

// down stops every process up started, by PID, and puts back the host as up found it. With
// nothing up it does nothing.
func down(cfg config) error {
	c := newCluster(cfg)
	owned, err := checkOwned(cfg.dir)
	if err != nil {
		return err
	}
	if !owned {
		fmt.Println("No local cluster to take down")
		return os.RemoveAll(cfg.dir) // missing or empty
	}
	err = c.stop()
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return err
	}
	if err := os.RemoveAll(cfg.dir); err != nil {
		return fmt.Errorf("removing %s: %w", cfg.dir, err)
	}
	fmt.Println("Local cluster down; the host is as it was")
	return nil
}

func status(cfg config) error {
	c := newCluster(cfg)
	if !c.running() {
		return fmt.Errorf("the local cluster is not running")
	}
	fmt.Printf("The local cluster is running (kubeconfig %s)\n", c.path("kubeconfig"))
	return nil
}
