package main

import (
	"slices"
	"strings"
	"testing"
)

func TestMountsUnder(t *testing.T) {
	mountinfo := strings.Join([]string{
		`22 1 0:21 / / rw - overlay overlay rw`,
		`30 22 0:30 / /work/main/.cluster/kubelet/root rw - ext4 /dev/vda rw`,
		`31 30 0:31 / /work/main/.cluster/kubelet/root/pods/x/volumes/kube-api-access rw - tmpfs tmpfs rw`,
		`32 22 0:32 / /work/main/.cluster-other rw - tmpfs tmpfs rw`,
		`33 22 0:33 / /run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw - overlay overlay rw`,
		`34 22 0:34 / /work/main/.cluster/with\040space rw - tmpfs tmpfs rw`,
		`35 22 0:35 / /var/lib/kubelet-not rw - tmpfs tmpfs rw`,
	}, "\n")
	got := mountsUnder(mountinfo, []string{"/work/main/.cluster", "/run/containerd", "/var/lib/kubelet"})
	want := []string{
		"/work/main/.cluster/kubelet/root/pods/x/volumes/kube-api-access",
		"/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs",
		"/work/main/.cluster/kubelet/root",
		"/work/main/.cluster/with space",
	}
	if !slices.Equal(got, want) {
		t.Errorf("mountsUnder:\n got %q\nwant %q (deepest first; a sibling with the same prefix is not under the root)", got, want)
	}
}

func TestJumpsTo(t *testing.T) {
	listing := strings.Join([]string{
		`-P INPUT ACCEPT`,
		`-N KUBE-FIREWALL`,
		`-N MINE`,
		`-A INPUT -j KUBE-FIREWALL`,
		`-A OUTPUT -j MINE`,
		`-A FORWARD -g KUBE-FIREWALL`,
		`-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -j DROP`,
	}, "\n")
	got := jumpsTo(listing, []string{"KUBE-FIREWALL"})
	want := [][]string{
		{"-A", "INPUT", "-j", "KUBE-FIREWALL"},
		{"-A", "FORWARD", "-g", "KUBE-FIREWALL"},
	}
	if len(got) != len(want) {
		t.Fatalf("jumpsTo: %q, want %q", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("rule %d: %q, want %q (only jumps into the added chains, never a rule of theirs or of the host's chains)", i, got[i], want[i])
		}
	}
}

func TestContainsPair(t *testing.T) {
	args := []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-address", "/x/containerd.sock", "-id", "y"}
	if !containsPair(args, "-address", "/x/containerd.sock") {
		t.Error("the shim of this containerd was not recognised")
	}
	if containsPair(args, "-address", "/run/containerd/containerd.sock") {
		t.Error("a shim of another containerd was taken for this cluster's")
	}
}
