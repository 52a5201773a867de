#!/bin/sh
# A shape on a partitioned table while its partitions change in ways the
# WAL does not show: a table with rows attached, a partition detached, one
# dropped. replicate notices (the leaves it recorded in the registry
# differ), the shape is invalidated, and the official client (follow.mjs)
# refetches and ends with exactly SELECT's rows. An empty partition made
# with PARTITION OF fills through the WAL.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"
. "$TEST_SRC/follow.sh"

e2e_modules
pg_start

ROWS="SELECT id || '|v=' || coalesce(v, 'null') FROM pt ORDER BY id"

test_expect_success 'setup: pt in two partitions, 20 rows' '
	pg_psql "CREATE TABLE pt (id int PRIMARY KEY, v text) PARTITION BY RANGE (id)" \
		"CREATE TABLE pt_1 PARTITION OF pt FOR VALUES FROM (0) TO (100)" \
		"CREATE TABLE pt_2 PARTITION OF pt FOR VALUES FROM (100) TO (200)" \
		"INSERT INTO pt SELECT g, '\''a'\'' || g FROM generate_series(1, 10) g" \
		"INSERT INTO pt SELECT g, '\''b'\'' || g FROM generate_series(101, 110) g"
'
pipeline_start --long-poll-timeout 3000
follow f pt

test_expect_success 'the client follows the root' '
	wait_rows f "$ROWS" &&
	test_eq 20 "$(wc -l <f)" &&
	test_eq 0 "$(refetches f)"
'

test_expect_success 'a table with rows attached: the shape is refetched with them' '
	pg_psql "CREATE TABLE pt_3 (id int PRIMARY KEY, v text)" \
		"INSERT INTO pt_3 SELECT g, '\''c'\'' || g FROM generate_series(201, 205) g" \
		"ALTER TABLE pt ATTACH PARTITION pt_3 FOR VALUES FROM (200) TO (300)" &&
	wait_rows f "$ROWS" &&
	test_eq 25 "$(wc -l <f)" &&
	test "$(refetches f)" -ge 1 &&
	grep -q "the partitions of \"public\".\"pt\" changed (partition [0-9]* joined with rows): 1 shape on it invalidated" pipeline.log
'

test_expect_success 'changes in the attached partition follow' '
	pg_psql "UPDATE pt SET v = '\''moved'\'' WHERE id = 201" \
		"DELETE FROM pt WHERE id = 202" \
		"INSERT INTO pt VALUES (206, '\''new'\'')" &&
	wait_rows f "$ROWS" &&
	grep -q "^201|v=moved$" f
'

test_expect_success 'an empty partition made with PARTITION OF fills through the WAL' '
	pg_psql "CREATE TABLE pt_4 PARTITION OF pt FOR VALUES FROM (300) TO (400)" &&
	sleep 2 &&
	pg_psql "INSERT INTO pt SELECT g, '\''d'\'' || g FROM generate_series(301, 303) g" &&
	wait_rows f "$ROWS" &&
	test_eq 28 "$(wc -l <f)"
'

test_expect_success 'a partition detached: its rows leave the shape' '
	r0=$(refetches f) &&
	pg_psql "ALTER TABLE pt DETACH PARTITION pt_1" &&
	wait_rows f "$ROWS" &&
	test_eq 18 "$(wc -l <f)" &&
	test "$(refetches f)" -gt "$r0" &&
	grep -q "changed (partition [0-9]* left)" pipeline.log
'

test_expect_success 'a partition dropped: its rows leave the shape' '
	pg_psql "DROP TABLE pt_2" &&
	wait_rows f "$ROWS" &&
	test_eq 8 "$(wc -l <f)"
'

unfollow f
pipeline_stop
test_done
