#!/usr/bin/env bash
# Early warning, run by hand (or on a schedule): in a scratch copy of the working tree, resolves the newest
# releases that Cargo.toml allows (ignoring Cargo.lock), then runs clippy -D warnings and the unit tests.
# A failure here means the next `bash scripts/update-deps.sh` will need work; the committed lock is untouched.
# Uses its own target dir ($CHECK_LATEST_TARGET_DIR, default under the cache dir) so that the main build stays warm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$SECONDS
scratch="$(mktemp -d "${TMPDIR:-/tmp}/turnstile-latest.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch"
cd "$scratch"
export CARGO_TARGET_DIR="${CHECK_LATEST_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/turnstile-latest-target}"
echo "==> resolving the newest compatible releases"
cargo update 2>&1 | grep -E '^\s+(Updating|Adding|Removing|Locking)' || echo "nothing newer than Cargo.lock"
echo "==> clippy on the newest releases"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> unit tests on the newest releases"
KUEUE_CRD_DIR="$(bash e2e/tools/kueue-crds.sh)"
export KUEUE_CRD_DIR
cargo test --workspace --exclude turnstile-e2e
echo "==> newest releases pass clippy and unit tests ($((SECONDS - t0)) s); update with: bash scripts/update-deps.sh"
