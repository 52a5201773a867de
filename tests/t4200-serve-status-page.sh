#!/bin/sh
# serve's operator's page (--metrics-port, at /) in headless Chromium over
# the real pipeline: it shows exactly what /metrics says and follows it
# live (shapes, bytes served, clients waiting, a stage going stale and
# coming back); see tests/e2e/statuspage.mjs. Screenshots of each step are
# in the test dir, kept when the test fails.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules
pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5) g"
MPORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
	() => { console.log(s.address().port); s.close(); })')
pipeline_start --metrics-port "$MPORT" --long-poll-timeout 60000
METRICS_URL=http://127.0.0.1:$MPORT
export METRICS_URL

test_expect_success 'the page is served at / of the metrics port, not of the public port' '
	test_eq 200 "$(curl -s -o page.html -D h -w "%{http_code}" "$METRICS_URL/")" &&
	grep -qi "^content-type: text/html; charset=utf-8" h &&
	head -n 1 page.html | grep -qx "<!doctype html>" &&
	test_eq 200 "$(get /)" && test_eq 0 "$(wc -c <b)"
'

test_expect_success 'in Chromium the page shows /metrics and follows it live' '
	pid=$(stage_pid route) && test -n "$pid" &&
	(cd "$E2E" && timeout 300 node statuspage.mjs "$TEST_DIR" "$pid") >node.out 2>&1 || {
		cat node.out; echo "--- serve.log"; tail -n 20 serve.log; false
	} &&
	cat node.out &&
	test_eq 6 "$(grep -c "^ok: " node.out)" &&
	test -s statuspage-6.png
'

pipeline_stop
test_done
