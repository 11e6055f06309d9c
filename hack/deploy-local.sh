#!/usr/bin/env bash
# Deploys Greenlight from its image on a running local cluster (hack/local-cluster): imports the
# image into the node's containerd, applies config/local, rolls the manager when the image
# changed, and waits until the rollout is done and the webhooks answer an admission call.
#
# Usage: hack/deploy-local.sh CLUSTER_DIR   (from make deploy-local and make demo; KUSTOMIZE,
# KUBECTL and IMAGE, the image tarball, may be set)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:?usage: $0 CLUSTER_DIR}
KUSTOMIZE=${KUSTOMIZE:-"$root/bin/kustomize"}
KUBECTL=${KUBECTL:-kubectl}
IMAGE=${IMAGE:-"$root/bin/greenlight-image.tar"}
k() { "$KUBECTL" --kubeconfig "$dir/kubeconfig" "$@"; }

ctr --address "$dir/containerd/containerd.sock" -n k8s.io images import "$IMAGE" >/dev/null
"$KUSTOMIZE" build "$root/config/local" | k apply --server-side --force-conflicts -f - >/dev/null
# The tag stays greenlight:dev: the image's digest in the pod template rolls the manager when it changes.
digest=$(sha256sum "$IMAGE" | cut -c1-63)
k -n greenlight-system patch deployment greenlight-controller-manager --type=merge \
  -p "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"greenlight.dev/image-sha256\":\"$digest\"}}}}}" >/dev/null
k -n greenlight-system rollout status deployment/greenlight-controller-manager --timeout=180s

echo "Waiting for the webhooks to answer (a server-side dry run of the sample policy)"
policy="$root/config/samples/greenlight_v1alpha1_approvalpolicy.yaml"
for _ in $(seq 120); do
  if k create --dry-run=server -n default -f "$policy" >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
k create --dry-run=server -n default -f "$policy" # says why
