#!/bin/sh
# Nested subqueries survive kill -9 of every stage and a restart of
# `shapesync up` (issue 14): a TanStack DB collection and the plain
# Shape (move_out=delete) follow the tasks of the active projects of the
# active orgs while writers flip orgs and projects and move projects and
# tasks at random. An org flipping moves rows of the projects' shape by
# a query; route's view of that shape follows those lines, and after a
# restart counts again the lines of a transaction that was not durable
# (lib/movein). The collection and the plain Shape equal SELECT at every
# quiet point, and no client got a 409.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/up.sh"

pg_start
pg_psql "CREATE TABLE orgs (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE projects (id int PRIMARY KEY, active bool, org_id int)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO orgs VALUES (1, true), (2, false), (3, true)" \
	"INSERT INTO projects SELECT i, i % 2 = 0, 1 + i % 3 FROM generate_series(1, 12) i" \
	"INSERT INTO tasks SELECT i, 1 + i % 12, 't' || i FROM generate_series(1, 40) i"
# Stress (not the default run): SS_ROUTE_KILLS=60 SS_ROUNDS=12 kills route
# 60 more times, 0.5 s apart, over 12 rounds, with up's restart backoff
# capped at 1 s; run it in a loop beside a CPU hog to find rare restart
# bugs (the 409 fixed in 230d29d took about ten such runs).
ROUTE_KILLS=${SS_ROUTE_KILLS:-0}
ROUNDS=${SS_ROUNDS:-3}
# route -v: what each restart did with the recorded moves, in up.log
if [ "$ROUTE_KILLS" -gt 0 ]; then
	up_start --route-arg=-v --restart-max 1
else
	up_start --route-arg=-v
fi

SEED=${SEED:-$(date +%s)}
say "SEED=$SEED (replay: SEED=$SEED sh $0)"
W="project_id IN (SELECT id FROM projects WHERE active AND org_id IN (SELECT id FROM orgs WHERE active))"

# client ROUNDS: the collection and the plain Shape under random writers,
# in the background (./out, ./err); $node its pid
client() {
	( cd "$TEST_SRC/e2e" && SERVE_URL=$SERVE_URL SUBQ_MODE=slow \
		SUBQ_PLAIN_SOFT=1 SUBQ_NESTED=1 SUBQ_PROJECTS=12 \
		node tanstack-subq.mjs \
		"$W" "$SEED" "$1" 3 60 ) >out 2>err &
	node=$!
}
# the client ended well: the collection equal to SELECT at every quiet
# point (its refetches are checked apart, below)
client_ok() {
	wait $node || { cat out err >&2; return 1; }
	tail -n 1 out | grep -q "^ok\$" || { cat out >&2; return 1; }
	say "$(grep -E "^(refetches|move-ins|deletes) " out | tr "\n" " ")"
}

test_expect_success 'kill -9 of each stage in turn during nested moves: the collection equals SELECT' '
	client $ROUNDS &&
	kills=$(up_kill_each $node 0.4 shapesync-route shapesync-store shapesync-route \
		shapesync-replicate shapesync-serve shapesync-route shapesync-store) &&
	more=$(up_kill_each $node 0.5 $(i=0; while [ $i -lt "$ROUTE_KILLS" ]; do
		echo shapesync-route; i=$((i + 1)); done)) &&
	kills=$((kills + more)) &&
	say "$kills stages killed" &&
	test $kills -ge 3 &&
	client_ok
'

# A move-out as deletes whose query found no row leaves no line in the
# shape's log: restored as if unwritten, it was queried again and the
# view failed to follow ("a row left the view that was never in it"), a
# 409 about once in ten runs of 60 route kills (fixed in 230d29d and
# fb380d9, test-movein).
test_expect_success 'no refetch' '
	grep -q "^refetches 0\$" out || { cat out >&2; return 1; }
'

# The plain Shape (move_out=delete) on the same where, as in t7202.
test_expect_success 'the plain Shape (move_out=delete) equals SELECT at every quiet point' '
	grep -q "^plain differs 0\$" out || { cat err >&2; return 1; }
'

# Stopped and started outside a test body: up is this shell's child.
port=${SERVE_URL##*:}
client 2
sleep 1
up_stop
up_start --route-arg=-v --port "$port"

test_expect_success 'shapesync up stopped and started again during nested moves: the collection equals SELECT' '
	i=0 &&
	while kill -0 $node 2>/dev/null; do
		sleep 1
		i=$((i + 1)) && [ $i -lt 600 ] || return 1
	done &&
	tail -n 1 out | grep -q "^ok\$" || { cat out err >&2; return 1; }
'

test_expect_success 'no refetch across the restart' '
	grep -q "^refetches 0\$" out || { cat out >&2; return 1; }
'

test_expect_success 'after the restart too, the plain Shape equals SELECT' '
	grep -q "^plain differs 0\$" out || { cat err >&2; return 1; }
'

test_done
