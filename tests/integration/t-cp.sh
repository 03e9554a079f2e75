#!/bin/bash
# t-cp: planet cp into and out of a running busybox box, checked from the
# host: a tree with nested directories, modes, a symbolic link and names
# with spaces and newlines, both ways and with -a; cp(1)'s destination
# rules; a 1 GiB file of real data (checksums); tar streams with "-";
# through a socat-forwarded socket. Hostile: in-box absolute symlinks to
# host paths read the box's files, a tar stream with ".." and an absolute
# name, a destination that is a symlink out of the box, a client killed
# mid-copy (no partial file under the target name, no session left).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/enter-helpers.sh"
command -v socat >/dev/null 2>&1 || skip "needs socat"

CP() { timeout -s KILL 60 "$PLANET" cp --socket "$SOCK" "$@"; }
P() { timeout -s KILL 30 "$PLANET" "$1" --socket "$SOCK" "${@:2}"; }
H=$T/host
R=$ROOTFS
# A tree: nested dirs, modes, a symlink, awkward names.
mk_tree() {
	mkdir -p "$1/a/b/c" "$1/with space"
	echo top >"$1/f"
	echo deep >"$1/a/b/c/d"
	printf 'x\n' >"$1/with space/name with space"
	printf 'n\n' >"$1/new"$'\n'"line"
	chmod 0750 "$1/a/b"
	chmod 0604 "$1/f"
	ln -s a/b/c/d "$1/link"
	touch -d '2001-02-03 04:05:06' "$1/a/b/c/d"
}
# "mode type name -> target" of every entry, sorted; mtimes with -a.
listing() {
	(cd "$1" && find . -mindepth 1 -printf "%m %y %p -> %l${2:+ %TY-%Tm-%Td}\n" | LC_ALL=C sort)
}
mkdir -p "$H"
mk_tree "$H/tree"

box_start_at_rest

echo "# a tree in and out"
run r CP "$H/tree" box:/tmp
check_eq "into an existing dir: exit 0, silent" "0 " "$r_rc $r_err"
check_eq "... lands inside it, the same tree" "$(listing "$H/tree")" "$(listing "$R/tmp/tree")"
check_eq "... contents" "deep" "$(cat "$R/tmp/tree/a/b/c/d")"
check_eq "... the symlink stays a symlink" "a/b/c/d" "$(readlink "$R/tmp/tree/link")"
check_eq "... name with a newline" "n" "$(cat "$R/tmp/tree/new"$'\n'"line")"
run r CP "$H/tree" box:/tmp/renamed
check_eq "to a new name: takes it" "0 $(listing "$H/tree")" "$r_rc $(listing "$R/tmp/renamed")"
mkdir "$H/out"
run r CP box:/tmp/tree "$H/out/"
check_eq "out into an existing dir: out/tree" "0 $(listing "$H/tree")" "$r_rc $(listing "$H/out/tree")"
run r CP box:/tmp/tree "$H/out/copy2"
check_eq "out to a new name" "0 $(listing "$H/tree")" "$r_rc $(listing "$H/out/copy2")"
run r CP -a "$H/tree" box:/tmp/arch
check_eq "-a in: modes and mtimes" "0 $(listing "$H/tree" t)" "$r_rc $(listing "$R/tmp/arch" t)"
chown -R 1234:2345 "$R/tmp/arch"
run r CP -a box:/tmp/arch "$H/out/arch"
check_eq "-a out: owners kept" "0 1234:2345" "$r_rc $(stat -c %u:%g "$H/out/arch/a/b/c/d")"
check_eq "-a out: mtimes kept" "$(listing "$H/tree" t)" "$(listing "$H/out/arch" t)"
run r CP box:/tmp/arch "$H/out/noarch"
check_eq "without -a: the writer owns the files" "0 0:0" "$r_rc $(stat -c %u:%g "$H/out/noarch/a/b/c/d")"
echo one >"$H/single"
run r CP "$H/single" box:/tmp/tree
check_eq "a file onto an existing dir lands inside" "0 one" "$r_rc $(cat "$R/tmp/tree/single")"
echo two >"$H/single"
run r CP "$H/single" box:/tmp/tree/single
check_eq "a file onto a file replaces it" "0 two" "$r_rc $(cat "$R/tmp/tree/single")"
run r CP "$H/tree" box:/tmp/tree/single
check_eq "a directory onto a file: 1, one line" "1 1" "$r_rc $(printf '%s\n' "$r_err" | wc -l)"
check_contains "... naming the path" "$r_err" "/tmp/tree/single"
run r CP box:/tmp/nosuch "$H/out/x"
check_eq "a missing source: 1" 1 "$r_rc"
check_contains "... one line naming it and the cause" "$r_err" "in the box: /tmp/nosuch: "
check_eq "... nothing made" no "$([ -e "$H/out/x" ] && echo yes || echo no)"
run r CP box:/tmp/tree "$H/nosuchdir/x"
check_eq "a missing host parent: 1" 1 "$r_rc"
check_contains "... named" "$r_err" "$H/nosuchdir"
run r CP "$H/f1" "$H/f2"
check_eq "neither side in the box: 255" 255 "$r_rc"
run r CP "$H/tree" box:tmp
check_eq "a relative box path: 255" 255 "$r_rc"

echo "# a session like exec's"
check_contains "audited like exec" "$(cat "$BOX_LOG")" 'argv="planet-cp" "in" "0" "/tmp"'
run r P pause
run r CP "$H/single" box:/tmp/paused
check_eq "a paused box refuses it: 255" "255 no" "$r_rc $([ -e "$R/tmp/paused" ] && echo yes || echo no)"
check_contains "... saying so" "$r_err" "paused"
run r P resume
# A malformed COPY (a relative path): bad-request, nothing started.
r=$(python3 - "$SOCK" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
p = struct.pack(">HBB", 3, 1, 0) + b"tmp/x"
s.sendall(struct.pack(">IB", len(p) + 1, 9) + p)
d = b""
while True:
    c = s.recv(4096)
    if not c: break
    d += c
print(d[4], struct.unpack(">I", d[5:9])[0], struct.unpack(">H", d[9:11])[0], d[11:].decode())
PY
)
check_eq "a COPY with a relative path: ERROR 255 bad-request" "133 255 3 COPY: the path must be absolute" "$r"

echo "# - : tar streams"
tar -C "$H" -cf "$T/in.tar" tree
run r eval 'CP - box:/tmp/fromtar <"$T/in.tar"'
check_eq "- into a missing dir: 1" 1 "$r_rc"
mkdir "$R/tmp/fromtar"
run r eval 'CP - box:/tmp/fromtar <"$T/in.tar"'
check_eq "- into a dir: the tar as it is" "0 $(listing "$H/tree")" "$r_rc $(listing "$R/tmp/fromtar/tree")"
run r eval 'CP box:/tmp/tree - >"$T/out.tar"'
check_eq "box -> -: a tar" "0" "$r_rc"
mkdir "$T/untar"
tar -C "$T/untar" -xf "$T/out.tar"
check_eq "... that tar(1) reads: the tree" "$(listing "$R/tmp/tree")" "$(listing "$T/untar/tree")"

echo "# through a socat-forwarded socket"
FWD=$T/fwd.sock
socat UNIX-LISTEN:"$FWD",fork UNIX-CONNECT:"$SOCK" 2>/dev/null &
socat_pid=$!
wait_for 5 test -S "$FWD"
run r timeout -s KILL 60 "$PLANET" cp --socket "$FWD" "$H/tree" box:/tmp/viasocat
check_eq "in through socat" "0 $(listing "$H/tree")" "$r_rc $(listing "$R/tmp/viasocat")"
run r timeout -s KILL 60 "$PLANET" cp --socket "$FWD" box:/tmp/viasocat "$H/out/viasocat"
check_eq "out through socat" "0 $(listing "$H/tree")" "$r_rc $(listing "$H/out/viasocat")"
kill "$socat_pid"
wait "$socat_pid" 2>/dev/null

echo "# hostile"
echo "host secret" >"$T/secret"
mkdir -p "$R/etc"
echo "box shadow" >"$R/etc/shadow-like"
ln -s /etc "$R/tmp/etclink"
ln -s /etc/shadow-like "$R/tmp/shadowlink"
ln -s "$T" "$R/tmp/hostlink"
run r CP box:/tmp/etclink/shadow-like "$H/out/s1"
check_eq "a path through an absolute symlink reads the box's file" "0 box shadow" "$r_rc $(cat "$H/out/s1")"
run r CP -L box:/tmp/shadowlink "$H/out/s2"
check_eq "-L: the box's target" "0 box shadow" "$r_rc $(cat "$H/out/s2")"
run r CP box:/tmp/shadowlink "$H/out/s3"
check_eq "without -L: the link itself" "0 /etc/shadow-like" "$r_rc $(readlink "$H/out/s3")"
run r CP box:/tmp/hostlink/secret "$H/out/s4"
check_eq "a link to a host path: not the host's file" "1 no" "$r_rc $([ -e "$H/out/s4" ] && echo yes || echo no)"
ln -s "$T/escape" "$R/tmp/outlink"
mkdir -p "$T/escape" "$R$T/escape"
run r CP "$H/single" box:/tmp/outlink/
check_eq "a DST that is a symlink out of the box: nothing outside" "" "$(ls -A "$T/escape")"
check_eq "... it went to the box's own $T/escape" "two" "$(cat "$R$T/escape/single" 2>/dev/null)"
# ".." and absolute names in a tar given with -
python3 - "$T/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ("ok", "../../../../evil-dotdot", "/tmp/evil-abs"):
        data = b"x\n"
        ti = tarfile.TarInfo(name); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
PY
mkdir -p "$R/tmp/drop"
run r eval 'CP - box:/tmp/drop <"$T/evil.tar"'
check_eq "a tar with '..': refused (1)" 1 "$r_rc"
check_contains "... naming the entry" "$r_err" "evil-dotdot"
check_eq "... nothing outside the directory" "no no no" \
	"$([ -e "$R/evil-dotdot" ] && echo yes || echo no) $([ -e /evil-dotdot ] && echo yes || echo no) $([ -e "$R/tmp/evil-abs" ] && echo yes || echo no)"
# a symlink in the tar, then a file through it
python3 - "$T/evil2.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    ti = tarfile.TarInfo("l"); ti.type = tarfile.SYMTYPE; ti.linkname = "/etc"
    t.addfile(ti)
    data = b"pwned\n"
    ti = tarfile.TarInfo("l/passwd-evil"); ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))
PY
run r eval 'CP - box:/tmp/drop <"$T/evil2.tar"'
check_eq "a file through a symlink the tar made: refused" "1 no" "$r_rc $([ -e "$R/etc/passwd-evil" ] && echo yes || echo no)"

# 1 GiB of real data; 64 MiB in the ASan build, where every byte costs
# several times as much and the point is memory safety, not volume.
BIG_MIB=1024
grep -q -a __asan_init "$PLANET" 2>/dev/null && BIG_MIB=64
echo "# $BIG_MIB MiB"
sum=$(head -c $((BIG_MIB * 1024 * 1024)) /dev/urandom | tee "$H/big" | md5sum)
run r CP "$H/big" box:/tmp/big
check_eq "$BIG_MIB MiB in: exit 0" 0 "$r_rc"
check_eq "... same checksum" "$sum" "$(md5sum <"$R/tmp/big")"
run r CP box:/tmp/big "$H/big2"
check_eq "$BIG_MIB MiB out: exit 0" 0 "$r_rc"
check_eq "... same checksum" "$sum" "$(md5sum <"$H/big2")"
rm -f "$H/big2"

echo "# a client killed mid-copy"
sessions_zero() { "$PLANET" status --socket "$SOCK" | grep -qx sessions=0; }
temps() { find "$1" -maxdepth 1 -name '.planet-cp.*' -size +1M | wc -l; }
some_temp() { [ "$(temps "$1")" -gt 0 ]; }
# In: the tar stalls after 32 MiB (a fifo nobody writes; opened for
# reading at once, while fd 8 holds it open), then the client is
# SIGKILLed, so the copy is cut inside the file whatever the speed.
mkfifo "$T/stall"
exec 8<>"$T/stall"
{ tar -C "$H" -cf - big | head -c $((32 * 1024 * 1024)); cat <&9; } 9<"$T/stall" 8>&- |
	"$PLANET" cp --socket "$SOCK" - box:/tmp/drop 2>/dev/null 8>&- &
cl=$!
check "in: a temporary file grows" wait_for 20 some_temp "$R/tmp/drop"
kill -KILL "$cl"
exec 8>&- # the stalled cat ends, and with it the pipeline `wait` waits for
wait "$cl" 2>/dev/null
no_temp() { [ -z "$(find "$1" -maxdepth 1 -name '.planet-cp.*')" ]; }
check "in, client SIGKILLed: the box's side removes its temporary file" wait_for 5 no_temp "$R/tmp/drop"
check_eq "... nothing under the target name" no "$([ -e "$R/tmp/drop/big" ] && echo yes || echo no)"
check "... no session left" wait_for 5 sessions_zero
# Out: 1 GiB of zeros (real blocks, not a sparse file, which a tar would
# carry as holes), whatever size the checksummed file above had: the copy
# runs for about a second even in the ASan build, so the client is
# SIGTERMed while its temporary file grows, not after it is complete.
dd if=/dev/zero of="$R/tmp/zero" bs=1M count=1024 status=none
"$PLANET" cp --socket "$SOCK" box:/tmp/zero "$H/out/killed" 2>/dev/null &
cl=$!
check "out: a temporary file grows" wait_for 20 some_temp "$H/out"
kill -TERM "$cl"
wait "$cl" 2>/dev/null
check "out, client SIGTERMed: no temporary file" no_temp "$H/out"
check_eq "... nothing under the target name" no "$([ -e "$H/out/killed" ] && echo yes || echo no)"
check "... no session left" wait_for 5 sessions_zero
rm -f "$H/big" "$R/tmp/big" "$R/tmp/zero"

box_stop
check_eq "box stopped cleanly" 0 "$BOX_STATUS"
assert_nothing_left
finish
