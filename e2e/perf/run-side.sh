#!/usr/bin/env bash
# One side of scripts/perf.sh: a fresh local plane, one manager (Turnstile or Kueue's real manager) as a host
# process, Kueue's scheduler-performance runner against it in existing-cluster mode, figures sampled at the end of
# the runner's recording, then the manager stopped and the plane brought down.
#   e2e/perf/run-side.sh turnstile|kueue DIR
# Settings come from the environment (scripts/perf.sh sets them):
#   PERF_GENERATOR      the runner's generator config (a file)
#   PERF_TIMEOUT        seconds from the runner's start; at that point the side is recorded as timed out
#   PERF_KUEUE_BUILD    the directory printed by e2e/perf/build-kueue.sh (kueue, runner, module dir)
#   PERF_TURNSTILE_BIN  the turnstile binary (Turnstile side)
#   PERF_QPS, PERF_BURST  client QPS/burst of the runner and of Kueue's manager
# Writes into DIR: side.env (figures for e2e/perf/summarise.py), metrics-{start,end}.txt (the manager's own),
# apiserver-{start,end}.txt (the apiserver's request counters), runner/ (summary.yaml, wlStates.csv, cqStates.csv),
# and the logs (manager.log, runner.log, plane logs under plane/logs until the plane is removed: copied to logs/).
# Exits non-zero when the side could not be run (plane, manager or runner failed to start); a run that does not
# finish within PERF_TIMEOUT is not a failure: it is recorded as timed out with what was admitted by then.
set -euo pipefail
side="$1" dir="$2"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
: "${PERF_GENERATOR:?}" "${PERF_TIMEOUT:?}" "${PERF_KUEUE_BUILD:?}" "${PERF_QPS:?}" "${PERF_BURST:?}"
ns=kueue-system
kueue_dir="$(cat "$PERF_KUEUE_BUILD/kueue-module-dir")"
runner_bin="$PERF_KUEUE_BUILD/bin/performance-scheduler-runner"
mkdir -p "$dir/runner" "$dir/logs"
env_out="$dir/side.env"
: >"$env_out"
put() { printf '%s=%s\n' "$1" "$2" >>"$env_out"; }
log() { printf '[perf %s %s] %s\n' "$side" "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; put error "$*"; exit 1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

manager_pid="" runner_pid=""
# Stops only what this script started (by recorded PID), then the plane (cluster.sh stops its recorded PIDs).
cleanup() {
  local rc=$?
  local pid
  for pid in "$runner_pid" "$manager_pid"; do
    [[ -n "$pid" ]] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ -d "$TURNSTILE_E2E_DIR/logs" ]]; then cp -r "$TURNSTILE_E2E_DIR/logs" "$dir/logs/plane" 2>/dev/null || true; fi
  bash e2e/cluster.sh down >/dev/null 2>&1 || log "warning: e2e/cluster.sh down failed for $TURNSTILE_E2E_DIR"
  exit "$rc"
}
export TURNSTILE_E2E_DIR="$dir/plane"
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

log "fresh plane in $TURNSTILE_E2E_DIR"
if ! plane_env="$(bash e2e/cluster.sh up 2>"$dir/logs/cluster-up.log")"; then
  tail -n 20 "$dir/logs/cluster-up.log" >&2
  die "the local plane did not start (log: $dir/logs/cluster-up.log)"
fi
eval "$plane_env"
kubectl="$TURNSTILE_E2E_BIN/kubectl"
helm="$TURNSTILE_E2E_BIN/helm"

# The manager's own requests, counted by the apiserver under FlowSchemas of their own (see flowschemas.yaml).
count_requests_of() {
  sed -e "s/MANAGER_SA/$1/g" -e "s/MANAGER_NS/$2/g" e2e/perf/flowschemas.yaml \
    | "$kubectl" apply -f - >"$dir/logs/flowschemas.log" 2>&1 || die "applying e2e/perf/flowschemas.yaml failed"
}
# token_kubeconfig SA NAMESPACE FILE: a kubeconfig that authenticates as the ServiceAccount with a token only (a
# client certificate next to it would make the apiserver see the plane's admin instead).
token_kubeconfig() {
  local server ca token
  server="$("$kubectl" config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$("$kubectl" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
  token="$("$kubectl" create token "$1" -n "$2" --duration=6h)"
  mkdir -p "$(dirname "$3")"
  cat >"$3" <<EOT
apiVersion: v1
kind: Config
clusters:
- name: plane
  cluster: {server: "$server", certificate-authority-data: "$ca"}
users:
- name: $1
  user: {token: "$token"}
contexts:
- name: $1
  context: {cluster: plane, user: $1}
current-context: $1
EOT
}
"$kubectl" apply -f e2e/perf/runner-rbac.yaml >"$dir/logs/runner-rbac.log" 2>&1 || die "applying e2e/perf/runner-rbac.yaml failed"
token_kubeconfig perf-runner default "$dir/runner-kubeconfig"
put manager_sa "$ns/$([[ "$side" == kueue ]] && echo kueue-controller-manager || echo turnstile-controller-manager)"

health_port="$(free_port)"
metrics_port="$(free_port)"
webhook_port="$(free_port)"
scrape_manager() { :; }

# wait_ready <url> <seconds>: true once the URL answers 2xx, false if the manager exited or time ran out.
wait_ready() {
  local url="$1" deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    curl -sf "$url" >/dev/null 2>&1 && return 0
    kill -0 "$manager_pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

case "$side" in
  turnstile)
    : "${PERF_TURNSTILE_BIN:?}"
    export HELM_CACHE_HOME="$dir/helm/cache" HELM_CONFIG_HOME="$dir/helm/config" HELM_DATA_HOME="$dir/helm/data"
    log "helm install turnstile charts/turnstile (CRDs, RBAC, webhook configurations; the Service points at this host)"
    "$helm" install turnstile charts/turnstile -n "$ns" --create-namespace -f e2e/perf/turnstile-values.yaml \
      --set webhookService.port="$webhook_port" --wait --timeout 180s >"$dir/logs/helm.log" 2>&1 \
      || die "helm install failed (log: $dir/logs/helm.log)"
    bash e2e/tools/chart-manager-files.sh "$ns" "$dir/manager" 6h
    count_requests_of turnstile-controller-manager "$ns"
    log "turnstile manager (release build, as the chart's ServiceAccount, the chart's configuration)"
    KUBECONFIG="$dir/manager/kubeconfig" "$PERF_TURNSTILE_BIN" --log-format plain manager \
      --config "$dir/manager/controller_manager_config.yaml" --namespace "$ns" --identity turnstile-perf \
      --webhook-addr "[::]:$webhook_port" --health-addr "127.0.0.1:$health_port" \
      --metrics-addr "127.0.0.1:$metrics_port" --metrics-insecure >"$dir/logs/manager.log" 2>&1 &
    manager_pid=$!
    wait_ready "http://127.0.0.1:$health_port/readyz" 120 \
      || { tail -n 30 "$dir/logs/manager.log" >&2; die "the Turnstile manager did not become ready"; }
    scrape_manager() { curl -sf "http://127.0.0.1:$metrics_port/metrics"; }
    put manager "turnstile $("$PERF_TURNSTILE_BIN" --version 2>/dev/null | awk '{print $NF}')"
    put manager_client "QPS 1000 / burst 2000 (clientConnection, e2e/perf/turnstile-values.yaml)"
    ;;
  kueue)
    log "Kueue's CRDs from its module ($(basename "$kueue_dir")), namespace $ns"
    "$kubectl" apply --server-side -f "$kueue_dir/config/components/crd/bases/" >"$dir/logs/crds.log" 2>&1 \
      || die "applying Kueue's CRDs failed (log: $dir/logs/crds.log)"
    "$kubectl" wait --for condition=established --timeout=60s crd --all >>"$dir/logs/crds.log" 2>&1 \
      || die "Kueue's CRDs not established"
    "$kubectl" create namespace "$ns" >/dev/null
    # The manager runs as a ServiceAccount of its own (bound to cluster-admin; Kueue's own RBAC is not installed),
    # with a token-only kubeconfig, so that the apiserver can tell its requests from the runner's.
    "$kubectl" create serviceaccount kueue-controller-manager -n "$ns" >/dev/null
    "$kubectl" create clusterrolebinding kueue-perf-manager --clusterrole=cluster-admin \
      --serviceaccount="$ns:kueue-controller-manager" >/dev/null
    count_requests_of kueue-controller-manager "$ns"
    token_kubeconfig kueue-controller-manager "$ns" "$dir/manager/kubeconfig"
    # Serving certificate for the webhooks (registered by URL, so an IP SAN) and for the metrics endpoint.
    pki="$dir/manager/pki"
    mkdir -p "$pki"
    cat >"$pki/openssl.cnf" <<'EOT'
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
subjectAltName = IP:127.0.0.1, DNS:localhost
EOT
    openssl genrsa -out "$pki/ca.key" 2048 2>/dev/null
    openssl req -config "$pki/openssl.cnf" -x509 -new -sha256 -days 7 -key "$pki/ca.key" \
      -subj "/CN=kueue-perf-ca" -extensions x_ca -out "$pki/ca.crt"
    openssl genrsa -out "$pki/tls.key" 2048 2>/dev/null
    openssl req -config "$pki/openssl.cnf" -new -sha256 -key "$pki/tls.key" -subj "/CN=kueue-webhook" -out "$pki/tls.csr"
    openssl x509 -req -sha256 -days 7 -in "$pki/tls.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -extfile "$pki/openssl.cnf" -extensions x_server -out "$pki/tls.crt" 2>/dev/null
    certs="$dir/manager/certs"
    mkdir -p "$certs"
    cp "$pki/tls.crt" "$pki/tls.key" "$certs/"
    python3 e2e/perf/kueue-manifests.py config "$kueue_dir" "$dir/manager/controller_manager_config.yaml" \
      --namespace "$ns" --webhook-port "$webhook_port" --health-port "$health_port" \
      --metrics-port "$metrics_port" --cert-dir "$certs" --qps "$PERF_QPS" --burst "$PERF_BURST"
    python3 e2e/perf/kueue-manifests.py webhooks "$kueue_dir" "$dir/manager/webhooks.json" \
      --port "$webhook_port" --ca "$pki/ca.crt"
    # The metrics endpoint authenticates with TokenReview and authorizes with SubjectAccessReview.
    "$kubectl" create serviceaccount perf-metrics-reader -n "$ns" >/dev/null
    "$kubectl" create clusterrole perf-metrics-reader --verb=get --non-resource-url=/metrics >/dev/null
    "$kubectl" create clusterrolebinding perf-metrics-reader --clusterrole=perf-metrics-reader \
      --serviceaccount="$ns:perf-metrics-reader" >/dev/null
    metrics_token="$("$kubectl" create token perf-metrics-reader -n "$ns" --duration=6h)"
    # With internalCertManagement off, Kueue's manager reads its metrics certificate from the fixed path
    # /etc/kueue/metrics/certs. The host stays untouched: the manager runs in a private mount namespace in which an
    # overlay over /etc (upper layer in DIR) holds that directory.
    ov="$dir/manager/etc-overlay"
    mkdir -p "$ov/upper/kueue/metrics/certs" "$ov/work"
    cp "$pki/tls.crt" "$pki/tls.key" "$ov/upper/kueue/metrics/certs/"
    log "Kueue's manager ($(cat "$PERF_KUEUE_BUILD/kueue-version")), webhooks by URL on 127.0.0.1:$webhook_port"
    # shellcheck disable=SC2016 # expanded by the inner shell
    KUBECONFIG="$dir/manager/kubeconfig" unshare --mount --propagation private sh -c \
      'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc || exit 97
       shift; exec "$@"' sh "$ov" \
      "$PERF_KUEUE_BUILD/bin/kueue" --config "$dir/manager/controller_manager_config.yaml" \
      --feature-gates=VisibilityOnDemand=false >"$dir/logs/manager.log" 2>&1 &
    manager_pid=$!
    if ! wait_ready "http://127.0.0.1:$health_port/readyz" 120; then
      tail -n 30 "$dir/logs/manager.log" >&2
      if ! kill -0 "$manager_pid" 2>/dev/null; then
        wait "$manager_pid" 2>/dev/null && rc=0 || rc=$?
        manager_pid=""
        ((rc != 97)) || die "could not give Kueue's manager a private mount namespace (unshare + overlay; needs root)"
      fi
      die "Kueue's manager did not become ready"
    fi
    "$kubectl" apply --server-side -f "$dir/manager/webhooks.json" >"$dir/logs/webhooks.log" 2>&1 \
      || die "registering Kueue's webhooks failed (log: $dir/logs/webhooks.log)"
    scrape_manager() {
      curl -sfk -H "Authorization: Bearer $metrics_token" "https://127.0.0.1:$metrics_port/metrics"
    }
    put manager "kueue $(cat "$PERF_KUEUE_BUILD/kueue-version")"
    put manager_client "QPS $PERF_QPS / burst $PERF_BURST"
    ;;
  *) die "unknown side $side (turnstile or kueue)" ;;
esac
put manager_pid "$manager_pid"

scrape_apiserver() {
  "$kubectl" get --raw /metrics 2>/dev/null \
    | grep -E '^(apiserver_request_total|apiserver_flowcontrol_dispatched_requests_total)\{' >"$dir/apiserver-$1.txt" \
    || put "${1}_apiserver_metrics_failed" 1
}
# sample start|end: the manager's /proc figures (CPU ticks = utime + stime of all its threads, peak and current RSS
# in KiB), its own metrics and the apiserver's request counters. The apiserver is read after the manager at the
# start and before it at the end, so that the requests a scrape of Kueue's authenticated metrics endpoint makes
# (TokenReview, SubjectAccessReview) fall outside the run.
sample() {
  local at="$1" rest
  put "${at}_epoch" "${EPOCHREALTIME/,/.}"
  [[ "$at" == start ]] || scrape_apiserver "$at"
  if stat_ok="$(cat "/proc/$manager_pid/stat" 2>/dev/null)"; then
    rest="${stat_ok##*) }"
    # shellcheck disable=SC2086 # fields of /proc/<pid>/stat after "(comm) "
    set -- $rest
    put "${at}_ticks" "$((${12} + ${13}))"
    put "${at}_hwm_kib" "$(awk '/^VmHWM:/ {print $2}' "/proc/$manager_pid/status")"
    put "${at}_rss_kib" "$(awk '/^VmRSS:/ {print $2}' "/proc/$manager_pid/status")"
  else
    put "${at}_manager_gone" 1
  fi
  scrape_manager >"$dir/metrics-$at.txt" 2>/dev/null || put "${at}_metrics_failed" 1
  [[ "$at" != start ]] || scrape_apiserver "$at"
}
put clk_tck "$(getconf CLK_TCK)"
put timeout_s "$PERF_TIMEOUT"

sleep 2
sample start
log "Kueue's scheduler-performance runner: $(basename "$(dirname "$PERF_GENERATOR")")/$(basename "$PERF_GENERATOR"), client QPS $PERF_QPS / burst $PERF_BURST, timeout ${PERF_TIMEOUT}s"
# The runner's own --timeout is later than ours, so that we stop it (SIGTERM) and it still writes its summary.
KUBECONFIG="$dir/runner-kubeconfig" PROJECT_DIR="$kueue_dir/Makefile" "$runner_bin" --o "$dir/runner" --generatorConfig "$PERF_GENERATOR" \
  --qps "$PERF_QPS" --burst "$PERF_BURST" --timeout "$((PERF_TIMEOUT + 600))s" --zap-log-level=info >"$dir/logs/runner.log" 2>&1 &
runner_pid=$!
t0=$SECONDS
put runner_start_epoch "${EPOCHREALTIME/,/.}"
outcome=""
last_report=$SECONDS
while :; do
  if grep -q 'Recorder done' "$dir/logs/runner.log"; then
    outcome=finished
    break
  fi
  if ! kill -0 "$runner_pid" 2>/dev/null; then
    outcome=runner-exited
    break
  fi
  if ! kill -0 "$manager_pid" 2>/dev/null; then
    outcome=manager-exited
    break
  fi
  if ((SECONDS - t0 >= PERF_TIMEOUT)); then
    outcome=timed-out
    break
  fi
  if ((SECONDS - last_report >= 60)); then
    last_report=$SECONDS
    log "$((SECONDS - t0)) s into the run"
  fi
  sleep 0.2
done
run_s=$((SECONDS - t0))
sample end
put outcome "$outcome"
put run_s "$run_s"
log "run ended after $run_s s: $outcome"
# The Workloads as the cluster has them now: admitted or finished (a check of the recorder's count, and the count
# that matters when the run was stopped early).
"$kubectl" get workloads.kueue.x-k8s.io -A -o \
  jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Admitted")].status}{" "}{.status.conditions[?(@.type=="Finished")].status}{"\n"}{end}' \
  >"$dir/workloads-at-end.txt" 2>/dev/null || true
put workloads_seen "$(grep -c . "$dir/workloads-at-end.txt" || true)"
put admitted_or_finished_now "$(grep -c True "$dir/workloads-at-end.txt" || true)"
[[ "$outcome" == finished || "$outcome" == runner-exited ]] || kill -TERM "$runner_pid" 2>/dev/null || true
# The runner writes summary.yaml and its CSVs, then tries to delete what it created (refused: runner-rbac.yaml).
deadline=$((SECONDS + 300))
while kill -0 "$runner_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
runner_rc=0
if kill -0 "$runner_pid" 2>/dev/null; then
  log "warning: the runner did not exit within 300 s; stopping it"
  kill -KILL "$runner_pid" 2>/dev/null || true
fi
wait "$runner_pid" 2>/dev/null || runner_rc=$?
runner_pid=""
put runner_rc "$runner_rc"
[[ -f "$dir/runner/summary.yaml" ]] || log "warning: the runner wrote no summary.yaml (log: $dir/logs/runner.log)"
case "$outcome" in
  manager-exited) die "the manager exited during the run (log: $dir/logs/manager.log)" ;;
  runner-exited) ((runner_rc == 0)) || die "the runner failed (exit code $runner_rc; log: $dir/logs/runner.log)" ;;
esac
kill -0 "$manager_pid" 2>/dev/null || die "the manager exited at the end of the run (log: $dir/logs/manager.log)"
