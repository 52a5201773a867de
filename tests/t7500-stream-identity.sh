#!/bin/sh
# The replication stream breaks on purpose, the ways it does in production:
# the slot dropped while the pipeline is stopped and while it runs, the slot
# invalidated by max_slot_wal_keep_size under a stalled store, the database
# restored from an earlier base backup (a new timeline), the pipeline
# pointed at another cluster with the same tables. Each time replicate
# begins a new stream, every shape is invalidated, and the official client
# (tests/e2e/follow.mjs) is told to refetch and ends with exactly SELECT's
# rows: never a log with a hole. Plus lib/stream's unit test.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules

pg_start 'max_slot_wal_keep_size = 1MB' 'wal_keep_size = 0'
PG_A=$PG_DIR
pg_start
PG_B=$PG_DIR
pg_use "$PG_A"

test_expect_success 'stream: the decision table (lib/stream)' '
	"$SS_BUILD/tests/test-stream"
'

. "$TEST_SRC/follow.sh"

ROWS="SELECT id || '|v=' || coalesce(v, 'null') FROM items ORDER BY id"
wait_converged() {
	wait_rows "$1" "$ROWS"
}

stream_is() {
	test "$(shapesync-db --registry "$SS_REGISTRY" stats | sed -n 's/^stream: //p')" = "$1"
}

# old_handle_refetches: the handle and offset saved by the setup now get
# 409 must-refetch.
old_handle_refetches() {
	test_eq 409 "$(get "/v1/shape?table=items&handle=$(cat "$TEST_DIR/h1")&offset=$(cat "$TEST_DIR/o1")")" &&
	grep -q "must-refetch" b
}

# Processes start and stop at the top level of the script (a test body
# is a subshell: what it starts would be lost to the next one).
test_expect_success 'setup: 100 rows, a base backup' '
	pg_psql "CREATE TABLE items (id int PRIMARY KEY, v text)" \
		"INSERT INTO items SELECT g, '\''a'\'' || g FROM generate_series(1, 100) g" \
		"CREATE TABLE filler (id serial PRIMARY KEY, pad text)" &&
	_pg_as_owner "$PG_BINDIR/pg_basebackup" -h "$PG_A" -p "$PGPORT" -U postgres \
		-D "$PG_A/backup" -X stream -c fast >basebackup.log 2>&1
'
pipeline_start --long-poll-timeout 3000
follow f1 items

test_expect_success 'the client follows the shape; stream 1' '
	wait_converged f1 &&
	test_eq 100 "$(wc -l <f1)" &&
	test_eq 0 "$(refetches f1)" &&
	stream_is 1 &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")" &&
	hdr electric-handle >h1 &&
	hdr electric-offset >o1
'

stages_stop
test_expect_success 'slot dropped while stopped, rows written meanwhile' '
	pg_psql "SELECT pg_drop_replication_slot('\''shapesync'\'')" >/dev/null &&
	pg_psql "INSERT INTO items SELECT g, '\''b'\'' || g FROM generate_series(101, 109) g" \
		"UPDATE items SET v = '\''changed'\'' WHERE id = 1" \
		"DELETE FROM items WHERE id = 2"
'
stages_start
test_expect_success '... a new stream begins, clients refetch and converge' '
	wait_converged f1 &&
	test_eq 108 "$(wc -l <f1)" &&
	test "$(refetches f1)" -ge 1 &&
	stream_is 2 &&
	grep -q "replication slot .shapesync. was missing and was created anew" pipeline.log &&
	grep -q "began stream 2: 1 shape invalidated" pipeline.log &&
	old_handle_refetches &&
	follow f2 items &&
	wait_converged f2 &&
	test_eq 0 "$(refetches f2)" &&
	unfollow f2
'

test_expect_success 'slot dropped while running: a new stream, clients refetch' '
	r0=$(refetches f1) &&
	n=0 &&
	until pg_psql "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
			WHERE slot_name = '\''shapesync'\'' AND active_pid IS NOT NULL" \
		"SELECT pg_drop_replication_slot('\''shapesync'\'')" >/dev/null 2>&1; do
		n=$((n + 1)) && test $n -lt 100 && sleep 0.1 || return 1
	done &&
	pg_psql "INSERT INTO items SELECT g, '\''c'\'' || g FROM generate_series(110, 119) g" \
		"UPDATE items SET v = NULL WHERE id = 3" \
		"DELETE FROM items WHERE id = 4" &&
	wait_until "stream 3" "stream_is 3" 30 &&
	wait_converged f1 &&
	test_eq 117 "$(wc -l <f1)" &&
	test "$(refetches f1)" -gt "$r0"
'

test_expect_success 'slot invalidated by max_slot_wal_keep_size under a stalled store' '
	r0=$(refetches f1) &&
	s=$(stage_pid store) && test -n "$s" &&
	kill -STOP "$s" &&
	pg_psql "UPDATE items SET v = '\''during the stall'\'' WHERE id = 5" \
		"DELETE FROM items WHERE id = 6" &&
	for i in 1 2 3; do
		pg_psql "INSERT INTO filler (pad) SELECT repeat('\''x'\'', 1000) FROM generate_series(1, 3000)" \
			"SELECT pg_switch_wal()" >/dev/null || return 1
	done &&
	pg_psql "CHECKPOINT" &&
	wait_until "the slot to be lost" \
		"test \"\$(pg_psql \"SELECT wal_status FROM pg_replication_slots\")\" = lost" 30 &&
	kill -CONT "$s" &&
	wait_until "stream 4" "stream_is 4" 60 &&
	grep -q "replication slot .shapesync. was invalidated by the server (wal_status lost)" pipeline.log &&
	wait_converged f1 &&
	test_eq 116 "$(wc -l <f1)" &&
	grep -q "^5|v=during the stall$" f1 &&
	test "$(refetches f1)" -gt "$r0"
'

refetches f1 >"$TEST_DIR/r0" 2>/dev/null
stages_stop
test_expect_success 'database restored from an earlier base backup: new timeline' '
	pg_stop &&
	_pg_as_owner mv "$PG_DATA" "$PG_A/data.before-restore" &&
	_pg_as_owner cp -a "$PG_A/backup" "$PG_DATA" &&
	_pg_as_owner touch "$PG_DATA/recovery.signal" &&
	printf "%s\n" "restore_command = '\''false'\''" \
		"recovery_target = '\''immediate'\''" \
		"recovery_target_action = '\''promote'\''" |
		_pg_as_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null &&
	pg_restart &&
	wait_until "promotion" "test \"\$(pg_psql \"SELECT pg_is_in_recovery()\")\" = f" 30 &&
	test_eq 2 "$(pg_psql "SELECT timeline_id FROM pg_control_checkpoint()")" &&
	test_eq 100 "$(pg_psql "SELECT count(*) FROM items")"
'
stages_start
test_expect_success '... a new stream begins, clients refetch and converge' '
	wait_until "stream 5" "stream_is 5" 60 &&
	wait_converged f1 &&
	test_eq 100 "$(wc -l <f1)" &&
	grep -q "^1|v=a1$" f1 &&
	test "$(refetches f1)" -gt "$(cat r0)" &&
	old_handle_refetches
'

unfollow f1
serve_stop
stages_stop
pg_use "$PG_B"
test_expect_success 'another cluster with the same table, slot and publication' '
	pg_psql "CREATE TABLE items (id int PRIMARY KEY, v text)" \
		"INSERT INTO items SELECT g, '\''other'\'' || g FROM generate_series(1, 5) g" \
		"CREATE PUBLICATION shapesync" \
		"SELECT pg_create_logical_replication_slot('\''shapesync'\'', '\''pgoutput'\'')" >/dev/null
'
stages_start
serve_start --long-poll-timeout 3000
test_expect_success '... a new stream begins, clients refetch and converge' '
	wait_until "stream 6" "stream_is 6" 60 &&
	grep -q "the server is another cluster: system identifier" pipeline.log &&
	old_handle_refetches &&
	follow f3 items &&
	wait_converged f3 &&
	test_eq "1|v=other1" "$(sed -n 1p f3)" &&
	pg_psql "UPDATE items SET v = '\''live'\'' WHERE id = 2" &&
	wait_converged f3 &&
	unfollow f3
'

test_expect_success 'stream frames: a new one resets the order rules, an old one is refused' '
	cat >frames <<-\EOF &&
	{"type":"stream","stream":6,"lsn":"0/10"}
	{"type":"begin","xid":700,"lsn":"0/500","ts":"2026-12-06T08:00:00.000000Z"}
	{"type":"stream","stream":7,"lsn":"0/20","reason":"test"}
	{"type":"begin","xid":10,"lsn":"0/30","ts":"2026-12-06T08:00:00.000000Z"}
	{"type":"commit","xid":10,"lsn":"0/30","end_lsn":"0/40","ts":"2026-12-06T08:00:00.000000Z"}
	EOF
	"$SS_BUILD/tests/test-tool" frames-check <frames &&
	printf "%s\n" "{\"type\":\"stream\",\"stream\":7,\"lsn\":\"0/10\"}" \
		"{\"type\":\"stream\",\"stream\":6,\"lsn\":\"0/10\"}" >back &&
	test_must_fail 3 "$SS_BUILD/tests/test-tool" frames-check <back &&
	test_stderr_has "stream 6 goes back \\(last 7\\)"
'

test_expect_success 'store refuses frames of an older stream, exit 3' '
	printf "%s\n" "{\"type\":\"stream\",\"stream\":5,\"lsn\":\"0/10\"}" >old &&
	test_must_fail 3 shapesync-store --registry "$SS_REGISTRY" --dir "$SS_DATA" <old &&
	test_stderr_has "stream 5 is older than the registry.s stream 6" &&
	printf "%s\n" "{\"type\":\"stream\",\"stream\":9,\"lsn\":\"0/10\"}" >future &&
	test_must_fail 3 shapesync-store --registry "$SS_REGISTRY" --dir "$SS_DATA" <future &&
	test_stderr_has "stream 9 is not in the registry"
'

pipeline_stop
test_done
