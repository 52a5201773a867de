#!/bin/sh
# Subquery shapes over HTTP (issue 14; serve accepts them by default):
# serve creates the shape of the subquery, then the outer shape, whose
# snapshot rows carry Electric's tags and active_conditions computed by
# PostgreSQL; the log then carries the meta of each change and a move-out
# event when a value leaves the subquery, and the move-in event, rows
# and snapshot-end when one enters, byte for byte as Electric;
# a subset of such a shape has the same headers (t6011 has the rest);
# without the option, Electric's 400.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"
. "$TEST_SRC/subq.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool, name text)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO projects VALUES (7, true, 'p7'), (8, false, 'p8'), (9, true, 'p9')" \
	"INSERT INTO tasks VALUES (1, 7, 'a'), (2, 8, 'b'), (3, NULL, 'c')" \
	"CREATE TABLE parts (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k)" \
	"CREATE TABLE parts_1 PARTITION OF parts FOR VALUES IN (1)"
pipeline_start

Q='table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20active)'
test_expect_success 'the snapshot: the rows in the subquery, with tags and active_conditions' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	lines >snap &&
	grep "\"key\"" snap >rows &&
	test_eq 1 "$(wc -l <rows)" &&
	grep -q "^{\"key\":\"\\\\\"public\\\\\".\\\\\"tasks\\\\\"/\\\\\"1\\\\\"\",\"value\":{\"id\":\"1\",\"project_id\":\"7\",\"title\":\"a\"},\"headers\":{\"operation\":\"insert\",\"relation\":\[\"public\",\"tasks\"\],\"active_conditions\":\[true\],\"tags\":\[\"$(tag 7)\"\]}}\$" rows
'

test_expect_success 'changes carry their meta; an update removes the old tag' '
	i=0 &&
	while ! grep -q up-to-date b; do
		test_eq 200 "$(get "/v1/shape?$Q&handle=$(cat handle)&offset=$(hdr electric-offset)")" || return 1
		i=$((i + 1)) && [ $i -lt 50 ] || return 1
	done &&
	hdr electric-offset >off &&
	pg_psql "INSERT INTO tasks VALUES (4, 9, '"'"'d'"'"')" \
		"UPDATE tasks SET project_id = 9 WHERE id = 1" &&
	log_until "\"operation\":\"update\"" &&
	grep -q "\"value\":{\"id\":\"4\",\"project_id\":\"9\",\"title\":\"d\"},\"headers\":{\"operation\":\"insert\",.*\"tags\":\[\"$(tag 9)\"\],\"active_conditions\":\[true\]" log &&
	grep "\"operation\":\"update\"" log >upd &&
	grep -q "\"tags\":\[\"$(tag 9)\"\],\"active_conditions\":\[true\],\"removed_tags\":\[\"$(tag 7)\"\]" upd
'

test_expect_success 'a project leaves the subquery: a move-out event' '
	pg_psql "UPDATE projects SET active = false WHERE id = 9" &&
	log_until move-out &&
	grep -q "^{\"headers\":{\"event\":\"move-out\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 9)\"}\],\"txids\":\[[0-9]*\]}}\$" log
'

test_expect_success 'a project enters the subquery: a move-in event, its rows, snapshot-end' '
	pg_psql "UPDATE projects SET active = true WHERE id = 8" &&
	log_until snapshot-end &&
	grep -v up-to-date log >got &&
	test_eq 3 "$(wc -l <got)" &&
	sed -n 1p got | grep -q "^{\"headers\":{\"event\":\"move-in\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 8)\"}\],\"txids\":\[[0-9]*\]}}\$" &&
	sed -n 2p got | grep -q "^{\"key\":\"\\\\\"public\\\\\".\\\\\"tasks\\\\\"/\\\\\"2\\\\\"\",\"value\":{\"id\":\"2\",\"project_id\":\"8\",\"title\":\"b\"},\"headers\":{\"operation\":\"insert\",\"relation\":\[\"public\",\"tasks\"\],\"is_move_in\":true,\"active_conditions\":\[true\],\"tags\":\[\"$(tag 8)\"\]}}\$" &&
	sed -n 3p got | grep -q "^{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":\"[0-9]*\",\"xmax\":\"[0-9]*\",\"xip_list\":\[[0-9\",]*\]}}\$"
'

test_expect_success 'a change of a moved-in row follows it; no refetch' '
	pg_psql "UPDATE tasks SET title = '"'"'b2'"'"' WHERE id = 2" &&
	log_until "\"operation\":\"update\"" &&
	grep -q "\"value\":{\"id\":\"2\",\"title\":\"b2\"}" log
'

test_expect_success 'a project enters with no task: the move-in event alone' '
	pg_psql "INSERT INTO projects VALUES (10, true, '"'"'p10'"'"')" \
		"INSERT INTO tasks VALUES (11, 7, '"'"'marker'"'"')" &&
	log_until "\"id\":\"11\"" "$(tag 10)" &&
	grep -q "^{\"headers\":{\"event\":\"move-in\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 10)\"}\]" log &&
	! grep -q snapshot-end log
'

test_expect_success 'a subset of a subquery shape: rows with tags and active_conditions' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1&handle=$(cat handle)&subset__order_by=id&subset__limit=1")" &&
	grep -q "\"data\":\[{\"key\":\"\\\\\"public\\\\\".\\\\\"tasks\\\\\"/\\\\\"2\\\\\"\",\"value\":{\"id\":\"2\",\"project_id\":\"8\",\"title\":\"b2\"},\"headers\":{\"operation\":\"insert\",\"relation\":\[\"public\",\"tasks\"\],\"snapshot_mark\":[0-9]*,\"active_conditions\":\[true\],\"tags\":\[\"$(tag 8)\"\]}}\]}\$" b
'

test_expect_success 'nested subqueries are shapes (t6015 follows them); deeper than 4 levels, a 400' '
	test_eq 200 "$(get "/v1/shape?table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20id%20IN%20(SELECT%20project_id%20FROM%20tasks))&offset=-1")" &&
	S="SELECT%20project_id%20FROM%20tasks" &&
	W="project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20id%20IN%20($S%20WHERE%20project_id%20IN%20($S%20WHERE%20project_id%20IN%20($S%20WHERE%20project_id%20IN%20($S)))))" &&
	test_eq 400 "$(get "/v1/shape?table=tasks&where=$W&offset=-1")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"where\":[\"subqueries are nested more than 4 levels deep\"]}}" "$(cat b)" &&
	W="project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20id%20IN%20($S%20WHERE%20project_id%20IN%20($S%20WHERE%20project_id%20IN%20($S))))" &&
	test_eq 200 "$(get "/v1/shape?table=tasks&where=$W&offset=-1")"
'

test_expect_success 'subqueries over partitioned tables, inner or outer, are shapes (t6013 follows them)' '
	test_eq 200 "$(get "/v1/shape?table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20parts)&offset=-1")" &&
	test_eq 200 "$(get "/v1/shape?table=parts&where=id%20IN%20(SELECT%20id%20FROM%20projects)&offset=-1")"
'

test_expect_success 'shapesync-db show: the outer shape depends on the subquery shape' '
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" show "$(cat handle)" >show &&
	grep -q "^depends on: [0-9]*\$" show
'

test_expect_success 'shapesync-db ls: the tree, a line per subquery under its outer shape' '
	inner=$(sed -n "s/^depends on: //p" show) &&
	outer=$(sed -n "s/^id: //p" show) &&
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" ls >ls &&
	grep -A1 "^ *$outer $(cat handle) " ls >tree &&
	test_eq 2 "$(wc -l <tree)" &&
	sed -n 2p tree | grep -q "^ *._ subquery 1: shape $inner\$" &&
	test "$(sed -n 2p tree | tr -d " " | cut -c1)" = "$(printf "\134")" &&
	grep -q "^ *$inner [0-9-]* *public.projects " ls
'

serve_stop
serve_start --no-subqueries

test_expect_success 'with --no-subqueries: Electric'"'"'s 400 from before 1.7.10' '
	test_eq 400 "$(get "/v1/shape?$Q&offset=-1")" &&
	grep -q "Subqueries are not supported" b
'

serve_stop
serve_start --experimental-subqueries

test_expect_success 'by default (--experimental-subqueries is accepted, and changes nothing) the shape is there' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >again &&
	test_cmp handle again
'

test_done
