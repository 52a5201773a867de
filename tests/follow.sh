# tests/follow.sh — the official client following shapes for a shell test
# (source it after lib.sh and serve.sh; tests/e2e/follow.mjs does the work):
#
#   follow NAME TABLE [WHERE]  follow the shape into ./NAME (one
#                              "id|col=value,..." line per row, sorted by
#                              id, rewritten whenever the client is up to
#                              date) and the count of must-refetch messages
#                              into ./NAME.refetch; runs until unfollow or
#                              the script's end
#   unfollow NAME
#   rows_are NAME SQL          NAME holds exactly the lines SQL selects
#                              (SQL writes them in the same format, sorted)
#   wait_rows NAME SQL         ... within a minute, or says what differs
#   refetches NAME             the must-refetch messages NAME has seen

follow() {
	node "$E2E/follow.mjs" "$TEST_DIR/$1" "$2" ${3:+"$3"} >"$TEST_DIR/$1.log" 2>&1 &
	echo $! >"$TEST_DIR/$1.pid"
}

unfollow() {
	kill "$(cat "$TEST_DIR/$1.pid")" 2>/dev/null
	wait_end "$(cat "$TEST_DIR/$1.pid")"
	rm -f "$TEST_DIR/$1.pid"
}
test_at_exit 'for f in "$TEST_DIR"/*.pid; do kill "$(cat "$f")" 2>/dev/null; done'

rows_are() {
	pg_psql "$2" >"$TEST_DIR/$1.want" && test -f "$TEST_DIR/$1" &&
	cmp -s "$TEST_DIR/$1.want" "$TEST_DIR/$1"
}

wait_rows() {
	wait_until "$1 to hold SELECT's rows" "rows_are $1 \"$2\"" 60 || {
		diff "$TEST_DIR/$1.want" "$TEST_DIR/$1" | head -n 20 >&2
		tail -n 20 "$TEST_DIR/pipeline.log" >&2
		false
	}
}

refetches() {
	cat "$TEST_DIR/$1.refetch"
}
