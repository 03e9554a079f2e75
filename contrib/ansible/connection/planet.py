# planet connection plugin for Ansible: tasks run inside a planet box
# through `planet exec`, the box's enter socket on this host or (with
# planet_host) on an appliance reached over ssh.
#
# Copyright (c) 2026 the planet authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: planet
short_description: Run tasks in a planet box
description:
  - Runs commands in, and copies files to and from, a running planet box
    through the C(planet) client, as C(planet exec) does for an operator.
  - The box is named by its enter socket (I(planet_socket)) on the
    controller, or on an appliance reached over ssh (I(planet_host)).
author:
  - the planet authors
version_added: "0.1.0"
extends_documentation_fragment:
  - connection_pipelining
options:
  planet_socket:
    description:
      - The box's enter socket, passed as C(planet exec --socket PATH)
        (with I(planet_host), the path of an C(ssh://) URL without one).
      - Unset, planet finds the box as it does by itself (C($PLANET_SOCKET)
        of the controller, else C(/run/planet/enter.sock)).
    type: str
    vars:
      - name: planet_socket
      - name: ansible_planet_socket
    env:
      - name: ANSIBLE_PLANET_SOCKET
  planet_host:
    description:
      - The appliance that runs the box, as planet's C(-H URL)
        (C(ssh://[user@]host[:port][/path/enter.sock]) or
        C(unix:///path/enter.sock)), so that one controller reaches the
        boxes of many appliances over ssh.
      - Unset, the box is on the controller itself.
    type: str
    vars:
      - name: planet_host
      - name: ansible_planet_host
    env:
      - name: ANSIBLE_PLANET_HOST
  planet_user:
    description:
      - The user of the box's C(/etc/passwd) that commands and file
        transfers run as (C(planet exec -u USER)); Ansible's remote user.
      - Unset, root.
    type: str
    vars:
      - name: planet_user
      - name: ansible_planet_user
      - name: ansible_user
    env:
      - name: ANSIBLE_REMOTE_USER
    ini:
      - section: defaults
        key: remote_user
    cli:
      - name: user
    keyword:
      - name: remote_user
  planet_executable:
    description:
      - The planet client on the controller.
    type: str
    default: planet
    vars:
      - name: planet_executable
      - name: ansible_planet_executable
    env:
      - name: ANSIBLE_PLANET_EXECUTABLE
notes:
  - Files are copied with C(planet cp), byte for byte, written in the box
    under a temporary name and renamed when complete. C(planet cp) writes
    as root in the box; with I(planet_user) set to another user, a file
    put there is then given to that user (C(chown USER:)), so that the
    tasks running as that user own their files as with any connection.
  - With I(planet_host), the socket is the URL's path
    (C(ssh://host/run/planet/enter.sock)); I(planet_socket) fills it in for
    an C(ssh://) URL that has none.
  - planet's own failures (exit status 255 and a last line of stderr
    that starts with C(planet:), as when no box answers, the socket is
    missing or the box refused) make the host unreachable, with that line
    as the message. A command of the box that itself exits 255 with such a
    last line would be taken for one, as with the ssh connection.
  - Become works as with the docker connection (the become method runs in
    the box). C(su) to a user whose shell is C(nologin) (such as
    C(nobody)) needs C(become_flags='-s /bin/sh').
"""

import os
import re
import secrets
import selectors
import shlex
import shutil
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()

PLANET_FAILED = 255


PLANET_LINE = re.compile(r"^planet( [a-z-]+)?: ")


def planet_line(stderr):
    lines = [line for line in to_text(stderr, errors="surrogate_or_replace").splitlines() if line.strip()]
    if lines and PLANET_LINE.match(lines[-1]):
        return lines[-1]
    return None


def host_url(host, socket):
    """planet_host, with planet_socket as the path of an ssh:// URL without one."""
    if socket and host.startswith("ssh://") and "/" not in host[len("ssh://"):]:
        return host + socket
    return host


class Connection(ConnectionBase):
    """Tasks in a planet box, through the planet client."""

    transport = "planet"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._planet = None

    @property
    def default_user(self):
        try:
            return self.get_option("planet_user")
        except KeyError:
            return None

    def _connect(self):
        if self._connected:
            return self
        exe = self.get_option("planet_executable")
        self._planet = shutil.which(exe)
        if self._planet is None:
            raise AnsibleError("planet connection: no planet client %r on the controller" % exe)
        display.vvv("ESTABLISH PLANET CONNECTION (socket %s, host %s, user %s)"
                    % (self.get_option("planet_socket"), self.get_option("planet_host"),
                       self.get_option("planet_user") or "root"),
                    host=self._play_context.remote_addr)
        self._connected = True
        return self

    def _where(self, verb):
        """planet [-H URL] VERB [--socket S]: planet refuses -H with --socket."""
        host, socket = self.get_option("planet_host"), self.get_option("planet_socket")
        if host:
            return [self._planet, "-H", host_url(host, socket), verb]
        return [self._planet, verb] + (["--socket", socket] if socket else [])

    def _planet_cmd(self, argv, interactive, user=True):
        cmd = self._where("exec")
        if user and self.get_option("planet_user"):
            cmd += ["-u", self.get_option("planet_user")]
        if interactive:
            cmd.append("-i")
        cmd.append("--")
        return cmd + list(argv)

    def _judge(self, rc, stderr):
        line = planet_line(stderr) if rc == PLANET_FAILED else None
        if line is not None:
            raise AnsibleConnectionFailure(line)

    def _popen(self, argv, interactive, stdin=subprocess.PIPE, stdout=subprocess.PIPE, user=True):
        cmd = self._planet_cmd(argv, interactive, user)
        display.vvv("EXEC %s" % " ".join(shlex.quote(to_text(a)) for a in cmd),
                    host=self._play_context.remote_addr)
        return subprocess.Popen([to_bytes(a, errors="surrogate_or_strict") for a in cmd],
                                stdin=stdin if interactive else subprocess.DEVNULL,
                                stdout=stdout, stderr=subprocess.PIPE)

    def _become_wait(self, p):
        # What came before the prompt or the success line stays the
        # command's output (Ansible strips the BECOME-SUCCESS line itself).
        out = {p.stdout.fileno(): b"", p.stderr.fileno(): b""}
        seen = b""
        with selectors.DefaultSelector() as sel:
            for fd in out:
                sel.register(fd, selectors.EVENT_READ)
            while not self.become.check_success(seen) and not self.become.check_password_prompt(seen):
                events = sel.select(self._play_context.timeout)
                if not events:
                    p.kill()
                    p.communicate()
                    raise AnsibleError("timeout waiting for the privilege escalation prompt:\n" + to_native(seen))
                for key, _ in events:
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        stdout, stderr = p.communicate()
                        self._judge(p.returncode, out[p.stderr.fileno()] + stderr)
                        raise AnsibleError("privilege escalation ended before its prompt:\n" + to_native(seen + stdout + stderr))
                    out[key.fd] += chunk
                    seen += chunk
        if self.become.check_success(seen):
            return out[p.stdout.fileno()], out[p.stderr.fileno()]
        password = self.become.get_option("become_pass", playcontext=self._play_context)
        p.stdin.write(to_bytes(password, errors="surrogate_or_strict") + b"\n")
        p.stdin.flush()
        return b"", b""

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        prompt = bool(sudoable and self.become and self.become.expect_prompt())
        shell = self._play_context.executable or "/bin/sh"
        p = self._popen([shell, "-c", cmd], interactive=bool(in_data) or prompt)
        before_out, before_err = self._become_wait(p) if prompt else (b"", b"")
        stdout, stderr = p.communicate(in_data)
        stdout, stderr = before_out + stdout, before_err + stderr
        self._judge(p.returncode, stderr)
        return p.returncode, stdout, stderr

    def _run(self, cmd):
        display.vvv("EXEC %s" % " ".join(shlex.quote(to_text(a)) for a in cmd),
                    host=self._play_context.remote_addr)
        p = subprocess.run([to_bytes(a, errors="surrogate_or_strict") for a in cmd],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return p.returncode, p.stderr

    def _copy_to_box(self, in_path, out_path):
        rc, stderr = self._run(self._where("cp") + ["--", in_path, "box:" + out_path])
        user = self.get_option("planet_user")
        if rc != 0 or not user or user in ("root", "0"):
            return rc, stderr
        # planet cp writes as root: the file goes to the user the tasks run as.
        p = self._popen(["chown", "--", user + ":", out_path], interactive=False, user=False)
        _, stderr = p.communicate()
        return p.returncode, stderr

    def _copy_from_box(self, in_path, out_path):
        return self._run(self._where("cp") + ["--", "box:" + in_path, out_path])

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self._play_context.remote_addr)
        if not os.path.isfile(to_bytes(in_path, errors="surrogate_or_strict")):
            raise AnsibleFileNotFound("file or module does not exist: %s" % to_native(in_path))
        rc, stderr = self._copy_to_box(in_path, out_path)
        self._judge(rc, stderr)
        if rc != 0:
            raise AnsibleError("failed to transfer %s to %s in the box: %s"
                               % (in_path, out_path, to_native(stderr).strip()))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self._play_context.remote_addr)
        # A failed or cut transfer must not replace what out_path held.
        part = "%s.planet-%s" % (out_path, secrets.token_hex(4))
        try:
            rc, stderr = self._copy_from_box(in_path, part)
            self._judge(rc, stderr)
            if rc != 0:
                raise AnsibleError("failed to fetch %s from the box: %s" % (in_path, to_native(stderr).strip()))
            os.rename(part, out_path)
        finally:
            if os.path.lexists(part):
                os.unlink(part)

    def close(self):
        self._connected = False
