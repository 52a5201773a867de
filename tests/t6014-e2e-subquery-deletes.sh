#!/bin/sh
# move_out=delete over HTTP (issue 14): a subquery shape for clients that
# ignore move-out events (the plain @electric-sql/client Shape). Rows
# that leave because a value left the subquery come as deletes, byte for
# byte (key, the primary key or with replica=full every column, tags and
# active_conditions after the move), after the changes of the
# transaction that moved them; no move-out event; a value that leaves
# and comes back in one transaction moves nothing; move-ins as usual;
# the parameter is part of the shape's identity and must be valid; a
# generated column (not replicated) is in no row, as in the snapshot; the
# move-in rows follow a column added to the table; a NOT IN's row with a
# NULL stays while a value that joined the subquery waits for its
# deletes (and comes back before them); a change whose tags cannot be
# computed invalidates its shape.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"
. "$TEST_SRC/subq.sh"

pg_start
pg_psql "CREATE TABLE projects (id int PRIMARY KEY, active bool, name text)" \
	"CREATE TABLE tasks (id int PRIMARY KEY, project_id int, title text, twice int GENERATED ALWAYS AS (id * 2) STORED)" \
	"INSERT INTO projects VALUES (7, true, 'p7'), (8, false, 'p8'), (9, true, 'p9')" \
	"INSERT INTO tasks VALUES (1, 7, 'a'), (2, 8, 'b'), (3, NULL, 'c'), (4, 9, 'd'), (5, 9, 'e')"
pipeline_start

W='table=tasks&where=project_id%20IN%20(SELECT%20id%20FROM%20projects%20WHERE%20active)'
Q="$W&move_out=delete"
KEY='\"public\".\"tasks\"'
# del ID VALUE TAG: the delete line of task ID
del() {
	printf '{"key":"%s/\\"%s\\"","value":%s,"headers":{"operation":"delete","relation":["public","tasks"],"active_conditions":[false],"tags":["%s"]}}\n' \
		"$KEY" "$1" "$2" "$3"
}

test_expect_success 'the snapshot: the rows in the subquery, with tags; a shape of its own' '
	test_eq 200 "$(get "/v1/shape?$W&offset=-1")" &&
	hdr electric-handle >plain_handle &&
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	! test_cmp plain_handle handle 2>/dev/null &&
	lines | grep "\"key\"" | sed "s/.*\"value\":{\"id\":\"\([0-9]*\)\".*/\1/" | sort >ids &&
	printf "1\n4\n5\n" >want && test_cmp want ids &&
	catch_up
'

test_expect_success 'a project leaves: a delete per task, no move-out event' '
	pg_psql "UPDATE projects SET active = false WHERE id = 9" &&
	log_until "\"4\"" "\"5\"" &&
	grep -v up-to-date log | sort >got &&
	{ del 4 "{\"id\":\"4\"}" "$(tag 9)" && del 5 "{\"id\":\"5\"}" "$(tag 9)"; } | sort >want &&
	test_cmp want got &&
	! grep -q move-out log
'

test_expect_success 'a task changed where its project leaves: its update, then its delete' '
	pg_psql "BEGIN" "UPDATE tasks SET title = '"'"'a2'"'"' WHERE id = 1" \
		"UPDATE projects SET active = false WHERE id = 7" "COMMIT" &&
	log_until "\"operation\":\"delete\"" &&
	grep -v up-to-date log >got &&
	test_eq 2 "$(wc -l <got)" &&
	sed -n 1p got | grep -qF "\"value\":{\"id\":\"1\",\"title\":\"a2\"},\"headers\":{\"operation\":\"update\"" &&
	del 1 "{\"id\":\"1\"}" "$(tag 7)" >want &&
	sed -n 2p got >last && test_cmp want last
'

test_expect_success 'a project enters: the move-in, as for any subquery shape' '
	pg_psql "UPDATE projects SET active = true WHERE id = 8" &&
	log_until snapshot-end &&
	grep -v up-to-date log >got &&
	test_eq 3 "$(wc -l <got)" &&
	sed -n 1p got | grep -q "^{\"headers\":{\"event\":\"move-in\",\"patterns\":\[{\"pos\":0,\"value\":\"$(tag 8)\"}\]" &&
	sed -n 2p got | grep -q "\"value\":{\"id\":\"2\",\"project_id\":\"8\",\"title\":\"b\"},\"headers\":{\"operation\":\"insert\",\"relation\":\[\"public\",\"tasks\"\],\"is_move_in\":true"
'

test_expect_success 'a project that leaves and comes back in one transaction moves nothing' '
	pg_psql "BEGIN" "UPDATE projects SET active = false WHERE id = 8" \
		"UPDATE projects SET active = true WHERE id = 8" \
		"INSERT INTO tasks VALUES (6, 8, '"'"'f'"'"')" "COMMIT" &&
	log_until "\"id\":\"6\"" &&
	grep -v up-to-date log >got &&
	test_eq 1 "$(wc -l <got)" &&
	grep -q "\"operation\":\"insert\"" got
'

test_expect_success 'replica=full: the delete carries every column' '
	Q="$Q&replica=full" &&
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	catch_up &&
	pg_psql "UPDATE projects SET active = false WHERE id = 8" &&
	log_until "\"2\"" "\"6\"" &&
	grep -v up-to-date log | sort >got &&
	{ del 2 "{\"id\":\"2\",\"project_id\":\"8\",\"title\":\"b\"}" "$(tag 8)" &&
	  del 6 "{\"id\":\"6\",\"project_id\":\"8\",\"title\":\"f\"}" "$(tag 8)"; } | sort >want &&
	test_cmp want got
'

test_expect_success 'a column added: the move-in rows after it carry it (route asks the catalog again)' '
	pg_psql "ALTER TABLE tasks ADD COLUMN prio int DEFAULT 5" \
		"INSERT INTO tasks VALUES (7, 9, '"'"'g'"'"')" &&
	test_eq 409 "$(poll)" &&
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	catch_up &&
	pg_psql "UPDATE projects SET active = true WHERE id = 9" &&
	log_until snapshot-end &&
	grep -c "\"operation\":\"insert\",\"relation\":\[\"public\",\"tasks\"\],\"is_move_in\":true" log >n &&
	test_eq 3 "$(cat n)" &&
	test_eq 3 "$(grep -c "\"prio\":\"5\"" log)"
'

test_expect_success 'an unknown value: 400' '
	test_eq 400 "$(get "/v1/shape?$W&move_out=rows&offset=-1")" &&
	printf "%s" "{\"message\":\"Invalid request\",\"errors\":{\"move_out\":[\"is invalid\"]}}" >want &&
	test_cmp want b
'

# replicate stopped with SIGSTOP: the transactions are all committed
# before route reads the first of them, so its query's snapshot sees the
# others, which route then passes with the move not yet seen
test_expect_success 'NOT IN: a row with a NULL stays in while a value that joined the subquery is not yet seen' '
	pg_psql "CREATE TABLE archived (id int PRIMARY KEY)" &&
	Q="table=tasks&where=project_id%20NOT%20IN%20(SELECT%20id%20FROM%20archived)&move_out=delete" &&
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	lines | grep -q "\"id\":\"3\"" &&
	catch_up &&
	rp=$(stage_pid replicate) && test -n "$rp" &&
	kill -STOP "$rp" &&
	{
		pg_psql "INSERT INTO archived VALUES (7)" &&
		pg_psql "INSERT INTO tasks VALUES (10, NULL, '"'"'n'"'"')" &&
		pg_psql "DELETE FROM archived WHERE id = 7" &&
		pg_psql "UPDATE tasks SET title = '"'"'z'"'"' WHERE id = 5"
		_rc=$?
		kill -CONT "$rp"
		test "$_rc" = 0
	} &&
	log_until "\"title\":\"z\"" &&
	grep -q "\"id\":\"10\"" log &&
	! grep -q "\"operation\":\"delete\"" log
'

test_expect_success 'a change whose tags cannot be computed: its shape refetches, never a change without them' '
	pg_psql "CREATE TABLE owners (id int PRIMARY KEY, ok bool)" \
		"CREATE TABLE boxes (id int PRIMARY KEY, owner int)" \
		"INSERT INTO owners VALUES (1, true)" &&
	Q="table=boxes&where=owner%20IN%20(SELECT%20id%20FROM%20owners%20WHERE%20ok)%20OR%2010%20%2F%20(id%20-%208)%20%3E%201" &&
	test_eq 200 "$(get "/v1/shape?$Q&offset=-1")" &&
	hdr electric-handle >handle &&
	catch_up &&
	# the clause holds by its first disjunct; the second divides by zero
	pg_psql "INSERT INTO boxes VALUES (8, 1)" &&
	i=0 &&
	until [ "$(poll)" = 409 ]; do
		! grep -q "\"id\":\"8\"" b &&
		i=$((i + 1)) && [ $i -lt 20 ] || return 1
	done &&
	grep -q "cannot be computed: division by zero" "$TEST_DIR/pipeline.log"
'

test_done
