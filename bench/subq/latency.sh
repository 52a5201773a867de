#!/bin/sh
# bench/subq/latency.sh — commit-to-client latency of a subquery shape's
# move-ins and move-outs next to an ordinary change, same run (issue 14;
# Electric's users report moves taking seconds, its issues #3770, #3928):
# `shapesync up` on its own
# PostgreSQL, one long-polling client (bench/subq/latency.mjs), projects
# with CHILDREN tasks each flipping in and out of the subquery.
# A second client follows the same where with move_out=delete (the plain
# client's mode): the deletes of a project's tasks when it leaves. A
# third follows a where two levels deep: an org flipping moves its
# project's tasks (two queries: the projects' shape's, then the tasks').
# Usage: SS_BUILD=build sh bench/subq/latency.sh  (SAMPLES, CHILDREN)
set -eu
SAMPLES=${SAMPLES:-50}
CHILDREN=${CHILDREN:-"1 1000"}
. "$(dirname "$0")/../electric/common.sh"

ew_start
# projects 100000..: inactive, CHILDREN tasks each (the largest count)
max=0
for c in $CHILDREN; do [ "$c" -gt "$max" ] && max=$c; done
# (and org 500000 + i, inactive, holding project 100000 + i: two levels)
pg_psql "CREATE TABLE orgs (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE projects (id int PRIMARY KEY, active bool, org_id int)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"CREATE INDEX ON tasks (project_id)" \
	"CREATE INDEX ON projects (org_id)" \
	"INSERT INTO projects VALUES (1, true, NULL)" \
	"INSERT INTO orgs SELECT 500000 + i, false FROM generate_series(0, $SAMPLES - 1) i" \
	"INSERT INTO projects SELECT 100000 + i, false, 500000 + i FROM generate_series(0, $SAMPLES - 1) i" >/dev/null
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-8s %7s %8s %8s %8s\n' kind children samples p50_ms p95_ms max_ms
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
			printf '%-10s %-8s %7s %8s %8s %8s\n' "$kind" "$c" "$n" "$p50" "$p95" "$mx"
		done
done
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
up_stop >/dev/null 2>&1 || true
