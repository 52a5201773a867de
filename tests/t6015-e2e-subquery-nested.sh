#!/bin/sh
# Nested subqueries over HTTP (issue 14): tasks of the projects of the
# active orgs. serve makes the shape of orgs (I2), the shape of projects
# whose org is in it (I1: itself a subquery shape, with move_out=delete
# and replica=full so that every row that enters or leaves it is a line
# with its whole row), then the outer shape O. A project changing org
# moves its tasks through I1's changes; an org flipping moves I1's rows
# by a query, and route's view of I1 follows those lines: O gets its
# move-in (event, rows, snapshot-end) or move-out event byte for byte,
# with no refetch.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"
. "$TEST_SRC/subq.sh"

pg_start
pg_psql "CREATE TABLE orgs (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE projects (id int PRIMARY KEY, org_id int, name text)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO orgs VALUES (1, true), (2, false)" \
	"INSERT INTO projects VALUES (10, 1, 'p10'), (20, 2, 'p20'), (30, 1, 'p30')" \
	"INSERT INTO tasks VALUES (100, 10, 'a'), (200, 20, 'b'), (300, 30, 'c'), (301, 30, 'd')"
pipeline_start

Q='table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20org_id%20IN%20(SELECT%20id%20FROM%20orgs%20WHERE%20active))'
# the keys of O's rows a client holds: SELECT's
SEL="SELECT string_agg(id::text, ' ' ORDER BY id) FROM tasks WHERE project_id IN (SELECT id FROM projects WHERE org_id IN (SELECT id FROM orgs WHERE active))"
# row ID's insert line as a move-in (project P, title T)
movein_row() {
	echo "{\"key\":\"\\\"public\\\".\\\"tasks\\\"/\\\"$1\\\"\",\"value\":{\"id\":\"$1\",\"project_id\":\"$2\",\"title\":\"$3\"},\"headers\":{\"operation\":\"insert\",\"relation\":[\"public\",\"tasks\"],\"is_move_in\":true,\"active_conditions\":[true],\"tags\":[\"$(tag "$2")\"]}}"
}

# follow Q from -1 to up-to-date, every body into ./all
follow_all() {
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" || return 1
	hdr electric-handle >all.handle && cat b >all
	_i=0
	while ! grep -q up-to-date b; do
		test_eq 200 "$(get "/v1/shape?$Q&handle=$(cat all.handle)&offset=$(hdr electric-offset)")" || return 1
		cat b >>all
		_i=$((_i + 1)) && [ $_i -lt 100 ] || return 1
	done
}
# the ids of the rows a client holds after applying ./all as Electric's
# clients do with one subquery position: a move-out event drops the rows
# tagged with one of its patterns
held() { node -e '
	const t = require("fs").readFileSync("all", "utf8").replace(/\]\[/g, ",");
	const rows = new Map();
	for (const m of JSON.parse(t)) {
		const h = m.headers;
		if (h.event === "move-out") {
			const gone = new Set(h.patterns.map((p) => p.value));
			for (const [k, tags] of rows) if (tags.some((x) => gone.has(x))) rows.delete(k);
		} else if (h.operation === "delete") rows.delete(m.key);
		else if (h.operation) rows.set(m.key, h.tags || []);
	}
	console.log([...rows.keys()].map((k) => Number(k.replace(/.*\/"(.*)"$/, "$1"))).sort((a, b) => a - b).join(" "));'; }

test_expect_success 'the snapshot: the tasks of the projects of active orgs, tagged' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	lines >snap &&
	test_eq "100 300 301" "$(grep -o "\"key\":\"[^,]*" snap | grep -o "[0-9]*" | sort -n | tr "\n" " " | sed "s/ \$//")" &&
	grep -q "\"id\":\"100\",\"project_id\":\"10\",\"title\":\"a\"},\"headers\":{\"operation\":\"insert\",\"relation\":\[\"public\",\"tasks\"\],\"active_conditions\":\[true\],\"tags\":\[\"$(tag 10)\"\]}}" snap &&
	catch_up
'

test_expect_success 'the tree: O depends on I1 (move_out=delete, replica=full), I1 on I2' '
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" show "$(cat handle)" >show &&
	i1=$(sed -n "s/^depends on: //p" show) &&
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" ls --json >ls &&
	grep "^{\"id\":$i1," ls >i1 &&
	grep -q "\"table\":\"projects\",\"where\":\"org_id IN (SELECT id FROM public.orgs WHERE active)\"" i1 &&
	grep -q "\"replica\":\"full\"" i1 &&
	grep -q "\"move_out\":\"delete\"" i1 &&
	i2=$(sed -n "s/.*\"deps\":{\"inner\":\[\([0-9]*\)\].*/\1/p" i1) &&
	grep "^{\"id\":$i2," ls | grep -q "\"table\":\"orgs\",\"where\":\"active\""
'

test_expect_success 'a project changes org, out of the subquery: a move-out event' '
	pg_psql "UPDATE projects SET org_id = 2 WHERE id = 30" &&
	log_until move-out &&
	grep -q "^{\"headers\":{\"event\":\"move-out\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 30)\"}\],\"txids\":\[[0-9]*\]}}\$" log
'

test_expect_success 'a project changes org, into the subquery: a move-in, its rows, snapshot-end' '
	pg_psql "UPDATE projects SET org_id = 1 WHERE id = 20" &&
	log_until snapshot-end &&
	grep -v up-to-date log >got &&
	test_eq 3 "$(wc -l <got)" &&
	sed -n 1p got | grep -q "^{\"headers\":{\"event\":\"move-in\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 20)\"}\],\"txids\":\[[0-9]*\]}}\$" &&
	test_eq "$(movein_row 200 20 b)" "$(sed -n 2p got)"
'

test_expect_success 'an org leaves the inner subquery: one move-out event for its projects' '
	pg_psql "UPDATE orgs SET active = false WHERE id = 1" &&
	log_until move-out &&
	grep move-out log >mo &&
	test_eq 1 "$(wc -l <mo)" &&
	{ grep -q "^{\"headers\":{\"event\":\"move-out\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 10)\"},{\"pos\":0,\"value\":\"$(tag 20)\"}\],\"txids\":\[[0-9]*\]}}\$" mo ||
	  grep -q "^{\"headers\":{\"event\":\"move-out\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 20)\"},{\"pos\":0,\"value\":\"$(tag 10)\"}\],\"txids\":\[[0-9]*\]}}\$" mo; }
'

test_expect_success 'an org enters the inner subquery: the move-in of its project'"'"'s tasks' '
	pg_psql "UPDATE orgs SET active = true WHERE id = 2" &&
	log_until snapshot-end &&
	grep -v up-to-date log >got &&
	test_eq 4 "$(wc -l <got)" &&
	sed -n 1p got | grep -q "^{\"headers\":{\"event\":\"move-in\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 30)\"}\],\"txids\":\[[0-9]*\]}}\$" &&
	sed -n 2,3p got | sort >rows &&
	{ movein_row 300 30 c; movein_row 301 30 d; } | sort >want &&
	test_cmp want rows &&
	sed -n 4p got | grep -q "^{\"headers\":{\"control\":\"snapshot-end\""
'

test_expect_success 'a task of a project moved in follows; no refetch; a new client gets SELECT' '
	pg_psql "UPDATE tasks SET title = '"'"'c2'"'"' WHERE id = 300" &&
	log_until "\"operation\":\"update\"" &&
	grep -q "\"value\":{\"id\":\"300\",\"title\":\"c2\"}" log &&
	follow_all &&
	test_cmp handle all.handle &&
	test_eq "$(pg_psql "$SEL")" "$(held)"
'

test_expect_success 'the innermost table truncated: both shapes above it are invalidated (409)' '
	pg_psql "TRUNCATE orgs" &&
	i=0 &&
	while :; do
		c=$(poll) || return 1
		[ "$c" = 409 ] && break
		i=$((i + 1)) && [ $i -lt 50 ] || return 1
	done &&
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" ls --json >ls2 &&
	! grep -q "^{\"id\":$(sed -n "s/^depends on: //p" show)," ls2
'

test_done
