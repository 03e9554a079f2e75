#!/bin/bash
# lint.sh — static analysis of planet's sources with cppcheck and clang-tidy
# (Debian 12's: apt-get install cppcheck clang-tidy).
#
# Sources: every .c file Makefile.am builds into planet (the *_SOURCES lists,
# tests excluded), so a file added to the build is linted without touching
# this script. Configuration:
#   .clang-tidy                                the checks (disabled ones with a reason)
#   tests/hardening/cppcheck-suppressions.txt  cppcheck checks switched off globally (with a reason)
#   tests/hardening/lint-allow.txt             single findings judged not to be bugs:
#       TOOL | FILE | CHECK | CODE | REASON
#     a finding matches when tool and check are equal, FILE (a glob) matches
#     and CODE is a substring of the source line the finding points at, or of
#     the finding's message (so entries survive edits that move lines).
# Every other finding fails the lint (exit 1). An allow entry that matches
# nothing is reported as stale (exit 1 too, so the list stays honest).
#
# Usage: scripts/lint.sh [--cppcheck-only|--tidy-only] [FILE.c...]
# Environment: LINT_JOBS (parallel clang-tidy runs, default nproc),
#              LINT_OUT (where the raw reports go, default a fresh /var/tmp/planet-lint.*)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
# A directory of this run's own by default: two checkouts linted at once
# (a developer's and CI's) must not read each other's reports.
if [ -n "${LINT_OUT:-}" ]; then
	out=$LINT_OUT
else
	out=$(mktemp -d /var/tmp/planet-lint.XXXXXX) || exit 2
	trap 'rm -rf "$out"' EXIT
fi
jobs=${LINT_JOBS:-$(nproc)}
allow=tests/hardening/lint-allow.txt
supp=tests/hardening/cppcheck-suppressions.txt
run_cpp=1 run_tidy=1
case ${1:-} in
--cppcheck-only) run_tidy=0; shift ;;
--tidy-only) run_cpp=0; shift ;;
esac
mkdir -p "$out"

if [ $# -gt 0 ]; then
	srcs=("$@")
else
	mapfile -t srcs < <(awk '/_SOURCES[ \t]*=/ { f = 1 }
		f { for (i = 1; i <= NF; i++) if ($i ~ /\.c$/) print $i; if ($0 !~ /\\$/) f = 0 }' Makefile.am |
		grep -v '^tests/' | sort -u)
fi
[ ${#srcs[@]} -gt 0 ] || { echo "lint.sh: no sources found in Makefile.am" >&2; exit 2; }

# shellcheck disable=SC2207
pc=($(pkg-config --cflags inih libuv libcap libseccomp 2>/dev/null))
cflags=(-std=gnu11 -D_GNU_SOURCE -DPACKAGE_VERSION='"lint"' -DPACKAGE_STRING='"planet lint"' -I"$top" "${pc[@]}")

findings=$out/findings.txt
: >"$findings"

if [ $run_cpp = 1 ]; then
	command -v cppcheck >/dev/null || { echo "lint.sh: cppcheck not installed (apt-get install cppcheck)" >&2; exit 77; }
	echo "# cppcheck $(cppcheck --version | sed 's/Cppcheck //') over ${#srcs[@]} files"
	cppcheck --enable=warning,style,performance,portability --inconclusive --std=c11 \
		-D_GNU_SOURCE -D__linux__ -I"$top" --suppress=missingIncludeSystem \
		--suppressions-list="$supp" --inline-suppr --quiet -j "$jobs" \
		--template='{file}:{line}: cppcheck/{id}: {message}' "${srcs[@]}" 2>"$out/cppcheck.txt"
	# Only the findings themselves (cppcheck may add notes for a finding).
	grep -E '^[^ :]+:[0-9]+: cppcheck/' "$out/cppcheck.txt" >>"$findings"
fi

if [ $run_tidy = 1 ]; then
	command -v clang-tidy >/dev/null || { echo "lint.sh: clang-tidy not installed (apt-get install clang-tidy)" >&2; exit 77; }
	echo "# clang-tidy $(clang-tidy --version | sed -n 's/.*LLVM version //p') over ${#srcs[@]} files ($jobs at a time)"
	rm -f "$out"/tidy-*.txt
	printf '%s\n' "${srcs[@]}" | xargs -P "$jobs" -I{} sh -c \
		'f=$1; shift; clang-tidy --quiet "$f" -- "$@" >"$0/tidy-$(echo "$f" | tr / _).txt" 2>/dev/null; exit 0' \
		"$out" {} "${cflags[@]}"
	# "path:line:col: warning|error: message [check,...]" -> "file:line: tidy/check: message"
	cat "$out"/tidy-*.txt 2>/dev/null |
		sed -nE "s#^(\./)?($top/)?([^:]+):([0-9]+):[0-9]+: (warning|error): (.*) \[([A-Za-z0-9.,-]+)\]\$#\3:\4: tidy/\7: \6#p" |
		sed -E 's#^\./##; s#(tidy/[A-Za-z0-9.-]+),-warnings-as-errors#\1#; s#,-warnings-as-errors##' |
		sort -u >>"$findings"
	# A file clang cannot even compile is a finding too.
	grep -h -E 'error: .*\[clang-diagnostic-error\]' "$out"/tidy-*.txt >/dev/null 2>&1 &&
		echo "# (clang-diagnostic-error findings mean a file did not compile for clang-tidy)"
fi

# Apply the allow list.
tools_run=
[ $run_cpp = 1 ] && tools_run="$tools_run cppcheck"
[ $run_tidy = 1 ] && tools_run="$tools_run tidy"
# Stale entries are only judged over a full run (all sources).
full=1
[ $# -gt 0 ] && full=0
python3 - "$findings" "$allow" "$top" "$tools_run" "$full" <<'PY'
import sys, re, os, fnmatch
findings_path, allow_path, top, tools_run, full = sys.argv[1:6]
tools_run = tools_run.split()
allow = []
for n, line in enumerate(open(allow_path), 1):
    s = line.strip()
    if not s or s.startswith('#'):
        continue
    parts = [p.strip() for p in s.split(' | ')]
    if len(parts) != 5 or not parts[4]:
        print(f"{allow_path}:{n}: malformed entry (TOOL | FILE | CHECK | CODE | REASON)")
        sys.exit(2)
    allow.append(dict(tool=parts[0], file=parts[1], check=parts[2], code=parts[3],
                      reason=parts[4], line=n, used=0))
src_cache = {}
def src_line(f, ln):
    if f not in src_cache:
        try:
            src_cache[f] = open(os.path.join(top, f), errors='replace').read().split('\n')
        except OSError:
            src_cache[f] = []
    lines = src_cache[f]
    return lines[ln - 1] if 0 < ln <= len(lines) else ''
bad, ok = [], 0
seen = set()
for raw in open(findings_path):
    raw = raw.rstrip('\n')
    m = re.match(r'^([^:]+):(\d+): (cppcheck|tidy)/([^:]+): (.*)$', raw)
    if not m:
        continue
    f, ln, tool, checks, msg = m.group(1), int(m.group(2)), m.group(3), m.group(4), m.group(5)
    if raw in seen:
        continue
    seen.add(raw)
    code = src_line(f, ln)
    hit = None
    for a in allow:
        if a['tool'] == tool and fnmatch.fnmatch(f, a['file']) and a['check'] in checks.split(',') and (a['code'] in code or a['code'] in msg):
            hit = a
            break
    if hit:
        hit['used'] += 1
        ok += 1
    else:
        bad.append(f"{raw}\n    | {code.strip()}")
stale = [a for a in allow if not a['used'] and a['tool'] in tools_run and full == '1']
for b in bad:
    print("FINDING " + b)
for a in stale:
    print(f"STALE   {allow_path}:{a['line']}: {a['tool']} | {a['file']} | {a['check']} | {a['code']} (matches no finding any more)")
print(f"lint: {len(seen)} findings, {ok} explained in {allow_path}, {len(bad)} unexplained, {len(stale)} stale allow entries")
sys.exit(1 if bad or stale else 0)
PY
