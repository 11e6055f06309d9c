// Command localcluster runs a local Kubernetes control plane (kube-apiserver and etcd from
// bin/controlplane) for `make demo`, until it is stopped with SIGTERM or SIGINT.
//
// It writes, into DIR:
//   - kubeconfig: a cluster administrator (group system:masters);
//   - users/NAME.kubeconfig: one per demo person (alice in marketing, bob in public-relations,
//     carol in legal, dana an author), authenticated by client certificate so
//     that admission sees who they are;
//   - webhook.env: where the manager must serve the admission webhooks, which are already
//     registered with the API server (config/webhook, pointed at 127.0.0.1 with a local CA);
//   - ready, last, so that scripts can wait for it.
//
// No CRDs are installed: the demo installs them the way a user would.
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
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join(testenv.RepoRoot(), "config", "webhook")},
		},
	}
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
	if err := os.MkdirAll(filepath.Join(dir, "users"), 0o750); err != nil {
		return err
	}
	for _, person := range people {
		user, err := env.AddUser(person, nil)
		if err != nil {
			return fmt.Errorf("creating user %s: %w", person.Name, err)
		}
		if err := writeKubeconfig(user, filepath.Join(dir, "users", person.Name+".kubeconfig")); err != nil {
			return err
		}
	}
	webhook := env.WebhookInstallOptions
	serving := fmt.Sprintf("WEBHOOK_HOST=%s\nWEBHOOK_PORT=%d\nWEBHOOK_CERT_DIR=%s\n",
		webhook.LocalServingHost, webhook.LocalServingPort, webhook.LocalServingCertDir)
	if err := os.WriteFile(filepath.Join(dir, "webhook.env"), []byte(serving), 0o600); err != nil {
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

// people are the demo's users and the groups the API server authenticates them with.
var people = []envtest.User{
	{Name: "alice", Groups: []string{"marketing"}},
	{Name: "bob", Groups: []string{"public-relations"}},
	{Name: "carol", Groups: []string{"legal"}},
	{Name: "dana", Groups: []string{"authors"}},
}

func writeKubeconfig(user *envtest.AuthenticatedUser, path string) error {
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing a kubeconfig: %w", err)
	}
	return os.WriteFile(path, data, 0o600)
}
