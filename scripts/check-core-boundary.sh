#!/usr/bin/env bash
# Fails when turnstile-core depends, directly or transitively, on kube, k8s-openapi, tokio, hyper
# or tower: the scheduling core must stay pure (see docs/architecture.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tree="$(cargo tree -p turnstile-core --edges normal,build --prefix none --format '{p}')"
bad="$(printf '%s\n' "$tree" | awk '{print $1}' | grep -E '^(kube|kube-[a-z-]+|k8s-openapi|tokio|tokio-[a-z-]+|hyper|hyper-[a-z-]+|tower|tower-[a-z-]+)$' | sort -u || true)"
if [[ -n "$bad" ]]; then
  echo "turnstile-core must not depend on: $(echo "$bad" | tr '\n' ' ')" >&2
  exit 1
fi
echo "turnstile-core boundary ok ($(printf '%s\n' "$tree" | sort -u | wc -l) crates in its tree)"
