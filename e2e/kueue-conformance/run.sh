#!/usr/bin/env bash
# Kueue's own end-to-end suite (v0.19.2's test/e2e/singlecluster/baseline, built from its Go module by
# e2e/tools/kueue-e2e.sh), run unmodified against Turnstile on a fresh local plane:
#   - `helm install turnstile charts/turnstile -n kueue-system` with values.yaml (the manager's configuration);
#   - the manager started on the host as the chart's ServiceAccount with the chart's configuration, serving the
#     webhooks and the visibility API through the chart's Services and holding Kueue's leader Lease
#     (c1f6bfd2.kueue.x-k8s.io);
#   - scaffolding.yaml: the kueue-system objects the suite waits for before any spec (test scaffolding only);
#   - the suite with KUEUE_E2E_LABEL_FILTER (default below), its JSON report compared with expected-failures.txt.
# Fails on any unexpected failure and on any expected failure that now passes (the list only shrinks).
#   bash e2e/kueue-conformance/run.sh              # as scripts/test.sh runs it
#   KUEUE_E2E_FOCUS='partially admit' bash e2e/kueue-conformance/run.sh   # some specs only (no list check; same for KUEUE_E2E_LABEL_FILTER)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."
filter="${KUEUE_E2E_LABEL_FILTER:-feature:job || feature:cohort || feature:fairsharing || feature:kueuectl}"
expected="$here/expected-failures.txt"
ns=kueue-system
webhook_port="${KUEUE_E2E_WEBHOOK_PORT:-9443}"
visibility_port="${KUEUE_E2E_VISIBILITY_PORT:-18082}"
t0=$SECONDS

built="$(bash e2e/tools/kueue-e2e.sh)"
tree="$built/tree"
kueue_dir="$(cat "$built/kueue-module-dir")"

export TURNSTILE_E2E_DIR="${KUEUE_E2E_PLANE_DIR:-${TMPDIR:-/tmp}/turnstile-conformance-$$}"
work="$TURNSTILE_E2E_DIR-run"
rm -rf "$work" && mkdir -p "$work"
manager_pid=""
cleanup() {
  if [[ -n "$manager_pid" ]]; then
    kill "$manager_pid" 2>/dev/null || true
    wait "$manager_pid" 2>/dev/null || true
  fi
  bash e2e/cluster.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT
eval "$(bash e2e/cluster.sh up)"
kubectl="$TURNSTILE_E2E_BIN/kubectl"
helm="$TURNSTILE_E2E_BIN/helm"
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"

cargo build --locked -q -p turnstile
"$helm" install turnstile charts/turnstile -n "$ns" --create-namespace -f "$here/values.yaml" \
  --set webhookService.port="$webhook_port" --set visibility.service.port="$visibility_port" \
  --wait --timeout 120s >/dev/null
"$kubectl" apply --server-side -f "$here/scaffolding.yaml" >/dev/null

bash e2e/tools/chart-manager-files.sh "$ns" "$work" 4h
health="127.0.0.1:${KUEUE_E2E_HEALTH_PORT:-18081}"
KUBECONFIG="$work/kubeconfig" ./target/debug/turnstile --log-format plain manager \
  --config "$work/controller_manager_config.yaml" --namespace "$ns" --identity turnstile-conformance \
  --webhook-addr "[::]:$webhook_port" --health-addr "$health" --visibility-addr "[::]:$visibility_port" \
  --metrics-addr "127.0.0.1:${KUEUE_E2E_METRICS_PORT:-18443}" >"$work/manager.log" 2>&1 &
manager_pid=$!
for _ in $(seq 120); do
  curl -sf "http://$health/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "http://$health/readyz" >/dev/null || { tail -30 "$work/manager.log"; echo "manager not ready" >&2; exit 1; }

echo "==> Kueue's e2e suite ($(basename "$kueue_dir")), label filter: $filter"
args=(-ginkgo.label-filter="$filter" -ginkgo.json-report="$work/report.json" -ginkgo.timeout=40m
  -ginkgo.no-color -ginkgo.v)
[[ -z "${KUEUE_E2E_FOCUS:-}" ]] || args+=(-ginkgo.focus="$KUEUE_E2E_FOCUS")
set +e
(cd "$tree/test/e2e/singlecluster/baseline" && PROJECT_DIR="$kueue_dir/Makefile" ARTIFACTS="$work/artifacts" \
  ./baseline.test "${args[@]}") >"$work/suite.log" 2>&1
suite_rc=$?
set -e
echo "    suite exit code $suite_rc after $((SECONDS - t0)) s (log: $work/suite.log, manager log: $work/manager.log)"
[[ -f "$work/report.json" ]] || { tail -50 "$work/suite.log"; echo "no report written" >&2; exit 1; }
check=(python3 "$here/report.py" "$work/report.json")
[[ -n "${KUEUE_E2E_FOCUS:-}${KUEUE_E2E_LABEL_FILTER:-}" ]] || check+=("$expected")
if ! "${check[@]}"; then
  grep -E '^\s*\[FAILED\]|^\s*•\s*\[FAILED\]' "$work/suite.log" | head -40 || true
  if [[ -n "${KUEUE_E2E_KEEP_LOGS:-}" ]]; then cp "$work/suite.log" "$work/manager.log" "$KUEUE_E2E_KEEP_LOGS/"; fi
  exit 1
fi
