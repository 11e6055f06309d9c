#!/usr/bin/env bash
# Runs Greenlight with the sample policy, post and sign-offs on a local single-node cluster
# (hack/local-cluster), deployed from its image (config/local), where the publish Jobs really run;
# with LIGHT=1 on a control plane only (kube-apiserver and etcd, no node), with the manager as a
# local process and the publisher run by hand, for machines that cannot host a node.
#
#   hack/demo.sh up     start it all, apply the samples, show them
#   hack/demo.sh down   stop what `up` started (by PID), restore the host, and remove its state
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
RECEIVER_ADDR=127.0.0.1:18090
# The publisher signs what it delivers with this secret; the demo's receiver checks it.
PUBLISH_SECRET=demo-signing-secret

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

# wait_for_long CMD... retries CMD for up to 90 seconds.
wait_for_long() {
  for _ in $(seq 180); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "timed out waiting for: $*" >&2
  return 1
}

# start NAME LOGFILE CMD... runs CMD in the background and records its PID and start time for
# `down`, written to a temporary file and renamed so that `down` never reads half a record.
start() {
  local name=$1 logfile=$2 pid
  shift 2
  "$@" >"$logfile" 2>&1 &
  pid=$!
  echo "$pid $(start_time "$pid")" >"$DEMO_DIR/run/$name.tmp"
  mv "$DEMO_DIR/run/$name.tmp" "$DEMO_DIR/run/$name"
}

# start_time PID prints when the process started (in clock ticks since boot, field 22 of
# /proc/PID/stat), so that a PID the kernel reused for another process is told apart.
start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  # The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  stat=${stat##*) }
  echo "$stat" | awk '{print $20}'
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

# as_user PERSON KUBECTL-ARGS... runs kubectl as one of the demo's people (their own kubeconfig).
as_user() { local person=$1; shift; "$KUBECTL" --kubeconfig "$DEMO_DIR/users/$person.kubeconfig" -n "$NAMESPACE" "$@"; }

# plugin PERSON ARGS... runs `kubectl greenlight` (the plugin, bin/kubectl-greenlight) as one of the
# demo's people, with their own kubeconfig.
plugin() {
  local person=$1
  shift
  local shown="" arg
  for arg in "$@"; do
    [[ "$arg" == *" "* ]] && arg="\"$arg\""
    shown+=" $arg"
  done
  echo "\$ kubectl greenlight$shown    # as $person"
  "$BIN/kubectl-greenlight" --kubeconfig "$DEMO_DIR/users/$person.kubeconfig" -n "$NAMESPACE" "$@"
}

# sign_off DEPARTMENT REVIEWER COMMENT approves the post for DEPARTMENT as REVIEWER with the
# plugin, which creates the SignOff (admission fills in the reviewer and the revision), waits
# for it to be counted and says what the post waits on now.
sign_off() {
  local department=$1 reviewer=$2 comment=$3
  plugin "$reviewer" approve "$POST" --department "$department" -m "$comment"
}

# attempt TITLE PERSON EDIT shows an attempt that admission must deny: PERSON applies the
# marketing sample SignOff, renamed and changed by the sed expression EDIT.
attempt() {
  local title=$1 person=$2 edit=$3 out
  log "$title"
  if out=$(sed -e "s/name: launch-teaser-marketing/name: forged-$person/" -e "$edit" \
    "$root/config/samples/greenlight_v1alpha1_signoff_marketing.yaml" | as_user "$person" create -f - 2>&1); then
    echo "UNEXPECTED: admission accepted it: $out" >&2
    return 1
  fi
  echo "$out"
}

down() {
  # The light demo's processes, the manager first, then the control plane it talks to; the node
  # demo's receiver.
  for name in receiver manager controlplane; do
    stop_pid "$name"
  done
  if [[ -f "$DEMO_DIR/host.json" ]]; then
    # The node demo's cluster: local-cluster stops what it started and restores the host.
    "$BIN/local-cluster" down -dir "$DEMO_DIR"
  fi
  rm -rf "$DEMO_DIR"
}

stop_pid() {
  local pidfile="$DEMO_DIR/run/$1" pid started
  [[ -f "$pidfile" ]] || return 0
  read -r pid started <"$pidfile"
  if [[ -z "$started" || "$(start_time "$pid")" != "$started" ]]; then
    # Gone, or the PID now belongs to another process: nothing of ours to stop.
    rm -f "$pidfile"
    return 0
  fi
  if kill -0 "$pid" 2>/dev/null; then
    echo "Stopping $1 (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

up() {
  down
  if [[ -z "${LIGHT:-}" ]]; then
    up_node
  else
    up_light
  fi
  review_and_publish
}

# up_node starts the local cluster in DEMO_DIR (its kubeconfigs land where the light demo puts
# them) and deploys Greenlight from its image, as a platform team would on a real cluster.
up_node() {
  log "Starting a local single-node cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubelet built from source; containerd)"
  "$BIN/local-cluster" up -dir "$DEMO_DIR" -assets "$BIN/controlplane" -pause-image "$BIN/pause-image.tar" \
    "$BIN/greenlight-image.tar"
  k get nodes
  mkdir -p "$DEMO_DIR/run"

  log "Deploying Greenlight from its image (config/local: two replicas with leader election)"
  KUSTOMIZE="$KUSTOMIZE" KUBECTL="$KUBECTL" IMAGE="$BIN/greenlight-image.tar" "$root/hack/deploy-local.sh" "$DEMO_DIR"
  k -n greenlight-system get pods,lease
}

up_light() {
  mkdir -p "$DEMO_DIR/run"

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

  log "Installing the roles for people (greenlight-author, -reviewer, -policy-admin, -viewer)"
  sed -E 's/^  name: (author|reviewer|policy-admin|viewer)$/  name: greenlight-\1/' "$root/config/rbac/people_roles.yaml" | k apply -f -

  log "Installing the admission policies that hold identity even without the webhooks"
  "$KUSTOMIZE" build "$root/config/admissionpolicy" | k apply -f -

  log "Starting the Greenlight manager as a local process (log: $DEMO_DIR/manager.log)"
  # shellcheck source=/dev/null
  source "$DEMO_DIR/webhook.env"
  start manager "$DEMO_DIR/manager.log" env KUBECONFIG="$DEMO_DIR/kubeconfig" "$BIN/manager" \
    --health-probe-bind-address="$PROBE_ADDR" --metrics-bind-address="$METRICS_ADDR" --metrics-secure=false \
    --webhook-host="$WEBHOOK_HOST" --webhook-port="$WEBHOOK_PORT" --webhook-cert-path="$WEBHOOK_CERT_DIR" \
    --allow-http-notifications
  if ! wait_for curl -sf "http://$PROBE_ADDR/readyz"; then
    cat "$DEMO_DIR/manager.log" >&2
    exit 1
  fi

}

review_and_publish() {
  log "Starting a stand-in chat webhook and publishing endpoint on $RECEIVER_ADDR (log: $DEMO_DIR/receiver.log)"
  start receiver "$DEMO_DIR/receiver.log" "$BIN/receiver" --listen "$RECEIVER_ADDR" --secret "$PUBLISH_SECRET"

  log "The platform team creates namespace $NAMESPACE, its role bindings, the chat Secret and the policy"
  k create namespace "$NAMESPACE"
  k create secret generic chat-webhook -n "$NAMESPACE" --from-literal=url="http://$RECEIVER_ADDR/"
  k create secret generic publisher-webhook -n "$NAMESPACE" \
    --from-literal=WEBHOOK_URL="http://$RECEIVER_ADDR/publish" --from-literal=WEBHOOK_SECRET="$PUBLISH_SECRET"
  k apply -n "$NAMESPACE" -f "$root/config/samples/people_rolebindings.yaml"
  k apply -n "$NAMESPACE" -f "$root/config/samples/greenlight_v1alpha1_approvalpolicy.yaml"
  if [[ -z "${LIGHT:-}" ]]; then
    # The receiver listens on the node's 127.0.0.1: the publish pods join the host's network.
    local patch="" channel
    for channel in mastodon linkedin; do
      patch+="{\"op\":\"add\",\"path\":\"/spec/publishing/channels/$channel/jobTemplate/spec/template/spec/hostNetwork\",\"value\":true},"
    done
    k patch approvalpolicy -n "$NAMESPACE" acme-brand --type=json -p "[${patch%,}]"
    echo "(the publish Jobs run on the host network, to reach the receiver on 127.0.0.1)"
    patch=""
    for channel in mastodon linkedin; do
      patch+="{\"op\":\"replace\",\"path\":\"/spec/publishing/channels/$channel/insights/after\",\"value\":[\"15s\",\"40s\"]},"
    done
    k patch approvalpolicy -n "$NAMESPACE" acme-brand --type=json -p "[${patch%,}]"
    echo "(insights 15 and 40 seconds after publishing instead of the sample's 1h, 24h and 168h)"
  fi
  # The sample's Deny window holds publishing from Friday 18:00 to Monday 08:00 (Berlin); the demo
  # drops it, so that the post publishes whatever the day.
  k patch approvalpolicy -n "$NAMESPACE" acme-brand --type=json -p '[{"op":"remove","path":"/spec/windows"}]'
  echo "(the demo drops the sample's weekend Deny window, so that the post publishes now)"

  log "dana (an author) applies the post"
  as_user dana apply -f "$root/config/samples/greenlight_v1alpha1_contentpost.yaml"
  wait_for phase_is InReview
  echo "created-by: $(post_field '{.metadata.annotations.greenlight\.dev/created-by}')"
  show_post

  log "carol (legal) looks at her queue: nothing waits on legal until stage brand is approved"
  plugin carol queue
  log "carol, who is in legal, tries to approve for marketing"
  if plugin carol approve "$POST" --department marketing; then
    echo "UNEXPECTED: admission accepted it" >&2
    return 1
  fi
  attempt "alice tries to sign off in bob's name (a hand-written SignOff: the plugin never sets a reviewer)" alice \
    "s/^spec:/spec:\n  reviewer: bob/"
  log "carol tries to approve for legal before stage brand is approved"
  if plugin carol approve "$POST" --department legal; then
    echo "UNEXPECTED: admission accepted it" >&2
    return 1
  fi

  # Each reviewer signs off with their own credentials; admission records who and on what.
  log "alice approves for marketing"
  sign_off marketing alice "On brand: colours and tone match the spring guide."
  log "bob approves for public-relations"
  sign_off public-relations bob "Fine for press: no embargoed claims."
  log "carol sees the post in her queue now, and approves for legal"
  plugin carol queue
  sign_off legal carol "Claims checked against the product sheet."
  show_post

  if [[ -z "${LIGHT:-}" ]]; then
    publish_on_node
  else
    publish_by_hand
  fi

  log "A flash sale with a 20-second review window: nobody reviews it"
  k apply -n "$NAMESPACE" -f "$root/hack/demo/flash-sales-policy.yaml"
  as_user dana apply -f "$root/hack/demo/flash-sale-post.yaml"
  echo "Waiting for its reminder and its deadline (about 20 seconds)..."
  POST=flash-sale wait_for_long phase_is Expired
  POST=flash-sale show_post
  echo
  k get post -n "$NAMESPACE" flash-sale -o jsonpath='{.status.conditions[?(@.type=="Stalled")].message}{"\n"}'

  log "What the chat webhook received (the sample policy posts Slack messages, the flash-sales policy JSON)"
  grep -v -e "publish:" -e "insights:" "$DEMO_DIR/receiver.log"

  log "kubectl get greenlight -A"
  k get greenlight -A

  log "The people's view: the post's status, the audit trail, the queue, the calendar and the report"
  plugin alice status "$POST"
  plugin carol history "$POST"
  plugin alice queue
  plugin dana calendar --month
  plugin dana calendar --ics "$DEMO_DIR/greenlight.ics" >/dev/null
  echo "(an iCalendar file for Google Calendar or Outlook: $DEMO_DIR/greenlight.ics)"
  plugin dana report --since 24h

  log "Greenlight is running. Try:"
  cat <<EOT
  export KUBECONFIG=$DEMO_DIR/kubeconfig            # cluster admin
  kubectl get greenlight -A
  kubectl --kubeconfig $DEMO_DIR/users/alice.kubeconfig -n $NAMESPACE get post   # as alice (marketing)
  kubectl describe post -n $NAMESPACE launch-teaser
  export PATH=$BIN:\$PATH                           # then kubectl finds the plugin:
  kubectl greenlight --kubeconfig $DEMO_DIR/users/carol.kubeconfig -n $NAMESPACE queue
  kubectl greenlight -n $NAMESPACE status launch-teaser
  make demo-down        # stop everything and remove $DEMO_DIR
EOT
}

# publish_by_hand shows the Jobs Greenlight created for the approved post and, since this control
# plane has no node to run them, runs the publisher by hand with one Job's env and content against
# the local receiver, which checks the signature.
publish_by_hand() {
  log "Approved: Greenlight records one Job per channel in the post's status, then creates them"
  wait_for phase_in Publishing Scheduled
  if ! phase_is Publishing; then
    echo "Held back: $(post_field '{.status.conditions[?(@.type=="Ready")].message}')"
    return
  fi
  show_post
  post_field '{range .status.channels[*]}  channel {.name}: Job {.job}, {.state}, attempt {.attempts}{"\n"}{end}'
  k get jobs -n "$NAMESPACE" -l greenlight.dev/post="$POST" -L greenlight.dev/channel,greenlight.dev/revision
  local job
  job=$(post_field '{.status.channels[?(@.name=="mastodon")].job}')
  wait_for k get job -n "$NAMESPACE" "$job"
  job_field() { k get job -n "$NAMESPACE" "$job" -o jsonpath="$1"; }
  echo "What Greenlight added to Job $job (the rest is the policy's template):"
  job_field '{range .spec.template.spec.containers[0].env[*]}  env {.name}={.value}{"\n"}{end}'
  job_field '{range .spec.template.spec.containers[0].volumeMounts[*]}  mount {.mountPath} from volume {.name} (read-only){"\n"}{end}'
  echo "  owner: $(job_field '{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')"

  log "This control plane has no node to run the Jobs, so we run the publisher by hand, as the Job would"
  local configmap
  configmap=$(job_field '{.spec.template.spec.volumes[?(@.name=="greenlight-post")].configMap.name}')
  k get configmap -n "$NAMESPACE" "$configmap" -o jsonpath='{.data.mastodon\.json}' >"$DEMO_DIR/post.json"
  echo "post.json (from immutable ConfigMap $configmap): $(cat "$DEMO_DIR/post.json")"
  env -i PATH="$PATH" GREENLIGHT_POST_FILE="$DEMO_DIR/post.json" \
    GREENLIGHT_CHANNEL="$(job_field '{.spec.template.spec.containers[0].env[?(@.name=="GREENLIGHT_CHANNEL")].value}')" \
    GREENLIGHT_IDEMPOTENCY_KEY="$(job_field '{.spec.template.spec.containers[0].env[?(@.name=="GREENLIGHT_IDEMPOTENCY_KEY")].value}')" \
    WEBHOOK_URL="http://$RECEIVER_ADDR/publish" WEBHOOK_SECRET="$PUBLISH_SECRET" \
    "$BIN/publisher" --driver=webhook --allow-http --termination-log="$DEMO_DIR/termination-log" >/dev/null
  echo "The publisher's termination message: $(cat "$DEMO_DIR/termination-log")"
  echo "What the receiver got:"
  grep "publish:" "$DEMO_DIR/receiver.log"
  echo "(On a real node the Job's pod does this, and the post becomes Published with that URL.)"
}

# publish_on_node shows the approved post published by the Jobs' pods on the node.
publish_on_node() {
  log "Approved: Greenlight records one Job per channel in the post's status, creates them, and the node runs them"
  wait_for phase_in Publishing Scheduled Published
  if phase_is Scheduled; then
    echo "Held back: $(post_field '{.status.conditions[?(@.type=="Ready")].message}')"
    return
  fi
  wait_for_long phase_in Published Failed
  show_post
  post_field '{range .status.channels[*]}  channel {.name}: Job {.job}, {.state}, attempt {.attempts}, {.url}{"\n"}{end}'
  k get jobs,pods -n "$NAMESPACE" -l greenlight.dev/post="$POST" -o wide
  echo "What the receiver got:"
  grep "publish:" "$DEMO_DIR/receiver.log"

  log "Insights: 15 and 40 seconds after publishing, one Job per channel asks the receiver how the post is doing"
  wait_for_long engagement_after 15s
  plugin dana status "$POST"
  wait_for_long engagement_after 40s
  echo "The figures grew (the receiver adds some at each request):"
  post_field '{range .status.channels[*]}  {.name}: {.engagement.likes} likes, {.engagement.shares} shares, {.engagement.replies} replies, {.engagement.impressions} impressions{"\n"}{end}'
  grep "insights:" "$DEMO_DIR/receiver.log"
}

# engagement_after OFFSET: every channel's insights Jobs up to OFFSET have reported.
engagement_after() {
  local offsets
  offsets=$(post_field '{range .status.channels[*]}[{.insights.lastOffset}]{end}')
  [[ -n "$offsets" && -z "${offsets//\[$1\]/}" ]]
}

phase_in() { local phase; phase=$(post_field '{.status.phase}'); for p in "$@"; do [[ "$phase" == "$p" ]] && return 0; done; return 1; }

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
