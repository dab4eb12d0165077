#!/usr/bin/env bash
# build.sh: builds, once per version, the OpenTelemetry Collector test binary (tests/otelcol/main.go) into a cache outside the repo; prints the binary's path as its last line.
#
# The version comes from go.mod (go.opentelemetry.io/collector/otelcol). Cache:
# ${VIVO_OTELCOL_CACHE:-$HOME/.cache/vivo-otelcol}/otelcol-<v>-<hash of main.go, go.mod, go.sum>/bin/otelcol. Everything but the last
# line goes to stderr. When the binary exists it runs no go command at all.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/golib.sh
. "$here/../golib.sh"

VERSION=$(awk '$1 == "go.opentelemetry.io/collector/otelcol" && $2 ~ /^v[0-9]/ { print $2; exit }' "$here/go.mod")
[[ -n $VERSION ]] || die "cannot read the collector version from go.mod"

cache=${VIVO_OTELCOL_CACHE:-${HOME:-/tmp}/.cache/vivo-otelcol}
# The sources are part of the key: a changed main.go or go.sum gets its own entry.
key=$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)
dir=$cache/otelcol-$VERSION-$key
bin=$dir/bin/otelcol

# The binary is stamped with the version; a stale or broken one is rebuilt.
bin_ok() {
	[[ -x $bin ]] && [[ $("$bin" --version 2>/dev/null) == *" ${VERSION#v}" ]]
}

if bin_ok; then
	printf '%s\n' "$bin"
	exit 0
fi

mkdir -p "$dir/bin"
# One builder at a time per cache entry; a second caller waits, then finds the binary.
go_lock "$dir"
if bin_ok; then
	printf '%s\n' "$bin"
	exit 0
fi

GO=${GO:-go}
command -v "$GO" >/dev/null || die "go not found (expected Go >= 1.26 at /usr/local/go/bin)"
go_env "$dir"

build_otelcol() {
	(cd "$here" && "$GO" build -trimpath -ldflags="-s -w" -o "$tmp/otelcol" .) </dev/null
}
timed "otelcol $VERSION" build_otelcol
mv -f "$tmp/otelcol" "$bin"

bin_ok || die "$bin does not report version ${VERSION#v}"
printf 'otelcol=%s\ngo=%s\n' "$VERSION" "$("$GO" env GOVERSION)" >"$dir/VERSIONS"
log "binary: $(du -sh "$bin" | cut -f1)"
printf '%s\n' "$bin"
