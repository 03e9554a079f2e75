#!/bin/sh
# mkrootfs-debian.sh — make sure the cached Debian rootfs for the system
# tests exists, and print its path.
#
# The rootfs is `debootstrap --variant=minbase --include=PACKAGES bookworm`
# with PACKAGES = systemd,systemd-sysv,dbus,iproute2,procps (what the system
# test judges) plus libuv1,libinih1 (so that the planet binary itself runs
# inside it, for the nested test). It is built once into a temporary
# directory beside the cache and renamed into place, under a lock, at
#     $PLANET_TEST_CACHE_DIR/debian-<sha256 of suite, variant and package list>
# (PLANET_TEST_CACHE_DIR defaults to /var/cache/planet-tests). Tests never
# write into it: they mount it as the lower layer of an overlayfs, or copy it.
#
# Exit status: 0 (path on stdout), 77 when the rootfs cannot be built here
# for a reason outside the project (no debootstrap, packages cannot be
# fetched; the reason is on stderr), 1 on any other failure (log on stderr).
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -u

SUITE=bookworm
VARIANT=minbase
PACKAGES=systemd,systemd-sysv,dbus,iproute2,procps,libuv1,libinih1
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DIR=${PLANET_TEST_CACHE_DIR:-/var/cache/planet-tests}

key=$(printf '%s %s %s\n' "$SUITE" "$VARIANT" "$PACKAGES" | sha256sum | cut -c1-16)
CACHE=$DIR/debian-$key

ok() { [ -f "$CACHE/.planet-rootfs-stamp" ] && [ -x "$CACHE/lib/systemd/systemd" ]; }

if ok; then
	echo "$CACHE"
	exit 0
fi

command -v debootstrap >/dev/null 2>&1 || {
	echo "debootstrap is not installed (apt-get install debootstrap)" >&2
	exit 77
}
[ "$(id -u)" = 0 ] || { echo "building the Debian rootfs needs root" >&2; exit 77; }
mkdir -p "$DIR" || exit 1
exec 9>"$DIR/.debian.lock"
flock 9

if ok; then
	echo "$CACHE"
	exit 0
fi

tmp=$(mktemp -d "$CACHE.new.XXXXXX") || exit 1
log=$tmp.log
cleanup_tmp() {
	# debootstrap mounts proc/sys in the target; never rm through a mount.
	grep -F " $tmp/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf --one-file-system "$tmp"
	rm -f "$log"
}
trap 'cleanup_tmp; exit 1' INT TERM

t0=$(date +%s)
if ! debootstrap --variant="$VARIANT" --include="$PACKAGES" "$SUITE" "$tmp" "$MIRROR" >"$log" 2>&1; then
	if grep -q -i -E "Failed getting release file|Couldn't download|Couldn't retrieve|Could not resolve|unable to resolve|Connection refused|Network is unreachable|Temporary failure|Failed to fetch|Unable to connect" "$log"; then
		echo "debootstrap cannot fetch packages from $MIRROR:" >&2
		grep -i -E "^(E|W):|fail|couldn't" "$log" | tail -n 3 >&2
		cleanup_tmp
		exit 77
	fi
	echo "debootstrap failed; last lines of its log:" >&2
	tail -n 20 "$log" >&2
	[ -f "$tmp/debootstrap/debootstrap.log" ] && tail -n 20 "$tmp/debootstrap/debootstrap.log" >&2
	cleanup_tmp
	exit 1
fi
# Nothing of the build may stay mounted.
grep -F " $tmp/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
	while read -r m; do umount -l "$m" 2>/dev/null; done
rm -rf "$tmp/var/cache/apt/archives/"*.deb
printf 'suite=%s variant=%s packages=%s mirror=%s built=%s seconds=%s\n' \
	"$SUITE" "$VARIANT" "$PACKAGES" "$MIRROR" "$(date -u +%FT%TZ)" "$(($(date +%s) - t0))" \
	>"$tmp/.planet-rootfs-stamp"
rm -f "$log"
rm -rf "$CACHE"
mv "$tmp" "$CACHE" || { cleanup_tmp; exit 1; }
echo "$CACHE"
