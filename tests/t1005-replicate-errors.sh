#!/bin/sh
# shapesync-replicate's errors for a server that is not set up for it, each
# with a hint that says what to change: wal_level, replication slots, WAL
# senders, the REPLICATION attribute, owners of the publication and of a
# table, a slot held by another process (and --take-over-slot), and a slot
# creation that waits for a long transaction says which one.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start 'wal_level = replica'
PG_R=$PG_DIR
pg_start 'max_replication_slots = 1' 'max_wal_senders = 1'
PG_S=$PG_DIR
pg_start
PG_M=$PG_DIR

test_at_exit 'for f in "$TEST_DIR"/*.pid; do kill "$(cat "$f")" 2>/dev/null; done'

# now: the server's current WAL position (an --endpos that ends a run at once).
now() {
	pg_psql "SELECT pg_current_wal_lsn()"
}

test_expect_success 'setup: a registry' '
	shapesync-db --registry r.db init
'

test_expect_success 'wal_level replica: the error, and how to turn logical on' '
	pg_use "$PG_R" &&
	test_must_fail 1 shapesync-replicate --registry r.db --no-loop >/dev/null &&
	test_stderr_has "^shapesync-replicate: error: could not create the replication slot: logical decoding requires wal_level >= logical$" &&
	test_stderr_has "^hint: logical replication needs wal_level = logical: run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL \(on a managed service, turn on its logical replication setting\)$"
'

test_expect_success 'every replication slot in use' '
	pg_use "$PG_S" &&
	pg_psql "SELECT pg_create_logical_replication_slot('\''other'\'', '\''test_decoding'\'')" >/dev/null &&
	test_must_fail 1 shapesync-replicate --registry r.db --no-loop >/dev/null &&
	test_stderr_has "^shapesync-replicate: error: could not create the replication slot: all replication slots are in use$" &&
	test_stderr_has "^hint: drop a slot that is no longer used \(see pg_replication_slots\) or raise max_replication_slots and restart PostgreSQL$"
'

test_expect_success 'every WAL sender in use' '
	pg_use "$PG_S" || return 1
	pg_recvlogical --no-loop -d "$DATABASE_URL" -S other --start -f /dev/null 2>recv1.err &
	echo $! >recv.pid &&
	wait_until "pg_recvlogical to stream" \
		"test \"\$(pg_psql \"SELECT active FROM pg_replication_slots WHERE slot_name = '\''other'\''\")\" = t" 20 &&
	test_must_fail 1 shapesync-replicate --registry r.db --slot fresh --no-loop >/dev/null &&
	test_stderr_has "^shapesync-replicate: error: could not connect to PostgreSQL: .*number of requested standby connections exceeds max_wal_senders \(currently 1\)" &&
	test_stderr_has "^hint: every replication connection takes a WAL sender: raise max_wal_senders \(and max_connections\) and restart PostgreSQL, or stop another replication client$" &&
	kill "$(cat recv.pid)" && rm recv.pid
'

test_expect_success 'a role without REPLICATION' '
	pg_use "$PG_M" &&
	pg_psql "CREATE ROLE app LOGIN" "GRANT CREATE ON DATABASE shapesync_test TO app" &&
	test_must_fail 1 shapesync-replicate --db "$DATABASE_URL&user=app" \
		--table t --ack=received --no-loop >/dev/null &&
	test_stderr_has "could not connect to PostgreSQL: .*must be superuser or replication role to start walsender" &&
	test_stderr_has "^hint: the role needs the REPLICATION attribute: ALTER ROLE ... WITH REPLICATION \(on a managed service, grant its replication role\)$"
'

test_expect_success 'a publication of another owner, a table of another owner' '
	pg_use "$PG_M" &&
	pg_psql "ALTER ROLE app REPLICATION" "DROP PUBLICATION IF EXISTS shapesync" \
		"CREATE PUBLICATION shapesync" \
		"CREATE TABLE mine (id int PRIMARY KEY)" "ALTER TABLE mine OWNER TO app" \
		"CREATE TABLE theirs (id int PRIMARY KEY)" &&
	shapesync-replicate --db "$DATABASE_URL&user=app" --table mine \
		--ack=received --endpos "$(now)" >/dev/null 2>"$TEST_DIR/.stderr" &&
	test_stderr_has "^shapesync-replicate: warning: could not publish table \"public\".\"mine\": could not add a table to the publication: must be owner of publication shapesync$" &&
	test_stderr_has "^hint: the role must own the publication to add tables to it: ALTER PUBLICATION ... OWNER TO this role, or drop it and let shapesync create it$" &&
	pg_psql "ALTER PUBLICATION shapesync OWNER TO app" &&
	shapesync-replicate --db "$DATABASE_URL&user=app" --table mine --table theirs \
		--ack=received --endpos "$(now)" >/dev/null 2>"$TEST_DIR/.stderr" &&
	test_stderr_has "^shapesync-replicate: warning: could not publish table \"public\".\"theirs\": could not set REPLICA IDENTITY FULL: must be owner of table theirs$" &&
	test_stderr_has "^hint: the role must own the table to publish it and set REPLICA IDENTITY FULL; or have its owner run ALTER TABLE ... REPLICA IDENTITY FULL and ALTER PUBLICATION ... ADD TABLE ...$" &&
	test_eq mine "$(pg_psql "SELECT tablename FROM pg_publication_tables")"
'

test_expect_success 'a slot streamed by another process; --take-over-slot ends it' '
	pg_use "$PG_M" || return 1
	pg_recvlogical --no-loop -d "$DATABASE_URL" -S shapesync --start -o proto_version=1 \
		-o publication_names=shapesync -f /dev/null 2>recv2.err &
	echo $! >recv.pid &&
	wait_until "pg_recvlogical to stream" \
		"test \"\$(pg_psql \"SELECT active FROM pg_replication_slots WHERE slot_name = '\''shapesync'\''\")\" = t" 20 &&
	test_must_fail 1 shapesync-replicate --registry r.db --no-loop >/dev/null &&
	test_stderr_has "replication slot \"shapesync\" is active for PID [0-9]*" &&
	test_stderr_has "^hint: another process is streaming from the slot: stop it, or start shapesync-replicate with --take-over-slot to end it$" &&
	shapesync-replicate --registry r.db --take-over-slot --endpos "$(now)" \
		>/dev/null 2>"$TEST_DIR/.stderr" &&
	test_stderr_has "^shapesync-replicate: warning: took slot .shapesync. over: ended 1 backend holding it$" &&
	wait_end "$(cat recv.pid)" && rm recv.pid
'

test_expect_success '--take-over-slot ends a shapesync-replicate holding the slot' '
	pg_use "$PG_M" || return 1
	shapesync-replicate --registry r.db >first.out 2>first.err &
	first=$!
	echo $first >first.pid
	wait_until "the first to stream" \
		"test \"\$(pg_psql \"SELECT active FROM pg_replication_slots WHERE slot_name = '\''shapesync'\''\")\" = t" 20 &&
	shapesync-replicate --registry r.db --take-over-slot >second.out 2>second.err &
	second=$!
	echo $second >second.pid
	wait_until "the first to exit" "! kill -0 $first 2>/dev/null" 30 &&
	{ wait $first; st=$?; } &&
	test_eq 1 "$st" &&
	grep -q "another shapesync-replicate is using slot .shapesync." first.err &&
	grep -E -q "took slot .shapesync. over: ended [12] backends? holding it$" second.err &&
	kill $second && wait $second &&
	rm first.pid second.pid
'

test_expect_success 'a slot creation held up by a long transaction says which' '
	pg_use "$PG_M" &&
	pg_psql "SELECT pg_drop_replication_slot('\''shapesync'\'')" >/dev/null || return 1
	PGAPPNAME=longtx psql -X -q -c "BEGIN; INSERT INTO mine VALUES (99); SELECT pg_sleep(6); COMMIT" >/dev/null &
	wait_until "the transaction to hold an xid" \
		"test \"\$(pg_psql \"SELECT count(*) FROM pg_stat_activity WHERE application_name = '\''longtx'\'' AND backend_xid IS NOT NULL\")\" = 1" 20 &&
	shapesync-replicate --registry r.db --create-slot 2>"$TEST_DIR/.stderr" &&
	test_stderr_has "^shapesync-replicate: warning: creating replication slot .shapesync. has waited [0-9]* s for transactions to end: pid [0-9]* \(xid [0-9]*, open [0-9:]*, longtx\): BEGIN; INSERT INTO mine VALUES \(99\); SELECT pg_sleep\(6\)"
'

test_done
