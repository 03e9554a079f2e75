#!/bin/bash
# Install what planet needs on Debian 12 (apt-get; idempotent; as root).
#   scripts/deps.sh          build: compiler, autotools, the five libraries,
#                            scdoc (man pages), bash-completion (its dir)
#   scripts/deps.sh --demo   build + busybox-static (scripts/demo.sh's rootfs)
#   scripts/deps.sh --test   build + everything the tests, the lint and the
#                            sanitizer build use (.ci/run)
#   scripts/deps.sh --bench  build + what the benchmarks (bench/*.sh) compare
#                            planet against (.ci/run's quick run)
#   scripts/deps.sh --deb    build + what dpkg-buildpackage and lintian need
# The flags combine.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
build=(
	build-essential autoconf automake pkg-config
	libcap-dev libseccomp-dev libinih-dev libuv1-dev libarchive-dev
	scdoc bash-completion
)
deb=(debhelper dpkg-dev fakeroot lintian)
demo=(busybox-static)
test=(
	busybox-static debootstrap util-linux procps iproute2 python3 kmod socat
	openssh-server openssh-client
	clang libclang-rt-14-dev
	cppcheck clang-tidy valgrind
	ansible-core
)
# What bench/start.sh, exec.sh and systemd.sh run planet against, and their
# timer: hyperfine; runc (start, exec); lxc (exec: lxc-start, lxc-attach);
# systemd-container (systemd.sh: systemd-nspawn). Their helpers need gcc and
# a static libc (build-essential brings both).
# remote.sh: openssh-server and openssh-client (ssh against planet -H ssh://).
bench=(hyperfine runc lxc systemd-container python3-minimal busybox-static openssh-server openssh-client)
pkgs=("${build[@]}")
for arg in "$@"; do
	case "$arg" in
	--demo) pkgs+=("${demo[@]}") ;;
	--test) pkgs+=("${test[@]}") ;;
	--bench) pkgs+=("${bench[@]}") ;;
	--deb) pkgs+=("${deb[@]}") ;;
	*)
		echo "usage: scripts/deps.sh [--demo] [--test] [--bench] [--deb]" >&2
		exit 2
		;;
	esac
done
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "deps: installing ${missing[*]} needs root: run it as root (or with sudo)" >&2; exit 1; }
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
