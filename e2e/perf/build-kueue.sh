#!/usr/bin/env bash
# Builds Kueue's manager (sigs.k8s.io/kueue/cmd/kueue) and its scheduler-performance runner
# (sigs.k8s.io/kueue/test/performance/scheduler/runner) from the Go module pinned in e2e/tools/kueue/go.mod, into a
# cache directory keyed by a hash of that module's go.mod/go.sum, this script and the Go version; prints the
# directory. Layout: <dir>/bin/kueue, <dir>/bin/performance-scheduler-runner, <dir>/kueue-module-dir (the module's
# source tree in the Go module cache: CRDs, webhook manifests and the runner's generator configs come from there).
# Safe to run concurrently (flock). Used by scripts/perf.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mod="$here/../tools/kueue"
key="$( (cat "$mod/go.mod" "$mod/go.sum" "$here/build-kueue.sh"; go env GOVERSION) | sha256sum | cut -c1-16)"
root="${XDG_CACHE_HOME:-$HOME/.cache}/turnstile-kueue-perf"
out="$root/$key"
if [[ -f "$out/.complete" ]]; then
  echo "$out"
  exit 0
fi
mkdir -p "$root"
exec 9>"$root/.lock-$key"
flock 9
if [[ -f "$out/.complete" ]]; then
  echo "$out"
  exit 0
fi
start=$SECONDS
mkdir -p "$out/bin"
export GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
# Kueue depends on sigs.k8s.io/scheduler-library, which the public checksum database does not list; its hash is
# pinned in go.sum (taken from Kueue's own go.sum).
export GONOSUMDB=sigs.k8s.io/scheduler-library
version="$(cd "$mod" && go list -m -f '{{.Version}}' sigs.k8s.io/kueue)"
printf '[kueue-perf %s] building Kueue %s: cmd/kueue and the scheduler-performance runner\n' "$(date +%T)" "$version" >&2
(cd "$mod" && go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion=$version" \
  -o "$out/bin/kueue" sigs.k8s.io/kueue/cmd/kueue)
(cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$out/bin/performance-scheduler-runner" \
  sigs.k8s.io/kueue/test/performance/scheduler/runner)
(cd "$mod" && go list -m -f '{{.Dir}}' sigs.k8s.io/kueue) >"$out/kueue-module-dir"
echo "$version" >"$out/kueue-version"
printf '[kueue-perf %s] built in %s s\n' "$(date +%T)" "$((SECONDS - start))" >&2
touch "$out/.complete"
echo "$out"
