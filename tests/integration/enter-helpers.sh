# enter-helpers.sh — what t-enter.sh, t-enter-tty.sh and t-enter-stress.sh
# share. Sourced after tests/lib/lib.sh (which sets T, SOCK, PLANET, ...).
#
#   px ARGS...             planet exec --socket $SOCK ARGS (under a timeout)
#   wait_client PID [SEC]  reap a background client (WC_RC = its status)
#   pxbg ARGS... &         the same without the timeout wrapper, for a
#                          background client the test signals or kills ($! is
#                          the client itself); INT and QUIT reset to default
#   run VAR CMD...         run CMD; stdout in $VAR, stderr in ${VAR}_err,
#                          status in ${VAR}_rc
#   box_pids_matching STR  pids in the box's pid namespace whose command line
#                          contains STR
#   no_box_proc STR        none of those
#   box_zombies            zombies among the supervisor's children and in the box
#   sup_rss_kb / sup_fds   the supervisor's VmRSS (kB) and open descriptors
#   rawframes MODE         talk to the socket with hand-made frames (python3),
#                          print what came back: "ERROR <status> <message>"
#                          (versions 1, 2), "ERROR <status> [<code>] <message>"
#                          (version 3), "FRAME <kind>", "EOF", "TIMEOUT" (see
#                          $T/rawframes.py); a message that is not one line of
#                          UTF-8 without NUL prints as "BADTEXT <repr>"
# shellcheck shell=bash disable=SC2034

command -v python3 >/dev/null 2>&1 || skip "needs python3"

PX_TIMEOUT=${PX_TIMEOUT:-60}

px() {
	timeout -s KILL "$PX_TIMEOUT" "$PLANET" exec --socket "$SOCK" "$@"
}

pxbg() {
	exec env --default-signal=INT,QUIT "$PLANET" exec --socket "$SOCK" "$@"
}

# True when PID has exited (gone, or a zombie waiting for us).
client_gone() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}

# wait_client PID [SEC]: wait for a background client at most SEC seconds
# (then SIGKILL it); its exit status goes to WC_RC. Not in $(...): only
# this shell can reap its children.
wait_client() {
	wait_for "${2:-20}" client_gone "$1" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	WC_RC=$?
}

no_zombies() {
	[ "$(box_zombies)" = 0 ]
}

run() {
	local var=$1 out err rc
	shift
	out=$("$@" 2>"$T/run.err")
	rc=$?
	err=$(cat "$T/run.err")
	printf -v "$var" '%s' "$out"
	printf -v "${var}_err" '%s' "$err"
	printf -v "${var}_rc" '%s' "$rc"
}

box_pids_matching() {
	local ns p
	ns=$(readlink "/proc/$INIT_PID/ns/pid" 2>/dev/null) || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] || continue
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$1" && echo "${p#/proc/}"
	done
}

no_box_proc() {
	[ -z "$(box_pids_matching "$1")" ]
}

box_zombies() {
	local ns p st n=0
	ns=$(readlink "/proc/$INIT_PID/ns/pid" 2>/dev/null)
	for p in /proc/[0-9]*; do
		st=$(sed -n 's/^State:\t\(.\).*/\1/p;s/^PPid:\t//p' "$p/status" 2>/dev/null | tr '\n' ' ')
		case $st in Z\ *) ;; *) continue ;; esac
		if [ "${st#Z }" = "$SUP_PID " ] || [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ]; then
			n=$((n + 1))
		fi
	done
	echo $n
}

sup_rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SUP_PID/status"
}

sup_fds() {
	find "/proc/$SUP_PID/fd" -mindepth 1 2>/dev/null | wc -l
}

# Boot the box, run one session, and note the supervisor's descriptors and
# RSS at rest in FDS0 and RSS0 (the baseline of the leak checks).
box_start_at_rest() {
	box_start "$@"
	wait_for 5 grep -q "box booted" "$BOX_LOG" || fail "box booted" "$(cat "$BOX_LOG")"
	check_eq "warm-up session" ok "$(px echo ok)"
	FDS0=$(sup_fds)
	RSS0=$(sup_rss_kb)
	echo "# supervisor at rest: $FDS0 fds, $RSS0 kB"
}

cat >"$T/rawframes.py" <<'EOF'
# rawframes.py SOCKET MODE: send hand-made frames, print what comes back.
import socket, struct, sys, time

path, mode = sys.argv[1], sys.argv[2]

def frame(kind, payload=b''):
    return struct.pack('>IB', len(payload) + 1, kind) + payload

def s(b):
    return struct.pack('>I', len(b)) + b

def exec_payload(argv, version=1, flags=0, env=(), user=b'', cwd=b''):
    p = struct.pack('>HBHH', version, flags, 0, 0)
    p += struct.pack('>I', len(argv)) + b''.join(s(a) for a in argv)
    p += struct.pack('>I', len(env)) + b''.join(s(e) for e in env)
    return p + s(user) + s(cwd)

modes = {
    'garbage': b'garbage! not a frame at all\n',
    'zero': b'\0\0\0\0\x01',
    'oversized': struct.pack('>IB', 0x7fffffff, 0x01) + b'\0\1',
    'unknown': frame(0x42, b'xx'),
    'server-kind': frame(0x82, b'hello'),
    'stdin-first': frame(0x02, b'hello'),
    'badsize': frame(0x04, b'\0\0\0'),
    'argc0': frame(0x01, exec_payload([])),
    'nul': frame(0x01, exec_payload([b'ec\0ho'])),
    'count': frame(0x01, struct.pack('>HBHHI', 1, 0, 0, 0, 0xffffffff) + b'\0\0\0\0'),
    'overrun': frame(0x01, struct.pack('>HBHHII', 1, 0, 0, 0, 1, 0x7fffffff) + b'ab'),
    'version': frame(0x01, exec_payload([b'true'], version=4)),
    'flags': frame(0x01, exec_payload([b'true'], flags=0x80)),
    'relcwd': frame(0x01, exec_payload([b'true'], cwd=b'tmp')),
    'status-version': frame(0x07, b'\0\x09'),
    'stdin-unwanted': frame(0x01, exec_payload([b'sh', b'-c', b'sleep 30', b'rawframes-unwanted'])) + frame(0x02, b'x'),
    'second-exec': frame(0x01, exec_payload([b'sh', b'-c', b'sleep 30', b'rawframes-second'])) + frame(0x01, exec_payload([b'true'])),
    'empty-stdin': frame(0x01, exec_payload([b'cat'], flags=2)) + frame(0x02, b''),
    'truncated': frame(0x01, exec_payload([b'true']))[:12],
    'ok': frame(0x01, exec_payload([b'echo', b'raw-ok'])),
    # version 2 and 3 requests, as an older client and the reference one send them
    'v2-ok': frame(0x01, exec_payload([b'echo', b'v2-ok'], version=2)),
    'v2-nosuch': frame(0x01, exec_payload([b'nosuch-cmd'], version=2)),
    'v3-ok': frame(0x01, exec_payload([b'echo', b'v3-ok'], version=3)),
    'v3-nosuch': frame(0x01, exec_payload([b'nosuch-cmd'], version=3)),
    'v3-noexec': frame(0x01, exec_payload([b'/etc/hosts'], version=3)),
    'v3-nouser': frame(0x01, exec_payload([b'true'], version=3, user=b'nosuch-user')),
    'v3-nocwd': frame(0x01, exec_payload([b'true'], version=3, cwd=b'/nosuch-dir')),
    'v3-quoted': frame(0x01, exec_payload([b'no\nsuch\xff\xfe\\'], version=3)),
    'v3-quoted-user': frame(0x01, exec_payload([b'true'], version=3, user=b'a\nb\xff')),
    'v2-quoted': frame(0x01, exec_payload([b'no\nsuch\xff\xfe'], version=2)),
    'v3-argc0': frame(0x01, exec_payload([], version=3)),
    'v3-relcwd': frame(0x01, exec_payload([b'true'], version=3, cwd=b'tmp')),
    'v3-badenv': frame(0x01, exec_payload([b'true'], version=3, env=[b'NOEQUALS'])),
    'v3-stdin-unwanted': frame(0x01, exec_payload([b'sh', b'-c', b'sleep 30', b'rawframes-v3u'], version=3)) + frame(0x02, b'x'),
    'v3-status': frame(0x07, b'\0\x03'),
    'v3-status-more': frame(0x07, b'\0\x03') + frame(0x42, b'junk after STATUS'),
    'silent': b'',
    'status-v1': frame(0x07, b'\0\x01'),
}
codes = {1: 'denied', 2: 'limit', 3: 'bad-request', 4: 'version', 5: 'timeout',
         6: 'stopping', 7: 'internal', 8: 'not-found', 9: 'not-executable',
         10: 'exec-failed'}

def text(b):
    try:
        t = b.decode('utf-8')
    except UnicodeDecodeError:
        return 'BADTEXT %r' % b
    if '\n' in t or '\0' in t:
        return 'BADTEXT %r' % b
    return t

c = socket.socket(socket.AF_UNIX)
c.connect(path)
c.sendall(modes[mode])
if mode == 'truncated':
    # Half a frame, then hang up: the server must just forget us.
    time.sleep(0.2)
    print('SENT')
    sys.exit(0)
c.settimeout(10)
buf = b''
timed_out = False
while True:
    try:
        d = c.recv(65536)
    except socket.timeout:
        timed_out = True
        break
    except ConnectionResetError:
        break
    if not d:
        break
    buf += d
out = []
while len(buf) >= 5:
    ln, k = struct.unpack('>IB', buf[:5])
    p = buf[5:4 + ln]
    buf = buf[4 + ln:]
    if k == 0x85 and len(p) >= 6 and p[4] == 0:
        code = struct.unpack('>H', p[4:6])[0]
        out.append('ERROR %d [%s] %s' % (struct.unpack('>I', p[:4])[0],
                                         codes.get(code, str(code)), text(p[6:])))
    elif k == 0x85:
        out.append('ERROR %d %s' % (struct.unpack('>I', p[:4])[0], text(p[4:])))
    elif k == 0x82:
        out.append('STDOUT %s' % p.decode(errors='replace').strip())
    else:
        out.append('FRAME 0x%02x' % k)
if buf:
    out.append('PARTIAL %d' % len(buf))
out.append('TIMEOUT' if timed_out else 'EOF')
print('\n'.join(out))
EOF

rawframes() {
	timeout -s KILL 30 python3 "$T/rawframes.py" "$SOCK" "$1" 2>&1
}

# rawframes_as UID MODE: the same as another user (no groups).
rawframes_as() {
	timeout -s KILL 30 setpriv --reuid="$1" --regid="$1" --clear-groups \
		python3 "$T/rawframes.py" "$SOCK" "$2" 2>&1
}
