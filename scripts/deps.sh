#!/bin/sh
# deps.sh: install what building and testing Vivo needs on Debian (idempotent; root or sudo), and say what the test command still needs that Debian does not ship (Go, kubectl).
# usage: scripts/deps.sh [build|test]
# apt waits up to 5 minutes for another apt/dpkg to finish instead of failing.
set -eu
what=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
build_pkgs="build-essential autoconf automake libtool pkg-config gzip curl ca-certificates
 libmicrohttpd-dev libmsgpack-dev libjansson-dev libyaml-dev libcurl4-openssl-dev zlib1g-dev
 libssl-dev libzstd-dev libonig-dev libsnappy-dev libgnutls28-dev libnghttp2-dev"
test_pkgs="clang libclang-rt-14-dev python3 python3-fluent-logger python3-snappy python3-zstandard zstd python3-h2 wrk valgrind openssl
 chromium shellcheck yamllint"
pkgs=$build_pkgs
[ "$what" = test ] && pkgs="$pkgs $test_pkgs"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
lock_wait=300
apt_get() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=$lock_wait "$@"; }

# apt_update: apt-get update, waiting for the lists lock (apt-get update does not honour
# DPkg::Lock::Timeout for it: retry while another apt holds it, up to $lock_wait seconds).
apt_update() {
	waited=0
	while ! out=$(apt_get update -qq 2>&1); do
		case $out in
		*"Could not get lock"*) ;;
		*) printf '%s\n' "$out" >&2; return 1 ;;
		esac
		[ "$waited" -lt "$lock_wait" ] || { printf '%s\n' "$out" >&2; return 1; }
		[ "$waited" -gt 0 ] || echo "deps: waiting for another apt to release its lock"
		sleep 5
		waited=$((waited + 5))
	done
}

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	apt_update
	# shellcheck disable=SC2086
	apt_get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ "$what" = test ] || exit 0

# Not in Debian bookworm at the versions the Kubernetes suites need (golang-go is 1.19,
# kubernetes-client 1.20): say what is there, what is missing and how the test command gets it.
rc=0
msg=$("$top/tests/k8s/toolchain.sh" --check 2>&1 >/dev/null) || rc=$?
printf '%s\n' "$msg" | sed 's/^toolchain.sh: /deps: /'
[ $rc -ne 3 ] || echo "deps: go: without it tests/k8s, tests/controller and tests/packaging cannot run"
if k=$(command -v kubectl 2>/dev/null); then
	echo "deps: kubectl: $k ($("$k" version --client 2>/dev/null | sed -n 's/^Client Version: //p'))"
elif [ "${VIVO_NO_TOOL_BUILD:-0}" = 1 ]; then
	echo "deps: kubectl: not on PATH, and VIVO_NO_TOOL_BUILD=1: the Kubernetes suites will skip (fail under CI=true); install kubectl >= 1.32 (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/; Debian's kubernetes-client 1.20 is too old)"
else
	echo "deps: kubectl: not on PATH; scripts/test.sh builds kubectl $(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$top/tests/k8s/tools/go.mod") from the Go modules with the control plane (tests/k8s/build.sh), cached in ${VIVO_K8S_CACHE:-\$HOME/.cache/vivo-k8s}"
fi
