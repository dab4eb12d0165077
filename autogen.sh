#!/bin/sh
# autogen.sh: generate configure and Makefile.in from a git checkout.
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --install --force
# The TAP driver is not installed by autoreconf; take the one automake ships.
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/
