#!/bin/sh
# Move-ins survive kill -9 of every stage (issue 14): under `shapesync
# up`, a TanStack DB collection follows a subquery shape while writers
# move projects into and out of the subquery at random (each move-in a
# query, its lines spliced into the stream, recorded in route's state
# file until they are durable), and replicate, route, store and serve are
# each killed with SIGKILL in turn and restarted by up. The collection
# equals SELECT at every quiet point, each row once, and its client never
# got a 409: a move-in cut short is queried again after the restart, one
# already written is not written twice.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/up.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO projects SELECT i, i % 2 = 0 FROM generate_series(1, 12) i" \
	"INSERT INTO tasks SELECT i, 1 + i % 12, 't' || i FROM generate_series(1, 40) i"
# route -v: what each restart did with the recorded moves, in up.log
up_start --route-arg=-v

SEED=${SEED:-$(date +%s)}
say "SEED=$SEED (replay: SEED=$SEED sh $0)"

test_expect_success 'kill -9 of each stage in turn during move-ins: no refetch' '
	( cd "$TEST_SRC/e2e" && SERVE_URL=$SERVE_URL SUBQ_MODE=slow \
		SUBQ_PLAIN_SOFT=1 SUBQ_PROJECTS=12 node tanstack-subq.mjs \
		"project_id IN (SELECT id FROM projects WHERE active)" \
		"$SEED" 10 3 80 ) >out 2>err &
	node=$! &&
	kills=$(up_kill_each $node 0.4 shapesync-route shapesync-store shapesync-route \
		shapesync-replicate shapesync-serve shapesync-route \
		shapesync-store) &&
	wait $node || { cat out err >&2; return 1; }
	say "$kills stages killed" &&
	test $kills -ge 3 &&
	tail -n 1 out | grep -q "^ok\$" &&
	grep -q "^refetches 0\$" out
'

# The plain Shape with move_out=delete, on the same where: it once missed
# a move-in (a cancelled move dropped before its cancel was durable; fixed
# in c8377a0), which only this check saw, so the client reports a
# difference (SUBQ_PLAIN_SOFT) and goes on, and this test fails.
test_expect_success 'the plain Shape (move_out=delete) equals SELECT at every quiet point' '
	grep -q "^plain differs 0\$" out || { cat err >&2; return 1; }
'

test_expect_success 'the client got move-ins; route forgets them once durable' '
	say "$(grep "^move-ins" out)" &&
	grep -q "^move-ins [1-9]" out &&
	pg_psql "INSERT INTO tasks VALUES (9999, 1, '"'"'last'"'"')" &&
	wait_until "the state file goes" "! test -e \"$UP_DIR/data/route-moveins.json\"" 30
'

test_done
