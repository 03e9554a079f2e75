#!/bin/bash
# Install everything planet needs to build, test and benchmark on Debian 12.
# Idempotent; used by .ci/run, scripts/demo.sh and the README.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
	build-essential autoconf automake pkg-config
	libcap-dev libseccomp-dev libinih-dev libuv1-dev
	busybox-static debootstrap util-linux procps iproute2 python3 kmod
	clang libclang-rt-14-dev
	cppcheck clang-tidy valgrind
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
