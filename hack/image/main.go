// Command image builds a container image tarball without Docker or a registry (internal/image):
// `make image` builds Greenlight's (the manager as entrypoint, the publisher beside it, the CA
// roots) and the local cluster's sandbox ("pause") image with it.
//
// Usage: image -tag greenlight:dev -out bin/greenlight-image.tar -entrypoint /manager \
//
//	-file bin/manager:/manager -file bin/publisher:/publisher -ca-roots
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/greenlight-operator/greenlight/internal/image"
)

type fileFlags []string

func (f *fileFlags) String() string     { return strings.Join(*f, ",") }
func (f *fileFlags) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run() error {
	var files fileFlags
	tag := flag.String("tag", "", "the image's name and tag, for example greenlight:dev")
	out := flag.String("out", "", "the tarball to write")
	entrypoint := flag.String("entrypoint", "", "the path in the image that runs first")
	caRoots := flag.Bool("ca-roots", false, "add this machine's CA roots at "+image.CARootsPath)
	caFile := flag.String("ca-file", "/etc/ssl/certs/ca-certificates.crt", "where this machine keeps its CA roots")
	flag.Var(&files, "file", "SRC:DST, a binary to add (mode 0555); repeatable")
	flag.Parse()
	if *tag == "" || *out == "" || *entrypoint == "" || len(files) == 0 {
		return fmt.Errorf("-tag, -out, -entrypoint and at least one -file are required")
	}
	spec := image.Spec{Entrypoint: []string{*entrypoint}}
	for _, f := range files {
		src, dst, ok := strings.Cut(f, ":")
		if !ok {
			return fmt.Errorf("-file %q: want SRC:DST", f)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		spec.Files = append(spec.Files, image.File{Path: dst, Mode: 0o555, Data: data})
	}
	if *caRoots {
		data, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("reading the CA roots (install Debian's ca-certificates, or pass -ca-file): %w", err)
		}
		spec.Files = append(spec.Files, image.File{Path: image.CARootsPath, Mode: 0o444, Data: data})
	}
	img, err := image.Build(spec)
	if err != nil {
		return err
	}
	if err := image.Write(img, *tag, *out); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s (%s)\n", *out, *tag, digest)
	return nil
}
