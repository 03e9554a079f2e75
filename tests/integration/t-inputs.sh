#!/bin/bash
# t-inputs: the box's inputs of issue 13 on a busybox box.
#   - --file: placed with its mode and owner (0600, uid 1000), parents 0755,
#     placed again at the next start over a changed copy; :skip; a DST
#     through a symbolic link out of the rootfs (absolute, or ..) refused
#     with exit 2 and nothing written anywhere;
#   - two extra env files (--env-file-entry and an [envfile PATH] section),
#     read back by the box's shell;
#   - --init-user: init's uid, gid and groups are the box's alice; refused
#     for a systemd init; an unknown user refused;
#   - credentials: 0400 files on a read-only ramfs at /run/host/credentials,
#     CREDENTIALS_DIRECTORY in init's environment, the value in no state
#     file, log or env file; bad IDs, a twice-given ID and a value over
#     1 MiB refused with exit 2;
#   - hooks: prestart sees the box built but init not yet exec'd and the
#     state JSON on stdin; a failing one aborts the start with its output
#     and leaves nothing behind; a hung one is killed at hook_timeout;
#     poststart; poststop after a halt and, after a SIGKILLed supervisor, at
#     the next start.
# shellcheck disable=SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"

booted() { wait_for 5 grep -q "box booted" "$BOX_LOG"; }
# Start that must be refused as bad input: exit 2, one line on stderr.
refused() { # DESC NEEDLE ARGS...
	local desc=$1 needle=$2 out rc
	shift 2
	out=$(timeout -s KILL 10 "$PLANET" start --rootfs "$ROOTFS" --state-dir "$STATE" \
		--socket "$SOCK" --init "$BOX_INIT" "$@" 2>&1 </dev/null)
	rc=$?
	check_eq "$desc: exit 2" 2 "$rc"
	check_eq "$desc: one line" 1 "$(printf '%s\n' "$out" | wc -l)"
	check_contains "$desc: names the value" "$out" "$needle"
}

# ---- files -------------------------------------------------------------------------
echo "# --file"
printf 'secret=1\n' >"$T/app.conf"
box_start --file "$T/app.conf:/etc/app/conf.d/app.conf:mode=0600:uid=1000" \
	--file "$T/no-such-file:/etc/app/skipped:skip"
booted
check_eq "file: content" "secret=1" "$(cat "/proc/$INIT_PID/root/etc/app/conf.d/app.conf")"
check_eq "file: mode and owner 600 1000:0" "600 1000:0" \
	"$(stat -c '%a %u:%g' "$ROOTFS/etc/app/conf.d/app.conf")"
check_eq "file: parents 0755" "755 755" \
	"$(stat -c %a "$ROOTFS/etc/app" "$ROOTFS/etc/app/conf.d" | xargs)"
check_not "file: a missing source with :skip places nothing" test -e "$ROOTFS/etc/app/skipped"
check_eq "file: no temporary file left" "app.conf" "$(ls -A "$ROOTFS/etc/app/conf.d")"
box_stop
echo changed >"$ROOTFS/etc/app/conf.d/app.conf"
chmod 0644 "$ROOTFS/etc/app/conf.d/app.conf"
printf 'secret=2\n' >"$T/app.conf"
box_start --file "$T/app.conf:/etc/app/conf.d/app.conf:mode=0600:uid=1000"
booted
check_eq "file: placed again at the next start" "secret=2" \
	"$(cat "$ROOTFS/etc/app/conf.d/app.conf")"
check_eq "file: mode again 600" "600" "$(stat -c %a "$ROOTFS/etc/app/conf.d/app.conf")"
box_stop

echo "# --file through a link out of the rootfs"
ln -s "$T/outside" "$ROOTFS/etc/evil-abs"
ln -s ../../../../../../../../../../.."$T/outside" "$ROOTFS/etc/evil-rel"
refused "file through an absolute link out" '"/etc/evil-abs/x"' \
	--file "$T/app.conf:/etc/evil-abs/x"
refused "file through a .. link out" '"/etc/evil-rel/sub/x"' \
	--file "$T/app.conf:/etc/evil-rel/sub/x"
check_not "link out: nothing written on the host" test -e "$T/outside"
check_not "link out: nothing written in the rootfs" test -e "$ROOTFS$T"
refused "file: missing source" "$T/no-such-file" --file "$T/no-such-file:/etc/x"
refused "file: bad mode" "mode=999" --file "$T/app.conf:/etc/x:mode=999"
refused "file: relative destination" "etc/x" --file "$T/app.conf:etc/x"
refused "file: under /proc" "/proc" --file "$T/app.conf:/proc/x"
check_not "bad input: no state dir made" test -e "$STATE/state"

# ---- env files ------------------------------------------------------------------------
echo "# two env files"
cat >"$T/envfiles.conf" <<'EOF'
[envfile /etc/app/app.env]
GREETING = hello "world" $HOME
EMPTY =
EOF
box_start --config "$T/envfiles.conf" \
	--env-file-entry '/etc/default/proxy:HTTP_PROXY=http://proxy:3128,NO_PROXY="localhost,10.0.0.0/8"'
booted
check_eq "env file 1: NO_PROXY with a comma" "localhost,10.0.0.0/8" \
	"$(in_box sh -c '. /etc/default/proxy; echo "$NO_PROXY"')"
check_eq "env file 1: HTTP_PROXY" "http://proxy:3128" \
	"$(in_box sh -c '. /etc/default/proxy; echo "$HTTP_PROXY"')"
check_eq "env file 2: the INI value as written" 'hello "world" $HOME' \
	"$(in_box sh -c '. /etc/app/app.env; echo "$GREETING"')"
check "env file 2: an empty value" grep -qx 'EMPTY=""' "$ROOTFS/etc/app/app.env"
check_not "env files: not in the container env file" grep -q PROXY "$ROOTFS/etc/container-environment"
box_stop
refused "env file entry without a path" "HTTP_PROXY=x" --env-file-entry 'HTTP_PROXY=x'
refused "env file entry with a bad name" "1BAD" --env-file-entry '/etc/x:1BAD=x'
refused "env file over the container env file" "/etc/container-environment" \
	--env-file-entry '/etc/container-environment:A=b'

# ---- init user --------------------------------------------------------------------------
echo "# --init-user"
box_start --init-user alice --stop-timeout 1 \
	--init '/bin/sh -c "id -u >/tmp/init-id; id -G >>/tmp/init-id; echo box booted; exec sleep 100000"'
booted
check_eq "init user: id -u from init is alice's, groups alice and staff" "1000
1000 50" "$(cat "$ROOTFS/tmp/init-id")"
check_match "init user: init's uid" "^Uid:[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000" \
	"$(grep ^Uid: "/proc/$INIT_PID/status")"
box_stop
rm -f "$ROOTFS/tmp/init-id"
mkdir -p "$ROOTFS/lib/systemd"
cp "$ROOTFS/bin/busybox" "$ROOTFS/lib/systemd/systemd"
ln -s /lib/systemd/systemd "$ROOTFS/sbin/sd-init"
refused "init user with systemd" "systemd" --init /sbin/sd-init --init-user alice
refused "unknown init user" '"mallory"' --init-user mallory
rm -rf "$ROOTFS/lib/systemd" "$ROOTFS/sbin/sd-init"

# ---- credentials --------------------------------------------------------------------------
echo "# credentials"
printf 'from-file-7d1' >"$T/cred"
box_start --set-credential 'apitoken:s3cr3t-9f2' --load-credential "dbpass:$T/cred"
booted
cdir=/proc/$INIT_PID/root/run/host/credentials
check_eq "credential: set value" "s3cr3t-9f2" "$(cat "$cdir/apitoken")"
check_eq "credential: loaded value" "from-file-7d1" "$(cat "$cdir/dbpass")"
check_eq "credentials: mode 0400 root" "400 0:0 400 0:0" \
	"$(stat -c '%a %u:%g' "$cdir/apitoken" "$cdir/dbpass" | xargs)"
m=$(box_mnt /run/host/credentials)
check_match "credentials: a read-only ramfs" '^ro,nosuid,nodev,noexec.*\|ramfs\|' "$m"
check_not "credentials: not writable, even by root in the box" \
	in_box sh -c 'echo x >/run/host/credentials/new'
check "CREDENTIALS_DIRECTORY in init's environment" \
	grep -qz '^CREDENTIALS_DIRECTORY=/run/host/credentials$' "/proc/$INIT_PID/environ"
check_not "credential: not in the state file" grep -q s3cr3t "$STATE/state"
check_not "credential: not in the env file" grep -q s3cr3t "$ROOTFS/etc/container-environment"
check_not "credential: nowhere in the rootfs on disk" grep -rqs s3cr3t-9f2 "$ROOTFS"
box_stop
check_not "credential: not in the log" grep -q -e s3cr3t -e from-file-7d1 "$BOX_LOG"
refused "credential ID with a /" '"a/b"' --set-credential 'a/b:x'
refused "credential ID .." '".."' --set-credential '..:x'
refused "credential without a value" 'ID:VALUE' --set-credential 'apitoken'
refused "credential given twice" '"k"' --set-credential 'k:1' --load-credential "k:$T/cred"
head -c $((1024 * 1024 + 1)) /dev/zero >"$T/big"
refused "credential over 1 MiB" '"big"' --load-credential "big:$T/big"
refused "credential file missing" "$T/nope" --load-credential "x:$T/nope"

# ---- hooks ------------------------------------------------------------------------------------
echo "# hooks"
cat >"$T/pre.sh" <<EOF
#!/bin/sh
json=\$(cat)
echo "\$json" >"$T/pre.json"
pid=\$(echo "\$json" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
readlink /proc/\$pid/exe >"$T/pre.exe"
test -e /proc/\$pid/root/run/host/container-uuid && echo mounted >"$T/pre.mnt"
echo "\$PLANET_HOOK" >"$T/pre.kind"
EOF
cat >"$T/post.sh" <<EOF
#!/bin/sh
cat >>"$T/\$PLANET_HOOK.json"
EOF
cat >"$T/fail.sh" <<'EOF'
#!/bin/sh
echo "no licence for this box" >&2
exit 3
EOF
chmod +x "$T/pre.sh" "$T/post.sh" "$T/fail.sh"
hooks=(--hook "prestart:$T/pre.sh" --hook "poststart:$T/post.sh" --hook "poststop:$T/post.sh")
box_start "${hooks[@]}"
booted
check_contains "prestart: the state on stdin" "$(cat "$T/pre.json")" "\"id\":\"$BOX_ID\",\"status\":\"created\",\"pid\":$INIT_PID,\"rootfs\":\"$ROOTFS\",\"state_dir\":\"$STATE\""
check_not "prestart: init not yet exec'd" grep -q busybox "$T/pre.exe"
check_eq "prestart: the box's mounts ready" mounted "$(cat "$T/pre.mnt" 2>&1)"
check_eq "prestart: PLANET_HOOK" prestart "$(cat "$T/pre.kind")"
check_contains "poststart: status running" "$(cat "$T/poststart.json")" '"status":"running"'
check_not "poststop: not yet" test -e "$T/poststop.json"
box_stop
check_contains "poststop: after the halt" "$(cat "$T/poststop.json" 2>&1)" "\"id\":\"$BOX_ID\",\"status\":\"stopped\",\"rootfs\""
rm -f "$T/poststop.json"

echo "# poststop after a crash"
box_start "${hooks[@]}"
booted
old_id=$BOX_ID
kill -KILL "$SUP_PID"
wait_for 5 test ! -e "/proc/$SUP_PID"
check_not "crash: no poststop from a SIGKILLed supervisor" test -e "$T/poststop.json"
box_start "${hooks[@]}"
check_contains "crash: poststop at the next start, for the old box" \
	"$(cat "$T/poststop.json" 2>&1)" "\"id\":\"$old_id\",\"status\":\"stopped\""
box_stop
assert_nothing_left "after the hooks"

echo "# a failing prestart hook"
rm -f "$T/poststop.json"
box_try_start --hook "prestart:$T/fail.sh" --hook "poststop:$T/post.sh"
check_eq "failing prestart: the start fails" 1 "$BOX_STATUS"
check_contains "failing prestart: its output in the message" "$(cat "$BOX_LOG")" \
	"prestart hook $T/fail.sh: exit status 3: no licence for this box"
check_not "failing prestart: init never ran" grep -q "box booted" "$BOX_LOG"
check "failing prestart: poststop ran" test -e "$T/poststop.json"
assert_nothing_left "after a failed prestart"
t0=$(now)
box_try_start --hook "prestart:/bin/sleep 100" --hook-timeout 1
check_eq "hung prestart: the start fails" 1 "$BOX_STATUS"
check_contains "hung prestart: killed at hook_timeout" "$(cat "$BOX_LOG")" "killed after 1s"
check "hung prestart: within 5 s" awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b - a < 5) }'
refused "hook of an unknown kind" "prestop:/bin/true" --hook 'prestop:/bin/true'
refused "hook with a relative command" "true" --hook 'prestart:true'
assert_nothing_left
finish
