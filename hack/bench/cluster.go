package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/testenv"
)

// The people of the bench. Every manager user is in managerGroup, which holds manager-role.
const (
	author       = "dana"
	managerGroup = "greenlight-managers"
)

// auditPolicy records every request once, when its response is complete, without bodies.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
`

// cluster is the control plane every run of the bench shares.
type cluster struct {
	env *envtest.Environment
	// admin is a cluster administrator (system:masters), for setting up and for the floor.
	admin client.Client
	// mapper is shared by every client, so that no client discovers the API during a
	// measurement.
	mapper   meta.RESTMapper
	scheme   *runtime.Scheme
	dir      string
	auditLog string
	// users are the authenticated users made so far, by name.
	users map[string]*envtest.AuthenticatedUser
}

// startCluster starts kube-apiserver (writing its audit log into dir) and etcd, installs the
// CRDs, the webhook configurations, the admission policies and the roles, and creates the bench's
// users.
func startCluster(cfg config, dir string) (*cluster, error) {
	root := testenv.RepoRoot()
	policyFile := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policyFile, []byte(auditPolicy), 0o600); err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, auditLog: filepath.Join(dir, "audit.log"), users: map[string]*envtest.AuthenticatedUser{}}
	c.env = &envtest.Environment{
		BinaryAssetsDirectory: cfg.assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join(root, "config", "webhook")}},
	}
	// The log backend rotates at 100 MB unless told otherwise; a rotated log would lose writes.
	c.env.ControlPlane.GetAPIServer().Configure().
		Set("audit-policy-file", policyFile).
		Set("audit-log-path", c.auditLog).
		Set("audit-log-maxsize", "1000000")
	fmt.Fprintf(os.Stderr, "bench: starting the control plane from %s\n", cfg.assets)
	if _, err := c.env.Start(); err != nil {
		_ = c.env.Stop() // envtest may have started some processes before failing
		return nil, fmt.Errorf("starting the control plane (run `make controlplane` first?): %w", err)
	}
	if err := c.setUp(cfg, root); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *cluster) setUp(cfg config, root string) error {
	c.scheme = runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, greenlightv1alpha1.AddToScheme} {
		if err := add(c.scheme); err != nil {
			return err
		}
	}
	httpClient, err := rest.HTTPClientFor(c.env.Config)
	if err != nil {
		return err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(c.env.Config, httpClient)
	if err != nil {
		return err
	}
	c.mapper = mapper
	if c.admin, err = client.New(c.env.Config, client.Options{Scheme: c.scheme, Mapper: mapper}); err != nil {
		return err
	}
	ctx := context.Background()
	// The roles people hold, named as config/default names them.
	if err := c.createFromFile(ctx, filepath.Join(root, "config", "rbac", "people_roles.yaml"), "greenlight-"); err != nil {
		return err
	}
	if err := c.createFromFile(ctx, filepath.Join(root, "config", "rbac", "role.yaml"), ""); err != nil {
		return err
	}
	for _, file := range []string{"contentpost_identity.yaml", "signoff_identity.yaml"} {
		if err := c.createFromFile(ctx, filepath.Join(root, "config", "admissionpolicy", file), ""); err != nil {
			return err
		}
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: objectMeta("greenlight-manager", ""),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: clusterRoleKind, Name: "manager-role"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: managerGroup}},
	}
	if err := c.admin.Create(ctx, binding); err != nil {
		return err
	}
	return c.addPeople(cfg)
}

// addPeople creates the author and one reviewer per department, reviewer-<k> in group dept-<k>.
func (c *cluster) addPeople(cfg config) error {
	if err := c.addUser(author, "authors"); err != nil {
		return err
	}
	for k := range cfg.stages * cfg.departments {
		if err := c.addUser(reviewerName(k), departmentName(k)); err != nil {
			return err
		}
	}
	return nil
}

// addUser creates the named user with groups, unless it exists.
func (c *cluster) addUser(name string, groups ...string) error {
	if _, ok := c.users[name]; ok {
		return nil
	}
	u, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return fmt.Errorf("creating user %s: %w", name, err)
	}
	c.users[name] = u
	return nil
}

// clientFor returns a client of its own for the named user (created before), on a connection of
// its own: each worker of the bench is a separate client, as separate people are. Client-go
// shares one cached transport, and so one HTTP/2 connection, between equal configs unless each
// has its own dialer.
func (c *cluster) clientFor(name string) (client.WithWatch, error) {
	u, ok := c.users[name]
	if !ok {
		return nil, fmt.Errorf("no user %s", name)
	}
	return c.clientWith(u.Config())
}

func (c *cluster) adminClient() (client.WithWatch, error) { return c.clientWith(c.env.Config) }

func (c *cluster) clientWith(base *rest.Config) (client.WithWatch, error) {
	cfg := rest.CopyConfig(base)
	// Client-side throttling would measure the client, not Greenlight.
	cfg.QPS, cfg.Burst = 1000, 1000
	cfg.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return client.NewWithWatch(cfg, client.Options{Scheme: c.scheme, Mapper: c.mapper})
}

// writeKubeconfig writes the named user's kubeconfig into the bench's directory.
func (c *cluster) writeKubeconfig(name string) (string, error) {
	data, err := c.users[name].KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(c.dir, name+".kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

func (c *cluster) stop() {
	if err := c.env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: stopping the control plane:", err)
	}
}

// createFromFile creates every object of a YAML file as it is written, prefixing each name
// with namePrefix.
func (c *cluster) createFromFile(ctx context.Context, path, namePrefix string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		obj := &unstructured.Unstructured{}
		err := decoder.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("decoding %s: %w", path, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		obj.SetName(namePrefix + obj.GetName())
		if err := c.admin.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s from %s: %w", obj.GetKind(), obj.GetName(), path, err)
		}
	}
}

// saveAPIServerMetrics writes the API server's Prometheus metrics to path.
// saveAPIServerProfile saves a CPU profile of the API server taken over seconds (its
// /debug/pprof, served to system:masters).
func (c *cluster) saveAPIServerProfile(ctx context.Context, path string, seconds int) error {
	clientset, err := kubernetes.NewForConfig(c.env.Config)
	if err != nil {
		return err
	}
	data, err := clientset.RESTClient().Get().AbsPath("/debug/pprof/profile").
		Param("seconds", strconv.Itoa(seconds)).Timeout(time.Duration(seconds+30) * time.Second).DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("profiling the API server: %w", err)
	}
	return os.WriteFile(path, data, 0o600)
}

func (c *cluster) saveAPIServerMetrics(ctx context.Context, path string) error {
	clientset, err := kubernetes.NewForConfig(c.env.Config)
	if err != nil {
		return err
	}
	data, err := clientset.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("reading the API server's metrics: %w", err)
	}
	return os.WriteFile(path, data, 0o600)
}
