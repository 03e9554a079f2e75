#!/bin/bash
# t-ansible: Debian's ansible-core drives two boxes through the planet
# connection plugin (contrib/ansible/connection/planet.py), as an operator's
# controller would. Both boxes run the cached Debian rootfs (it has python3)
# with init `sleep infinity`; the inventory names them by their sockets.
#
#   ad-hoc        ping; copy (a text file's mode, a binary file byte for
#                 byte, idempotent on a second run); fetch (byte for byte, a
#                 file of ours and a binary of the box); shell (stdout,
#                 stderr, rc); setup (facts of the box: Debian 12, its
#                 hostname); become su to nobody (not pipelined); su
#                 from nobody to root with a password (pipelined);
#                 planet_user; planet_host: the second box reached over
#                 ssh (a private sshd on 127.0.0.1, tests/lib/sshd.sh), files
#                 through planet cp there too
#   playbook      two changed tasks notify one handler: it runs once; the
#                 recap's ok/changed counts on both hosts; a second run
#                 changes nothing and runs no handler
#   unreachable   a box whose socket does not exist: UNREACHABLE with
#                 planet's line
#
# Needs root, python3, debootstrap (the rootfs cache, as t-debian) and
# ansible-core; skips (77) otherwise. Ansible's home, temp dirs and config
# are in $T: nothing is left in ~/.ansible.
# shellcheck disable=SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=lib-system.sh
. "$(dirname "$0")/lib-system.sh"
# shellcheck source=../lib/sshd.sh
. "$(dirname "$0")/../lib/sshd.sh"
command -v ansible-playbook >/dev/null 2>&1 || skip "needs ansible-core (apt-get install ansible-core)"
[ -x /usr/sbin/sshd ] || skip "needs openssh-server (scripts/deps.sh --test)"
sys_setup
# sshd goes with everything else, also when the test fails or is killed.
eval "lib_cleanup_box() $(declare -f lib_cleanup | tail -n +2)"
lib_cleanup() {
	sshd_stop
	lib_cleanup_box
}

PLUGIN_DIR=$SRC_DIR/contrib/ansible/connection
A=$T/ansible
mkdir -p "$A/home" "$A/tmp" "$A/files" "$A/fetched"
: >"$A/ansible.cfg"
HOME_ANSIBLE_BEFORE=$([ -e ~/.ansible ] && echo yes)

if [ -x "$DEBIAN_CACHE/usr/bin/python3" ]; then
	pass "the cached Debian rootfs has python3"
else
	fail "the cached Debian rootfs has python3" "no $DEBIAN_CACHE/usr/bin/python3 (mkrootfs-debian.sh's PACKAGES)"
	sys_finish
fi

# ---- two boxes -----------------------------------------------------------------
declare -A BOX_SUP BOX_SUPSTART BOX_STATE BOX_SOCK BOX_ROOT
start_box() { # NAME
	debian_rootfs "$1" || { fail "[$1] rootfs" "debian_rootfs failed"; sys_finish; }
	box_start --hostname "$1" --init '/bin/sleep infinity' --stop-signal KILL
	BOX_SUP[$1]=$SUP_PID BOX_SUPSTART[$1]=$SUP_START
	BOX_STATE[$1]=$STATE BOX_SOCK[$1]=$SOCK BOX_ROOT[$1]=$ROOTFS
}
use_box() { # NAME: lib.sh's current box
	SUP_PID=${BOX_SUP[$1]} SUP_START=${BOX_SUPSTART[$1]}
	STATE=${BOX_STATE[$1]} SOCK=${BOX_SOCK[$1]} ROOTFS=${BOX_ROOT[$1]}
}
bexec() { # NAME CMD...: planet exec in box NAME
	local n=$1
	shift
	"$PLANET" exec --socket "${BOX_SOCK[$n]}" -- "$@"
}
start_box alpha
start_box beta

# planet_host: beta again, as a controller reaches an appliance (ssh, then
# planet dial-stdio there).
sshd_start "$T/ssh" "$PLANET" || { fail "sshd started"; sys_finish; }
export PLANET_SSH_COMMAND="$SSHD_SSH"

cat >"$A/inventory" <<EOF
[boxes]
alpha planet_socket=${BOX_SOCK[alpha]}
beta planet_socket=${BOX_SOCK[beta]}

[boxes:vars]
ansible_connection=planet
planet_executable=$PLANET

[remote]
delta ansible_connection=planet planet_host=ssh://root@127.0.0.1:$SSHD_PORT planet_socket=${BOX_SOCK[beta]} planet_executable=$PLANET planet_user=nobody ansible_remote_tmp=/tmp/.ansible-t

[broken]
gamma ansible_connection=planet planet_socket=$T/nowhere/enter.sock planet_executable=$PLANET
EOF

export ANSIBLE_CONFIG=$A/ansible.cfg ANSIBLE_HOME=$A/home ANSIBLE_LOCAL_TEMP=$A/tmp \
	ANSIBLE_CONNECTION_PLUGINS=$PLUGIN_DIR ANSIBLE_INVENTORY=$A/inventory \
	ANSIBLE_NOCOWS=1 ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
	ANSIBLE_PYTHON_INTERPRETER=auto_silent ANSIBLE_DEPRECATION_WARNINGS=0 \
	ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_FORKS=2 ANSIBLE_PIPELINING=1

# Ad-hoc runs record each host's result as JSON in $A/tree/HOST (the tree
# callback of ansible-core); JRC is ansible's exit status.
adhoc() { # PATTERN MODULE [ARGS...]
	local pat=$1 mod=$2 t0
	shift 2
	rm -rf "$A/tree"
	t0=$(now)
	ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_CALLBACKS_ENABLED=tree ANSIBLE_CALLBACK_TREE_DIR=$A/tree \
		timeout 120 ansible "$pat" -m "$mod" "$@" >"$A/adhoc.out" 2>&1
	JRC=$?
	echo "# ansible $pat -m $mod: $(elapsed_since "$t0") s"
}
# A field of HOST's result in the last ad-hoc run (a.b for nested keys;
# lists and objects as JSON).
jget() { # HOST FIELD
	python3 -c '
import json, sys
try:
    with open(sys.argv[1]) as f:
        r = json.load(f)
except Exception as e:
    print("<no result: %s>" % e); sys.exit(0)
for k in sys.argv[2].split("."):
    r = r.get(k, "<none>") if isinstance(r, dict) else "<none>"
print(r if isinstance(r, str) else json.dumps(r))' "$A/tree/$1" "$2"
}
show_adhoc() { head -c 3000 "$A/adhoc.out" | sed 's/^/#   /'; }

# ---- the plugin's documentation -------------------------------------------
doc=$(ansible-doc -t connection planet 2>&1)
check_eq "ansible-doc -t connection planet: exits 0" 0 "$?"
check_contains "ansible-doc: planet_socket documented" "$doc" "planet_socket"
check_contains "ansible-doc: planet_host documented" "$doc" "planet_host"

# ---- ping ------------------------------------------------------------------------
adhoc boxes ping
check_eq "ping: ansible exits 0" 0 "$JRC"
check_eq "ping alpha: pong" pong "$(jget alpha ping)"
check_eq "ping beta: pong" pong "$(jget beta ping)"
[ "$JRC" = 0 ] || show_adhoc

# ---- copy, fetch ---------------------------------------------------------------
printf 'planet\nansible\n' >"$A/files/text"
chmod 0640 "$A/files/text"
# every byte value, then random bytes (NULs, no final newline)
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 4)' >"$A/files/binary"
head -c 300000 /dev/urandom >>"$A/files/binary"
chmod 0751 "$A/files/binary"
sum_text=$(sha256sum <"$A/files/text") sum_bin=$(sha256sum <"$A/files/binary")

adhoc boxes copy -a "src=$A/files/ dest=/srv/ mode=preserve"
check_eq "copy: ansible exits 0" 0 "$JRC"
check_eq "copy: changed" true "$(jget alpha changed)"
[ "$JRC" = 0 ] || show_adhoc
for b in alpha beta; do
	check_eq "[$b] copied text: content" "$sum_text" "$(bexec "$b" sh -c 'sha256sum </srv/text')"
	check_eq "[$b] copied text: mode 0640 kept, owner root" "640 root" "$(bexec "$b" stat -c '%a %U' /srv/text)"
	check_eq "[$b] copied binary: byte for byte" "$sum_bin" "$(bexec "$b" sh -c 'sha256sum </srv/binary')"
	check_eq "[$b] copied binary: mode 0751 kept" 751 "$(bexec "$b" stat -c '%a' /srv/binary)"
done

adhoc boxes fetch -a "src=/srv/binary dest=$A/fetched/"
check_eq "fetch: ansible exits 0" 0 "$JRC"
[ "$JRC" = 0 ] || show_adhoc
for b in alpha beta; do
	check_eq "[$b] fetched binary: byte for byte" "$sum_bin" "$(sha256sum <"$A/fetched/$b/srv/binary" 2>&1)"
done

# ---- shell -----------------------------------------------------------------------
adhoc boxes shell -a 'echo "out $(hostname) $(wc -l </srv/text)"; printf "%s|" "a  b" "$0"; echo err >&2; exit 3' \
	-e ansible_shell_executable=/bin/bash
check_eq "shell exit 3: ansible exits 2 (a task failed)" 2 "$JRC"
check_eq "shell alpha: rc" 3 "$(jget alpha rc)"
check_eq "shell alpha: stdout (the box's hostname, a quoted argument, the shell)" $'out alpha 2\na  b|/bin/bash|' "$(jget alpha stdout)"
check_eq "shell alpha: stderr" err "$(jget alpha stderr)"
check_eq "shell beta: stdout" $'out beta 2\na  b|/bin/bash|' "$(jget beta stdout)"

# ---- setup -----------------------------------------------------------------------
adhoc boxes setup -a 'gather_subset=!all,!min,distribution,platform'
check_eq "setup: ansible exits 0" 0 "$JRC"
[ "$JRC" = 0 ] || show_adhoc
for b in alpha beta; do
	check_eq "[$b] setup: ansible_distribution" Debian "$(jget "$b" ansible_facts.ansible_distribution)"
	check_eq "[$b] setup: ansible_distribution_major_version" 12 "$(jget "$b" ansible_facts.ansible_distribution_major_version)"
	check_eq "[$b] setup: ansible_hostname (the box's)" "$b" "$(jget "$b" ansible_facts.ansible_hostname)"
done

# ---- become, users -------------------------------------------------------------
# nobody's shell is nologin: su needs -s (with no flags su fails, as anywhere).
# Without pipelining the module goes through a temp file of root's that
# nobody must be allowed to read (Ansible's own permission handling).
ANSIBLE_PIPELINING=0 adhoc boxes command -a 'id -un' -b --become-method su \
	--become-user nobody -e '{"ansible_become_flags": "-s /bin/sh"}'
check_eq "become su nobody (no pipelining): ansible exits 0" 0 "$JRC"
check_eq "become su nobody (no pipelining): id -un on alpha" nobody "$(jget alpha stdout)"
check_eq "become su nobody (no pipelining): id -un on beta" nobody "$(jget beta stdout)"
[ "$JRC" = 0 ] || show_adhoc

# su from nobody to root asks for root's password: the plugin answers
# Ansible's become password on stdin, then sends the pipelined module. nobody's
# home does not exist: Ansible's remote temp dir goes to /tmp.
bexec alpha sh -c 'echo root:planet-t-secret | chpasswd'
adhoc alpha command -a 'id -u' -b --become-method su -e '{"ansible_become_password": "planet-t-secret"}' \
	-e '{"planet_user": "nobody", "ansible_remote_tmp": "/tmp/.ansible-t"}'
check_eq "become su root from nobody, with a password: ansible exits 0" 0 "$JRC"
check_eq "become su root from nobody, with a password: uid 0" 0 "$(jget alpha stdout)"
[ "$JRC" = 0 ] || show_adhoc

# ---- planet_user, planet_host; a box that is not there --------------------------
adhoc delta:gamma shell -a 'echo "$(hostname) $(id -un)"'
check_eq "planet_host over ssh, planet_user=nobody: ran in beta as nobody" "beta nobody" "$(jget delta stdout)"
printf 'over ssh\n' >"$A/files/ssh.txt"
adhoc delta copy -a "src=$A/files/ssh.txt dest=/tmp/ssh.txt mode=0600"
check_eq "planet_host: copy over ssh (planet cp through dial-stdio) exits 0" 0 "$JRC"
check_eq "... the file in beta, nobody's, 0600" "nobody 600 over ssh" \
	"$(bexec beta stat -c '%U %a' /tmp/ssh.txt) $(bexec beta cat /tmp/ssh.txt)"
[ "$JRC" = 0 ] || show_adhoc
adhoc delta:gamma shell -a 'echo "$(hostname) $(id -un)"'
check_eq "missing socket: ansible exits 4 (a host unreachable)" 4 "$JRC"
check_eq "missing socket: the host is unreachable" true "$(jget gamma unreachable)"
check_contains "missing socket: planet's line is the message" "$(jget gamma msg)" \
	"planet: cannot connect to $T/nowhere/enter.sock"
check_contains "missing socket: ansible's output says UNREACHABLE" "$(cat "$A/adhoc.out")" "gamma | UNREACHABLE!"

# ---- a playbook with a handler ---------------------------------------------------
cat >"$A/play.yml" <<'EOF'
- hosts: boxes
  gather_facts: false
  tasks:
    - name: the service's config
      ansible.builtin.copy:
        content: "level = 1\n"
        dest: /etc/demo.conf
        mode: "0600"
      notify: restart demo
    - name: the service's second file
      ansible.builtin.copy:
        content: "x\n"
        dest: /etc/demo.d.conf
      notify: restart demo
    - name: a check that changes nothing
      ansible.builtin.command: test -s /etc/demo.conf
      changed_when: false
  handlers:
    - name: restart demo
      ansible.builtin.shell: echo restarted >>/var/log/demo-restarts
EOF
recap() { # HOST FILE: "ok=N changed=N unreachable=N failed=N"
	sed -n "s/^$1 *: *\(ok=[0-9]* *changed=[0-9]* *unreachable=[0-9]* *failed=[0-9]*\).*/\1/p" "$2" | tr -s ' '
}
t0=$(now)
timeout 180 ansible-playbook "$A/play.yml" >"$A/play1.log" 2>&1
rc=$?
echo "# ansible-playbook: $(elapsed_since "$t0") s"
check_eq "playbook: ansible-playbook exits 0" 0 "$rc"
[ $rc = 0 ] || sed 's/^/#   /' "$A/play1.log"
for b in alpha beta; do
	check_eq "[$b] playbook recap: 3 tasks + the handler ok, 3 changed" "ok=4 changed=3 unreachable=0 failed=0" "$(recap "$b" "$A/play1.log")"
	check_eq "[$b] the handler ran once (notified twice)" restarted "$(bexec "$b" cat /var/log/demo-restarts)"
	check_eq "[$b] the playbook's file: content, mode" "level = 1|600" \
		"$(bexec "$b" sh -c 'cat /etc/demo.conf; stat -c "|%a" /etc/demo.conf' | tr -d '\n')"
done
check_eq "playbook: RUNNING HANDLER once" 1 "$(grep -c '^RUNNING HANDLER \[restart demo\]' "$A/play1.log")"
timeout 180 ansible-playbook "$A/play.yml" >"$A/play2.log" 2>&1
check_eq "playbook again: exits 0" 0 "$?"
for b in alpha beta; do
	check_eq "[$b] playbook again: nothing changed, no handler" "ok=3 changed=0 unreachable=0 failed=0" "$(recap "$b" "$A/play2.log")"
	check_eq "[$b] playbook again: the handler did not run" restarted "$(bexec "$b" cat /var/log/demo-restarts)"
done

# ---- the end -----------------------------------------------------------------------
for b in alpha beta; do
	use_box "$b"
	box_stop
	check_eq "[$b] box ended by its stop signal (SIGKILL to sleep)" 137 "$BOX_STATUS"
done
# (what is left is judged once both are gone: the boxes share the test's cgroups)
for b in alpha beta; do
	use_box "$b"
	assert_nothing_left "[$b] after both boxes ended"
done
if [ -z "$HOME_ANSIBLE_BEFORE" ]; then
	check_not "nothing written to ~/.ansible" test -e ~/.ansible
fi
sys_finish
