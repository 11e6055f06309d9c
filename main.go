// Command manager runs the Greenlight controllers: the reconcilers that take ContentPosts through
// review and publishing, and the admission webhooks that keep sign-offs honest.
package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // Cloud auth providers for kubeconfigs that use them.
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/controllers"
	"github.com/greenlight-operator/greenlight/internal/notify"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/reuseport"
	"github.com/greenlight-operator/greenlight/internal/webhook"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

// Every reconciler records Kubernetes Events on the transitions people care about.
// +kubebuilder:rbac:groups=core,resources=events,verbs=create;patch

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(greenlightv1alpha1.AddToScheme(scheme))
}

// options are the manager's command-line flags, named as kubebuilder v4 names them.
type options struct {
	metricsAddr          string
	probeAddr            string
	enableLeaderElection bool
	secureMetrics        bool
	enableHTTP2          bool
	webhookPort          int
	webhookCertPath      string
	webhookCertName      string
	webhookCertKey       string
	metricsCertPath      string
	metricsCertName      string
	metricsCertKey       string
	webhookHost          string
	adminGroups          stringList
	webhookDNSNames      stringList
	webhookReusePort     bool
	selfManagedCerts     bool
	certSecret           string
	webhookService       string
	webhookConfigPrefix  string
	// allowHTTPNotifications lets notifications go to http:// endpoints, not only https://.
	allowHTTPNotifications  bool
	maxConcurrentReconciles int
	watchLabelSelector      string
	pprofAddr               string
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	retryPeriod             time.Duration
}

// stringList is a repeatable, comma-separated flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	*l = append(*l, strings.Split(v, ",")...)
	return nil
}

func main() {
	var opts options
	flag.StringVar(&opts.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	flag.StringVar(&opts.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	flag.BoolVar(&opts.enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager. Enabling this will ensure there is only one active controller manager.")
	flag.BoolVar(&opts.secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	flag.IntVar(&opts.webhookPort, "webhook-port", 9443, "The port the admission webhook server listens on.")
	flag.StringVar(&opts.webhookHost, "webhook-host", "",
		"The address the admission webhook server binds to; empty binds every interface.")
	flag.Var(&opts.adminGroups, "admin-group",
		"A group whose members may delete anyone's SignOff (repeatable; default "+webhook.DefaultAdminGroup+").")
	flag.BoolVar(&opts.selfManagedCerts, "self-managed-certs", false,
		"Generate and rotate the webhook serving certificate in a Secret and inject its CA into the webhook "+
			"configurations, for clusters without cert-manager.")
	flag.StringVar(&opts.certSecret, "cert-secret", "greenlight-webhook-server-cert",
		"With --self-managed-certs: the Secret, in the manager's namespace (POD_NAMESPACE), that holds the certificate.")
	flag.StringVar(&opts.webhookService, "webhook-service", "greenlight-webhook-service",
		"With --self-managed-certs: the Service in front of the webhook server; the certificate is issued for it.")
	flag.BoolVar(&opts.webhookReusePort, "webhook-reuse-port", false,
		"Bind the webhook port with SO_REUSEPORT, so that replicas on one host network (a local node) all serve it "+
			"(HTTP/1.1 only; for local nodes: any process of the same user on the host network could join the port).")
	flag.Var(&opts.webhookDNSNames, "webhook-dns-name",
		"With --self-managed-certs: another DNS name for the certificate besides the Service's (repeatable), "+
			"for webhook configurations that call the server by URL, such as https://localhost:9443 on a local node.")
	flag.StringVar(&opts.webhookConfigPrefix, "webhook-config-prefix", "greenlight-",
		"With --self-managed-certs: the name prefix of the mutating and validating webhook configurations to inject the CA into.")
	flag.StringVar(&opts.webhookCertPath, "webhook-cert-path", "", "The directory that contains the webhook certificate.")
	flag.StringVar(&opts.webhookCertName, "webhook-cert-name", "tls.crt", "The name of the webhook certificate file.")
	flag.StringVar(&opts.webhookCertKey, "webhook-cert-key", "tls.key", "The name of the webhook key file.")
	flag.StringVar(&opts.metricsCertPath, "metrics-cert-path", "",
		"The directory that contains the metrics server certificate.")
	flag.StringVar(&opts.metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	flag.StringVar(&opts.metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	flag.BoolVar(&opts.enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics and webhook servers")
	flag.BoolVar(&opts.allowHTTPNotifications, "allow-http-notifications", false,
		"Also send notifications to http:// endpoint URLs (only https:// otherwise), for local development and tests.")
	flag.IntVar(&opts.maxConcurrentReconciles, "max-concurrent-reconciles", controllers.DefaultMaxConcurrentReconciles,
		"How many posts are reconciled at once.")
	flag.StringVar(&opts.watchLabelSelector, "watch-label-selector", "",
		"Own only the posts (with their sign-offs and Jobs) and policies this label selector selects, to shard "+
			"Greenlight across several managers, for example "+greenlightv1alpha1.LabelShard+"=shard1 "+
			"(every shard still reads every policy and serves the webhooks for every shard).")
	flag.DurationVar(&opts.leaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long a standby waits, after the leader last renewed its lease, before taking over (a leader that "+
			"stops cleanly releases it at once).")
	flag.DurationVar(&opts.renewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader keeps trying to renew its lease before it gives up leading; shorter than the lease duration.")
	flag.DurationVar(&opts.retryPeriod, "leader-elect-retry-period", 2*time.Second,
		"How often the leader renews, and standbys try to acquire, the lease.")
	flag.StringVar(&opts.pprofAddr, "pprof-bind-address", "",
		"The address Go's pprof profiles are served on (for example 127.0.0.1:6060); empty serves none.")
	zapOpts := zap.Options{Development: true}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if err := checkFlags(opts, setFlags()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if len(opts.adminGroups) == 0 {
		opts.adminGroups = stringList{webhook.DefaultAdminGroup}
	}

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(opts); err != nil {
		setupLog.Error(err, "Manager exited with an error")
		os.Exit(1)
	}
}

// selfManagedCertFlags only mean something with --self-managed-certs.
var selfManagedCertFlags = []string{"cert-secret", "webhook-service", "webhook-dns-name", "webhook-config-prefix"}

// checkFlags refuses flag combinations that would be silently ignored: set names the flags given
// on the command line.
func checkFlags(opts options, set map[string]bool) error {
	if opts.webhookReusePort && opts.enableHTTP2 {
		return fmt.Errorf("--webhook-reuse-port serves HTTP/1.1 only: drop --enable-http2, or --webhook-reuse-port")
	}
	if opts.selfManagedCerts {
		return nil
	}
	for _, name := range selfManagedCertFlags {
		if set[name] {
			return fmt.Errorf("--%s only applies with --self-managed-certs: add --self-managed-certs, or drop --%s "+
				"(with cert-manager the certificate's names are set in its Certificate)", name, name)
		}
	}
	return nil
}

// setFlags names the flags given on the command line.
func setFlags() map[string]bool {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

func run(opts options) error {
	// HTTP/2 stays off unless asked for: it is exposed to the HTTP/2 Stream Cancellation and
	// Rapid Reset CVEs (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8).
	var tlsOpts []func(*tls.Config)
	if !opts.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}

	webhookServerOptions := ctrlwebhook.Options{Host: opts.webhookHost, Port: opts.webhookPort, TLSOpts: tlsOpts}
	var webhookCertWatcher, metricsCertWatcher *certwatcher.CertWatcher
	switch {
	case opts.selfManagedCerts:
		// The rotator keeps the certificate in a Secret that the pod mounts here; the webhook
		// server starts once the files are there, and reloads them when they change.
		webhookServerOptions.CertDir = cmp.Or(opts.webhookCertPath, selfManagedCertDir)
		webhookServerOptions.CertName, webhookServerOptions.KeyName = opts.webhookCertName, opts.webhookCertKey
	case opts.webhookCertPath != "":
		watcher, err := newCertWatcher(opts.webhookCertPath, opts.webhookCertName, opts.webhookCertKey)
		if err != nil {
			return err
		}
		webhookCertWatcher = watcher
		webhookServerOptions.TLSOpts = append(webhookServerOptions.TLSOpts, func(c *tls.Config) {
			c.GetCertificate = watcher.GetCertificate
		})
	}

	metricsServerOptions := metricsserver.Options{
		BindAddress:   opts.metricsAddr,
		SecureServing: opts.secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if opts.secureMetrics {
		// Only authenticated and authorised clients may read the metrics.
		metricsServerOptions.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	if opts.metricsCertPath != "" {
		watcher, err := newCertWatcher(opts.metricsCertPath, opts.metricsCertName, opts.metricsCertKey)
		if err != nil {
			return err
		}
		metricsCertWatcher = watcher
		metricsServerOptions.TLSOpts = append(metricsServerOptions.TLSOpts, func(c *tls.Config) {
			c.GetCertificate = watcher.GetCertificate
		})
	}

	shard, err := controllers.ParseShard(opts.watchLabelSelector)
	if err != nil {
		return err
	}
	restConfig := ctrl.GetConfigOrDie()
	lock, err := leaderLock(restConfig, opts.enableLeaderElection, leaderElectionID(shard))
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  controllers.CacheOptions(shard),
		PprofBindAddress:       opts.pprofAddr,
		Metrics:                metricsServerOptions,
		WebhookServer:          newWebhookServer(webhookServerOptions, opts.webhookReusePort),
		HealthProbeBindAddress: opts.probeAddr,
		LeaderElection:         opts.enableLeaderElection,
		LeaderElectionID:       leaderElectionID(shard),
		// The manager exits as soon as it stops, so the next leader need not wait for the lease
		// to expire.
		LeaderElectionReleaseOnCancel:       true,
		LeaseDuration:                       &opts.leaseDuration,
		RenewDeadline:                       &opts.renewDeadline,
		RetryPeriod:                         &opts.retryPeriod,
		LeaderElectionResourceLockInterface: lock,
	})
	if err != nil {
		return err
	}

	compiler, err := policy.NewCompiler()
	if err != nil {
		return err
	}
	// Events are written in the reconcile that announces them, never dropped under load (see
	// controllers.APIEventRecorder); the instance is the pod's name.
	hostname, _ := os.Hostname()
	recorder := controllers.NewAPIEventRecorder(mgr.GetClient(), mgr.GetScheme(), "greenlight",
		cmp.Or(os.Getenv("POD_NAME"), hostname), clock.RealClock{})
	notifyOptions := notify.DefaultOptions
	notifyOptions.AllowHTTP = opts.allowHTTPNotifications
	err = controllers.SetupWithManager(context.Background(), mgr, controllers.Options{
		Compiler: compiler, Recorder: recorder, Clock: clock.RealClock{}, Notify: notifyOptions,
		MaxConcurrentReconciles: opts.maxConcurrentReconciles, Shard: shard, Metrics: ctrlmetrics.Registry,
		AdmissionWebhooks: os.Getenv("ENABLE_WEBHOOKS") != "false",
	})
	if err != nil {
		return err
	}
	// Webhooks need serving certificates; `make run` against a cluster without them sets
	// ENABLE_WEBHOOKS=false (kubebuilder's convention).
	webhooksReady := healthz.Ping
	if os.Getenv("ENABLE_WEBHOOKS") != "false" {
		if webhooksReady, err = setupWebhooks(mgr, compiler, opts); err != nil {
			return err
		}
	}
	// +kubebuilder:scaffold:builder

	for _, watcher := range []*certwatcher.CertWatcher{metricsCertWatcher, webhookCertWatcher} {
		if watcher != nil {
			if err := mgr.Add(watcher); err != nil {
				return err
			}
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", webhooksReady); err != nil {
		return err
	}

	setupLog.Info("Starting manager")
	return mgr.Start(ctrl.SetupSignalHandler())
}

// leaderElectionID is the lease the manager's replicas elect a leader with: each shard has its
// own, so that every shard has a leader.
func leaderElectionID(shard labels.Selector) string {
	if shard == nil {
		return "greenlight.greenlight.dev"
	}
	// The parsed selector's canonical form: "key=shard1" and "key = shard1" share a lease.
	sum := sha256.Sum256([]byte(shard.String()))
	return fmt.Sprintf("greenlight-%x.greenlight.dev", sum[:6])
}

// setupWebhooks registers the admission webhooks, once certified with --self-managed-certs, and
// returns the readiness check that passes once they serve.
func setupWebhooks(mgr ctrl.Manager, compiler *policy.Compiler, opts options) (healthz.Checker, error) {
	managerUser, err := webhook.WhoAmI(context.Background(), mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	webhookOptions := webhook.Options{Compiler: compiler, AdminGroups: opts.adminGroups, Clock: clock.RealClock{},
		ManagerUser: managerUser}
	if opts.selfManagedCerts {
		return setupWebhooksWhenCertified(mgr, webhookOptions, opts)
	}
	if err := webhook.SetupWithManager(mgr, webhookOptions); err != nil {
		return nil, err
	}
	return mgr.GetWebhookServer().StartedChecker(), nil
}

// leaderLock returns, for a manager in a pod (POD_NAME and POD_NAMESPACE set by the manifests),
// a lease lock whose holder names the pod, so that `kubectl get lease` tells which replica leads
// even when replicas share a host name (host network). Elsewhere it returns nil: controller-runtime's
// default lock, holder host_uuid.
func leaderLock(cfg *rest.Config, enabled bool, name string) (resourcelock.Interface, error) {
	pod, namespace := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if !enabled || pod == "" || namespace == "" {
		return nil, nil
	}
	client, err := coordinationv1client.NewForConfig(rest.AddUserAgent(cfg, "leader-election"))
	if err != nil {
		return nil, err
	}
	return &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: namespace, Name: name},
		Client:     client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: pod + "_" + string(uuid.NewUUID())},
	}, nil
}

// newWebhookServer returns controller-runtime's webhook server, or with reusePort the same
// served on a port that replicas sharing the host network bind together.
func newWebhookServer(options ctrlwebhook.Options, reusePort bool) ctrlwebhook.Server {
	if reusePort {
		return reuseport.NewWebhookServer(options)
	}
	return ctrlwebhook.NewServer(options)
}

// selfManagedCertDir is where --self-managed-certs expects the certificate Secret mounted by default.
const selfManagedCertDir = "/tmp/k8s-webhook-server/serving-certs"

// setupWebhooksWhenCertified starts cert-controller's rotator, which creates and rotates the
// serving certificate in a Secret (which the pod mounts into the webhook server's directory) and
// injects its CA into the webhook configurations. The webhooks are registered (which starts the
// webhook server) once the mounted certificate files exist. The returned checker fails until they
// serve.
func setupWebhooksWhenCertified(mgr ctrl.Manager, webhookOptions webhook.Options, opts options) (healthz.Checker, error) {
	namespace := cmp.Or(os.Getenv("POD_NAMESPACE"), "greenlight-system")
	certified := make(chan struct{})
	err := rotator.AddRotator(mgr, &rotator.CertRotator{
		SecretKey:      types.NamespacedName{Namespace: namespace, Name: opts.certSecret},
		CertDir:        cmp.Or(opts.webhookCertPath, selfManagedCertDir),
		CertName:       opts.webhookCertName,
		KeyName:        opts.webhookCertKey,
		CAName:         "greenlight-ca",
		CAOrganization: "greenlight",
		DNSName:        fmt.Sprintf("%s.%s.svc", opts.webhookService, namespace),
		ExtraDNSNames:  opts.webhookDNSNames,
		IsReady:        certified,
		Webhooks: []rotator.WebhookInfo{
			{Name: opts.webhookConfigPrefix + "mutating-webhook-configuration", Type: rotator.Mutating},
			{Name: opts.webhookConfigPrefix + "validating-webhook-configuration", Type: rotator.Validating},
		},
		RequireLeaderElection: false, // every replica serves webhooks, so every replica needs the certificate
	})
	if err != nil {
		return nil, err
	}
	var registered atomic.Bool
	go func() {
		<-certified
		if err := webhook.SetupWithManager(mgr, webhookOptions); err != nil {
			setupLog.Error(err, "Failed to register the webhooks")
			os.Exit(1)
		}
		registered.Store(true)
		setupLog.Info("Registered the webhooks with the self-managed certificate")
	}()
	return func(req *http.Request) error {
		if !registered.Load() {
			return errors.New("waiting for the self-managed webhook certificate")
		}
		return mgr.GetWebhookServer().StartedChecker()(req)
	}, nil
}

// newCertWatcher watches a certificate and key in dir, so that rotated certificates are served
// without a restart.
func newCertWatcher(dir, certName, keyName string) (*certwatcher.CertWatcher, error) {
	setupLog.Info("Watching certificate", "path", dir, "certificate", certName, "key", keyName)
	return certwatcher.New(filepath.Join(dir, certName), filepath.Join(dir, keyName))
}
