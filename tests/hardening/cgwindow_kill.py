# cgwindow_kill.py: SIGKILL a starting supervisor while it creates its box's
# cgroup (h-faults). Random kill times rarely land there: creating the
# directories takes well under a millisecond in the normal build.
#
#   python3 cgwindow_kill.py --log FILE --state FILE --trigger DIR \
#       --dirs DIR... -- CMD...
#
# Runs CMD (the supervisor: `planet start ...`, possibly behind a wrapper
# that execs it) with stdout and stderr to FILE, and watches DIR (the test's
# cgroup in one hierarchy) for a new box-* directory. The moment one appears
# the supervisor is frozen (SIGSTOP), what it has made so far is counted,
# and it is SIGKILLed and reaped. Which hierarchy is DIR picks the point of
# the creation: the first hierarchy it makes, the last, or one in between.
# Prints one line:
#   HIT name=box-XXXXXXXX-RRRRRRRR made=K/N recorded=R   K of the N --dirs hold the
#       new directory; R cgroup= lines of the state file name it
#   MISS   no box-* directory within 10 s (killed all the same)
# Exit status 0, or 2 on bad usage.
import os
import signal
import sys
import time


def main(argv):
    log = state = trigger = None
    dirs = []
    i = 0
    while i < len(argv) and argv[i] != '--':
        a = argv[i]
        if a in ('--log', '--state', '--trigger') and i + 1 < len(argv):
            val = argv[i + 1]
            if a == '--log':
                log = val
            elif a == '--state':
                state = val
            else:
                trigger = val
            i += 2
        elif a == '--dirs':
            i += 1
            while i < len(argv) and not argv[i].startswith('--'):
                dirs.append(argv[i])
                i += 1
        else:
            break
    cmd = argv[i + 1:]
    if not (log and state and trigger and dirs and cmd) or i >= len(argv) or argv[i] != '--':
        sys.stderr.write('usage: cgwindow_kill.py --log F --state F --trigger DIR --dirs DIR... -- CMD...\n')
        return 2
    before = set(os.listdir(trigger))
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open('/dev/null', os.O_RDONLY), 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(s, signal.SIG_DFL)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    os.close(out)
    name = None
    try:
        end = time.monotonic() + 10
        while name is None and time.monotonic() < end:
            new = [n for n in os.listdir(trigger) if n.startswith('box-') and n not in before]
            if new:
                name = new[0]
                os.kill(pid, signal.SIGSTOP)
        if name is None:
            print('MISS')
            return 0
        made = sum(1 for d in dirs if os.path.isdir(os.path.join(d, name)))
        recorded = 0
        try:
            with open(state) as f:
                recorded = sum(1 for l in f if l.startswith('cgroup=') and l.rstrip('\n').endswith('/' + name))
        except OSError:
            pass
        print('HIT name=%s made=%d/%d recorded=%d' % (name, made, len(dirs), recorded))
        return 0
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.flush()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
