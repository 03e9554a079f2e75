#!/bin/bash
# t-enter-stream: bulk output through planet exec (the server splices the
# process's pipes into the socket, the client splices the socket into its
# stdout when that is a pipe: enter/relay.c, client_exec.c) and the
# protocol's version 2 (larger STDOUT/STDERR frames).
#   64 MiB of random bytes on stdout and a different 64 MiB on stderr at
#   once arrive byte-exact: into pipes (splice on both sides), into pipes
#   whose readers stall and then read slowly (backpressure into the box,
#   others served meanwhile, supervisor memory bounded), into regular files
#   (read and write); what a process leaves in its pipes when it exits is
#   delivered; a client killed mid-stream leaves no process, zombie or
#   descriptor behind. Frames: a version 1 client never gets more than
#   65536 bytes per frame, a version 2 client gets larger ones, up to
#   524288. A server that closes in the middle of a frame is "connection
#   lost" (255) for the client, on the splice and the copy path, never
#   success; a server that speaks only version 1 is asked again with 1.
# shellcheck disable=SC2016,SC2031,SC2119,SC2154,SC2317
# (run VAR sets VAR, VAR_rc and VAR_err through printf -v; lib.sh functions take optional arguments)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=enter-helpers.sh
. "$(dirname "$0")/enter-helpers.sh"

BG=() # background helpers of this test, killed at the end
bg_cleanup() {
	local p
	for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
	BG=()
}

head -c 64M /dev/urandom >"$ROOTFS/tmp/a"
head -c 64M /dev/urandom >"$ROOTFS/tmp/b"
SHA_A=$(sha256sum <"$ROOTFS/tmp/a" | cut -d' ' -f1)
SHA_B=$(sha256sum <"$ROOTFS/tmp/b" | cut -d' ' -f1)
SHA_6M=$(head -c 6000000 "$ROOTFS/tmp/a" | sha256sum | cut -d' ' -f1)

box_start_at_rest

# A reader that waits $1 seconds, then reads slowly (a pause of $2 seconds,
# default 0.005, after every MiB); prints the sha256.
cat >"$T/slowread.py" <<'EOF'
import hashlib, os, sys, time
time.sleep(float(sys.argv[1]))
pause = float(sys.argv[2]) if len(sys.argv) > 2 else 0.005
h, n = hashlib.sha256(), 0
while True:
    b = os.read(0, 65536)
    if not b:
        break
    h.update(b)
    n += 1
    if n % 16 == 0:
        time.sleep(pause)
print(h.hexdigest())
EOF

# both_ways READER_OUT READER_ERR CMD...: the session's stdout into one
# pipe and its stderr into another, each read by a reader that prints a
# sha256; sets OUT_SHA, ERR_SHA, RC.
both_ways() {
	local ro=$1 re=$2
	shift 2
	{
		px "$@" 2>&1 >&3 3>&- | $re >"$T/e.sha"
		echo "${PIPESTATUS[0]}" >"$T/rc"
	} 3>&1 | $ro >"$T/o.sha"
	RC=$(cat "$T/rc")
	OUT_SHA=$(cut -d' ' -f1 "$T/o.sha")
	ERR_SHA=$(cut -d' ' -f1 "$T/e.sha")
}
BOTH='cat /tmp/a & cat /tmp/b >&2; wait'

# ---- pipes ---------------------------------------------------------------------
echo "# 64 MiB on stdout and 64 MiB on stderr at once, into pipes"
t0=$(now)
both_ways sha256sum sha256sum -- sh -c "$BOTH"
check_eq "pipes: both streams byte-exact, exit 0 ($(elapsed_since "$t0") s)" \
	"0 $SHA_A $SHA_B" "$RC $OUT_SHA $ERR_SHA"

# ---- slow pipes -----------------------------------------------------------------
echo "# the same into readers that stall 5 s, then read slowly"
(
	both_ways "python3 $T/slowread.py 5" "python3 $T/slowread.py 5" -- sh -c "$BOTH; exit 9"
	echo "$RC $OUT_SHA $ERR_SHA" >"$T/slow.res"
) &
slow=$!
sleep 2
# Seen 2 s on or later: without backpressure 64 MiB would be long gone by
# then (into the supervisor's memory); with it, cat waits for the readers.
# The grace covers a loaded machine, where the session starts late.
check "while the readers stall, the process is held in the box (backpressure)" \
	wait_for 5 eval '! no_box_proc "cat /tmp/a"'
check_eq "others are served meanwhile" still-ok "$(px echo still-ok)"
rss1=$(sup_rss_kb)
echo "# supervisor RSS with the stalled session: $rss1 kB (rest $RSS0 kB)"
check "supervisor memory bounded while stalled (< 8 MiB growth)" test $((rss1 - RSS0)) -lt 8192
wait "$slow"
check_eq "slow pipes: both streams byte-exact, exit 9" "9 $SHA_A $SHA_B" "$(cat "$T/slow.res")"

# 6 MB: more than the pipes and the socket hold, so the process exits with
# MiBs still to deliver, which takes the reader far longer than the 200 ms
# the server waits for EOF after what was buffered at the exit.
echo "# a process that exits with its output still buffered"
run r bash -o pipefail -c "timeout -s KILL 60 '$PLANET' exec --socket '$SOCK' -- head -c 6000000 /tmp/a |
	python3 '$T/slowread.py' 2 0.2"
check_eq "all of it is delivered after the exit" "0 $SHA_6M" "$r_rc $r"

# ---- regular files --------------------------------------------------------------------
echo "# into regular files (no splice on the client)"
t0=$(now)
px -- sh -c "$BOTH" >"$T/o.bin" 2>"$T/e.bin"
rc=$?
check_eq "files: both streams byte-exact, exit 0 ($(elapsed_since "$t0") s)" "0 $SHA_A $SHA_B" \
	"$rc $(sha256sum <"$T/o.bin" | cut -d' ' -f1) $(sha256sum <"$T/e.bin" | cut -d' ' -f1)"
rm -f "$T/o.bin" "$T/e.bin"

# ---- a client killed mid-stream -------------------------------------------------------
echo "# a client killed mid-stream"
mkfifo "$T/fifo"
exec 7<>"$T/fifo" # a reader that never reads: the client blocks on it
pxbg -- sh -c 'while :; do cat /tmp/a; done' stream-kill-marker >"$T/fifo" 2>/dev/null &
cpid=$!
check "the streaming session runs" wait_for 10 eval '! no_box_proc stream-kill-marker'
sleep 1
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
exec 7<&-
check "client SIGKILLed mid-stream: its processes are gone from the box" \
	wait_for 10 no_box_proc stream-kill-marker
wait_for 10 test "$(sup_fds)" -le "$FDS0"
check_eq "... no descriptor left" "$FDS0" "$(sup_fds)"
wait_for 5 no_zombies
check_eq "... no zombies" 0 "$(box_zombies)"

# ---- frame sizes by version ----------------------------------------------------------------
echo "# frame sizes"
cat >"$T/frames.py" <<'EOF'
# frames.py SOCKET VERSION: EXEC cat /tmp/a, read it slowly (so that the
# server's pipe fills while the socket is full: frame sizes then do not
# depend on who is faster), print "max=LARGEST_DATA_PAYLOAD total=BYTES
# exit=CODE".
import socket, struct, sys, time
def s(b): return struct.pack('>I', len(b)) + b
argv = [b'cat', b'/tmp/a']
p = struct.pack('>HBHH', int(sys.argv[2]), 0, 0, 0) + struct.pack('>I', len(argv))
p += b''.join(s(a) for a in argv) + struct.pack('>I', 0) + s(b'') + s(b'')
c = socket.socket(socket.AF_UNIX)
c.connect(sys.argv[1])
c.sendall(struct.pack('>IB', len(p) + 1, 1) + p)
buf, big, total, code, n = b'', 0, 0, None, 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    n += 1
    if n % 8 == 0:
        time.sleep(0.002)
    buf += d
    while len(buf) >= 5:
        n = struct.unpack('>I', buf[:4])[0]
        if len(buf) < 4 + n:
            break
        k, pl, buf = buf[4], buf[5:4 + n], buf[4 + n:]
        if k in (0x82, 0x83):
            big, total = max(big, len(pl)), total + len(pl)
        elif k == 0x84:
            code = pl[4]
print('max=%d total=%d exit=%s' % (big, total, code))
EOF
frames_ok() { # VERSION LOW HIGH RESULT: all of /tmp/a, the largest frame in LOW..HIGH
	python3 -c '
import re, sys
m = re.fullmatch(r"max=(\d+) total=67108864 exit=0", sys.argv[4])
assert m and int(sys.argv[2]) <= int(m.group(1)) <= int(sys.argv[3]), sys.argv[4]
' "$@"
}
r=$(timeout -s KILL 120 python3 "$T/frames.py" "$SOCK" 1)
check "version 1 session: no data frame over 65536 bytes ($r)" frames_ok 1 1 65536 "$r"
r=$(timeout -s KILL 120 python3 "$T/frames.py" "$SOCK" 2)
check "version 2 session: larger frames, none over 524288 ($r)" frames_ok 2 65537 524288 "$r"

# ---- servers that misbehave ---------------------------------------------------------------
echo "# a server that closes mid-frame, a version 1 server"
cat >"$T/fakesrv.py" <<'EOF'
# fakesrv.py SOCKET MODE: serve connections as MODE says, log each EXEC's
# version to SOCKET.log.
import os, socket, struct, sys
path, mode = sys.argv[1], sys.argv[2]
def frame(k, p=b''): return struct.pack('>IB', len(p) + 1, k) + p
l = socket.socket(socket.AF_UNIX)
l.bind(path)
l.listen(8)
print('listening', flush=True)
while True:
    c, _ = l.accept()
    buf = b''
    while len(buf) < 4 or len(buf) < 4 + struct.unpack('>I', buf[:4])[0]:
        d = c.recv(65536)
        if not d:
            break
        buf += d
    version = struct.unpack('>H', buf[5:7])[0] if len(buf) >= 7 else -1
    with open(path + '.log', 'a') as f:
        f.write('%d\n' % version)
    if mode == 'cut':            # half of a 200000-byte STDOUT frame
        c.sendall(frame(0x81, b'\0\0\0\1') + struct.pack('>IB', 200001, 0x82) + b'x' * 100000)
    elif mode == 'cut-header':   # three bytes of a header
        c.sendall(frame(0x81, b'\0\0\0\1') + b'\0\0\0')
    elif mode == 'forged':       # a box process's pre-exec message, marked
        c.sendall(frame(0x85, struct.pack('>I', 255) +
                        b'in the box: EXEC: protocol version %d is not supported (this side speaks 1)' % version))
    elif mode == 'quoted':       # the refusal's words quoted inside a message
        c.sendall(frame(0x85, struct.pack('>I', 255) +
                        b'exec x: EXEC: protocol version %d is not supported' % version))
    elif mode == 'coded':        # a server of version 3 or later that lacks 3: the code says it
        if version == 3:
            c.sendall(frame(0x85, struct.pack('>IH', 255, 4) + b'no version 3 here'))
        else:
            c.sendall(frame(0x81, b'\0\0\0\1') + frame(0x82, b'coded-ok\n') + frame(0x84, b'\0\0\0\0\7'))
    elif mode == 'forged-coded': # the refusal's words, with the box's code
        c.sendall(frame(0x85, struct.pack('>IH', 255, 10) +
                        b'EXEC: protocol version %d is not supported (this side speaks 1 to 2)' % version))
    elif mode == 'v2' and version == 2:
        c.sendall(frame(0x81, b'\0\0\0\1') + frame(0x82, b'v2-ok\n') + frame(0x84, b'\0\0\0\0\7'))
    elif mode == 'v2':           # what a planet of version 2 answers to 3
        c.sendall(frame(0x85, struct.pack('>I', 255) +
                        b'EXEC: protocol version %d is not supported (this side speaks 1 to 2)' % version))
    elif version != 1:           # 'v1': what an older planet answers
        c.sendall(frame(0x85, struct.pack('>I', 255) +
                        b'EXEC: protocol version %d is not supported (this side speaks 1)' % version))
    else:
        c.sendall(frame(0x81, b'\0\0\0\1') + frame(0x82, b'v1-ok\n') + frame(0x84, b'\0\0\0\0\7'))
    c.close()
EOF
fake() { # MODE: a fake server on $T/fake-MODE.sock
	rm -f "$T/fake-$1.sock" "$T/fake-$1.sock.log"
	python3 "$T/fakesrv.py" "$T/fake-$1.sock" "$1" >"$T/fake-$1.out" 2>&1 &
	BG+=($!)
	wait_for 10 grep -q listening "$T/fake-$1.out"
}
fake cut
fake cut-header
fake v1
for m in cut cut-header; do
	run r bash -o pipefail -c "timeout -s KILL 20 '$PLANET' exec --socket '$T/fake-$m.sock' -- x | cat >/dev/null"
	check_eq "$m, client stdout a pipe: exit 255" 255 "$r_rc"
	check_contains "... connection lost, not success" "$r_err" "closed before the process exited"
	run r sh -c "timeout -s KILL 20 '$PLANET' exec --socket '$T/fake-$m.sock' -- x >'$T/cut.out'"
	check_eq "$m, client stdout a file: exit 255" 255 "$r_rc"
	check_contains "... connection lost, not success" "$r_err" "closed before the process exited"
done
run r timeout -s KILL 20 "$PLANET" exec --socket "$T/fake-v1.sock" -- x
check_eq "a version 1 server: the session runs on version 1" "7 v1-ok" "$r_rc $r"
check_eq "... asked for 3, then 2, then 1" "3 2 1" "$(tr '\n' ' ' <"$T/fake-v1.sock.log" | sed 's/ $//')"
fake v2
run r timeout -s KILL 20 "$PLANET" exec --socket "$T/fake-v2.sock" -- x
check_eq "a version 2 server (no codes): the session runs on version 2" "7 v2-ok" "$r_rc $r"
check_eq "... asked for 3, then 2" "3 2" "$(tr '\n' ' ' <"$T/fake-v2.sock.log" | sed 's/ $//')"
fake coded
run r timeout -s KILL 20 "$PLANET" exec --socket "$T/fake-coded.sock" -- x
check_eq "a refusal with the code version: the client asks again, lower" "7 coded-ok" "$r_rc $r"
check_eq "... asked for 3, then 2" "3 2" "$(tr '\n' ' ' <"$T/fake-coded.sock.log" | sed 's/ $//')"
fake forged
fake quoted
fake forged-coded
for m in forged quoted forged-coded; do
	run r timeout -s KILL 20 "$PLANET" exec --socket "$T/fake-$m.sock" -- x
	check_eq "$m refusal text: no retry, exit 255" "255 3" "$r_rc $(tr '\n' ' ' <"$T/fake-$m.sock.log" | sed 's/ $//')"
done
bg_cleanup

rm -f "$ROOTFS/tmp/a" "$ROOTFS/tmp/b"
box_stop
check_eq "supervisor exits 0" 0 "$BOX_STATUS"
assert_nothing_left
finish
