#!/usr/bin/env bash
# Checks the manager image that scripts/image.sh builds (a stage of scripts/test.sh):
#   1. builds it (static binary, OCI layout assembled by umoci);
#   2. reads the layout's JSON and blobs: every blob's digest, entrypoint ["/turnstile"], cmd ["manager"],
#      a numeric non-root user (65532:65532), workdir, ports (the chart's container ports), labels,
#      timestamps = SOURCE_DATE_EPOCH; exactly one layer holding exactly /turnstile (root-owned, 0755;
#      no shell, nothing else), identical to the binary built, statically linked (no ELF interpreter,
#      no DT_NEEDED);
#   3. assembles the image a second time from the same binary and requires the same manifest digest;
#   4. the Dockerfile and the chart's pod security context say the same (entrypoint, cmd, user, ports);
#   5. runs the image under runc (as root; installed with apt-get when missing): `umoci unpack` to a
#      runtime bundle whose process is what the image config says, then with a read-only root, no
#      capabilities and no new privileges: `turnstile crds --out /out` must write the committed crds/
#      as uid/gid 65532, `turnstile manager --help` must run, and the image's own command (`manager`)
#      must read an in-cluster service account, reach a stand-in API server (Python, on the host's
#      loopback) over TLS verified against the account's CA, send the token, and exit on its 403.
#      Without root or without namespaces on the machine, this step is skipped with a message saying so.
#      Needs openssl (the stand-in's certificates).
#
#   bash scripts/check-image.sh
#
# Uses $TURNSTILE_IMAGE_DIR (default target/image) as image.sh does; python3 (standard library only).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$SECONDS
say() { printf 'check-image: [%4ss] %s\n' "$((SECONDS - t0))" "$*"; }

src="$(pwd -P)"
# Its own target directory (not $CARGO_TARGET_DIR): other flags, other artifacts.
export CARGO_TARGET_DIR="${TURNSTILE_IMAGE_DIR:-$src/target/image}"
target="$(rustc -vV | sed -n 's/^host: //p')"
bin="$CARGO_TARGET_DIR/$target/release/turnstile"
pkgid="$(cargo pkgid --locked -p turnstile)"
version="${pkgid##*[#@]}"
if git rev-parse --git-dir >/dev/null 2>&1; then
  revision="$(git rev-parse HEAD)"
  : "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct)}"
else
  revision=""
fi
export SOURCE_DATE_EPOCH
layout="$CARGO_TARGET_DIR/oci"

work="$(mktemp -d)"
containers=()
apiserver_pid=""
cleanup() {
  [[ -z "$apiserver_pid" ]] || kill "$apiserver_pid" 2>/dev/null || true
  for c in "${containers[@]}"; do runc --root "$work/runc" delete -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# ---- 1. build ----------------------------------------------------------------------------------------
say "1. build: bash scripts/image.sh (static release build in $CARGO_TARGET_DIR, then umoci)"
digest="$(bash scripts/image.sh)"
say "   manifest digest $digest"

# ---- 2. the layout -------------------------------------------------------------------------------
say "2. image layout $layout, tag $version: config, layer, binary"
# The container ports the chart's Deployment declares: the image exposes the same.
chart_ports="$(grep -o 'containerPort: [0-9]*' charts/turnstile/templates/deployment.yaml | awk '{print $2 "/tcp"}' | sort | xargs)"
python3 - "$layout" "$version" "$revision" "$SOURCE_DATE_EPOCH" "$bin" "$work/from-layer" "$chart_ports" <<'PY'
import datetime, gzip, hashlib, io, json, re, struct, sys, tarfile

layout, version, revision, sde, built, extract_to, chart_ports = sys.argv[1:]
tag = version
sde = int(sde)
created = datetime.datetime.fromtimestamp(sde, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
failures = []

def check(cond, what):
    print(f"check-image:        {'ok  ' if cond else 'FAIL'} {what}")
    if not cond:
        failures.append(what)

def blob(desc):
    algo, hexd = desc["digest"].split(":")
    data = open(f"{layout}/blobs/{algo}/{hexd}", "rb").read()
    check(algo == "sha256" and hashlib.sha256(data).hexdigest() == hexd and len(data) == desc["size"],
          f"blob {desc['digest'][:19]}... ({desc['mediaType']}, {len(data)} bytes): digest and size")
    return data

check(json.load(open(f"{layout}/oci-layout")).get("imageLayoutVersion") == "1.0.0", "oci-layout 1.0.0")
index = json.load(open(f"{layout}/index.json"))
refs = [m for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
check(len(index["manifests"]) == 1 and len(refs) == 1, f"index.json: one manifest, tagged {tag}")
manifest = json.loads(blob(refs[0]))
check(manifest.get("mediaType", refs[0]["mediaType"]) == "application/vnd.oci.image.manifest.v1+json",
      "OCI image manifest")
config = json.loads(blob(manifest["config"]))
c = config.get("config", {})
check(c.get("Entrypoint") == ["/turnstile"], f"entrypoint {c.get('Entrypoint')} == ['/turnstile']")
check(c.get("Cmd") == ["manager"],
      f"cmd {c.get('Cmd')} == ['manager'] (the chart replaces it with its args: --log-format json manager ...)")
user = c.get("User", "")
m = re.fullmatch(r"(\d+):(\d+)", user)
check(m is not None and int(m[1]) != 0 and int(m[2]) != 0,
      f"user '{user}' is numeric uid:gid, not root (runAsNonRoot needs a numeric uid)")
check(user == "65532:65532", "user 65532:65532 (the chart's runAsUser/runAsGroup)")
check(c.get("WorkingDir") == "/", f"workdir {c.get('WorkingDir')!r} == '/'")
check(not c.get("Env"), f"no environment variables baked in ({c.get('Env')})")
check(sorted(c.get("ExposedPorts", {})) == chart_ports.split(),
      f"exposed ports {' '.join(sorted(c.get('ExposedPorts', {})))} == the chart's container ports ({chart_ports})")
labels = c.get("Labels", {})
check(labels.get("org.opencontainers.image.version") == version, f"label version {version}")
if revision:
    check(labels.get("org.opencontainers.image.revision") == revision, f"label revision {revision}")
check(labels.get("org.opencontainers.image.created") == created, f"label created {created}")
check((config.get("os"), config.get("architecture")) == ("linux", {"x86_64": "amd64", "aarch64": "arm64"}.get(
    __import__("platform").machine())), f"platform {config.get('os')}/{config.get('architecture')}")
check(config.get("created") == created, f"config created {config.get('created')} == SOURCE_DATE_EPOCH")
history = config.get("history", [])
check(all(h.get("created") == created for h in history),
      f"{len(history)} history entr{'y' if len(history) == 1 else 'ies'}, all created at SOURCE_DATE_EPOCH")

layers = manifest["layers"]
diff_ids = config.get("rootfs", {}).get("diff_ids", [])
check(len(layers) == 1 and len(diff_ids) == 1, f"exactly one layer ({len(layers)})")
layer = layers[0]
check(layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip", "layer is a gzipped tar")
raw = gzip.decompress(blob(layer))
check("sha256:" + hashlib.sha256(raw).hexdigest() == diff_ids[0], "layer diff_id matches its content")
tar = tarfile.open(fileobj=io.BytesIO(raw))
members = tar.getmembers()
names = sorted(mb.name.lstrip("./") or "/" for mb in members)
check(names == ["turnstile"], f"layer entries {names} == ['turnstile'] (nothing else)")
for shell in ("bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh", "usr/bin/apt-get", "usr/bin/dpkg", "sbin/apk"):
    if shell in names:
        check(False, f"no /{shell}")
check(not any(n in names for n in ("bin/sh", "bin/bash", "bin/busybox")), "no shell (/bin/sh, bash, busybox)")
check(not any(n in names for n in ("usr/bin/apt-get", "usr/bin/dpkg", "sbin/apk")), "no package manager")
[mb] = [mb for mb in members if mb.name.lstrip("./") == "turnstile"] or [None]
if mb is not None:
    check(mb.isreg(), "/turnstile is a regular file")
    check(mb.mode & 0o7777 == 0o755, f"/turnstile mode {oct(mb.mode & 0o7777)} == 0o755 (not writable by uid 65532)")
    check((mb.uid, mb.gid) == (0, 0), f"/turnstile owned by {mb.uid}:{mb.gid} == 0:0")
    check(mb.mtime == sde, f"/turnstile mtime {mb.mtime} == SOURCE_DATE_EPOCH")
    data = tar.extractfile(mb).read()
    with open(extract_to, "wb") as f:
        f.write(data)
    check(data == open(built, "rb").read(),
          f"/turnstile ({len(data) // 1024 // 1024} MiB) is byte for byte the binary built ({built})")

    # Statically linked: no PT_INTERP (no dynamic loader) and no DT_NEEDED (no shared library).
    check(data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "/turnstile is a 64-bit little-endian ELF")
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    interp, needed = False, 0
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            interp = True
        if p_type == 2:  # PT_DYNAMIC
            for off in range(p_offset, p_offset + p_filesz, 16):
                tag_, _ = struct.unpack_from("<qQ", data, off)
                if tag_ == 0:
                    break
                needed += tag_ == 1  # DT_NEEDED
    check(not interp and needed == 0,
          f"/turnstile is statically linked (ELF interpreter: {'yes' if interp else 'none'}, shared libraries needed: {needed})")
print(f"check-image:        image size: {sum(l['size'] for l in layers) // 1024 // 1024} MiB compressed")
if failures:
    print(f"check-image: {len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
PY

# ---- 3. reproducible -----------------------------------------------------------------------------
say "3. reproducible: assemble again from the same binary (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
again="$(bash scripts/image.sh --no-build --out "$work/again")"
if [[ "$again" != "$digest" ]]; then
  echo "check-image: FAIL: second assembly gave $again, first $digest" >&2
  diff -r "$layout" "$work/again/oci" >&2 || true
  exit 1
fi
cmp -s "$CARGO_TARGET_DIR/turnstile-$version.oci.tar" "$work/again/turnstile-$version.oci.tar" || {
  echo "check-image: FAIL: the two OCI archives differ" >&2
  exit 1
}
say "   ok   same manifest digest $again, identical OCI archive"

# ---- 4. the Dockerfile and the chart agree -------------------------------------------------------
say "4. Dockerfile and chart agree with the image config"
for need in 'ENTRYPOINT ["/turnstile"]' 'CMD ["manager"]' 'USER 65532:65532'; do
  grep -qxF "$need" Dockerfile || { echo "check-image: FAIL: Dockerfile lacks the line: $need" >&2; exit 1; }
  say "   ok   Dockerfile: $need"
done
docker_ports="$(sed -n 's/^EXPOSE //p' Dockerfile | tr ' ' '\n' | sed 's|$|/tcp|' | sort | xargs)"
[[ "$docker_ports" == "$chart_ports" ]] \
  || { echo "check-image: FAIL: Dockerfile EXPOSE ($docker_ports) differs from the chart's container ports ($chart_ports)" >&2; exit 1; }
say "   ok   Dockerfile: EXPOSE = the chart's container ports ($chart_ports)"
for need in 'runAsNonRoot: true' 'runAsUser: 65532' 'runAsGroup: 65532'; do
  grep -qF "$need" charts/turnstile/values.yaml \
    || { echo "check-image: FAIL: charts/turnstile/values.yaml lacks: $need" >&2; exit 1; }
  say "   ok   chart podSecurityContext: $need"
done

# ---- 5. run under runc ---------------------------------------------------------------------------
skip() {
  say "5. SKIPPED running the image under runc: $*"
  say "done in $((SECONDS - t0)) s (image built and checked; NOT run)"
  exit 0
}
[[ $EUID -eq 0 ]] || skip "not root (runc needs root here; the rest was checked)"
if ! command -v runc >/dev/null; then
  command -v apt-get >/dev/null || skip "runc is not installed and there is no apt-get"
  say "   installing runc (apt-get)"
  apt-get install -y --no-install-recommends runc >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends runc >/dev/null; } \
    || skip "runc could not be installed"
fi
# Can this machine make containers at all? (A failure after this point is the image's.)
unshare --mount --pid --net --ipc --uts --fork true 2>/dev/null \
  || skip "this machine does not allow new namespaces (unshare failed)"
[[ -d /sys/fs/cgroup ]] || skip "no cgroup filesystem"

say "5. run under runc $(runc --version | sed -n 's/^runc version //p'): umoci unpack, read-only root, no capabilities"
umoci unpack --image "$layout:$version" "$work/bundle" >/dev/null
cp "$work/bundle/config.json" "$work/image-spec.json"
python3 - "$work/image-spec.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["process"]
ok = p["args"] == ["/turnstile", "manager"] and (p["user"]["uid"], p["user"]["gid"]) == (65532, 65532) and p["cwd"] == "/"
print(f"check-image:        {'ok  ' if ok else 'FAIL'} runtime spec from the image: args {p['args']}, "
      f"uid:gid {p['user']['uid']}:{p['user']['gid']}, cwd {p['cwd']}")
sys.exit(0 if ok else 1)
PY

# run_container NAME MOUNTS_JSON ENV_JSON [ARGS...]: runs the bundle (args default: the image's own),
# stdout/stderr to $work/NAME.{out,err}; returns the container's exit status. MOUNTS_JSON: a list of
# [destination, host source, "ro"|"rw"] bind mounts. With host_network=1, in the host's network namespace.
host_network=0
run_container() {
  local name="$1" mounts="$2" env="$3"
  shift 3
  python3 - "$work/image-spec.json" "$work/bundle/config.json" "$host_network" "$mounts" "$env" "$@" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
host_network, mounts, env, args = sys.argv[3] == "1", json.loads(sys.argv[4]), json.loads(sys.argv[5]), sys.argv[6:]
if host_network:
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
p = spec["process"]
p["terminal"] = False
if args:
    p["args"] = ["/turnstile", *args]
p["env"] = p.get("env", []) + env
p["noNewPrivileges"] = True
p["capabilities"] = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
spec["root"]["readonly"] = True
spec["mounts"] += [{"destination": d, "type": "bind", "source": s, "options": ["rbind", o]}
                   for d, s, o in mounts]
json.dump(spec, open(sys.argv[2], "w"), indent=1)
PY
  local id="turnstile-check-$$-$name"
  containers+=("$id")
  local rc=0
  timeout 60 runc --root "$work/runc" run --bundle "$work/bundle" "$id" \
    </dev/null >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  runc --root "$work/runc" delete -f "$id" >/dev/null 2>&1 || true
  return "$rc"
}
fail_run() {
  echo "check-image: FAIL: $1; its stdout and stderr:" >&2
  cat "$work/$2.out" "$work/$2.err" >&2
  exit 1
}

# a) turnstile crds --out /out: the committed CRDs, written by uid/gid 65532.
mkdir -m 1777 "$work/out"
r0=$SECONDS
run_container crds "[[\"/out\", \"$work/out\", \"rw\"]]" '[]' crds --out /out || fail_run "turnstile crds in the container" crds
say "   ok   turnstile crds --out /out in the container ($((SECONDS - r0)) s): $(cat "$work/crds.out")"
diff -r crds "$work/out" >/dev/null || { diff -r crds "$work/out" | head -40 >&2; fail_run "the container's CRDs differ from crds/" crds; }
say "   ok   the files it wrote equal the committed crds/ ($(find "$work/out" -type f | wc -l) files)"
owners="$(find "$work/out" -type f -printf '%U:%G\n' | sort -u | tr '\n' ' ')"
[[ "$owners" == "65532:65532 " ]] || fail_run "the files were written by $owners, not 65532:65532" crds
say "   ok   written by uid:gid $owners(the process ran as the image's user, not root)"

# b) turnstile manager --help.
run_container help '[]' '[]' manager --help || fail_run "turnstile manager --help in the container" help
grep -q -- '--webhook-service' "$work/help.out" || fail_run "turnstile manager --help printed no --webhook-service" help
say "   ok   turnstile manager --help in the container ($(wc -l <"$work/help.out") lines)"

# c) The image's own command, `turnstile manager`, as a pod starts it: an in-cluster service account
#    (token, CA certificate) and KUBERNETES_SERVICE_HOST/PORT naming a stand-in API server on the host's
#    loopback (the container shares the host's network namespace for this run): a few lines of Python
#    serving HTTPS with a certificate from that CA and answering every request 403. The manager must read
#    the service account, complete a TLS handshake verifying the server against ca.crt (rustls with
#    aws-lc, statically linked), send its first request with the token, and exit on the 403.
command -v openssl >/dev/null || { echo "check-image: FAIL: openssl is needed for the TLS stand-in" >&2; exit 1; }
pki="$work/pki" sa="$work/serviceaccount"
mkdir -p "$pki" "$sa"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj /CN=check-image-ca -days 1 2>/dev/null
openssl req "${ec[@]}" -keyout "$pki/server.key" -out "$pki/server.csr" -subj /CN=check-image-apiserver 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$pki/ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -extfile "$pki/ext" -out "$pki/server.crt" -days 1 2>/dev/null
cp "$pki/ca.crt" "$sa/ca.crt"
printf 'not-a-real-token' >"$sa/token"
printf 'turnstile-system' >"$sa/namespace"
chmod -R a+rX "$sa"
python3 - "$pki" "$work/apiserver.port" "$work/apiserver.log" <<'PY' &
import http.server, json, os, ssl, sys
pki, portfile, logfile = sys.argv[1:]


class Forbid(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(logfile, "a") as f:
            f.write(f"{self.command} {self.path} (Authorization: {self.headers.get('Authorization')})\n")
        body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": "check-image stand-in: forbidden", "reason": "Forbidden",
                           "code": 403}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forbid)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{pki}/server.crt", f"{pki}/server.key")
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
PY
apiserver_pid=$!
for _ in $(seq 50); do [[ -s "$work/apiserver.port" ]] && break; sleep 0.1; done
[[ -s "$work/apiserver.port" ]] || { echo "check-image: FAIL: the stand-in API server did not start" >&2; exit 1; }
port="$(cat "$work/apiserver.port")"
host_network=1 rc=0 r0=$SECONDS
run_container manager "[[\"/var/run/secrets/kubernetes.io/serviceaccount\", \"$sa\", \"ro\"]]" \
  "[\"KUBERNETES_SERVICE_HOST=127.0.0.1\", \"KUBERNETES_SERVICE_PORT=$port\", \"POD_NAMESPACE=turnstile-system\", \"POD_NAME=check-image\"]" \
  || rc=$?
host_network=0
kill "$apiserver_pid" 2>/dev/null || true
wait "$apiserver_pid" 2>/dev/null || true
apiserver_pid=""
touch "$work/apiserver.log"
if [[ $rc -eq 1 ]] && grep -q 'Authorization: Bearer not-a-real-token' "$work/apiserver.log" \
  && grep -qi 'forbidden' "$work/manager.err"; then
  say "   ok   turnstile manager (the image's own command) in the container: exit 1 on the 403, as expected ($((SECONDS - r0)) s)"
  say "        the stand-in received, over TLS verified against the service account's CA:"
  sed 's/^/check-image:          /' "$work/apiserver.log"
  say "        the manager's last line: $(tail -n 1 "$work/manager.err" | cut -c1-300)"
else
  echo "check-image: the stand-in API server received:" >&2
  cat "$work/apiserver.log" >&2
  fail_run "turnstile manager in the container: exit $rc; expected exit 1 after the stand-in answered 403 to a request carrying the token" manager
fi

say "done in $((SECONDS - t0)) s (image built, config and layer checked, reproducible, run under runc)"
