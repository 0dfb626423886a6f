#!/usr/bin/env bash
# Downloads Kueue's released Go module (pinned in kueue.env) into the Go module cache and prints
# the directory of its published CRDs, for the schema-parity test (crates/turnstile-api/tests).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=kueue.env
source "$here/kueue.env"
dir="$(cd "${TMPDIR:-/tmp}" && GOWORK=off GOFLAGS= GOTOOLCHAIN=local go mod download -json "sigs.k8s.io/kueue@$KUEUE_VERSION" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
crds="$dir/config/components/crd/bases"
[[ -d "$crds" ]] || { echo "kueue-crds: $crds not found" >&2; exit 1; }
echo "$crds"
