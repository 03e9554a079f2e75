#!/bin/sh
# mkrootfs-debian.sh — make sure the cached Debian rootfs for the system
# tests exists, and print its path.
#
# The rootfs is `debootstrap --variant=minbase --include=PACKAGES bookworm`
# with PACKAGES = systemd,systemd-sysv,dbus,iproute2,procps (what the system
# test judges) plus libuv1,libinih1,libarchive13 (so that the planet binary
# itself runs inside it, for the nested test) and python3 (what Ansible's modules run
# with, for t-ansible: one cache serves both tests). It is built once into
# a temporary directory beside the cache and renamed into place, under a
# lock, at
#     $PLANET_TEST_CACHE_DIR/debian-<sha256 of suite, variant and package list>
# (PLANET_TEST_CACHE_DIR defaults to /var/cache/planet-tests). Tests never
# write into it: they mount it as the lower layer of an overlayfs, or copy it.
#
# The cache directory is mode 0755 (mktemp -d makes 0700, and a rootfs
# whose / only root can search boots no systemd: dbus and every service
# running as another user fail; copies made with `cp -a` keep the mode).
# A cache found with another mode is set to 0755.
#
# Mirror: $DEBIAN_MIRROR when set; else the first mirror the host's apt
# sources name for SUITE's main component (/etc/apt/sources.list and
# sources.list.d/*.list one-line entries, sources.list.d/*.sources deb822
# paragraphs; http, https and file URIs); else none, and debootstrap uses
# its own default.
#
# Exit status: 0 (path on stdout), 77 when the rootfs cannot be built here
# for a reason outside the project (no debootstrap, packages cannot be
# fetched; the reason is on stderr), 1 on any other failure (log on stderr).
# Environment: DEBIAN_MIRROR, PLANET_TEST_CACHE_DIR, APT_SOURCES_DIR (where
# sources.list and sources.list.d are; default /etc/apt, for testing).
set -u

SUITE=bookworm
VARIANT=minbase
PACKAGES=systemd,systemd-sysv,dbus,iproute2,procps,libuv1,libinih1,libarchive13,python3
DIR=${PLANET_TEST_CACHE_DIR:-/var/cache/planet-tests}

# apt_mirror — the first URI of the host's apt sources that serves SUITE
# with the main component and that debootstrap can fetch from, or nothing.
apt_mirror() {
	etc=${APT_SOURCES_DIR:-/etc/apt}
	for f in "$etc/sources.list" "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		case $f in
		*.sources) deb822_mirror "$f" ;;
		*) oneline_mirror "$f" ;;
		esac
	done | grep -E '^(https?://|file:/)' | head -n 1
}
# "deb [opts] URI SUITE COMPONENT..." lines
oneline_mirror() {
	sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$1" | awk -v suite="$SUITE" '
		$1 == "deb" && $3 == suite {
			for (i = 4; i <= NF; i++) if ($i == "main") print $2
		}'
}
# deb822 paragraphs: Types, URIs, Suites, Components, Enabled
deb822_mirror() {
	awk -v suite="$SUITE" '
		function has(list, w,   n, a, i) {
			n = split(list, a, /[ \t]+/)
			for (i = 1; i <= n; i++) if (a[i] == w) return 1
			return 0
		}
		function judge(   n, u, i) {
			if (has(f["types"], "deb") && has(f["suites"], suite) &&
			    has(f["components"], "main") && tolower(f["enabled"]) != "no") {
				n = split(f["uris"], u, /[ \t]+/)
				for (i = 1; i <= n; i++) if (u[i] != "") print u[i]
			}
			delete f
			key = ""
		}
		/^#/ { next }
		/^[ \t]*$/ { judge(); next }
		/^[ \t]/ { if (key != "") f[key] = f[key] " " $0; next }
		# (a continuation line adds to the field above it)
		{
			key = tolower(substr($0, 1, index($0, ":") - 1))
			v = substr($0, index($0, ":") + 1)
			sub(/^[ \t]+/, "", v)
			f[key] = v
		}
		END { judge() }' "$1"
}
MIRROR=${DEBIAN_MIRROR:-$(apt_mirror)}

key=$(printf '%s %s %s\n' "$SUITE" "$VARIANT" "$PACKAGES" | sha256sum | cut -c1-16)
CACHE=$DIR/debian-$key

ok() { [ -f "$CACHE/.planet-rootfs-stamp" ] && [ -x "$CACHE/lib/systemd/systemd" ]; }
# A cache built before the mode was set is 0700: fix it where it is.
mode_ok() {
	[ "$(stat -c %a "$CACHE")" = 755 ] || chmod 0755 "$CACHE" || {
		echo "cannot make $CACHE mode 0755" >&2
		exit 1
	}
}

if [ "${1:-}" = --print-mirror ]; then # for the tests: the mirror chosen
	if [ -n "$MIRROR" ]; then echo "$MIRROR"; else echo "(debootstrap's default)"; fi
	exit 0
fi

if ok; then
	mode_ok
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
	mode_ok
	echo "$CACHE"
	exit 0
fi

tmp=$(mktemp -d "$CACHE.new.XXXXXX") || exit 1
chmod 0755 "$tmp" || exit 1
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
# No mirror argument: debootstrap's default.
if ! debootstrap --variant="$VARIANT" --include="$PACKAGES" "$SUITE" "$tmp" ${MIRROR:+"$MIRROR"} >"$log" 2>&1; then
	if grep -q -i -E "Failed getting release file|Couldn't download|Couldn't retrieve|Could not resolve|unable to resolve|Connection refused|Network is unreachable|Temporary failure|Failed to fetch|Unable to connect" "$log"; then
		echo "debootstrap cannot fetch packages from ${MIRROR:-its default mirror}:" >&2
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
	"$SUITE" "$VARIANT" "$PACKAGES" "${MIRROR:-default}" "$(date -u +%FT%TZ)" "$(($(date +%s) - t0))" \
	>"$tmp/.planet-rootfs-stamp"
rm -f "$log"
rm -rf "$CACHE"
mv "$tmp" "$CACHE" || { cleanup_tmp; exit 1; }
echo "$CACHE"
