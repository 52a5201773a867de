#!/bin/sh
# End to end with the official @electric-sql/client (tests/e2e, node's test
# runner) against the whole pipeline: PostgreSQL, shapesync-replicate |
# shapesync-route | shapesync-store, and shapesync-serve.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

E2E=$TEST_SRC/e2e
if [ ! -d "$E2E/node_modules/@electric-sql/client" ]; then
	# The README's 'make deps && make check' has not run npm ci here.
	npm ci --prefix "$E2E" --no-audit --no-fund >npm.log 2>&1 || {
		echo "# npm ci in tests/e2e failed:"
		sed 's/^/#   /' npm.log | tail -n 20
		echo "# hint: run 'npm ci --prefix tests/e2e' (needs the npm registry)"
		exit 1
	}
fi

pg_start
pipeline_start --enable-delete --long-poll-timeout 3000 --sse-timeout 4000

test_expect_success 'the official client follows shapes through the pipeline' '
	node --test --test-force-exit --test-timeout=120000 --test-reporter=spec "$E2E/client.test.mjs" >node.out 2>&1 || {
		cat node.out; echo "--- pipeline.log"; tail -n 30 pipeline.log
		echo "--- serve.log"; tail -n 30 serve.log; false
	}
'

pipeline_stop
test_done
