package reuseport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// TestTwoReplicasServeOnePort is what two manager pods on one host network do: both bind the
// port, and when one goes, the other still answers.
func TestTwoReplicasServeOnePort(t *testing.T) {
	ctx := context.Background()
	first, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := first.Addr().String()
	second, err := Listen(ctx, addr)
	if err != nil {
		t.Fatalf("a second replica could not bind %s: %v", addr, err)
	}
	defer func() { _ = second.Close() }()
	if plain, err := net.Listen("tcp", addr); err == nil {
		_ = plain.Close()
		t.Fatalf("a listener without SO_REUSEPORT could bind %s too: the option was not set", addr)
	}
	go serve(second, "second")
	_ = first.Close()
	for range 3 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("with the first replica gone, %s refused a connection: %v", addr, err)
		}
		got, _ := io.ReadAll(conn)
		_ = conn.Close()
		if string(got) != "second" {
			t.Errorf("answered %q, want the second replica", got)
		}
	}
}

func serve(l net.Listener, name string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte(name))
		_ = c.Close()
	}
}

func TestWebhookServerServesRegisteredHandlers(t *testing.T) {
	opts := envtest.WebhookInstallOptions{}
	if err := opts.PrepWithoutInstalling(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = opts.Cleanup() }()
	srv := NewWebhookServer(webhook.Options{Host: opts.LocalServingHost, Port: opts.LocalServingPort, CertDir: opts.LocalServingCertDir})
	srv.Register("/hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hi")) }))
	if srv.StartedChecker()(nil) == nil {
		t.Error("the server reported started before Start")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a test certificate
	url := "https://" + net.JoinHostPort(opts.LocalServingHost, strconv.Itoa(opts.LocalServingPort)) + "/hello"
	var body []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook server never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if string(body) != "hi" || srv.StartedChecker()(nil) != nil {
		t.Errorf("answered %q, started %v; want hi and started", body, srv.StartedChecker()(nil))
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Start returned %v after its context ended", err)
	}
}

func TestWebhookServerRequiresClientCertificatesWithAClientCA(t *testing.T) {
	opts := envtest.WebhookInstallOptions{}
	if err := opts.PrepWithoutInstalling(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = opts.Cleanup() }()
	options := webhook.Options{Host: opts.LocalServingHost, Port: opts.LocalServingPort, CertDir: opts.LocalServingCertDir}

	options.ClientCAName = "missing-ca.crt"
	// Without the check, Start would serve until this context ends and return no error.
	bounded, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := NewWebhookServer(options).Start(bounded); err == nil || !strings.Contains(err.Error(), "client CA") {
		t.Fatalf("Start with a client CA that does not exist returned %v; want an error about the client CA", err)
	}

	options.ClientCAName = "tls.crt"
	srv := NewWebhookServer(options)
	srv.Register("/hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hi")) }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Start returned %v after its context ended", err)
		}
	}()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a test certificate
	url := "https://" + net.JoinHostPort(opts.LocalServingHost, strconv.Itoa(opts.LocalServingPort)) + "/hello"
	deadline := time.Now().Add(10 * time.Second)
	for srv.StartedChecker()(nil) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the webhook server never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := client.Get(url)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("a client without a certificate was served; want the TLS handshake refused")
	}
}
