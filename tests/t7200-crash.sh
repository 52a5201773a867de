#!/bin/sh
# DESIGN.md invariant 2: kill -9 of any stage at any moment, then restart,
# loses no committed change and duplicates none. Under t7100's write load
# and shape creation (tests/e2e/invariant.mjs with CRASH=1), every stage —
# replicate, route, store, serve — is killed at random moments, KILLS times
# each, and restarted by the supervisor; at the end every client and every
# shape's raw log equal SELECT, a client saw a 409 only for a shape whose
# creation a serve kill cut short, and the slot was never acknowledged
# past the durable LSN. SEED=N reproduces a run's choices.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/up.sh"

e2e_modules

pg_start

# The registry and the slot first, so that the slot's starting point is
# known (up finds both there and keeps them).
UP_DIR=$TEST_DIR/var
SS_REGISTRY=$UP_DIR/registry.db SS_DATA=$UP_DIR/data
export SS_REGISTRY SS_DATA
mkdir -p "$UP_DIR" &&
shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" init >/dev/null &&
shapesync-replicate --registry "$SS_REGISTRY" --create-slot 2>>up.log || exit 1
SLOT_START=$(pg_psql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'shapesync'")
export SLOT_START
# Snapshot chunks of 4 kB: a client can hold the handle of a shape whose
# snapshot a serve kill cuts short.
up_start --database-url "$DATABASE_URL" --store-arg=--sync-interval=2ms \
	--serve-arg=--long-poll-timeout=3000 --serve-arg=--sse-timeout=2000 \
	--serve-arg=--chunk-bytes=4096 || exit 1

test_expect_success 'clients converge while every stage is killed again and again' '
	CRASH=1 SUP_PID=$UP_PID LOG=$TEST_DIR/up.log KILLS=${KILLS:-20} PAUSE_MS=${PAUSE_MS:-20} \
	SHAPES=${SHAPES:-50} WRITE_MS=${WRITE_MS:-170000} WORKERS=${WORKERS:-2} \
	SLOT=shapesync timeout 600 node "$E2E/invariant.mjs" >node.out 2>&1 || {
		cat node.out; echo "--- up.log"; grep -v "^shapesync-serve: listening" up.log | tail -n 40
		false
	}
'
[ -f node.out ] && grep '^# ' node.out | grep -v '^# FAIL' || true
say "restarts seen: $(grep -c 'restarting' up.log) (pipeline $(grep 'restarting' up.log | grep -vc 'restarting serve'), serve $(grep -c 'restarting serve' up.log))"

up_stop
test_expect_success 'up stops with status 0' '
	test_eq 0 "$(cat up.exit)"
'
test_done
