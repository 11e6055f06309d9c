// Command kubectl-greenlight is the Greenlight kubectl plugin: reviewers approve, request changes
// and reject posts, see what waits on them and read a post's status and audit trail without ever
// writing a SignOff manifest; policy admins freeze and unfreeze publishing.
//
// Installed on PATH it runs as `kubectl greenlight ...`, with kubectl's own connection flags
// (--kubeconfig, --context, -n, --as, ...).
package main

import (
	"os"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	// controller-runtime's client logs nothing a person needs; without a logger it would warn.
	ctrllog.SetLogger(logr.Discard())
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(run(os.Args[1:], streams, time.Now, os.Getenv))
}
