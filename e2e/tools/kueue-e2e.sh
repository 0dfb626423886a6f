#!/usr/bin/env bash
# Builds Kueue's published end-to-end suite (sigs.k8s.io/kueue/test/e2e/singlecluster/baseline, compiled with
# `go test -c`) and kueuectl (as kubectl-kueue) from the Go module pinned in e2e/tools/kueue/go.mod, into a cache
# directory keyed by a hash of that module's go.mod/go.sum, this script and the Go version; prints the directory.
# Layout: <dir>/tree/test/e2e/singlecluster/baseline/baseline.test and <dir>/tree/bin/kubectl-kueue, because the
# suite runs kueuectl as ../../../../bin/kubectl-kueue relative to its working directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
key="$( (cat "$here/kueue/go.mod" "$here/kueue/go.sum" "$here/kueue-e2e.sh"; go env GOVERSION) | sha256sum | cut -c1-16)"
root="${XDG_CACHE_HOME:-$HOME/.cache}/turnstile-kueue-e2e"
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
suite="$out/tree/test/e2e/singlecluster/baseline"
mkdir -p "$suite" "$out/tree/bin"
export GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=readonly
# Kueue depends on sigs.k8s.io/scheduler-library, which the public checksum database does not list; its hash is
# pinned in go.sum (taken from Kueue's own go.sum).
export GONOSUMDB=sigs.k8s.io/scheduler-library
printf '[kueue-e2e %s] building Kueue'"'"'s e2e suite and kueuectl\n' "$(date +%T)" >&2
(cd "$here/kueue" && go test -c -trimpath -o "$suite/baseline.test" sigs.k8s.io/kueue/test/e2e/singlecluster/baseline)
(cd "$here/kueue" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/tree/bin/kubectl-kueue" sigs.k8s.io/kueue/cmd/kueuectl)
(cd "$here/kueue" && go list -m -f '{{.Dir}}' sigs.k8s.io/kueue) >"$out/kueue-module-dir"
printf '[kueue-e2e %s] built in %s s\n' "$(date +%T)" "$((SECONDS - start))" >&2
touch "$out/.complete"
echo "$out"
