#!/bin/bash
# t-guardrails: the guard rails of the default box (docs/SECURITY.md), each
# checked by running the attack or the accident from inside a busybox box:
#   - a static probe, started with `planet exec` (so under the box's
#     bounding set and seccomp filter), calls every denied system call and
#     prints its errno: keyctl reading a key planted in the host root's user
#     key ring, request_key finding it, swapoff of a swap area the host has
#     on, swapon of another, bpf, system-wide perf_event_open, module
#     loading and unloading, kexec, fanotify, quotactl, open_by_handle_at,
#     umount -f, acct, syslog, ioperm/iopl, pkeys, modify_ldt, the obsolete
#     calls and the clock calls; each must be EPERM (an audit netlink socket
#     EAFNOSUPPORT), the key must not leak, the host's swap must not change;
#   - init's bounding set (CapBnd) lacks the dropped capabilities and has the
#     kept ones, and an exec session has the same set;
#   - the masked /proc files (kallsyms, kcore, keys, timer_list,
#     sysrq-trigger, sched_debug, latency_stats) read empty, /proc/keys does
#     not show the host's key, masked /sys dirs are empty; /proc/acpi, asound,
#     bus, fs, irq and scsi are read-only (each check only where the host has
#     the path);
#   - a supervisor started with inheritable capabilities (capsh --inh) does
#     not pass the dropped ones to init or a session;
#   - `capabilities = all` (INI) gives the old bounding set (everything but
#     CAP_AUDIT_*) and lets the calls of those capabilities through, while
#     the calls no box needs stay denied; `writable_sys = true` makes the
#     read-only /proc dirs writable, the masks stay.
# The probe's calls are harmless when they get through (NULL or read-only
# arguments, images the kernel refuses), except the swap and key ring
# attacks, which work on a swap file and a key of the test's own (removed
# at the end however the test ends).
# shellcheck disable=SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"

for t in gcc mkswap swapon swapoff; do
	command -v "$t" >/dev/null 2>&1 || skip "needs $t"
done

cat >"$T/probe.c" <<'PROBE'
/* probe: the attacks of t-guardrails, run inside a box through planet exec.
 *   probe plant DESC SECRET   (host) add a key to root's user key ring
 *   probe unplant ID          (host) invalidate it
 *   probe calls DESC ACTIVE_SWAP SPARE_SWAP
 *                             (box) each call; one "name RESULT [detail]" line
 *                             each, RESULT = OK or the errno name */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/quota.h>
#include <sys/socket.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, long r, const char *detail)
{
	if (r < 0)
		printf("%s %s\n", name, strerrorname_np(errno));
	else
		printf("%s OK%s%s\n", name, detail ? " " : "", detail ? detail : "");
}

#define RAW(name, ...) report(#name, syscall(SYS_##name, __VA_ARGS__), NULL)

static void keyring_attack(const char *desc)
{
	char secret[128] = "";
	long id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0);
	long n = id < 0 ? -1 : syscall(SYS_keyctl, KEYCTL_READ, id, secret, sizeof secret - 1);
	if (n >= 0)
		secret[n < (long)sizeof secret - 1 ? n : (long)sizeof secret - 1] = 0;
	report("keyctl", n, secret); /* the host root's secret, if it worked */
	report("add_key", syscall(SYS_add_key, "user", "planet-probe", "x", 1,
				  KEY_SPEC_PROCESS_KEYRING), NULL);
	report("request_key", syscall(SYS_request_key, "user", desc, NULL,
				      KEY_SPEC_PROCESS_KEYRING), NULL);
}

static void kernel_attack(void)
{
	union bpf_attr a = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
			     .max_entries = 1 };
	report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a), NULL);
	/* System-wide counting on CPU 0: the whole host, not the box. */
	struct perf_event_attr pe = { .type = PERF_TYPE_SOFTWARE, .size = sizeof pe,
				      .config = PERF_COUNT_SW_CPU_CLOCK, .disabled = 1 };
	report("perf_event_open", syscall(SYS_perf_event_open, &pe, -1, 0, -1, 0), NULL);
	/* Images and names that the kernel would refuse anyway: harmless if
	 * the call gets through, but then it does not say EPERM. */
	static char junk[64];
	report("init_module", syscall(SYS_init_module, junk, sizeof junk, ""), NULL);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	report("finit_module", syscall(SYS_finit_module, null, "", 0), NULL);
	report("delete_module", syscall(SYS_delete_module, "planet_no_such_module", O_NONBLOCK), NULL);
	RAW(kexec_load, 0, 0, NULL, 0xdead0000UL);
	RAW(kexec_file_load, -1, -1, 0, "", ~0UL);
	report("fanotify_init", fanotify_init(FAN_CLASS_NOTIF, O_RDONLY), NULL);
	RAW(fanotify_mark, -1, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, "/");
	report("quotactl", quotactl(QCMD(Q_SYNC, USRQUOTA), NULL, 0, NULL), NULL);
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	RAW(quotactl_fd, root, QCMD(Q_SYNC, USRQUOTA), 0, NULL);
	struct {
		struct file_handle h;
		unsigned char buf[MAX_HANDLE_SZ];
	} fh = { .h.handle_bytes = MAX_HANDLE_SZ };
	int mnt;
	if (name_to_handle_at(AT_FDCWD, "/", &fh.h, &mnt, 0) < 0)
		fh.h.handle_bytes = 8;
	report("open_by_handle_at", open_by_handle_at(root, &fh.h, O_RDONLY), NULL);
	report("umount2_force", umount2("/tmp", MNT_FORCE), NULL);
	report("acct", acct(NULL), NULL);
	report("syslog", syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0), NULL);
	report("ioperm", ioperm(0x80, 1, 0), NULL);
	report("iopl", iopl(0), NULL);
	long k = syscall(SYS_pkey_alloc, 0, 0);
	report("pkey_alloc", k, NULL);
	if (k >= 0)
		syscall(SYS_pkey_free, k);
	static char ldt[16];
	RAW(modify_ldt, 0, ldt, sizeof ldt);
	report("netlink_audit", socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT), NULL);
}

static void swap_attack(const char *active, const char *spare)
{
	report("swapoff", swapoff(active), NULL);
	long r = swapon(spare, 0);
	report("swapon", r, NULL);
	if (r == 0)
		swapoff(spare);
}

/* Each call here either changes nothing (NULL, modes 0) or is refused by
 * the kernel for another reason: no clock moves even without the filter. */
static void clock_attack(void)
{
	/* raw: glibc's wrapper does not take two NULLs */
	RAW(settimeofday, NULL, NULL);
	struct timespec ts = { 1, 0 };
	report("clock_settime", clock_settime(CLOCK_MONOTONIC, &ts), NULL);
	struct timex tx = { .modes = 0 };
	report("adjtimex", adjtimex(&tx), NULL);
	report("clock_adjtime", clock_adjtime(CLOCK_REALTIME, &tx), NULL);
}

static void obsolete_calls(void)
{
	RAW(uselib, "/nonexistent");
	RAW(sysfs, 0, NULL);
	RAW(_sysctl, NULL);
	RAW(ustat, 0, NULL);
	RAW(nfsservctl, 0, NULL, NULL);
	RAW(lookup_dcookie, 0, NULL, 0);
	RAW(afs_syscall, 0);
	RAW(tuxcall, 0);
	RAW(security, 0);
	RAW(getpmsg, 0);
	RAW(putpmsg, 0);
	RAW(vserver, 0);
	RAW(create_module, NULL, 0);
	RAW(get_kernel_syms, NULL);
	RAW(query_module, NULL, 0, NULL, 0, NULL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "plant") == 0) {
		long id = syscall(SYS_add_key, "user", argv[2], argv[3], strlen(argv[3]),
				  KEY_SPEC_USER_KEYRING);
		if (id < 0 || syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, id, 600) < 0) {
			perror("add_key");
			return 1;
		}
		printf("%ld\n", id);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "unplant") == 0)
		return syscall(SYS_keyctl, KEYCTL_INVALIDATE, atol(argv[2])) < 0;
	if (argc == 5 && strcmp(argv[1], "calls") == 0) {
		keyring_attack(argv[2]);
		swap_attack(argv[3], argv[4]);
		kernel_attack();
		clock_attack();
		obsolete_calls();
		return 0;
	}
	fprintf(stderr, "usage: probe plant DESC SECRET | unplant ID | calls DESC ACTIVE SPARE\n");
	return 2;
}
PROBE
gcc -static -O1 -o "$T/probe" "$T/probe.c" >"$T/gcc.log" 2>&1 ||
	skip "cannot build a static probe (libc6-dev): $(head -n 3 "$T/gcc.log")"
install -m 0755 "$T/probe" "$ROOTFS/usr/bin/planet-probe"

# ---- host side: a key in root's user key ring, a swap area that is on ----------
KEYDESC=planet-t-guard-$$
SECRET=host-secret-$RANDOM$RANDOM
KEYID=
mk_swap() {
	dd if=/dev/zero of="$1" bs=1M count=1 status=none && chmod 0600 "$1" && mkswap "$1" >/dev/null
}
guard_cleanup() {
	swapoff "$ROOTFS/swap-active" 2>/dev/null
	swapoff "$ROOTFS/swap-spare" 2>/dev/null
	[ -n "$KEYID" ] && "$T/probe" unplant "$KEYID"
	KEYID=
}
trap 'guard_cleanup; lib_cleanup' EXIT
trap 'echo "# interrupted"; guard_cleanup; lib_cleanup; trap - EXIT; exit 130' INT
trap 'echo "# terminated"; guard_cleanup; lib_cleanup; trap - EXIT; exit 143' TERM
KEYID=$("$T/probe" plant "$KEYDESC" "$SECRET") || skip "cannot add a key to root's user key ring"
mk_swap "$ROOTFS/swap-active" && mk_swap "$ROOTFS/swap-spare" || skip "cannot make swap files in $T"
swapon "$ROOTFS/swap-active" 2>"$T/swapon.err" || skip "swapon refused on this host: $(cat "$T/swapon.err")"
swaps_of_test() { awk -v r="$ROOTFS/" 'index($1, r) == 1 { print $1 }' /proc/swaps | sort | tr '\n' ' '; }
SWAPS0=$(swaps_of_test)

px() { timeout -s KILL 60 "$PLANET" exec --socket "$SOCK" -- "$@"; }
probe_calls() { px /usr/bin/planet-probe calls "$KEYDESC" /swap-active /swap-spare 2>&1; }
result() { awk -v n="$2" '$1 == n { print $2 }' <<<"$1"; }
capbit() { echo $(((16#$1 >> $2) & 1)); }

# Every call of the default filter; kept in step with box/seccomp.c.
ALWAYS_DENIED="keyctl add_key request_key swapoff swapon fanotify_init fanotify_mark quotactl
	quotactl_fd kexec_load kexec_file_load open_by_handle_at umount2_force pkey_alloc modify_ldt
	uselib sysfs _sysctl ustat nfsservctl lookup_dcookie afs_syscall tuxcall security getpmsg
	putpmsg vserver create_module get_kernel_syms query_module"
# Denied unless the box keeps their capability (none of these by default).
CAP_DENIED="bpf perf_event_open init_module finit_module delete_module acct syslog ioperm iopl
	settimeofday clock_settime adjtimex clock_adjtime"
# bit:name of every capability dropped by default, and of those kept.
DROPPED="16:sys_module 17:sys_rawio 20:sys_pacct 25:sys_time 29:audit_write 30:audit_control
	32:mac_override 33:mac_admin 34:syslog 35:wake_alarm 36:block_suspend 37:audit_read
	38:perfmon 39:bpf 40:checkpoint_restore"
KEPT="0:chown 1:dac_override 2:dac_read_search 3:fowner 4:fsetid 5:kill 6:setgid 7:setuid
	8:setpcap 9:linux_immutable 10:net_bind_service 11:net_broadcast 12:net_admin 13:net_raw
	14:ipc_lock 15:ipc_owner 18:sys_chroot 19:sys_ptrace 21:sys_admin 22:sys_boot 23:sys_nice
	24:sys_resource 26:sys_tty_config 27:mknod 28:lease 31:setfcap"
HOSTBND=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
# the kernel's last capability: the probe may only expect what the host has
LASTCAP=$(cat /proc/sys/kernel/cap_last_cap)

MASKED_FILES="kallsyms kcore keys timer_list sysrq-trigger sched_debug latency_stats"
MASKED_DIRS="/sys/firmware /sys/devices/virtual/powercap"
RO_DIRS="acpi apm asound bus fs irq scsi"

check_masks() { # check_masks LABEL
	local f m n=0
	for f in $MASKED_FILES; do
		[ -e "/proc/$f" ] || continue
		n=$((n + 1))
		check_eq "$1/proc/$f reads empty inside" 0 "$(px sh -c "cat /proc/$f 2>/dev/null | wc -c")"
		m=$(box_mnt "/proc/$f")
		check_match "$1/proc/$f is covered by a mount" '.' "$m"
	done
	[ "$n" -gt 0 ] || fail "$1the host has none of the masked /proc files" "$MASKED_FILES"
	if [ -e /proc/keys ]; then
		check_eq "$1the host root's key is not listed in the box's /proc/keys" 0 \
			"$(px sh -c "grep -c '$KEYDESC' /proc/keys")"
	fi
	for f in $MASKED_DIRS; do
		[ -d "$f" ] || continue
		check_eq "$1$f is empty inside" "" "$(px ls -A "$f" 2>&1)"
		m=$(box_mnt "$f")
		case $m in *"|tmpfs|"*) pass "$1$f is a tmpfs" ;; *) fail "$1$f is a tmpfs" "mount: ${m:-none}" ;; esac
		case ",${m%%|*}," in *,ro,*) pass "$1$f is read-only" ;; *) fail "$1$f is read-only" "mount: ${m:-none}" ;; esac
	done
}

check_ro_dirs() { # check_ro_dirs LABEL ro|rw
	local d m n=0
	for d in $RO_DIRS; do
		[ -d "/proc/$d" ] || continue
		n=$((n + 1))
		m=$(box_mnt "/proc/$d")
		if [ "$2" = ro ]; then
			case ",${m%%|*}," in *,ro,*) pass "$1/proc/$d is read-only" ;; *) fail "$1/proc/$d is read-only" "mount: ${m:-none}" ;; esac
		else
			case ",${m%%|*}," in *,ro,*) fail "$1/proc/$d is not read-only" "mount: $m" ;; *) pass "$1/proc/$d is not read-only" ;; esac
		fi
	done
	[ "$n" -gt 0 ] || fail "$1the host has none of the read-only /proc dirs" "$RO_DIRS"
	# the accident: writing a host IRQ tunable (its own value back: harmless)
	if [ -w /proc/irq/default_smp_affinity ]; then
		if [ "$2" = ro ]; then
			check_not "$1writing /proc/irq/default_smp_affinity fails inside" \
				px sh -c 'cat /proc/irq/default_smp_affinity > /proc/irq/default_smp_affinity'
		else
			check "$1writing /proc/irq/default_smp_affinity works inside" \
				px sh -c 'cat /proc/irq/default_smp_affinity > /proc/irq/default_smp_affinity'
		fi
	fi
}

# ---- box 1: the defaults --------------------------------------------------------
box_start
capbnd=$(awk '/^CapBnd:/ { print $2 }' "/proc/$INIT_PID/status")
for b in $DROPPED; do
	[ "${b%%:*}" -le "$LASTCAP" ] || continue
	check_eq "init lacks cap_${b#*:}" 0 "$(capbit "$capbnd" "${b%%:*}")"
done
for b in $KEPT; do
	if [ "$(capbit "$HOSTBND" "${b%%:*}")" = 0 ]; then
		echo "# the host itself lacks cap_${b#*:}: not expected in the box"
		continue
	fi
	check_eq "init keeps cap_${b#*:}" 1 "$(capbit "$capbnd" "${b%%:*}")"
done
check_eq "an exec session has init's bounding set" "$capbnd" \
	"$(px awk '/^CapBnd:/ { print $2 }' /proc/self/status)"
check_eq "init runs under the seccomp filter" 2 "$(awk '/^Seccomp:/ { print $2 }' "/proc/$INIT_PID/status")"

out=$(probe_calls)
echo "$out" | sed 's/^/# probe: /'
for c in $ALWAYS_DENIED $CAP_DENIED; do
	check_eq "$c is denied with EPERM" EPERM "$(result "$out" "$c")"
done
check_eq "an audit netlink socket: EAFNOSUPPORT (audit is off, as far as the box knows)" \
	EAFNOSUPPORT "$(result "$out" netlink_audit)"
check_not_contains "the host root's key does not leak into the box" "$out" "$SECRET"
check_eq "the host's swap areas are unchanged" "$SWAPS0" "$(swaps_of_test)"
check_masks ""
check_ro_dirs "" ro
box_stop TERM 20
check_eq "SIGTERM: exit status 0" 0 "$BOX_STATUS"
assert_nothing_left "after box 1"

# ---- box 2: capabilities = all, writable_sys = true -------------------------------
printf '[box]\ncapabilities = all\nwritable_sys = true\n' >"$T/all.conf"
box_start --config "$T/all.conf"
capbnd=$(awk '/^CapBnd:/ { print $2 }' "/proc/$INIT_PID/status")
expect=$((16#$HOSTBND & ~((1 << 29) | (1 << 30) | (1 << 37))))
check_eq "box 2: capabilities = all: the old set (the host's minus CAP_AUDIT_*)" \
	"$(printf '%016x' "$expect")" "$capbnd"
out=$(probe_calls)
echo "$out" | sed 's/^/# probe (all): /'
for c in $ALWAYS_DENIED; do
	check_eq "box 2: $c is still denied with EPERM" EPERM "$(result "$out" "$c")"
done
# the filter follows the bounding set: these now reach the kernel (which
# may lack some: ENOSYS is fine, EPERM is the filter)
for c in settimeofday adjtimex clock_adjtime; do
	check_eq "box 2: $c reaches the kernel (cap_sys_time kept)" OK "$(result "$out" "$c")"
done
check_eq "box 2: clock_settime reaches the kernel (EINVAL for CLOCK_MONOTONIC)" EINVAL \
	"$(result "$out" clock_settime)"
for c in bpf perf_event_open syslog acct ioperm iopl init_module delete_module; do
	r=$(result "$out" "$c")
	if [ -n "$r" ] && [ "$r" != EPERM ]; then
		pass "box 2: $c reaches the kernel ($r)"
	else
		fail "box 2: $c reaches the kernel" "result: ${r:-none}"
	fi
done
check_not_contains "box 2: the host root's key does not leak" "$out" "$SECRET"
check_eq "box 2: the host's swap areas are unchanged" "$SWAPS0" "$(swaps_of_test)"
check_masks "box 2: "
check_ro_dirs "box 2: writable_sys: " rw
box_stop TERM 20
check_eq "box 2: SIGTERM: exit status 0" 0 "$BOX_STATUS"
assert_nothing_left "after box 2"

# ---- box 3: a supervisor started with inheritable capabilities ---------------------
# A dropped capability left in the inheritable set would come back at the
# exec of init (a root program): the box must not get it.
if command -v capsh >/dev/null 2>&1; then
	BOX_WRAP=(capsh --inh=cap_sys_module,cap_sys_time -- -c 'exec "$0" "$@"')
	box_start
	BOX_WRAP=()
	for f in CapInh CapPrm CapEff CapBnd; do
		v=$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$INIT_PID/status")
		check_eq "box 3: inherited cap_sys_module is not in init's $f" 0 "$(capbit "$v" 16)"
		check_eq "box 3: inherited cap_sys_time is not in init's $f" 0 "$(capbit "$v" 25)"
	done
	v=$(px awk '$1 == "CapEff:" { print $2 }' /proc/self/status)
	check_eq "box 3: nor in an exec session's effective set" 00 "$(capbit "$v" 16)$(capbit "$v" 25)"
	box_stop TERM 20
	check_eq "box 3: SIGTERM: exit status 0" 0 "$BOX_STATUS"
	assert_nothing_left "after box 3"
else
	echo "# no capsh: the inheritable-set case is not checked"
fi

guard_cleanup
finish
