#!/usr/bin/env bash
# Builds the Turnstile manager image reproducibly, without a container daemon:
#   1. a statically linked `turnstile` (glibc, `-C target-feature=+crt-static`, `cargo build --release
#      --locked`; build paths remapped, so the binary does not name the checkout or the cargo home);
#   2. an OCI image assembled with umoci: one layer holding only /turnstile (root-owned, mode 0755: the
#      process, uid 65532, can run it but not modify it; no shell, no package manager, no libc files),
#      entrypoint ["/turnstile"], cmd ["manager"] (the chart's Deployment replaces cmd with its `args`:
#      `--log-format json manager --config ...`), user 65532:65532, workdir /, OCI labels.
#
#   bash scripts/image.sh [--no-build] [--out DIR]
#
#   --no-build  assemble from the binary already built (fails if there is none)
#   --out DIR   where the layout and the archive go (default: the build directory)
#
# Outputs: DIR/oci (OCI image layout, tag = the crate version), DIR/turnstile-<version>.oci.tar (the same
# layout as an OCI archive), DIR/digest (the manifest digest, also printed last on stdout).
#
# Reproducible: every timestamp (config `created`, the history entry, the file's mtime, the archive's
# entries) is SOURCE_DATE_EPOCH, by default the last commit's time; ownership and modes are fixed.
# Assembling twice from the same binary gives the same manifest digest (scripts/check-image.sh checks it).
# The build uses its own cargo target directory, $TURNSTILE_IMAGE_DIR (default target/image), so it
# does not invalidate the ordinary target/.
#
# Needs cargo, git (or SOURCE_DATE_EPOCH), GNU tar, and umoci (installed with apt-get when missing and
# running as root). Push the result with e.g. skopeo (docs/operations.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=true
out=""
while (($#)); do
  case "$1" in
    --no-build) build=false ;;
    --out)
      [[ $# -ge 2 ]] || { echo "image.sh: --out needs a directory" >&2; exit 2; }
      out="$2"
      shift
      ;;
    *)
      echo "usage: $0 [--no-build] [--out DIR]" >&2
      exit 2
      ;;
  esac
  shift
done

log() { echo "image.sh: $*" >&2; }

src="$(pwd -P)"
# Its own target directory (not $CARGO_TARGET_DIR): other flags, other artifacts.
export CARGO_TARGET_DIR="${TURNSTILE_IMAGE_DIR:-$src/target/image}"
out="${out:-$CARGO_TARGET_DIR}"

# ---- inputs ------------------------------------------------------------------------------------
target="$(rustc -vV | sed -n 's/^host: //p')"
case "$target" in
  x86_64-unknown-linux-gnu) arch=amd64 ;;
  aarch64-unknown-linux-gnu) arch=arm64 ;;
  *)
    echo "image.sh: unsupported build host $target (x86_64 or aarch64 Linux with glibc)" >&2
    exit 1
    ;;
esac

pkgid="$(cargo pkgid --locked -p turnstile)"
version="${pkgid##*[#@]}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "image.sh: no version in '$pkgid'" >&2; exit 1; }
tag="$version"

revision=""
if git rev-parse --git-dir >/dev/null 2>&1; then
  revision="$(git rev-parse HEAD)"
  # The binary reports what it was built from (kueue_build_info's git_commit): a tree with
  # uncommitted changes to tracked files is not that commit.
  commit="$revision"
  git diff --quiet HEAD -- || commit="$revision-dirty"
  : "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct)}"
else
  commit="unknown"
fi
[[ "${SOURCE_DATE_EPOCH:-}" =~ ^[0-9]+$ ]] || {
  echo "image.sh: set SOURCE_DATE_EPOCH (seconds) when building outside a git checkout" >&2
  exit 1
}
export SOURCE_DATE_EPOCH
created="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"

bin="$CARGO_TARGET_DIR/$target/release/turnstile"

# ---- 1. the static binary ----------------------------------------------------------------------
if $build; then
  cargo_home="$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)"
  # Flags only for the target (with an explicit --target, build scripts and proc macros are built
  # without them). CARGO_ENCODED_RUSTFLAGS: one flag per \x1f-separated field, so paths may hold spaces.
  flags=(
    -C target-feature=+crt-static
    "--remap-path-prefix=$cargo_home=/cargo"
    "--remap-path-prefix=$src=/turnstile"
  )
  CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f'; echo "${flags[*]}")"
  export CARGO_ENCODED_RUSTFLAGS
  # C code (aws-lc, the TLS crypto) keeps its source paths in assertion messages: remap them too.
  cflags_var="CFLAGS_${target//-/_}"
  export "$cflags_var=-ffile-prefix-map=$cargo_home=/cargo -ffile-prefix-map=$src=/turnstile"
  # Seen by `kueue_build_info` (crates/turnstile-controller/src/metrics.rs).
  export TURNSTILE_GIT_COMMIT="$commit" TURNSTILE_BUILD_DATE="$created"
  log "building static turnstile $version ($target, commit $commit, SOURCE_DATE_EPOCH $SOURCE_DATE_EPOCH) in $CARGO_TARGET_DIR"
  b0=$SECONDS
  cargo build --locked --release --target "$target" -p turnstile
  log "static build: $((SECONDS - b0)) s"
fi
[[ -x "$bin" ]] || { echo "image.sh: no binary at $bin (run without --no-build)" >&2; exit 1; }
if command -v file >/dev/null; then
  log "binary: $(file -b "$bin")"
fi

# ---- 2. the image --------------------------------------------------------------------------------
if ! command -v umoci >/dev/null; then
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing umoci (apt-get)"
    apt-get install -y --no-install-recommends umoci >/dev/null \
      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends umoci >/dev/null; }
  else
    echo "image.sh: umoci is not installed (Debian/Ubuntu: apt-get install umoci, as root)" >&2
    exit 1
  fi
fi

a0=$SECONDS
mkdir -p "$out"
out="$(cd "$out" && pwd -P)"
layout="$out/oci"
archive="$out/turnstile-$version.oci.tar"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The layer: a tar holding only `turnstile` with fixed mode, owner and mtime, made by GNU tar and added
# verbatim by `umoci raw add-layer` (which compresses it and records its digests). Not `umoci insert`:
# umoci 0.4.7 (Debian 12) writes its layer without the tar's end blocks (fixed upstream in later releases).
mkdir "$work/stage"
cp "$bin" "$work/stage/turnstile"
tar --format=ustar --numeric-owner --owner=0 --group=0 --mode=0755 --mtime="@$SOURCE_DATE_EPOCH" \
  -C "$work/stage" -cf "$work/layer.tar" turnstile

rm -rf "$layout"
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci raw add-layer --image "$layout:$tag" \
  --history.created "$created" --history.created_by "scripts/image.sh: /turnstile (static)" \
  "$work/layer.tar"
labels=(
  "org.opencontainers.image.title=turnstile"
  "org.opencontainers.image.description=Turnstile manager, Kueue-compatible job queueing for Kubernetes"
  "org.opencontainers.image.version=$version"
  "org.opencontainers.image.created=$created"
  "org.opencontainers.image.licenses=Apache-2.0"
)
[[ -z "$revision" ]] || labels+=("org.opencontainers.image.revision=$revision")
label_args=()
for l in "${labels[@]}"; do label_args+=(--config.label "$l"); done
umoci config --image "$layout:$tag" --no-history \
  --created "$created" --os linux --architecture "$arch" \
  --clear config.env --clear config.entrypoint --clear config.cmd \
  --config.entrypoint /turnstile --config.cmd manager \
  --config.user 65532:65532 --config.workingdir / \
  --config.exposedports 9443/tcp --config.exposedports 8081/tcp --config.exposedports 8443/tcp \
  --config.exposedports 8082/tcp \
  "${label_args[@]}"
# Every `umoci config`/`raw add-layer` wrote a new manifest; drop the unreferenced blobs.
umoci gc --layout "$layout"

# The archive: the layout as a tar with sorted, fixed-time, root-owned entries and fixed modes.
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --mode=u=rwX,go=rX --format=gnu \
  -C "$layout" -cf "$archive.tmp" .
mv "$archive.tmp" "$archive"

# The fresh layout's index.json names exactly one manifest.
digest="$(grep -o '"digest":"sha256:[0-9a-f]\{64\}"' "$layout/index.json" | cut -d'"' -f4)"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "image.sh: no single manifest in $layout/index.json" >&2; exit 1; }
echo "$digest" >"$out/digest"
log "assembled in $((SECONDS - a0)) s: $layout (tag $tag), $archive"
echo "$digest"
