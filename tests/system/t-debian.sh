#!/bin/bash
# t-debian: a real system inside. An unmodified Debian bookworm (debootstrap
# minbase + systemd) boots under `planet start` and is judged by systemd
# itself, from outside the box, through `planet exec`:
#
#   box "main"    (--notify-ready init, a fake outer NOTIFY_SOCKET, hybrid or
#                 whatever layout the host has): running, no failed units,
#                 journald, container interface (/run/host, env, NOTIFY_SOCKET),
#                 readiness only after systemd's READY=1, console lines, unit
#                 start/stop, PrivateTmp/PrivateDevices, device cgroup,
#                 planet exec -u, planet enter (pty), planet.service under the
#                 inner systemd (nested box), `planet stop` -> 0, nothing left
#   box "mid"     empty /etc/machine-id -> container_uuid; --notify-ready start
#                 sends READY=1 at once; --set-credential read by a unit's
#                 LoadCredential= (and in no state file, env file or log);
#                 SIGTERM to the supervisor -> 0
#   box "reboot"  systemctl reboot -> same supervisor, new init, running
#                 again; then systemctl poweroff -> 0
#   box "rbexit"  --on-reboot exit: systemctl reboot -> 129
#   box "halt"    console through a pipe whose reader stalls: the loop keeps
#                 serving, the writer waits, nothing is lost; systemctl halt -> 0
#   box "ignore"  a stop signal systemd ignores: killed at the deadline, 137
#   box "v2"      pure cgroup v2 (private mount ns, only cgroup2 mounted):
#                 running, device BPF program attached and enforced,
#                 PrivateDevices, planet.service nested, `planet stop` -> 0
#
# Needs root, python3, debootstrap and the network to Debian's mirror once
# (the rootfs is cached: tests/system/mkrootfs-debian.sh); skips (77) with the
# reason otherwise. Each box gets its own overlayfs over the cache.
# shellcheck disable=SC2016,SC2001,SC2317
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=lib-system.sh
. "$(dirname "$0")/lib-system.sh"
sys_setup

STOP_TIMEOUT=20
IGNORED_SIG=

pid_gone() { ! pid_alive "$1"; }

# Everything about a systemd that should be running now.
expect_running() { # TAG
	local st failed
	st=$(wait_running 30)
	check_eq "[$1] systemctl is-system-running --wait (planet exec) answers running" running "$st"
	failed=$(pexec -- systemctl --failed --no-legend --plain 2>&1)
	check_eq "[$1] systemctl --failed lists nothing" "" "$failed"
	[ "$st" = running ] || pexec -- systemctl list-jobs --no-pager 2>&1 | sed 's/^/#   /'
}

# The device cgroup (v1 controller or v2 BPF program) of the box: a node
# made for a device that is not allowed cannot be opened, an allowed one can.
expect_devices_enforced() { # TAG
	local out
	out=$(pexec -- sh -c 'rm -f /dev/planet-t-kmsg /dev/planet-t-null
		mknod /dev/planet-t-null c 1 3 && mknod /dev/planet-t-kmsg c 1 11 || exit 3
		echo x >/dev/planet-t-null || exit 4
		head -c 1 /dev/planet-t-kmsg >/dev/null; r=$?
		rm -f /dev/planet-t-kmsg /dev/planet-t-null; exit $r' 2>&1)
	local rc=$?
	if [ $rc = 1 ] && [[ $out == *"ermission denied"* || $out == *"not permitted"* ]]; then
		pass "[$1] device cgroup: /dev/kmsg (1:11) made with mknod cannot be opened, /dev/null (1:3) can"
	else
		fail "[$1] device cgroup: /dev/kmsg (1:11) made with mknod cannot be opened, /dev/null (1:3) can" \
			"status $rc (3: mknod failed, 4: allowed node failed, 0: denied node opened)" "$out"
	fi
}

# planet.service under the box's own systemd, booting a busybox box inside.
nested_checks() { # TAG
	local tag="$1 nested" out rc ist ip cgs c h t0
	t0=$(now)
	out=$(pexec -- systemctl start planet 2>&1)
	rc=$?
	echo "# $tag: systemctl start planet took $(elapsed_since "$t0") s"
	check_eq "[$tag] systemctl start planet (Type=notify) succeeds" 0 "$rc"
	[ $rc = 0 ] || echo "$out" | sed 's/^/#   /'
	# Type=notify: start returned, so READY=1 came; the box must be usable now.
	h=$(pexec -- /usr/local/bin/planet exec --socket /run/planet/enter.sock -- hostname 2>&1)
	check_eq "[$tag] systemctl is-active planet right after start" active "$(pexec -- systemctl is-active planet 2>&1)"
	check_eq "[$tag] at that moment the inner box answers: planet exec -- planet exec --socket /run/planet/enter.sock -- hostname" inner "$h"
	ist=$(pexec -- cat /run/planet/state 2>&1)
	ip=$(sed -n 's/^init_pid=//p' <<<"$ist")
	check_match "[$tag] inner state file names an init pid" '^[0-9]+$' "$ip"
	cgs=$(sed -n 's/^cgroup=//p' <<<"$ist")
	if [ -n "$cgs" ] && ! grep -v -q '/system\.slice/planet\.service/box-' <<<"$cgs"; then
		pass "[$tag] Delegate=yes: every inner box cgroup is below planet.service's ($(wc -l <<<"$cgs") hierarchies)"
	else
		fail "[$tag] Delegate=yes: every inner box cgroup is below planet.service's" "$ist"
	fi
	check_eq "[$tag] the unit's control group" "ControlGroup=/system.slice/planet.service" \
		"$(pexec -- systemctl show -p ControlGroup planet 2>&1)"
	if [ "$(pexec -- stat -f -c %T /sys/fs/cgroup 2>&1)" = cgroup2fs ]; then
		# No internal processes on v2: the supervisor left the unit's own
		# cgroup for a leaf beside the box (docs/CGROUPS.md).
		check_eq "[$tag] v2: the supervisor (MainPID) sits in planet.service/supervisor" \
			"$(pexec -- systemctl show -p MainPID --value planet 2>&1)" \
			"$(pexec -- cat /sys/fs/cgroup/system.slice/planet.service/supervisor/cgroup.procs 2>&1)"
	fi
	out=$(pexec -- /usr/local/bin/planet exec --socket /run/planet/enter.sock -- cat /proc/1/cmdline 2>&1 | tr '\0' ' ')
	check_match "[$tag] PID 1 of the inner box is busybox init" '^(/sbin/)?init ' "$out"
	out=$(pexec -- /usr/local/bin/planet exec --socket /run/planet/enter.sock -- sh -c 'exit 42' 2>&1)
	rc=$?
	check_eq "[$tag] nested exec: exit status comes back through both boxes" 42 "$rc"
	out=$(pexec -- journalctl -u planet --no-pager 2>&1)
	check_contains "[$tag] the inner console reaches the inner journal (journalctl -u planet)" "$out" "box booted"
	t0=$(now)
	out=$(pexec -- systemctl stop planet 2>&1)
	rc=$?
	echo "# $tag: systemctl stop planet took $(elapsed_since "$t0") s"
	check_eq "[$tag] systemctl stop planet succeeds" 0 "$rc"
	check_eq "[$tag] is-active after stop" inactive "$(pexec -- systemctl is-active planet 2>&1)"
	check_eq "[$tag] the unit ended cleanly" "ExecMainStatus=0 Result=success" \
		"$(pexec -- systemctl show -p Result -p ExecMainStatus planet 2>&1 | sort | tr '\n' ' ' | sed 's/ $//')"
	out=$(pexec -- journalctl -u planet --no-pager 2>&1)
	check_contains "[$tag] the inner busybox init ran its shutdown (clean halt)" "$out" "box halting"
	check_not_contains "[$tag] every inner console line is text in the journal (no [blob data])" "$out" "blob data"
	# planet's own lines: native journal records with their identifiers
	# (docs/LOGGING.md), each once (stderr is the unit's journal stream).
	out=$(pexec -- journalctl -u planet -t planet-audit -o cat --no-pager 2>&1)
	check_match "[$tag] journalctl -t planet-audit: the exec's audit record" \
		'enter: uid=0 pid=[0-9]+ user="root" cwd="~" tty=no argv="hostname" result=exit:0 duration_ms=' "$out"
	out=$(pexec -- journalctl -u planet -t planet _TRANSPORT=journal -o cat --no-pager 2>&1)
	check_contains "[$tag] journalctl -t planet: lifecycle lines (box halted), natively" "$out" "box halted"
	check_eq "[$tag] planet's lines are in the journal once (not also through stderr)" 1 \
		"$(pexec -- journalctl -u planet -o cat --no-pager 2>&1 | grep -c 'box halted$')"
	check_eq "[$tag] console lines in the journal all carry the prefix" "" \
		"$(pexec -- journalctl -u planet _TRANSPORT=stdout -o cat --no-pager 2>&1 | grep -v '^console: ' | head -n 3)"
	check_not "[$tag] inner state file removed" pexec -- test -e /run/planet/state
	check_not "[$tag] inner enter socket removed" pexec -- test -e /run/planet/enter.sock
	if [ -n "$ip" ]; then
		check_not "[$tag] inner init gone" pexec -- kill -0 "$ip"
	fi
	for c in $cgs; do
		check_not "[$tag] inner cgroup removed: $c" pexec -- test -e "$c"
	done
}

# ---- 1. the main box ---------------------------------------------------------
echo "# box main: unmodified Debian rootfs, --notify-ready init, fake NOTIFY_SOCKET"
debian_rootfs main || { fail "prepare the main rootfs"; sys_finish; }
check "install planet, planet.service and a busybox rootfs into the Debian rootfs" install_planet "$ROOTFS"
notify_listen notify-init "$PLANET" exec --socket "$SOCK" -- systemctl is-system-running ||
	fail "fake notify socket bound"
BOX_WRAP=(env "NOTIFY_SOCKET=$T/notify-init.sock")
t_start=$(now)
# The nested planet puts its device rules in a BPF program (the v1 devices
# hierarchy is read-only in here): this box keeps cap_bpf, which lets bpf(2)
# through the default filter (docs/SECURITY.md). The other boxes below boot
# under the plain defaults.
box_start --notify-ready init --stop-timeout "$STOP_TIMEOUT" --capabilities default,cap_bpf
BOX_WRAP=()
expect_running main
echo "# main: running $(elapsed_since "$t_start") s after planet start"
if log_has "$BOX_LOG" "Welcome to Debian"; then
	pass "[main] console: 'Welcome to Debian' reaches the supervisor's stdout while the box runs"
else
	fail "[main] console: 'Welcome to Debian' reaches the supervisor's stdout while the box runs" "$(head -n 20 "$BOX_LOG")"
fi
# One line per status line: every "[  OK  ]" starts its own line.
# Console lines are "console: LINE" with the box's escape sequences
# written out C-style (\x1b[0;32m): drop both.
clean_log=$(sed -n 's/^console: //p' "$BOX_LOG" | sed 's/\\x1b\[[0-9;]*m//g')
n_ok=$(grep -c '^\[  OK  \] ' <<<"$clean_log")
if [ "$n_ok" -ge 10 ]; then pass "[main] console: $n_ok '[  OK  ]' lines"; else fail "[main] console: '[  OK  ]' lines (>= 10)" "found $n_ok"; fi
check_eq "[main] console: no status line glued to another" "" "$(grep -E '.\[  OK  \]' <<<"$clean_log")"

# Container interface.
check_eq "[main] /run/host/container-manager" planet "$(pexec -- cat /run/host/container-manager 2>&1)"
check_eq "[main] /run/host/container-uuid = the box id" "$BOX_ID" "$(pexec -- cat /run/host/container-uuid 2>&1)"
env1=$(pexec -- cat /proc/1/environ 2>&1 | tr '\0' '\n')
check_contains "[main] init's environment: container=planet" "$env1" "container=planet"
check_contains "[main] init's environment: container_uuid" "$env1" "container_uuid=$BOX_ID"
check_contains "[main] init's environment: NOTIFY_SOCKET=/run/host/notify" "$env1" "NOTIFY_SOCKET=/run/host/notify"
check "[main] /run/host/notify is a socket" pexec -- test -S /run/host/notify
check "[main] systemd-detect-virt --container: a container" pexec -- systemd-detect-virt --container
check_eq "[main] /sys is read-only inside" ro "$(pexec -- findmnt -n -o OPTIONS /sys 2>&1 | cut -d, -f1)"

# journald.
jb=$(pexec -- journalctl -b --no-pager -o short-unix 2>&1)
check_contains "[main] journalctl -b shows the boot (journald started)" "$jb" "Journal started"
check_contains "[main] journalctl -b shows the boot (Startup finished)" "$jb" "Startup finished"

# Readiness: READY=1 only after systemd's own READY=1.
ready_t=$(notify_time "$T/notify-init.log" READY=1)
startup_t=$(awk '/systemd\[1\]: Startup finished/ { print $1; exit }' <<<"$jb")
check_match "[main] READY=1 reached the outer notify socket" '^[0-9]+\.[0-9]+$' "$ready_t"
onready=$(sed -n 's/^[0-9.]* on-ready //p' "$T/notify-init.log")
check_eq "[main] when READY=1 arrived, systemctl is-system-running already said running" "rc=0 out=running" "$onready"
if [ -n "$ready_t" ] && [ -n "$startup_t" ]; then
	# journald stamps the message when it receives it, after systemd sent
	# it and maybe after READY=1 went out: allow 100 ms that way.
	if awk -v r="$ready_t" -v s="$startup_t" 'BEGIN { exit !(r + 0.1 >= s) }'; then
		pass "[main] READY=1 not before 'Startup finished' (READY $ready_t, startup $startup_t)"
	else
		fail "[main] READY=1 not before 'Startup finished'" "READY=1 at $ready_t, Startup finished at $startup_t"
	fi
	echo "# main: READY=1 $(awk -v r="$ready_t" -v t="$t_start" 'BEGIN { printf "%.3f", r - t }') s after planet start"
else
	fail "[main] READY=1 and 'Startup finished' both seen" "READY=$ready_t startup=$startup_t" "$(cat "$T/notify-init.log" 2>&1)"
fi
check_eq "[main] exactly one READY=1" 1 "$(grep -c 'READY=1' "$T/notify-init.log")"

# Units.
check "[main] systemd-run starts a transient unit" pexec -- systemd-run --quiet --unit=planet-t-sleep sleep 1000
check_eq "[main] transient unit active" active "$(pexec -- systemctl is-active planet-t-sleep 2>&1)"
check "[main] systemctl stop of the transient unit" pexec -- systemctl stop planet-t-sleep
check_eq "[main] transient unit gone after stop" inactive "$(pexec -- systemctl is-active planet-t-sleep 2>&1)"
check_not "[main] its process is gone" pexec -- pgrep -x -f "sleep 1000"
check "[main] a unit file in /run/systemd/system + daemon-reload" pexec -- sh -c '
	printf "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c \"echo unit-ran >/run/planet-t-unit.out\"\nExecStop=/bin/rm -f /run/planet-t-unit.out\n" \
		>/run/systemd/system/planet-t-unit.service && systemctl daemon-reload'
check "[main] systemctl start of the unit file" pexec -- systemctl start planet-t-unit
check_eq "[main] the unit ran" unit-ran "$(pexec -- cat /run/planet-t-unit.out 2>&1)"
check_eq "[main] the unit is active" active "$(pexec -- systemctl is-active planet-t-unit 2>&1)"
check "[main] systemctl stop of the unit file" pexec -- systemctl stop planet-t-unit
check_not "[main] its ExecStop ran" pexec -- test -e /run/planet-t-unit.out

# A sandboxed service: private /tmp and /dev set up by the inner systemd.
out=$(pexec -- systemd-run --quiet --wait --pipe -p PrivateTmp=yes -p PrivateDevices=yes \
	sh -c 'echo private >/tmp/planet-t-private && test -c /dev/null && test ! -e /dev/console && echo sandbox-ok' 2>&1)
rc=$?
check_eq "[main] PrivateTmp=yes + PrivateDevices=yes service runs (systemd-run --wait)" "0 sandbox-ok" "$rc $out"
check_not "[main] PrivateTmp: its /tmp file is not in the box's /tmp" pexec -- test -e /tmp/planet-t-private
check "[main] the box's own /dev/console is still there" pexec -- test -e /dev/console
expect_devices_enforced main

# Users.
check "[main] useradd inside the box" pexec -- useradd -m -s /bin/bash planettest
check_eq "[main] planet exec -u planettest -- id -un" planettest "$(pexec -u planettest -- id -un 2>&1)"
check_match "[main] planet exec -u: a non-zero uid" '^[1-9][0-9]*$' "$(pexec -u planettest -- id -u 2>&1)"
check_eq "[main] planet exec -u: HOME from the box's passwd" /home/planettest "$(pexec -u planettest -- sh -c 'echo $HOME' 2>&1)"
check_eq "[main] a user can query the system manager" running "$(pexec -u planettest -- systemctl is-system-running 2>&1)"

# planet enter: a login shell on a pty of the box.
out=$(python3 "$SYS_DIR/pty-drive.py" --rows 30 --cols 100 \
	'echo "A0=$0 U=$USER H=$HOME T=$(tty) S=$(stty size)"; exit 7\n' -- "$PLANET" enter --socket "$SOCK" 2>&1)
rc=$?
out=$(tr -d '\r' <<<"$out")
check_eq "[main] planet enter: the shell's exit status comes back" 7 "$rc"
check_match "[main] planet enter: a login shell (\$0 starts with -)" 'A0=-[a-z]*sh ' "$out"
check_match "[main] planet enter: USER and HOME of root" 'U=root H=/root ' "$out"
check_match "[main] planet enter: a pty of the box, window size applied" 'T=/dev/pts/[0-9]+ S=30 100' "$out"
[[ $out == *"A0=-"* ]] || echo "$out" | tail -n 5 | sed 's/^/#   /'

# The nested box (planet.service under this systemd; hybrid or the host's layout).
nested_checks main
check_eq "[main] still no failed unit after the nested box" "" "$(pexec -- systemctl --failed --no-legend --plain 2>&1)"

# A signal this systemd ignores, for the deadline test below.
IGNORED_SIG=$(unhandled_signal "$INIT_PID") || IGNORED_SIG=SIGVTALRM
echo "# a signal systemd ignores: $IGNORED_SIG ($(grep -E '^Sig(Blk|Cgt)' "/proc/$INIT_PID/status" | tr '\n\t' '  '))"

# Halt with planet stop.
t0=$(now)
out=$("$PLANET" stop --socket "$SOCK" 2>&1)
rc=$?
check_eq "[main] planet stop returns 0" 0 "$rc"
[ $rc = 0 ] || echo "$out" | sed 's/^/#   /'
box_wait 30
check_eq "[main] supervisor exits 0 after planet stop" 0 "$BOX_STATUS"
echo "# main: planet stop -> supervisor gone in $(elapsed_since "$t0") s"
check "[main] systemd halted cleanly (console: 'Halting system.')" log_has "$BOX_LOG" "Halting system."
check "[main] systemd reached shutdown.target" log_has "$BOX_LOG" "Reached target shutdown.target"
check "[main] STOPPING=1 reached the outer notify socket" grep -q "STOPPING=1" "$T/notify-init.log"
notify_stop
assert_nothing_left "[main] after planet stop"

# ---- 2. machine-id from container_uuid; READY=1 at once; SIGTERM ---------------
echo "# box mid: empty /etc/machine-id, --notify-ready start (default), SIGTERM"
debian_rootfs mid || { fail "prepare the mid rootfs"; sys_finish; }
: >"$ROOTFS/etc/machine-id"
# systemd prefers the D-Bus machine id over $container_uuid: an image meant
# to get its id from the container manager has neither (see docs/SYSTEMD.md).
rm -f "$ROOTFS/var/lib/dbus/machine-id"
notify_listen notify-start || fail "fake notify socket bound"
BOX_WRAP=(env "NOTIFY_SOCKET=$T/notify-start.sock")
t_start=$(now)
box_start --stop-timeout "$STOP_TIMEOUT" --set-credential apitoken:s3cr3t-d3b
BOX_WRAP=()
expect_running mid
# A system credential, as nspawn passes them: a unit's LoadCredential=ID
# finds it in $CREDENTIALS_DIRECTORY.
check_eq "[mid] --set-credential: LoadCredential=apitoken in a unit reads it" s3cr3t-d3b \
	"$(pexec -- systemd-run --quiet --wait --pipe -p LoadCredential=apitoken \
		sh -c 'cat "$CREDENTIALS_DIRECTORY/apitoken"' 2>&1)"
check_not "[mid] the credential is not in the state file" grep -q s3cr3t-d3b "$STATE/state"
# (read from the host: a session's argv would put the value in the audit log)
check_not "[mid] nor in the box's env file" grep -q s3cr3t-d3b "/proc/$INIT_PID/root/etc/container-environment"
check_eq "[mid] /etc/machine-id = container_uuid without dashes" "${BOX_ID//-/}" "$(pexec -- cat /etc/machine-id 2>&1)"
check_eq "[mid] /run/host/container-uuid" "$BOX_ID" "$(pexec -- cat /run/host/container-uuid 2>&1)"
env2=$(pexec -- cat /proc/1/environ 2>&1 | tr '\0' '\n')
check_not_contains "[mid] no NOTIFY_SOCKET for init with notify_ready = start" "$env2" "NOTIFY_SOCKET="
ready_t=$(notify_time "$T/notify-start.log" READY=1)
startup_t=$(pexec -- journalctl -b --no-pager -o short-unix 2>&1 | awk '/systemd\[1\]: Startup finished/ { print $1; exit }')
if [ -n "$ready_t" ] && [ -n "$startup_t" ] &&
	awk -v r="$ready_t" -v s="$startup_t" -v t="$t_start" 'BEGIN { exit !(r < s && r - t < 2) }'; then
	pass "[mid] --notify-ready start: READY=1 right away (after $(awk -v r="$ready_t" -v t="$t_start" 'BEGIN { printf "%.3f", r - t }') s, before systemd finished booting)"
else
	fail "[mid] --notify-ready start: READY=1 right away" "start $t_start READY=1 $ready_t Startup finished $startup_t" "$(cat "$T/notify-start.log" 2>&1)"
fi
box_stop TERM 30
check_eq "[mid] SIGTERM to the supervisor -> exit 0" 0 "$BOX_STATUS"
echo "# mid: SIGTERM -> supervisor gone in $BOX_ELAPSED s"
check "[mid] systemd halted cleanly (console: 'Halting system.')" log_has "$BOX_LOG" "Halting system."
check "[mid] STOPPING=1 reached the outer notify socket" grep -q "STOPPING=1" "$T/notify-start.log"
check_not "[mid] the credential is not in the log" grep -q s3cr3t-d3b "$BOX_LOG"
notify_stop
assert_nothing_left "[mid] after SIGTERM"

# ---- 3. systemctl reboot (restart), then poweroff -------------------------------
echo "# box reboot: systemctl reboot restarts the box, systemctl poweroff ends it"
debian_rootfs reboot || { fail "prepare the reboot rootfs"; sys_finish; }
box_start --stop-timeout "$STOP_TIMEOUT"
expect_running reboot
old_init=$INIT_PID old_sup=$SUP_PID
pexec -- systemctl reboot >/dev/null 2>&1
# shellcheck disable=SC2317
new_init() {
	local p
	p=$(state_get init_pid)
	[ -n "$p" ] && [ "$p" != "$old_init" ] && pid_alive "$p"
}
t0=$(now)
if wait_for 30 new_init; then
	echo "# reboot: new init $(elapsed_since "$t0") s after systemctl reboot returned"
	box_refresh
	pass "[reboot] systemctl reboot: a new init ($old_init -> $INIT_PID)"
	check "[reboot] the same supervisor keeps running" sup_running
	check_eq "[reboot] supervisor is the same process" "$old_sup" "$(state_get supervisor_pid)"
	expect_running "reboot, second boot"
	check "[reboot] console: systemd said 'Rebooting.'" log_has "$BOX_LOG" "Rebooting."
	check_eq "[reboot] console: systemd booted twice" 2 "$(tr -d '\r' <"$BOX_LOG" | grep -c 'Welcome to Debian')"
	pexec -- systemctl poweroff >/dev/null 2>&1
	box_wait 30
	check_eq "[reboot] systemctl poweroff -> exit 0" 0 "$BOX_STATUS"
	check "[reboot] console: 'Powering off.'" log_has "$BOX_LOG" "Powering off."
else
	fail "[reboot] systemctl reboot: a new init" "state: $(cat "$STATE/state" 2>&1)" "$(tail -n 20 "$BOX_LOG")"
	box_stop TERM 30
fi
assert_nothing_left "[reboot] after poweroff"

# ---- 4. systemctl reboot with --on-reboot exit ------------------------------------
echo "# box rbexit: --on-reboot exit"
debian_rootfs rbexit || { fail "prepare the rbexit rootfs"; sys_finish; }
box_start --stop-timeout "$STOP_TIMEOUT" --on-reboot exit
expect_running rbexit
pexec -- systemctl reboot >/dev/null 2>&1
box_wait 30
check_eq "[rbexit] systemctl reboot with --on-reboot exit -> exit 129" 129 "$BOX_STATUS"
check "[rbexit] console: 'Rebooting.'" log_has "$BOX_LOG" "Rebooting."
assert_nothing_left "[rbexit] after reboot"

# ---- 5. console through a pipe that stalls; systemctl halt ----------------------------
echo "# box halt: stdout is a pipe whose reader stops; then systemctl halt"
debian_rootfs halt || { fail "prepare the halt rootfs"; sys_finish; }
mkfifo "$T/console.fifo"
cat "$T/console.fifo" >"$T/console-pipe.log" &
CAT_PID=$!
SYS_PIDS+=("$CAT_PID")
# stdout only: planet's own stderr stays in $BOX_LOG.
BOX_WRAP=(sh -c 'exec "$@" >"$0"' "$T/console.fifo")
box_start --stop-timeout "$STOP_TIMEOUT"
BOX_WRAP=()
expect_running halt
check "[halt] console through a pipe: 'Welcome to Debian' arrives" wait_for 5 log_has "$T/console-pipe.log" "Welcome to Debian"
# Stall the reader, then write far more than the pipe and planet's queue
# hold to /dev/console: planet must stop reading the console (the writer
# waits in the pty), never block its loop, and lose nothing.
# The login prompt of console-getty.service would be one more writer on the
# console, mixing its text into our lines at the tty: stop it first.
pexec -- systemctl stop console-getty.service >/dev/null 2>&1
kill -STOP "$CAT_PID"
pexec -- sh -c 'i=0; while [ $i -lt 5000 ]; do
	printf "flood %05d %s\n" $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
	i=$((i + 1)); echo $i >/run/planet-t-flood.count; done >/dev/console' >/dev/null 2>&1 &
FLOOD_PID=$!
SYS_PIDS+=("$FLOOD_PID")
# Wait until the writer is stuck: its line count (read from the host through
# /proc/<init>/root) stops moving.
flood_count() {
	local c
	c=$(cat "/proc/$INIT_PID/root/run/planet-t-flood.count" 2>/dev/null)
	[[ $c =~ ^[0-9]+$ ]] || c=0
	echo "$c"
}
prev=-1 same=0 cnt=0
for _ in $(seq 1 100); do
	sleep 0.1
	cnt=$(flood_count)
	if [ "$cnt" = "$prev" ] && [ "$cnt" != 0 ]; then same=$((same + 1)); else same=0; fi
	prev=$cnt
	[ $same -ge 4 ] && break
done
if [ $same -ge 4 ] && [ "$cnt" -lt 5000 ]; then
	pass "[halt] backpressure: the console writer waits while stdout is stalled (stuck after $cnt of 5000 lines)"
else
	fail "[halt] backpressure: the console writer waits while stdout is stalled" \
		"the writer got to line $cnt of 5000 while nobody read planet's stdout"
fi
t0=$(now)
out=$(timeout 5 "$PLANET" exec --socket "$SOCK" -- echo alive 2>&1)
check_eq "[halt] with stdout stalled, the supervisor still serves planet exec" alive "$out"
echo "# halt: planet exec answered in $(elapsed_since "$t0") s while the console was stalled"
# Twenty more sessions, each ending with an audit line for the stalled stdout.
t0=$(now)
n_alive=0
for i in $(seq 1 20); do
	[ "$(timeout 5 "$PLANET" exec --socket "$SOCK" -- echo "alive-$i" 2>&1)" = "alive-$i" ] && n_alive=$((n_alive + 1))
done
t_20=$(elapsed_since "$t0")
check_eq "[halt] 20 sessions while stdout is stalled all answer" 20 "$n_alive"
if awk -v e="$t_20" 'BEGIN { exit !(e < 3) }'; then
	pass "[halt] ... without the loop waiting on stdout (20 sessions in $t_20 s)"
else
	fail "[halt] ... without the loop waiting on stdout" "20 sessions took $t_20 s (an audit line that waits for the stalled stdout blocks the loop)"
fi
check_eq "[halt] the writer is still stuck" "$cnt" "$(flood_count)"
kill -CONT "$CAT_PID"
if wait_for 20 pid_gone "$FLOOD_PID"; then
	wait "$FLOOD_PID"
	check_eq "[halt] the console writer finished once stdout drained" 0 "$?"
else
	fail "[halt] the console writer finished once stdout drained" "still blocked 20 s after the reader resumed"
fi
check_eq "[halt] all 5000 flood lines arrived, whole and in order" "5000 0" \
	"$(grep -E '^console: flood [0-9]{5} x{82}$' "$T/console-pipe.log" |
		sed 's/.*flood //' | awk '{ if ($1 + 0 != n) bad++; n++ } END { print n + 0, bad + 0 }')"
check_eq "[halt] no console line garbled (every line with 'flood' is whole)" "" \
	"$(grep 'flood' "$T/console-pipe.log" | grep -v -E '^console: flood [0-9]{5} x{82}$' | head -n 3)"
# The supervisor's audit lines do not share the stalled stdout: they go to
# stderr (no journal here), whole, and are not lost.
check_eq "[halt] the audit lines of the 21 sessions run while stdout was stalled are all kept, each on a line of its own" 21 \
	"$(grep -c -E '^planet-audit: enter: .*argv="echo" "alive(-[0-9]+)?" result=exit:0 duration_ms=[0-9]+$' "$BOX_LOG")"
pexec -- systemctl halt >/dev/null 2>&1
box_wait 30
check_eq "[halt] systemctl halt -> exit 0" 0 "$BOX_STATUS"
wait_for 5 pid_gone "$CAT_PID"
check "[halt] console: 'Halting system.'" log_has "$T/console-pipe.log" "Halting system."
assert_nothing_left "[halt] after halt"

# ---- 6. a stop signal systemd ignores: the deadline -----------------------------------
echo "# box ignore: --stop-signal $IGNORED_SIG --stop-timeout 3"
debian_rootfs ignore || { fail "prepare the ignore rootfs"; sys_finish; }
box_start --stop-signal "$IGNORED_SIG" --stop-timeout 3
expect_running ignore
box_stop TERM 30
check_eq "[ignore] init ignoring the stop signal is killed at the deadline -> exit 137" 137 "$BOX_STATUS"
if awk -v e="$BOX_ELAPSED" 'BEGIN { exit !(e >= 2.9 && e < 10) }'; then
	pass "[ignore] the kill came at the deadline (${BOX_ELAPSED} s for --stop-timeout 3)"
else
	fail "[ignore] the kill came at the deadline" "supervisor ended ${BOX_ELAPSED} s after SIGTERM, deadline 3 s"
fi
check_not "[ignore] systemd did not halt by itself" log_has "$BOX_LOG" "Halting system."
assert_nothing_left "[ignore] after the deadline"

# ---- 7. pure cgroup v2 ------------------------------------------------------------------
echo "# box v2: a private mount namespace with only cgroup2 at /sys/fs/cgroup"
debian_rootfs v2 || { fail "prepare the v2 rootfs"; sys_finish; }
check "[v2] install planet into the rootfs" install_planet "$ROOTFS"
cat >"$T/v2-wrap.sh" <<'EOF'
# Run "$@" with only cgroup2 mounted at /sys/fs/cgroup (private mount ns).
umount -R /sys/fs/cgroup 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup || { echo "v2-wrap: cannot mount cgroup2" >&2; exit 99; }
exec "$@"
EOF
CG2=$(cg2_host_mount)
if [ -z "$CG2" ]; then
	mkdir -p "$T/cg2"
	test_mount -t cgroup2 cgroup2 "$T/cg2" && CG2=$T/cg2
fi
# The supervisor goes into the test's cgroup (lib.sh's CG_WRAP) first, on
# the host's hierarchies, then into the v2-only namespace: as under a unit,
# its own cgroup is not the root, so it makes its leaf beside the box.
BOX_WRAP=("${CG_WRAP[@]}" unshare -m --propagation private sh "$T/v2-wrap.sh")
t_start=$(now)
# As for main: the nested planet (and systemd's DeviceAllow= on v2) load
# device BPF programs, so this box keeps cap_bpf (docs/SECURITY.md).
BOX_CGROUP=0 box_start --stop-timeout "$STOP_TIMEOUT" --capabilities default,cap_bpf
BOX_WRAP=()
check_eq "[v2] /sys/fs/cgroup inside is cgroup2" cgroup2fs "$(pexec -- stat -f -c %T /sys/fs/cgroup 2>&1)"
expect_running v2
echo "# v2: running $(elapsed_since "$t_start") s after planet start"
v2cg=$(sed -n 's/^cgroup=//p' "$STATE/state")
check_eq "[v2] planet detected the v2 layout: one cgroup" 1 "$(grep -c . <<<"$v2cg")"
v2host=$CG2${v2cg#/sys/fs/cgroup}
check "[v2] the box's cgroup on the host ($v2host)" test -d "$v2host"
nprog=$(python3 "$SYS_DIR/bpf-devprogs.py" "$v2host" 2>&1)
check_match "[v2] a BPF device program is attached to the box's cgroup" '^[1-9][0-9]*$' "$nprog"
expect_devices_enforced v2
out=$(pexec -- systemd-run --quiet --wait --pipe -p PrivateDevices=yes -p PrivateTmp=yes \
	sh -c 'test -c /dev/null && test ! -e /dev/console && echo sandbox-ok' 2>&1)
check_eq "[v2] PrivateDevices=yes service runs (systemd's own device program below ours)" "0 sandbox-ok" "$? $out"
nested_checks v2
check_eq "[v2] still no failed unit after the nested box" "" "$(pexec -- systemctl --failed --no-legend --plain 2>&1)"
check "[v2] planet stop" "$PLANET" stop --socket "$SOCK"
box_wait 30
check_eq "[v2] supervisor exits 0 after planet stop" 0 "$BOX_STATUS"
check "[v2] systemd halted cleanly (console: 'Halting system.')" log_has "$BOX_LOG" "Halting system."
check_not "[v2] the box's cgroup is gone on the host ($v2host)" test -e "$v2host"
assert_nothing_left "[v2] after planet stop"

sys_finish
