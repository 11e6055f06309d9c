#!/usr/bin/env bash
# Runs the end-to-end tests (test/e2e) against Greenlight deployed from its image on the local
# cluster: brings the cluster up, deploys (make deploy-local), runs the tests, and takes the cluster
# down again (E2E_KEEP=1 leaves it up for a look; a cluster that was already up stays up). A machine that cannot host a node (not Linux,
# not root) skips them with the reason, unless E2E=required (as in CI), which makes that an error.
#
# Usage: hack/test-e2e.sh [go test flags]   (from make test-e2e; make test-chaos and make chaos set
# E2E_TAGS="e2e chaos" and run TestChaos)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

reason=""
if [[ "$(uname -s)" != "Linux" ]]; then
  reason="a local node needs Linux, and this is $(uname -s)"
elif [[ "$(id -u)" != "0" ]]; then
  reason="a local node needs root (kubelet and containerd manage cgroups and mounts)"
fi
if [[ -n "$reason" ]]; then
  if [[ "${E2E:-}" == "required" ]]; then
    echo "E2E=required, but the end-to-end tests cannot run here: $reason" >&2
    exit 1
  fi
  echo "Skipping the end-to-end tests: $reason (set E2E=required to make this an error)"
  exit 0
fi

: "${CLUSTER_DIR:=$PWD/.cluster}"
: "${GOTESTSUM:=go run gotest.tools/gotestsum@v1.13.0}"
# A cluster that was already up (a developer's `make cluster-up`) is used and left up; one this
# script brings up is taken down again.
go build -o bin/local-cluster ./hack/local-cluster
if bin/local-cluster status -dir "$CLUSTER_DIR" >/dev/null 2>&1; then
  echo "Using the local cluster already up in $CLUSTER_DIR (it stays up)"
elif [[ "${E2E_KEEP:-}" != "1" ]]; then
  trap 'make --no-print-directory cluster-down CLUSTER_DIR="$CLUSTER_DIR"' EXIT
fi
start=$(date +%s)
make --no-print-directory deploy-local CLUSTER_DIR="$CLUSTER_DIR"
echo "Cluster up and Greenlight deployed in $(( $(date +%s) - start ))s"
E2E_CLUSTER_DIR="$CLUSTER_DIR" $GOTESTSUM --format "${GOTESTSUM_FORMAT:-pkgname}" -- -tags "${E2E_TAGS:-e2e}" -count=1 -timeout "${E2E_TIMEOUT:-15m}" "$@" ./test/e2e/...
