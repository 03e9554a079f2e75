#!/bin/bash
# t-ops: operating a running busybox box as an operator would, through the
# enter socket: stats (table, JSON field names, metrics in the Prometheus
# text format), ps (init as pid 1, a session's process, JSON), kill (init,
# --all), pause/resume (a busy loop's CPU stops growing, exec refused at
# once while paused, resume continues it, a paused box still halts), update
# (a limit changed live, a bad one refused), list; 100 stats clients at once
# leave the supervisor's RSS and descriptors as they were.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/enter-helpers.sh"

P() { timeout -s KILL 30 "$PLANET" "$1" --socket "$SOCK" "${@:2}"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

box_start_at_rest --pids-max 200
pcg=$(sed -n 's/^cgroup=//p' "$STATE/state" | while read -r c; do [ -f "$c/pids.max" ] && echo "$c"; done | head -n 1)

echo "# stats"
run r P stats
check_eq "stats: exit 0" 0 "$r_rc"
check_contains "stats: the box id" "$r" "$BOX_ID"
check_match "stats: pids current and max" "pids +current [0-9]+ +max 200" "$r"
run r P stats --json
check_eq "stats --json: exit 0" 0 "$r_rc"
check_eq "stats --json: pids.max" 200 "$(printf '%s' "$r" | json 'd["pids"]["max"]')"
check "stats --json: pids.current counts init" test "$(printf '%s' "$r" | json 'd["pids"]["current"]')" -ge 1
check_eq "stats --json: memory.current_bytes is a number" int \
	"$(printf '%s' "$r" | json 'type(d["memory"]["current_bytes"]).__name__')"
check_eq "stats --json: memory.oom_kills is a number" int \
	"$(printf '%s' "$r" | json 'type(d["memory"]["oom_kills"]).__name__')"
check_eq "stats --json: no memory limit is null" None "$(printf '%s' "$r" | json 'd["memory"]["max_bytes"]')"
run r P metrics
check_eq "metrics: exit 0" 0 "$r_rc"
check "metrics: every line is a HELP, a TYPE or a sample with the box_id label" python3 -c '
import re, sys
ok = True
for l in sys.argv[1].splitlines():
    if not (re.fullmatch(r"# HELP planet_[a-z_]+ .+", l) or
            re.fullmatch(r"# TYPE planet_[a-z_]+ (counter|gauge)", l) or
            re.fullmatch(r"planet_[a-z_]+\{box_id=\"[0-9a-f-]+\"\} [0-9.e+-]+", l)):
        print("bad line:", l); ok = False
sys.exit(0 if ok else 1)' "$r"
check_contains "metrics: pids_max" "$r" "planet_pids_max{box_id=\"$BOX_ID\"} 200"

echo "# ps"
pxbg sh -c 'sleep 300 & wait' >/dev/null 2>&1 &
cl=$!
wait_for 5 test -n "$(box_pids_matching 'sleep 300')"
run r P ps
check_eq "ps: exit 0" 0 "$r_rc"
check_match "ps: init is pid 1" $'\n +1 +[0-9]+ root +S' "$r"
check_contains "ps: the session's process" "$r" "sleep 300"
run r P ps --json
check_eq "ps --json: init's host pid" "$INIT_PID" "$(printf '%s' "$r" | json '[p["host_pid"] for p in d if p["pid"] == 1][0]')"
check_eq "ps --json: the fields" "cmd cpu_percent host_pid pid ppid rss_bytes started state user" \
	"$(printf '%s' "$r" | json '" ".join(sorted(d[0]))')"
check_not_contains "ps: planet's spawner is not the box's" "$r" planet-spawner
run r P ps --tree
check_match "ps --tree: the session's child indented under it" $'sh -c sleep 300 & wait\n[^\n]* {2}sleep 300' "$r"

echo "# kill"
run r P kill --all HUP
check_eq "kill --all HUP: exit 0" 0 "$r_rc"
wait_client "$cl" 10
check_eq "... the session's processes died of it" 129 "$WC_RC"
check "... init (busybox: HUP reloads) lives" kill -0 "$INIT_PID"
run r P kill NOSUCH
check_eq "kill NOSUCH: 255" 255 "$r_rc"
check_contains "... one line naming it" "$r_err" "'NOSUCH' is not a signal"

echo "# pause and resume"
pxbg sh -c 'while :; do :; done' >/dev/null 2>&1 &
loop=$!
sleep 0.5
usage() { P stats --json | json 'd["cpu"]["usage_usec"]'; }
run r P pause
check_eq "pause: exit 0, paused" "0 state=paused" "$r_rc $r"
check_contains "status: state=paused" "$(P status)" "state=paused"
u1=$(usage); sleep 0.5; u2=$(usage)
check "paused: the busy loop's CPU stops growing" test "$(( u2 - u1 ))" -lt 20000
t0=$(now)
run r P exec -- true
check_eq "exec while paused: 255" 255 "$r_rc"
check_contains "... saying the box is paused" "$r_err" "paused"
check "... at once" awk -v e="$(elapsed_since "$t0")" 'BEGIN { exit !(e < 1) }'
run r P resume
check_eq "resume: exit 0, running" "0 state=running" "$r_rc $r"
u1=$(usage); sleep 0.5; u2=$(usage)
check "resumed: the loop runs again" test "$(( u2 - u1 ))" -gt 100000
kill "$loop" 2>/dev/null; wait "$loop" 2>/dev/null

echo "# update"
run r P update --pids-max 150 --memory-max 256M
check_eq "update: exit 0" 0 "$r_rc"
check_eq "update: pids.max changed live" 150 "$(cat "$pcg/pids.max")"
check_eq "update: stats shows it" 150 "$(P stats --json | json 'd["pids"]["max"]')"
run r P update --pids-max 0
check_eq "update: a bad value, 255" 255 "$r_rc"
check_contains "... naming it" "$r_err" '"0"'
check_eq "... nothing changed" 150 "$(cat "$pcg/pids.max")"
run r P update
check_eq "update without a limit: 255" 255 "$r_rc"

echo "# list"
run r "$PLANET" list --json
check_eq "list: exit 0" 0 "$r_rc"
check_eq "list --json: this box, with its socket" "$SOCK" \
	"$(printf '%s' "$r" | json "[b['socket'] for b in d if b['box_id'] == '$BOX_ID'][0]")"

echo "# 100 stats clients at once"
cls=()
for i in $(seq 100); do
	P stats --json >/dev/null 2>&1 &
	cls+=($!)
done
wait "${cls[@]}"
check_eq "the supervisor's descriptors are as before" "$FDS0" "$(sup_fds)"
# ASan keeps freed memory in quarantine (and its leak check at exit is the
# real test there): the bound of the other stress tests in that build.
rss_max=1024
grep -q -a __asan_init "$PLANET" && rss_max=16384
check "its RSS grew by less than $((rss_max / 1024)) MiB" test "$(( $(sup_rss_kb) - RSS0 ))" -lt "$rss_max"

echo "# events"
P events --json --since-start >"$T/ev.json" 2>&1 &
evc=$!
"$PLANET" events --socket "$SOCK" >"$T/ev.txt" 2>&1 &
evt=$!
# a listener that never reads: the supervisor must not wait for it
python3 - "$SOCK" >/dev/null 2>&1 <<'PY' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
body = struct.pack('>H', 3) + b'events\nformat=json\n'
s.sendall(struct.pack('>IB', len(body) + 1, 0x08) + body)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
time.sleep(30)
PY
slow=$!
sleep 0.5
for i in $(seq 60); do px true; done
check_eq "events: a busy supervisor still answers" ok "$(px echo ok)"
P update --pids-max 140 >/dev/null
wait_for 5 grep -q '"type":"limits"' "$T/ev.json"
check "events --json: each line an object with type and time" python3 -c '
import json, re, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    assert d["type"] in ("state", "oom", "limits", "session", "init", "lost"), d
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", d["time"]), d
' "$T/ev.json"
check "events --since-start: the box's running state first" grep -q '"type":"state","time":"[^"]*","state":"running"' "$T/ev.json"
check "events: a session's end, with its audit fields" grep -q '"type":"session".*"phase":"end".*"argv":' "$T/ev.json"
check "events: the limit change" grep -q '"type":"limits".*pids_max=140' "$T/ev.json"
check "events (text): the session lines" grep -q ' session phase="end"' "$T/ev.txt"
kill "$slow" 2>/dev/null; wait "$slow" 2>/dev/null

echo "# a paused box still halts"
P pause >/dev/null
box_stop
check_eq "supervisor exits 0 (the box halted)" 0 "$BOX_STATUS"
assert_nothing_left "after the paused box"
check_not "the registry entry is gone" test -e "/run/planet/boxes/$SUP_PID"
wait "$evc" "$evt" 2>/dev/null
check "events: paused, stopping and stopped came, then the stream ended" \
	grep -q '"state":"paused"' "$T/ev.json"
check "... stopping" grep -q '"state":"stopping"' "$T/ev.json"
check "... stopped" grep -q '"state":"stopped"' "$T/ev.json"
check "... init's exit" grep -q '"type":"init"' "$T/ev.json"
finish
