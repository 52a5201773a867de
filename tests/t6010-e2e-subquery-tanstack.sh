#!/bin/sh
# TanStack DB's electric collection over a subquery shape (issue 14): with
# several writers changing both tables at random (projects moving in and
# out of the subquery, tasks moving between projects, both in one
# transaction, NULLs in the subquery's column), the collection equals
# SELECT after each quiet point, one level, an OR of a subquery and a
# plain predicate, an OR of two subqueries, and NOT IN. Values moving into a subquery are
# followed by move-ins (a query, spliced): the collection never refetches
# but where no pattern can say what changed (a NULL entering or leaving
# the subquery of a NOT IN). The plain @electric-sql/client Shape follows
# the same where with move_out=delete (move-outs as deletes) alongside,
# equal to SELECT at the same points. Also an AND of two subqueries, NULLs in the subquery's column (with IN
# and NOT IN), a row comparison (composite values), and two levels (a
# subquery in the subquery: orgs flip too).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

pg_start
pg_psql "CREATE TABLE orgs (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE projects (id int PRIMARY KEY, active bool, parent int, lead int, org_id int)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text, owner int)" \
	"INSERT INTO orgs VALUES (1, true), (2, false), (3, true)" \
	"INSERT INTO projects SELECT i, i % 2 = 0, NULLIF(i % 4, 0), 1 + i % 3, 1 + i % 3 FROM generate_series(1, 6) i" \
	"INSERT INTO tasks SELECT i, 1 + i % 6, 't' || i, NULLIF(i % 4, 0) FROM generate_series(1, 40) i"
pipeline_start

SEED=${SEED:-$(date +%s)}
say "SEED=$SEED (replay: SEED=$SEED sh $0)"

# A failing run's output stays in failed.out and failed.err of the kept
# test dir (the tests after it write out and err again).
run() {
	( cd "$TEST_SRC/e2e" && SERVE_URL=$SERVE_URL SUBQ_EXTRA=1 \
		SUBQ_NESTED=${NESTED:-0} \
		node tanstack-subq.mjs "$1" "$SEED" 4 3 25 ) >out 2>err ||
		{ cat out err >&2; cp out failed.out; cp err failed.err; return 1; }
	tail -n 1 out | grep -q '^ok$' &&
	say "$(grep -E '^(refetches|move-ins|deletes) ' out | tr '\n' ' ')" &&
	# the plain Shape saw rows leave as deletes (each round makes
	# projects leave; a shape that refetches may have seen them in a
	# new snapshot instead)
	if [ "${2-}" != refetches ]; then
		! grep -q "^deletes 0\$" out &&
		grep -q "^refetches 0\$" out || { cat out >&2; cp out failed.out; return 1; }
	fi
}

test_expect_success 'project_id IN (SELECT id FROM projects WHERE active)' '
	run "project_id IN (SELECT id FROM projects WHERE active)"
'

test_expect_success 'an OR of a subquery and a plain predicate' '
	run "project_id IN (SELECT id FROM projects WHERE active) OR title LIKE '"'"'%xx%'"'"'"
'

test_expect_success 'an OR of two subqueries (two positions, a tag each)' '
	run "project_id IN (SELECT id FROM projects WHERE active) OR project_id IN (SELECT parent FROM projects WHERE NOT active)"
'

test_expect_success 'NOT IN' '
	run "project_id NOT IN (SELECT id FROM projects WHERE NOT active)"
'

test_expect_success 'an AND of two subqueries (one position each, one tag)' '
	run "project_id IN (SELECT id FROM projects WHERE active) AND project_id IN (SELECT id FROM projects WHERE id > 2)"
'

test_expect_success 'NULLs in the subquery column' '
	run "project_id IN (SELECT parent FROM projects WHERE active)"
'

test_expect_success 'NOT IN with NULLs in the subquery column (a NULL entering or leaving refetches)' '
	run "project_id NOT IN (SELECT parent FROM projects WHERE active)" refetches
'

test_expect_success 'a row comparison (project_id, owner) IN (SELECT id, lead ...)' '
	run "(project_id, owner) IN (SELECT id, lead FROM projects WHERE active)"
'

# Two levels: the shape of the subquery is itself a subquery shape, whose
# rows move by queries when an org flips (tests/e2e: SUBQ_NESTED).
test_expect_success 'two levels: projects of active orgs' '
	NESTED=1 run "project_id IN (SELECT id FROM projects WHERE active AND org_id IN (SELECT id FROM orgs WHERE active))"
'

test_expect_success 'two levels, NOT IN inside, OR outside' '
	NESTED=1 run "project_id IN (SELECT id FROM projects WHERE org_id NOT IN (SELECT id FROM orgs WHERE NOT active)) OR title LIKE '"'"'%xx%'"'"'"
'

test_done
