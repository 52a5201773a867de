#!/bin/sh
# Subsets of subquery shapes over HTTP,
# as Electric: the rows of the shape's where, its subquery evaluated by
# PostgreSQL in the subset's own snapshot, AND subset__where, ordered and
# limited, each row with the headers of the shape's snapshot rows (tags,
# active_conditions) after the snapshot mark; the shape's params and the
# subset's params each apply; byte for byte. A subquery in subset__where
# is still Electric's 400.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO projects VALUES (7, true), (8, false), (9, true), (10, false)" \
	"INSERT INTO tasks VALUES (1, 7, 'a'), (2, 8, 'b'), (3, NULL, 'c'), (4, 9, 'd'), (5, 9, 'e'), (6, 8, 'pin')"
pipeline_start

# Two disjuncts: position 0 the subquery, position 1 title = $1 (a shape
# param); a row's tags are ["<md5>/","/1"].
SQ='project_id IN (SELECT id FROM projects WHERE active)'
Q="table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20active)%20OR%20title%20%3D%20%241&params%5B1%5D=pin"
# tag HANDLE VALUE: md5 of the stack, the shape's handle and "v:VALUE"
tag() { printf 'single_stack%sv:%s' "$1" "$2" | md5sum | cut -c1-32; }
# row ID PROJECT TITLE AC TAGS: a subset row as serve writes it (the mark
# from ./mark)
row() {
	printf '{"key":"\\"public\\".\\"tasks\\"/\\"%s\\"","value":{"id":"%s","project_id":"%s","title":"%s"},"headers":{"operation":"insert","relation":["public","tasks"],"snapshot_mark":%s,"active_conditions":[%s],"tags":[%s]}}' \
		"$1" "$1" "$2" "$3" "$(cat mark)" "$4" "$5"
}
# data: check the metadata of ./b, its mark to ./mark, the rest (the
# data array) to ./rows
data() {
	grep -q '^{"metadata":{"xmin":"[0-9]*","xmax":"[0-9]*","xip_list":\[[0-9",]*\],"database_lsn":"[0-9]*","snapshot_mark":[0-9]*},"data":\[' b &&
	sed 's/^{"metadata":{[^}]*"snapshot_mark":\([0-9]*\)},.*/\1/' b >mark &&
	sed 's/^{"metadata":{[^}]*},//' b >rows
}
# ids SQL: the ids PostgreSQL selects, comma separated
ids() { pg_psql "$1" | paste -sd, -; }
# json_ids: the ids of ./b's rows, in order, comma separated
json_ids() { node -e '
	const b = JSON.parse(require("fs").readFileSync("b", "utf8"));
	console.log(b.data.map(r => r.value.id).join());'; }

test_expect_success 'the shape: its snapshot rows' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	cp b snap
'

test_expect_success 'a subset: where, params, order_by, limit; rows byte for byte' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1&subset__where=id%20%3E%20%241&subset__params=%7B%221%22%3A%221%22%7D&subset__order_by=id%20desc&subset__limit=3")" &&
	test_eq true "$(hdr electric-snapshot)" &&
	test_eq "$(cat handle)" "$(hdr electric-handle)" &&
	data && h=$(cat handle) &&
	test_eq "\"data\":[$(row 6 8 pin false,true "\"$(tag $h 8)/\",\"/1\""),$(row 5 9 e true,false "\"$(tag $h 9)/\",\"/1\""),$(row 4 9 d true,false "\"$(tag $h 9)/\",\"/1\"")]}" "$(cat rows)" &&
	test_eq "$(ids "SELECT id FROM tasks WHERE ($SQ OR title = '"'"'pin'"'"') AND id > 1 ORDER BY id DESC LIMIT 3")" "$(json_ids)"
'

test_expect_success 'subset rows carry the headers of the shape'"'"'s snapshot rows' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1&subset__order_by=id")" &&
	node -e "
		const fs = require(\"fs\");
		const snap = JSON.parse(fs.readFileSync(\"snap\", \"utf8\")).filter(m => m.key);
		const sub = JSON.parse(fs.readFileSync(\"b\", \"utf8\")).data;
		const a = snap.map(m => JSON.stringify(m));
		const b = sub.map(m => { delete m.headers.snapshot_mark; return JSON.stringify(m); });
		a.sort(); b.sort();
		if (a.length !== 4 || a.join() !== b.join())
			throw new Error(a.join() + \" != \" + b.join());
	"
'

test_expect_success 'a row outside the shape is outside every subset' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1&subset__where=project_id%20IS%20NULL%20OR%20id%20%3D%202")" &&
	data && test_eq "\"data\":[]}" "$(cat rows)"
'

test_expect_success 'POST: the body'"'"'s subset, limit and offset' '
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1" -X POST -H "content-type: application/json" \
		-d "{\"subset\":{\"where\":\"project_id = \$1\",\"params\":{\"1\":\"9\"},\"order_by\":\"title DESC\",\"limit\":1,\"offset\":1}}")" &&
	data && h=$(cat handle) &&
	test_eq "\"data\":[$(row 4 9 d true,false "\"$(tag $h 9)/\",\"/1\"")]}" "$(cat rows)"
'

test_expect_success 'the subquery is PostgreSQL'"'"'s, in the subset'"'"'s snapshot' '
	pg_psql "UPDATE projects SET active = true WHERE id = 8" &&
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1&subset__where=project_id%20%3D%208&subset__order_by=id")" &&
	data && h=$(cat handle) &&
	test_eq "\"data\":[$(row 2 8 b true,false "\"$(tag $h 8)/\",\"/1\""),$(row 6 8 pin true,true "\"$(tag $h 8)/\",\"/1\"")]}" "$(cat rows)"
'

test_expect_success 'a subquery in subset__where: Electric'"'"'s 400' '
	test_eq 400 "$(get "/v1/shape?$Q&offset=-1&subset__where=id%20IN%20(SELECT%20id%20FROM%20projects)")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"where\":\"Subqueries are not allowed in subsets\"}}}" "$(cat b)" &&
	test_eq 400 "$(get "/v1/shape?$Q&offset=-1" -X POST -H "content-type: application/json" \
		-d "{\"where\":\"project_id NOT IN (SELECT id FROM projects)\"}")" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"where\":\"Subqueries are not allowed in subsets\"}}}" "$(cat b)"
'

# NOT IN, log=changes_only (what TanStack DB's on-demand mode asks for)
# and a column list without the left side: one position, negated; tags
# hash project_id all the same.
NQ="table=tasks&columns=id,title&log=changes_only&where=project_id%20NOT%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20NOT%20active)"

test_expect_success 'NOT IN, changes_only, columns: a subset of every row in the shape' '
	test_eq 200 "$(get "/v1/shape?$NQ&offset=-1")" &&
	hdr electric-handle >nhandle &&
	! grep -q "\"key\"" b &&
	test_eq 200 "$(get "/v1/shape?$NQ&offset=-1&subset__order_by=id")" &&
	data && h=$(cat nhandle) &&
	: > want &&
	for r in "1 7 a" "2 8 b" "4 9 d" "5 9 e" "6 8 pin"; do
		set -- $r && i=$1 p=$2 t=$3 &&
		printf "%s{\"key\":\"\\\\\"public\\\\\".\\\\\"tasks\\\\\"/\\\\\"%s\\\\\"\",\"value\":{\"id\":\"%s\",\"title\":\"%s\"},\"headers\":{\"operation\":\"insert\",\"relation\":[\"public\",\"tasks\"],\"snapshot_mark\":%s,\"active_conditions\":[true],\"tags\":[\"%s\"]}}" \
			"$(test -s want && echo ,)" "$i" "$i" "$t" "$(cat mark)" "$(tag $h $p)" >>want || return 1
	done &&
	test_eq "\"data\":[$(cat want)]}" "$(cat rows)" &&
	test_eq "$(ids "SELECT id FROM tasks WHERE project_id NOT IN (SELECT id FROM projects WHERE NOT active) ORDER BY id")" "$(json_ids)"
'

# A subset that creates its shape (TanStack DB's on-demand mode: offset
# now, log=changes_only, no handle yet) is taken once the shape's own
# snapshot is, and its electric-offset is the log's place at that point,
# never "now": a transaction committed while the shape was being made
# (here while route, stopped, had not marked it) is in the subset, and
# one committed after the subset is in the log after that offset. (A
# subset taken at once would miss the first: the shape's snapshot, which
# holds no row, would see it, so the log would skip it.)
# subset_while_made INSERT-SQL WHERE CURL-ARG...: with route stopped, a
# subset request (curl CURL-ARG..., to ./sb and ./h) that makes its shape
# and waits, and INSERT-SQL committed meanwhile; the subset's rows must be
# SELECT's of tasks WHERE (./b) and its electric-offset not "now".
subset_while_made() {
	_sql=$1 _w=$2
	shift 2
	rp=$(stage_pid route) && test -n "$rp" &&
	kill -STOP "$rp" &&
	{
		{ curl -g -s -o sb -D h "$@" & } &&
		_cp=$! &&
		sleep 1 &&
		pg_psql "$_sql"
		_rc=$?
		kill -CONT "$rp"
		test "$_rc" = 0
	} &&
	wait $_cp &&
	cp sb b && data &&
	test_eq "$(ids "SELECT id FROM tasks WHERE $_w ORDER BY id")" \
		"$(json_ids | tr , "\n" | sort -n | paste -sd,)" &&
	test "$(hdr electric-offset)" != now
}
LQ="table=tasks&log=changes_only&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20NOT%20active)"

test_expect_success 'a subset at now waits for its new shape'"'"'s snapshot: nothing lost between them' '
	subset_while_made "INSERT INTO tasks VALUES (50, 8, '"'"'late'"'"')" \
		"project_id IN (SELECT id FROM projects WHERE NOT active)" \
		"$SERVE_URL/v1/shape?$LQ&offset=now&subset__where=id%20%3E%200" &&
	h=$(hdr electric-handle) && o=$(hdr electric-offset) &&
	pg_psql "INSERT INTO tasks VALUES (51, 10, '"'"'after'"'"')" &&
	for i in $(seq 1 100); do
		test_eq 200 "$(get "/v1/shape?$LQ&handle=$h&offset=$o")" &&
		if grep -q "\"id\":\"51\"" b; then break; fi &&
		sleep 0.1 || return 1
	done &&
	grep -q "\"id\":\"51\"" b &&
	! grep -q "\"id\":\"50\"" b
'

# The same through POST (the subset's fields in the body), which the
# client sends when it is set to: the request waits with its body read.
PQ="table=tasks&log=changes_only&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20active)"

test_expect_success 'a POST subset at now waits for its new shape'"'"'s snapshot too' '
	subset_while_made "INSERT INTO tasks VALUES (52, 7, '"'"'late'"'"')" \
		"project_id IN (SELECT id FROM projects WHERE active)" \
		-X POST -H "content-type: application/json" \
		-d "{\"where\":\"id > 0\"}" "$SERVE_URL/v1/shape?$PQ&offset=now"
'

test_done
