#!/usr/bin/env bash
# The one way to change the dependency set: updates Cargo.lock (all packages, or only those named, e.g.
# `bash scripts/update-deps.sh -p rustls`), shows what moved, then runs the whole suite with --locked
# (scripts/test.sh). Commit Cargo.lock only when the suite passes; the commit is the deliberate update.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cp Cargo.lock "${TMPDIR:-/tmp}/turnstile-Cargo.lock.before"
cargo update "$@"
echo "==> packages whose version changed:"
diff <(grep -A1 '^name = ' "${TMPDIR:-/tmp}/turnstile-Cargo.lock.before" | paste -d' ' - - - 2>/dev/null | awk '{print $3, $6}' | sort) \
     <(grep -A1 '^name = ' Cargo.lock | paste -d' ' - - - 2>/dev/null | awk '{print $3, $6}' | sort) || true
bash scripts/test.sh
