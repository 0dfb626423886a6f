#!/usr/bin/env bash
# Checks the Helm chart charts/turnstile:
#   - its generated files (templates/rbac.yaml, templates/webhooks.yaml, crds/) are up to date
#     (`turnstile chart --check`);
#   - `helm lint --strict` passes, with the default values and with charts/turnstile/tests/custom.values.yaml;
#   - `helm template` output equals the golden files charts/turnstile/tests/{default,custom}.golden.yaml.
#
#   bash scripts/check-chart.sh            check
#   bash scripts/check-chart.sh --update   rewrite the golden files (then review the diff)
#
# helm: $HELM, else $TURNSTILE_E2E_BIN/helm, else the test plane's cached build (e2e/tools/build.sh,
# which builds it on first use). turnstile: $TURNSTILE, else `cargo run -q -p turnstile --`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

update=false
case "${1:-}" in
  "") ;;
  --update) update=true ;;
  *)
    echo "usage: $0 [--update]" >&2
    exit 2
    ;;
esac

chart=charts/turnstile
tests="$chart/tests"

if [[ -n "${HELM:-}" ]]; then
  helm="$HELM"
elif [[ -n "${TURNSTILE_E2E_BIN:-}" ]]; then
  helm="$TURNSTILE_E2E_BIN/helm"
else
  helm="$(bash e2e/tools/build.sh)/bin/helm"
fi
[[ -x "$helm" ]] || { echo "check-chart: no helm binary at $helm" >&2; exit 1; }

turnstile() {
  if [[ -n "${TURNSTILE:-}" ]]; then
    "$TURNSTILE" "$@"
  else
    cargo run --locked -q -p turnstile -- "$@"
  fi
}

# Keep helm away from the user's helm configuration, cache and plugins.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HELM_CONFIG_HOME="$work/config" HELM_CACHE_HOME="$work/cache" HELM_DATA_HOME="$work/data"

echo "check-chart: generated files"
turnstile chart --out "$chart" --check

echo "check-chart: helm lint"
"$helm" lint --strict "$chart"
"$helm" lint --strict "$chart" -f "$tests/custom.values.yaml"

failed=0
# golden <name> [helm template args...]: compare (or rewrite) $tests/<name>.golden.yaml.
golden() {
  local name="$1"
  shift
  local want="$tests/$name.golden.yaml" got="$work/$name.yaml"
  "$helm" template turnstile "$chart" --namespace turnstile-system "$@" >"$got"
  if $update; then
    cp "$got" "$want"
    echo "check-chart: wrote $want"
  elif ! diff -u "$want" "$got"; then
    echo "check-chart: helm template output differs from $want (review, then: bash scripts/check-chart.sh --update)" >&2
    failed=1
  else
    echo "check-chart: $want matches"
  fi
}
golden default
golden custom -f "$tests/custom.values.yaml"
# What the goldens must keep (a review of a golden diff can miss a removal): the webhooks survive a
# node drain and the manager's RBAC names its own objects.
for need in "kind: PodDisruptionBudget" "podAntiAffinity:" "resourceNames:"; do
  grep -q "$need" "$tests/default.golden.yaml" || { echo "check-chart: default.golden.yaml lacks '$need'" >&2; failed=1; }
done
exit "$failed"
