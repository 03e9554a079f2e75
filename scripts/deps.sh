#!/bin/bash
# Install everything planet needs to build and test on Debian 12; with
# --bench, also what the benchmarks (bench/*.sh) compare against.
# Idempotent; used by .ci/run, scripts/demo.sh and the README.
#
#   scripts/deps.sh            build and test dependencies
#   scripts/deps.sh --bench    the same plus the benchmark list below
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
bench=0
case ${1:-} in
--bench) bench=1 ;;
"") ;;
*) echo "usage: scripts/deps.sh [--bench]" >&2; exit 2 ;;
esac
pkgs=(
	build-essential autoconf automake pkg-config
	libcap-dev libseccomp-dev libinih-dev libuv1-dev
	busybox-static debootstrap util-linux procps iproute2 python3 kmod
	clang libclang-rt-14-dev
	cppcheck clang-tidy valgrind
)
# ---- benchmarks only (--bench) -------------------------------------------------
# What bench/start.sh, exec.sh and systemd.sh run planet against, and their
# timer: hyperfine; runc (start, exec); lxc (exec: lxc-start, lxc-attach);
# systemd-container (systemd.sh: systemd-nspawn). Their helpers need gcc and
# a static libc (build-essential above brings both).
bench_pkgs=(
	hyperfine runc lxc systemd-container python3-minimal
)
[ $bench = 1 ] && pkgs+=("${bench_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
