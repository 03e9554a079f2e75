#!/bin/bash
# The man pages, the bash completion and --help cannot drift apart:
# - every option and exit status `planet CMD --help` prints is in that
#   command's section of man/planet.8.scd; every command's --help has the
#   same heading and an exit status line; `planet help CMD` is CMD --help;
# - every key of etc/planet.conf is in its section of man/planet.conf.5.scd
#   with its variable and flag, and is a flag of `planet start`;
# - completion/planet.bash offers exactly the options --help lists, and the
#   values (signals, dirs, files, choices) of a few options;
# - every docs/*.md is installed (Makefile.am's dist_docs_DATA).
# Needs no root and no box.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -uo pipefail

SRC=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PLANET=${PLANET:-${TOP_BUILDDIR:-$SRC}/planet}
[ -x "$PLANET" ] || { echo "t-docs: $PLANET is not executable" >&2; exit 1; }
MAN8=$SRC/man/planet.8.scd
MAN5=$SRC/man/planet.conf.5.scd
CONF=$SRC/etc/planet.conf

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL - $1"
	shift
	for l in "$@"; do echo "#   $l"; done
	failed=$((failed + 1))
}
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

T=$(mktemp -d /tmp/planet-docs.XXXXXX)
trap 'rm -rf "$T"' EXIT

# section FILE HEADING: the lines of FILE from the line HEADING to the next
# heading of the same or a higher level.
section() {
	awk -v h="$2" '
		$0 == h { on = 1; lvl = index(h, " "); next }
		on && /^#+ / { if (index($0, " ") <= lvl) exit }
		on { print }' "$1"
}

# help_options TEXT: every -x / --xxx of the usage line's [...] groups and
# of the indented option lines, one per line. Broad on purpose: it is the
# yardstick the completion's own parser is measured against.
help_options() {
	{
		grep -E '^usage:' <<<"$1" | grep -oE '\[--?[A-Za-z][A-Za-z0-9-]*' | tr -d '['
		grep -E '^[[:space:]]+-' <<<"$1" | grep -oE '(^|[[:space:],])--?[A-Za-z][A-Za-z0-9-]*' |
			tr -d ' ,\t'
	} | sort -u
}

# exit_statuses TEXT: the numbers (and 128+N) of the "Exit status" paragraph.
exit_statuses() {
	awk '/^Exit status/ { on = 1 } on && /^$/ { exit } on { print }' <<<"$1" |
		grep -oE '(^|[^0-9A-Za-z+])(128\+N|[0-9]+)' | grep -oE '128\+N|[0-9]+' | sort -u
}

# ---- planet --help, planet help CMD ----------------------------------------
top=$("$PLANET" --help)
check "planet --help advertises --version" grep -qE '^[[:space:]]+(-[a-z], )?--version' <<<"$top"
check "planet --help lists help" grep -qE '^  help ' <<<"$top"
check "planet --version prints the version" grep -qE '^planet [0-9]' <<<"$("$PLANET" --version)"
"$PLANET" help no-such-command >/dev/null 2>"$T/err"
rc=$?
check "planet help no-such-command exits 2 with one line" \
	test "$rc" = 2 -a "$(wc -l <"$T/err")" = 1
mapfile -t cmds < <(awk '/^commands:/ { on = 1; next } on && !/^  [a-z]/ { exit }
	on { print $1 }' <<<"$top" | grep -vx help)
check "planet --help lists commands" test "${#cmds[@]}" -ge 5

declare -A OPTS
for cmd in "${cmds[@]}"; do
	h=$("$PLANET" "$cmd" --help)
	rc=$?
	check "$cmd --help exits 0" test "$rc" = 0
	check "$cmd --help starts 'usage: planet $cmd'" grep -q "^usage: planet $cmd" <<<"$(head -1 <<<"$h")"
	check "$cmd --help has an exit status line" grep -q '^Exit status' <<<"$h"
	check "$cmd --help lists -h, --help on a line of its own" grep -qE '^  -h, --help  ' <<<"$h"
	check "$cmd --help lists each exit status on its own line" \
		grep -qxE 'Exit status:' <<<"$h"
	check "planet help $cmd is $cmd --help" test "$("$PLANET" help "$cmd")" = "$h"
	sec=$(section "$MAN8" "## planet $cmd")
	if [ -z "$sec" ]; then
		fail "planet.8.scd has a section '## planet $cmd'"
		continue
	fi
	OPTS[$cmd]=$(help_options "$h")
	missing=()
	for o in ${OPTS[$cmd]} -h --help; do
		grep -qF -- "*$o*" <<<"$sec" || missing+=("$o")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		ok "planet.8: every option of $cmd --help ($(wc -w <<<"${OPTS[$cmd]}"))"
	else
		fail "planet.8: options of $cmd --help" "missing in '## planet $cmd': ${missing[*]}"
	fi
	missing=()
	for s in $(exit_statuses "$h"); do
		grep -qE "(^|[^0-9])${s/+/\\+}([^0-9]|$)" <<<"$sec" || missing+=("$s")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		ok "planet.8: every exit status of $cmd --help ($(exit_statuses "$h" | wc -l))"
	else
		fail "planet.8: exit statuses of $cmd --help" "missing in '## planet $cmd': ${missing[*]}"
	fi
done

# ---- etc/planet.conf against planet.conf(5) and start's flags --------------
keys=0
missing=()
while read -r section key; do
	keys=$((keys + 1))
	sec=$(section "$MAN5" "# [$section] SECTION")
	up=${key^^}
	# [box] and [resources] keys have no prefix; [enter]'s have one
	if [ "$section" = box ] || [ "$section" = resources ]; then
		var=PLANET_$up flag=--${key//_/-}
	else
		var=PLANET_${section^^}_$up flag=--$section-${key//_/-}
	fi
	grep -qF -- "*$key* =" <<<"$sec" || missing+=("[$section] $key")
	grep -qF -- "*$var*" <<<"$sec" || missing+=("[$section] $key: $var")
	grep -qF -- "*$flag*" <<<"$sec" || missing+=("[$section] $key: $flag")
	grep -qxF -- "$flag" <<<"${OPTS[start]:-}" || missing+=("[$section] $key: $flag in start --help")
done < <(awk '/^\[[a-z]+\]$/ { s = substr($0, 2, length($0) - 2) }
	match($0, /^#[a-z_]+ = /) { print s, substr($0, 2, RLENGTH - 4) }' "$CONF" | sort -u)
check "etc/planet.conf has keys" test "$keys" -ge 20
if [ ${#missing[@]} -eq 0 ]; then
	ok "planet.conf.5: every key of etc/planet.conf ($keys), its variable and flag"
else
	fail "planet.conf.5: keys of etc/planet.conf" "${missing[@]}"
fi
# and the other way: every start flag but --config/--help is a key
extra=()
for o in ${OPTS[start]:-}; do
	case $o in --config | --help | -h) continue ;; esac
	k=${o#--}
	k=${k#enter-}
	grep -qE "^#${k//-/_} = " "$CONF" || extra+=("$o")
done
if [ ${#extra[@]} -eq 0 ]; then
	ok "every flag of start --help is a key of etc/planet.conf"
else
	fail "flags of start --help without a key in etc/planet.conf" "${extra[*]}"
fi

# ---- docs installed -----------------------------------------------------------
missing=()
for f in "$SRC"/docs/*.md; do
	grep -qF "docs/$(basename "$f")" "$SRC/Makefile.am" || missing+=("docs/$(basename "$f")")
done
if [ ${#missing[@]} -eq 0 ]; then
	ok "every docs/*.md is in Makefile.am's dist_docs_DATA"
else
	fail "docs/*.md not installed" "${missing[*]}"
fi

# ---- bash completion ---------------------------------------------------------------
# shellcheck source=/dev/null
. "$SRC/completion/planet.bash"
complete_words() { # the candidates for the command line "$@" (last = current word)
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_planet "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort -u
}
expect() { # expect DESCRIPTION "EXPECTED" WORDS...: candidates are exactly EXPECTED
	local what=$1 want got
	want=$(tr ' ' '\n' <<<"$2" | grep -v '^$' | sort -u)
	shift 2
	got=$(complete_words "$@")
	if [ "$got" = "$want" ]; then
		ok "completion: $what"
	else
		fail "completion: $what" "expected: ${want//$'\n'/ }" "got:      ${got//$'\n'/ }"
	fi
}
expect "commands" "${cmds[*]} help" "$PLANET" ""
expect "planet help CMD" "${cmds[*]}" "$PLANET" help ""
expect "global options" "-H --host -h --help --version" "$PLANET" -
for cmd in "${cmds[@]}"; do
	want=${OPTS[$cmd]}$'\n-h\n--help' # every command's --help lists -h, --help
	expect "options of $cmd = those of its --help" "$(grep -E '^-' <<<"$want" | sort -u)" "$PLANET" "$cmd" -
done
expect "device: its subcommands" "add remove" "$PLANET" device ""
expect "device --socket S: its subcommands" "add remove" "$PLANET" device --socket /s ""
expect "start --st" "--state-dir --stop-signal --stop-timeout" "$PLANET" start --st
got=$(complete_words "$PLANET" start --stop-signal "")
has_signals() { grep -qx auto <<<"$got" && grep -qxF SIGRTMIN+3 <<<"$got" && grep -qx SIGTERM <<<"$got"; }
check "completion: --stop-signal offers auto, SIGRTMIN+3 and SIGTERM" has_signals
check "completion: --stop-signal offers only auto and SIG names (not bash's EXIT)" \
	test -z "$(grep -vxE 'auto|SIG[A-Z0-9+-]+' <<<"$got")"
expect "--stop-signal SIGRTMIN+1" "SIGRTMIN+1 SIGRTMIN+10 SIGRTMIN+11 SIGRTMIN+12 SIGRTMIN+13 SIGRTMIN+14 SIGRTMIN+15" \
	"$PLANET" start --stop-signal SIGRTMIN+1
mkdir -p "$T/c/rootfs-a" "$T/c/rootfs-b"
: >"$T/c/rootfs.conf"
expect "--rootfs: directories only" "$T/c/rootfs-a $T/c/rootfs-b" "$PLANET" start --rootfs "$T/c/root"
expect "--state-dir: directories only" "$T/c/rootfs-a $T/c/rootfs-b" "$PLANET" start --state-dir "$T/c/root"
expect "--config: files" "$T/c/rootfs-a $T/c/rootfs-b $T/c/rootfs.conf" "$PLANET" start --config "$T/c/root"
expect "exec --config: files" "$T/c/rootfs.conf" "$PLANET" exec --config "$T/c/rootfs."
expect "stop --socket: files" "$T/c/rootfs.conf" "$PLANET" stop --socket "$T/c/rootfs."
expect "--on-reboot: its choices" "restart exit" "$PLANET" start --on-reboot ""
expect "--notify-ready=: its choices (bash splits at =)" "start init" "$PLANET" start --notify-ready = ""
expect "--block-devices=: true false" "true false" "$PLANET" start --block-devices = ""
expect "--env-file: nothing (a path inside the box)" "" "$PLANET" start --env-file ""
expect "exec -u USER: nothing" "" "$PLANET" exec -u ""
expect "exec -- CMD: nothing (a command inside the box)" "" "$PLANET" exec -- ""
expect "exec after an option's value" "--tty" "$PLANET" exec -u root --tt
expect "kill SIGNAL: signal names" "SIGTERM" "$PLANET" kill SIGTE
expect "kill --all SIGNAL: signal names" "SIGUSR1 SIGUSR2" "$PLANET" kill --all SIGUSR
expect "kill --socket PATH: files, not signals" "$T/c/rootfs.conf" "$PLANET" kill --socket "$T/c/rootfs."
expect "ps ARG: nothing (ps takes no argument)" "" "$PLANET" ps ""

# A planet with what other commands may bring: a global option with a
# value (-H URL) before the command, and a kill command with -s SIG.
cat >"$T/planet" <<'EOF2'
#!/bin/sh
case "$*" in
--help) printf 'usage: planet [-H URL] COMMAND\n\ncommands:\n  exec     run\n  kill     signal\n\noptions:\n  -H, --host URL  where\n  -h, --help      this\n' ;;
"kill --help") printf 'usage: planet kill [OPTIONS]\n  -s, --signal SIG  the signal (TERM)\n  -a, --all         every process\n' ;;
esac
EOF2
chmod +x "$T/planet"
expect "a new command's options" "--signal --all" "$T/planet" kill --
expect "a new command's signal argument" "SIGUSR1 SIGUSR2" "$T/planet" kill -s SIGUSR
expect "a global option's value is no command" "--signal --all" "$T/planet" -H ssh://h kill --
expect "global options with a value" "-H --host -h --help" "$T/planet" -

echo "t-docs: $passed passed, $failed failed"
[ "$failed" = 0 ]
