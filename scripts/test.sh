#!/usr/bin/env bash
# test.sh: build Vivo with ASan+UBSan and -Werror, run every test suite, check the run left nothing in /tmp; ends with "N passed, N failed, N skipped".
# usage: scripts/test.sh
# Environment:
#   FUZZ_SECONDS=N        seconds per fuzz target in the smoke run (default 20; 0 leaves it out)
#   CI=true               (set by .ci/run) a skipped test or suite counts as a failure: in CI a
#                         missing tool must fail the run, not thin it out
#   VIVO_NO_TOOL_BUILD=1  use only the Go and kubectl installed: fetch no Go toolchain and build
#                         no kubectl (the Kubernetes suites then skip, or fail under CI=true)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

# Temporary files. Where a mount namespace can be had (root), the run gets a /tmp of its own:
# a fresh folder bind-mounted on /tmp in a private mount namespace, so whatever any test writes
# to /tmp (through TMPDIR or by a literal path) lands there, nothing of another process does,
# and what is left at the end is exactly this run's. Elsewhere the run gets its own TMPDIR, and
# /tmp is compared before and after, which then also sees what other processes made meanwhile.
# A checkout that lies under /tmp (a CI clone in /tmp/ci-clone, say) would be hidden by the
# private /tmp, so it takes the second way.
under_tmp=0
case "$(realpath "$top")/" in /tmp/*) under_tmp=1 ;; esac
if [ -z "${VIVO_TEST_PRIVATE_TMP:-}" ] && [ "$under_tmp" = 0 ] && [ "$(id -u)" = 0 ] &&
	command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
	outer_tmp=$(mktemp -d /tmp/vivo-testrun.XXXXXX) || exit 1
	VIVO_TEST_PRIVATE_TMP=$outer_tmp unshare -m --propagation private "$top/scripts/test.sh" "$@"
	rc=$?
	rm -rf "$outer_tmp"
	exit $rc
fi
ci=0
case ${CI:-} in true | 1 | yes) ci=1 ;; esac
mkdir -p build
results=build/test-results
: >"$results"
log() { printf '%s\n' "== $*"; }
# result KIND SUITE [DETAIL]: one line of the tally (KIND: PASS, XFAIL, FAIL, XPASS, ERROR, SKIP).
result() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$results"; }

# What is left in run_tmp at the end, or (without a private /tmp) new in /tmp, fails the run.
if [ -n "${VIVO_TEST_PRIVATE_TMP:-}" ]; then
	mount --bind "$VIVO_TEST_PRIVATE_TMP" /tmp || exit 1
	run_tmp=/tmp
	: >build/tmp-before
else
	find /tmp -mindepth 1 -maxdepth 1 -printf '%f\n' | sort >build/tmp-before
	run_tmp=$(mktemp -d /tmp/vivo-testrun.XXXXXX) || exit 1
	trap 'rm -rf "$run_tmp"' EXIT
fi
export TMPDIR=$run_tmp

"$top/scripts/deps.sh" test || exit 1
fuzz_seconds=${FUZZ_SECONDS:-20}
jobs=$(nproc)

if ! { [ -x configure ] && [ configure -nt configure.ac ] && [ configure -nt Makefile.am ]; }; then
	./autogen.sh >build/autogen.log 2>&1 || { cat build/autogen.log; exit 1; }
fi

# 0. kubectl for the Kubernetes suites: the installed one, else the one tests/k8s/build.sh
# builds with the control plane (cached in ~/.cache/vivo-k8s), added at the end of PATH.
if ! command -v kubectl >/dev/null 2>&1 && [ "${VIVO_NO_TOOL_BUILD:-0}" != 1 ]; then
	log "kubectl is not on PATH: building it with tests/k8s/build.sh (first time: see tests/k8s/README.md)"
	if k8s_bin=$(tests/k8s/build.sh </dev/null 2>build/k8s-build.log | tail -n 1) && [ -x "$k8s_bin/kubectl" ]; then
		PATH=$PATH:$k8s_bin
		export PATH
		echo "  using $k8s_bin/kubectl"
	else
		tail -n 20 build/k8s-build.log | sed 's/^/  /'
	fi
fi

# 1. The main build and `make check` (unit and black-box tests), under the sanitizers.
log "build (ASan+UBSan, -Werror) and make check"
mkdir -p build/check
( cd build/check &&
  { [ -f Makefile ] || ../../configure --quiet --enable-debug --enable-werror --enable-sanitizers=address,undefined; } &&
  make -s -j"$jobs" &&
  ASAN_OPTIONS=detect_leaks=1 make -s -j"$jobs" check ) > build/check.log 2>&1
status=$?
grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP|XFAIL):' build/check.log | sed 's/^/  /' | grep -v '^  PASS' || true
# One tally line per result from each .trs; a skip takes its reason from the test's log
# ("SKIP: suite N - name # SKIP why", or "SKIP: suite - why" for a "1..0 # SKIP why" plan).
while IFS= read -r trs; do
	suite=${trs#build/check/}
	suite=${suite%.trs}
	awk -v s="$suite" '
		FILENAME == ARGV[1] {
			if (/^SKIP: /) {
				sub(/^SKIP: [^ ]+ */, ""); sub(/^[0-9]+ */, ""); sub(/^- */, ""); sub(/ *# SKIP:? */, ": ")
				why[++n] = $0
			}
			next
		}
		/^:test-result: / {
			if ($2 == "SKIP") printf "SKIP\t%s\t%s\n", s, (++k <= n && why[k] != "") ? why[k] : "no reason given"
			else printf "%s\t%s\t\n", $2, s
		}' "$([ -f "${trs%.trs}.log" ] && echo "${trs%.trs}.log" || echo /dev/null)" "$trs" >>"$results"
done < <(find build/check -name '*.trs' | sort)
if [ $status -ne 0 ] && ! grep -qE '^(FAIL|ERROR)'$'\t' "$results"; then
	tail -n 40 build/check.log
	result FAIL "make check" "the build or the test harness failed (build/check.log)"
fi

# 2. libFuzzer smoke run of every target (clang, ASan+UBSan).
if [ "$fuzz_seconds" -gt 0 ]; then
	log "fuzz targets, ${fuzz_seconds}s each"
	mkdir -p build/fuzz
	if ( cd build/fuzz &&
	     { [ -f Makefile ] || CC=clang ../../configure --quiet --enable-fuzzing --enable-sanitizers=address,undefined --disable-ui; } &&
	     make -s -j"$jobs" fuzz FUZZ_SECONDS="$fuzz_seconds" ) > build/fuzz.log 2>&1; then :; fi
	grep -E '^(ok|FAIL): ' build/fuzz.log | sed 's/^/  /'
	sed -n 's/^ok: \([^ ]*\).*/PASS\tfuzz\t\1/p; s/^FAIL: \([^ ]*\).*/FAIL\tfuzz\t\1/p' build/fuzz.log >>"$results"
	grep -qE '^(ok|FAIL): ' build/fuzz.log || { tail -n 30 build/fuzz.log; result FAIL fuzz "no target ran (build/fuzz.log)"; }
fi

# 3. Suites with their own runners (web UI in Chromium, Kubernetes control plane), when present.
# Each prints TAP: "ok", "not ok", "ok N - name # SKIP why", or "1..0 # SKIP why" for a
# suite that cannot run at all (one skip, with its reason).
for suite in tests/k8s/selftest.sh tests/ui/run.sh tests/controller/run.sh tests/packaging/run.sh; do
	[ -x "$suite" ] || continue
	log "$suite"
	out="build/$(basename "$(dirname "$suite")").log"
	VIVO_AGENT="$top/build/check/agent/vivo-agent" VIVO_BUILD="$top/build/check" "$suite" </dev/null >"$out" 2>&1
	rc=$?
	grep -E '^(not ok|1\.\.0|Bail out!)|^ok .*# SKIP' "$out" | grep -v '# TODO' | sed 's/^/  /'
	awk -v s="$suite" '
		/^ok .*# SKIP/ { d = $0; sub(/^ok [0-9]* *-? */, "", d); sub(/ *# SKIP:? */, ": ", d); printf "SKIP\t%s\t%s\n", s, d; next }
		/^ok / { printf "PASS\t%s\t\n", s; next }
		/^not ok .*# TODO/ { next }
		/^not ok / { d = $0; sub(/^not ok [0-9]* *-? */, "", d); printf "FAIL\t%s\t%s\n", s, d; next }
		/^1\.\.0([ #]|$)/ { d = $0; sub(/^1\.\.0 *(# *(SKIP:?)? *)?/, "", d); printf "SKIP\t%s\t%s\n", s, d == "" ? "no reason given" : d }
	' "$out" >>"$results"
	if [ $rc -ne 0 ] && ! grep -q "^FAIL"$'\t'"$suite"$'\t' "$results"; then
		tail -n 30 "$out" | sed 's/^/  /'
		why=$(grep -m 1 '^Bail out!' "$out")
		result FAIL "$suite" "${why:-exited with status $rc without a failing test ($out)}"
	fi
done

# 4. Nothing left behind: the run's /tmp (or TMPDIR) must be empty, and without a private /tmp
# the real one must hold nothing new (other runs' vivo-testrun.* folders aside).
log "temporary files"
left=0
if [ "$run_tmp" = /tmp ]; then
	where="/tmp (this run's own)"
else
	where="\$TMPDIR"
fi
while IFS= read -r e; do
	[ -n "$e" ] || continue
	echo "  left in $where: $e"
	result FAIL "temporary files" "left in $where: $e"
	left=1
done < <(find "$run_tmp" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)
if [ "$run_tmp" != /tmp ]; then
	while IFS= read -r e; do
		[ -n "$e" ] || continue
		echo "  new in /tmp: /tmp/$e (this run's, or another process's made meanwhile)"
		result FAIL "temporary files" "new in /tmp: /tmp/$e"
		left=1
	done < <(find /tmp -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | comm -13 build/tmp-before - | grep -v '^vivo-testrun\.')
fi
if [ $left -eq 0 ]; then
	echo "  nothing left in $where"
	result PASS "temporary files"
else
	# Out of /tmp, but kept for a look: what a failing test left is often its evidence.
	keep=build/tmp-left/$(date +%Y%m%dT%H%M%S)
	mkdir -p "$keep"
	find "$run_tmp" -mindepth 1 -maxdepth 1 -exec mv -t "$keep" {} + && echo "  moved to $keep"
fi

# Summary: every skip and failure by suite, then the counts. Under CI=true a skip is a failure.
if [ $ci -eq 1 ]; then
	sed -i 's/^SKIP\t\([^\t]*\)\t/FAIL\t\1\tskipped, and CI=true makes a skip a failure: /' "$results"
fi
log "summary"
awk -F '\t' '$1 == "SKIP" { printf "  skipped: %s: %s\n", $2, $3 }' "$results"
awk -F '\t' '$1 ~ /^(FAIL|XPASS|ERROR)$/ { printf "  failed: %s%s\n", $2, $3 == "" ? "" : ": " $3 }' "$results" |
	uniq -c | sed 's/^ *1 //; s/^ *\([0-9][0-9]*\) \(.*\)/\2 (x\1)/'
passed=$(grep -cE '^(PASS|XFAIL)'$'\t' "$results")
failed=$(grep -cE '^(FAIL|XPASS|ERROR)'$'\t' "$results")
skipped=$(grep -cE '^SKIP'$'\t' "$results")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
