#!/usr/bin/env bash
# For running the manager on this host as the Helm chart runs it in a pod: writes into DIR a kubeconfig that
# authenticates as the chart's ServiceAccount (a token from the TokenRequest API, valid for DURATION) and the
# chart's Kueue Configuration (controller_manager_config.yaml from the chart's ConfigMap).
#   e2e/tools/chart-manager-files.sh NAMESPACE DIR [DURATION]
# Uses $TURNSTILE_E2E_BIN/kubectl and the current KUBECONFIG (an admin of the plane). Used by scripts/demo.sh and
# e2e/kueue-conformance/run.sh.
set -euo pipefail
ns="$1" dir="$2" duration="${3:-24h}"
kubectl="$TURNSTILE_E2E_BIN/kubectl"
token="$("$kubectl" create token turnstile-controller-manager -n "$ns" --duration="$duration")"
server="$("$kubectl" config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
ca="$("$kubectl" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
mkdir -p "$dir"
cat >"$dir/kubeconfig" <<EOT
apiVersion: v1
kind: Config
clusters:
- name: plane
  cluster: {server: "$server", certificate-authority-data: "$ca"}
users:
- name: turnstile
  user: {token: "$token"}
contexts:
- name: turnstile
  context: {cluster: plane, user: turnstile}
current-context: turnstile
EOT
"$kubectl" get configmap turnstile-manager-config -n "$ns" \
  -o jsonpath='{.data.controller_manager_config\.yaml}' >"$dir/controller_manager_config.yaml"
