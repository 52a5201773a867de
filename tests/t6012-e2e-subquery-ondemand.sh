#!/bin/sh
# TanStack DB's electric collection in on-demand mode over a subquery
# shape: live queries over it load their rows as subsets of the shape
# (serve answers them with the rows' tags and active_conditions), and
# what the collection holds of each one's filter equals SELECT of the
# shape's where AND that filter once loaded and after rounds of random
# writers (tests/e2e/tanstack-subset.mjs). The shape is made with
# replica=full, as on-demand needs (shapesync-serve(1)). It found two
# races: a row that entered a live query's filter by a partial update was
# dropped by the client (replica=default), and a subset taken before its
# new shape's snapshot missed the transactions in between (t6011 pins
# that one).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO projects SELECT i, i % 2 = 0 FROM generate_series(1, 6) i" \
	"INSERT INTO tasks SELECT i, NULLIF(1 + i % 7, 7), 't' || i FROM generate_series(1, 40) i"
pipeline_start

SEED=${SEED:-$(date +%s)}
say "SEED=$SEED (replay: SEED=$SEED sh $0)"

# A failing run's output stays in failed.out and failed.err of the kept
# test dir (the tests after it write out and err again).
run() {
	( cd "$TEST_SRC/e2e" && SERVE_URL=$SERVE_URL \
		node tanstack-subset.mjs "$1" "$SEED" 3 3 20 ) >out 2>err ||
		{ cat out err >&2; cp out failed.out; cp err failed.err; return 1; }
	tail -n 1 out | grep -q '^ok$'
}

test_expect_success 'on-demand: project_id IN (SELECT id FROM projects WHERE active)' '
	run "project_id IN (SELECT id FROM projects WHERE active)"
'

test_expect_success 'on-demand: an OR of a subquery and a plain predicate' '
	run "project_id IN (SELECT id FROM projects WHERE active) OR title LIKE '"'"'%x%'"'"'"
'

test_expect_success 'on-demand: NOT IN' '
	run "project_id NOT IN (SELECT id FROM projects WHERE NOT active)"
'

test_done
