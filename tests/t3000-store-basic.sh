#!/bin/sh
# shapesync-store on recorded frame files: messages byte for byte (golden
# files in tests/data/store), replica modes, columns, key changes, moves,
# NULL keys, snapshot filtering, truncate and invalidate, restarts, bad
# input, chunking.
. "$(dirname "$0")/lib.sh"

D="$TEST_SRC/data/store"
db() { shapesync-db --registry r.db --dir d "$@"; }
store() { shapesync-store --registry r.db --dir d "$@"; }

test_expect_success 'setup: four shapes with recorded snapshots' '
	db init &&
	db import "$D/shapes.ndjson" &&
	test "$(db ls --json | wc -l)" = 4
'

test_expect_success 'part 1: every shape log matches its golden file' '
	store <"$D/frames1.ndjson" &&
	for i in 1 2 3 4; do
		db log $i >log.$i && test_cmp "$D/part1.log.$i" log.$i || return 1
	done
'

test_expect_success 'the durable LSN is the last commit end LSN' '
	db stats >st && grep -q "^durable_lsn: 0/510$" st
'

test_expect_success 'offsets strictly increase in every log' '
	for i in 1 2 3 4; do
		sed "s/ .*//; s/_/ /" log.$i >offs &&
		sort -n -k1,1 -k2,2 -u -c offs || return 1
	done
'

test_expect_success 'the log file is the messages, comma-led, one per line' '
	sed "s/^[0-9_]* /,/" log.1 >expect &&
	test_cmp expect d/shapes/11/1-/111-1/log
'

test_expect_success 'a restart on the same input adds nothing' '
	store <"$D/frames1.ndjson" &&
	for i in 1 2 3 4; do
		db log $i >again.$i && test_cmp log.$i again.$i || return 1
	done
'

test_expect_success 'part 2: truncate and invalidate remove shapes into the trash' '
	store <"$D/frames2.ndjson" &&
	db log 1 >log.1 && test_cmp "$D/part2.log.1" log.1 &&
	db ls --json | sed "s/.*\"handle\":\"\([0-9-]*\)\".*/\1/" >live &&
	printf "111-1\n444-4\n" >expect && test_cmp expect live &&
	test ! -e d/shapes/22/2-/222-2 && test ! -e d/shapes/33/3-/333-3 &&
	ls d/trash | sed "s/\..*//" | sort >trashed &&
	printf "222-2\n333-3\n" >expect && test_cmp expect trashed
'

test_expect_success 'a progress frame moves the durable LSN' '
	db stats >st && grep -q "^durable_lsn: 0/700$" st
'

test_expect_success 'a malformed frame: exit 3 naming the line, its txn not stored' '
	cp -r d d.before &&
	{
		head -2 "$D/frames1.ndjson" &&
		echo "{\"type\":\"begin\",\"xid\":800,\"lsn\":\"0/900\",\"ts\":\"2026-11-21T07:38:00.000000Z\"}" &&
		echo "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,\"xid\":800,\"lsn\":\"0/900\",\"pos\":0,\"new\":{\"id\":\"7\",\"title\":\"x\",\"n\":\"1\"},\"shapes\":[1]}" &&
		echo "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384" &&
		echo "{\"type\":\"commit\",\"xid\":800,\"lsn\":\"0/900\",\"end_lsn\":\"0/910\",\"ts\":\"2026-11-21T07:38:00.000000Z\"}"
	} >bad.ndjson &&
	test_must_fail 3 store <bad.ndjson &&
	test_stderr_has "^shapesync-store: error: <stdin>:5: invalid JSON" &&
	db log 1 >log.1 && test_cmp "$D/part2.log.1" log.1
'

test_expect_success 'a frame out of order: exit 3, nothing stored' '
	{
		head -2 "$D/frames1.ndjson" &&
		echo "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,\"xid\":800,\"lsn\":\"0/900\",\"pos\":0,\"new\":{\"id\":\"7\",\"title\":\"x\",\"n\":\"1\"},\"shapes\":[1]}"
	} >order.ndjson &&
	test_must_fail 3 store <order.ndjson &&
	test_stderr_has "<stdin>:3: change frame outside a transaction" &&
	db log 1 >log.1 && test_cmp "$D/part2.log.1" log.1
'

test_expect_success 'input ending inside a transaction: exit 1, nothing stored' '
	head -4 bad.ndjson >cut.ndjson &&
	test_must_fail 1 store <cut.ndjson &&
	test_stderr_has "input ended inside a transaction" &&
	db log 1 >log.1 && test_cmp "$D/part2.log.1" log.1
'

test_expect_success 'usage errors exit 2 before touching anything' '
	test_must_fail 2 store --chunk-bytes 0 </dev/null &&
	test_must_fail 2 store --sync-interval fast </dev/null &&
	test_must_fail 2 store --no-sync --sync-every-commit </dev/null &&
	test_must_fail 2 store extra </dev/null
'

test_expect_success 'a missing registry: exit 1 with a hint' '
	test_must_fail 1 shapesync-store --registry nope.db --dir d </dev/null &&
	test_stderr_has "hint: run .shapesync-db init."
'

test_expect_success 'chunks close at --chunk-bytes, offsets keep increasing' '
	mkdir c && cd c &&
	shapesync-db --registry r.db --dir d init &&
	"$SS_BUILD/bench/store" registry 3 | shapesync-db --registry r.db import &&
	"$SS_BUILD/bench/store" gen 3 40 5 50 >in.ndjson &&
	shapesync-store --registry r.db --dir d --chunk-bytes 1KiB <in.ndjson &&
	shapesync-db --registry r.db --dir d log 2 >log &&
	test "$(wc -l <log)" = 67 &&
	sed "s/ .*//; s/_/ /" log >offs && sort -n -k1,1 -k2,2 -u -c offs &&
	shapesync-db --registry r.db --dir d log --chunks 2 >chunks &&
	# each entry is about 240 bytes: a chunk holds 5 (1200 >= 1024)
	test "$(wc -l <chunks)" = 13 &&
	sed -n "5p;10p;15p" log | sed "s/ .*//" >expect &&
	head -3 chunks >got && test_cmp expect got &&
	# every chunk end is an entry offset
	while read o; do grep -q "^$o " log || return 1; done <chunks
'

test_expect_success 'a composite key in key_index order, not column order' '
	mkdir k && cd k &&
	shapesync-db --registry r.db --dir d init &&
	echo "{\"id\":1,\"handle\":\"1-1\",\"definition\":{\"schema\":\"public\",\"table\":\"t\",\"where\":null,\"params\":[],\"columns\":null,\"replica\":\"default\",\"log\":\"full\"},\"snapshot_state\":\"complete\",\"xmin\":\"1\",\"xmax\":\"1\",\"xip\":[],\"created\":\"1\"}" |
	shapesync-db --registry r.db import &&
	cat >in <<-\EOF &&
	{"type":"relation","oid":7,"schema":"public","table":"t","replica_identity":"f","columns":[{"name":"a","type":"int4","type_oid":23,"typmod":-1,"pk":true,"key_index":1},{"name":"b","type":"text","type_oid":25,"typmod":-1,"pk":true,"key_index":0},{"name":"c","type":"text","type_oid":25,"typmod":-1,"pk":false}]}
	{"type":"begin","xid":5,"lsn":"0/100","ts":"2026-11-21T07:38:00.000000Z"}
	{"type":"change","op":"delete","oid":7,"xid":5,"lsn":"0/100","pos":0,"old":{"a":"1","b":"x","c":"y"},"shapes":[1]}
	{"type":"commit","xid":5,"lsn":"0/100","end_lsn":"0/110","ts":"2026-11-21T07:38:00.000000Z"}
	EOF
	shapesync-store --registry r.db --dir d <in &&
	shapesync-db --registry r.db --dir d log 1 >log &&
	echo "256_0 {\"key\":\"\\\"public\\\".\\\"t\\\"/\\\"x\\\"/\\\"1\\\"\",\"value\":{\"a\":\"1\",\"b\":\"x\"},\"headers\":{\"operation\":\"delete\",\"relation\":[\"public\",\"t\"],\"lsn\":\"256\",\"op_position\":0,\"txids\":[5],\"last\":true}}" >expect &&
	test_cmp expect log
'


test_expect_success 'a partition change: shapes on the root get the root table, key and column order' '
	mkdir p && cd p &&
	shapesync-db --registry r.db --dir d init &&
	for s in "1 pt null full" "2 pt_1 null default" "3 pt id,v default"; do
		set -- $s &&
		case $3 in null) ;; *) set -- $1 $2 "[\"${3%,*}\",\"${3#*,}\"]" $4 ;; esac &&
		echo "{\"id\":$1,\"handle\":\"$1-1\",\"definition\":{\"schema\":\"public\",\"table\":\"$2\",\"where\":null,\"params\":[],\"columns\":$3,\"replica\":\"$4\",\"log\":\"full\"},\"snapshot_state\":\"complete\",\"xmin\":\"1\",\"xmax\":\"1\",\"xip\":[],\"created\":\"1\"}" || return 1
	done | shapesync-db --registry r.db import &&
	cat >in <<-\EOF &&
	{"type":"begin","xid":5,"lsn":"0/100","ts":"2026-11-21T07:38:00.000000Z"}
	{"type":"relation","oid":10,"schema":"public","table":"pt","replica_identity":"f","columns":[{"name":"id","type":"int4","type_oid":23,"typmod":-1,"pk":true,"key_index":0},{"name":"k","type":"int4","type_oid":23,"typmod":-1,"pk":true,"key_index":1},{"name":"v","type":"text","type_oid":25,"typmod":-1,"pk":false}]}
	{"type":"relation","oid":11,"schema":"public","table":"pt_1","replica_identity":"f","columns":[{"name":"v","type":"text","type_oid":25,"typmod":-1,"pk":false},{"name":"k","type":"int4","type_oid":23,"typmod":-1,"pk":true,"key_index":1},{"name":"id","type":"int4","type_oid":23,"typmod":-1,"pk":true,"key_index":0}],"ancestors":[10]}
	{"type":"relation","oid":12,"schema":"public","table":"pt_2","replica_identity":"f","columns":[{"name":"id","type":"int4","type_oid":23,"typmod":-1,"pk":true,"key_index":0},{"name":"k","type":"int4","type_oid":23,"typmod":-1,"pk":true,"key_index":1},{"name":"v","type":"text","type_oid":25,"typmod":-1,"pk":false}],"ancestors":[10]}
	{"type":"change","op":"insert","oid":11,"xid":5,"lsn":"0/100","pos":0,"new":{"v":"a","k":"1","id":"7"},"shapes":[1,2,3]}
	{"type":"change","op":"update","oid":11,"xid":5,"lsn":"0/100","pos":1,"new":{"v":"b","k":"1","id":"7"},"old":{"v":"a","k":"1","id":"7"},"shapes":[1,2,3]}
	{"type":"change","op":"delete","oid":11,"xid":5,"lsn":"0/100","pos":2,"old":{"v":"b","k":"1","id":"7"},"shapes":[1,2,3]}
	{"type":"change","op":"insert","oid":12,"xid":5,"lsn":"0/100","pos":3,"new":{"id":"7","k":"15","v":"b"},"shapes":[1,3]}
	{"type":"commit","xid":5,"lsn":"0/100","end_lsn":"0/110","ts":"2026-11-21T07:38:00.000000Z"}
	EOF
	shapesync-store --registry r.db --dir d <in &&
	for i in 1 2 3; do
		shapesync-db --registry r.db --dir d log $i >log.$i || return 1
	done &&
	cat >expect <<-\EOF &&
	256_0 {"key":"\"public\".\"pt\"/\"7\"/\"1\"","value":{"id":"7","k":"1","v":"a"},"headers":{"operation":"insert","relation":["public","pt"],"lsn":"256","op_position":0,"txids":[5]}}
	256_2 {"key":"\"public\".\"pt\"/\"7\"/\"1\"","value":{"id":"7","k":"1","v":"b"},"headers":{"operation":"update","relation":["public","pt"],"lsn":"256","op_position":2,"txids":[5]},"old_value":{"v":"a"}}
	256_4 {"key":"\"public\".\"pt\"/\"7\"/\"1\"","value":{"id":"7","k":"1","v":"b"},"headers":{"operation":"delete","relation":["public","pt"],"lsn":"256","op_position":4,"txids":[5]}}
	256_6 {"key":"\"public\".\"pt\"/\"7\"/\"15\"","value":{"id":"7","k":"15","v":"b"},"headers":{"operation":"insert","relation":["public","pt"],"lsn":"256","op_position":6,"txids":[5],"last":true}}
	256_0 {"key":"\"public\".\"pt_1\"/\"7\"/\"1\"","value":{"v":"a","k":"1","id":"7"},"headers":{"operation":"insert","relation":["public","pt_1"],"lsn":"256","op_position":0,"txids":[5]}}
	256_2 {"key":"\"public\".\"pt_1\"/\"7\"/\"1\"","value":{"v":"b","k":"1","id":"7"},"headers":{"operation":"update","relation":["public","pt_1"],"lsn":"256","op_position":2,"txids":[5]}}
	256_4 {"key":"\"public\".\"pt_1\"/\"7\"/\"1\"","value":{"k":"1","id":"7"},"headers":{"operation":"delete","relation":["public","pt_1"],"lsn":"256","op_position":4,"txids":[5],"last":true}}
	256_0 {"key":"\"public\".\"pt\"/\"7\"/\"1\"","value":{"id":"7","k":"1","v":"a"},"headers":{"operation":"insert","relation":["public","pt"],"lsn":"256","op_position":0,"txids":[5]}}
	256_2 {"key":"\"public\".\"pt\"/\"7\"/\"1\"","value":{"id":"7","k":"1","v":"b"},"headers":{"operation":"update","relation":["public","pt"],"lsn":"256","op_position":2,"txids":[5]}}
	256_4 {"key":"\"public\".\"pt\"/\"7\"/\"1\"","value":{"id":"7","k":"1"},"headers":{"operation":"delete","relation":["public","pt"],"lsn":"256","op_position":4,"txids":[5]}}
	256_6 {"key":"\"public\".\"pt\"/\"7\"/\"15\"","value":{"id":"7","k":"15","v":"b"},"headers":{"operation":"insert","relation":["public","pt"],"lsn":"256","op_position":6,"txids":[5],"last":true}}
	EOF
	cat log.1 log.2 log.3 >got &&
	test_cmp expect got
'

test_expect_success 'a change for a removed shape is skipped; for an id never given, exit 3' '
	head -n 1 "$D/frames2.ndjson" >in &&
	cat >>in <<-\EOF &&
	{"type":"begin","xid":900,"lsn":"1/900","ts":"2026-11-21T07:38:00.000000Z"}
	{"type":"change","op":"insert","oid":16384,"xid":900,"lsn":"1/900","pos":0,"new":{"id":"50","title":"x","n":"1"},"shapes":[2]}
	{"type":"commit","xid":900,"lsn":"1/900","end_lsn":"1/910","ts":"2026-11-21T07:38:00.000000Z"}
	EOF
	store <in &&
	db stats >st && grep -q "^durable_lsn: 1/910$" st &&
	sed "s/\"shapes\":\[2\]/\"shapes\":[99999]/; s/1\/9\([01]\)0/1\/A\10/g" in >bad &&
	test_must_fail 3 store <bad &&
	test_stderr_has "shape 99999 is not in the registry and never was" &&
	db stats >st && grep -q "^durable_lsn: 1/910$" st
'

test_done
