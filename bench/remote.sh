#!/bin/bash
# bench/remote.sh — issue 14, "Remote boxes": `planet -H ssh://HOST exec --
# true` against what an operator would type instead, `ssh HOST planet exec
# -- true`, and the floor, `ssh HOST true` (one ssh login, no box). The
# sshd is the tests' own (tests/lib/sshd.sh: 127.0.0.1, a generated key,
# stopped at the end); the box is a busybox one.
#
#   sudo PLANET=./planet bench/remote.sh        (or bench/run.sh remote)
#
# Knobs: BENCH_REMOTE_RUNS (default 30; 3 with --quick). Over loopback the
# figures are ssh's own cost (key exchange, login, the remote shell) plus
# planet's; on a real network add a round trip or two to each.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../tests/lib/sshd.sh
. "$(dirname "$0")/../tests/lib/sshd.sh"
bench_init remote
need_tools hyperfine:hyperfine sshd:openssh-server ssh:openssh-client python3:python3-minimal
RUNS=$(knob BENCH_REMOTE_RUNS 30 3)
WARM=$(knob BENCH_REMOTE_WARMUP 3 1)

mk_busybox "$WORK/rootfs"
SOCK=$SHM/enter.sock
"$PLANET" start --rootfs "$WORK/rootfs" --state-dir "$SHM" --socket "$SOCK" \
	--init '/bin/sh -c "trap exit USR2 TERM; while :; do sleep 1; done"' >"$WORK/planet.log" 2>&1 &
SUP=$!
on_cleanup "'$PLANET' stop --socket '$SOCK' || kill -KILL $SUP; wait $SUP"
wait_for 10 test -S "$SOCK" || die "the box did not start: $(cat "$WORK/planet.log")"
sshd_start "$WORK/ssh" "$PLANET" || die "cannot start sshd"
on_cleanup sshd_stop

export PLANET_SSH_COMMAND="$SSHD_SSH"
SSH="$SSHD_SSH -p $SSHD_PORT root@127.0.0.1"
URL="ssh://root@127.0.0.1:$SSHD_PORT$SOCK"
# One of each first: they must work before they are timed.
[ "$("$PLANET" -H "$URL" exec -- echo ok)" = ok ] || die "planet -H $URL exec does not work"
[ "$($SSH planet exec --socket "$SOCK" -- echo ok)" = ok ] || die "ssh ... planet exec does not work"

echo "# $RUNS runs each (hyperfine -N, $WARM warm-up); sshd on 127.0.0.1, ed25519 keys"
echo "# planet -H runs ssh through /bin/sh here (PLANET_SSH_COMMAND carries the test key)"
wait_cmd hyperfine -N -w "$WARM" -r "$RUNS" --export-json "$WORK/remote.json" \
	-n "ssh host true (floor)" "$SSH true" \
	-n "ssh host planet exec" "$SSH planet exec --socket $SOCK -- true" \
	-n "planet -H ssh:// exec" "$PLANET -H $URL exec -- true" \
	-n "planet exec (local)" "$PLANET exec --socket $SOCK -- true" >/dev/null ||
	die "hyperfine failed"
hyperfine_table "$WORK/remote.json" "ssh host true (floor)"
