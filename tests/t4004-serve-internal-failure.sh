#!/bin/sh
# A request that hits an internal failure gets a 503 and serve keeps
# serving: the test hook $SHAPESYNC_TEST_FAIL_THREAD_START=1 makes the
# first shape creation's thread fail to start (as when the process is at
# its thread limit). Before, serve exited on it.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items VALUES (1, 'a'), (2, 'b')"
SHAPESYNC_TEST_FAIL_THREAD_START=1 serve_start --no-active-wait

test_expect_success 'the request whose creation thread fails gets a 503' '
	test_eq 503 "$(get "/v1/shape?table=items&offset=-1")" &&
	test_eq "{\"message\":\"Failed to create shape, please retry\"}" "$(cat b)" &&
	test_eq 1 "$(hdr retry-after)" &&
	test_eq no-store "$(hdr cache-control)" &&
	grep "warning: could not create shape .*: could not start a thread" "$TEST_DIR/serve.log"
'

test_expect_success 'serve is still serving, and the shape is created on retry' '
	kill -0 "$SERVE_PID" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")" &&
	grep -F "\"id\":\"1\"" b && grep -F "\"id\":\"2\"" b &&
	st=$(get /v1/health) && { test_eq 200 "$st" || test_eq 202 "$st"; }
'

test_expect_success 'the failed shape left nothing behind: one shape' '
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" ls >list &&
	test_eq 1 "$(grep -c items list)"
'

test_done
