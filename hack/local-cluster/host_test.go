package main

import (
	"os"
	"path/filepath"
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

func TestStateDirRefusesTheRootAndHome(t *testing.T) {
	home, _ := os.UserHomeDir()
	for _, dir := range []string{"/", "/tmp", home, "/.."} {
		if _, err := stateDir(dir); err == nil {
			t.Errorf("stateDir(%q) was accepted: down would remove it", dir)
		}
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	got, err := stateDir(link)
	want, _ := filepath.EvalSymlinks(real)
	if err != nil || got != want {
		t.Errorf("stateDir(%q) = %q, %v; want the real path %q (mount points are listed by it)", link, got, err, want)
	}
}

func TestDownRemovesOnlyALocalClustersDirectory(t *testing.T) {
	dir := t.TempDir()
	if owned, err := checkOwned(dir); owned || err != nil {
		t.Errorf("an empty directory: owned %v, %v; want false, nil (up may use it)", owned, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := checkOwned(dir); err == nil {
		t.Error("a directory with someone's files was taken for a cluster's")
	}
	if err := down(config{dir: dir}); err == nil {
		t.Error("down removed a directory that is not a cluster's")
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("the file is gone: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, marker), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if owned, err := checkOwned(dir); !owned || err != nil {
		t.Errorf("with the marker: owned %v, %v; want true", owned, err)
	}
}
