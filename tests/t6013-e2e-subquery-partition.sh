#!/bin/sh
# Subquery shapes over partitioned tables, outer and inner: TanStack DB's
# electric collection equals SELECT under random writers
# (tests/e2e/tanstack-subq.mjs with SUBQ_PART=1) while rows move between
# partitions (a task's project_id, a project's active: both partition
# keys), through two levels of partitions, and while partitions with rows
# are attached to both tables (the shapes on them are invalidated, as
# ordinary shapes are: the collection refetches once). The snapshot,
# subset and move-in rows, queried from the roots, carry their tags.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

pg_start
pg_psql "CREATE TABLE projects (id int, active bool, PRIMARY KEY (id, active)) PARTITION BY LIST (active)" \
	"CREATE TABLE projects_on PARTITION OF projects FOR VALUES IN (true) PARTITION BY RANGE (id)" \
	"CREATE TABLE projects_on_1 PARTITION OF projects_on FOR VALUES FROM (1) TO (100)" \
	"CREATE TABLE projects_off PARTITION OF projects FOR VALUES IN (false)" \
	"CREATE TABLE tasks (id int, project_id int, title text, PRIMARY KEY (id, project_id)) PARTITION BY RANGE (project_id)" \
	"CREATE TABLE tasks_a PARTITION OF tasks FOR VALUES FROM (1) TO (4)" \
	"CREATE TABLE tasks_b (title text, id int NOT NULL, project_id int NOT NULL)" \
	"ALTER TABLE tasks ATTACH PARTITION tasks_b FOR VALUES FROM (4) TO (100)" \
	"INSERT INTO projects SELECT i, i % 2 = 0 FROM generate_series(1, 6) i" \
	"INSERT INTO tasks SELECT i, 1 + i % 6, 't' || i FROM generate_series(1, 40) i"
pipeline_start

Q='table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20active)'
# tag VALUE: md5 of the stack, the shape's handle and "v:VALUE"
tag() { printf 'single_stack%sv:%s' "$(cat handle)" "$1" | md5sum | cut -c1-32; }
# lines: the body's messages, one compact JSON line each
lines() { node -e '
	const b = JSON.parse(require("fs").readFileSync("b", "utf8"));
	for (const m of b) console.log(JSON.stringify(m));'; }
# task ID PROJECT TITLE: the row of a task as the shape's messages hold it
task() {
	printf '{"key":"\\"public\\".\\"tasks\\"/\\"%s\\"/\\"%s\\"","value":{"id":"%s","project_id":"%s","title":"%s"}' \
		"$1" "$2" "$1" "$2" "$3"
}

test_expect_success 'the snapshot from the roots: rows of both partitions, tags' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	lines >snap &&
	grep -qF "$(task 3 4 t3),\"headers\":{\"operation\":\"insert\",\"relation\":[\"public\",\"tasks\"],\"active_conditions\":[true],\"tags\":[\"$(tag 4)\"]}}" snap &&
	grep -qF "$(task 1 2 t1)," snap &&
	test_eq 20 "$(grep -c "\"key\"" snap)"
'

test_expect_success 'a subset from the roots, with tags' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1&subset__where=id%20%3C%205&subset__order_by=id")" &&
	node -e "
		const b = JSON.parse(require(\"fs\").readFileSync(\"b\", \"utf8\"));
		console.log(b.data.map(r => r.value.id + \":\" + r.headers.tags[0]).join());
	" >got &&
	test_eq "1:$(tag 2),3:$(tag 4)" "$(cat got)"
'

test_expect_success 'a project moves between partitions into the subquery: the move-in from the root' '
	i=0 &&
	while ! grep -q up-to-date b; do
		test_eq 200 "$(get "/v1/shape?$Q&handle=$(cat handle)&offset=$(hdr electric-offset)")" || return 1
		i=$((i + 1)) && [ $i -lt 50 ] || return 1
	done &&
	pg_psql "UPDATE projects SET active = true WHERE id = 5" &&
	: >log && i=0 &&
	while ! grep -q snapshot-end log; do
		test_eq 200 "$(get "/v1/shape?$Q&handle=$(cat handle)&offset=$(hdr electric-offset)&live=true")" &&
		lines >>log || return 1
		i=$((i + 1)) && [ $i -lt 50 ] || return 1
	done &&
	grep -q "^{\"headers\":{\"event\":\"move-in\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 5)\"}\],\"txids\":\[[0-9]*\]}}\$" log &&
	test_eq 7 "$(grep -c "is_move_in" log)" &&
	grep -qF "$(task 4 5 t4),\"headers\":{\"operation\":\"insert\",\"relation\":[\"public\",\"tasks\"],\"is_move_in\":true,\"active_conditions\":[true],\"tags\":[\"$(tag 5)\"]}}" log
'

SEED=${SEED:-$(date +%s)}
say "SEED=$SEED (replay: SEED=$SEED sh $0)"

# run WHERE [ATTACH-SQL]: the collection equals SELECT after each quiet
# point; no refetch without ATTACH-SQL
run() {
	( cd "$TEST_SRC/e2e" && SERVE_URL=$SERVE_URL SUBQ_PART=1 \
		SUBQ_ATTACH_SQL=${2-} \
		node tanstack-subq.mjs "$1" "$SEED" 3 3 25 ) >out 2>err ||
		{ echo "where: $1" >&2; cat out err >&2; return 1; }
	tail -n 1 out | grep -q '^ok$' &&
	if [ -z "${2-}" ]; then
		grep -q "^refetches 0\$" out || { cat out >&2; return 1; }
	fi
}

test_expect_success 'partitioned outer and inner: project_id IN (SELECT id FROM projects WHERE active)' '
	run "project_id IN (SELECT id FROM projects WHERE active)"
'

test_expect_success 'NOT IN, and an OR with a plain predicate' '
	run "project_id NOT IN (SELECT id FROM projects WHERE NOT active)" &&
	run "project_id IN (SELECT id FROM projects WHERE active) OR title LIKE '"'"'%xx%'"'"'"
'

test_expect_success 'partitions with rows attached to both tables while the shape lives' '
	run "project_id IN (SELECT id FROM projects WHERE active)" "
		CREATE TABLE projects_on_2 (id int NOT NULL, active bool NOT NULL);
		INSERT INTO projects_on_2 VALUES (100, true), (101, true);
		ALTER TABLE projects_on ATTACH PARTITION projects_on_2 FOR VALUES FROM (100) TO (200);
		CREATE TABLE tasks_c (id int NOT NULL, project_id int NOT NULL, title text);
		INSERT INTO tasks_c VALUES (500, 100, '"'"'c500'"'"'), (501, 102, '"'"'c501'"'"');
		ALTER TABLE tasks ATTACH PARTITION tasks_c FOR VALUES FROM (100) TO (200)" &&
	grep -q "partitions attached: [0-9]* rows" out &&
	grep -q "^refetches [1-9]" out &&
	grep -q "joined with rows" pipeline.log
'

test_expect_success 'no change went without its meta; no stage failed' '
	! grep -q "no subquery meta\|cannot be computed\|could not be evaluated\|error:" pipeline.log
'

test_done
