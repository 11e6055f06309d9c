package main

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestCheckFlagsRefusesSelfManagedCertFlagsWithoutSelfManagedCerts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    options
		set     map[string]bool
		wantErr string
	}{
		{name: "nothing set", set: map[string]bool{}},
		{name: "cert-manager flags only", set: map[string]bool{"webhook-cert-path": true}},
		{name: "a DNS name with self-managed certificates", opts: options{selfManagedCerts: true},
			set: map[string]bool{"self-managed-certs": true, "webhook-dns-name": true}},
		{name: "a DNS name alone", set: map[string]bool{"webhook-dns-name": true},
			wantErr: "--webhook-dns-name only applies with --self-managed-certs"},
		{name: "HTTP/2 on a shared port", opts: options{webhookReusePort: true, enableHTTP2: true},
			set:     map[string]bool{"webhook-reuse-port": true, "enable-http2": true},
			wantErr: "--webhook-reuse-port serves HTTP/1.1 only"},
		{name: "a certificate Secret alone", set: map[string]bool{"cert-secret": true},
			wantErr: "--cert-secret only applies with --self-managed-certs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := checkFlags(tc.opts, tc.set)
			if tc.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
		})
	}
}
