# bash completion for planet(8)                           -*- shell-script -*-
#
# Commands and options come from the planet being completed (`planet --help`,
# `planet CMD --help`) when Tab is pressed, so they are those of the
# installed binary, whatever its version. Values: signal names for the
# signal options (a name ending in "signal", or an argument SIG or SIGNAL,
# as a kill command's would be) and for a command whose usage line takes a
# SIGNAL (planet kill [SIGNAL]), directories for DIR arguments, files for
# FILE and host PATH arguments, the words of a choice such as
# `restart|exit`, true/false for [=BOOL]. Paths inside the box (--env-file,
# --enter-proxy-env-file) and the command run inside are not completed: the
# host's names would mislead. tests/unit/t-docs.sh checks it against every
# command's --help.

# _planet_help_options HELPTEXT: one line per option, "NAME ARG" (ARG empty
# for a flag), from the indented option lines ("  -u, --user USER  text":
# the argument is the word one blank after the name) and the usage line's
# "[--opt ARG]" groups.
_planet_help_options()
{
	local line rest opt arg names n
	while IFS= read -r line; do
		if [[ $line == usage:* ]]; then
			rest=$line
			while [[ $rest =~ \[(-{1,2}[A-Za-z][A-Za-z0-9-]*)(\ ([^]]*))?\] ]]; do
				printf '%s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}"
				rest=${rest#*"${BASH_REMATCH[0]}"}
			done
			continue
		fi
		[[ $line =~ ^[[:space:]]+- ]] || continue
		rest=${line#"${line%%[![:space:]]*}"}
		names=() arg=''
		while [[ $rest =~ ^(-{1,2}[A-Za-z][A-Za-z0-9-]*)(\[=[A-Za-z]+\])?(.*)$ ]]; do
			opt=${BASH_REMATCH[1]} arg=${BASH_REMATCH[2]} rest=${BASH_REMATCH[3]}
			names+=("$opt")
			if [[ $rest == ,* ]]; then
				rest=${rest#,}
				rest=${rest#"${rest%%[![:space:]]*}"}
				continue
			fi
			[[ -z $arg && $rest =~ ^\ ([^[:space:]]+) ]] && arg=${BASH_REMATCH[1]}
			break
		done
		for n in "${names[@]}"; do
			printf '%s %s\n' "$n" "$arg"
		done
	done <<<"$1"
}

# _planet_commands HELPTEXT: the names listed under "commands:".
_planet_commands()
{
	local line in=''
	while IFS= read -r line; do
		if [[ $line == commands:* ]]; then
			in=1
		elif [[ -n $in && $line =~ ^\ +([a-z][a-z0-9-]*)\ \  ]]; then
			printf '%s\n' "${BASH_REMATCH[1]}"
		elif [[ -n $in ]]; then
			return 0
		fi
	done <<<"$1"
}

# _planet_positionals HELPTEXT: the usage line's words after the command
# that are no option, brackets and dots taken off: "usage: planet kill
# [OPTIONS] [SIGNAL]" gives SIGNAL.
_planet_positionals()
{
	local line w words
	while IFS= read -r line; do
		[[ $line == usage:* ]] || continue
		read -ra words <<<"${line#usage:}" # no glob: [SIGNAL] is a pattern
		for w in "${words[@]}"; do
			w=${w//[\[\].]/}
			[[ $w == [A-Z]* && $w != OPTIONS ]] && printf '%s\n' "$w"
		done
		return 0
	done <<<"$1"
}

# _planet_values OPT ARG CUR: COMPREPLY for the value of option OPT, whose
# --help argument is ARG.
_planet_values()
{
	local opt=$1 arg=$2 cur=$3 choice words=()
	case $opt in
	*env-file) return 0 ;;
	*signal) mapfile -t words < <(echo auto; compgen -A signal SIG) ;;
	*) [[ $arg == SIG || $arg == SIGNAL ]] && mapfile -t words < <(compgen -A signal SIG) ;;
	esac
	# bash also lists the numbers glibc keeps for itself, as SIGJUNK(32)
	words=("${words[@]//*(*/}")
	case $arg in
	*'|'*)
		local IFS='|'
		for choice in $arg; do
			case $choice in
			FILE) compopt -o filenames 2>/dev/null
				mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur") ;;
			*[a-z]*) words+=("$choice") ;;
			esac
		done
		;;
	'[=BOOL]') words+=(true false) ;;
	DIR)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		;;
	FILE | PATH)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	esac
	[[ ${#words[@]} -gt 0 ]] &&
		mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W "${words[*]}" -- "$cur")
	return 0
}

# _planet_arg OPTS OPT: sets _planet_argval to the --help argument of OPT
# in OPTS (as made by _planet_help_options); false when OPT is no option.
_planet_arg()
{
	local name arg
	while read -r name arg; do
		[[ $name == "$2" ]] && { _planet_argval=$arg; return 0; }
	done <<<"$1"
	return 1
}

# _planet_help PLANET CMD: sets _planet_opts to the options of `PLANET CMD
# --help` (CMD empty: `PLANET --help`, and _planet_cmds to its commands).
# Each is read once per shell and binary: a Tab costs no run of planet
# after the first (a new shell sees a new binary's options).
declare -gA _planet_cache
_planet_help()
{
	local key="$1"$'\x1f'"$2" text
	if [[ -z ${_planet_cache[$key]+set} ]]; then
		if [[ -n $2 ]]; then
			text=$("$1" "$2" --help 2>/dev/null)
		else
			text=$("$1" --help 2>/dev/null)
			_planet_cache[$key.cmds]=$(_planet_commands "$text")
		fi
		_planet_cache[$key]=$(_planet_help_options "$text")
		_planet_cache[$key.args]=$(_planet_positionals "$text")
	fi
	_planet_opts=${_planet_cache[$key]}
	_planet_cmds=${_planet_cache[$key.cmds]-}
	_planet_args=${_planet_cache[$key.args]-}
}

_planet()
{
	local planet=$1 cur=${COMP_WORDS[COMP_CWORD]} i w cmd='' cmdidx=0
	local opts gopts _planet_opts _planet_cmds _planet_args _planet_argval
	COMPREPLY=()
	type -P -- "$planet" >/dev/null || planet=planet
	_planet_help "$planet" ""
	gopts=$_planet_opts
	[[ -n $_planet_cmds ]] || return 0

	# The command is the first word that is neither an option nor a
	# global option's argument.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -* ]]; then
			_planet_arg "$gopts" "$w" && [[ -n $_planet_argval && $_planet_argval != '[='* ]] && ((i++))
			continue
		fi
		cmd=$w cmdidx=$i
		break
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$(cut -d' ' -f1 <<<"$gopts")" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$_planet_cmds" -- "$cur")
		fi
		return 0
	fi
	if [[ $cmd == help ]]; then
		((COMP_CWORD == cmdidx + 1)) &&
			mapfile -t COMPREPLY < <(compgen -W "${_planet_cmds//help/}" -- "$cur")
		return 0
	fi

	# Past "--", the words are the command run inside the box.
	for ((i = cmdidx + 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -- ]] && return 0
	done
	_planet_help "$planet" "$cmd"
	opts=$_planet_opts
	[[ -n $opts ]] || return 0

	# A value: "--opt VALUE", or "--opt=VALUE", which bash splits at "="
	# into "--opt" "=" "VALUE" (COMP_WORDBREAKS).
	local prev=${COMP_WORDS[COMP_CWORD - 1]} opt=''
	if [[ $cur == = ]]; then
		opt=$prev cur=
	elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		opt=${cur%%=*} cur=${cur#*=}
	elif ((COMP_CWORD - 1 > cmdidx)) && [[ $prev == -* ]]; then
		_planet_arg "$opts" "$prev" && [[ -n $_planet_argval && $_planet_argval != '[='* ]] &&
			{ _planet_values "$prev" "$_planet_argval" "$cur"; return 0; }
	fi
	if [[ -n $opt ]]; then
		_planet_arg "$opts" "$opt" && _planet_values "$opt" "$_planet_argval" "$cur"
		# one word "--opt=VALUE": the candidates must carry the prefix
		[[ ${COMP_WORDS[COMP_CWORD]} == --*=* ]] && COMPREPLY=("${COMPREPLY[@]/#/$opt=}")
		return 0
	fi
	local args=" ${_planet_args//$'\n'/ } "
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(cut -d' ' -f1 <<<"$opts")" -- "$cur")
	elif [[ $args == *" SIG "* || $args == *" SIGNAL "* ]]; then
		# a command whose argument is a signal (planet kill [SIGNAL])
		_planet_values '' SIGNAL "$cur"
	elif [[ $cmd == device ]]; then
		# planet device add SPEC (a host node) | remove BOXPATH
		local sub=''
		for ((i = cmdidx + 1; i < COMP_CWORD; i++)); do
			w=${COMP_WORDS[i]}
			if [[ $w == -* ]]; then
				_planet_arg "$opts" "$w" && [[ -n $_planet_argval && $_planet_argval != '[='* ]] && ((i++))
				continue
			fi
			sub=$w
			break
		done
		if [[ -z $sub ]]; then
			mapfile -t COMPREPLY < <(compgen -W "add remove" -- "$cur")
		elif [[ $sub == add && $prev == add ]]; then
			mapfile -t COMPREPLY < <(compgen -f -- "${cur:-/dev/}")
		fi
	fi
	return 0
}

complete -F _planet planet
