#!/usr/bin/env bash
# build.sh: builds, once per version, the real kube-apiserver, kube-controller-manager, etcd, etcdctl and helm (and kubectl when none is installed) for Vivo's tests into a cache outside the repo; prints the bin dir as its last line.
#
# Versions come from tools/go.mod (k8s.io/kubernetes), etcd/go.mod (go.etcd.io/etcd/server/v3)
# and HELM_VERSION below. Cache: ${VIVO_K8S_CACHE:-$HOME/.cache/vivo-k8s}/k8s-<v>-etcd-<v>/bin.
# Everything but the last line goes to stderr. When the binaries exist it runs no go command.
# kubectl (k8s.io/kubernetes/cmd/kubectl, same modules and version stamp as kube-apiserver) is
# built only when no kubectl is on PATH, and then kept in the same bin dir.
# Go: $GO, else what toolchain.sh finds or fetches (Go >= the go.mod files' `go` line).
# VIVO_NO_TOOL_BUILD=1: fetch no Go toolchain and build no kubectl. Exit 3: no usable Go.
set -euo pipefail

HELM_VERSION=v3.19.5

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/golib.sh
. "$here/../golib.sh"

# modver GOMOD MODULE: the version GOMOD requires of MODULE (single-line or block form).
modver() {
	awk -v m="$2" '
		$1 == "require" && $2 == m { print $3; exit }
		$1 == m && $2 ~ /^v[0-9]/ { print $2; exit }
	' "$1"
}

K8S_VERSION=$(modver "$here/tools/go.mod" k8s.io/kubernetes)
ETCD_VERSION=$(modver "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)
[[ -n $K8S_VERSION && -n $ETCD_VERSION ]] || die "cannot read versions from tools/go.mod and etcd/go.mod"

cache=${VIVO_K8S_CACHE:-${HOME:-/tmp}/.cache/vivo-k8s}
dir=$cache/k8s-$K8S_VERSION-etcd-$ETCD_VERSION
bin=$dir/bin

helm_ok() {
	[[ -x $bin/helm ]] && [[ $("$bin/helm" version --template '{{.Version}}' 2>/dev/null) == "$HELM_VERSION" ]]
}

# want_kubectl: true if this build provides kubectl (none on PATH, building allowed).
want_kubectl() {
	[[ ${VIVO_NO_TOOL_BUILD:-0} != 1 ]] || return 1
	local k
	k=$(command -v kubectl 2>/dev/null) || return 0
	[[ $k == "$bin/kubectl" ]]
}

all_ok() {
	local b
	for b in kube-apiserver kube-controller-manager etcd etcdctl; do
		[[ -x $bin/$b ]] || return 1
	done
	! want_kubectl || [[ -x $bin/kubectl ]] || return 1
	helm_ok
}

if all_ok; then
	printf '%s\n' "$bin"
	exit 0
fi

mkdir -p "$bin"
# One builder at a time per cache entry; a second caller waits, then finds the binaries.
go_lock "$dir"

# A Go new enough for the go.mod files (exit 3 from toolchain.sh: none there, none fetched).
rc=0
GO=$("$here/toolchain.sh") || rc=$?
((rc == 0)) || { log "error: no usable Go (toolchain.sh above says what to do)"; exit "$rc"; }
# A fetched toolchain finds its own GOROOT; a GOROOT left in the environment would mislead it.
[[ $GO != "$cache"/* ]] || unset GOROOT
go_env "$dir"

# build_k8s LDFLAGS CMD...: the k8s.io/kubernetes/cmd/CMD commands into $tmp.
build_k8s() {
	local ld=$1 c pkgs=()
	shift
	for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
	(cd "$here/tools" && "$GO" build -trimpath -ldflags="$ld" -o "$tmp/" "${pkgs[@]}")
}

build_etcd() {
	(cd "$here/etcd" && "$GO" build -trimpath -ldflags="-s -w" -o "$tmp/etcd" . &&
		"$GO" build -trimpath -ldflags="-s -w" -o "$tmp/etcdctl" ./etcdctl)
}

k8s_cmds=()
for c in kube-apiserver kube-controller-manager; do
	[[ -x $bin/$c ]] || k8s_cmds+=("$c")
done
if want_kubectl && [[ ! -x $bin/kubectl ]]; then
	log "no kubectl on PATH: building kubectl $K8S_VERSION into $bin"
	k8s_cmds+=(kubectl)
fi
if ((${#k8s_cmds[@]})); then
	# Stamp the version as Kubernetes' own build does (hack/lib/version.sh), so /version and
	# --version report v1.34.3 rather than v0.0.0-master; commit and date from the module proxy.
	(cd "$here/tools" && "$GO" mod download k8s.io/kubernetes)
	info=$("$GO" env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.info
	commit=$(sed -n 's/.*"Hash":"\([0-9a-f]\{40\}\)".*/\1/p' "$info" 2>/dev/null || true)
	date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)
	minor=${K8S_VERSION#v*.}
	minor=${minor%%.*}
	major=${K8S_VERSION#v}
	major=${major%%.*}
	ld="-s -w"
	for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
		ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
		ld+=" -X $pkg.gitTreeState=clean"
		[[ -n $commit ]] && ld+=" -X $pkg.gitCommit=$commit"
		[[ -n $date ]] && ld+=" -X $pkg.buildDate=$date"
	done
	timed "${k8s_cmds[*]} $K8S_VERSION" build_k8s "$ld" "${k8s_cmds[@]}"
	for c in "${k8s_cmds[@]}"; do mv -f "$tmp/$c" "$bin/"; done
fi

if [[ ! -x $bin/etcd || ! -x $bin/etcdctl ]]; then
	timed "etcd + etcdctl $ETCD_VERSION" build_etcd
	mv -f "$tmp/etcd" "$tmp/etcdctl" "$bin/"
fi

if ! helm_ok; then
	# helm's own Makefile stamps its version and the Kubernetes version it assumes offline.
	hv=helm.sh/helm/v3
	hld="-s -w -X $hv/internal/version.version=$HELM_VERSION -X $hv/internal/version.gitTreeState=clean"
	for pkg in $hv/pkg/lint/rules $hv/pkg/chartutil; do
		hld+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=34"
	done
	# go install pkg@version ignores the local modules; -mod may not be set for it.
	timed "helm $HELM_VERSION" \
		env GOBIN="$tmp" GOFLAGS=-buildvcs=false \
		"$GO" install -trimpath -ldflags="$hld" "$hv/cmd/helm@$HELM_VERSION"
	mv -f "$tmp/helm" "$bin/"
fi

all_ok || die "binaries missing in $bin after the build"
printf 'kubernetes=%s\netcd=%s\nhelm=%s\ngo=%s\n' "$K8S_VERSION" "$ETCD_VERSION" \
	"$HELM_VERSION" "$("$GO" env GOVERSION)" >"$dir/VERSIONS"
log "binaries: $(cd "$bin" && du -sh -- * | tr '\t\n' '= ')"
printf '%s\n' "$bin"
