#!/usr/bin/env bash
# test.sh: build Vivo with ASan+UBSan and -Werror and run every test suite; ends with "N passed, N failed".
# usage: scripts/test.sh        (FUZZ_SECONDS=20 by default for the fuzz smoke run; 0 skips it)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
"$top/scripts/deps.sh" test || exit 1
fuzz_seconds=${FUZZ_SECONDS:-20}
jobs=$(nproc)
results=$(mktemp)
log() { printf '%s\n' "== $*"; }

[ -x configure ] && [ configure -nt configure.ac ] && [ configure -nt Makefile.am ] || ./autogen.sh >/dev/null || exit 1

# 1. The main build and `make check` (unit and black-box tests), under the sanitizers.
log "build (ASan+UBSan, -Werror) and make check"
mkdir -p build/check
( cd build/check &&
  { [ -f Makefile ] || ../../configure --quiet --enable-debug --enable-werror --enable-sanitizers=address,undefined; } &&
  make -s -j"$jobs" &&
  ASAN_OPTIONS=detect_leaks=1 make -s -j"$jobs" check ) > build/check.log 2>&1
status=$?
grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP|XFAIL):' build/check.log | sed 's/^/  /' | grep -v '^  PASS' || true
find build/check -name '*.trs' -exec cat {} + | sed -n 's/^:test-result: //p' > "$results"
if [ $status -ne 0 ] && ! grep -qE 'FAIL|ERROR' "$results"; then
	tail -n 40 build/check.log
	echo "FAIL" >> "$results"   # the build itself failed
fi

# 2. libFuzzer smoke run of every target (clang, ASan+UBSan).
if [ "$fuzz_seconds" -gt 0 ]; then
	log "fuzz targets, ${fuzz_seconds}s each"
	mkdir -p build/fuzz
	if ( cd build/fuzz &&
	     { [ -f Makefile ] || CC=clang ../../configure --quiet --enable-fuzzing --enable-sanitizers=address,undefined --disable-ui; } &&
	     make -s -j"$jobs" fuzz FUZZ_SECONDS="$fuzz_seconds" ) > build/fuzz.log 2>&1; then :; fi
	grep -E '^(ok|FAIL): ' build/fuzz.log | sed 's/^/  /'
	grep -c '^ok: ' build/fuzz.log | awk '{ for (i = 0; i < $1; i++) print "PASS" }' >> "$results"
	grep -c '^FAIL: ' build/fuzz.log | awk '{ for (i = 0; i < $1; i++) print "FAIL" }' >> "$results"
	grep -qE '^(ok|FAIL): ' build/fuzz.log || { tail -n 30 build/fuzz.log; echo FAIL >> "$results"; }
fi

# 3. Suites with their own runners (web UI in Chromium, Kubernetes control plane), when present.
for suite in tests/k8s/selftest.sh tests/ui/run.sh tests/controller/run.sh tests/packaging/run.sh; do
	[ -x "$suite" ] || continue
	log "$suite"
	VIVO_AGENT="$top/build/check/agent/vivo-agent" VIVO_BUILD="$top/build/check" "$suite" > "build/$(basename "$(dirname "$suite")").log" 2>&1
	rc=$?
	out="build/$(basename "$(dirname "$suite")").log"
	grep -E '^(not ok|ok) ' "$out" | grep -v '^ok' | sed 's/^/  /'
	{
		grep -E '^ok ' "$out" | grep -v '# SKIP' | sed 's/.*/PASS/'
		grep -E '^ok .*# SKIP' "$out" | sed 's/.*/SKIP/'
		grep -E '^not ok ' "$out" | sed 's/.*/FAIL/'
	} >> "$results"
	if [ $rc -ne 0 ] && ! grep -qE '^not ok ' "$out"; then tail -n 30 "$out"; echo FAIL >> "$results"; fi
done

passed=$(grep -cE '^(PASS|XFAIL)$' "$results")
failed=$(grep -cE '^(FAIL|XPASS|ERROR)$' "$results")
skipped=$(grep -cE '^SKIP$' "$results")
rm -f "$results"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
