#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, etcdctl,
# kwok, helm) from published Go modules into a cache directory keyed by a hash of the pins, and prints that directory.
# Skips the work when the cache is complete. Safe to run concurrently (flock).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

key_inputs() {
  cat "$here/versions.env" "$here/build.sh" "$here/kube/go.mod" "$here/kube/go.sum" "$here/etcd/go.mod" "$here/etcd/go.sum"
  go env GOVERSION
}
key="$(key_inputs | sha256sum | cut -c1-16)"
root="${XDG_CACHE_HOME:-$HOME/.cache}/turnstile-e2e"
out="$root/$key"
bin="$out/bin"

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

log() { printf '[build %s] %s\n' "$(date +%T)" "$*" >&2; }
mkdir -p "$bin"
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
start=$SECONDS

log "kube $KUBE_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)"
minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
vf="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1"
vf+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
vf+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1"
vf+=" -X k8s.io/client-go/pkg/version.gitMinor=$minor"
(cd "$here/kube" && go build -trimpath -buildvcs=false -tags=selinux,notest,grpcnotrace -ldflags "-s -w $vf" -o "$bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)

log "etcd $ETCD_VERSION"
(cd "$here/etcd" && go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3 \
  && go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$bin/etcdctl" go.etcd.io/etcd/etcdctl/v3)

log "kwok $KWOK_VERSION"
(cd "$out" && GOFLAGS= GOBIN="$bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
stages="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
rm -rf "$out/kwok-stages" && mkdir -p "$out/kwok-stages"
cp -r "$stages/node" "$stages/pod" "$out/kwok-stages/"
chmod -R u+w "$out/kwok-stages"

log "helm $HELM_VERSION"
hminor="$minor"
hf="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
hf+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$hminor"
hf+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$hminor"
(cd "$out" && GOFLAGS= GOBIN="$bin" go install -trimpath -ldflags "$hf" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")

for b in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd etcdctl kwok helm; do
  [[ -x "$bin/$b" ]] || { log "missing $bin/$b"; exit 1; }
done
log "done in $((SECONDS - start)) s"
echo "$((SECONDS - start))" > "$out/build-seconds"
touch "$out/.complete"
echo "$out"
