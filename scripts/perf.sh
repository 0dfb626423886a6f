#!/usr/bin/env bash
# Kueue's own scheduler-performance runner (sigs.k8s.io/kueue/test/performance/scheduler/runner, from the Go module
# pinned in e2e/tools/kueue) against Turnstile and, in the same invocation, against Kueue's real manager
# (cmd/kueue from the same module), each on a fresh local plane, one after the other. Prints one side-by-side
# table and writes the figures as JSON. It prints figures; it never passes or fails on speed.
#
#   bash scripts/perf.sh                         # both sides, the baseline scenario (about 20 minutes)
#   bash scripts/perf.sh --only kueue            # one side
#   bash scripts/perf.sh --timeout 300           # per side, seconds from the runner's start (default 900)
#   bash scripts/perf.sh --turnstile-timeout 300 --kueue-timeout 900
#   bash scripts/perf.sh --generator large-scale # a scenario of the module's configs/, or a generator file
#   bash scripts/perf.sh --out FILE              # JSON output (default perf/results/<date>-<scenario>.json)
#   bash scripts/perf.sh --turnstile-bin PATH    # a prebuilt turnstile (default: cargo build --release)
#   bash scripts/perf.sh --work DIR              # work dir for logs and raw figures (default: a new temp dir)
#
# A side that does not finish within its timeout is recorded as timed out, with what was admitted by then. The
# script exits non-zero when a side could not be run at all (plane, manager or runner did not start).
# See docs/performance.md for what each figure means.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

only="" generator=baseline out="" turnstile_bin="" work=""
timeout=900 turnstile_timeout="" kueue_timeout=""
qps=1000 burst=2000
usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case "$1" in
    --only) only="${2:?}"; shift 2 ;;
    --timeout) timeout="${2:?}"; shift 2 ;;
    --turnstile-timeout) turnstile_timeout="${2:?}"; shift 2 ;;
    --kueue-timeout) kueue_timeout="${2:?}"; shift 2 ;;
    --generator) generator="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    --turnstile-bin) turnstile_bin="${2:?}"; shift 2 ;;
    --work) work="${2:?}"; shift 2 ;;
    -h | --help) usage ;;
    *) echo "perf.sh: unknown argument $1" >&2; usage ;;
  esac
done
case "$only" in
  "") sides=(turnstile kueue) ;;
  turnstile | kueue) sides=("$only") ;;
  *) echo "perf.sh: --only takes turnstile or kueue" >&2; exit 2 ;;
esac
turnstile_timeout="${turnstile_timeout:-$timeout}"
kueue_timeout="${kueue_timeout:-$timeout}"
for t in "$turnstile_timeout" "$kueue_timeout"; do
  [[ "$t" =~ ^[0-9]+$ ]] || { echo "perf.sh: timeouts are whole seconds" >&2; exit 2; }
done
python3 -c 'import yaml' 2>/dev/null || { echo "perf.sh: needs Python 3 with PyYAML (pip install pyyaml)" >&2; exit 2; }

work="${work:-$(mktemp -d "${TMPDIR:-/tmp}/turnstile-perf.XXXXXX")}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
echo "==> work dir (logs, raw figures): $work"
log() { printf '[perf %s] %s\n' "$(date +%T)" "$*"; }

log "building Kueue's manager and scheduler-performance runner (cached after the first run)"
kueue_build="$(bash e2e/perf/build-kueue.sh | tail -n1)"
kueue_dir="$(cat "$kueue_build/kueue-module-dir")"
case "$generator" in
  */* | *.yaml) gen_file="$(cd "$(dirname "$generator")" && pwd)/$(basename "$generator")"; scenario="$(basename "$generator" .yaml)" ;;
  *) gen_file="$kueue_dir/test/performance/scheduler/configs/$generator/generator.yaml"; scenario="$generator" ;;
esac
[[ -f "$gen_file" ]] || { echo "perf.sh: no generator config $gen_file" >&2; exit 2; }
log "scenario: $gen_file"

# What is measured: the tree as it is when Turnstile is built (the checkout may move on during the run).
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || commit+="+uncommitted"
if [[ " ${sides[*]} " == *" turnstile "* && -z "$turnstile_bin" ]]; then
  log "building turnstile at $commit (cargo build --release --locked -p turnstile)"
  cargo build --release --locked -q -p turnstile
  turnstile_bin="$repo/target/release/turnstile"
fi
if [[ -n "$turnstile_bin" && "$turnstile_bin" != "$repo/target/release/turnstile" ]]; then
  commit="prebuilt $turnstile_bin"
fi
if [[ -n "$turnstile_bin" ]]; then
  turnstile_bin="$(cd "$(dirname "$turnstile_bin")" && pwd)/$(basename "$turnstile_bin")"
  # A private copy: the shared target dir may be rebuilt while the run is going.
  mkdir -p "$work/bin"
  cp "$turnstile_bin" "$work/bin/turnstile"
  turnstile_bin="$work/bin/turnstile"
fi

# The plane's binaries, built once before the first side starts (e2e/cluster.sh up would build them otherwise).
log "control plane binaries (cached after the first run)"
bash e2e/tools/build.sh >/dev/null

date_="$(date +%F)"
if [[ -z "$out" ]]; then
  out="perf/results/$date_-$scenario.json"
  [[ -z "$only" ]] || out="perf/results/$date_-$scenario-$only.json"
fi

export PERF_GENERATOR="$gen_file" PERF_KUEUE_BUILD="$kueue_build" PERF_TURNSTILE_BIN="$turnstile_bin"
export PERF_QPS="$qps" PERF_BURST="$burst"
failed=()
for side in "${sides[@]}"; do
  t="$turnstile_timeout"
  [[ "$side" == kueue ]] && t="$kueue_timeout"
  log "==> $side (fresh plane, timeout $t s; logs in $work/$side/logs)"
  if ! PERF_TIMEOUT="$t" bash e2e/perf/run-side.sh "$side" "$work/$side"; then
    log "$side could not be run (see $work/$side/logs)"
    failed+=("$side")
  fi
done

echo
summarise_rc=0
python3 e2e/perf/summarise.py "$work" --generator "$gen_file" --out "$out" \
  --meta date="$date_" --meta commit="$commit" --meta scenario="$scenario" \
  --meta generator="${gen_file#"$kueue_dir"/}" --meta kueue_module="$(basename "$kueue_dir")" \
  --meta runner_client="QPS $qps / burst $burst" \
  --meta machine="$(nproc) cores, $(free -m | awk '/^Mem:/ {print $2}') MiB, $(uname -m)" || summarise_rc=$?
echo
echo "Runner client: QPS $qps / burst $burst. Figures as JSON: $out; logs and raw figures: $work"
if ((${#failed[@]})); then
  echo "perf.sh: could not run: ${failed[*]}" >&2
  exit 1
fi
exit "$summarise_rc"
