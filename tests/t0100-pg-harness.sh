#!/bin/sh
# tests/pg.sh itself: a throwaway cluster ready for logical replication,
# reachable through the exported variables, and crash/restart helpers.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start 'work_mem = 8MB'
first_dir=$PG_DIR first_port=$PGPORT

test_expect_success 'server is up with logical WAL on our socket only' '
	test_eq logical "$(pg_psql "SHOW wal_level")" &&
	test_eq "" "$(pg_psql "SHOW listen_addresses")" &&
	test_eq "$PG_DIR" "$(pg_psql "SHOW unix_socket_directories")" &&
	test_eq "$PGPORT" "$(pg_psql "SHOW port")" &&
	test_eq 10 "$(pg_psql "SHOW max_replication_slots")" &&
	test_eq 10 "$(pg_psql "SHOW max_wal_senders")" &&
	test_eq off "$(pg_psql "SHOW fsync")" &&
	test -S "$PG_DIR/.s.PGSQL.$PGPORT" &&
	test -s "$PG_LOG"
'

test_expect_success 'extra configuration lines are applied' '
	test_eq 8MB "$(pg_psql "SHOW work_mem")"
'

test_expect_success 'environment names the test database as postgres' '
	test_eq shapesync_test "$(pg_psql "SELECT current_database()")" &&
	test_eq postgres "$(pg_psql "SELECT current_user")" &&
	test_eq t "$(pg_psql "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")"
'

test_expect_success 'DATABASE_URL works on its own' '
	test_eq "shapesync_test $PGPORT" "$(env -u PGHOST -u PGPORT -u PGDATABASE \
		-u PGUSER psql -X -At -d "$DATABASE_URL" \
		-c "SELECT current_database() || '\'' '\'' || current_setting('\''port'\'')")"
'

test_expect_success 'pg_psql runs several statements and reads stdin' '
	pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
		"INSERT INTO items VALUES (1, '\''one'\'')" &&
	printf "%s\n" "INSERT INTO items VALUES (2, NULL);" \
		"SELECT count(*) FROM items;" | pg_psql >out &&
	test_eq 2 "$(cat out)"
'

test_expect_success 'pg_psql fails on the first SQL error' '
	test_must_fail 3 pg_psql "SELECT nosuchcolumn FROM items" "SELECT 1" &&
	test_stderr_has "nosuchcolumn"
'

test_expect_success 'publication and pgoutput logical slot' '
	pg_psql "ALTER TABLE items REPLICA IDENTITY FULL" \
		"CREATE PUBLICATION ss_pub FOR TABLE items" \
		"SELECT 1 FROM pg_create_logical_replication_slot('\''ss_slot'\'', '\''pgoutput'\'')" >/dev/null &&
	test_eq "ss_slot|pgoutput|logical|shapesync_test" \
		"$(pg_psql "SELECT slot_name, plugin, slot_type, database FROM pg_replication_slots")" &&
	test_eq items "$(pg_psql "SELECT tablename FROM pg_publication_tables WHERE pubname = '\''ss_pub'\''")"
'

test_expect_success 'the slot sees a committed change' '
	pg_psql "INSERT INTO items VALUES (3, '\''three'\'')" &&
	n=$(pg_psql "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('\''ss_slot'\'', NULL, NULL, '\''proto_version'\'', '\''1'\'', '\''publication_names'\'', '\''ss_pub'\'')") &&
	test "$n" -ge 3
'

test_expect_success 'pg_kill9 crashes it, pg_restart recovers committed data' '
	old=$(pg_pid) &&
	pg_kill9 &&
	test_must_fail 2 psql -X -At -c "SELECT 1" &&
	pg_restart &&
	test "$(pg_pid)" != "$old" &&
	test_eq 3 "$(pg_psql "SELECT count(*) FROM items -- a comment")" &&
	test_eq ss_slot "$(pg_psql "SELECT slot_name FROM pg_replication_slots")"
'

test_expect_success 'pg_stop stops it, pg_restart brings it back on its port' '
	pg_stop &&
	test_must_fail 2 psql -X -At -c "SELECT 1" &&
	pg_restart &&
	test_eq "$PGPORT" "$(pg_psql "SHOW port")"
'

# A second cluster in the same script: its own directory and port.
pg_start
second_dir=$PG_DIR second_port=$PGPORT

test_expect_success 'a second cluster gets its own directory and port' '
	test "$first_dir" != "$second_dir" &&
	test "$first_port" != "$second_port" &&
	test_eq 0 "$(pg_psql "SELECT count(*) FROM pg_class WHERE relname = '\''items'\''")"
'

test_expect_success 'pg_use switches between the clusters' '
	pg_use "$first_dir" &&
	test_eq "$first_port" "$PGPORT" &&
	test_eq 3 "$(pg_psql "SELECT count(*) FROM items")" &&
	pg_use "$second_dir" &&
	test_eq "$second_port" "$PGPORT" &&
	test_must_fail 1 pg_use "$TEST_DIR/nosuchcluster"
'

test_expect_success 'pg_stop stops the second cluster only' '
	pg_use "$second_dir" && pg_stop &&
	pg_use "$first_dir" && pg_psql "SELECT 1" >/dev/null
'

test_expect_success 'missing server binaries fail the script loudly' '
	cat >nopg.sh <<-EOF &&
	#!/bin/sh
	. "$TEST_SRC/lib.sh"
	. "$TEST_SRC/pg.sh"
	pg_start
	test_expect_success "never reached" "true"
	test_done
	EOF
	st=0 &&
	PG_BINDIR=/nonexistent SS_KEEP_TEST_DIR= sh nopg.sh >out 2>err || st=$? &&
	test_eq 1 "$st" &&
	grep "/nonexistent/initdb. not found" err &&
	! grep "^ok" out
'

test_done
