#!/bin/sh
# A move's query and the commits that PostgreSQL makes visible in
# another order than the WAL's (issue 14): a transaction J is in the WAL,
# and so in route's stream, before a transaction K, yet a snapshot taken
# in between sees K and not J (J's backend has not left the proc array:
# held here by gdb at ProcArrayEndTransaction, as a busy machine
# deschedules it). A move-out as deletes queried then must not be spliced
# into J, before K: K moves a row out of the value that left, and routed
# after the splice it would find the value gone and leave the row with
# the client for ever. The query runs again with a snapshot that sees J.
# And the other way round: a transaction routed while a move waited for
# its query (the value still counted) must be one that query sees, also
# when it is not yet visible as route reads its commit.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"
. "$TEST_SRC/subq.sh"
. "$TEST_SRC/pgsession.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO projects VALUES (7, true), (8, false), (9, true)" \
	"INSERT INTO tasks VALUES (1, 7, 'a'), (2, 8, 'b'), (4, 9, 'd'), (5, 9, 'e')"
pipeline_start

Q='table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20active)&move_out=delete'

test_expect_success 'the snapshot' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	lines | grep "\"key\"" | sed "s/.*\"value\":{\"id\":\"\([0-9]*\)\".*/\1/" | sort >ids &&
	printf "1\n4\n5\n" >want && test_cmp want ids &&
	catch_up
'

test_expect_success 'a row moves out of a value that left, in a commit seen before an earlier one' '
	rp=$(stage_pid replicate) && test -n "$rp" &&
	kill -STOP "$rp" &&
	# T: project 9 leaves the subquery (tasks 4 and 5 go)
	pg_psql "UPDATE projects SET active = false WHERE id = 9" &&
	session a && exec 3>a.in &&
	session b && exec 4>b.in &&
	# K takes its xid first, J after it: J is at or above the xmax of
	# a snapshot that sees K, so in no xip list
	echo "BEGIN; UPDATE tasks SET project_id = 8 WHERE id = 4; SELECT '"'"'k ready'"'"';" >&4 &&
	wait_for b.out "k ready" &&
	echo "BEGIN; UPDATE tasks SET title = '"'"'j'"'"' WHERE id = 1; SELECT '"'"'pid '"'"' || pg_backend_pid();" >&3 &&
	wait_for a.out "^pid " &&
	hold a "$(sed -n "s/^pid //p" a.out)" ProcArrayEndTransaction &&
	sleep 0.5 &&
	echo "COMMIT;" >&3 &&
	until_held a &&
	# J is in the WAL, not visible; K commits and is visible
	echo "COMMIT; SELECT '"'"'k done'"'"';" >&4 &&
	wait_for b.out "k done" &&
	test_eq "" "$(echo "SELECT title FROM tasks WHERE id = 1 AND title = '"'"'j'"'"'" | pg_psql)" &&
	kill -CONT "$rp" &&
	# route reads T, queries, then reads J: give it time to splice
	sleep 2 &&
	touch a.release &&
	exec 3>&- 4>&- &&
	log_until "\"title\":\"j\"" "\"id\":\"5\"" &&
	grep -F "\"value\":{\"id\":\"4\"}" log | grep -q "\"operation\":\"delete\"" &&
	grep -F "\"value\":{\"id\":\"5\"}" log | grep -q "\"operation\":\"delete\""
'


test_expect_success 'a transaction routed while a move waits for its query is one that query sees' '
	# projects 8 and 9 come back, with a commit after them, so that
	# route'"'"'s move-in needs a marker: its connection'"'"'s last query
	rp=$(stage_pid replicate) && test -n "$rp" &&
	kill -STOP "$rp" &&
	pg_psql "UPDATE projects SET active = true WHERE id IN (8, 9)" &&
	pg_psql "UPDATE tasks SET title = '"'"'d2'"'"' WHERE id = 4" &&
	kill -CONT "$rp" &&
	log_until "\"id\":\"2\"" "\"id\":\"5\"" "\"title\":\"d2\"" &&
	catch_up &&
	rpid=$(echo "SELECT pid FROM pg_stat_activity WHERE query LIKE '"'"'%pg_logical_emit_message%'"'"' AND pid <> pg_backend_pid()" | pg_psql) &&
	test -n "$rpid" &&
	kill -STOP "$rp" &&
	# T1: project 9 leaves (task 5); T2: project 7 leaves (task 1)
	pg_psql "UPDATE projects SET active = false WHERE id = 9" &&
	pg_psql "UPDATE projects SET active = false WHERE id = 7" &&
	# route queries T1'"'"'s move, then waits in its marker
	hold r "$rpid" LogLogicalMessage &&
	kill -CONT "$rp" &&
	until_held r &&
	# J1, after the query: task 2 moves into project 7, committed in
	# the WAL, not visible
	session c && exec 5>c.in &&
	echo "BEGIN; UPDATE tasks SET project_id = 7 WHERE id = 2; SELECT '"'"'pid '"'"' || pg_backend_pid();" >&5 &&
	wait_for c.out "^pid " &&
	hold c "$(sed -n "s/^pid //p" c.out)" ProcArrayEndTransaction &&
	echo "COMMIT;" >&5 &&
	until_held c &&
	touch r.release &&
	# route splices T1'"'"'s deletes into J1, routes J1 with project 7
	# still counted, then queries T2'"'"'s move: give it time
	sleep 2 &&
	touch c.release &&
	exec 5>&- &&
	log_until "\"value\":{\"id\":\"5\"}" "\"value\":{\"id\":\"1\"}" &&
	grep -F "\"value\":{\"id\":\"2\"}" log | grep -q "\"operation\":\"delete\"" ||
	{ cat log >&2; return 1; }
'

test_done
