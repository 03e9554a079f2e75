#!/bin/bash
# Configure and build planet out of tree in ./build (or $BUILD_DIR).
# Extra arguments go to ./configure (e.g. --enable-sanitizers).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
cd "$top"
[ -x configure ] || ./autogen.sh
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" "$@"
make -j"$(nproc)"
