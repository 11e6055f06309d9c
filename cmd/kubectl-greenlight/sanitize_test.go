package main

import (
	"reflect"
	"strings"
	"testing"

	"time"

	. "github.com/onsi/gomega"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"spring-launch", "spring-launch"},
		{"Grüße, 春", "Grüße, 春"},
		{"line one\nline two\r\tend", "line one line two  end"},
		{"x\x1b[8mhidden", "x?[8mhidden"},
		{"bell\x07 del\x7f c1\u009b", "bell? del? c1?"},
		{"evil\u202egnp.exe", "evil?gnp.exe"},
	} {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEverythingReadIsMadePrintable(t *testing.T) {
	g := NewWithT(t)
	post := failedPost()
	post.Spec.Campaign = "x\nReview\n└── stage compliance\x1b[8m"
	post.Labels = map[string]string{"brand": "acme\x1b[2J"}
	post.Status.Channels[0].URL = "https://social.example/\x1b]8;;https://evil.example\x07link"
	post.Status.Channels[1].Message = "401\r\x1b[1A\x1b[2Kapproved"

	makePrintable(reflect.ValueOf(post))

	g.Expect(post.Spec.Campaign).To(Equal("x Review └── stage compliance?[8m"))
	g.Expect(post.Labels).To(HaveKeyWithValue("brand", "acme?[2J"))
	var b strings.Builder
	g.Expect(renderStatus(&b, view{now: fixedNow, location: time.UTC}, post, nil)).To(Succeed())
	out := b.String()
	g.Expect(strings.ContainsRune(out, '\x1b')).To(BeFalse(), "no escape reaches the terminal: %q", out)
	g.Expect(strings.Count(out, "\nReview\n")).To(Equal(1), "no forged review tree:\n%s", out)
}
