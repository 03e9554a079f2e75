#!/bin/bash
# t-boot: boot a busybox box with volumes, devices, env, dns and a hostname;
# check from the host (nsenter into init's namespaces, /proc/$INIT_PID) that
# it is what the options asked for; SIGTERM halts it with exit 0; nothing
# remains. A second box (private mount namespace with a fake host
# /etc/resolv.conf) checks the resolv.conf rules and --seccomp none.
# shellcheck disable=SC2016,SC2034,SC2086
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"

has_opt() { # has_opt "a,b,c" b
	case ",$1," in *",$2,"*) return 0 ;; esac
	return 1
}
# mount field helpers on box_mnt output "opts|optional|fstype|source|superopts"
mnt_field() { echo "$1" | cut -d'|' -f"$2"; }

check_mount() { # check_mount PATH FSTYPE [ro|rw]
	local m
	m=$(box_mnt "$1")
	if [ -z "$m" ]; then
		fail "$1 is mounted in the box${2:+ ($2)}" "no mount at $1 in /proc/$INIT_PID/mountinfo"
		return
	fi
	if [ -n "$2" ]; then
		check_eq "$1 is mounted in the box ($2)" "$2" "$(mnt_field "$m" 3)"
	else
		pass "$1 is mounted in the box ($(mnt_field "$m" 3))"
	fi
	case ${3:-} in
	ro) if has_opt "$(mnt_field "$m" 1)" ro; then pass "$1 is read-only in the box"; else fail "$1 is read-only in the box" "mount options: $(mnt_field "$m" 1)"; fi ;;
	rw) if has_opt "$(mnt_field "$m" 1)" rw; then pass "$1 is read-write in the box"; else fail "$1 is read-write in the box" "mount options: $(mnt_field "$m" 1)"; fi ;;
	esac
}

HOST_HOSTNAME=$(hostname)

# ---- host side of the volumes -------------------------------------------------
V=$T/vols
mkdir -p "$V/data1" "$V/data2" "$V/ro" "$V/rec/sub" "$V/recrw/sub" "$V/norec/sub"
echo one >"$V/data1/file"
echo two >"$V/data2/file"
echo readonly >"$V/ro/file"
echo top >"$V/rec/file"
echo afile >"$V/afile"
test_mount -t tmpfs -o size=1m planet-test-rec "$V/rec/sub"
echo sub >"$V/rec/sub/subfile"
test_mount -t tmpfs -o size=1m planet-test-recrw "$V/recrw/sub"
echo subrw >"$V/recrw/sub/subfile"
test_mount -t tmpfs -o size=1m planet-test-norec "$V/norec/sub"
echo hidden >"$V/norec/sub/subfile"

# ---- host side of the devices ---------------------------------------------------
# Two nodes of our own, /dev/planet-t-<id>-0 and -1, with the numbers of
# /dev/null and /dev/zero: every host (a container or a box too) lets root
# make those, so the glob, fileMode, uid and gid are checked everywhere.
# The host's /dev/loop* (block devices, outside the standard set, so the
# device cgroup rule is really checked) only where there are some: a host
# in a container or a box has none, and only those checks are left out.
# The nodes are removed on every way out: lib_cleanup is wrapped.
NODE_GLOB=/dev/planet-t-${T##*.}-
TEST_NODES=("${NODE_GLOB}0" "${NODE_GLOB}1")
eval "lib_cleanup_lib() $(declare -f lib_cleanup | tail -n +2)"
lib_cleanup() {
	rm -f "${TEST_NODES[@]}"
	lib_cleanup_lib
}
mknod -m 0600 "${TEST_NODES[0]}" c 1 3 && mknod -m 0600 "${TEST_NODES[1]}" c 1 5 ||
	{ fail "make the test device nodes ${TEST_NODES[*]}"; finish; }
DEVICE_ARGS=(--device "path=${NODE_GLOB}*;permissions=rw;fileMode=0640;uid=1000;gid=1000")
HOST_DEVS=("${TEST_NODES[@]}")
HOST_LOOPS=()
for d in /dev/loop*; do
	{ [ -b "$d" ] || [ -c "$d" ]; } && HOST_LOOPS+=("$d")
done
if [ ${#HOST_LOOPS[@]} -gt 0 ]; then
	DEVICE_ARGS+=(--device 'path=/dev/loop*;permissions=rw;fileMode=0640;uid=1000;gid=1000')
	HOST_DEVS+=("${HOST_LOOPS[@]}")
else
	echo "# no /dev/loop* on this host: the block device checks are left out"
fi

box_start \
	--hostname testbox \
	--stop-timeout 10 \
	--seccomp default \
	--volume "$V/data*:$V/data*" \
	--volume "$V/ro:/mnt/ro:ro" \
	--volume "$V/rec:/mnt/rec:ro:rec,$V/recrw:/mnt/recrw:rec" \
	--volume "$V/norec:/mnt/norec" \
	--volume "$V/missing:/mnt/missing:skip" \
	--volume "$V/afile:/etc/afile:ro" \
	"${DEVICE_ARGS[@]}" \
	--device 'path=/dev/planet-no-such-dev*;optional=true' \
	--env 'FOO=bar,LIST="a,b",SPACED="hello world"' \
	--env 'MONEY=a$b,QUOTE="say \"hi\""' \
	--dns-hosts 'alpha.test/10.1.2.3,beta.test/fd00::1' \
	--dns-zones 'corp.test/10.9.9.9,lab.test/10.9.9.8'
pass "box started with volumes, devices, env, dns, hostname (state after ${BOX_ELAPSED}s)"

# ---- state file -----------------------------------------------------------------
check_match "state: box_id is a UUID" '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "$BOX_ID"
check_eq "state: supervisor_pid is the supervisor" "$SUP_PID" "$(state_get supervisor_pid)"
check_eq "state: rootfs" "$ROOTFS" "$(state_get rootfs)"
check_eq "state: socket" "$SOCK" "$(state_get socket)"
started=$(state_get started)
now_s=$(date +%s)
if [[ $started =~ ^[0-9]+$ ]] && [ $((now_s - started)) -ge 0 ] && [ $((now_s - started)) -lt 60 ]; then
	pass "state: started is the start time ($started)"
else
	fail "state: started is the start time" "started=$started now=$now_s"
fi
if [ -e "$STATE/lock" ]; then
	flock -n -E 75 "$STATE/lock" true
	check_eq "state: $STATE/lock is locked while the box runs" 75 "$?"
else
	fail "state: $STATE/lock exists while the box runs" "$(ls -la "$STATE" 2>&1)"
fi

# ---- init, namespaces, hostname, console -------------------------------------
nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$INIT_PID/status")
check_eq "init is PID 1 in its pid namespace (NSpid)" 1 "$nspid"
check_eq "PID 1 seen inside is busybox init" /bin/busybox "$(in_box readlink /proc/1/exe)"
for ns in pid mnt uts ipc cgroup; do
	[ -e "/proc/self/ns/$ns" ] || continue
	if [ "$(stat -L -c %i "/proc/$INIT_PID/ns/$ns")" != "$(stat -L -c %i "/proc/self/ns/$ns")" ]; then
		pass "init has its own $ns namespace"
	else
		fail "init has its own $ns namespace" "same $ns namespace as the host"
	fi
done
check_eq "init shares the host's network namespace" "$(stat -L -c %i /proc/self/ns/net)" "$(stat -L -c %i "/proc/$INIT_PID/ns/net")"
check_eq "hostname inside is --hostname" testbox "$(in_box hostname)"
check_eq "host's hostname unchanged" "$HOST_HOSTNAME" "$(hostname)"
if wait_for 5 grep -q "box booted" "$BOX_LOG"; then
	pass "init's console output (rcS: box booted) reaches the supervisor's stdout"
else
	fail "init's console output (rcS: box booted) reaches the supervisor's stdout" "$(cat "$BOX_LOG")"
fi

# ---- the standard mounts ---------------------------------------------------------
check_mount /proc proc
check_mount /sys sysfs ro
m=$(box_mnt /proc/sys)
if [ -n "$m" ] && has_opt "$(mnt_field "$m" 1)" ro; then
	pass "/proc/sys is read-only in the box"
else
	fail "/proc/sys is read-only in the box" "mount at /proc/sys: ${m:-none}"
fi
# (the box's own uts namespace: even if the write went through it would not touch the host)
check_not "writing /proc/sys inside fails" in_box sh -c 'cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname'
check_mount /dev tmpfs
check_mount /dev/pts devpts
check_mount /dev/shm tmpfs
check_mount /dev/mqueue mqueue
check_mount /run tmpfs
check_mount /run/lock tmpfs
check_mount /sys/fs/cgroup ""
check_mount /etc/resolv.conf "" ro
check_not "/etc/resolv.conf cannot be written inside" in_box sh -c 'echo x >> /etc/resolv.conf'

# ---- /dev ------------------------------------------------------------------------
R=/proc/$INIT_PID/root
for spec in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
	IFS=: read -r n ma mi <<<"$spec"
	check_eq "/dev/$n is char $ma:$mi" "character special file $ma:$mi" "$(stat -c '%F %Hr:%Lr' "$R/dev/$n" 2>&1)"
done
check_eq "/dev/ptmx -> pts/ptmx" pts/ptmx "$(readlink "$R/dev/ptmx" 2>&1)"
cons=$(stat -c '%F %Hr' "$R/dev/console" 2>&1)
if [[ $cons =~ ^character\ special\ file\ (13[6-9]|14[0-3])$ ]]; then
	pass "/dev/console is a pty ($cons)"
else
	fail "/dev/console is a pty" "observed: $cons"
fi
check "/dev/null works inside" in_box sh -c 'echo x > /dev/null'
out=$(in_box sh -c 'dd if=/dev/urandom bs=16 count=1 2>/dev/null | wc -c' 2>&1)
check_eq "/dev/urandom readable inside" 16 "$(echo "$out" | tr -d ' ')"

# devices from --device, and the device cgroup
devcg=$(sed -n 's/^cgroup=//p' "$STATE/state" | while read -r c; do [ -f "$c/devices.list" ] && echo "$c"; done | head -n 1)
for d in "${HOST_DEVS[@]}"; do
	exp="$(stat -c '%F %Hr:%Lr' "$d") 640 1000 1000"
	check_eq "--device $d: node in the box with real major:minor, fileMode, uid, gid" "$exp" "$(stat -c '%F %Hr:%Lr %a %u %g' "$R$d" 2>&1)"
	if [ -n "$devcg" ]; then
		t=b
		[ -c "$d" ] && t=c
		mm=$(stat -c '%Hr:%Lr' "$d")
		# (the kernel merges a rule into one for the same node: our test
		# nodes share numbers with null and zero, whose rule is rwm)
		if grep -qxE "$t $mm rwm?" "$devcg/devices.list"; then
			pass "--device $d: allowed rw in the device cgroup ($t $mm rw)"
		else
			fail "--device $d: allowed rw in the device cgroup" "no line '$t $mm rw' in $devcg/devices.list:" "$(cat "$devcg/devices.list")"
		fi
	fi
done
if [ -n "$devcg" ]; then
	check_not "device cgroup does not allow everything (no 'a *:* rwm')" grep -qx 'a \*:\* rwm' "$devcg/devices.list"
	for spec in c:1:3 c:1:5 c:5:0; do
		IFS=: read -r t ma mi <<<"$spec"
		check "device cgroup allows the standard node $t $ma:$mi" grep -qE "^$t $ma:$mi r?w?m?" "$devcg/devices.list"
	done
	check_not "device cgroup does not allow reading/writing a disk (b 8:0)" grep -qE '^b (8|\*):(0|\*) .*[rw]' "$devcg/devices.list"
else
	echo "# no v1 devices hierarchy: device cgroup rules not checked here"
fi
check_not "--device optional glob matching nothing creates nothing" test -e "$R/dev/planet-no-such-dev0"

# ---- volumes -----------------------------------------------------------------------
for n in 1 2; do
	check_eq "glob volume: $V/data$n mounted at its own path" "$([ $n = 1 ] && echo one || echo two)" "$(in_box cat "$V/data$n/file" 2>&1)"
	m=$(box_mnt "$V/data$n")
	if [ -n "$m" ]; then pass "glob volume: $V/data$n is a mount in the box"; else fail "glob volume: $V/data$n is a mount in the box" "no mount at $V/data$n"; fi
	check_contains "glob volume: $V/data$n has shared propagation" "$(mnt_field "$m" 2)" "shared:"
done
in_box sh -c "echo fromBox > $V/data1/new"
check_eq "rw volume: a write inside is seen on the host" fromBox "$(cat "$V/data1/new" 2>&1)"

check_mount /mnt/ro "" ro
check_eq "ro volume: content visible" readonly "$(in_box cat /mnt/ro/file 2>&1)"
check_not "ro volume: cannot be written inside" in_box touch /mnt/ro/x
check_not "ro volume: nothing appeared on the host" test -e "$V/ro/x"

check_mount /mnt/rec "" ro
check_mount /mnt/rec/sub tmpfs ro
check_eq "ro+rec volume: submount content visible" sub "$(in_box cat /mnt/rec/sub/subfile 2>&1)"
check_not "ro+rec volume: the submount cannot be written inside" in_box touch /mnt/rec/sub/x
check "ro+rec volume: the host's own submount stays writable" touch "$V/rec/sub/hostwrite"

check_mount /mnt/recrw/sub tmpfs rw
check "rec volume: the submount is writable inside" in_box touch /mnt/recrw/sub/fromBox
check "rec volume: a write in the submount is seen on the host" test -e "$V/recrw/sub/fromBox"

check_eq "non-rec volume: the source's submount is not carried" "" "$(box_mnt /mnt/norec/sub)"
check_not "non-rec volume: the submount's file is not visible" in_box test -e /mnt/norec/sub/subfile

check_eq "skip volume with a missing source: nothing mounted" "" "$(box_mnt /mnt/missing)"

check_mount /etc/afile "" ro
check_eq "file volume: content" afile "$(in_box cat /etc/afile 2>&1)"

# ---- generated files -------------------------------------------------------------
envf=$(in_box cat /etc/container-environment 2>&1)
for line in 'FOO="bar"' 'LIST="a,b"' 'SPACED="hello world"' 'MONEY="a\$b"' 'QUOTE="say \"hi\""' \
	'container="planet"' "container_uuid=\"$BOX_ID\""; do
	if grep -qxF -- "$line" <<<"$envf"; then
		pass "env file has the line $line"
	else
		fail "env file has the line $line" "/etc/container-environment:" "$envf"
	fi
done
check_eq "env file is the rootfs's own file" "$envf" "$(cat "$ROOTFS/etc/container-environment" 2>&1)"
check_eq "env file sources back to the same values" 'bar|a,b|hello world|a$b|say "hi"' \
	"$(in_box sh -c '. /etc/container-environment; echo "$FOO|$LIST|$SPACED|$MONEY|$QUOTE"' 2>&1)"

hosts=$(in_box cat /etc/hosts 2>&1)
for pair in 10.1.2.3:alpha.test fd00::1:beta.test; do
	ip=${pair%:*} name=${pair##*:}
	if awk -v ip="$ip" -v n="$name" '$1 == ip { for (i = 2; i <= NF; i++) if ($i == n) f = 1 } END { exit !f }' <<<"$hosts"; then
		pass "/etc/hosts maps $name to $ip"
	else
		fail "/etc/hosts maps $name to $ip" "$hosts"
	fi
done
check "/etc/hosts still has localhost" awk '$1 == "127.0.0.1" { for (i = 2; i <= NF; i++) if ($i == "localhost") f = 1 } END { exit !f }' <<<"$hosts"

host_ns=$(awk '$1 == "nameserver" { print $2 }' /etc/resolv.conf)
exp_ns=$(printf '%s\n' 10.9.9.9 10.9.9.8 $host_ns | awk '!seen[$0]++' | tr '\n' ' ')
resolv=$(in_box cat /etc/resolv.conf 2>&1)
check_eq "resolv.conf: zone nameservers first, then the host's" "$exp_ns" "$(awk '$1 == "nameserver" { print $2 }' <<<"$resolv" | tr '\n' ' ')"
zones=$(in_box cat /run/planet/dns-zones.conf 2>&1)
check_contains "dns zone drop-in has server=/corp.test/10.9.9.9" "$zones" "server=/corp.test/10.9.9.9"
check_contains "dns zone drop-in has server=/lab.test/10.9.9.8" "$zones" "server=/lab.test/10.9.9.8"

check_eq "/run/host/container-manager" planet "$(in_box cat /run/host/container-manager 2>&1)"
check_eq "/run/host/container-uuid is the box id" "$BOX_ID" "$(in_box cat /run/host/container-uuid 2>&1)"

ienv=$(tr '\0' '\n' <"/proc/$INIT_PID/environ")
check "init's environment has container=planet" grep -qx container=planet <<<"$ienv"
check "init's environment has container_uuid=<box id>" grep -qx "container_uuid=$BOX_ID" <<<"$ienv"

# ---- cgroups -------------------------------------------------------------------------
check_cgroups() { # check_cgroups PREFIX
	local cgs nroots mp own want found c rel ctl line cgin
	mapfile -t cgs < <(sed -n 's/^cgroup=//p' "$STATE/state")
	nroots=$(lib_cg_roots | wc -l)
	check_eq "$1state: one cgroup= line per cgroup hierarchy" "$nroots" "${#cgs[@]}"
	while IFS=$'\t' read -r mp own; do
	want=$(box_cg_parent "$mp")
	found=
	for c in "${cgs[@]}"; do
		case $c in "$mp"/*) found=$c ;; esac
	done
	if [ -z "$found" ]; then
		fail "$1box cgroup in $mp" "no cgroup= line under $mp"
		continue
	fi
	check_eq "$1box cgroup in $mp is directly below $want" "$want" "$(dirname "$found")"
	check "$1init is in the box cgroup $found" grep -qx "$INIT_PID" "$found/cgroup.procs"
	rel=${found#"$mp"}
	ctl=$(awk -v m="$mp" '$5 == m { for (i = 7; $i != "-"; i++) ; print $(i + 1) " " $(i + 3) }' /proc/self/mountinfo | tail -n 1)
	line=$(grep -E ":$rel\$" "/proc/$INIT_PID/cgroup" | head -n 1)
	if [ -n "$line" ]; then pass "$1/proc/$INIT_PID/cgroup names $rel ($ctl)"; else fail "$1/proc/$INIT_PID/cgroup names $rel ($ctl)" "$(cat "/proc/$INIT_PID/cgroup")"; fi
	done < <(lib_cg_roots)
	cgin=$(in_box cat /proc/1/cgroup 2>&1)
	check_eq "$1inside, init's cgroup is the root of its cgroup namespace in every hierarchy" "" "$(awk -F: '$3 != "/"' <<<"$cgin")"
}
# the supervisor runs in the test's own cgroup (lib.sh), as under a unit
check_cgroups ""

# ---- capabilities, seccomp ---------------------------------------------------------------
# The default set (docs/SECURITY.md; t-guardrails checks it bit by bit),
# limited to what the supervisor itself has (a host may lack some).
capbnd=$(awk '/^CapBnd:/ { print $2 }' "/proc/$INIT_PID/status")
keep=0
for b in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 18 19 21 22 23 24 26 27 28 31; do
	keep=$((keep | (1 << b)))
done
expect=$((16#$(awk '/^CapBnd:/ { print $2 }' /proc/self/status) & keep))
check_eq "init's bounding set is the default set (the host's, within it)" "$(printf '%016x' "$expect")" "$capbnd"
c=$((16#$capbnd))
for b in 21:CAP_SYS_ADMIN 27:CAP_MKNOD; do
	if [ $(((c >> ${b%%:*}) & 1)) = 1 ]; then pass "init keeps ${b#*:}"; else fail "init keeps ${b#*:}" "CapBnd $capbnd"; fi
done
for b in 29:CAP_AUDIT_WRITE 30:CAP_AUDIT_CONTROL 37:CAP_AUDIT_READ 16:CAP_SYS_MODULE 25:CAP_SYS_TIME; do
	if [ $(((c >> ${b%%:*}) & 1)) = 0 ]; then pass "init lacks ${b#*:}"; else fail "init lacks ${b#*:}" "CapBnd $capbnd"; fi
done
check_eq "--seccomp default: init runs under a seccomp filter" 2 "$(awk '/^Seccomp:/ { print $2 }' "/proc/$INIT_PID/status")"

# ---- halt -----------------------------------------------------------------------------------
box_stop TERM 20
check_eq "SIGTERM to the supervisor: exit status 0" 0 "$BOX_STATUS"
if awk -v e="$BOX_ELAPSED" 'BEGIN { exit !(e < 10) }'; then
	pass "SIGTERM: box gone within the stop timeout (${BOX_ELAPSED}s < 10s)"
else
	fail "SIGTERM: box gone within the stop timeout" "took ${BOX_ELAPSED}s"
fi
check "the halt ran busybox init's shutdown action (box halting on the console)" grep -q "box halting" "$BOX_LOG"
assert_nothing_left "after SIGTERM"
check "the host's tmpfs under the rec volume is still mounted" mountpoint -q "$V/rec/sub"
check "the host's tmpfs under the rec volume is still writable" touch "$V/rec/sub/after"

# ---- box 2: resolv.conf rules, defaults, --seccomp none, SIGINT ---------------------------
printf '%s\n' '# fake host resolv.conf' 'search example.org corp.example' \
	'options ndots:2 rotate timeout:1' 'nameserver 10.255.0.1' 'nameserver 10.255.0.2' >"$T/host-resolv.conf"
# shellcheck disable=SC2016
BOX_WRAP=(unshare -m --propagation slave -- sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$T/host-resolv.conf")
# this one runs in the test shell's own cgroup: the box goes below it, or
# below /planet in a hierarchy where that is the root
BOX_CGROUP=0
box_start --seccomp none --stop-timeout 10 --dns-zones 'z.test/10.255.0.2' --notify-ready init
BOX_WRAP=()
check_cgroups "box 2: "
BOX_CGROUP=1
ienv=$(tr '\0' '\n' <"/proc/$INIT_PID/environ")
check "box 2: --notify-ready init: init's environment has NOTIFY_SOCKET=/run/host/notify" grep -qx NOTIFY_SOCKET=/run/host/notify <<<"$ienv"
check "box 2: --notify-ready init: /run/host/notify is a socket inside" in_box test -S /run/host/notify
resolv=$(in_box cat /etc/resolv.conf 2>&1)
check_eq "box 2: resolv.conf nameservers: zone's first, duplicates once" "10.255.0.2 10.255.0.1 " \
	"$(awk '$1 == "nameserver" { print $2 }' <<<"$resolv" | tr '\n' ' ')"
check "box 2: resolv.conf keeps the host's search line" grep -qx 'search example.org corp.example' <<<"$resolv"
opts=$(grep '^options' <<<"$resolv")
check_contains "box 2: resolv.conf keeps options ndots:2" "$opts" ndots:2
check_contains "box 2: resolv.conf keeps options timeout:1" "$opts" timeout:1
check_not_contains "box 2: resolv.conf drops rotate" "$resolv" rotate
check_eq "box 2: default hostname" planet "$(in_box hostname)"
check_eq "box 2: --seccomp none: no filter" 0 "$(awk '/^Seccomp:/ { print $2 }' "/proc/$INIT_PID/status")"
envf=$(in_box cat /etc/container-environment 2>&1)
check "box 2: env file rewritten for the new box id" grep -qxF "container_uuid=\"$BOX_ID\"" <<<"$envf"
check_not "box 2: env file no longer has the first box's variables" grep -q '^FOO=' <<<"$envf"
box_stop INT 20
check_eq "box 2: SIGINT to the supervisor: exit status 0" 0 "$BOX_STATUS"
assert_nothing_left "box 2, after SIGINT"

finish
