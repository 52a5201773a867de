#!/bin/sh
# Command-line conformance of every program in $SS_BUILD/bin (so a new
# program is covered the day it is built): --help, --version, a bad option,
# and its options and commands matched against the man page, --help and the
# bash and zsh completions. The hidden --list-options and --list-commands
# are the source of truth for what a program accepts.
. "$(dirname "$0")/lib.sh"

bash=$(command -v bash)
version=$(sed -n 's/^VERSION *:= *//p' "$SS_ROOT/Makefile")
programs=$(ls "$SS_BUILD/bin")

# The options a program (or a program's subcommand) accepts, without the
# hidden --list-* ones that only the completions use.
list_options() {
	_p=$1
	shift
	"$SS_BUILD/bin/$_p" "$@" --list-options >opts.all || return 1
	test -s opts.all || { echo "$_p $* --list-options printed nothing" >&2; return 1; }
	grep -v '^--list-' opts.all >opts || true
}

# Man page text with roff escapes undone, so '\-\-name' reads '--name'.
man_text() {
	sed -e 's/\\-/-/g' -e 's/\\f[A-Z1-4]//g' -e 's/\\f([A-Z][A-Z]//g' \
		-e 's/\\&//g' "$SS_ROOT/man/$1"
}

# has_option FILE OPT: FILE names OPT as a whole word ('--name', '--name=').
has_option() {
	grep -E -q -e "(^|[^a-z0-9-])$2([^a-z0-9-]|\$)" "$1"
}

# every_option_in FILE WHAT: every option in ./opts is in FILE.
every_option_in() {
	_bad=0
	while read -r _o; do
		has_option "$1" "$_o" || { echo "$_o missing from $2" >&2; _bad=1; }
	done <opts
	return $_bad
}

# must_be_empty FILE WHAT: FILE is empty, or show what it holds.
must_be_empty() {
	test ! -s "$1" || { echo "unexpected $2:" >&2; cat "$1" >&2; return 1; }
}

# complete_bash WORD...: what the bash completion offers for WORD... (the
# last word is the one under the cursor), one per line.
complete_bash() {
	"$bash" -c '
		. "$1" && shift &&
		spec=$(complete -p "$1") || { echo "no completion for $1" >&2; exit 1; }
		fn=${spec##*-F } fn=${fn%% *}
		COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
		"$fn" && printf "%s\n" "${COMPREPLY[@]}"
	' complete_bash "$SS_ROOT/completions/shapesync.bash" "$@"
}

# complete_zsh WORD...: the same through the zsh completion function, with
# compadd and _files stubbed out (compsys needs a terminal).
complete_zsh() {
	zsh -f -c '
		words=("${@:2}") CURRENT=$(($# - 1)) PREFIX=${@[-1]}
		compadd() {
			while [[ $1 != -- ]]; do shift; done; shift
			local c; for c; do [[ $c == ${PREFIX}* ]] && print -r -- $c; done
		}
		_files() { print -r -- "<files>"; }
		source "$1"
	' complete_zsh "$SS_ROOT/completions/_shapesync" "$@"
}

test_expect_success 'programs were built and the version is known' '
	test -n "$programs" &&
	test -n "$version"
'

for prog in $programs; do

test_expect_success "$prog --help: usage on stdout, exit 0, <= 80 columns" '
	"$SS_BUILD/bin/$prog" --help >out 2>err &&
	must_be_empty err stderr &&
	grep -q "^Usage:" out &&
	width=$(expand out | LC_ALL=C.UTF-8 wc -L) &&
	if [ "$width" -gt 80 ]; then
		echo "--help is $width columns wide:" >&2
		expand out | awk "length > 80" >&2
		false
	fi
'

test_expect_success "$prog --version" '
	"$SS_BUILD/bin/$prog" --version >out 2>err &&
	must_be_empty err stderr &&
	test_eq "$prog (shapesync) $version" "$(cat out)"
'

test_expect_success "$prog rejects an unknown option with exit 2" '
	test_must_fail 2 "$SS_BUILD/bin/$prog" --no-such-option >out &&
	must_be_empty out stdout &&
	test_stderr_has "."
'

test_expect_success "$prog has a man page with the house sections" '
	test -f "$SS_ROOT/man/$prog.1" &&
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT \
		FILES EXAMPLES "SEE ALSO"; do
		grep -E -q "^\.(SH|Sh) \"?$s\"?\$" "$SS_ROOT/man/$prog.1" ||
		{ echo "section $s missing" >&2; return 1; }
	done
'

test_expect_success "$prog --list-options names well-formed options" '
	list_options "$prog" &&
	! grep -v -E "^--[a-z0-9][a-z0-9-]*\$" opts.all &&
	has_option opts --help && has_option opts --version
'

test_expect_success "$prog: every option is in its man page and --help" '
	list_options "$prog" &&
	man_text "$prog.1" >man.txt &&
	"$SS_BUILD/bin/$prog" --help >help.txt &&
	every_option_in man.txt "man/$prog.1" &&
	every_option_in help.txt "$prog --help"
'

test_expect_success "$prog: bash completion offers every option" '
	list_options "$prog" &&
	complete_bash "$prog" -- >offered &&
	every_option_in offered "bash completion of $prog --"
'

if command -v zsh >/dev/null; then
	test_expect_success "$prog: zsh completion offers every option" '
		grep -q "^#compdef.* $prog\\( \\|\$\\)" "$SS_ROOT/completions/_shapesync" &&
		list_options "$prog" &&
		complete_zsh "$prog" -- >offered &&
		every_option_in offered "zsh completion of $prog --"
	'
else
	test_skip "$prog: zsh completion offers every option" "zsh not installed"
fi

# The front command's commands are stages, separate programs checked on
# their own above; other programs' commands are subcommands with options.
if [ "$prog" = shapesync ] ||
	! "$SS_BUILD/bin/$prog" --list-commands >commands 2>/dev/null; then
	continue
fi

for sub in $(cat commands); do
	test_expect_success "$prog $sub: every option is in the man page and completions" '
		list_options "$prog" "$sub" &&
		man_text "$prog.1" >man.txt &&
		every_option_in man.txt "man/$prog.1" &&
		complete_bash "$prog" "$sub" -- >offered &&
		every_option_in offered "bash completion of $prog $sub --" &&
		if command -v zsh >/dev/null; then
			complete_zsh "$prog" "$sub" -- >offered &&
			every_option_in offered "zsh completion of $prog $sub --"
		fi
	'
done

test_expect_success "$prog: completions offer its commands" '
	complete_bash "$prog" "" >offered &&
	sed "s/^/--/" commands >opts &&
	sed "s/^/--/" offered >offered.dashed &&
	every_option_in offered.dashed "bash completion of $prog"
'

done

test_expect_success 'shapesync --list-commands names every built stage' '
	shapesync --list-commands >stages &&
	for p in $programs; do
		case $p in
		shapesync-*) grep -qx "${p#shapesync-}" stages ||
			{ echo "${p#shapesync-} missing" >&2; return 1; } ;;
		esac
	done
'

test_expect_success 'shapesync completion offers the stages' '
	complete_bash shapesync "" >offered &&
	test_cmp stages offered
'

test_expect_success 'shapesync <stage> completes like shapesync-<stage>' '
	for p in $programs; do
		case $p in
		shapesync-*)
			complete_bash shapesync "${p#shapesync-}" -- >via-front &&
			complete_bash "$p" -- >direct &&
			test_cmp direct via-front || return 1 ;;
		esac
	done
'

test_expect_success 'completions offer nothing when the programs are missing' '
	complete_bash shapesync nosuchstage -- >offered &&
	test_eq "" "$(cat offered)" &&
	mkdir empty &&
	(PATH=$TEST_DIR/empty && complete_bash shapesync db -- >offered) &&
	test_eq "" "$(cat offered)" &&
	(PATH=$TEST_DIR/empty && complete_bash shapesync-db "" >offered) &&
	test_eq "" "$(cat offered)"
'

test_done
