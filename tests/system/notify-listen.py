#!/usr/bin/env python3
"""notify-listen.py SOCKET LOG [CMD ARG...] -- a fake service manager's
notification socket, for the readiness tests.

Binds a unix datagram socket at SOCKET (what $NOTIFY_SOCKET would name under
systemd) and appends one line per datagram to LOG:

    <unix time, microseconds> <message, newlines shown as '|'>

When the first datagram containing READY=1 arrives and CMD is given, CMD is
run right then (stdout and stderr captured, 15 s at most) and its result is
logged as

    <unix time> on-ready rc=<status> out=<output, newlines as '|'>

so a test can see what the box looked like at the very moment its
supervisor declared it ready. SOCKET.bound is created once the socket is
bound (wait for it before starting planet). Ends on SIGTERM/SIGINT, when its
parent (the test) is gone, or by itself after 15 minutes, removing SOCKET.
"""
import os
import signal
import socket
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    path, log = sys.argv[1], sys.argv[2]
    cmd = sys.argv[3:]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.settimeout(1.0)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    open(path + ".bound", "w").close()
    deadline = time.time() + 900
    parent = os.getppid()
    ready_seen = False
    with open(log, "a", buffering=1) as out:
        while not stop and time.time() < deadline:
            try:
                data = s.recv(65536)
            except socket.timeout:
                if os.getppid() != parent:
                    break
                continue
            except InterruptedError:
                continue
            t = time.time()
            msg = data.decode("utf-8", "replace").rstrip("\n").replace("\n", "|")
            out.write("%.6f %s\n" % (t, msg))
            if not ready_seen and "READY=1" in msg.split("|"):
                ready_seen = True
                if cmd:
                    try:
                        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, timeout=15)
                        rc, o = p.returncode, p.stdout
                    except subprocess.TimeoutExpired as e:
                        rc, o = "timeout", e.stdout or b""
                    o = o.decode("utf-8", "replace").strip().replace("\n", "|")
                    out.write("%.6f on-ready rc=%s out=%s\n" % (time.time(), rc, o))
    s.close()
    for p in (path, path + ".bound"):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
