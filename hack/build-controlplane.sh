#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries that envtest and `make demo` run (kube-apiserver
# and etcd) from source, through the Go module proxy, into a directory that KUBEBUILDER_ASSETS
# points at. No release archive is downloaded: this project's machines reach only the module
# proxy and Debian's packages.
#
# The binaries are reused while the pinned modules (hack/controlplane, hack/etcd) and this script
# are unchanged, and rebuilt when any of them changes.
#
# Usage: hack/build-controlplane.sh [OUTPUT_DIR]   (default: bin/controlplane)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-"$root/bin/controlplane"}
pins=("$root/hack/controlplane/go.mod" "$root/hack/controlplane/go.sum"
      "$root/hack/etcd/go.mod" "$root/hack/etcd/go.sum" "${BASH_SOURCE[0]}")
stamp=$(cat "${pins[@]}" | sha256sum | cut -c1-16)

if [[ -x "$out/kube-apiserver" && -x "$out/etcd" && "$(cat "$out/.stamp" 2>/dev/null)" == "$stamp" ]]; then
  exit 0
fi

mkdir -p "$out"
rm -f "$out/.stamp"
k8s_version=$(go -C "$root/hack/controlplane" list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd_version=$(go -C "$root/hack/etcd" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)

# Without the version stamp kubectl and some clients cannot parse the server's version.
echo "Building kube-apiserver ${k8s_version} from source (about 3 minutes the first time)"
CGO_ENABLED=0 go -C "$root/hack/controlplane" build -trimpath \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=${k8s_version}" \
  -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver

echo "Building etcd ${etcd_version} from source"
CGO_ENABLED=0 go -C "$root/hack/etcd" build -trimpath -ldflags "-s -w" \
  -o "$out/etcd" go.etcd.io/etcd/server/v3

echo "$stamp" > "$out/.stamp"
echo "Control plane ready in $out"
