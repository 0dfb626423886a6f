#!/usr/bin/env bash
# Turnstile's whole test suite, as CI runs it (`.ci/run` calls this):
#   static checks (fmt, clippy, core boundary, CRD drift), unit tests (with the Kueue schema-parity
#   check), the manager image (scripts/check-image.sh: static build, OCI image by umoci, config and
#   reproducibility checks, run under runc), then the end-to-end tests on a real control plane that
#   this script builds (if not cached), starts on loopback in its own state dir, and stops again on
#   exit; the Helm chart check (scripts/check-chart.sh) runs once the plane's binaries (helm among them)
#   are built; last, Kueue's own e2e suite built from its Go module runs against Turnstile on a fresh
#   plane (e2e/kueue-conformance/run.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$SECONDS
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - t0))" "$*"; }

step "toolchain"
if command -v rustup >/dev/null; then
  for c in rustfmt clippy; do
    rustup component list --installed | grep -q "^$c" || rustup component add "$c"
  done
fi
cargo --version; go version

step "dependency set: Cargo.lock is committed and current (every cargo call below is --locked)"
cargo metadata --locked --format-version 1 >/dev/null

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "turnstile-core dependency boundary"
bash scripts/check-core-boundary.sh

step "generated CRDs are up to date"
cargo run --locked -q -p turnstile -- crds --check --out crds

step "shell scripts"
if command -v shellcheck >/dev/null; then
  # SC1007: `GOFLAGS= go ...` deliberately empties a variable for one command.
  shellcheck -S warning -e SC1007 scripts/*.sh e2e/cluster.sh e2e/tools/*.sh e2e/kueue-conformance/run.sh e2e/perf/*.sh .ci/run
else
  echo "shellcheck not installed; skipped"
fi

step "unit tests (with schema parity against Kueue's published CRDs)"
KUEUE_CRD_DIR="$(bash e2e/tools/kueue-crds.sh)"
export KUEUE_CRD_DIR
cargo test --locked --workspace --exclude turnstile-e2e

step "manager image: static build, OCI layout (umoci), config, reproducibility, run under runc"
bash scripts/check-image.sh

step "control plane: build (cached under \$HOME) and start"
bash e2e/tools/build.sh >/dev/null
export TURNSTILE_E2E_DIR="${TMPDIR:-/tmp}/turnstile-test-$$"
trap 'bash e2e/cluster.sh down >/dev/null 2>&1 || true' EXIT
bash e2e/cluster.sh up

step "Helm chart: generated files, lint, golden template output"
TURNSTILE_E2E_BIN="$(bash e2e/tools/build.sh)/bin" bash scripts/check-chart.sh

step "end-to-end tests"
cargo build --locked -p turnstile -p turnstile-e2e --tests
# kueuectl (for the visibility test's POSITION column), from Kueue's Go module; cached, and used
# again by Kueue's e2e suite below.
TURNSTILE_E2E_KUEUECTL="$(bash e2e/tools/kueue-e2e.sh | tail -n1)/tree/bin/kubectl-kueue"
export TURNSTILE_E2E_KUEUECTL
timeout 1200 cargo test --locked -p turnstile-e2e

step "Kueue's own e2e suite, unmodified, against Turnstile (e2e/kueue-conformance; a fresh plane)"
bash e2e/cluster.sh down >/dev/null
bash e2e/kueue-conformance/run.sh

step "done in $((SECONDS - t0)) s"
