package outbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"315360000", time.Minute},
		{"99999999999999999999", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(10 * 365 * 24 * time.Hour).Format(http.TimeFormat), time.Minute},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tc := range cases {
		t.Run(tc.header, func(t *testing.T) {
			NewWithT(t).Expect(RetryAfter(tc.header, now, time.Minute)).To(Equal(tc.want))
		})
	}
}

func TestDescribeTransportErrorNeverQuotesTheURL(t *testing.T) {
	secret := "https://hooks.example/T000/SECRET-PATH" //nolint:gosec // G101: a fake URL that must not leak
	for _, inner := range []error{context.DeadlineExceeded, syscall.ECONNREFUSED, errors.New("dial tcp 10.1.2.3:443: something")} {
		err := &url.Error{Op: "Post", URL: secret, Err: inner}
		got := DescribeTransportError(err, "the endpoint", 10*time.Second)
		NewWithT(t).Expect(got).NotTo(Or(ContainSubstring("SECRET"), ContainSubstring("hooks.example"), ContainSubstring("10.1.2.3")),
			fmt.Sprintf("%v", inner))
	}
	NewWithT(t).Expect(DescribeTransportError(&url.Error{Op: "Post", URL: secret, Err: syscall.ECONNREFUSED}, "mastodon", time.Second)).
		To(Equal("mastodon refused the connection"))
}
