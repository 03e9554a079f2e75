#!/usr/bin/env python3
"""pty-drive.py [--rows N] [--cols N] [--timeout SEC] INPUT -- CMD ARG...

Runs CMD on the slave side of a new pty (its controlling terminal, as a
person's terminal would be), waits until CMD has printed something (its
prompt) or 3 s have passed, types INPUT (a string; "\\n" in it is a newline),
then reads everything CMD prints until the pty closes or --timeout (default
20 s) expires. Prints what was read (raw bytes, \\r included) on stdout and
exits with CMD's exit status (124 on timeout, after killing CMD).
"""
import os
import pty
import select
import signal
import struct
import sys
import termios
import fcntl
import time


def main():
    args = sys.argv[1:]
    rows, cols, timeout = 24, 80, 20.0
    while args and args[0].startswith("--") and args[0] != "--":
        opt = args.pop(0)
        if opt == "--rows":
            rows = int(args.pop(0))
        elif opt == "--cols":
            cols = int(args.pop(0))
        elif opt == "--timeout":
            timeout = float(args.pop(0))
        else:
            sys.stderr.write("unknown option %s\n" % opt)
            return 2
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write(__doc__)
        return 2
    text = args[0].replace("\\n", "\n").encode()
    cmd = args[2:]

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, ("exec %s: %s\n" % (cmd[0], e)).encode())
        os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = bytearray()
    sent = False
    start = time.time()
    deadline = start + timeout
    status = None
    while True:
        now = time.time()
        if now >= deadline:
            break
        if not sent and (out or now - start > 3.0):
            os.write(fd, text)
            sent = True
        r, _, _ = select.select([fd], [], [], 0.1)
        if fd in r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            out += chunk
    wpid, st = os.waitpid(pid, os.WNOHANG)
    if wpid == 0:
        end = time.time() + 2
        while time.time() < end:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                break
            time.sleep(0.05)
    if wpid == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        status = 124
    elif os.WIFEXITED(st):
        status = os.WEXITSTATUS(st)
    else:
        status = 128 + os.WTERMSIG(st)
    sys.stdout.buffer.write(bytes(out))
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
