#!/bin/sh
# Subquery shapes in route against PostgreSQL (issue 14, docs/subqueries.md):
# an outer shape whose deps name an inner shape that serve made, added to
# the registry by import, with a snapshot that sees nothing.
# route builds the inner shape's view from store's files, then writes each
# change's meta (tags, active_conditions, removed_tags) and a move frame
# for each value that leaves the subquery, exactly; after a restart the
# view comes from the files again; a move-in is queried and its lines
# written into the next transaction; removing the inner shape invalidates.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool, name text)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text)" \
	"INSERT INTO projects VALUES (7, true, 'p7'), (8, false, 'p8'), (9, true, 'p9')" \
	"INSERT INTO tasks VALUES (1, 7, 'a'), (2, 8, 'b')"

# replicate | route | store, with route's output kept in route.out
stages_tee() {
	( shapesync-replicate --registry "$SS_REGISTRY" |
	  shapesync-route --registry "$SS_REGISTRY" --dir "$SS_DATA" -v |
	  tee -a "$TEST_DIR/route.out" |
	  shapesync-store --registry "$SS_REGISTRY" --dir "$SS_DATA" \
		--sync-interval 2ms ) 2>>"$TEST_DIR/pipeline.log" &
	PIPELINE_PID=$!
}
shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" init >/dev/null
shapesync-replicate --registry "$SS_REGISTRY" --create-slot 2>>"$TEST_DIR/pipeline.log"
: >"$TEST_DIR/route.out"
stages_tee
serve_start

H=12345-1700000000000000
# md5 of the stack, the outer handle and a value: a tag and a pattern
tag() { printf 'single_stack%sv:%s' "$H" "$1" | md5sum | cut -c1-32; }
TABLES='"tables":[{"schema":"public","table":"tasks","columns":[["id","int4"],["project_id","int4"],["title","text"]]},{"schema":"public","table":"projects","columns":[["id","int4"],["active","bool"],["name","text"]]}]'

# outer ID HANDLE: an import line of the outer shape
outer() {
	printf '{"id":%s,"handle":"%s","definition":{"schema":"public","table":"tasks","where":"project_id IN (SELECT id FROM public.projects WHERE active)","params":[],"columns":null,"replica":"default","log":"full"},"snapshot_state":"complete","xmin":"1","xmax":"1","xip":[],"created":"1700000000000000","deps":{"inner":[%s],%s}}\n' \
		"$1" "$2" "$INNER" "$TABLES"
}

# frames TYPE: route's output frames of that type, one per line
frames() { grep "^{\"type\":\"$1\"" "$TEST_DIR/route.out"; }

test_expect_success 'the inner shape: serve makes it as any shape' '
	test_eq 200 "$(get "/v1/shape?table=projects&where=active&columns=id&offset=-1")" &&
	IH=$(hdr electric-handle) &&
	INNER=$(shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" show "$IH" |
		sed -n "s/^id: //p") &&
	test -n "$INNER" &&
	echo "$IH" >inner.handle
'
INNER=$(shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" show "$(cat inner.handle)" | sed -n 's/^id: //p')

test_expect_success 'an outer shape imported is activated, its view loaded from the files' '
	outer 5000 "$H" >outer.ndjson &&
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" import outer.ndjson &&
	wait_until "route loads the view" \
		"grep -q \"loaded 1 subquery view\" \"$TEST_DIR/pipeline.log\"" 30 &&
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" show "$H" >show &&
	grep -q "^depends on: $INNER\$" show &&
	# An imported shape skips creation: replicate publishes its table
	# when it sees it.
	wait_until "tasks is published" \
		"test \"\$(pg_psql \"SELECT count(*) FROM pg_publication_tables WHERE tablename = '"'"'tasks'"'"'\")\" = 1" 30
'

test_expect_success 'a change in the subquery: its meta; outside it: nothing' '
	pg_psql "INSERT INTO tasks VALUES (3, 9, '"'"'c'"'"')" \
		"INSERT INTO tasks VALUES (4, 8, '"'"'d'"'"')" \
		"INSERT INTO tasks VALUES (5, 7, '"'"'e'"'"')" &&
	wait_until "route passes them" "frames change | grep -q \"\\\"id\\\":\\\"5\\\"\"" 30 &&
	frames change | grep "\"id\":\"3\"" >c3 &&
	grep -q "\"shapes\":\[5000\],\"meta\":{\"5000\":{\"tags\":\[\"$(tag 9)\"\],\"active_conditions\":\[true\]}}}\$" c3 &&
	frames change | grep "\"id\":\"5\"" >c5 &&
	grep -q "\"meta\":{\"5000\":{\"tags\":\[\"$(tag 7)\"\],\"active_conditions\":\[true\]}}}\$" c5 &&
	! frames change | grep -q "\"id\":\"4\""
'

test_expect_success 'an update that moves a task between projects: removed_tags' '
	pg_psql "UPDATE tasks SET project_id = 9 WHERE id = 5" &&
	wait_until "route passes it" "frames change | grep -q \"\\\"op\\\":\\\"update\\\".*\\\"id\\\":\\\"5\\\"\"" 30 &&
	frames change | grep "\"op\":\"update\"" | grep "\"id\":\"5\"" >u5 &&
	grep -q "\"meta\":{\"5000\":{\"tags\":\[\"$(tag 9)\"\],\"active_conditions\":\[true\],\"removed_tags\":\[\"$(tag 7)\"\]}}}\$" u5
'

test_expect_success 'a project leaves the subquery: a move-out before its change' '
	pg_psql "UPDATE projects SET active = false WHERE id = 7" &&
	wait_until "route writes the move" "frames move | grep -q move-out" 30 &&
	frames move >moves &&
	test_eq 1 "$(wc -l <moves)" &&
	grep -q "\"event\":\"move-out\",\"shapes\":\[5000\],\"patterns\":{\"5000\":\[{\"pos\":0,\"value\":\"$(tag 7)\"}\]}}\$" moves &&
	grep -n "" "$TEST_DIR/route.out" | grep "\"type\":\"move\"\|\"projects\"\|\"id\":\"7\",\"active\":\"f\"" >order &&
	mv_line=$(grep -n "\"type\":\"move\"" "$TEST_DIR/route.out" | cut -d: -f1) &&
	ch_line=$(grep -n "\"type\":\"change\".*\"id\":\"7\",\"active\":\"f\"" "$TEST_DIR/route.out" | cut -d: -f1) &&
	test "$mv_line" -lt "$ch_line" &&
	sed -n "${ch_line}p" "$TEST_DIR/route.out" | grep -q "\"shapes\":\[$INNER\],\"moves\":{\"$INNER\":\"delete\"}}\$"
'

# At the top level: the pipeline's pid must reach the cleanup at exit.
stages_stop
stages_tee

test_expect_success 'after a restart the view comes from the files: 7 is out, 9 in' '
	pg_psql "INSERT INTO tasks VALUES (6, 7, '"'"'f'"'"')" \
		"INSERT INTO tasks VALUES (7, 9, '"'"'g'"'"')" &&
	wait_until "route passes them" "frames change | grep -q \"\\\"id\\\":\\\"7\\\",\\\"project_id\\\"\"" 30 &&
	test_eq 2 "$(grep -c "loaded 1 subquery view" "$TEST_DIR/pipeline.log")" &&
	! frames change | grep -q "\"id\":\"6\",\"project_id\"" &&
	frames change | grep "\"id\":\"7\",\"project_id\"" | grep -q "\"meta\":{\"5000\":{\"tags\":\[\"$(tag 9)\"\],\"active_conditions\":\[true\]}}}\$" &&
	test_eq 1 "$(frames move | wc -l)"
'

test_expect_success 'a project enters the subquery: a move-in, in the next transaction' '
	pg_psql "UPDATE projects SET active = true WHERE id = 8" &&
	wait_until "route writes the move-in" \
		"test \$(frames movein | grep -c \"\\\"shapes\\\":\[5000\]\") -ge 4" 30 &&
	frames movein | grep "\"shapes\":\[5000\]" >movein &&
	test_eq 4 "$(wc -l <movein)" &&
	node -e "
		const ls = require(\"fs\").readFileSync(\"movein\", \"utf8\").trim().split(\"\\n\").map(JSON.parse);
		for (const [i, f] of ls.entries()) {
			if (f.pos !== i || f.lsn !== ls[0].lsn || f.xid !== ls[0].xid) process.exit(1);
			console.log(f.message);
		}" >lines &&
	sed -n 1p lines | grep -q "^{\"headers\":{\"event\":\"move-in\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 8)\"}\],\"txids\":\[[0-9]*\]}}\$" &&
	sed -n 2,3p lines | grep -c "\"project_id\":\"8\",\"title\":\"[bd]\"},\"headers\":{\"operation\":\"insert\",\"relation\":\[\"public\",\"tasks\"\],\"is_move_in\":true,\"active_conditions\":\[true\],\"tags\":\[\"$(tag 8)\"\]}}\$" >n &&
	test_eq 2 "$(cat n)" &&
	sed -n 2,3p lines | grep -q "\"value\":{\"id\":\"2\",\"project_id\":\"8\",\"title\":\"b\"}" &&
	sed -n 2,3p lines | grep -q "\"value\":{\"id\":\"4\",\"project_id\":\"8\",\"title\":\"d\"}" &&
	sed -n 4p lines | grep -q "^{\"headers\":{\"control\":\"snapshot-end\"," &&
	! frames invalidate | grep -q "\"shapes\":\[5000\]"
'

test_expect_success 'the inner shape removed: its outer shapes are invalidated' '
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" rm "$(cat inner.handle)" >/dev/null &&
	wait_until "route invalidates it" "frames invalidate | grep -q \"\\\"shapes\\\":\[5000\]\"" 30 &&
	frames invalidate | grep "\"shapes\":\[5000\]" | grep -q "a subquery of shape 5000, was removed"
'

test_expect_success 'a state file whose move has an "out" that is no boolean: route says so and stops' '
	shapesync-db --registry bad.db --dir bad init >/dev/null &&
	for o in "\"yes\"" 1 null; do
		printf "{\"moveins\":[{\"shape\":5000,\"handle\":\"$H\",\"dep\":0,\"value\":[\"9\"],\"xid\":800,\"out\":%s,\"lsn\":\"0/1\"}]}" "$o" \
			>bad/route-moveins.json &&
		test_must_fail 3 shapesync-route --registry bad.db --dir bad </dev/null &&
		test_stderr_has "is not a move-in state: .out. is not a boolean" || return 1
	done &&
	printf "{\"moveins\":[{\"shape\":5000,\"handle\":\"$H\",\"dep\":0,\"value\":[\"9\"],\"xid\":800,\"out\":true,\"lsn\":\"0/1\"}]}" \
		>bad/route-moveins.json &&
	shapesync-route --registry bad.db --dir bad </dev/null
'

test_done
