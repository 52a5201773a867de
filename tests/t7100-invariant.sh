#!/bin/sh
# DESIGN.md invariant 1 under load: random concurrent writes (inserts,
# updates, deletes, key changes, moves across where boundaries, multi-row
# and multi-table transactions) while 50 shapes are created at random
# moments, each followed by the official client; at the end every client,
# and a strict replay of every shape's raw log, equals SELECT for its shape
# (tests/e2e/invariant.mjs). SEED=N reproduces a run's choices.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/up.sh"

e2e_modules

pg_start
# The whole pipeline as the README runs it; SSE streams end every 2 s, so
# SSE clients reconnect (and resume) often.
up_start --database-url "$DATABASE_URL" --store-arg=--sync-interval=2ms \
	--serve-arg=--long-poll-timeout=3000 --serve-arg=--sse-timeout=2000 || exit 1

test_expect_success 'every client and raw log equal SELECT after concurrent writes' '
	SHAPES=${SHAPES:-50} WRITE_MS=${WRITE_MS:-20000} WORKERS=${WORKERS:-4} \
	timeout 300 node "$E2E/invariant.mjs" >node.out 2>&1 || {
		cat node.out; echo "--- up.log"; tail -n 30 up.log; false
	}
'
[ -f node.out ] && grep '^# ' node.out | grep -v '^# FAIL' || true

up_stop
test_expect_success 'no stage died meanwhile; up stopped with status 0' '
	! grep restarting up.log && test_eq 0 "$(cat up.exit)"
'
test_done
