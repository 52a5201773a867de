#!/bin/sh
# Log compaction (issue 16) with the official client: a fresh client after
# `shapesync-db compact` downloads the rows that exist rather than the
# history, with exactly SELECT's rows; clients that stopped at any offset
# before the compaction resume without a refetch while the older
# generation is kept (its grace period), and with a refetch, never a gap,
# once it is given back; a live client follows through it all; kill -9 in
# the middle of a compaction leaves a shape that check accepts and clients
# read correctly.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules
pg_start
# Small chunks (store's log and serve's snapshot), so that there are many.
ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD=2000
export ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD

test_expect_success 'setup: a table of 60 rows' '
	pg_psql "CREATE TABLE items (id int PRIMARY KEY, v int, pad text)" \
		"INSERT INTO items SELECT g, 0, repeat('\''p'\'', 40) FROM generate_series(1, 60) g"
'
pipeline_start --long-poll-timeout 2000

. "$TEST_SRC/follow.sh"
SQL="SELECT id || '|pad=' || pad || ',v=' || v FROM items ORDER BY id"

# resume NAME: run the saving client once from state NAME.state.
resume() {
	node "$E2E/resume.mjs" --once "$TEST_DIR/$1.state" "$TEST_DIR/$1" items \
		>>"$TEST_DIR/$1.log" 2>&1
}
msgs() {
	cat "$TEST_DIR/$1.msgs"
}
db() {
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" "$@"
}
# updates N: N transactions, each updating every row once (a history of
# N * 60 changes for 60 rows).
updates() {
	for _i in $(seq "$1"); do
		echo "UPDATE items SET v = v + 1;"
	done | pg_psql
}

follow live items

test_expect_success 'a client syncs the snapshot and stops' '
	resume s0 && rows_are s0 "$SQL" && test_eq 60 "$(msgs s0)"
'

test_expect_success 'a history of 1,200 updates; clients stop along it' '
	updates 10 && resume s1 &&
	updates 10 && resume s2 &&
	pg_psql "DELETE FROM items WHERE id > 55" \
		"INSERT INTO items SELECT g, 7, '\''new'\'' FROM generate_series(61, 63) g" &&
	resume s3 && rows_are s3 "$SQL" &&
	wait_rows live "$SQL" &&
	cp s0.state a0.state && cp s1.state a1.state && cp s2.state a2.state &&
	cp s3.state a3.state &&
	resume fresh1 && rows_are fresh1 "$SQL" &&
	say "a fresh client before compaction: $(msgs fresh1) messages"
'

test_expect_success 'compact: a new generation, the newest chunk kept' '
	db stats --shapes >stats0.out &&
	grep -q ": generation 0: base .* rows; log after it .* entries" stats0.out &&
	db compact --all --force --keep-chunks 1 >compact.out &&
	grep -q "generation 1" compact.out &&
	db check &&
	db stats --shapes --json | tail -n 1 >stats1.json &&
	test_eq 1 "$(jq -r .generation stats1.json)" &&
	n=$(jq -r .base_rows stats1.json) &&
	test "$n" -ge 55 && test "$n" -le 63
'

test_expect_success 'a fresh client gets SELECT'\''s rows, far fewer messages' '
	resume fresh2 && rows_are fresh2 "$SQL" &&
	say "a fresh client after compaction: $(msgs fresh2) messages" &&
	test "$(msgs fresh2)" -lt $(( $(msgs fresh1) / 4 )) &&
	test_eq 0 "$(cat fresh2.refetch)"
'

test_expect_success 'clients stopped before it resume without a refetch' '
	for s in s0 s1 s2 s3; do
		resume $s && rows_are $s "$SQL" &&
		test_eq 0 "$(cat $s.refetch)" || return 1
	done
'

test_expect_success 'the live client followed through it' '
	updates 1 && wait_rows live "$SQL" && test_eq 0 "$(refetches live)"
'

test_expect_success 'compactions with no grace give the old generations back' '
	updates 5 &&
	db compact --all --force --keep-chunks 1 --grace 0 >compact2.out &&
	db compact --all --force --keep-chunks 1 --grace 0 >compact3.out &&
	cat compact2.out compact3.out | grep -q "older generations\? dropped" &&
	cat compact2.out compact3.out | grep -q "log bytes given back" &&
	db check
'

test_expect_success 'clients stopped long before refetch, never a gap' '
	for s in a0 a1 a2 a3; do
		cp $s.state r$s.state &&
		resume r$s && rows_are r$s "$SQL" &&
		test "$(cat r$s.refetch)" -ge 1 || return 1
	done
'

test_expect_success 'the live client and fresh clients still agree with SELECT' '
	updates 1 && wait_rows live "$SQL" &&
	resume fresh3 && rows_are fresh3 "$SQL"
'

test_expect_success 'kill -9 in the middle of compactions, then a clean run' '
	for d in 0 0.01 0.02 0.05 0.1 0.2; do
		updates 3 &&
		{ shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" \
			compact --all --force --keep-chunks 1 --grace 0 \
			>/dev/null 2>&1 & } &&
		pid=$! && sleep $d && kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		db check >check.out 2>&1 || { cat check.out; return 1; }
		resume k$d && rows_are k$d "$SQL" || return 1
	done &&
	db compact --all --force --keep-chunks 1 >compact4.out &&
	db check &&
	resume fresh4 && rows_are fresh4 "$SQL" &&
	wait_rows live "$SQL"
'

test_done
