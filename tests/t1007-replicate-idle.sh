#!/bin/sh
# Scale to zero (ELECTRIC_REPLICATION_IDLE_TIMEOUT): with no transaction and
# no shape read for the idle timeout, replicate closes its connections to
# PostgreSQL and serve's pool lets its own go, so the server sees none;
# health stays active. Writes alone do not wake it; the first read does,
# and the official client then gets every change written meanwhile (the
# slot kept the WAL): nothing lost, nothing twice. While a client follows
# a shape, replicate stays connected.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules
pg_start

# Backends of the pipeline: replicate's (replication and admin) and serve's.
ours() {
	pg_psql "SELECT count(*) FROM pg_stat_activity
		 WHERE application_name LIKE 'shapesync%' AND pid <> pg_backend_pid()"
}
replicate_state() {
	shapesync-db --registry "$SS_REGISTRY" stats --json | jq -r .stage_replicate_state
}
asleep() {
	test "$(ours)" = 0 && test "$(replicate_state)" = sleeping
}
slept() {
	grep -c 'closed the connections to PostgreSQL' "$TEST_DIR/pipeline.log"
}

test_expect_success 'bad values are usage errors that name the setting' '
	test_must_fail 2 shapesync-replicate --idle-timeout 5x &&
	test_stderr_has "invalid --idle-timeout '\''5x'\''" &&
	test_must_fail 2 env ELECTRIC_REPLICATION_IDLE_TIMEOUT=-1 shapesync-replicate &&
	test_stderr_has "invalid [$]ELECTRIC_REPLICATION_IDLE_TIMEOUT '\''-1'\''" &&
	test_must_fail 2 shapesync-replicate --idle-timeout 1s --temporary-slot &&
	test_stderr_has "cannot be used with a temporary slot" &&
	test_must_fail 2 shapesync-replicate --idle-timeout 1s --ack=received -t items &&
	test_stderr_has "needs the registry" &&
	test_must_fail 2 shapesync-serve --db-idle-timeout soon &&
	test_stderr_has "invalid --db-idle-timeout '\''soon'\''"
'

test_expect_success 'setup: 10 rows' '
	pg_psql "CREATE TABLE items (id int PRIMARY KEY, v text)" \
		"INSERT INTO items SELECT g, '\''a'\'' || g FROM generate_series(1, 10) g" &&
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" init >/dev/null &&
	shapesync-replicate --registry "$SS_REGISTRY" --create-slot 2>>pipeline.log
'
# 4 s, well above the long-poll timeout (1.5 s): a client that follows
# reads at least that often, also on a loaded machine (with 2 s, under
# ASan beside the plain suite, replicate once slept between two polls).
# serve marks a read when a request comes and when it is answered, not
# while it waits: an idle timeout below the long-poll timeout can put
# replicate to sleep under a client that waits (the closing note of
# 2026-12-07).
ELECTRIC_REPLICATION_IDLE_TIMEOUT=4s
export ELECTRIC_REPLICATION_IDLE_TIMEOUT
stages_start
serve_start --long-poll-timeout 1500
unset ELECTRIC_REPLICATION_IDLE_TIMEOUT

# On a loaded machine the stages can take longer than the idle timeout to
# start, and replicate sleeps once before the first read: count the
# sleeps from that read on.
test_expect_success 'a shape is created and read' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")" &&
	{ slept || :; } >slept0 &&
	test_eq 10 "$(jq "[.[] | select(.headers.operation == \"insert\")] | length" b)" &&
	hdr electric-handle >h1 &&
	hdr electric-offset >o1
'

test_expect_success 'idle: no connection left to PostgreSQL; health active' '
	wait_until "the pipeline to let go of PostgreSQL" asleep 30 &&
	test_eq $(($(cat slept0) + 1)) "$(slept)" &&
	test_eq 200 "$(get /v1/health)" &&
	test_eq "{\"status\":\"active\"}" "$(cat b)"
'

test_expect_success 'writes alone do not wake it' '
	pg_psql "INSERT INTO items SELECT g, '\''b'\'' || g FROM generate_series(11, 15) g" \
		"UPDATE items SET v = '\''changed'\'' WHERE id = 1" \
		"DELETE FROM items WHERE id = 2" &&
	sleep 3 &&
	test_eq 0 "$(ours)" &&
	test_eq sleeping "$(replicate_state)"
'

. "$TEST_SRC/follow.sh"
ROWS="SELECT id || '|v=' || coalesce(v, 'null') FROM items ORDER BY id"

follow f1 items
test_expect_success 'a read wakes it: the client gets what was written while it slept' '
	wait_rows f1 "$ROWS" &&
	test_eq 14 "$(wc -l <f1)" &&
	test_eq 0 "$(refetches f1)" &&
	grep -q "a shape was read or created: reconnecting" pipeline.log &&
	wait_until "replicate to say it streams" "test \"\$(replicate_state)\" = streaming" 30
'

test_expect_success 'the old offset resumes with exactly those changes' '
	test_eq 200 "$(get "/v1/shape?table=items&handle=$(cat h1)&offset=$(cat o1)")" &&
	jq -c ".[] | select(.headers.operation) | [.headers.operation, .key]" b >ops &&
	test_eq 7 "$(wc -l <ops)" &&
	test_eq 5 "$(grep -c "^\[\"insert\"" ops)" &&
	grep -q "^\[\"update\",\"\\\\\"public\\\\\".\\\\\"items\\\\\"/\\\\\"1\\\\\"\"\]" ops &&
	grep -q "^\[\"delete\",\"\\\\\"public\\\\\".\\\\\"items\\\\\"/\\\\\"2\\\\\"\"\]" ops
'

test_expect_success 'while a client follows, replicate stays connected' '
	n=$(slept) &&
	sleep 5 &&
	test_eq "$n" "$(slept)" &&
	test "$(ours)" -gt 0 &&
	pg_psql "INSERT INTO items VALUES (100, '\''live'\'')" &&
	wait_rows f1 "$ROWS"
'

unfollow f1
test_expect_success 'the client gone, it sleeps again, and wakes for a new shape' '
	wait_until "the pipeline to let go of PostgreSQL again" asleep 30 &&
	test_eq $(($(cat slept0) + 2)) "$(slept)" &&
	pg_psql "INSERT INTO items VALUES (101, '\''x'\'')" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1&where=id%3E100")" &&
	jq -c "[.[] | select(.headers.operation) | .value.id]" b >ids &&
	test_eq "[\"101\"]" "$(cat ids)" &&
	wait_until "replicate to stream again" "test \"\$(replicate_state)\" = streaming" 30
'

# A long-poll that waits longer than the idle timeout is a client that
# reads: serve marks a shape that requests wait on as read about once a
# second, so replicate stays awake under it and the change written after
# two idle timeouts ends that same poll (asleep, replicate would miss it
# until the poll's 20 s timeout, and the response would be empty).
serve_stop
serve_start
test_expect_success 'a long-poll that waits past the idle timeout keeps it awake' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")" &&
	h=$(hdr electric-handle) &&
	test_eq 200 "$(get "/v1/shape?table=items&handle=$h&offset=$(hdr electric-offset)")" &&
	o=$(hdr electric-offset) &&
	wait_until "replicate to stream" "test \"\$(replicate_state)\" = streaming" 30 &&
	n=$(slept) &&
	{ curl -g -s -o lp -w "%{http_code}" \
		"$SERVE_URL/v1/shape?table=items&handle=$h&offset=$o&live=true" >lp.code & } &&
	lp=$! &&
	sleep 9 &&
	test_eq "$n" "$(slept)" &&
	pg_psql "INSERT INTO items VALUES (102, '\''waited'\'')" &&
	wait $lp &&
	test_eq 200 "$(cat lp.code)" &&
	jq -c "[.[] | select(.headers.operation) | .value.id]" lp >ids &&
	test_eq "[\"102\"]" "$(cat ids)"
'

test_done
