// Command localcluster runs a local Kubernetes control plane (kube-apiserver and etcd from
// bin/controlplane) for `make demo`, until it is stopped with SIGTERM or SIGINT.
//
// It writes an administrator kubeconfig to DIR/kubeconfig and, last, the file DIR/ready, so that
// scripts can wait for it. No CRDs are installed: the demo installs them the way a user would.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/greenlight-operator/greenlight/internal/testenv"
)

func main() {
	dir := flag.String("dir", ".demo", "directory for the kubeconfig and the ready marker")
	assets := flag.String("assets", filepath.Join(testenv.RepoRoot(), "bin", "controlplane"),
		"directory holding kube-apiserver and etcd")
	flag.Parse()

	if err := run(*dir, *assets); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func run(dir, assets string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	if _, err := env.Start(); err != nil {
		_ = env.Stop() // envtest may have started some processes before failing.
		return fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "localcluster: stopping:", err)
		}
	}()

	admin, err := env.AddUser(envtest.User{Name: "greenlight-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("creating the admin user: %w", err)
	}
	if err := writeKubeconfig(admin, filepath.Join(dir, "kubeconfig")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(env.Config.Host+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Printf("Control plane ready at %s\n", env.Config.Host)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	fmt.Println("Stopping the control plane")
	return nil
}

func writeKubeconfig(user *envtest.AuthenticatedUser, path string) error {
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing a kubeconfig: %w", err)
	}
	return os.WriteFile(path, data, 0o600)
}
