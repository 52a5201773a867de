#!/bin/sh
# A move-in query cannot hold the pipeline for ever (issue 14): route
# routes nothing while a query runs, so a query blocked by a lock (a long
# ALTER TABLE, a LOCK) fails after --movein-timeout and its shape is
# invalidated (its clients refetch), and every other shape goes on:
# here a shape of another table gets its change while the lock is still
# held. Once the lock is gone the shape, made again, equals SELECT.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"
. "$TEST_SRC/subq.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO projects VALUES (7, true), (8, false)" \
	"INSERT INTO tasks VALUES (1, 7, 'a'), (2, 8, 'b'), (3, 8, 'c')"
ROUTE_ARGS="--movein-timeout 1s"
pipeline_start

Q='table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20active)'
P='table=projects'

# locked: 1 while a session holds tasks' ACCESS EXCLUSIVE lock
locked() {
	test "$(pg_psql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'tasks' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1
}

test_expect_success 'setup: a subquery shape and a shape of projects, followed' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	catch_up &&
	test_eq 200 "$(get "/v1/shape?$P&offset=-1")" &&
	hdr electric-handle >phandle &&
	hdr electric-offset >poff
'

test_expect_success 'a move-in blocked by a lock: 409 after the timeout, the others go on meanwhile' '
	{ pg_psql "BEGIN" "LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE" \
		"SELECT pg_sleep(120)" "COMMIT" >/dev/null 2>&1 & } &&
	wait_until "tasks locked" locked 30 &&
	pg_psql "UPDATE projects SET active = true WHERE id = 8" &&
	i=0 &&
	until [ "$(poll)" = 409 ]; do
		i=$((i + 1)) && [ $i -lt 20 ] || return 1
	done &&
	i=0 &&
	until grep -q "\"active\":\"t\"" b 2>/dev/null && grep -q "\"id\":\"8\"" b; do
		test_eq 200 "$(get "/v1/shape?$P&handle=$(cat phandle)&offset=$(cat poff)&live=true")" &&
		hdr electric-offset >poff &&
		i=$((i + 1)) && [ $i -lt 20 ] || return 1
	done &&
	locked &&
	grep -q "statement timeout" "$TEST_DIR/pipeline.log"
'

test_expect_success 'the lock gone, the shape made again equals SELECT' '
	pg_psql "SELECT pg_terminate_backend(pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = '"'"'tasks'"'"' AND l.mode = '"'"'AccessExclusiveLock'"'"'" >/dev/null &&
	wait_until "tasks unlocked" "! locked" 30 &&
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	lines | grep "\"key\"" | sed "s/.*\"value\":{\"id\":\"\([0-9]*\)\".*/\1/" | sort >ids &&
	pg_psql "SELECT id FROM tasks WHERE project_id IN (SELECT id FROM projects WHERE active) ORDER BY id" >want &&
	test_cmp want ids
'

test_done
