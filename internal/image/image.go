// Package image builds Greenlight's container images without Docker and without a base image:
// one layer holding static binaries, the CA roots and a passwd entry for the non-root user,
// written as a tarball that `ctr images import` (and `docker load`) reads.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// NonRoot is the user and group the image runs as (distroless's "nonroot"). Every file belongs
// to root and is read-only for others, so the running process cannot change its own binaries or
// CA roots.
const NonRoot = 65532

// CARootsPath is where the image holds the CA roots, where Go's crypto/x509 looks first on Linux.
const CARootsPath = "/etc/ssl/certs/ca-certificates.crt"

// File is one file of the image's layer.
type File struct {
	// Path is the absolute path in the image.
	Path string
	// Mode is the permission bits (0555 for a binary, 0444 for data).
	Mode int64
	// Data is the content.
	Data []byte
}

// Spec says what an image holds and how it runs.
type Spec struct {
	Files      []File
	Entrypoint []string
	// Env is KEY=VALUE pairs for the config.
	Env []string
}

// epoch is every timestamp in the image, so that the same inputs give the same digest.
var epoch = time.Unix(0, 0).UTC()

// Build returns the image for spec: one layer on an empty base, run as NonRoot.
func Build(spec Spec) (v1.Image, error) {
	if len(spec.Entrypoint) == 0 {
		return nil, fmt.Errorf("the image needs an entrypoint")
	}
	files := append([]File{
		{Path: "/etc/passwd", Mode: 0o444, Data: []byte(fmt.Sprintf("nonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRoot, NonRoot))},
		{Path: "/etc/group", Mode: 0o444, Data: []byte(fmt.Sprintf("nonroot:x:%d:\n", NonRoot))},
	}, spec.Files...)
	layerTar, err := Layer(files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config.Entrypoint = spec.Entrypoint
	cfg.Config.User = fmt.Sprintf("%d:%d", NonRoot, NonRoot)
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = append([]string{"PATH=/", "SSL_CERT_FILE=" + CARootsPath}, spec.Env...)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: epoch})
}

// Layer returns an uncompressed tar of files with their parent directories, owned by root,
// sorted by path and stamped with the epoch.
func Layer(files []File) ([]byte, error) {
	byPath := map[string]File{}
	dirs := map[string]bool{}
	for _, f := range files {
		clean := path.Clean(f.Path)
		if !path.IsAbs(f.Path) || clean == "/" || clean != f.Path {
			return nil, fmt.Errorf("image file %q: the path must be absolute and clean, like /manager", f.Path)
		}
		if _, dup := byPath[clean]; dup {
			return nil, fmt.Errorf("image file %q is given twice", f.Path)
		}
		byPath[clean] = f
		for d := path.Dir(clean); d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		if _, clash := byPath[d]; clash {
			return nil, fmt.Errorf("image file %q is also the directory of another file", d)
		}
	}
	var names []string
	for d := range dirs {
		names = append(names, d)
	}
	for p := range byPath {
		names = append(names, p)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		hdr := &tar.Header{
			Name: strings.TrimPrefix(n, "/"), Uid: 0, Gid: 0, ModTime: epoch, Format: tar.FormatPAX,
		}
		f, isFile := byPath[n]
		if isFile {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, f.Mode, int64(len(f.Data))
		} else {
			hdr.Typeflag, hdr.Mode, hdr.Name = tar.TypeDir, 0o755, hdr.Name+"/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if isFile {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes img as a tarball tagged tag (for example greenlight:dev) to file.
func Write(img v1.Image, tag, file string) error {
	ref, err := name.NewTag(tag, name.WithDefaultRegistry("docker.io"))
	if err != nil {
		return fmt.Errorf("image tag %q: %w", tag, err)
	}
	tmp := file + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
