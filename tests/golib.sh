# shellcheck shell=bash
# golib.sh: sourced by the build.sh of the Go-built test peers (tests/otelcol, tests/k8s): their log lines, one builder per cache entry, and the environment every Go build there runs in.

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# go_lock DIR: waits until this process is the only builder of the cache entry DIR (made if
# missing); the lock is held on fd 9 until the script exits.
go_lock() {
	mkdir -p "$1"
	exec 9>"$1/.lock"
	flock 9
}

# go_env DIR: exports the build settings for $GO, logs its version, makes $tmp (a folder in DIR,
# removed when the script exits) and lowers this process's CPU priority.
go_env() {
	export GOTOOLCHAIN=local CGO_ENABLED=0
	# readonly: the build must never rewrite the committed go.mod/go.sum; no VCS stamping (the
	# repo may have no commits and the binaries must not depend on it).
	export GOFLAGS="-mod=readonly -buildvcs=false"
	log "$("$GO" version); cache $1"
	tmp=$(mktemp -d "$1/tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# The build shares the machine with other work: lowest CPU priority for it and its children.
	renice -n 19 -p $$ >/dev/null 2>&1 || true
}

# timed NAME CMD...: runs CMD (or a function), its output to stderr, and logs how long it took.
timed() {
	local name=$1 t0=$SECONDS
	shift
	log "building $name ..."
	"$@" >&2
	log "built $name in $((SECONDS - t0)) s"
}
