// Package greenlighttest runs Greenlight itself (its reconcilers and admission webhooks, wired as
// main.go wires them) against an envtest control plane, for the test suites outside the
// controllers and webhook packages (which cannot import it: it imports them).
package greenlighttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/greenlight-operator/greenlight/controllers"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/testenv"
	"github.com/greenlight-operator/greenlight/internal/webhook"
)

// Options say how the manager runs.
type Options struct {
	// Scheme holds Greenlight's kinds and client-go's.
	Scheme *runtime.Scheme
	// Clock is the reconcilers' and webhooks' clock.
	Clock clock.Clock
	// Notify configures the notifications the reconcilers send.
	Notify notify.Options
	// Component names the event source.
	Component string
}

// StartManager runs Greenlight's reconcilers and admission webhooks on env (started with
// testenv.WithWebhooks) until ctx ends, and returns once the API server can reach the webhook
// server. The returned channel is closed when the manager has stopped: wait for it before env
// removes the serving certificates.
func StartManager(ctx context.Context, env *testenv.Environment, opts Options) (<-chan struct{}, error) {
	serving := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 opts.Scheme,
		Cache:                  controllers.CacheOptions(nil),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer: ctrlwebhook.NewServer(ctrlwebhook.Options{
			Host: serving.LocalServingHost, Port: serving.LocalServingPort, CertDir: serving.LocalServingCertDir,
		}),
	})
	if err != nil {
		return nil, err
	}
	compiler, err := policy.NewCompiler()
	if err != nil {
		return nil, err
	}
	recorder := controllers.NewAPIEventRecorder(mgr.GetClient(), mgr.GetScheme(), "greenlight", opts.Component, clock.RealClock{})
	if err := controllers.SetupWithManager(ctx, mgr, controllers.Options{Compiler: compiler, Recorder: recorder,
		Clock: opts.Clock, Notify: opts.Notify, AdmissionWebhooks: true}); err != nil {
		return nil, err
	}
	managerUser, err := webhook.WhoAmI(ctx, env.Config)
	if err != nil {
		return nil, err
	}
	if err := webhook.SetupWithManager(mgr, webhook.Options{Compiler: compiler, AdminGroups: []string{webhook.DefaultAdminGroup},
		Clock: opts.Clock, ManagerUser: managerUser}); err != nil {
		return nil, err
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for mgr.GetWebhookServer().StartedChecker()(nil) != nil {
		if time.Now().After(deadline) {
			return stopped, errors.New("the webhook server did not start within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return stopped, nil
}

// InstallPeopleRoles creates the ClusterRoles of config/rbac/people_roles.yaml with the
// "greenlight-" prefix config/default gives them.
func InstallPeopleRoles(ctx context.Context, c client.Client) error {
	f, err := os.Open(filepath.Join(testenv.RepoRoot(), "config", "rbac", "people_roles.yaml"))
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		role := &rbacv1.ClusterRole{}
		if err := decoder.Decode(role); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		role.Name = "greenlight-" + role.Name
		if err := c.Create(ctx, role); err != nil {
			return err
		}
	}
}
