#!/bin/sh
# examples/todo in headless Chromium against the real pipeline: the app
# built with Vite, served by its own server.mjs (which passes /v1/shape on
# to serve and logs each request it passes); two pages, a write in one
# appears in the other in both of its lists (useShape of
# @electric-sql/react and a TanStack DB electric collection), a reload
# resumes without any snapshot request reaching serve and stays live
# (tests/e2e/todo.mjs). Screenshots of each step in the test dir.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules
EX=$SS_ROOT/examples/todo
# The example's modules (its lock file) and its build, once at a time.
(
	flock 9
	{ [ -d "$EX/node_modules/@tanstack/electric-db-collection" ] ||
		npm ci --prefix "$EX" --no-audit --no-fund; } &&
	npm run --prefix "$EX" build
) 9>"$EX/.install.lock" >build.log 2>&1 || {
	echo "# building examples/todo failed:"; sed 's/^/#   /' build.log | tail -n 20
	exit 1
}

pg_start
pg_psql <<'SQL'
CREATE TABLE items (
	id bigint PRIMARY KEY,
	title text NOT NULL,
	status text NOT NULL DEFAULT 'todo',
	priority integer NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO items (id, title, status, priority) VALUES
	(1, 'Start shapesync up', 'done', 2),
	(2, 'Follow the items shape with curl', 'todo', 1),
	(3, 'Follow it with the TypeScript client', 'todo', 1),
	(4, 'Change a row in psql and watch it arrive', 'todo', 3),
	(5, 'Compose the stages by hand', 'todo', 0);
SQL
pipeline_start --long-poll-timeout 20000

SHAPE_URL=$SERVE_URL PORT=0 node "$EX/server.mjs" >access.log 2>app.err &
APP_PID=$!
test_at_exit 'kill $APP_PID'
wait_log access.log 0 'todo: listening on' $APP_PID 300 || exit 1
APP_URL=$(sed -n 's/^todo: listening on //p' access.log)

test_expect_success 'the app is served: its page and its built script' '
	curl -s "$APP_URL/" >index.html &&
	grep -q "<div id=\"root\"></div>" index.html &&
	js=$(sed -n "s|.*src=\"\(/assets/[^\"]*\.js\)\".*|\1|p" index.html) &&
	test_eq 200 "$(curl -s -o /dev/null -w "%{http_code}" "$APP_URL$js")"
'

test_expect_success 'two pages: a write in one appears in the other, a reload resumes' '
	(cd "$E2E" && timeout 300 node todo.mjs "$APP_URL" "$TEST_DIR/access.log" "$TEST_DIR") >node.out 2>&1 || {
		cat node.out; echo "--- app.err"; tail -n 20 app.err
		echo "--- serve.log"; tail -n 20 serve.log; false
	} &&
	cat node.out &&
	grep -q "^ok: two pages" node.out
'

kill $APP_PID
wait_end $APP_PID
test_expect_success 'the app server ends on SIGTERM with status 0' '
	test_eq 0 "$st"
'
pipeline_stop
test_done
