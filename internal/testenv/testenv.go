// Package testenv starts a real kube-apiserver and etcd (envtest) with the Greenlight CRDs
// installed, for the tests of every package that crosses the API.
//
// The binaries come from bin/controlplane, built from source by `make controlplane`, or from
// the directory in KUBEBUILDER_ASSETS.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
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
type Option func(*options)

// options is what Start sets up besides the control plane itself.
type options struct {
	env *envtest.Environment
	// admissionPolicies is set by WithAdmissionPolicies.
	admissionPolicies bool
}

// WithWebhooks installs the webhook configurations from config/webhook, pointed at a local
// webhook server: serve it with WebhookInstallOptions' LocalServingHost, LocalServingPort and
// LocalServingCertDir.
func WithWebhooks() Option {
	return func(o *options) {
		o.env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{filepath.Join(RepoRoot(), "config", "webhook")}}
	}
}

// WithAdmissionPolicies installs the ValidatingAdmissionPolicies and their bindings from
// config/admissionpolicy, as its kustomization lists them and without config/default's name
// prefix. The API server loads policies asynchronously: a test must wait until one denies before
// it relies on them.
func WithAdmissionPolicies() Option {
	return func(o *options) { o.admissionPolicies = true }
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
	o := &options{env: env}
	for _, opt := range opts {
		opt(o)
	}
	cfg, err := env.Start()
	if err != nil {
		// envtest leaves kube-apiserver and etcd running when a later step (installing the CRDs)
		// fails.
		_ = env.Stop()
		return nil, fmt.Errorf("starting the envtest control plane from %s: %w", assets, err)
	}
	if o.admissionPolicies {
		if err := installKustomizeResources(cfg, filepath.Join(root, "config", "admissionpolicy")); err != nil {
			_ = env.Stop()
			return nil, fmt.Errorf("installing the admission policies: %w", err)
		}
	}
	return &Environment{Environment: env, Config: cfg}, nil
}

// installKustomizeResources creates every object of the files that dir's kustomization.yaml
// lists under resources, as they are written: no kustomize transformations are applied. The API
// server validates them strictly, so that a misspelt field fails the test instead of being
// dropped.
func installKustomizeResources(cfg *rest.Config, dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return err
	}
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &kustomization); err != nil {
		return fmt.Errorf("reading %s/kustomization.yaml: %w", dir, err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	for _, resource := range kustomization.Resources {
		objs, err := readObjects(filepath.Join(dir, resource))
		if err != nil {
			return err
		}
		for _, obj := range objs {
			if err := c.Create(context.Background(), obj, client.FieldValidation("Strict")); err != nil {
				return fmt.Errorf("creating %s %s from %s: %w", obj.GetKind(), obj.GetName(), resource, err)
			}
		}
	}
	return nil
}

// readObjects decodes every document of a YAML file.
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var objs []*unstructured.Unstructured
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		obj := &unstructured.Unstructured{}
		err := decoder.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", path, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}
