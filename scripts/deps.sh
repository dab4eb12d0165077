#!/bin/sh
# deps.sh: install what building and testing Vivo needs on Debian (idempotent; root or sudo).
# usage: scripts/deps.sh [build|test]
set -eu
what=${1:-build}
build_pkgs="build-essential autoconf automake libtool pkg-config gzip curl ca-certificates
 libmicrohttpd-dev libmsgpack-dev libjansson-dev libyaml-dev libcurl4-openssl-dev zlib1g-dev
 libssl-dev libzstd-dev libonig-dev libsnappy-dev libgnutls28-dev libnghttp2-dev"
test_pkgs="clang libclang-rt-14-dev python3 python3-fluent-logger python3-snappy python3-zstandard zstd python3-h2 wrk valgrind openssl
 chromium shellcheck yamllint"
pkgs=$build_pkgs
[ "$what" = test ] && pkgs="$pkgs $test_pkgs"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "deps: installing$missing"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
