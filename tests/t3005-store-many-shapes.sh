#!/bin/sh
# One transaction over more shapes than store may keep logs open for
# (--max-open, and the file descriptor limit it is fitted into): store
# parks the logs of the open transaction (lib/log keeps their state and
# closes their files) instead of running out of descriptors, which left it
# restarting on the same transaction for ever. Every shape gets its entry
# once, committed, also after a restart on the same input.
. "$(dirname "$0")/lib.sh"

N=300
db() { shapesync-db --registry r.db --dir d "$@"; }

test_expect_success "setup: $N shapes with complete snapshots, one transaction over all" '
	db init &&
	i=1 && while [ $i -le $N ]; do
		printf "{\"id\":%d,\"handle\":\"%d-1\",\"definition\":{\"schema\":\"public\",\"table\":\"items\",\"where\":\"n >= %d\",\"params\":[],\"columns\":null,\"replica\":\"default\",\"log\":\"full\"},\"snapshot_state\":\"complete\",\"xmin\":\"700\",\"xmax\":\"700\",\"xip\":[],\"created\":\"1\"}\n" $i $((1000 + i)) $i
		i=$((i + 1))
	done >shapes.ndjson &&
	db import shapes.ndjson &&
	{
		echo "{\"type\":\"relation\",\"oid\":16384,\"schema\":\"public\",\"table\":\"items\",\"replica_identity\":\"f\",\"columns\":[{\"name\":\"id\",\"type\":\"int4\",\"type_oid\":23,\"typmod\":-1,\"pk\":true},{\"name\":\"n\",\"type\":\"int4\",\"type_oid\":23,\"typmod\":-1,\"pk\":false}]}" &&
		echo "{\"type\":\"begin\",\"xid\":800,\"lsn\":\"0/100\",\"ts\":\"2026-11-21T07:38:00.000000Z\"}" &&
		i=1 && while [ $i -le $N ]; do
			printf "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,\"xid\":800,\"lsn\":\"0/100\",\"pos\":%d,\"new\":{\"id\":\"%d\",\"n\":\"%d\"},\"shapes\":[%d]}\n" $((i - 1)) $i $i $i
			i=$((i + 1))
		done &&
		echo "{\"type\":\"commit\",\"xid\":800,\"lsn\":\"0/100\",\"end_lsn\":\"0/110\",\"ts\":\"2026-11-21T07:38:00.000000Z\"}"
	} >frames.ndjson
'

# At most 16 logs open: (128 descriptors - 64) / 4.
store() { ( ulimit -n 128 && shapesync-store --registry r.db --dir d ) <frames.ndjson; }

test_expect_success 'store commits it within 128 file descriptors' '
	store 2>err &&
	db stats >st && grep -q "^durable_lsn: 0/110$" st
'

test_expect_success 'every shape has its one entry' '
	for i in 1 17 150 299 300; do
		db log $i >log.$i &&
		test_eq 1 "$(wc -l <log.$i)" &&
		grep -q "\"value\":{\"id\":\"$i\",\"n\":\"$i\"}" log.$i || return 1
	done &&
	n=0 && i=1 && while [ $i -le $N ]; do
		n=$((n + $(db log $i | wc -l))) && i=$((i + 10))
	done &&
	test_eq 30 "$n"
'

test_expect_success 'a restart on the same input adds nothing' '
	store 2>err2 &&
	for i in 1 150 300; do
		db log $i >again.$i && test_cmp log.$i again.$i || return 1
	done
'

# A second transaction: 5 changes, each in all N shapes. The logs parked
# for it keep buffering without their files (lib/log opens them for their
# flush and commit only).
test_expect_success 'a transaction of 5 changes over all shapes, parked' '
	{
		echo "{\"type\":\"relation\",\"oid\":16384,\"schema\":\"public\",\"table\":\"items\",\"replica_identity\":\"f\",\"columns\":[{\"name\":\"id\",\"type\":\"int4\",\"type_oid\":23,\"typmod\":-1,\"pk\":true},{\"name\":\"n\",\"type\":\"int4\",\"type_oid\":23,\"typmod\":-1,\"pk\":false}]}" &&
		echo "{\"type\":\"begin\",\"xid\":801,\"lsn\":\"0/200\",\"ts\":\"2026-11-21T07:39:00.000000Z\"}" &&
		all=$(seq -s, 1 $N) &&
		for k in 0 1 2 3 4; do
			printf "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,\"xid\":801,\"lsn\":\"0/200\",\"pos\":%d,\"new\":{\"id\":\"%d\",\"n\":\"%d\"},\"shapes\":[%s]}\n" $k $((5000 + k)) $k "$all"
		done &&
		echo "{\"type\":\"commit\",\"xid\":801,\"lsn\":\"0/200\",\"end_lsn\":\"0/210\",\"ts\":\"2026-11-21T07:39:00.000000Z\"}"
	} >frames2.ndjson &&
	cat frames.ndjson frames2.ndjson >both.ndjson &&
	( ulimit -n 128 && shapesync-store --registry r.db --dir d ) \
		<both.ndjson 2>err4 &&
	db stats >st && grep -q "^durable_lsn: 0/210$" st &&
	for i in 1 17 150 299 300; do
		db log $i >log.$i &&
		test_eq 6 "$(wc -l <log.$i)" &&
		test_eq 5 "$(grep -c "\"id\":\"500[0-4]\"" log.$i)" || return 1
	done
'

# A write budget for about two logs' buffers (--write-buffer): the
# buffers of the transaction's logs are written out, uncommitted, each
# time it runs out, on top of the parking; and without buffers
# (--write-buffer 0): the logs end the same.
for wb in 4k 0; do
	test_expect_success "--write-buffer $wb gives the same logs" '
		rm -rf d2 r2.db &&
		shapesync-db --registry r2.db --dir d2 init &&
		shapesync-db --registry r2.db --dir d2 import shapes.ndjson &&
		( ulimit -n 128 &&
		  shapesync-store --registry r2.db --dir d2 --write-buffer $wb ) \
			<both.ndjson 2>err3 &&
		for i in 1 17 150 299 300; do
			shapesync-db --registry r2.db --dir d2 log $i >small.$i &&
			test_cmp log.$i small.$i || return 1
		done
	'
done

test_done
