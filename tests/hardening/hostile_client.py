#!/usr/bin/env python3
"""hostile_client.py SOCKET MODE [ARGS] — clients of the planet enter socket
that misbehave on purpose (docs/PROTOCOL.md). Each mode prints lines of the
form "KEY VALUE..." that tests/hardening/h-clients.sh checks, and exits 0
unless the mode itself could not run (then 2, with a message on stderr).

Frames coming back are summarised as: STARTED, STDOUT <text>, STDERR <text>,
EXIT <how> <value>, ERROR <status> <message>, then EOF or TIMEOUT.
"""
import os
import resource
import select
import socket
import struct
import sys
import time

PATH = sys.argv[1]
MODE = sys.argv[2]
ARGS = sys.argv[3:]

EXEC, STDIN, STDIN_EOF, RESIZE, SIGNAL, STOP, STATUS = 1, 2, 3, 4, 5, 6, 7
KIND = {0x81: 'STARTED', 0x82: 'STDOUT', 0x83: 'STDERR', 0x84: 'EXIT', 0x85: 'ERROR',
        0x86: 'STATUS_REPLY', 0x87: 'STOP_ACK'}


def frame(kind, payload=b''):
    return struct.pack('>IB', len(payload) + 1, kind) + payload


def s(b):
    return struct.pack('>I', len(b)) + b


def exec_frame(argv, tty=False, stdin=False, rows=0, cols=0, env=(), user=b'', cwd=b''):
    flags = (1 if tty else 0) | (2 if stdin else 0)
    p = struct.pack('>HBHH', 1, flags, rows, cols)
    p += struct.pack('>I', len(argv)) + b''.join(s(a) for a in argv)
    p += struct.pack('>I', len(env)) + b''.join(s(e) for e in env)
    return frame(EXEC, p + s(user) + s(cwd))


def connect():
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(PATH)
    return c


class Reader:
    """Decode server frames from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''
        self.eof = False

    def read(self, timeout):
        """Return the next frame (kind, payload), or None on EOF/timeout."""
        end = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 5:
                ln, k = struct.unpack('>IB', self.buf[:5])
                if len(self.buf) >= 4 + ln:
                    p = self.buf[5:4 + ln]
                    self.buf = self.buf[4 + ln:]
                    return k, p
            if self.eof:
                return None
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                d = self.sock.recv(1 << 16)
            except (ConnectionResetError, BrokenPipeError):
                d = b''
            if not d:
                self.eof = True
            self.buf += d

    def all(self, timeout=20):
        """Read until EOF; returns (lines, how) with how EOF or TIMEOUT."""
        out = []
        end = time.monotonic() + timeout
        while True:
            f = self.read(max(0.0, end - time.monotonic()))
            if f is None:
                return out, ('EOF' if self.eof else 'TIMEOUT')
            out.append(describe(*f))


def describe(k, p):
    name = KIND.get(k, 'KIND_0x%02x' % k)
    if k == 0x85:
        return 'ERROR %d %s' % (struct.unpack('>I', p[:4])[0], p[4:].decode(errors='replace'))
    if k == 0x84:
        how, v = struct.unpack('>BI', p)
        return 'EXIT %d %d' % (how, v)
    if k in (0x82, 0x83):
        return '%s %s' % (name, p.decode(errors='replace').strip().replace('\n', '|'))
    return name


def show(lines, how):
    for l in lines:
        print(l)
    print(how)


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


# ---- modes -----------------------------------------------------------------

def m_connect_close():
    """N connections closed at once (half of them with a reset)."""
    n = int(ARGS[0])
    for i in range(n):
        c = connect()
        if i % 2:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        c.close()
    print('DONE %d' % n)


def m_silent(payload, label):
    """Send payload (possibly nothing), stay silent; report when and how
    the server ended the connection."""
    c = connect()
    if payload:
        c.sendall(payload)
    t0 = time.monotonic()
    lines, how = Reader(c).all(timeout=float(ARGS[0]) if ARGS else 30)
    print('%s closed after %.1f s' % (label, time.monotonic() - t0))
    show(lines, how)


def m_slowloris():
    """One byte of a valid EXEC per second: the deadline counts from the
    connection, not from the last byte."""
    data = exec_frame([b'echo', b'never'])
    c = connect()
    c.setblocking(True)
    t0 = time.monotonic()
    r = Reader(c)
    for b in data:
        try:
            c.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            break
        f = r.read(1.0)
        if f is not None or r.eof:
            if f is not None:
                r.buf = b''
                print(describe(*f))
            break
    lines, how = r.all(timeout=5)
    print('slowloris closed after %.1f s' % (time.monotonic() - t0))
    show(lines, how)


def m_bytewise():
    """A valid session whose every frame is written one byte at a time."""
    c = connect()
    data = exec_frame([b'sh', b'-c', b'read l; echo "got $l"; exit 7'], stdin=True)
    data += frame(STDIN, b'bytewise\n') + frame(STDIN_EOF)
    for b in data:
        c.send(bytes([b]))
    show(*Reader(c).all())


def m_oversized_first():
    """A first frame announcing more than the limit; the server must refuse
    after the header without waiting for the payload."""
    ln = int(ARGS[0], 0)
    c = connect()
    c.sendall(struct.pack('>IB', ln, EXEC))
    t0 = time.monotonic()
    lines, how = Reader(c).all(timeout=5)
    print('answered after %.1f s' % (time.monotonic() - t0))
    show(lines, how)


def m_in_session(tail, argv=(b'sh', b'-c', b'sleep 30', b'h-clients-marker'), stdin=False, tty=False):
    """STARTED first, then whatever `tail` provokes."""
    c = connect()
    c.sendall(exec_frame(list(argv), stdin=stdin, tty=tty, rows=24 if tty else 0, cols=80 if tty else 0))
    r = Reader(c)
    f = r.read(10)
    print(describe(*f) if f else 'NO_STARTED')
    c.sendall(tail)
    show(*r.all())


def m_flood():
    """A TTY session flooded with RESIZE and SIGNAL frames while its process
    sleeps; it must still end normally, and in good time."""
    n = int(ARGS[0])
    kind = ARGS[1]
    c = connect()
    script = b'trap "" WINCH CONT URG; sleep 2; stty size; echo flood-done'
    c.sendall(exec_frame([b'sh', b'-c', script], tty=True, rows=24, cols=80))
    r = Reader(c)
    f = r.read(10)
    print(describe(*f) if f else 'NO_STARTED')
    chunk = b''
    for i in range(n):
        if kind == 'resize':
            chunk += frame(RESIZE, struct.pack('>HH', 10 + i % 50, 40 + i % 100))
        else:
            chunk += frame(SIGNAL, struct.pack('>I', (28, 18, 23)[i % 3]))  # WINCH CONT URG
        if len(chunk) > 65536:
            c.sendall(chunk)
            chunk = b''
    if kind == 'resize':
        chunk += frame(RESIZE, struct.pack('>HH', 33, 99))
    c.sendall(chunk)
    t0 = time.monotonic()
    lines, how = r.all(timeout=60)
    print('sent %d %s frames; ended %.1f s later' % (n + (kind == 'resize'), kind, time.monotonic() - t0))
    show(lines, how)


def m_many(n, argv, hold):
    """n connections at once, each sending EXEC argv; report outcome counts."""
    raise_nofile(n + 100)
    socks = []
    connect_fail = 0
    for i in range(n):
        try:
            c = connect()
        except OSError as e:
            connect_fail += 1
            continue
        socks.append(c)
    for c in socks:
        try:
            c.sendall(exec_frame(argv))
        except OSError:
            pass
    readers = {c.fileno(): (c, Reader(c)) for c in socks}
    outcome = {}
    results = {}
    end = time.monotonic() + hold
    pending = set(readers)
    while pending and time.monotonic() < end:
        r, _, _ = select.select(list(pending), [], [], 1.0)
        for fd in r:
            c, rd = readers[fd]
            try:
                d = c.recv(1 << 16)
            except OSError:
                d = b''
            if d:
                rd.buf += d
                continue
            rd.eof = True
            pending.discard(fd)
    for fd, (c, rd) in readers.items():
        frames = []
        while True:
            f = rd.read(0)
            if f is None:
                break
            frames.append(describe(*f))
        if not rd.eof:
            key = 'OPEN'
        elif not frames:
            key = 'EOF_WITHOUT_FRAME'
        elif frames[0] == 'STARTED' and frames[-1].startswith('EXIT'):
            key = 'SESSION ' + frames[-1]
        elif frames[0].startswith('ERROR'):
            key = frames[0]
        else:
            key = 'OTHER ' + ' / '.join(frames)
        outcome[key] = outcome.get(key, 0) + 1
        c.close()
    if connect_fail:
        outcome['CONNECT_FAILED'] = connect_fail
    for k, v in sorted(outcome.items(), key=lambda kv: -kv[1]):
        print('%d %s' % (v, k))


def main():
    if MODE == 'connect-close':
        m_connect_close()
    elif MODE == 'idle':
        m_silent(b'', 'idle')
    elif MODE == 'half-header':
        m_silent(b'\0\0', 'half-header')
    elif MODE == 'half-frame':
        m_silent(exec_frame([b'echo', b'never'])[:20], 'half-frame')
    elif MODE == 'slowloris':
        m_slowloris()
    elif MODE == 'bytewise':
        m_bytewise()
    elif MODE == 'oversized-first':
        m_oversized_first()
    elif MODE == 'oversized-in-session':
        m_in_session(struct.pack('>IB', int(ARGS[0], 0), STDIN), stdin=True)
    elif MODE == 'big-stdin':
        m_in_session(frame(STDIN, b'x' * 65537), stdin=True)
    elif MODE == 'unknown-in-session':
        m_in_session(frame(int(ARGS[0], 0), b'\0\0\0\0'))
    elif MODE == 'stdin-after-eof':
        m_in_session(frame(STDIN, b'a\n') + frame(STDIN_EOF) + frame(STDIN, b'b\n'),
                     argv=(b'sh', b'-c', b'cat; sleep 30', b'h-clients-marker'), stdin=True)
    elif MODE == 'eof-twice':
        m_in_session(frame(STDIN_EOF) + frame(STDIN_EOF),
                     argv=(b'sh', b'-c', b'cat; sleep 30', b'h-clients-marker'), stdin=True)
    elif MODE == 'exec-in-session':
        m_in_session(exec_frame([b'true']))
    elif MODE == 'stop-in-session':
        m_in_session(frame(STOP, struct.pack('>HI', 1, 0)))
    elif MODE == 'bad-signal':
        m_in_session(frame(SIGNAL, struct.pack('>I', int(ARGS[0]))))
    elif MODE == 'flood':
        m_flood()
    elif MODE == 'many':
        m_many(int(ARGS[0]), [b'sh', b'-c', ARGS[1].encode(), b'h-clients-many'], float(ARGS[2]))
    elif MODE == 'exec-and-vanish':
        # EXEC then gone at once (half with a reset): n times, no waiting.
        n = int(ARGS[0])
        for i in range(n):
            c = connect()
            c.sendall(exec_frame([b'sh', b'-c', b'sleep 30', b'h-clients-vanish']))
            if i % 2:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            c.close()
        print('DONE %d' % n)
    elif MODE == 'garbage':
        # N connections of junk: random bytes, bad headers, truncated and
        # malformed frames; each closed after sending. Counts the answers.
        import random
        n = int(ARGS[0])
        rnd = random.Random(int(ARGS[1]) if len(ARGS) > 1 else 1)
        kinds = {}
        for i in range(n):
            k = i % 6
            if k == 0:
                data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))
            elif k == 1:
                data = struct.pack('>IB', rnd.choice([0, 0x100001, 0xffffffff, 0x7fffffff]), EXEC)
            elif k == 2:
                data = exec_frame([b'echo', b'x' * rnd.randint(0, 50)])[:rnd.randint(1, 30)]
            elif k == 3:
                data = frame(rnd.choice([0, 8, 0x42, 0x7f, 0x80, 0x88, 0xff]), b'\0' * rnd.randint(0, 8))
            elif k == 4:
                p = bytearray(exec_frame([b'echo', b'hi'], env=[b'A=B'], user=b'root', cwd=b'/'))
                for _ in range(3):
                    p[rnd.randrange(5, len(p))] = rnd.getrandbits(8)
                data = bytes(p)
            else:
                data = frame(STATUS, b'\0\x09')
            c = connect()
            try:
                c.sendall(data)
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            lines, how = Reader(c).all(timeout=5)
            key = lines[0].split(' ')[0] if lines else how
            kinds[key] = kinds.get(key, 0) + 1
            c.close()
        print('DONE %d %s' % (n, ' '.join('%s=%d' % kv for kv in sorted(kinds.items()))))
    elif MODE == 'sessions':
        # N sequential raw sessions (echo i), checked; fast, no client fork.
        n = int(ARGS[0])
        bad = 0
        for i in range(n):
            c = connect()
            c.sendall(exec_frame([b'echo', str(i).encode()]))
            lines, how = Reader(c).all(timeout=30)
            if lines != ['STARTED', 'STDOUT %d' % i, 'EXIT 0 0'] or how != 'EOF':
                bad += 1
            c.close()
        print('DONE %d bad=%d' % (n, bad))
    elif MODE == 'reset-during-output':
        c = connect()
        c.sendall(exec_frame([b'sh', b'-c', b'exec cat /dev/zero', b'h-clients-zero']))
        r = Reader(c)
        got = 0
        while got < (1 << 20):
            f = r.read(10)
            if f is None:
                break
            if f[0] == 0x82:
                got += len(f[1])
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        c.close()
        print('READ %d' % got)
    else:
        print('unknown mode %s' % MODE, file=sys.stderr)
        sys.exit(2)


main()
