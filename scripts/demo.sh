#!/usr/bin/env bash
# Turnstile's main job on the embedded default: a local Kubernetes control plane (built on first
# run, then cached) with Turnstile's CRDs installed and a demo queue set up.
#   bash scripts/demo.sh          start it (or show it, if already running)
#   bash scripts/demo.sh down     stop it (only the processes it started)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TURNSTILE_E2E_DIR="${TURNSTILE_DEMO_DIR:-${TMPDIR:-/tmp}/turnstile-demo}"

if [[ "${1:-up}" == "down" ]]; then
  exec bash e2e/cluster.sh down
fi

echo "==> local control plane (the first run builds it from source: about 6 minutes)"
eval "$(bash e2e/cluster.sh up)"
kubectl="$TURNSTILE_E2E_BIN/kubectl"

echo "==> Turnstile CRDs (kueue.x-k8s.io/v1beta2)"
cargo build -q -p turnstile
./target/debug/turnstile crds --stdout | "$kubectl" apply --server-side --field-manager=turnstile -f -
"$kubectl" wait --for=condition=Established --timeout=60s crd \
  resourceflavors.kueue.x-k8s.io clusterqueues.kueue.x-k8s.io cohorts.kueue.x-k8s.io \
  localqueues.kueue.x-k8s.io workloads.kueue.x-k8s.io workloadpriorityclasses.kueue.x-k8s.io

echo "==> demo queue (examples/demo-queue.yaml)"
"$kubectl" apply --server-side --field-manager=turnstile-demo -n default -f examples/demo-queue.yaml

echo
"$kubectl" get nodes -L instance-type
echo
"$kubectl" get resourceflavors,clusterqueues,workloadpriorityclasses
echo
"$kubectl" get localqueues -n default
cat <<EOT

The plane is running. Use it with:
  export KUBECONFIG=$KUBECONFIG
  $kubectl get clusterqueues
The admission manager is not part of Turnstile yet (see docs/architecture.md): queued Jobs are
accepted but not admitted. Stop everything with: bash scripts/demo.sh down
EOT
