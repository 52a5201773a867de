#!/bin/sh
# A table whose replica identity is not FULL sends, on update and delete,
# an old row of key columns alone: a shape that filters on other columns
# cannot tell whether the row was in it. Route invalidates such shapes at
# the first update or delete (tests/data/route/identity has the frames);
# here the whole pipeline with the official client: an operator sets
# REPLICA IDENTITY DEFAULT on a shape's table, and a partition created
# and updated while the pipeline was stopped (before replicate could give
# it FULL; replicate's partition check may invalidate the root shape
# first). Each time the client is told to refetch and ends with exactly
# SELECT's rows, never keeps a row that left the shape.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules
pg_start

test_expect_success 'setup: a table and a partitioned table' '
	pg_psql "CREATE TABLE items (id int PRIMARY KEY, v text)" \
		"INSERT INTO items SELECT g, '\''a'\'' FROM generate_series(1, 10) g" \
		"CREATE TABLE pt (id int, v text, PRIMARY KEY (id)) PARTITION BY RANGE (id)" \
		"CREATE TABLE pt_1 PARTITION OF pt FOR VALUES FROM (0) TO (100)" \
		"INSERT INTO pt SELECT g, '\''a'\'' FROM generate_series(1, 10) g"
'
pipeline_start --long-poll-timeout 2000

. "$TEST_SRC/follow.sh"
ITEMS="SELECT id || '|v=' || coalesce(v, 'null') FROM items WHERE v = 'a' ORDER BY id"
PT="SELECT id || '|v=' || coalesce(v, 'null') FROM pt WHERE v = 'a' ORDER BY id"
follow f1 items "v = 'a'"
follow f2 pt "v = 'a'"

test_expect_success 'the clients follow both shapes' '
	wait_rows f1 "$ITEMS" &&
	wait_rows f2 "$PT" &&
	test_eq 0 "$(refetches f1)" &&
	test_eq 0 "$(refetches f2)"
'

test_expect_success 'REPLICA IDENTITY DEFAULT, then a row leaves the shape: refetch, not a stale row' '
	pg_psql "ALTER TABLE items REPLICA IDENTITY DEFAULT" \
		"UPDATE items SET v = '\''b'\'' WHERE id = 1" \
		"DELETE FROM items WHERE id = 2" &&
	wait_rows f1 "$ITEMS" &&
	test_eq 8 "$(wc -l <f1)" &&
	test "$(refetches f1)" -ge 1 &&
	grep -q "public.items has REPLICA IDENTITY DEFAULT, not FULL" pipeline.log
'

test_expect_success 'the new shape made the table FULL again and follows it' '
	test_eq f "$(pg_psql "SELECT relreplident FROM pg_class WHERE relname = '\''items'\''")" &&
	n=$(refetches f1) &&
	pg_psql "UPDATE items SET v = '\''b'\'' WHERE id = 3" &&
	wait_rows f1 "$ITEMS" &&
	test_eq 7 "$(wc -l <f1)" &&
	test_eq "$n" "$(refetches f1)"
'

stages_stop
test_expect_success 'while stopped: a new partition gets a row, then it leaves the shape' '
	pg_psql "CREATE TABLE pt_2 PARTITION OF pt FOR VALUES FROM (100) TO (200)" \
		"INSERT INTO pt VALUES (150, '\''a'\'')" \
		"UPDATE pt SET v = '\''b'\'' WHERE id = 150"
'
stages_start

test_expect_success 'the root shape is refetched and ends equal to SELECT' '
	wait_until "f2 to refetch" "test \$(refetches f2) -ge 1" 60 &&
	wait_rows f2 "$PT" &&
	test_eq 10 "$(wc -l <f2)" &&
	! grep -q "^150|" f2
'

test_done
