package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type entry struct {
	mode     int64
	uid, gid int
	dir      bool
	data     string
}

func readTar(t *testing.T, r io.Reader) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(epoch) {
			t.Errorf("%s: mtime %s, want the epoch", hdr.Name, hdr.ModTime)
		}
		got[hdr.Name] = entry{mode: hdr.Mode, uid: hdr.Uid, gid: hdr.Gid, dir: hdr.Typeflag == tar.TypeDir, data: string(data)}
	}
}

func TestLayer(t *testing.T) {
	tests := []struct {
		name    string
		files   []File
		want    map[string]entry
		wantErr string
	}{{
		name: "binaries and data with their directories, owned by root",
		files: []File{
			{Path: "/manager", Mode: 0o555, Data: []byte("m")},
			{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o444, Data: []byte("ca")},
		},
		want: map[string]entry{
			"manager":                           {mode: 0o555, uid: 0, gid: 0, data: "m"},
			"etc/":                              {mode: 0o755, uid: 0, gid: 0, dir: true},
			"etc/ssl/":                          {mode: 0o755, uid: 0, gid: 0, dir: true},
			"etc/ssl/certs/":                    {mode: 0o755, uid: 0, gid: 0, dir: true},
			"etc/ssl/certs/ca-certificates.crt": {mode: 0o444, uid: 0, gid: 0, data: "ca"},
		},
	}, {
		name:    "a relative path",
		files:   []File{{Path: "manager", Mode: 0o555}},
		wantErr: `image file "manager": the path must be absolute and clean`,
	}, {
		name:    "a path that climbs",
		files:   []File{{Path: "/etc/../manager", Mode: 0o555}},
		wantErr: `image file "/etc/../manager": the path must be absolute and clean`,
	}, {
		name:    "the root",
		files:   []File{{Path: "/", Mode: 0o555}},
		wantErr: `image file "/": the path must be absolute and clean`,
	}, {
		name:    "a path given twice",
		files:   []File{{Path: "/manager", Mode: 0o555}, {Path: "/manager", Mode: 0o444}},
		wantErr: `image file "/manager" is given twice`,
	}, {
		name:    "a file that is another file's directory",
		files:   []File{{Path: "/bin", Mode: 0o555}, {Path: "/bin/publisher", Mode: 0o555}},
		wantErr: `image file "/bin" is also the directory of another file`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layer, err := Layer(tt.files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := readTar(t, bytes.NewReader(layer))
			if len(got) != len(tt.want) {
				t.Errorf("layer holds %v, want %v", got, tt.want)
			}
			for n, w := range tt.want {
				if got[n] != w {
					t.Errorf("%s: %+v, want %+v", n, got[n], w)
				}
			}
		})
	}
}

func TestBuildWritesARunnableNonRootImage(t *testing.T) {
	spec := Spec{
		Entrypoint: []string{"/manager"},
		Files: []File{
			{Path: "/manager", Mode: 0o555, Data: []byte("manager binary")},
			{Path: "/publisher", Mode: 0o555, Data: []byte("publisher binary")},
		},
	}
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := Write(img, "greenlight:dev", file); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag("greenlight:dev")
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := tarball.ImageFromPath(file, &tag)
	if err != nil {
		t.Fatalf("the tarball does not load as greenlight:dev: %v", err)
	}
	cfg, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || strings.Join(cfg.Config.Entrypoint, " ") != "/manager" || cfg.OS != "linux" {
		t.Errorf("config: user %q, entrypoint %v, os %q; want 65532:65532, [/manager], linux",
			cfg.Config.User, cfg.Config.Entrypoint, cfg.OS)
	}
	layers, err := loaded.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want exactly one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	files := readTar(t, rc)
	for n, want := range map[string]string{"manager": "manager binary", "publisher": "publisher binary"} {
		if files[n].data != want || files[n].mode != 0o555 || files[n].uid != 0 || files[n].gid != 0 {
			t.Errorf("%s: %+v, want %q, mode 0555, owned by root", n, files[n], want)
		}
	}
	if !strings.Contains(files["etc/passwd"].data, "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user: %q", files["etc/passwd"].data)
	}

	again, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same inputs gave two digests, %s and %s: the build is not reproducible", d1, d2)
	}
}

func TestBuildNeedsAnEntrypoint(t *testing.T) {
	if _, err := Build(Spec{Files: []File{{Path: "/manager", Mode: 0o555}}}); err == nil {
		t.Fatal("an image without an entrypoint was built")
	}
}
