#!/usr/bin/env bash
# checks.sh: the data-path checks shared by kind/e2e.sh (through port-forwards) and tests/packaging/run.sh (against a local agent): send one record over HTTP and one over Forward, read both back from the exporter (2025) and through the UI port (8000).
#
# Source it, then:
#   vivo_send_http     HTTP_PORT    RUN_ID   POST {"e2e":"http","run":RUN_ID} to the HTTP input
#   vivo_send_forward  FORWARD_PORT RUN_ID   one Forward message (msgpack [tag, time, record])
#   vivo_expect_logs   EXPORTER_PORT UI_PORT RUN_ID [SECONDS]
#                                            both records readable from 2025 /logs and from
#                                            8000 /api/v1/logs within SECONDS (default 30)
#   vivo_expect_ui     UI_PORT               the web UI page is served on /
# Each returns non-zero with a message on stderr; every port is on 127.0.0.1.

vivo_send_http() {
	local port=$1 run=$2
	curl -fsS --max-time 10 -XPOST -H 'Content-Type: application/json' \
		-d "{\"e2e\":\"http\",\"run\":\"$run\"}" "http://127.0.0.1:$port/e2e.http"
}

# vivo__mpstr STR: STR as a msgpack string (fixstr or str8: up to 255 bytes), as printf escapes.
vivo__mpstr() {
	local s=$1 n=${#1}
	if ((n < 32)); then
		printf '\\x%02x' $((0xa0 | n))
	else
		printf '\\xd9\\x%02x' "$n"
	fi
	local i
	for ((i = 0; i < n; i++)); do
		printf '\\x%02x' "'${s:i:1}"
	done
}

# vivo_send_forward PORT RUN_ID: the Forward protocol's Message mode, [tag, time, record],
# built by hand (no msgpack library needed), then the connection is closed.
vivo_send_forward() {
	local port=$1 run=$2 t msg
	t=$(date +%s)
	msg='\x93'$(vivo__mpstr e2e.forward)
	msg+=$(printf '\\xce\\x%02x\\x%02x\\x%02x\\x%02x' $((t >> 24 & 255)) $((t >> 16 & 255)) $((t >> 8 & 255)) $((t & 255)))
	msg+='\x82'$(vivo__mpstr e2e)$(vivo__mpstr forward)$(vivo__mpstr run)$(vivo__mpstr "$run")
	(
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
		# shellcheck disable=SC2059 # the format is the message, made of escapes only
		printf "$msg" >&3
		exec 3>&-
	)
}

# vivo__has URL RUN_ID: the body at URL holds both records of RUN_ID.
vivo__has() {
	local body
	body=$(curl -fsS --max-time 10 "$1") || return 1
	[[ $body == *'"e2e":"http","run":"'"$2"'"'* && $body == *'"e2e":"forward","run":"'"$2"'"'* ]]
}

vivo_expect_logs() {
	local exporter=$1 ui=$2 run=$3 deadline=$((SECONDS + ${4:-30})) url
	for url in "http://127.0.0.1:$exporter/logs" "http://127.0.0.1:$ui/api/v1/logs"; do
		until vivo__has "$url" "$run"; do
			if ((SECONDS >= deadline)); then
				echo "checks.sh: $url does not hold both records of run $run:" >&2
				curl -sS --max-time 10 "$url" | head -c 2000 >&2
				echo >&2
				return 1
			fi
			sleep 0.5
		done
	done
}

vivo_expect_ui() {
	local page
	page=$(curl -fsS --max-time 10 "http://127.0.0.1:$1/") || return 1
	[[ $page == *'<html'* || $page == *'<!doctype html'* || $page == *'<!DOCTYPE html'* ]] || {
		echo "checks.sh: :$1/ is not an HTML page" >&2
		return 1
	}
}
