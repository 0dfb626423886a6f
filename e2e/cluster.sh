#!/usr/bin/env bash
# A real, local Kubernetes control plane for Turnstile's tests (see e2e/README.md and design/testenv.md):
# etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok (fake nodes and pod lifecycle),
# all on loopback, built from pinned Go modules by e2e/tools/build.sh.
#
#   e2e/cluster.sh up       start the plane (idempotent), print the startup time and the env file
#   e2e/cluster.sh down     stop the recorded processes and remove the state
#   e2e/cluster.sh env      print the env file (KUBECONFIG, TURNSTILE_E2E_BIN, TURNSTILE_E2E_DIR)
#   e2e/cluster.sh status   say whether the plane is up
#   e2e/cluster.sh restart-apiserver [s]   SIGKILL kube-apiserver, keep it down s seconds (5), start it again
#
# State lives in ${TURNSTILE_E2E_DIR:-${TMPDIR:-/tmp}/turnstile-e2e}; etcd's data in /dev/shm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${TURNSTILE_E2E_DIR:-${TMPDIR:-/tmp}/turnstile-e2e}"
[[ "$state" == /* ]] || state="$PWD/$state"
state="${state%/}"
pids_file="$state/pids"
env_file="$state/env"
kubeconfig="$state/kubeconfig"

# Fake nodes: name and instance-type label (the ResourceFlavors in the tests select on instance-type).
nodes=(kwok-ondemand-0:on-demand kwok-ondemand-1:on-demand kwok-spot-0:spot kwok-spot-1:spot)

log() { printf '[cluster %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------------------------
# Processes. Each one runs under setsid in its own process group (pgid == pid) and is recorded in $pids_file as
# "name pid starttime" (starttime from /proc/<pid>/stat, to never signal a recycled pid).

# Prints the start time of a running process; fails if it does not exist or is a zombie.
proc_start_time() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  # shellcheck disable=SC2086 # word splitting wanted: fields of /proc/<pid>/stat after "(comm) "
  set -- $stat
  [[ "$1" != Z ]] || return 1
  echo "${20}"
}

# True if the recorded process is alive and is the one we started.
proc_is_ours() {
  local pid="$1" start="$2" cur
  cur="$(proc_start_time "$pid")" || return 1
  [[ "$cur" == "$start" ]]
}

# True if anything of the recorded process group is still running. A pgid cannot be reused while the group
# has members, so a live group whose leader is gone is still ours; a live leader must match its start time.
group_alive() {
  local pid="$1" start="$2"
  if [[ -e "/proc/$pid" ]]; then
    proc_is_ours "$pid" "$start"
  else
    kill -0 -- "-$pid" 2>/dev/null
  fi
}

spawn() {
  local name="$1"
  shift
  # fd 8 is our lock: the daemons must not inherit it.
  setsid "$@" >"$state/logs/$name.log" 2>&1 </dev/null 8>&- &
  local pid=$!
  disown "$pid"
  local start
  start="$(proc_start_time "$pid")" || die "$name exited immediately; see $state/logs/$name.log"
  echo "$name $pid $start" >>"$pids_file"
  local pgid
  pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
  [[ "$pgid" == "$pid" ]] || log "warning: $name (pid $pid) has pgid $pgid, not its own group"
}

# stop_entries <grace seconds> "<name> <pid> <start>"...: TERM the process groups, KILL what is left after the grace
# period, then wait (up to 10 s) until they are really gone.
stop_entries() {
  local grace="$1"
  shift
  (($# > 0)) || return 0
  local e name pid start left deadline
  for e in "$@"; do
    read -r name pid start <<<"$e"
    if group_alive "$pid" "$start"; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  local signal=KILL
  for deadline in $((SECONDS + grace)) $((SECONDS + grace + 10)); do
    while :; do
      left=()
      for e in "$@"; do
        read -r name pid start <<<"$e"
        if group_alive "$pid" "$start"; then left+=("$e"); fi
      done
      ((${#left[@]} > 0)) || return 0
      ((SECONDS < deadline)) || break
      sleep 0.1
    done
    [[ "$signal" == KILL ]] || break
    for e in "${left[@]}"; do
      read -r name pid start <<<"$e"
      log "killing $name (pgid $pid): still running ${grace}s after SIGTERM"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
    signal=none
  done
  log "warning: still running after SIGKILL: ${left[*]}"
  return 1
}

# Stops every recorded process group in three steps, so that nothing holds a request open on a server that is
# shutting down (kube-apiserver otherwise waits up to 60 s for in-flight requests): the clients (kwok,
# kube-scheduler, kube-controller-manager), then kube-apiserver, then etcd.
stop_recorded() {
  [[ -f "$pids_file" ]] || return 0
  local -a clients=() apiserver=() etcd=()
  local name pid start
  while read -r name pid start; do
    [[ -n "${start:-}" ]] || continue
    case "$name" in
      etcd) etcd+=("$name $pid $start") ;;
      kube-apiserver) apiserver+=("$name $pid $start") ;;
      *) clients+=("$name $pid $start") ;;
    esac
  done <"$pids_file"
  local ok=0
  stop_entries 5 "${clients[@]}" || ok=1
  stop_entries 3 "${apiserver[@]}" || ok=1
  stop_entries 5 "${etcd[@]}" || ok=1
  ((ok == 0)) || return 1
  # They are dead; give their parent (init, after up exited) a moment to reap the zombies, so that nothing of the
  # plane is left in the process table when down returns.
  local deadline=$((SECONDS + 3)) e stat
  for e in "${clients[@]}" "${apiserver[@]}" "${etcd[@]}"; do
    read -r name pid start <<<"$e"
    while stat="$(cat "/proc/$pid/stat" 2>/dev/null)" && [[ "${stat##*) }" == Z* ]] && ((SECONDS < deadline)); do
      sleep 0.05
    done
  done
  rm -f "$pids_file"
}

# True if every recorded process is alive.
all_alive() {
  [[ -s "$pids_file" ]] || return 1
  local name pid start
  while read -r name pid start; do
    proc_is_ours "$pid" "$start" || return 1
  done <"$pids_file"
}

api_url() { sed -n 's/^ *server: *//p' "$kubeconfig" | head -n1; }

readyz() {
  local url
  url="$(api_url)" || return 1
  [[ -n "$url" ]] || return 1
  [[ "$(curl -sS --max-time 3 --cacert "$state/pki/ca.crt" "$url/readyz" 2>/dev/null)" == ok ]]
}

is_up() { [[ -f "$env_file" ]] && all_alive && readyz; }

remove_state() {
  stop_recorded || die "could not stop every recorded process; state kept in $state"
  if [[ -f "$state/etcd-data-dir" ]]; then
    local d
    d="$(cat "$state/etcd-data-dir")"
    # Only ever remove a directory we created (mktemp pattern under /dev/shm).
    [[ "$d" == /dev/shm/turnstile-e2e-etcd[.-]* ]] && rm -rf -- "$d"
  fi
  rm -rf -- "$state"
}

# ---------------------------------------------------------------------------------------------------------------
# up

taken_ports=" "
# free_port <variable>: sets it to a random unprivileged loopback port that no socket uses and that we have not
# handed out yet.
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    [[ "$taken_ports" == *" $p "* ]] && continue
    if [[ -z "$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null)" ]]; then
      taken_ports+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "no free port found"
}

gen_pki() {
  local d="$state/pki"
  mkdir -p "$d"
  cat >"$d/openssl.cnf" <<'EOF'
[req]
distinguished_name = x_dn
prompt = no

[x_dn]
CN = unused

[x_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash

[x_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = @x_server_san

[x_server_san]
IP.1 = 127.0.0.1
IP.2 = 10.96.0.1
DNS.1 = localhost
DNS.2 = kubernetes
DNS.3 = kubernetes.default
DNS.4 = kubernetes.default.svc
DNS.5 = kubernetes.default.svc.cluster.local

[x_client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  local cnf="$d/openssl.cnf"
  openssl genrsa -out "$d/ca.key" 2048 2>/dev/null
  openssl req -config "$cnf" -x509 -new -sha256 -days 365 -key "$d/ca.key" -subj "/CN=turnstile-e2e-ca" \
    -extensions x_ca -out "$d/ca.crt"
  gen_leaf "$d" apiserver "/CN=kube-apiserver" x_server
  gen_leaf "$d" admin "/O=system:masters/CN=turnstile-e2e-admin" x_client
  # The front proxy (kube-apiserver's client identity towards aggregated API servers, such as the
  # visibility API): a CA of its own, as kubeadm sets it up.
  openssl genrsa -out "$d/front-proxy-ca.key" 2048 2>/dev/null
  openssl req -config "$cnf" -x509 -new -sha256 -days 365 -key "$d/front-proxy-ca.key" \
    -subj "/CN=turnstile-e2e-front-proxy-ca" -extensions x_ca -out "$d/front-proxy-ca.crt"
  gen_leaf "$d" front-proxy-client "/CN=front-proxy-client" x_client front-proxy-ca
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  chmod 600 "$d"/*.key
}

# gen_leaf <pki dir> <name> <subject> <extension section> [ca name]: a key and a certificate signed by
# the CA (ca, or the named one).
gen_leaf() {
  local d="$1" name="$2" subject="$3" ext="$4" ca="${5:-ca}"
  openssl genrsa -out "$d/$name.key" 2048 2>/dev/null
  openssl req -config "$d/openssl.cnf" -new -sha256 -key "$d/$name.key" -subj "$subject" -out "$d/$name.csr"
  openssl x509 -req -sha256 -days 365 -in "$d/$name.csr" -CA "$d/$ca.crt" -CAkey "$d/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "$d/openssl.cnf" -extensions "$ext" -out "$d/$name.crt" 2>/dev/null
  rm -f "$d/$name.csr"
}

write_kubeconfig() {
  local d="$state/pki" port="$1"
  cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: turnstile-e2e
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(base64 -w0 "$d/ca.crt")
users:
- name: turnstile-e2e-admin
  user:
    client-certificate-data: $(base64 -w0 "$d/admin.crt")
    client-key-data: $(base64 -w0 "$d/admin.key")
contexts:
- name: turnstile-e2e
  context:
    cluster: turnstile-e2e
    user: turnstile-e2e-admin
    namespace: default
current-context: turnstile-e2e
EOF
  chmod 600 "$kubeconfig"
}

# wait_for <seconds> <what> <command...>
wait_for() {
  local timeout="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $what"
    check_children
    sleep 0.2
  done
}

# Fails fast if a process we started has died.
check_children() {
  local name pid start
  while read -r name pid start; do
    proc_is_ours "$pid" "$start" || die "$name (pid $pid) exited; last log lines:
$(tail -n 20 "$state/logs/$name.log" 2>/dev/null)"
  done <"$pids_file"
}

kubectl_() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

nodes_ready() {
  local out
  out="$(kubectl_ get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{" "}{.spec.taints[*].key}{"\n"}{end}')" || return 1
  local n
  for n in "${nodes[@]}"; do
    grep -Eq "^${n%%:*} True *\$" <<<"$out" || return 1
  done
}

create_nodes() {
  local entry name type manifest=""
  for entry in "${nodes[@]}"; do
    name="${entry%%:*}"
    type="${entry#*:}"
    manifest+="---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    type: kwok
    instance-type: $type
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
spec: {}
status:
  allocatable: {cpu: \"16\", memory: 64Gi, pods: \"110\"}
  capacity: {cpu: \"16\", memory: 64Gi, pods: \"110\"}
"
  done
  kubectl_ create -f - <<<"$manifest" >/dev/null
}

up_failed=1
on_up_exit() {
  local rc=$?
  if ((up_failed)); then
    log "up failed (exit $rc); stopping what was started. Logs kept in $state/logs"
    stop_recorded || true
    if [[ -f "$state/etcd-data-dir" ]]; then
      local d
      d="$(cat "$state/etcd-data-dir")"
      [[ "$d" == /dev/shm/turnstile-e2e-etcd[.-]* ]] && rm -rf -- "$d"
      rm -f "$state/etcd-data-dir"
    fi
    rm -f "$env_file"
    ((rc != 0)) || rc=1
    exit "$rc"
  fi
}

# start_apiserver <etcd port> <secure port>: spawns kube-apiserver (used by up and restart-apiserver).
start_apiserver() {
  local pki="$state/pki"
  spawn kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$1" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$2" \
    --endpoint-reconciler-type=none \
    --authorization-mode=RBAC \
    --client-ca-file="$pki/ca.crt" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --allow-privileged=true \
    --requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$pki/front-proxy-client.crt" --proxy-client-key-file="$pki/front-proxy-client.key" \
    --profiling=false
}

cmd_up() {
  if [[ -d "$state" ]]; then
    if is_up; then
      log "already up in $state"
      cat "$env_file"
      return 0
    fi
    log "removing stale state in $state"
    remove_state
  fi

  local cache
  cache="$(bash "$here/tools/build.sh" | tail -n1)"
  bin="$cache/bin"
  local stages="$cache/kwok-stages"
  [[ -x "$bin/kube-apiserver" && -d "$stages/pod/general" ]] || die "build.sh returned an incomplete cache: $cache"

  trap on_up_exit EXIT
  trap 'exit 130' INT TERM HUP
  mkdir -p "$state/logs"
  : >"$pids_file"
  local t0
  t0="$(now)"

  local etcd_dir
  # The name carries the state dir's name, so one can tell whose data dir it is when several planes run.
  local tag
  tag="$(basename "$state" | tr -c 'A-Za-z0-9_.\n-' '_')"
  etcd_dir="$(mktemp -d "/dev/shm/turnstile-e2e-etcd-${tag}.XXXXXX")"
  echo "$etcd_dir" >"$state/etcd-data-dir"
  gen_pki
  local pki="$state/pki"

  local etcd_port etcd_peer api_port
  free_port etcd_port
  free_port etcd_peer
  free_port api_port
  echo "etcd=$etcd_port etcd-peer=$etcd_peer apiserver=$api_port" >"$state/ports"

  spawn etcd "$bin/etcd" --name=e2e --data-dir="$etcd_dir" --unsafe-no-fsync \
    --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
    --initial-cluster="e2e=http://127.0.0.1:$etcd_peer" --initial-cluster-state=new \
    --quota-backend-bytes=$((4 * 1024 * 1024 * 1024)) --log-level=warn
  wait_for 30 "etcd" "$bin/etcdctl" --endpoints="http://127.0.0.1:$etcd_port" --command-timeout=2s endpoint health

  start_apiserver "$etcd_port" "$api_port"
  write_kubeconfig "$api_port"
  wait_for 60 "kube-apiserver /readyz" readyz
  local t_api
  t_api="$(elapsed "$t0")"
  log "kube-apiserver ready after ${t_api}s on https://127.0.0.1:$api_port"

  spawn kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --use-service-account-credentials \
    --controllers='*,-nodeipam,-cloud-node-lifecycle'
  spawn kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
    --secure-port=0 --leader-elect=false

  # kwok: kwok's own node stages and every general pod stage except pod-complete, which is replaced by our copy
  # that leaves pods labelled e2e.turnstile.dev/fail=true to our pod-fail stage.
  local -a kwok_cfg=(
    --config="$stages/node/fast/node-initialize.yaml"
    --config="$stages/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"
  )
  local f
  for f in "$stages"/pod/general/pod-*.yaml; do
    [[ "$(basename "$f")" == pod-complete.yaml ]] && continue
    kwok_cfg+=(--config="$f")
  done
  for f in "$here"/kwok/*.yaml; do
    kwok_cfg+=(--config="$f")
  done
  spawn kwok "$bin/kwok" --kubeconfig="$kubeconfig" "${kwok_cfg[@]}" \
    --manage-all-nodes=true --node-lease-duration-seconds=40 --cidr=10.244.0.1/16

  create_nodes
  wait_for 90 "nodes Ready without the not-ready taint" nodes_ready
  wait_for 60 "ServiceAccount default/default" kubectl_ -n default get serviceaccount default

  cat >"$env_file" <<EOF
export KUBECONFIG=$kubeconfig
export TURNSTILE_E2E_BIN=$bin
export TURNSTILE_E2E_DIR=$state
EOF
  check_children
  up_failed=0
  trap - EXIT INT TERM HUP
  local total
  total="$(elapsed "$t0")"
  echo "$total" >"$state/startup-seconds"
  log "plane up: apiserver ready ${t_api}s, everything ready ${total}s"
  echo "# startup: ${total}s (kube-apiserver /readyz after ${t_api}s)"
  cat "$env_file"
}

# ---------------------------------------------------------------------------------------------------------------

cmd_down() {
  if [[ ! -d "$state" ]]; then
    log "nothing to stop ($state does not exist)"
    return 0
  fi
  remove_state
  log "stopped; removed $state"
}

# restart-apiserver [seconds down]: SIGKILLs kube-apiserver (a crash: in-flight requests and watches are cut),
# leaves it down for the given time (default 5 s), starts it again on the same port and waits for /readyz. The
# other components and every client reconnect on their own; used by the fault-injection tests.
cmd_restart_apiserver() {
  local down="${1:-5}"
  is_up || die "no plane is up in $state"
  bin="$(sed -n 's/^export TURNSTILE_E2E_BIN=//p' "$env_file")"
  local etcd_port api_port
  etcd_port="$(sed -n 's/.*etcd=\([0-9]*\).*/\1/p' "$state/ports")"
  api_port="$(sed -n 's/.*apiserver=\([0-9]*\).*/\1/p' "$state/ports")"
  [[ -n "$etcd_port" && -n "$api_port" ]] || die "ports not recorded in $state/ports"
  local name pid start
  read -r name pid start < <(grep '^kube-apiserver ' "$pids_file")
  [[ -n "${start:-}" ]] || die "kube-apiserver is not recorded in $pids_file"
  local t0
  t0="$(now)"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  while group_alive "$pid" "$start"; do sleep 0.05; done
  grep -v '^kube-apiserver ' "$pids_file" >"$pids_file.new" || true
  mv "$pids_file.new" "$pids_file"
  log "kube-apiserver killed; down for ${down}s"
  sleep "$down"
  start_apiserver "$etcd_port" "$api_port"
  wait_for 60 "kube-apiserver /readyz" readyz
  log "kube-apiserver back after $(elapsed "$t0")s"
}

cmd_env() {
  if [[ -f "$env_file" ]] && all_alive; then
    cat "$env_file"
  else
    echo "no Turnstile e2e plane is up in $state (run: e2e/cluster.sh up)" >&2
    exit 1
  fi
}

cmd_status() {
  if [[ -d "$state" ]] && is_up; then
    echo "up: $state ($(api_url))"
  else
    echo "down: no live plane in $state"
    exit 1
  fi
}

# Serializes up/down on one state dir (concurrent test processes may all call "up"). The lock file sits next to
# the state dir and is left in place: removing it would race with a waiter.
lock() {
  mkdir -p "$(dirname "$state")"
  exec 8>"$state.lock"
  flock 8
}

case "${1:-}" in
  up) lock && cmd_up ;;
  down) lock && cmd_down ;;
  restart-apiserver) lock && cmd_restart_apiserver "${2:-}" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up|down|env|status|restart-apiserver [seconds down]" >&2
    exit 2
    ;;
esac
