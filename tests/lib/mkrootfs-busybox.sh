#!/bin/sh
# mkrootfs-busybox.sh DIR — build a minimal busybox rootfs in DIR.
#
# The rootfs is made from Debian's busybox-static (/bin/busybox, override with
# $BUSYBOX): bin/busybox plus one relative symlink per applet at the path
# `busybox --list-full` gives (bin/, sbin/, usr/bin/, usr/sbin/), with
# sbin/init -> ../bin/busybox, sbin/planet-test-init (a script that execs
# busybox init; see below); etc/passwd (root, alice 1000:1000, nobody),
# etc/group (root, alice, staff with alice as a member, nogroup), an inittab
# for busybox init that only runs etc/init.d/rcS ("box booted" on the
# console) at boot and echoes "box halting" at shutdown (no getty, nothing
# that opens tty2..4), and the empty directories a box needs.
#
# Fast and idempotent: the tree is built once into a cache
# ($PLANET_TEST_CACHE, default /var/cache/planet-tests/busybox-rootfs; rebuilt
# when this script or the busybox binary changes; guarded by flock so parallel
# tests share it) and then copied with `cp -a` into DIR. Running it again on
# the same DIR restores every file the script owns; other files in DIR are
# left alone. POSIX sh; needs coreutils and flock.
set -eu

usage() { echo "usage: $0 DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
dest=$1
[ -n "$dest" ] || usage

BUSYBOX=${BUSYBOX:-/bin/busybox}
CACHE=${PLANET_TEST_CACHE:-/var/cache/planet-tests/busybox-rootfs}
[ -x "$BUSYBOX" ] || { echo "$0: $BUSYBOX not found (apt-get install busybox-static)" >&2; exit 1; }

self=$0
case $self in /*) ;; *) self=$(pwd)/$self ;; esac

# The cache key: this script's content and the busybox binary's identity.
key="$(cksum < "$self") $(stat -L -c '%s %Y %i' "$BUSYBOX")"

build() { # build DIR
	r=$1
	chmod 0755 "$r"
	mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/etc/init.d" \
		"$r/proc" "$r/sys" "$r/dev" "$r/run" "$r/tmp" "$r/var/log" "$r/var/tmp" \
		"$r/home/alice" "$r/root" "$r/mnt"
	chmod 1777 "$r/tmp" "$r/var/tmp"
	chmod 0700 "$r/root"
	cp "$BUSYBOX" "$r/bin/busybox"
	chmod 0755 "$r/bin/busybox"
	# One symlink per applet, relative so it also resolves from the host.
	"$BUSYBOX" --list-full | while IFS= read -r p; do
		case $p in
		*/*) ;;
		*) continue ;; # linuxrc at the top: not wanted
		esac
		[ "$p" = bin/busybox ] && continue
		d=${p%/*}
		case $d in
		bin | sbin) up=.. ;;
		*) up=../.. ;;
		esac
		ln -sfn "$up/bin/busybox" "$r/$p"
	done
	ln -sfn ../bin/busybox "$r/sbin/init"
	# The init the tests boot: busybox init, at a path that exists only in
	# this rootfs, so a runtime that fails to enter the rootfs gets ENOENT
	# instead of booting the host's own /sbin/init (systemd) on the host.
	printf '#!/bin/sh\nexec /bin/busybox init "$@"\n' >"$r/sbin/planet-test-init"
	chmod 0755 "$r/sbin/planet-test-init"

	cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
	cat >"$r/etc/group" <<'EOF'
root:x:0:
alice:x:1000:
staff:x:50:alice
nogroup:x:65534:
EOF
	cat >"$r/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
alice:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
	chmod 0640 "$r/etc/shadow"
	cat >"$r/etc/inittab" <<'EOF'
# busybox init: boot, then idle; no getty, no tty2..4.
::sysinit:/etc/init.d/rcS
::shutdown:/bin/echo box halting
EOF
	cat >"$r/etc/init.d/rcS" <<'EOF'
#!/bin/sh
echo "box booted"
EOF
	chmod 0755 "$r/etc/init.d/rcS"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
	echo planet-rootfs >"$r/etc/hostname"
	chown -R 1000:1000 "$r/home/alice"
	printf '%s\n' "$key" >"$r/.planet-rootfs-stamp"
}

cache_ok() { [ -f "$CACHE/.planet-rootfs-stamp" ] && [ "$(cat "$CACHE/.planet-rootfs-stamp")" = "$key" ]; }

parent=${CACHE%/*}
if ! cache_ok; then
	mkdir -p "$parent"
	exec 9>"$parent/.lock"
	flock 9
	if ! cache_ok; then
		tmp=$(mktemp -d "$CACHE.new.XXXXXX")
		build "$tmp"
		rm -rf "$CACHE.old"
		[ -e "$CACHE" ] && mv "$CACHE" "$CACHE.old"
		mv "$tmp" "$CACHE"
		rm -rf "$CACHE.old"
	fi
	exec 9>&-
fi

mkdir -p "$dest"
cp -a "$CACHE/." "$dest/"
rm -f "$dest/.planet-rootfs-stamp"
