#!/bin/bash
# Install what planet needs on Debian 12 (apt-get; idempotent; as root).
#   scripts/deps.sh          build: compiler, autotools, the four libraries
#   scripts/deps.sh --demo   build + busybox-static (scripts/demo.sh's rootfs)
#   scripts/deps.sh --test   build + everything the tests, the lint, the
#                            sanitizer build and the benchmarks use (.ci/run)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
build=(
	build-essential autoconf automake pkg-config
	libcap-dev libseccomp-dev libinih-dev libuv1-dev
)
demo=(busybox-static)
test=(
	busybox-static debootstrap util-linux procps iproute2 python3 kmod socat
	clang libclang-rt-14-dev
	cppcheck clang-tidy valgrind
)
pkgs=("${build[@]}")
case "${1:-}" in
"") ;;
--demo) pkgs+=("${demo[@]}") ;;
--test) pkgs+=("${test[@]}") ;;
*)
	echo "usage: scripts/deps.sh [--demo|--test]" >&2
	exit 2
	;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "deps: installing ${missing[*]} needs root: run it as root (or with sudo)" >&2; exit 1; }
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
