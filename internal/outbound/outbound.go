// Package outbound holds what Greenlight's HTTP clients share (notification delivery and the
// publisher): reading a Retry-After header with a cap, and describing a failed attempt in words
// that never contain the URL, a host or a credential.
package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RetryAfter reads a Retry-After header, in seconds or as an HTTP date (measured from now), and
// caps the wait at maxWait; it returns 0 when the header asks for no wait or cannot be read.
func RetryAfter(header string, now time.Time, maxWait time.Duration) time.Duration {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0
	}
	if seconds, err := strconv.ParseInt(header, 10, 64); err == nil {
		if seconds <= 0 {
			return 0
		}
		if seconds >= int64(maxWait/time.Second) {
			return maxWait
		}
		return time.Duration(seconds) * time.Second
	}
	if date, err := http.ParseTime(header); err == nil {
		if wait := date.Sub(now); wait > 0 {
			return min(wait, maxWait)
		}
	}
	return 0
}

// DescribeTransportError says why an attempt got no answer. It never returns err's text: a
// *url.Error quotes the URL, and the errors inside it name hosts and addresses.
//
// who names the remote side in the message ("the endpoint", "mastodon"); timeout is the
// attempt's time limit, named when it ran out.
func DescribeTransportError(err error, who string, timeout time.Duration) string {
	var (
		netErr      net.Error
		dnsErr      *net.DNSError
		hostnameErr x509.HostnameError
		authority   x509.UnknownAuthorityError
		invalidCert x509.CertificateInvalidError
		verifyErr   *tls.CertificateVerificationError
		recordErr   tls.RecordHeaderError
		alertErr    tls.AlertError
		errno       syscall.Errno
		urlErr      *url.Error
	)
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("the host name of %s could not be resolved", who)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("%s did not answer within %s", who, timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("%s refused the connection", who)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("%s reset the connection", who)
	case errors.As(err, &hostnameErr):
		return fmt.Sprintf("TLS error: the certificate of %s is not valid for its host name", who)
	case errors.As(err, &authority):
		return fmt.Sprintf("TLS error: the certificate of %s is signed by an unknown authority", who)
	case errors.As(err, &invalidCert):
		return fmt.Sprintf("TLS error: the certificate of %s is invalid or expired", who)
	case errors.As(err, &verifyErr):
		return fmt.Sprintf("TLS error: the certificate of %s could not be verified", who)
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Sprintf("TLS error: %s does not speak TLS", who)
	case errors.As(err, &alertErr):
		return fmt.Sprintf("TLS error: %s refused the TLS handshake", who)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("%s closed the connection without answering", who)
	case errors.As(err, &errno):
		return fmt.Sprintf("network error talking to %s: %s", who, errno.Error())
	case errors.As(err, &urlErr) && urlErr.Op != "":
		return fmt.Sprintf("network error talking to %s (%s)", who, strings.ToLower(urlErr.Op))
	default:
		return fmt.Sprintf("network error talking to %s", who)
	}
}

// Sleep waits for d, or until ctx ends (then it returns ctx's error): the wait between attempts.
func Sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
