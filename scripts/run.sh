#!/bin/sh
# run.sh: build vivo-agent (with its web UI) and run it on 127.0.0.1 with the embedded default config.
# usage: scripts/run.sh [vivo-agent flags...]   e.g. scripts/run.sh --demo
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh" build
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build/release
cd build/release
[ -f Makefile ] || ../../configure --quiet
make -s -j"$(nproc)"
echo "vivo-agent: UI http://127.0.0.1:8000  exporter http://127.0.0.1:2025  HTTP input :9010  Forward :9000  OTLP :4318"
exec ./agent/vivo-agent "$@"
