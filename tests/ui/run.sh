#!/bin/sh
# tests/ui/run.sh: installs what the web UI tests need, then runs the UI unit tests (Vitest) and end-to-end tests (Chromium, node --test), as TAP.
#
# Idempotent and non-interactive. Installs npm packages with `npm ci` (agent/ui, tests/ui)
# when they are missing or older than the lock file, Debian's chromium with apt when
# /usr/bin/chromium is missing, and builds agent/ui/dist/index.html when it is older than
# the sources. The end-to-end tests use the agent at $VIVO_AGENT (default agent/vivo-agent)
# and skip, saying why, when it is missing. Ends with "N passed, N failed, N skipped";
# exits non-zero when a test failed.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
UI="$ROOT/agent/ui"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

say() { printf '# %s\n' "$*"; }

npm_install() { # $1: folder with package-lock.json
	if [ ! -f "$1/node_modules/.package-lock.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
		say "npm ci in ${1#"$ROOT"/}"
		(cd "$1" && npm ci --loglevel=error --no-audit --no-fund >/dev/null)
	fi
}

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
	say "installing Debian's chromium"
	if [ "$(id -u)" -eq 0 ]; then
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || say "apt-get install chromium failed"
	elif command -v sudo >/dev/null 2>&1; then
		(sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || say "sudo apt-get install chromium failed"
	fi
fi

npm_install "$UI"
npm_install "$HERE"

# Build the page when it is missing or older than any source file.
if [ ! -f "$UI/dist/index.html" ] || [ -n "$(find "$UI/src" "$UI/index.html" "$UI/vite.config.ts" "$UI/package-lock.json" -newer "$UI/dist/index.html" 2>/dev/null | head -n 1)" ]; then
	say "building agent/ui/dist/index.html"
	(cd "$UI" && npm run --silent build) | sed 's/^/# /'
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

say "unit tests (Vitest)"
set +e
(cd "$UI" && npx --no-install vitest run --reporter=tap-flat) >"$OUT/unit.tap" 2>"$OUT/unit.err"
unit_rc=$?
set -e
cat "$OUT/unit.tap"
[ "$unit_rc" -eq 0 ] || sed 's/^/# /' "$OUT/unit.err"

say "end-to-end tests (Chromium against vivo-agent)"
set +e
(cd "$HERE" && node --test --test-concurrency=1 --test-reporter=tap e2e.test.mjs frontend.test.mjs fleet.test.mjs) >"$OUT/e2e.tap" 2>&1
e2e_rc=$?
set -e
cat "$OUT/e2e.tap"

# Totals: Vitest's flat TAP has one line per test; node's TAP ends with "# pass/fail/skipped N".
u_pass=$(grep -c '^ok ' "$OUT/unit.tap" || true)
u_fail=$(grep -c '^not ok ' "$OUT/unit.tap" || true)
u_skip=$(grep -c '^ok .*# SKIP' "$OUT/unit.tap" || true)
e_pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$OUT/e2e.tap" | tail -n 1)
e_fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$OUT/e2e.tap" | tail -n 1)
e_skip=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$OUT/e2e.tap" | tail -n 1)
e_pass=${e_pass:-0}
e_fail=${e_fail:-0}
e_skip=${e_skip:-0}
# A runner that failed without reporting a failure (crash, missing module) still fails.
[ "$unit_rc" -ne 0 ] && [ "$u_fail" -eq 0 ] && u_fail=1
[ "$e2e_rc" -ne 0 ] && [ "$e_fail" -eq 0 ] && e_fail=1

passed=$((u_pass - u_skip + e_pass))
failed=$((u_fail + e_fail))
skipped=$((u_skip + e_skip))
say "unit: $((u_pass - u_skip)) passed, $u_fail failed; e2e: $e_pass passed, $e_fail failed, $e_skip skipped"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
