#!/bin/bash
# t-limits: the box's resource limits ([resources], PLANET_*, flags), seen
# from outside as an operator would: each limit in the box's cgroup files on
# the host and inside the box; a fork loop bounded by pids_max; an
# allocation beyond memory_max OOM-killed (exit 137 to its planet exec)
# while the box runs on; a limit this host cannot apply (io_weight without
# a weight file) refused in one line, nothing left; bad values refused in
# one line with exit 2. This host's layout is checked live (v1 or hybrid, or
# pure v2 where its cgroup2 has the controllers); the v2 file names and
# values are checked against a fake tree in tests/unit/test_cgroupns_limits.
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
run r px /hog 150
check_eq "150 MB under a 64M limit: killed (137)" 137 "$r_rc"
check_not "... it did not survive" test "$r" = survived
check "the box's init is alive" kill -0 "$INIT_PID"
check_eq "and still runs commands" survived "$(px /hog 8)"
if [ -f "$m/memory.oom_control" ]; then
	check "the kernel counted the OOM kill" awk '/^oom_kill / { exit !($2 >= 1) }' "$m/memory.oom_control"
fi
box_stop
check_eq "supervisor exits 0" 0 "$BOX_STATUS"
assert_nothing_left "after the limits box"

# ---- INI [resources] and PLANET_* -------------------------------------------
echo "# INI and environment"
printf '[resources]\npids_max = 77\n' >"$T/res.conf"
PLANET_MEMORY_MAX=96M box_start --config "$T/res.conf"
check_eq "[resources] pids_max = 77" 77 "$(cat "$(cg_dir pids)/pids.max")"
m=$(cg_dir memory)
check_eq "PLANET_MEMORY_MAX=96M" 100663296 "$(cat "$m/memory.limit_in_bytes" 2>/dev/null || cat "$m/memory.max")"
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
