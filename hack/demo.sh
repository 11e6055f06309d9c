#!/usr/bin/env bash
# Runs Greenlight on a local control plane with the sample policy, post and sign-offs.
#
#   hack/demo.sh up     start the control plane and the manager, apply the samples, show them
#   hack/demo.sh down   stop what `up` started (by PID) and remove its state
#
# `make demo` and `make demo-down` call it with the tools they built.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO_DIR=${DEMO_DIR:-"$root/.demo"}
KUBECTL=${KUBECTL:-kubectl}
KUSTOMIZE=${KUSTOMIZE:-"$root/bin/kustomize"}
BIN=${BIN:-"$root/bin"}
NAMESPACE=demo
# Loopback-only ports for the manager, chosen away from the usual 8080/8081.
PROBE_ADDR=127.0.0.1:18081
METRICS_ADDR=127.0.0.1:18080

log() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

k() { "$KUBECTL" --kubeconfig "$DEMO_DIR/kubeconfig" "$@"; }

# wait_for CMD... retries CMD for up to 60 seconds.
wait_for() {
  for _ in $(seq 120); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "timed out waiting for: $*" >&2
  return 1
}

# start NAME LOGFILE CMD... runs CMD in the background and records its PID for `down`.
start() {
  local name=$1 logfile=$2
  shift 2
  "$@" >"$logfile" 2>&1 &
  echo $! >"$DEMO_DIR/pids/$name"
}

POST=launch-teaser

# `kubectl wait` fails outright on a CRD whose status has no conditions yet; poll instead.
crd_established() {
  [[ "$(k get crd "$1" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')" == True ]]
}

post_field() { k get post -n "$NAMESPACE" "$POST" -o jsonpath="$1"; }
phase_is() { [[ "$(post_field '{.status.phase}')" == "$1" ]]; }
post_changed_since() { [[ "$(post_field '{.metadata.resourceVersion}')" != "$1" ]]; }

# show_post prints the post's phase and each department's review.
show_post() {
  k get post -n "$NAMESPACE" "$POST"
  echo
  printf '%-18s %-12s %-18s %-14s %s\n' DEPARTMENT STAGE STATE APPROVED-BY REVISION
  post_field '{range .status.departments[*]}{.name}{"|"}{.stage}{"|"}{.state}{"|"}{.approvedBy}{"|"}{.revision}{"\n"}{end}' |
    while IFS="|" read -r name stage state approved rev; do
      printf '%-18s %-12s %-18s %-14s %s\n' "$name" "$stage" "$state" "${approved:--}" "${rev:0:19}"
    done
}

# sign_off DEPARTMENT REVIEWER applies the sample SignOff for DEPARTMENT as REVIEWER, for the
# revision the department currently reviews, and waits for the controller to count it. Until
# the admission webhooks record the reviewer from the authenticated user, the demo fills
# spec.reviewer and spec.revision itself.
sign_off() {
  local department=$1 reviewer=$2 revision before
  revision=$(post_field "{.status.departments[?(@.name=='$department')].revision}")
  before=$(post_field '{.metadata.resourceVersion}')
  sed -e "s/^spec:/spec:\n  reviewer: $reviewer\n  revision: \"$revision\"/" \
    "$root/config/samples/greenlight_v1alpha1_signoff_${department}.yaml" | k apply -n "$NAMESPACE" -f -
  wait_for post_changed_since "$before"
}

down() {
  if [[ -d "$DEMO_DIR/pids" ]]; then
    # The manager first, then the control plane it talks to.
    for name in manager controlplane; do
      local pidfile="$DEMO_DIR/pids/$name"
      [[ -f "$pidfile" ]] || continue
      local pid
      pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then
        echo "Stopping $name (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  fi
  rm -rf "$DEMO_DIR"
}

up() {
  down
  mkdir -p "$DEMO_DIR/pids"

  log "Starting a local control plane (kube-apiserver and etcd built from source)"
  start controlplane "$DEMO_DIR/controlplane.log" "$BIN/localcluster" --dir "$DEMO_DIR" --assets "$BIN/controlplane"
  if ! wait_for test -f "$DEMO_DIR/ready"; then
    cat "$DEMO_DIR/controlplane.log" >&2
    exit 1
  fi
  echo "API server at $(cat "$DEMO_DIR/ready"), kubeconfig $DEMO_DIR/kubeconfig"

  log "Installing the Greenlight CRDs"
  "$KUSTOMIZE" build "$root/config/crd" | k apply --server-side -f -
  for crd in contentposts approvalpolicies signoffs; do
    wait_for crd_established "$crd.greenlight.dev"
  done

  log "Starting the Greenlight manager as a local process (log: $DEMO_DIR/manager.log)"
  start manager "$DEMO_DIR/manager.log" env KUBECONFIG="$DEMO_DIR/kubeconfig" "$BIN/manager" \
    --health-probe-bind-address="$PROBE_ADDR" --metrics-bind-address="$METRICS_ADDR" --metrics-secure=false
  if ! wait_for curl -sf "http://$PROBE_ADDR/readyz"; then
    cat "$DEMO_DIR/manager.log" >&2
    exit 1
  fi

  log "Applying the sample policy and post in namespace $NAMESPACE"
  k create namespace "$NAMESPACE"
  k apply -n "$NAMESPACE" -f "$root/config/samples/greenlight_v1alpha1_approvalpolicy.yaml"
  k apply -n "$NAMESPACE" -f "$root/config/samples/greenlight_v1alpha1_contentpost.yaml"
  wait_for phase_is InReview
  show_post

  # Each reviewer signs off on the revision their department sees in the post's status.
  for signoff in marketing:alice public-relations:bob legal:carol; do
    department=${signoff%%:*} reviewer=${signoff##*:}
    log "$reviewer approves for $department"
    sign_off "$department" "$reviewer"
    show_post
  done

  log "kubectl get greenlight -A"
  k get greenlight -A

  log "Greenlight is running. Try:"
  cat <<EOT
  export KUBECONFIG=$DEMO_DIR/kubeconfig
  kubectl get greenlight -A
  kubectl describe post -n $NAMESPACE launch-teaser
  make demo-down        # stop everything and remove $DEMO_DIR
EOT
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
