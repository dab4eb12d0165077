#!/bin/sh
# run.sh: run each libFuzzer target for SECONDS over a copy of its seed corpus; fails on any crash.
# usage: run.sh SECONDS target...   (targets built with --enable-fuzzing; corpora in tests/fuzz/corpus/<name>/)
set -eu
seconds=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
status=0
work=""
trap '[ -z "$work" ] || rm -rf "$work" "$work.log"' EXIT
trap 'exit 130' INT TERM
for target in "$@"; do
	name=$(basename "$target" | sed 's/^fuzz_//')
	work=$(mktemp -d)
	cp -r "$here/corpus/$name/." "$work/" 2>/dev/null || true
	echo "== $name: ${seconds}s"
	if ! "$target" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 "$work" > "$work.log" 2>&1; then
		tail -n 60 "$work.log"
		echo "FAIL: $name"
		status=1
	else
		grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$work.log" | tail -n 2
		echo "ok: $name"
	fi
	rm -rf "$work" "$work.log"
done
exit $status
