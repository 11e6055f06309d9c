package controllers

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
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
	// fakeClock is the reconcilers' clock; tests move it instead of sleeping. It starts at the
	// wall clock's time because deadlines are compared with sign-offs' creationTimestamps, which
	// the API server stamps from the wall clock.
	fakeClock = clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(zapLevel())))
	// The admission policies are in force, but no webhook: this suite is Greenlight with its
	// webhooks down, where the controller alone decides what counts.
	env, err := testenv.Start(testenv.WithAdmissionPolicies())
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
	if err := k.Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "greenlight-test-people"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: peopleGroup}},
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
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
	stop, err := newManager()
	if err != nil {
		return err
	}
	stopManager = stop
	return nil
}

// newManager starts a manager (without leader election, as two replicas overlap during a
// hand-over) and returns the function that stops it and waits until it has stopped.
func newManager() (func(), error) {
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(testEnv.Config, ctrl.Options{
		// restartManager starts a second manager in this process with the same controller names.
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Scheme:                 testScheme,
		Cache:                  CacheOptions(nil),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		cancel()
		return nil, err
	}
	compiler, err := policy.NewCompiler()
	if err != nil {
		cancel()
		return nil, err
	}
	recorder := NewAPIEventRecorder(mgr.GetClient(), mgr.GetScheme(), "greenlight", "test", clock.RealClock{})
	if err := SetupWithManager(ctx, mgr, Options{Compiler: compiler, Recorder: recorder, Clock: fakeClock, Notify: httpNotifications()}); err != nil {
		cancel()
		return nil, err
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	return func() { cancel(); <-stopped }, nil
}

// peopleGroup holds every test user; RBAC lets it do anything, since permissions are not what
// this suite tests.
const peopleGroup = "greenlight-test-people"

// departmentGroups are the groups of the departments the tests define (each department is
// approved by the group of its name); every test user is in all of them.
var departmentGroups = []string{"marketing", "public-relations", "legal", "community", "linkedin-team", "regulatory", "social-team", "finance"}

var (
	peopleMu sync.Mutex
	people   = map[string]client.Client{}
)

// as returns a client that acts as the named user, authenticated by the API server, so that the
// admission policies see who makes each request, as they would in a cluster.
func as(g Gomega, name string) client.Client {
	peopleMu.Lock()
	defer peopleMu.Unlock()
	if c, ok := people[name]; ok {
		return c
	}
	user, err := testEnv.AddUser(envtest.User{Name: name, Groups: append([]string{peopleGroup}, departmentGroups...)}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	c, err := client.New(user.Config(), client.Options{Scheme: testScheme})
	g.Expect(err).NotTo(HaveOccurred())
	people[name] = c
	return c
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

// httpNotifications is the default delivery with http:// allowed: the tests' receivers listen on
// plain HTTP on 127.0.0.1, as the manager's --allow-http-notifications allows.
func httpNotifications() notify.Options {
	opts := notify.DefaultOptions
	opts.AllowHTTP = true
	return opts
}
