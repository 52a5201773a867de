#!/bin/sh
# bench/subq/latency.sh — commit-to-client latency of a subquery shape's
# move-ins and move-outs next to an ordinary change, same run (issue 14;
# Electric's users report moves taking seconds, its issues #3770, #3928):
# `shapesync up` on its own
# PostgreSQL, one long-polling client (bench/subq/latency.mjs), projects
# with CHILDREN tasks each flipping in and out of the subquery.
# A second client follows the same where with move_out=delete (the plain
# client's mode): the deletes of a project's tasks when it leaves.
# Usage: SS_BUILD=build sh bench/subq/latency.sh  (SAMPLES, CHILDREN)
set -eu
SAMPLES=${SAMPLES:-50}
CHILDREN=${CHILDREN:-"1 1000"}
. "$(dirname "$0")/../electric/common.sh"

ew_start
# projects 100000..: inactive, CHILDREN tasks each (the largest count)
max=0
for c in $CHILDREN; do [ "$c" -gt "$max" ] && max=$c; done
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"CREATE INDEX ON tasks (project_id)" \
	"INSERT INTO projects VALUES (1, true)" \
	"INSERT INTO projects SELECT 100000 + i, false FROM generate_series(0, $SAMPLES - 1) i" >/dev/null
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-8s %7s %8s %8s %8s\n' kind children samples p50_ms p95_ms max_ms
first=1
for c in $CHILDREN; do
	# each pass with shapes of its own (a shape of the pass before would
	# get its move-ins and deletes queried too, route waiting for them)
	[ $first = 1 ] || ew_restart >/dev/null
	first=0
	pg_psql "DELETE FROM tasks" \
		"INSERT INTO tasks SELECT 200000 + g * $max + k, 100000 + g, 't' FROM generate_series(0, $SAMPLES - 1) g, generate_series(1, $c) k" >/dev/null
	( cd "$EW_ROOT/tests/e2e" && SERVE_URL=$SERVE_URL \
		node "$EW_ROOT/bench/subq/latency.mjs" "$SAMPLES" "$c" ) |
		while read -r kind n p50 p95 mx; do
			printf '%-9s %-8s %7s %8s %8s %8s\n' "$kind" "$c" "$n" "$p50" "$p95" "$mx"
		done
done
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
up_stop >/dev/null 2>&1 || true
