#!/bin/sh
# Subquery shapes survive kill -9 of every stage (issue 14; Electric drops
# them all on restart): under `shapesync up`, with a TanStack DB
# collection following a subquery shape while writers change both tables
# (projects only leaving the subquery, so nothing needs a refetch),
# replicate, route, store and serve are each killed with SIGKILL in turn
# and restarted by up. The collection equals SELECT at every quiet point
# and its client never got a 409: route rebuilt its views from the files.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/up.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO projects SELECT i, true FROM generate_series(1, 300) i" \
	"INSERT INTO tasks SELECT i, 1 + i % 300, 't' || i FROM generate_series(1, 40) i"
up_start

SEED=${SEED:-$(date +%s)}
say "SEED=$SEED (replay: SEED=$SEED sh $0)"

test_expect_success 'kill -9 of each stage in turn: the collection follows, no refetch' '
	( cd "$TEST_SRC/e2e" && SERVE_URL=$SERVE_URL SUBQ_MODE=outs \
		SUBQ_PROJECTS=300 node tanstack-subq.mjs \
		"project_id IN (SELECT id FROM projects WHERE active)" \
		"$SEED" 6 3 80 ) >out 2>err &
	node=$! &&
	kills=$(up_kill_each $node 0.5 shapesync-route shapesync-store shapesync-replicate \
		shapesync-serve shapesync-route shapesync-store) &&
	wait $node || { cat out err >&2; return 1; }
	say "$kills stages killed" &&
	test $kills -ge 3 &&
	tail -n 1 out | grep -q "^ok\$" &&
	grep -q "^refetches 0\$" out
'

test_done
