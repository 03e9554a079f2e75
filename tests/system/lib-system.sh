# lib-system.sh — helpers for the system tests (a real Debian with systemd).
# Sourced after tests/lib/lib.sh (which does the root check, $T, the cleanup
# trap and box_start/box_stop); bash.
#
#   sys_setup               skip (77) unless python3 and debootstrap are here
#                           and the cached Debian rootfs exists or can be
#                           built (mkrootfs-debian.sh); sets DEBIAN_CACHE
#   debian_rootfs NAME      a fresh, private rootfs at $T/NAME/root: an
#                           overlayfs with the cache as its lower layer (the
#                           cache is never written), or a cp -a copy when
#                           overlayfs is not available; sets ROOTFS, and
#                           STATE=$T/NAME/state, SOCK=$STATE/enter.sock. Adds
#                           only the $BOX_INIT alias of systemd (see below).
#   pexec ARGS...           planet exec --socket $SOCK ARGS...
#   wait_running [SEC]      poll `systemctl is-system-running --wait` through
#                           planet exec until systemd answers (the bus needs
#                           a moment after a (re)boot); prints the answer
#   notify_listen NAME [CMD...]  start notify-listen.py on $T/NAME.sock (log
#                           $T/NAME.log); waits until bound; NOTIFY_PID set
#   notify_stop             end the last listener
#   sys_finish              end every helper, then lib.sh's finish
#   install_planet ROOTFS   put the planet binary (+ any shared library the
#                           rootfs lacks), the rendered unit file, a
#                           planet.conf and a busybox rootfs (/var/lib/inner)
#                           into ROOTFS
#   cg2_host_mount          the host's cgroup2 mount point ("" if none)
#   unhandled_signal PID    a signal PID neither blocks, catches nor is
#                           killed by (an init ignores it)
#   log_has FILE TEXT       fixed-string grep, \r removed
# shellcheck shell=bash disable=SC2034

SYS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=${TOP_SRCDIR:-$(cd "$SYS_DIR/../.." && pwd)}
SYS_PIDS=()
NOTIFY_PID=

# Background helpers of the test (notify listeners, console readers): never
# leave one behind, stopped or not.
sys_kill_helpers() {
	local p
	for p in "${SYS_PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
	for p in "${SYS_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	SYS_PIDS=()
}

sys_cleanup() {
	sys_kill_helpers
	lib_cleanup
}

sys_finish() {
	sys_kill_helpers
	finish
}

sys_setup() {
	local out rc
	command -v python3 >/dev/null 2>&1 || skip "needs python3 (fake notify socket, pty driver)"
	command -v debootstrap >/dev/null 2>&1 || skip "needs debootstrap (apt-get install debootstrap) to build the Debian rootfs"
	out=$(sh "$SYS_DIR/mkrootfs-debian.sh" 2>"$T/mkrootfs-debian.log")
	rc=$?
	if [ $rc = 77 ]; then
		skip "no Debian rootfs: $(tr '\n' ' ' <"$T/mkrootfs-debian.log")"
	elif [ $rc != 0 ] || [ ! -d "$out" ]; then
		fail "build the Debian rootfs (mkrootfs-debian.sh, status $rc)" "$(tail -n 30 "$T/mkrootfs-debian.log")"
		finish
	fi
	DEBIAN_CACHE=$out
	# Our trap also ends the notify listeners; lib_cleanup does the rest.
	trap 'sys_cleanup' EXIT
	trap 'echo "# interrupted"; sys_cleanup; trap - EXIT; exit 130' INT
	trap 'echo "# terminated"; sys_cleanup; trap - EXIT; exit 143' TERM
	echo "# Debian rootfs cache: $DEBIAN_CACHE ($(cut -d' ' -f1-3 "$DEBIAN_CACHE/.planet-rootfs-stamp" 2>/dev/null))"
}

debian_rootfs() {
	local d=$T/$1
	mkdir -p "$d/upper" "$d/work" "$d/root"
	if test_mount -t overlay "overlay-$1" \
		-o "lowerdir=$DEBIAN_CACHE,upperdir=$d/upper,workdir=$d/work" "$d/root" 2>"$d/mount.err"; then
		:
	else
		echo "# overlayfs not available ($(cat "$d/mount.err")): copying the rootfs"
		cp -a "$DEBIAN_CACHE/." "$d/root/" || return 1
	fi
	chmod 0755 "$d/root"
	rm -f "$d/root/.planet-rootfs-stamp" 2>/dev/null
	# lib.sh boots $BOX_INIT (/sbin/planet-test-init), a path that exists
	# only in test rootfses: should planet ever exec init without having
	# entered the rootfs, that fails with ENOENT instead of booting the
	# host's own systemd on the host. Here it is one symlink to the real
	# thing (in the overlay's upper layer; the rootfs is otherwise as
	# debootstrap made it).
	ln -sfn /lib/systemd/systemd "$d/root$BOX_INIT"
	ROOTFS=$d/root
	# A state dir per box: a box that failed to end cannot block the next.
	STATE=$d/state
	SOCK=$STATE/enter.sock
}

pexec() {
	"$PLANET" exec --socket "$SOCK" "$@"
}

wait_running() {
	local sec=${1:-30} end out
	end=$((${EPOCHREALTIME/./} + sec * 1000000))
	while :; do
		out=$(timeout "$sec" "$PLANET" exec --socket "$SOCK" -- systemctl is-system-running --wait 2>/dev/null)
		# "offline" is what systemctl says before systemd's private bus
		# socket exists (early boot, slower under load): keep asking.
		case $out in
		running | degraded | maintenance | stopping) break ;;
		esac
		[ "${EPOCHREALTIME/./}" -ge "$end" ] && break
		sleep 0.05
	done
	echo "$out"
}

notify_listen() {
	local name=$1
	shift
	rm -f "$T/$name.sock" "$T/$name.sock.bound" "$T/$name.log"
	python3 "$SYS_DIR/notify-listen.py" "$T/$name.sock" "$T/$name.log" "$@" </dev/null 2>>"$T/$name.err" &
	NOTIFY_PID=$!
	SYS_PIDS+=("$NOTIFY_PID")
	wait_for 10 test -e "$T/$name.sock.bound"
}

notify_stop() {
	[ -n "$NOTIFY_PID" ] || return 0
	kill -TERM "$NOTIFY_PID" 2>/dev/null
	wait "$NOTIFY_PID" 2>/dev/null
	NOTIFY_PID=
}

# First unix time in a notify log at which MSG (a whole field) arrived.
notify_time() {
	awk -v m="$2" '{ n = split($2, f, "|"); for (i = 1; i <= n; i++) if (f[i] == m) { print $1; exit } }' "$1" 2>/dev/null
}

log_has() {
	tr -d '\r' <"$1" | grep -q -F -- "$2"
}

cg2_host_mount() {
	awk '{ for (i = 7; $i != "-"; i++) ; if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo
}

# A signal that PID (an init) neither blocks, catches nor ignores-by-handler:
# the kernel drops it for a pid namespace's init, so init just goes on.
unhandled_signal() {
	local st blk cgt s n
	st=$(cat "/proc/$1/status" 2>/dev/null) || return 1
	blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' <<<"$st")
	cgt=$(sed -n 's/^SigCgt:[[:space:]]*//p' <<<"$st")
	for s in VTALRM PROF XCPU XFSZ TTIN TTOU URG STKFLT SYS; do
		n=$(kill -l "$s" 2>/dev/null) || continue
		if (((0x$blk | 0x$cgt) & (1 << (n - 1)))); then continue; fi
		echo "SIG$s"
		return 0
	done
	return 1
}

install_planet() {
	local r=$1 lib missing
	mkdir -p "$r/usr/local/bin" "$r/etc/planet" "$r/etc/systemd/system" "$r/usr/local/lib"
	install -m 0755 "$PLANET" "$r/usr/local/bin/planet" || return 1
	# A sanitizer build needs libraries the minbase rootfs does not have.
	missing=$(chroot "$r" /usr/bin/ldd /usr/local/bin/planet 2>&1 | awk '/not found/ { print $1 }')
	for lib in $missing; do
		local hp
		hp=$(ldd "$PLANET" | awk -v l="$lib" '$1 == l { print $3 }')
		[ -n "$hp" ] && cp -L "$hp" "$r/usr/local/lib/"
	done
	[ -n "$missing" ] && chroot "$r" /sbin/ldconfig
	sed -e 's|@bindir@|/usr/local/bin|g' -e 's|@sysconfdir@|/etc|g' \
		-e 's|@docdir@|/usr/local/share/doc/planet|g' \
		"$SRC_DIR/etc/planet.service.in" >"$r/etc/systemd/system/planet.service" || return 1
	cat >"$r/etc/planet/planet.conf" <<-'EOF'
		# written by tests/system/t-debian.sh: the nested box
		[box]
		rootfs = /var/lib/inner
		hostname = inner
		stop_timeout = 10
	EOF
	BUSYBOX=/bin/busybox sh "$SRC_DIR/tests/lib/mkrootfs-busybox.sh" "$r/var/lib/inner" >/dev/null || return 1
	chroot "$r" /usr/bin/ldd /usr/local/bin/planet >/dev/null 2>&1 &&
		! chroot "$r" /usr/bin/ldd /usr/local/bin/planet | grep -q "not found"
}
