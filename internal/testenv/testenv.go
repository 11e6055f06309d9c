// Package testenv starts a real kube-apiserver and etcd (envtest) with the Greenlight CRDs
// installed, for the tests of every package that crosses the API.
//
// The binaries come from bin/controlplane, built from source by `make controlplane`, or from
// the directory in KUBEBUILDER_ASSETS.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// RepoRoot returns the root of the Greenlight checkout, found from this file's location so that
// tests work from any package directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Environment is a running control plane.
type Environment struct {
	*envtest.Environment
	// Config reaches the API server as a cluster administrator.
	Config *rest.Config
}

// Option changes what Start sets up.
type Option func(*envtest.Environment)

// WithWebhooks installs the webhook configurations from config/webhook, pointed at a local
// webhook server: serve it with WebhookInstallOptions' LocalServingHost, LocalServingPort and
// LocalServingCertDir.
func WithWebhooks() Option {
	return func(env *envtest.Environment) {
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{filepath.Join(RepoRoot(), "config", "webhook")}}
	}
}

// Start starts kube-apiserver and etcd and installs the CRDs from config/crd/bases. Call Stop
// when done.
func Start(opts ...Option) (*Environment, error) {
	root := RepoRoot()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "controlplane")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, fmt.Errorf("no kube-apiserver in %s: run `make controlplane` (or `make test`, which builds it) first", assets)
	}

	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	for _, opt := range opts {
		opt(env)
	}
	cfg, err := env.Start()
	if err != nil {
		// envtest leaves kube-apiserver and etcd running when a later step (installing the CRDs)
		// fails.
		_ = env.Stop()
		return nil, fmt.Errorf("starting the envtest control plane from %s: %w", assets, err)
	}
	return &Environment{Environment: env, Config: cfg}, nil
}
