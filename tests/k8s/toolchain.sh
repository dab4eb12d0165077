#!/usr/bin/env bash
# toolchain.sh: prints a go command new enough for tests/k8s: the installed one, else a pinned Go release fetched from the Go module proxy as the module golang.org/toolchain (as GOTOOLCHAIN does) into the cache.
#
# usage: tests/k8s/toolchain.sh           the go command's path on stdout (fetched first if needed)
#        tests/k8s/toolchain.sh --check   says on stderr what is there and what would be fetched;
#                                         fetches nothing; the path on stdout when one is usable
# Exit 0 with a path; with --check 2 when one would be fetched; 3 when no usable Go is there
# and none may or can be fetched, after a message saying what is missing and how to get it.
# Environment: GO (use this go command; it must be new enough), VIVO_K8S_CACHE (default
# ~/.cache/vivo-k8s; the release goes to toolchain/<release>/), VIVO_NO_TOOL_BUILD=1 (never
# fetch), GOPROXY (its first http(s) entry; default https://proxy.golang.org).
set -euo pipefail

# The release fetched when the installed Go is missing or too old, with the h1: hash of its
# module zip per architecture as sum.golang.org records it (go.sum's form), read through the
# proxy: $GOPROXY/sumdb/sum.golang.org/lookup/golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64
GO_RELEASE=go1.26.8
declare -A GO_H1=(
	[amd64]=h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=
	[arm64]=h1:sYL/O6MqS68ML0kjsQ36WoYIpJqkw60TxizWUYUKQMc=
)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VIVO_K8S_CACHE:-${HOME:-/tmp}/.cache/vivo-k8s}
dest=$cache/toolchain/$GO_RELEASE

say() { printf 'toolchain.sh: %s\n' "$*" >&2; }
missing() {
	say "$*"
	say "get one: install Go >= $need (https://go.dev/dl/; Debian bookworm's golang-go is 1.19), or let this script fetch $GO_RELEASE from the Go module proxy (unset VIVO_NO_TOOL_BUILD; needs network to proxy.golang.org and python3)"
	exit 3
}

# vnum VERSION: go1.26.8 / 1.26 / go1.26rc1 as one comparable number (a pre-release sorts
# just below its release).
vnum() {
	local v=${1#go} base maj min pat n
	base=${v%%[!0-9.]*}
	IFS=. read -r maj min pat <<<"$base"
	n=$((10#${maj:-0} * 1000000 + 10#${min:-0} * 1000 + 10#${pat:-0}))
	[[ $base == "$v" ]] || n=$((n - 1))
	echo "$n"
}

# The newest `go` directive of the modules build.sh builds (etcd 3.6.16 needs 1.26.0).
need=0.0 need_from=""
for mod in "$here/tools/go.mod" "$here/etcd/go.mod"; do
	v=$(awk '$1 == "go" { print $2; exit }' "$mod")
	[[ -n $v ]] && (($(vnum "$v") > $(vnum "$need"))) && need=$v && need_from=${mod#"$here/"}
done

# version GO: the release a go command reports ("go1.26.8"), empty if it does not run.
version() {
	(cd / && GOTOOLCHAIN=local GOFLAGS='' "$1" version 2>/dev/null) | awk '{ print $3 }'
}

# describe GO: its release, or what is wrong with it.
describe() {
	local v
	v=$(version "$1")
	echo "${v:-not a working go command}"
}

# usable GO: true if GO runs and is at least $need.
usable() {
	local v
	v=$(version "$1")
	[[ -n $v ]] && (($(vnum "$v") >= $(vnum "$need")))
}

check=0
[[ ${1:-} == --check ]] && check=1

if [[ -n ${GO:-} ]]; then
	usable "$GO" || missing "GO=$GO is $(describe "$GO"), but tests/k8s needs Go >= $need ($need_from)"
	printf '%s\n' "$(command -v "$GO")"
	exit 0
fi

seen=""
for cand in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "$dest/bin/go"; do
	[[ -n $cand && -x $cand ]] || continue
	if usable "$cand"; then
		((check)) && say "go: $cand is $(version "$cand") (tests/k8s needs >= $need, $need_from)"
		printf '%s\n' "$cand"
		exit 0
	fi
	seen+=" $cand is $(describe "$cand");"
done
found=${seen:+found:${seen%;}}
found=${found:-no go command on PATH or in /usr/local/go/bin}

case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) missing "tests/k8s needs Go >= $need ($need_from); $found; and no $GO_RELEASE hash is pinned for $(uname -m)" ;;
esac
proxy=https://proxy.golang.org
for p in $(tr ',|' '  ' <<<"${GOPROXY:-}"); do
	case $p in http://* | https://*) proxy=${p%/}; break ;; off) proxy="" ;; esac
done
ver=v0.0.1-$GO_RELEASE.linux-$arch
url=$proxy/golang.org/toolchain/@v/$ver.zip

if ((check)); then
	if [[ ${VIVO_NO_TOOL_BUILD:-0} == 1 || -z $proxy ]]; then
		missing "tests/k8s needs Go >= $need ($need_from); $found; VIVO_NO_TOOL_BUILD=1 or GOPROXY=off: nothing is fetched"
	fi
	say "go: tests/k8s needs Go >= $need ($need_from); $found"
	say "go: tests/k8s/build.sh will fetch $GO_RELEASE (golang.org/toolchain $ver, ~65 MB, ~250 MB unpacked) from $proxy into $dest"
	exit 2
fi
[[ ${VIVO_NO_TOOL_BUILD:-0} != 1 ]] || missing "tests/k8s needs Go >= $need ($need_from); $found; VIVO_NO_TOOL_BUILD=1: nothing is fetched"
[[ -n $proxy ]] || missing "tests/k8s needs Go >= $need ($need_from); $found; GOPROXY=off: nothing is fetched"
command -v python3 >/dev/null || missing "python3 is needed to check and unpack the toolchain zip (apt-get install python3)"
command -v curl >/dev/null || missing "curl is needed to fetch the toolchain zip (apt-get install curl)"
(($(vnum "$GO_RELEASE") >= $(vnum "$need"))) || missing "the pinned $GO_RELEASE is older than $need ($need_from): update GO_RELEASE and GO_H1 in ${BASH_SOURCE[0]}"

# One fetcher at a time; a second caller waits, then finds the release.
mkdir -p "$cache/toolchain"
exec 8>"$cache/toolchain/.lock"
flock 8
if [[ -x $dest/bin/go ]] && usable "$dest/bin/go"; then
	printf '%s\n' "$dest/bin/go"
	exit 0
fi
say "$found; tests/k8s needs Go >= $need ($need_from): fetching $GO_RELEASE from $url"
tmp=$(mktemp -d "$cache/toolchain/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 --connect-timeout 20 --max-time 900 -o "$tmp/go.zip" "$url" ||
	missing "could not download $url"

# Check the zip against the pinned h1: (golang.org/x/mod/sumdb/dirhash Hash1: SHA-256 over
# "<sha256 hex>  <name>\n" of every file, sorted by name), then unpack it without the module
# prefix, making bin/ and pkg/tool/ executable as the go command does after its download.
python3 - "$tmp/go.zip" "golang.org/toolchain@$ver/" "${GO_H1[$arch]}" "$tmp/go" <<'EOF' || missing "the toolchain zip from $url failed its check"
import base64, hashlib, os, sys, zipfile

path, prefix, want, out = sys.argv[1:]
with zipfile.ZipFile(path) as z:
    names = sorted(i.filename for i in z.infolist() if not i.is_dir())
    summary = "".join("%s  %s\n" % (hashlib.sha256(z.read(n)).hexdigest(), n) for n in names)
    got = "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()
    if got != want:
        sys.exit("toolchain.sh: %s: hash %s, want %s" % (path, got, want))
    for n in names:
        rel = n[len(prefix):] if n.startswith(prefix) else None
        if not rel or rel.startswith("/") or ".." in rel.split("/"):
            sys.exit("toolchain.sh: unexpected file %r in the zip" % n)
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(z.read(n))
        os.chmod(dst, 0o755 if rel.startswith(("bin/", "pkg/tool/")) else 0o644)
print("toolchain.sh: %s matches %s; %d files" % (os.path.basename(path), want, len(names)), file=sys.stderr)
EOF
rm -f "$tmp/go.zip"
rm -rf "$dest"
mv "$tmp/go" "$dest"
usable "$dest/bin/go" || missing "$dest/bin/go does not run or is not $GO_RELEASE"
say "$GO_RELEASE in $dest ($(du -sh "$dest" | cut -f1))"
printf '%s\n' "$dest/bin/go"
