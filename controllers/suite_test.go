package controllers

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/testenv"
)

var (
	// k reads and writes straight to the API server (no cache), as a cluster administrator.
	k client.Client
	// fakeClock is the reconcilers' clock; tests move it instead of sleeping.
	fakeClock = clocktesting.NewFakeClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(zapLevel())))
	env, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, greenlightv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	k, err = client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	testEnv, testScheme = env, scheme
	if err := startManager(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { stopManager() }()
	return m.Run()
}

var (
	testEnv    *testenv.Environment
	testScheme *runtime.Scheme
	// stopManager stops the running manager and waits until it has stopped.
	stopManager = func() {}
)

// restartManager stops the manager and starts a new one, with empty caches and no memory of
// what the old one did, as a crashed or upgraded manager would come back.
func restartManager(t *testing.T) {
	t.Helper()
	stopManager()
	if err := startManager(); err != nil {
		t.Fatal(err)
	}
}

// startManager runs the reconcilers as main.go does, with the fake clock.
func startManager() error {
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(testEnv.Config, ctrl.Options{
		// restartManager starts a second manager in this process with the same controller names.
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Scheme:                 testScheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		cancel()
		return err
	}
	compiler, err := policy.NewCompiler()
	if err != nil {
		cancel()
		return err
	}
	recorder := mgr.GetEventRecorderFor("greenlight") //nolint:staticcheck // SA1019: as main.go, see EventRecorder
	if err := SetupWithManager(ctx, mgr, compiler, recorder, fakeClock, notify.DefaultOptions); err != nil {
		cancel()
		return err
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	stopManager = func() { cancel(); <-stopped }
	return nil
}

// zapLevel keeps the manager quiet unless GREENLIGHT_TEST_LOG=debug.
func zapLevel() zapcore.Level {
	if os.Getenv("GREENLIGHT_TEST_LOG") == "debug" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}

// newNamespace creates a namespace for one test, so tests never see each other's objects.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := k.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// eventsOf returns "Reason: note" for every event regarding the named object, oldest first.
func eventsOf(ctx context.Context, namespace, name string) ([]string, error) {
	var list corev1.EventList
	if err := k.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	sort.SliceStable(list.Items, func(i, j int) bool {
		return list.Items[i].CreationTimestamp.Before(&list.Items[j].CreationTimestamp)
	})
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out, nil
}
