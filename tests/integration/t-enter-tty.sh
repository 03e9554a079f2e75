#!/bin/bash
# t-enter-tty: TTY sessions, with the client driven through a pty the test
# holds (python3's pty module), as a terminal user would run it.
#   `tty` names a /dev/pts/N of the box's own devpts; the initial size is in
#   place before the process starts; a resize mid-session reaches the
#   process (SIGWINCH trap and `stty size`); the client's terminal is raw
#   during the session (Ctrl-C is just a byte for the box's terminal) and
#   restored however the session ends (exit, error, forwarded signal, the
#   process killed, no box at all); TERM comes from the client; planet enter
#   runs the user's login shell from the box's /etc/passwd (ash for a user
#   whose shell is ash, /bin/sh when the shell is missing), or CMD; -t
#   without -i; -t -i with stdin from a pipe (EOF reaches the process);
#   signals forwarded; SIGTSTP to the client stops it with the terminal
#   put back, and SIGCONT makes it raw again and sends the current window
#   size; a killed client leaves nothing in the box.
# shellcheck disable=SC2016,SC2086,SC2031,SC2119,SC2154,SC2001
# (run VAR sets VAR, VAR_rc and VAR_err through printf -v; lib.sh functions take optional arguments)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=enter-helpers.sh
. "$(dirname "$0")/enter-helpers.sh"

cat >"$T/ptydrive.py" <<'EOF'
# ptydrive.py ROWS COLS STEPS CMD...: run CMD on a new pty of ROWS x COLS
# and play STEPS against it, one per line:
#   send TEXT        type TEXT (Python escapes: \r, \x03)
#   expect REGEX     wait (10 s) for REGEX in the output after the last match
#   print REGEX      the same, and print "MATCH g1 g2 ..." (its groups)
#   resize R C       set the window size (the kernel sends SIGWINCH)
#   kill SIG         send SIG (e.g. TERM) to CMD
#   sleep SEC
#   raw [LABEL]      print "RAW [LABEL] yes" if the terminal is in raw mode now
# With PTY_JOB=1 in the environment CMD runs as a job of a job-control
# shell, which the driver then plays: the driver is the session leader,
# CMD's parent, and CMD is in its own foreground process group (by default
# CMD is the session leader, and a process group that can never stop).
# Two more steps then:
#   tstp             SIGTSTP to CMD; print "STOPPED yes|no" (within 10 s),
#                    and once stopped take the terminal back as a shell
#                    does and print "SAVED yes|no": whether the terminal
#                    settings are the ones from before CMD started
#   fg               give CMD the terminal again and SIGCONT it
# Then it waits for CMD (20 s) and prints "EXIT n" (or "EXIT signal N") and
# "RESTORED yes|no": whether the terminal settings are back to what they
# were before CMD started. A failed expect prints "FAILED: step" and the
# output so far; the exit status is then 1.
import codecs, fcntl, os, pty, re, select, signal, struct, sys, termios, time

rows, cols, steps_file, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
job = os.environ.get('PTY_JOB') == '1'
m, s = pty.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
before = termios.tcgetattr(s)
if job:
    os.setsid()
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    # A shell ignores SIGTTOU: it hands the terminal around from the background.
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    if job:
        os.setpgid(0, 0)
        os.tcsetpgrp(s, os.getpid())
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)
    else:
        os.setsid()
        fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(s, fd)
    os.close(s)
    os.close(m)
    os.execvp(cmd[0], cmd)
if job:
    try:  # the child does the same: whichever runs first
        os.setpgid(pid, pid)
        os.tcsetpgrp(s, pid)
    except OSError:
        pass
else:
    os.close(s)
buf, pos, failed, status = b'', 0, False, None

def pump(t):
    global buf
    r, _, _ = select.select([m], [], [], t)
    if not r:
        return True
    try:
        d = os.read(m, 65536)
    except OSError:
        d = b''
    buf += d
    return bool(d)

def expect(pat):
    global pos
    rx = re.compile(pat.encode())
    end = time.time() + 10
    while True:
        mo = rx.search(buf, pos)
        if mo:
            pos = mo.end()
            return mo
        if time.time() > end or not pump(0.1):
            mo = rx.search(buf, pos)
            if mo:
                pos = mo.end()
            return mo

for line in open(steps_file).read().splitlines():
    if failed or not line.strip():
        continue
    op, _, arg = line.partition(' ')
    if op == 'send':
        os.write(m, codecs.decode(arg, 'unicode_escape').encode('latin-1'))
    elif op in ('expect', 'print'):
        mo = expect(arg)
        if not mo:
            print('FAILED: %s' % line)
            failed = True
        elif op == 'print':
            print('MATCH ' + ' '.join(g.decode(errors='replace') for g in mo.groups()))
    elif op == 'resize':
        r, c = arg.split()
        fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack('HHHH', int(r), int(c), 0, 0))
    elif op == 'kill':
        os.kill(pid, getattr(signal, 'SIG' + arg))
    elif op == 'sleep':
        end = time.time() + float(arg)
        while time.time() < end and pump(max(0, end - time.time())):
            pass
    elif op == 'raw':
        a = termios.tcgetattr(m)
        print('RAW ' + (arg + ' ' if arg else '') +
              ('no' if a[3] & (termios.ICANON | termios.ECHO | termios.ISIG) else 'yes'))
    elif op == 'tstp':
        os.kill(pid, signal.SIGTSTP)
        stopped, end = False, time.time() + 10
        while not stopped and time.time() < end:
            p, st = os.waitpid(pid, os.WNOHANG | os.WUNTRACED)
            stopped = p == pid and os.WIFSTOPPED(st)
            if p == pid and not stopped:
                status = st
                break
            pump(0.02)
        print('STOPPED ' + ('yes' if stopped else 'no'))
        if stopped:
            os.tcsetpgrp(s, os.getpgrp())
            print('SAVED ' + ('yes' if termios.tcgetattr(m)[:6] == before[:6] else 'no'))
    elif op == 'fg':
        os.tcsetpgrp(s, pid)
        os.killpg(pid, signal.SIGCONT)

end = time.time() + 20
while status is None and time.time() < end:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = st
        break
    pump(0.05)
if status is None:
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    print('TIMEOUT')
while pump(0.05) and select.select([m], [], [], 0)[0]:
    pass
if os.WIFSIGNALED(status):
    print('EXIT signal %d' % os.WTERMSIG(status))
else:
    print('EXIT %d' % os.WEXITSTATUS(status))
print('RESTORED ' + ('yes' if termios.tcgetattr(m)[:6] == before[:6] else 'no'))
sys.stdout.flush()
if failed:
    sys.stderr.write(buf.decode(errors='replace') + '\n')
sys.exit(1 if failed else 0)
EOF

# drive NAME ROWS COLS CMD... with steps on stdin; result lines in $DRV,
# the session's output in $T/NAME.out.
DRV=
drive() {
	local name=$1 rows=$2 cols=$3
	shift 3
	cat >"$T/$name.steps"
	DRV=$(timeout -s KILL 60 python3 "$T/ptydrive.py" "$rows" "$cols" "$T/$name.steps" "$@" 2>"$T/$name.out")
	echo "$DRV" | sed "s/^/# $name: /"
}
drv_has() { # drv_has DESC LINE: the driver printed LINE
	case $'\n'$DRV$'\n' in
	*$'\n'"$2"$'\n'*) pass "$1" ;;
	*) fail "$1" "expected a line: $2" "driver said: $DRV" "$(tail -c 2000 "$T/$3.out" 2>/dev/null)" ;;
	esac
}

echo 'shelly:x:1001:1001:Ash user:/home/shelly:/bin/ash' >>"$ROOTFS/etc/passwd"
echo 'noshell:x:1002:1002:No shell:/tmp:/bin/no-such-shell' >>"$ROOTFS/etc/passwd"
mkdir -p "$ROOTFS/home/shelly"
chown 1001:1001 "$ROOTFS/home/shelly"
box_start
wait_for 5 grep -q "box booted" "$BOX_LOG" || fail "box booted" "$(cat "$BOX_LOG")"
X="$PLANET exec --socket $SOCK"
export TERM=xterm-planet-test

# ---- a shell session: name, size, resize, raw, Ctrl-C, TERM --------------------------
echo "# interactive shell"
PTS_DEV=$(in_box stat -c %d /dev/pts/ptmx)
# What the shell prints is built as "A""B=" so the terminal's echo of the
# typed command line never matches the pattern.
drive shell 33 101 $X -t -i -- sh <<'EOF'
send echo "T""TY=$(tty) DEV=$(stat -c %d $(tty))"\r
print TTY=(/dev/pts/[0-9]+) DEV=([0-9]+)
raw
send echo "S""IZE=$(stty size)"\r
print SIZE=([0-9]+ [0-9]+)
resize 40 120
sleep 0.2
send echo "S""IZE2=$(stty size)"\r
print SIZE2=([0-9]+ [0-9]+)
send echo "T""ERM=$TERM"\r
print TERM=([^\r]+)
send sleep 100\r
sleep 0.5
send \x03
send echo "after-""ctrl-c"\r
expect after-ctrl-c
send exit 5\r
EOF
drv_has "the client's terminal is raw during the session" "RAW yes" shell
check_match "tty names a /dev/pts/N" $'(^|\n)MATCH /dev/pts/[0-9]+ [0-9]+(\n|$)' "$DRV"
check_match "... on the box's own devpts (device $PTS_DEV)" $'(^|\n)MATCH /dev/pts/[0-9]+ '"$PTS_DEV"$'(\n|$)' "$DRV"
drv_has "stty size is the client's initial size" "MATCH 33 101" shell
drv_has "stty size after a resize" "MATCH 40 120" shell
drv_has "TERM comes from the client" "MATCH xterm-planet-test" shell
check_not_contains "Ctrl-C is a byte: it interrupted sleep in the box, the client went on" "$DRV" "FAILED"
drv_has "exit 5" "EXIT 5" shell
drv_has "terminal restored after exit" "RESTORED yes" shell

drive winch 24 80 $X -t -i -- sh -c 'trap "echo W\"\"INCH=\$(stty size)" WINCH; echo ready; while :; do sleep 0.1; done' <<'EOF'
expect ready
resize 50 132
print (WINCH)=50 132
send \x03
EOF
drv_has "a resize mid-session reaches a WINCH trap with the new size" "MATCH WINCH" winch
drv_has "Ctrl-C typed into a TTY session: SIGINT in the box (130)" "EXIT 130" winch
drv_has "terminal restored" "RESTORED yes" winch

# ---- planet enter: login shell from the box's passwd ---------------------------------
echo "# planet enter"
drive enter-root 24 80 "$PLANET" enter --socket "$SOCK" <<'EOF'
send echo "A""RG0=$0 PWD=$(pwd) USER=$USER"\r
print ARG0=(\S+) PWD=(\S+) USER=(\S+)
send exit\r
EOF
drv_has "enter as root: a login sh in /root" "MATCH -sh /root root" enter-root
drv_has "enter as root: exit 0" "EXIT 0" enter-root
drive enter-shelly 24 80 "$PLANET" enter --socket "$SOCK" -u shelly <<'EOF'
send echo "A""RG0=$0 PWD=$(pwd) ID=$(id -u)"\r
print ARG0=(\S+) PWD=(\S+) ID=(\S+)
send exit 3\r
EOF
drv_has "enter -u shelly: her shell (ash) from the box's passwd, as a login shell" \
	"MATCH -ash /home/shelly 1001" enter-shelly
drv_has "enter -u shelly: exit 3" "EXIT 3" enter-shelly
drive enter-noshell 24 80 "$PLANET" enter --socket "$SOCK" -u noshell <<'EOF'
send echo "A""RG0=$0"\r
print ARG0=(\S+)
send exit\r
EOF
drv_has "enter -u noshell: a missing shell falls back to /bin/sh" "MATCH -sh" enter-noshell
drive enter-cmd 24 80 "$PLANET" enter --socket "$SOCK" -- sh -c 'echo "CMD=$(id -un)"; exit 4' <<'EOF'
print CMD=(\S+)
EOF
drv_has "enter CMD runs CMD in a terminal" "MATCH root" enter-cmd
drv_has "enter CMD: its exit status" "EXIT 4" enter-cmd

# ---- the terminal comes back however the session ends ----------------------------
echo "# terminal restored"
drive restore-err 24 80 $X -t -i no-such-command-xyz <<'EOF'
expect no-such-command-xyz
EOF
drv_has "command not found: 127" "EXIT 127" restore-err
drv_has "command not found: terminal restored" "RESTORED yes" restore-err
drive restore-kill 24 80 $X -t -i -- sh -c 'echo ready; sleep 1; kill -9 $$' <<'EOF'
expect ready
raw
EOF
drv_has "process killed by SIGKILL: 137" "EXIT 137" restore-kill
drv_has "process killed: terminal restored" "RESTORED yes" restore-kill
drive restore-sig 24 80 $X -t -i -- sh -c 'trap "echo got-TERM; exit 9" TERM; echo ready; while :; do sleep 0.1; done' <<'EOF'
expect ready
raw
kill TERM
expect got-TERM
EOF
drv_has "SIGTERM to the client reaches the trap in the box: 9" "EXIT 9" restore-sig
drv_has "forwarded signal: terminal restored" "RESTORED yes" restore-sig
drive restore-int 24 80 $X -t -i -- sh -c 'trap "echo got-INT; exit 6" INT; echo ready; while :; do sleep 0.1; done' <<'EOF'
expect ready
kill INT
expect got-INT
EOF
drv_has "SIGINT to the client reaches the trap in the box: 6" "EXIT 6" restore-int
drv_has "SIGINT: terminal restored" "RESTORED yes" restore-int
drive restore-nobox 24 80 "$PLANET" exec --socket "$T/no-such.sock" -t -i sh <<'EOF'
expect is the box running
EOF
drv_has "no box: 255" "EXIT 255" restore-nobox
drv_has "no box: terminal untouched" "RESTORED yes" restore-nobox

# ---- SIGTSTP: the client stops with the user's terminal, and comes back raw --------------
echo "# SIGTSTP and SIGCONT"
# As a job of the driver's job control: kill -TSTP stops the client with
# the terminal as it was before, fg makes it raw again, and the window
# size changed meanwhile (the WINCH went to the "shell" then) reaches the
# box on SIGCONT.
PTY_JOB=1 drive tstp 24 80 $X -t -i -- sh <<'EOF'
send echo "R""EADY"\r
expect READY
raw before
tstp
resize 31 93
sleep 0.3
fg
sleep 0.5
raw after-fg
send echo "S""IZE=$(stty size)"\r
print SIZE=([0-9]+ [0-9]+)
send exit 7\r
EOF
drv_has "raw before SIGTSTP" "RAW before yes" tstp
drv_has "SIGTSTP to the client: it stops (the shell sees a stopped job)" "STOPPED yes" tstp
drv_has "... with the terminal settings it found" "SAVED yes" tstp
drv_has "SIGCONT (fg): the terminal is raw again" "RAW after-fg yes" tstp
drv_has "... the window size changed while stopped reached the box" "MATCH 31 93" tstp
drv_has "... and the session went on to its end: exit 7" "EXIT 7" tstp
drv_has "... terminal restored" "RESTORED yes" tstp
# As a session leader (an orphaned process group, which the kernel never
# stops on SIGTSTP): the client goes on, raw.
drive tstp-orphan 24 80 $X -t -i -- sh <<'EOF'
send echo "R""EADY"\r
expect READY
kill TSTP
sleep 0.3
raw
send echo "A""LIVE"\r
expect ALIVE
send exit 3\r
EOF
drv_has "SIGTSTP that cannot stop the client: still raw" "RAW yes" tstp-orphan
drv_has "... and the session goes on: exit 3" "EXIT 3" tstp-orphan
drv_has "... terminal restored" "RESTORED yes" tstp-orphan

# ---- -t without -i, -t -i from a pipe -------------------------------------------------
echo "# -t variants"
drive t-only 21 77 $X -t -- sh -c 'tty; stty size' <<'EOF'
print \n([0-9]+ [0-9]+)\r
EOF
drv_has "-t without -i: still the initial size" "MATCH 21 77" t-only
drv_has "-t without -i: exit 0" "EXIT 0" t-only
run r sh -c "printf 'hello\n' | timeout -s KILL 20 $X -t -i -- cat"
check_eq "-t -i with stdin from a pipe: EOF reaches cat" "0" "$r_rc"
check_contains "-t -i with stdin from a pipe: the line comes back" "$r" "hello"
run r sh -c "timeout -s KILL 20 $X -t -- sh -c 'echo out; echo err >&2' 2>/dev/null"
check_eq "a TTY session's stderr is the terminal (arrives on stdout)" "out
err" "$(printf '%s' "$r" | tr -d '\r')"

# ---- a killed client ---------------------------------------------------------------
echo "# client killed"
drive killed 24 80 $X -t -i -- sh -c 'echo ready; exec sleep 1236' <<'EOF'
expect ready
kill KILL
EOF
drv_has "client SIGKILLed" "EXIT signal 9" killed
check "... its TTY session's process is gone from the box" wait_for 10 no_box_proc "sleep 1236"
wait_for 5 no_zombies
check_eq "no zombies (supervisor's children, box)" 0 "$(box_zombies)"

box_stop
check_eq "supervisor exits 0" 0 "$BOX_STATUS"
assert_nothing_left
finish
