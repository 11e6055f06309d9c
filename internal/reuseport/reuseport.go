// Package reuseport lets replicas that share one network namespace (pods on the host network of
// a local node) serve the same port: each binds it with SO_REUSEPORT and the kernel spreads new
// connections over the live ones, as a Service would spread them over pods. When a replica dies,
// the others keep serving the port.
package reuseport

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// Listen binds addr with SO_REUSEPORT.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var sockErr error
		if err := c.Control(func(fd uintptr) {
			sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return sockErr
	}}
	return lc.Listen(ctx, "tcp", addr)
}

// WebhookServer is controller-runtime's webhook server (its handlers, metrics and mux) served
// on a port bound with SO_REUSEPORT, with the certificate reloaded as it changes.
type WebhookServer struct {
	webhook.Server
	options webhook.Options
	started atomic.Bool
}

// NewWebhookServer returns a webhook server for options (Host, Port, CertDir, CertName, KeyName,
// TLSOpts) that shares its port with the other replicas on the host.
func NewWebhookServer(options webhook.Options) *WebhookServer {
	if options.Port == 0 {
		options.Port = webhook.DefaultPort
	}
	if options.CertName == "" {
		options.CertName = "tls.crt"
	}
	if options.KeyName == "" {
		options.KeyName = "tls.key"
	}
	return &WebhookServer{Server: webhook.NewServer(options), options: options}
}

// Start serves the registered webhooks until ctx ends.
func (s *WebhookServer) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("webhook-server")
	cfg := &tls.Config{NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	for _, opt := range s.options.TLSOpts {
		opt(cfg)
	}
	if cfg.GetCertificate == nil {
		dir := cmp.Or(s.options.CertDir, filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs"))
		watcher, err := certwatcher.New(filepath.Join(dir, s.options.CertName), filepath.Join(dir, s.options.KeyName))
		if err != nil {
			return err
		}
		go func() {
			if err := watcher.Start(ctx); err != nil {
				log.Error(err, "certificate watcher error")
			}
		}()
		cfg.GetCertificate = watcher.GetCertificate
	}
	if s.options.ClientCAName != "" {
		// As controller-runtime's server does: only clients with a certificate from this CA.
		if err := requireClientCerts(cfg, s.options); err != nil {
			return err
		}
	}
	addr := net.JoinHostPort(s.options.Host, strconv.Itoa(s.options.Port))
	ln, err := Listen(ctx, addr)
	if err != nil {
		return fmt.Errorf("binding the webhook server to %s with SO_REUSEPORT: %w", addr, err)
	}
	srv := &http.Server{Handler: s.WebhookMux(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		close(done)
	}()
	log.Info("Serving webhook server with SO_REUSEPORT", "address", addr)
	s.started.Store(true)
	if err := srv.Serve(tls.NewListener(ln, cfg)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}

// requireClientCerts makes cfg accept only clients whose certificate the CA in options'
// ClientCAName (in CertDir) signed.
func requireClientCerts(cfg *tls.Config, options webhook.Options) error {
	path := filepath.Join(cmp.Or(options.CertDir, filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs")),
		options.ClientCAName)
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return fmt.Errorf("reading the webhook server's client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return fmt.Errorf("the webhook server's client CA %s holds no PEM certificate", path)
	}
	cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	return nil
}

// StartedChecker is healthy once the server serves.
func (s *WebhookServer) StartedChecker() healthz.Checker {
	return func(*http.Request) error {
		if !s.started.Load() {
			return errors.New("the webhook server has not started yet")
		}
		return nil
	}
}

var _ webhook.Server = &WebhookServer{}
