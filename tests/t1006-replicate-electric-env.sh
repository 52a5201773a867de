#!/bin/sh
# replicate configured by Electric's environment variables alone:
# ELECTRIC_REPLICATION_STREAM_ID names the slot and publication as
# Electric does, CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN drops the slot at an
# orderly stop, ELECTRIC_MANUAL_TABLE_PUBLISHING leaves the publication
# and REPLICA IDENTITY alone; bad values are usage errors.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start
test_at_exit 'for f in "$TEST_DIR"/*.pid; do kill "$(cat "$f")" 2>/dev/null; done'
pg_psql "CREATE TABLE items (id int PRIMARY KEY)" "CREATE TABLE other (id int PRIMARY KEY)"

slots() {
	pg_psql "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots"
}
pubs() {
	pg_psql "SELECT pubname || ':' || coalesce(string_agg(tablename, ',' ORDER BY tablename), '')
		FROM pg_publication p LEFT JOIN pg_publication_tables t USING (pubname)
		GROUP BY pubname ORDER BY 1"
}

test_expect_success 'ELECTRIC_REPLICATION_STREAM_ID=x: slot electric_slot_x, publication electric_publication_x' '
	ELECTRIC_REPLICATION_STREAM_ID=x shapesync-replicate --table items --ack=received --create-slot &&
	test_eq electric_slot_x "$(slots)" &&
	test_eq "electric_publication_x:items" "$(pubs)"
'

test_expect_success 'options win over it' '
	ELECTRIC_REPLICATION_STREAM_ID=x shapesync-replicate --table items \
		--slot s2 --publication p2 --ack=received --create-slot &&
	test_eq "electric_slot_x,s2" "$(slots)" &&
	shapesync-replicate --slot s2 --ack=received --drop-slot
'

# stream ENV...: replicate with ENV on slot electric_slot_x, --table items,
# until its first change frame of table 'other' (written after it started
# streaming), then SIGTERM. Frames in out, messages in err.
stream() {
	env "$@" ELECTRIC_REPLICATION_STREAM_ID=x shapesync-replicate --table items \
		--ack=received >out 2>err &
	pid=$!
	wait_until "streaming" "pg_psql \"SELECT active FROM pg_replication_slots WHERE slot_name = 'electric_slot_x'\" | grep -q t" &&
	pg_psql "INSERT INTO other VALUES (1)" "INSERT INTO items VALUES (1)" &&
	wait_until "the insert streamed" "grep -q '\"op\":\"insert\"' out" &&
	kill -TERM $pid && wait_end $pid && test_eq 0 "$st"
}

test_expect_success 'ELECTRIC_MANUAL_TABLE_PUBLISHING=true: nothing is published or altered' '
	pg_psql "ALTER PUBLICATION electric_publication_x SET TABLE other" &&
	pubs >before &&
	pg_psql "SELECT relreplident FROM pg_class WHERE relname = '"'"'items'"'"'" >ri.before &&
	stream ELECTRIC_MANUAL_TABLE_PUBLISHING=true &&
	pubs >after && test_cmp before after &&
	pg_psql "SELECT relreplident FROM pg_class WHERE relname = '"'"'items'"'"'" >ri.after &&
	test_cmp ri.before ri.after &&
	! grep -q "\"items\"" out
'

test_expect_success 'without it, replicate publishes --table items again' '
	pg_psql "DELETE FROM other" "DELETE FROM items" &&
	stream &&
	test_eq "electric_publication_x:items,other" "$(pubs | grep "^electric_publication_x:")"
'

test_expect_success 'CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN=true: SIGTERM drops the slot' '
	pg_psql "DELETE FROM other" "DELETE FROM items" &&
	stream CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN=true &&
	test_eq "" "$(slots)" &&
	grep -q "^shapesync-replicate: dropped slot '"'"'electric_slot_x'"'"'" err
'

test_expect_success 'ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME=true: a temporary random slot, gone at the stop' '
	shapesync-db --registry tr.db --dir trd init &&
	ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME=true \
		shapesync-replicate --registry tr.db --create-slot &&
	test_eq 0 "$(pg_psql "SELECT count(*) FROM pg_replication_slots WHERE temporary")" || return 1
	ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME=true \
		shapesync-replicate --registry tr.db >tout 2>terr &
	echo $! >temp.pid
	wait_until "a temporary slot" "pg_psql \"SELECT slot_name FROM pg_replication_slots WHERE temporary AND active\" | grep -Eqx \"electric_slot_[0-9a-f]{32}\"" 30 &&
	wait_until "the stream frame" "test -s tout" 30 &&
	test_eq stream "$(head -n 1 tout | jq -r .type)" &&
	kill "$(cat temp.pid)" && wait_end "$(cat temp.pid)" && rm temp.pid &&
	test_eq 0 "$(pg_psql "SELECT count(*) FROM pg_replication_slots WHERE temporary")" &&
	test_must_fail 2 env ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME=true \
		shapesync-replicate --registry tr.db --drop-slot &&
	test_stderr_has "no slot to drop"
'

test_expect_success 'bad values are usage errors naming the variable' '
	for kv in ELECTRIC_REPLICATION_STREAM_ID=A-b CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN=yes-please \
		ELECTRIC_MANUAL_TABLE_PUBLISHING=2; do
		test_must_fail 2 env "$kv" shapesync-replicate --table items &&
		test_stderr_has "^shapesync-replicate: error: invalid \\\$${kv%%=*} " || return 1
	done
'

test_done
