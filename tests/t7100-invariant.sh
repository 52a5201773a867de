#!/bin/sh
# DESIGN.md invariant 1 under load: random concurrent writes (inserts,
# updates, deletes, key changes, moves across where boundaries, multi-row
# and multi-table transactions) while 50 shapes are created at random
# moments, each followed by the official client; at the end every client,
# and a strict replay of every shape's raw log, equals SELECT for its shape
# (tests/e2e/invariant.mjs). SEED=N reproduces a run's choices.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

E2E=$TEST_SRC/e2e
if [ ! -d "$E2E/node_modules/pg" ]; then
	npm ci --prefix "$E2E" --no-audit --no-fund >npm.log 2>&1 || {
		echo "# npm ci in tests/e2e failed:"
		sed 's/^/#   /' npm.log | tail -n 20
		echo "# hint: run 'npm ci --prefix tests/e2e' (needs the npm registry)"
		exit 1
	}
fi

pg_start
pipeline_start --long-poll-timeout 3000 --sse-timeout 2000

test_expect_success 'every client and raw log equal SELECT after concurrent writes' '
	SHAPES=${SHAPES:-50} WRITE_MS=${WRITE_MS:-20000} WORKERS=${WORKERS:-4} \
	timeout 300 node "$E2E/invariant.mjs" >node.out 2>&1 || {
		cat node.out; echo "--- pipeline.log"; tail -n 30 pipeline.log
		echo "--- serve.log"; tail -n 30 serve.log; false
	}
'
[ -f node.out ] && grep '^# ' node.out | grep -v '^# FAIL' || true

pipeline_stop
test_done
