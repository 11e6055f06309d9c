#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries that envtest and the light demo run (kube-apiserver
# and etcd) from source, through the Go module proxy, into a directory that KUBEBUILDER_ASSETS
# points at; with --node also kube-controller-manager, kube-scheduler and kubelet, from the same
# pinned module, for the local cluster (hack/local-cluster). No release archive is downloaded: this project's machines reach only the module
# proxy and Debian's packages.
#
# The binaries are reused while the pinned modules (hack/controlplane, hack/etcd) and this script
# are unchanged, and rebuilt when any of them changes.
#
# Usage: hack/build-controlplane.sh [--node] [OUTPUT_DIR]   (default: bin/controlplane)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node=false
if [[ "${1:-}" == "--node" ]]; then
  node=true
  shift
fi
out=${1:-"$root/bin/controlplane"}
pins=("$root/hack/controlplane/go.mod" "$root/hack/controlplane/go.sum"
      "$root/hack/etcd/go.mod" "$root/hack/etcd/go.sum" "${BASH_SOURCE[0]}")
stamp=$(cat "${pins[@]}" | sha256sum | cut -c1-16)

k8s_version=$(go -C "$root/hack/controlplane" list -m -f '{{.Version}}' k8s.io/kubernetes)
# Without the version stamp kubectl and some clients cannot parse the server's version.
k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${k8s_version}"
mkdir -p "$out"

if [[ ! -x "$out/kube-apiserver" || ! -x "$out/etcd" || "$(cat "$out/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  rm -f "$out/.stamp"
  etcd_version=$(go -C "$root/hack/etcd" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
  echo "Building kube-apiserver ${k8s_version} from source (about 3 minutes the first time)"
  CGO_ENABLED=0 go -C "$root/hack/controlplane" build -trimpath -ldflags "$k8s_ldflags" \
    -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  echo "Building etcd ${etcd_version} from source"
  CGO_ENABLED=0 go -C "$root/hack/etcd" build -trimpath -ldflags "-s -w" \
    -o "$out/etcd" go.etcd.io/etcd/server/v3
  echo "$stamp" > "$out/.stamp"
  echo "Control plane ready in $out"
fi

if $node && [[ "$(cat "$out/.stamp-node" 2>/dev/null)" != "$stamp" ]]; then
  rm -f "$out/.stamp-node"
  echo "Building kube-controller-manager, kube-scheduler and kubelet ${k8s_version} from source (about 2 minutes the first time)"
  CGO_ENABLED=0 go -C "$root/hack/controlplane" build -trimpath -ldflags "$k8s_ldflags" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet
  echo "$stamp" > "$out/.stamp-node"
  echo "Node binaries ready in $out"
fi
