# bash completion for shapesync and its stage programs (shapesync-<stage>).
#
# Nothing here lists an option or a command: every candidate comes from the
# programs themselves (hidden --list-options and --list-commands), so the
# completion cannot drift from the code. A program that is missing or fails
# simply offers nothing, and bash falls back to file names.
# Needs only bash; works with or without the bash-completion package.

# _shapesync_query CMD... ARG: run CMD ARG quietly; its lines on stdout.
_shapesync_query()
{
	"$@" </dev/null 2>/dev/null
}

# _shapesync_has WORD LIST: WORD is one of the lines of LIST.
_shapesync_has()
{
	local w
	while IFS= read -r w; do
		[[ $w == "$1" ]] && return 0
	done <<<"$2"
	return 1
}

_shapesync()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	local -a cmd=("${COMP_WORDS[0]}")
	# level 0: the front command (its commands are stages, that is
	# programs); 1: a program (its commands are subcommands); 2: a
	# subcommand (no further commands).
	local level=1 i w cmds
	[[ ${COMP_WORDS[0]##*/} == shapesync ]] && level=0

	COMPREPLY=()
	# `--opt=value`: bash splits at '=', so the value is a word of its own.
	[[ $cur == = || $prev == = ]] && return 0

	# Walk the words before the cursor; the first word that is a command
	# of the current level descends into it. Options and their
	# arguments are skipped.
	for ((i = 1; i < COMP_CWORD && level < 2; i++)); do
		w=${COMP_WORDS[i]}
		[[ $w == -* || $w == = ]] && continue
		cmds=$(_shapesync_query "${cmd[@]}" --list-commands)
		if _shapesync_has "$w" "$cmds"; then
			cmd+=("$w")
			((level++))
		elif ((level == 0)); then
			# The first non-option word is the stage, known or not.
			return 0
		fi
	done

	local IFS=$'\n'
	if [[ $cur == -* ]]; then
		# --list-* are for this script, not for people.
		COMPREPLY=($(compgen -W "$(_shapesync_query "${cmd[@]}" --list-options |
			grep -v '^--list-')" -- "$cur"))
	elif ((level < 2)); then
		COMPREPLY=($(compgen -W "$(_shapesync_query "${cmd[@]}" --list-commands)" \
			-- "$cur"))
	fi
	return 0
}

# Register for the front command and every stage program: the known stages
# and whatever an installed shapesync reports.
_shapesync_register()
{
	local s
	for s in up replicate route store serve db \
		$(_shapesync_query shapesync --list-commands); do
		complete -o bashdefault -o default -F _shapesync "shapesync-$s"
	done
	complete -o bashdefault -o default -F _shapesync shapesync
}
_shapesync_register
unset -f _shapesync_register
