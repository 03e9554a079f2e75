# sshd.sh — a private sshd on 127.0.0.1 for t-remote.sh and bench/remote.sh
# (bash; sourced). Nothing of the host's ssh set-up is used or changed.
#
#   sshd_start DIR PLANET   keys, config and log in DIR (created); starts
#                           /usr/sbin/sshd -D on a free port in a mount
#                           namespace of its own (a tmpfs on /run there
#                           gives sshd its /run/sshd without touching the
#                           host's /run); waits until it accepts. Sets:
#     SSHD_PORT SSHD_PID
#     SSHD_SSH="ssh -i KEY -o UserKnownHostsFile=... -o ..." (for
#       PLANET_SSH_COMMAND or to run ssh by hand), logging in as root with
#       the key whose session PATH starts with a directory holding PLANET
#       as `planet`
#     SSHD_SSH_NOPLANET  the same with a key whose PATH has no planet
#     SSHD_SSH_BADKEY    a key sshd does not know (login fails)
#   sshd_stop               stop it (TERM, then KILL) and wait; safe twice.
# Returns 1 (with a line on stderr) when sshd is missing or does not start.
# shellcheck shell=bash disable=SC2034

sshd_start() {
	local dir=$1 planet=$2 k
	if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
		echo "sshd.sh: needs openssh-server and openssh-client" >&2
		return 1
	fi
	mkdir -p "$dir/bin" && chmod 700 "$dir" || return 1
	ln -sf "$planet" "$dir/bin/planet"
	for k in host client noplanet badkey; do
		ssh-keygen -q -t ed25519 -N '' -f "$dir/$k" || return 1
	done
	# SHLVL=1: bash runs ~/.bashrc for an ssh command only as the first
	# shell level; the host's root may have one that moves PATH or is slow.
	{
		printf 'environment="PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin",environment="SHLVL=1" %s\n' \
			"$dir/bin" "$(cat "$dir/client.pub")"
		printf 'environment="PATH=/usr/sbin:/usr/bin:/sbin:/bin",environment="SHLVL=1" %s\n' \
			"$(cat "$dir/noplanet.pub")"
	} >"$dir/authorized_keys"
	cat >"$dir/sshd_config" <<-CONF
		HostKey $dir/host
		AuthorizedKeysFile $dir/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PermitUserEnvironment PATH,SHLVL
		PidFile $dir/sshd.pid
		LogLevel ERROR
	CONF
	SSHD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	unshare -m --propagation private -- sh -c \
		'mount -t tmpfs -o mode=755,size=1m planet-sshd /run && mkdir -m 755 /run/sshd && exec "$@"' sh \
		/usr/sbin/sshd -D -f "$dir/sshd_config" -p "$SSHD_PORT" -o ListenAddress=127.0.0.1 \
		-E "$dir/sshd.log" &
	SSHD_PID=$!
	local base="ssh -o UserKnownHostsFile=$dir/known_hosts -o StrictHostKeyChecking=accept-new -o BatchMode=yes -o LogLevel=ERROR"
	SSHD_SSH="$base -i $dir/client -o IdentitiesOnly=yes"
	SSHD_SSH_NOPLANET="$base -i $dir/noplanet -o IdentitiesOnly=yes"
	SSHD_SSH_BADKEY="$base -i $dir/badkey -o IdentitiesOnly=yes"
	local i
	for ((i = 0; i < 250; i++)); do
		kill -0 "$SSHD_PID" 2>/dev/null || break
		if (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.02
	done
	echo "sshd.sh: sshd did not start: $(cat "$dir/sshd.log" 2>/dev/null)" >&2
	sshd_stop
	return 1
}

sshd_stop() {
	[ -n "${SSHD_PID:-}" ] || return 0
	kill -TERM "$SSHD_PID" 2>/dev/null
	local i
	for ((i = 0; i < 250; i++)); do
		kill -0 "$SSHD_PID" 2>/dev/null || break
		sleep 0.02
	done
	kill -KILL "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
}
