# tests/up.sh — run `shapesync up` for a test script (source it after
# lib.sh, and pg.sh if the script gives it a cluster).
#
#   up_start [OPTION...]   start `shapesync-up --dir $UP_DIR --port 0
#                          OPTION...` in the background (stderr appended to
#                          $TEST_DIR/up.log), wait for its "ready" line and
#                          set UP_PID and SERVE_URL. Without DATABASE_URL
#                          in the environment up starts its own PostgreSQL.
#                          Stopped when the script exits.
#   up_stop                SIGTERM and wait; the exit status goes to
#                          $TEST_DIR/up.exit and is returned.
#   up_child NAME          pid of up's child process NAME (shapesync-route,
#                          shapesync-serve, postgres, ...); nothing if none.
#   up_wait_child NAME OLD wait (up to 30 s) for a child NAME whose pid is
#                          not OLD; prints it.

UP_DIR=${UP_DIR:-$TEST_DIR/var}

up_start() {
	: >>"$TEST_DIR/up.log"
	_from=$(wc -l <"$TEST_DIR/up.log")
	shapesync-up --dir "$UP_DIR" --port 0 "$@" 2>>"$TEST_DIR/up.log" &
	UP_PID=$!
	wait_log "$TEST_DIR/up.log" "$_from" 'shapesync-up: ready:' $UP_PID 1200 ||
		return 1
	SERVE_URL=$(tail -n +$((_from + 1)) "$TEST_DIR/up.log" |
		sed -n 's|.*shapesync-up: ready: shapes at \(http://[^/]*\)/v1/shape.*|\1|p' | tail -n 1)
	export UP_PID SERVE_URL
}

up_stop() {
	[ -n "${UP_PID:-}" ] || return 0
	kill -TERM "$UP_PID" 2>/dev/null
	wait_end "$UP_PID" ||
		test_expect_success "shapesync up ends on SIGTERM (it hung)" false
	echo $st >"$TEST_DIR/up.exit"
	UP_PID=
	return $st
}
test_at_exit 'up_stop'

# comm is cut to 15 characters: shapesync-replicate is "shapesync-repli".
up_child() {
	_c=$(printf '%.15s' "$1")
	for _stat in /proc/[0-9]*/stat; do
		sed -n 's/^\([0-9]*\) (\(.*\)) [A-Za-z] \([0-9]*\) .*/\1 \3 \2/p' \
			"$_stat" 2>/dev/null
	done | awk -v p="${UP_PID:-none}" -v c="$_c" '$2 == p && $3 == c { print $1; exit }'
}

up_wait_child() {
	_i=0
	while :; do
		_p=$(up_child "$1")
		if [ -n "$_p" ] && [ "$_p" != "$2" ]; then
			echo "$_p"
			return 0
		fi
		_i=$((_i + 1))
		[ $_i -le 300 ] || { echo "no new $1 after 30 s" >&2; return 1; }
		sleep 0.1
	done
}

# up_kill_each PID PAUSE STAGE...: while process PID runs, kill -9 each
# STAGE in turn, PAUSE seconds apart, and wait for up to start it again.
# Prints the number of kills; fails (PID killed) when a stage is missing
# or does not come back.
up_kill_each() {
	_pid=$1 _pause=$2
	shift 2
	_kills=0
	for _st in "$@"; do
		sleep "$_pause"
		kill -0 "$_pid" 2>/dev/null || break
		_old=$(up_child "$_st") &&
		test -n "$_old" &&
		kill -9 "$_old" &&
		_kills=$((_kills + 1)) &&
		up_wait_child "$_st" "$_old" >/dev/null || { kill "$_pid"; return 1; }
	done
	echo "$_kills"
}
