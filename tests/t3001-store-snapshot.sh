#!/bin/sh
# Snapshot stitching in shapesync-store: transactions that arrive before a
# shape's snapshot is recorded are spilled to disk, survive a kill -9, and
# are replayed through the snapshot filter once the snapshot is known;
# replayed input after a restart is not stored twice.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || { echo "sqlite3 is required (make deps)"; exit 1; }

db() { shapesync-db --registry r.db --dir d "$@"; }
REL='{"type":"relation","oid":16384,"schema":"public","table":"items","replica_identity":"f","columns":[{"name":"id","type":"int4","type_oid":23,"typmod":-1,"pk":true},{"name":"v","type":"text","type_oid":25,"typmod":-1,"pk":false}]}'
TS=2026-11-21T07:38:00.000000Z
# txn XID LSN_HEX ID: one insert for shape 1
txn() {
	echo "{\"type\":\"begin\",\"xid\":$1,\"lsn\":\"0/$2\",\"ts\":\"$TS\"}"
	echo "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,\"xid\":$1,\"lsn\":\"0/$2\",\"pos\":0,\"new\":{\"id\":\"$3\",\"v\":\"x$3\"},\"shapes\":[1]}"
	echo "{\"type\":\"commit\",\"xid\":$1,\"lsn\":\"0/$2\",\"end_lsn\":\"0/${2}0\",\"ts\":\"$TS\"}"
}
# wait_for CMD: up to 10 s
wait_for() {
	n=0
	while ! eval "$1"; do
		n=$((n + 1)); [ $n -lt 200 ] || { echo "timed out: $1"; return 1; }
		sleep 0.05
	done
}
start_store() {
	rm -f in
	mkfifo in || return 1
	shapesync-store --registry r.db --dir d --sync-interval 1ms <in 2>store.err &
	pid=$!
	exec 3>in
}
P=d/shapes/11/1-/111-1

test_expect_success 'setup: a shape with no snapshot yet' '
	db init &&
	echo "{\"id\":1,\"handle\":\"111-1\",\"definition\":{\"schema\":\"public\",\"table\":\"items\",\"where\":null,\"params\":[],\"columns\":null,\"replica\":\"default\",\"log\":\"full\"},\"created\":\"1\"}" |
	db import &&
	db show 1 | grep -q "^snapshot: pending$"
'

test_expect_success 'spilled before the snapshot, and kept across kill -9' '
	start_store &&
	{ echo "$REL"; txn 801 100 1; txn 802 200 2; } >&3 &&
	wait_for "grep -q \"^C 512\" $P/pending 2>/dev/null" &&
	test -z "$(db log 1)" &&
	test "$(grep -c "^E " $P/pending)" = 2 &&
	kill -9 $pid && { wait $pid; true; } && exec 3>&- &&
	test -s $P/pending
'

test_expect_success 'the snapshot is recorded: replay filters, overlap is not doubled' '
	# xmin 801, xmax 803, xip {802}: 801 is in the snapshot, 802 not.
	sqlite3 r.db "UPDATE shapes SET snapshot_state = 1, snapshot_xmin = 801, snapshot_xmax = 803, snapshot_xip = \"802\" WHERE id = 1" &&
	start_store &&
	# replicate resends from before the spill: 801 and 802 again, then 803
	{ echo "$REL"; txn 801 100 1; txn 802 200 2; txn 803 300 3; } >&3 &&
	exec 3>&- && wait $pid &&
	db log 1 >log &&
	sed "s/ .*//" log >offs &&
	printf "512_0\n768_0\n" >expect && test_cmp expect offs &&
	grep -q "\"id\":\"2\"" log && grep -q "\"id\":\"3\"" log &&
	! grep -q "\"id\":\"1\"" log &&
	test ! -e $P/pending
'

test_expect_success 'a transaction the snapshot sees, after one at or above xmax, is still skipped' '
	# commits become visible in another order than the WAL order: 700 (below
	# xmin, so seen) may follow 803 in the stream
	{ echo "$REL"; txn 700 400 4; } | shapesync-store --registry r.db --dir d &&
	db log 1 | sed "s/ .*//" >offs &&
	printf "512_0\n768_0\n" >expect && test_cmp expect offs
'

test_expect_success 'an xid 2^24 past xmax turns filtering off for good' '
	# 803 + 2^24; then xid 700 (a 32-bit xid after wraparound, say) is
	# applied
	{ echo "$REL"; txn 16778019 500 5; txn 700 600 6; } |
	shapesync-store --registry r.db --dir d &&
	db log 1 | sed "s/ .*//" >offs &&
	printf "512_0\n768_0\n1280_0\n1536_0\n" >expect && test_cmp expect offs
'

test_expect_success 'a snapshot recorded while store runs is picked up between transactions' '
	echo "{\"id\":2,\"handle\":\"222-2\",\"definition\":{\"schema\":\"public\",\"table\":\"other\",\"where\":null,\"params\":[],\"columns\":null,\"replica\":\"default\",\"log\":\"full\"},\"created\":\"1\"}" |
	db import &&
	start_store &&
	{ echo "$REL"; txn 900 500 5; } | sed "s/\"shapes\":\[1\]/\"shapes\":[2]/" >&3 &&
	wait_for "test -e d/shapes/22/2-/222-2/pending" &&
	# (store may hold the write lock: wait for it, as store and serve do)
	sqlite3 -cmd ".timeout 10000" r.db "UPDATE shapes SET snapshot_state = 1, snapshot_xmin = 950, snapshot_xmax = 950, snapshot_xip = \"\" WHERE id = 2" &&
	# store notices on its own, with no more input
	wait_for "test ! -e d/shapes/22/2-/222-2/pending" &&
	exec 3>&- && wait $pid &&
	# xid 900 < xmin 950: the snapshot already has it
	test -z "$(db log 2)"
'

test_done
