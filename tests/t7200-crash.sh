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
. "$TEST_SRC/serve.sh"

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

# A small supervisor with shapesync up's behaviour: the three pipeline
# stages restart together when one dies, serve alone when it dies, each
# restart says "restarting" on stderr, SIGTERM stops everything.
_alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] &&
		! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}
supervise() {
	rp= op= sp= vp= port=0
	trap 'kill -TERM $rp $op $sp $vp 2>/dev/null; wait; exit 0' TERM
	while :; do
		if ! _alive "$rp" || ! _alive "$op" || ! _alive "$sp"; then
			if [ -n "$rp" ]; then
				kill -TERM $rp $op $sp 2>/dev/null
				wait $rp $op $sp 2>/dev/null
				echo "supervise: a pipeline stage died, restarting the pipeline" >&2
				sleep 0.1
			fi
			rm -f p1 p2 && mkfifo p1 p2
			shapesync-replicate --registry "$SS_REGISTRY" >p1 &
			rp=$!
			shapesync-route --registry "$SS_REGISTRY" <p1 >p2 &
			op=$!
			shapesync-store --registry "$SS_REGISTRY" --dir "$SS_DATA" \
				--sync-interval 2ms <p2 &
			sp=$!
		fi
		if ! _alive "$vp"; then
			if [ -n "$vp" ]; then
				wait $vp 2>/dev/null
				echo "supervise: serve died, restarting serve" >&2
				port=$(sed -n 's/.*listening on http:[^ ]*:\([0-9]*\).*/\1/p' up.log | head -n 1)
			fi
			shapesync-serve --registry "$SS_REGISTRY" --dir "$SS_DATA" \
				--insecure --port "$port" --long-poll-timeout 3000 \
				--chunk-bytes 4096 &
			vp=$!
		fi
		sleep 0.05
	done
}

shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" init >/dev/null &&
shapesync-replicate --registry "$SS_REGISTRY" --create-slot 2>>up.log || exit 1
SLOT_START=$(pg_psql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'shapesync'")
export SLOT_START
supervise 2>>up.log &
UP_PID=$!
test_at_exit 'kill -TERM $UP_PID; wait $UP_PID'
i=0
while ! grep -q 'listening on' up.log; do
	i=$((i + 1))
	[ $i -lt 200 ] || { cat up.log; exit 1; }
	sleep 0.05
done
SERVE_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' up.log | head -n 1)
export SERVE_URL

test_expect_success 'clients converge while every stage is killed again and again' '
	CRASH=1 SUP_PID=$UP_PID LOG=$TEST_DIR/up.log KILLS=${KILLS:-22} \
	SHAPES=${SHAPES:-50} WRITE_MS=${WRITE_MS:-40000} WORKERS=${WORKERS:-3} \
	timeout 600 node "$E2E/invariant.mjs" >node.out 2>&1 || {
		cat node.out; echo "--- up.log"; grep -v "^shapesync-serve: listening" up.log | tail -n 40
		false
	}
'
[ -f node.out ] && grep '^# ' node.out | grep -v '^# FAIL' || true
say "restarts seen: $(grep -c 'restarting' up.log) (pipeline $(grep 'restarting' up.log | grep -vc serve), serve $(grep 'restarting' up.log | grep -c serve))"

# At the top level: the supervisor is this shell's child.
kill -TERM $UP_PID && wait $UP_PID
echo $? >up.exit
test_expect_success 'the supervisor stops cleanly' '
	test_eq 0 "$(cat up.exit)"
'
test_done
