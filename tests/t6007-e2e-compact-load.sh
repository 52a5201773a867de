#!/bin/sh
# Log compaction under load (issue 16's "must show"): a shape of 1,000
# rows updated 200,000 times is compacted by `shapesync-db compact` while
# a writer keeps updating it and official clients follow it live: 20
# resume from offsets taken along the history before the compaction
# (while they catch up), then 30 more start from -1 after it, and a
# second compaction runs while all 50 follow. Every client ends with
# exactly SELECT's rows, and got each change once: no insert of a key it
# held, no update or delete of a key it did not (tests/e2e/followers.mjs).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules
pg_start
# Chunks of 256 KiB (store's log, serve's snapshot, compact's base): about
# a hundred closed chunks for compaction to fold.
ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD=262144
export ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD

. "$TEST_SRC/follow.sh"
SQL="SELECT id || '|pad=' || pad || ',v=' || v FROM items ORDER BY id"

db() {
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" "$@"
}
# updates N: N transactions, each updating the 1,000 rows once.
updates() {
	for _i in $(seq "$1"); do
		echo "UPDATE items SET v = v + 1;"
	done | pg_psql
}
# The writer: small transactions (10 rows each), until ./stop.
writer() {
	_w=0
	while [ ! -f stop ]; do
		_w=$((_w + 1))
		pg_psql "UPDATE items SET v = v + 1 WHERE id % 100 = $((_w % 100))" ||
			return 1
	done
	echo "$_w" >writer.count
}
# followers NAME CLIENT...: one process of official clients (followers.mjs).
followers() {
	_n=$1
	shift
	node "$E2E/followers.mjs" "$TEST_DIR/c" items "$@" >"$_n.log" 2>&1 &
	echo $! >"$_n.pid"
}
# log_entries_at_least N: the log after the newest base has N entries.
log_entries_at_least() {
	test "$(db stats --shapes --json | tail -n 1 | jq .log_entries)" -ge "$1"
}
# synced NAME...: each client has been up to date once.
synced() {
	for _c in "$@"; do
		test -s "c/$_c" || return 1
	done
}
# converged NAME...: each client's rows are want's.
converged() {
	for _c in "$@"; do
		cmp -s want "c/$_c" || return 1
	done
}
# The 50 clients: r1..r20 resume, a1..a30 start after the compaction.
R=$(printf "r%s " $(seq 20))
A=$(printf "a%s " $(seq 30))

test_expect_success 'setup: 1,000 rows' '
	pg_psql "CREATE TABLE items (id int PRIMARY KEY, v int, pad text)" \
		"INSERT INTO items SELECT g, 0, repeat('\''p'\'', 20) FROM generate_series(1, 1000) g"
'
pipeline_start --long-poll-timeout 5000

test_expect_success '200,000 updates; a client saves its state along them' '
	mkdir c &&
	node "$E2E/resume.mjs" --once s.state s items >s.log 2>&1 &&
	cp s.state st0 &&
	for k in 1 2 3 4 5 6 7 8 9 10; do
		updates 20 &&
		node "$E2E/resume.mjs" --once s.state s items >>s.log 2>&1 &&
		cp s.state st$k || return 1
	done &&
	# --once stops at the first up-to-date, which may come before store
	# has the last updates (slow under ASan): resume until it has them.
	wait_until "the saving client to reach SELECT" \
		"rows_are s \"\$SQL\" || { node \"\$E2E/resume.mjs\" --once s.state s items >>s.log 2>&1; false; }" 120 &&
	test_eq 1000 "$(jq ".rows | length" st10)" &&
	test "$(jq -r .offset st0)" != "$(jq -r .offset st5)" &&
	db stats --shapes --json | tail -n 1 >stats0.json &&
	say "before: $(cat stats0.json)" &&
	test "$(jq -r .log_entries stats0.json)" -ge 200000
'

test_expect_success 'compact while a writer writes and 20 clients resume' '
	{ writer & } && echo $! >writer.pid &&
	clients= &&
	for i in $(seq 20); do
		clients="$clients r$i=st$((i / 2))" || return 1
	done &&
	followers fr $clients &&
	db compact --all --force >compact1.out &&
	cat compact1.out &&
	grep -q "generation 1: 1000 rows" compact1.out &&
	db stats --shapes --json | tail -n 1 >stats1.json &&
	say "after: $(cat stats1.json)" && db check
'

test_expect_success '30 clients from -1 after it; compact again under 50' '
	followers fa $A &&
	wait_until "the clients from -1 to sync" \
		"synced $A" 120 &&
	updates 10 &&
	wait_until "the updates to reach the log" "log_entries_at_least 12000" 120 &&
	db compact --all --force >compact2.out &&
	cat compact2.out &&
	grep -q "generation 2: 1000 rows" compact2.out &&
	touch stop && wait_until "the writer to stop" "test -s writer.count" 60 &&
	say "the writer wrote $(cat writer.count) transactions" &&
	db check
'

test_expect_success 'every client ends with SELECT'\''s rows' '
	pg_psql "$SQL" >want && test_eq 1000 "$(wc -l <want)" &&
	wait_until "the 50 clients to hold SELECT'\''s rows" \
		"converged $R $A" 180 || {
		for c in $R $A; do
			cmp -s want c/$c || echo "$c differs"
		done
		false
	}
'

test_expect_success 'each change once: no duplicate, no gap, no refetch' '
	for c in $R $A; do
		test_eq "" "$(head -n 3 c/$c.bad)" &&
		test_eq 0 "$(cat c/$c.refetch)" || { echo "client $c"; return 1; }
	done &&
	say "messages: a resumed client from the snapshot $(cat c/r1.msgs)," \
		"a client from -1 after the compaction $(cat c/a1.msgs)"
'

test_done
