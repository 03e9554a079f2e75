#!/bin/bash
# t-limits: the box's resource limits ([resources], PLANET_*, flags), seen
# from outside as an operator would: each limit in the box's cgroup files on
# the host and inside the box; a fork loop bounded by pids_max; an
# allocation beyond memory_max OOM-killed (exit 137 to its planet exec)
# while the box runs on; a limit this host cannot apply (io_weight without
# a weight file) refused in one line, nothing left; bad values refused in
# one line with exit 2. The OOM kill and the memory pressure before it come
# as events to listeners started before (the victim's pid and command from
# the kernel's log, a record forged through /dev/kmsg not taken for it; the
# pressure events at most one a second); the 257th events listener is
# refused in one line. This host's layout is checked live (v1 or hybrid, or
# pure v2 where its cgroup2 has the controllers); the v2 file names and
# values are checked against a fake tree in tests/unit/test_cgroupns_limits
# and test_cgroupns_stats.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/enter-helpers.sh"
command -v gcc >/dev/null || skip "needs gcc for the in-box allocator"

# The box's cgroup dir in the hierarchy that has controller $1 (v1), else
# the cgroup2 one.
cg_dir() {
	local c mp
	while read -r c; do
		mp=$(findmnt -n -o TARGET --target "$c" 2>/dev/null)
		if findmnt -n -o OPTIONS --target "$c" | tr ',' '\n' | grep -qx "$1"; then
			echo "$c"
			return
		fi
	done < <(sed -n 's/^cgroup=//p' "$STATE/state")
	sed -n 's/^cgroup=//p' "$STATE/state" | while read -r c; do
		[ "$(stat -f -c %T "$c")" = cgroup2fs ] && grep -qw "$1" "$c/cgroup.controllers" && echo "$c"
	done | head -n 1
}

cat >"$T/hog.c" <<'C'
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	size_t mb = (size_t)atoi(argv[1]);
	for (size_t i = 0; i < mb; i++) {
		char *p = malloc(1 << 20);
		if (!p)
			return 3;
		memset(p, 1, 1 << 20);
	}
	write(1, "survived\n", 9);
	return 0;
}
C
gcc -static -O1 -o "$ROOTFS/hog" "$T/hog.c" || skip "cannot build a static program (libc6-dev?)"

# ---- bad values: one line, exit 2, nothing started ------------------------------
echo "# bad values"
for bad in "--memory-max 12Q" "--memory-max -1" "--cpus 0" "--cpus 0.001" "--cpu-weight 0" \
	"--cpu-weight 10001" "--cpuset-cpus 3-1" "--pids-max 0" "--io-weight x" "--memory-high 1.5"; do
	# shellcheck disable=SC2086
	run r "$PLANET" start --rootfs "$ROOTFS" --state-dir "$STATE" $bad
	check_eq "$bad: exit 2" 2 "$r_rc"
	check_eq "$bad: one line" 1 "$(printf '%s\n' "$r_err" | grep -c .)"
	check_contains "$bad: names the value" "$r_err" "\"${bad#* }\""
done
check_not "nothing started: no state dir" test -e "$STATE/state"

# ---- the limits, in the cgroup files ------------------------------------------
echo "# limits in the box's cgroup"
box_start --memory-max 64M --memory-high 48M --cpus 0.5 --cpu-weight 200 --cpuset-cpus 0 \
	--pids-max 64
m=$(cg_dir memory)
c=$(cg_dir cpu)
p=$(cg_dir pids)
s=$(cg_dir cpuset)
if [ -f "$m/memory.limit_in_bytes" ]; then
	check_eq "memory_max: memory.limit_in_bytes" 67108864 "$(cat "$m/memory.limit_in_bytes")"
	check_eq "memory_high: memory.soft_limit_in_bytes" 50331648 "$(cat "$m/memory.soft_limit_in_bytes")"
	check_eq "inside the box: the same limit" 67108864 \
		"$(in_box cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
	check_eq "cpus: cpu.cfs_quota_us" 50000 "$(cat "$c/cpu.cfs_quota_us")"
	check_eq "cpus: cpu.cfs_period_us" 100000 "$(cat "$c/cpu.cfs_period_us")"
	check_eq "cpu_weight 200: cpu.shares" 5219 "$(cat "$c/cpu.shares")"
else
	check_eq "memory_max: memory.max" 67108864 "$(cat "$m/memory.max")"
	check_eq "memory_high: memory.high" 50331648 "$(cat "$m/memory.high")"
	check_eq "cpus: cpu.max" "50000 100000" "$(cat "$c/cpu.max")"
	check_eq "cpu_weight: cpu.weight" 200 "$(cat "$c/cpu.weight")"
fi
check_eq "cpuset_cpus: cpuset.cpus" 0 "$(cat "$s/cpuset.cpus")"
check_eq "pids_max: pids.max" 64 "$(cat "$p/pids.max")"

echo "# pids_max bounds a fork loop"
run r px sh -c 'n=0; while [ $n -lt 200 ]; do sleep 30 & n=$((n+1)); done; echo started'
check "the fork loop hit the limit" test "$(cat "$p/pids.current")" -le 64
check_contains "... and the shell was told (fork failed)" "$r_err$r" "fork"
in_box sh -c 'kill $(pidof sleep) 2>/dev/null' || true
check_eq "the box still runs commands" ok "$(px echo ok)"

echo "# memory_max: an allocation beyond it is OOM-killed, the box runs on"
# Listeners first; --since-start's "running" says each is attached.
"$PLANET" events --json --since-start --socket "$SOCK" >"$T/ev.json" 2>"$T/ev.err" &
evj=$!
"$PLANET" events --since-start --socket "$SOCK" >"$T/ev.txt" 2>&1 &
evt=$!
wait_for 5 grep -q '"state":"running"' "$T/ev.json"
wait_for 5 grep -q 'running' "$T/ev.txt"
# A forged kernel record for this box's memory cgroup, written to /dev/kmsg
# as anything in user space can (the box too, where it may): the kernel
# files it under facility user, and the supervisor must not take it.
memcg=${m#"$(findmnt -n -o TARGET --target "$m")"}
forged="oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x,mems_allowed=0,oom_memcg=$memcg,task_memcg=$memcg,task=t-limits-forged,pid=424242,uid=0"
printf '<0>%s\n' "$forged" >/dev/kmsg 2>/dev/null || echo "# (the host's /dev/kmsg refused the forged record)"
if in_box sh -c 'test -c /dev/kmsg' 2>/dev/null; then
	in_box sh -c "printf '<0>%s\n' '$forged' >/dev/kmsg" 2>/dev/null || echo "# (the box cannot write /dev/kmsg)"
fi
run r px /hog 150
check_eq "150 MB under a 64M limit: killed (137)" 137 "$r_rc"
check_not "... it did not survive" test "$r" = survived
check "the box's init is alive" kill -0 "$INIT_PID"
check_eq "and still runs commands" survived "$(px /hog 8)"
if [ -f "$m/memory.oom_control" ]; then
	check "the kernel counted the OOM kill" awk '/^oom_kill / { exit !($2 >= 1) }' "$m/memory.oom_control"
fi
check "events: the OOM kill, with the victim's pid and command" \
	wait_for 5 grep -Eq '"type":"oom",.*"oom_kills":1,"pid":[0-9]+,"command":"hog"' "$T/ev.json"
check_not "... never the forged record's" grep -q 't-limits-forged\|424242' "$T/ev.json"
victim=$(sed -n 's/.*"type":"oom".*"pid":\([0-9]*\).*/\1/p' "$T/ev.json" | head -n 1)
check "... a pid the kernel named for this box (dmesg)" \
	sh -c "dmesg | grep -F 'task_memcg=$memcg' | grep -q 'task=hog,pid=$victim,'"
check "events (text): the same" wait_for 5 grep -q " oom oom_kills=\"1\" pid=\"$victim\" command=\"hog\"" "$T/ev.txt"
check_contains "the supervisor's log line names it" \
	"$(grep 'OOM:' "$BOX_LOG")" "OOM: the kernel killed a process in the box: pid=$victim command=\"hog\" oom_kills=1"
# The allocation reclaimed before the kill: the kernel signalled pressure
# (how many times is the kernel's business: once is possible); listeners got
# at most one event a second, each counting at least one notification.
check "events: memory pressure before the kill, with its level" \
	grep -Eq '"type":"pressure","time":"[^"]*","level":"(low|medium|critical)","count":[0-9]+' "$T/ev.json"
check "events (text): the same" grep -Eq ' pressure level="(low|medium|critical)" count="[0-9]+"' "$T/ev.txt"
check "pressure events: at most one a second, each with its count" python3 -c '
import json, sys, datetime
ev = [json.loads(l) for l in open(sys.argv[1]) if "\"pressure\"" in l]
t = [datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() for e in ev]
assert ev and all(b - a >= 0.99 for a, b in zip(t, t[1:])), t
assert all(e["count"] >= 1 for e in ev), ev
' "$T/ev.json"
# PSI totals: on cgroup2, and on hybrid in the unified hierarchy's dir
if sed -n 's/^cgroup=//p' "$STATE/state" | while read -r c; do [ -f "$c/memory.pressure" ] && echo y; done |
	grep -q y; then
	check "stats --json: the box stalled on memory (PSI, some), in microseconds" \
		test "$("$PLANET" stats --json --socket "$SOCK" |
			python3 -c 'import json, sys; print(json.load(sys.stdin)["memory"]["pressure_some_usec"])')" -gt 0
	check "metrics: the same as a counter in seconds" sh -c \
		"'$PLANET' metrics --socket '$SOCK' | grep -q '^planet_memory_pressure_some_seconds_total{box_id=\"$BOX_ID\"} [0-9.e+-]*$'"
fi
check "the supervisor logged the pressure once, then its end" \
	grep -q 'memory pressure in the box: \(low\|medium\|critical\)' "$BOX_LOG"

echo "# events: 256 listeners at most, the next one refused in one line"
python3 - "$SOCK" 254 >"$T/many.out" 2>&1 <<'PY' &
import socket, struct, sys
socks = []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    body = struct.pack('>H', 3) + b'events\nsince_start=1\n'
    s.sendall(struct.pack('>IB', len(body) + 1, 0x08) + body)
    s.recv(1)  # the first kept event: it is attached
    socks.append(s)
print('attached', len(socks), flush=True)
import signal; signal.pause()  # until the test kills it
PY
many=$!
wait_for 20 grep -q attached "$T/many.out"
run r timeout 10 "$PLANET" events --socket "$SOCK"
check_eq "the 257th listener: refused (exit 255)" 255 "$r_rc"
check_contains "... saying why" "$r_err" "256 listeners"
check_eq "... in one line" 1 "$(printf '%s\n' "$r_err" | grep -c .)"
kill "$many" 2>/dev/null
wait "$many" 2>/dev/null
box_stop
check_eq "supervisor exits 0" 0 "$BOX_STATUS"
wait "$evj" "$evt" 2>/dev/null
assert_nothing_left "after the limits box"

# ---- INI [resources] and PLANET_* -------------------------------------------
echo "# INI and environment"
printf '[resources]\npids_max = 77\n' >"$T/res.conf"
PLANET_MEMORY_MAX=96M box_start --config "$T/res.conf"
check_eq "[resources] pids_max = 77" 77 "$(cat "$(cg_dir pids)/pids.max")"
m=$(cg_dir memory)
check_eq "PLANET_MEMORY_MAX=96M" 100663296 "$(cat "$m/memory.limit_in_bytes" 2>/dev/null || cat "$m/memory.max")"
run r "$PLANET" update --socket "$SOCK" --pids-max max
check_eq "update --pids-max max: exit 0" 0 "$r_rc"
check_eq "stats --json: pids.max unlimited is null" None "$("$PLANET" stats --json --socket "$SOCK" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["pids"]["max"])')"
box_stop
assert_nothing_left "after the INI box"

# ---- what this host cannot do: one line, nothing left --------------------------
if ! ls /sys/fs/cgroup/blkio/blkio*weight >/dev/null 2>&1 && ! grep -qw io /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	echo "# io_weight without a weight file"
	run r timeout 20 "$PLANET" start --rootfs "$ROOTFS" --state-dir "$STATE" --init /sbin/planet-test-init \
		--io-weight 300
	check_eq "io_weight on this host: refused (exit 1)" 1 "$r_rc"
	check_contains "... saying why" "$r_err" "io_weight"
	check_not "... no box left" test -e "$STATE/state"
	assert_nothing_left "after the refused io_weight"
fi
finish
