#!/usr/bin/env bash
# Turnstile's main job: a local Kubernetes control plane (built on first run, then cached), Turnstile
# installed with `helm install charts/turnstile`, the manager running (on this host, as the chart's
# ServiceAccount, reached by the apiserver through the chart's webhook Service), the demo queue and a
# handful of Jobs, and a live view of them being admitted and completing.
#   bash scripts/demo.sh          start it (again: re-runs the Jobs)
#   bash scripts/demo.sh windows  the same set-up, then a night-only queue (TimeWindowPolicy, Drain)
#                                 with "nights" seconds long: a running Indexed Job is suspended at
#                                 the close and resumes at the reopen, keeping its succeeded pods
#   bash scripts/demo.sh down     stop what it started (the manager, the plane)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TURNSTILE_E2E_DIR="${TURNSTILE_DEMO_DIR:-${TMPDIR:-/tmp}/turnstile-demo}"
run_dir="${TURNSTILE_E2E_DIR}-manager"
ns=turnstile-system
webhook_port="${TURNSTILE_DEMO_WEBHOOK_PORT:-9443}"
visibility_port="${TURNSTILE_DEMO_VISIBILITY_PORT:-8082}"
health_addr="127.0.0.1:${TURNSTILE_DEMO_HEALTH_PORT:-8081}"
metrics_addr="127.0.0.1:${TURNSTILE_DEMO_METRICS_PORT:-8443}"

stop_manager() {
  local pid
  [[ -f "$run_dir/manager.pid" ]] || return 0
  pid="$(cat "$run_dir/manager.pid")"
  # Only the process this script started (checked by its command line), never by name.
  if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "turnstile.* manager"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$run_dir/manager.pid"
}

if [[ "${1:-up}" == "down" ]]; then
  stop_manager
  rm -rf "$run_dir"
  exec bash e2e/cluster.sh down
fi

echo "==> local control plane (the first run builds it from source: about 6 minutes)"
eval "$(bash e2e/cluster.sh up)"
kubectl="$TURNSTILE_E2E_BIN/kubectl"
helm="$TURNSTILE_E2E_BIN/helm"
mkdir -p "$run_dir"
export HELM_CACHE_HOME="$run_dir/helm/cache" HELM_CONFIG_HOME="$run_dir/helm/config" HELM_DATA_HOME="$run_dir/helm/data"

echo "==> building turnstile"
cargo build --locked -q -p turnstile

echo "==> helm install turnstile charts/turnstile (namespace $ns)"
# The chart as an admin installs it; for this demo the webhook Service points at this host
# (ExternalName localhost) because the manager runs here rather than in a container; so does the Service of
# Kueue's visibility API (`kubectl get --raw /apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/demo/pendingworkloads`).
started=$SECONDS
"$helm" upgrade --install turnstile charts/turnstile -n "$ns" --create-namespace \
  --set replicaCount=1 \
  --set webhookService.type=ExternalName --set webhookService.externalName=localhost \
  --set webhookService.port="$webhook_port" \
  --set visibility.service.type=ExternalName --set visibility.service.externalName=localhost \
  --set visibility.service.port="$visibility_port" --wait --timeout 120s
echo "    installed in $((SECONDS - started)) s"
"$kubectl" get deployment,serviceaccount,service,configmap -n "$ns"

echo "==> the manager, as the chart's ServiceAccount, with the chart's configuration"
stop_manager
bash e2e/tools/chart-manager-files.sh "$ns" "$run_dir" 24h
KUBECONFIG="$run_dir/kubeconfig" nohup ./target/debug/turnstile --log-format plain manager \
  --config "$run_dir/controller_manager_config.yaml" --namespace "$ns" --identity turnstile-demo \
  --webhook-addr "[::]:$webhook_port" --health-addr "$health_addr" --metrics-addr "$metrics_addr" --metrics-insecure \
  --visibility-addr "[::]:$visibility_port" \
  >"$run_dir/manager.log" 2>&1 &
echo $! >"$run_dir/manager.pid"
for _ in $(seq 120); do
  curl -sf "http://$health_addr/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "http://$health_addr/readyz" >/dev/null || { tail -20 "$run_dir/manager.log"; echo "manager not ready" >&2; exit 1; }
echo "    ready (log: $run_dir/manager.log)"

echo "==> demo queue (examples/demo-queue.yaml) and Jobs (examples/demo-jobs.yaml) in namespace default"
"$kubectl" apply --server-side --field-manager=turnstile-demo -n default -f examples/demo-queue.yaml
if [[ "${1:-up}" == "windows" ]]; then
  exec bash scripts/demo-windows.sh "$kubectl"
fi
"$kubectl" delete -n default -f examples/demo-jobs.yaml --ignore-not-found --wait=true >/dev/null
"$kubectl" create -n default -f examples/demo-jobs.yaml

echo "==> live view (every 2 s until every Job has completed)"
total="$(grep -c '^kind: Job' examples/demo-jobs.yaml)"
for _ in $(seq 90); do
  echo
  echo "--- $(date +%T)"
  "$kubectl" get jobs -n default -o custom-columns='JOB:.metadata.name,SUSPENDED:.spec.suspend,ACTIVE:.status.active,SUCCEEDED:.status.succeeded,NODE-SELECTOR:.spec.template.spec.nodeSelector'
  "$kubectl" get workloads -n default
  "$kubectl" get clusterqueue demo
  done_count="$("$kubectl" get jobs -n default -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Complete")].status}{"\n"}{end}' | grep -c True || true)"
  [[ "$done_count" -ge "$total" ]] && break
  sleep 2
done
echo
echo "==> $done_count of $total Jobs completed. Some metrics (http://$metrics_addr/metrics):"
curl -sf "http://$metrics_addr/metrics" | grep -E '^kueue_(admitted_workloads_total|finished_workloads_total|pending_workloads|admission_wait_time_seconds_count)' || true
cat <<EOT

Turnstile is running. Use the plane with:
  export KUBECONFIG=$KUBECONFIG
  $kubectl get clusterqueues,localqueues,workloads -A
  $kubectl create -n default -f examples/demo-jobs.yaml   # after deleting the finished ones
Stop everything (the manager and the plane) with: bash scripts/demo.sh down
EOT
