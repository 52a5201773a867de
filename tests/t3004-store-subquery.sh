#!/bin/sh
# shapesync-store and subquery shapes (issue 14, docs/subqueries.md): a
# change's "meta" for a subquery shape becomes the message's tags,
# active_conditions and (on updates) removed_tags, as Electric sends them;
# such a shape's changes take offset lsn_(4 pos + 1), the insert half of a
# key change 4 pos + 2; an update that changes no column it shows is still
# sent to it (its active_conditions may have changed); a move frame is a
# move-out control line at 4 pos, before the change at pos, never marked
# "last"; movein frames are the shape's move-in lines at (lsn - 1)_pos
# before the transaction's changes, or lsn_(4 (after + 1) + pos) after
# them; other shapes on the same changes are as before. Golden logs in
# tests/data/store-subquery. A kill inside the commit of a transaction
# leaves it in the log of a subquery's shape whenever it is in the log
# of a shape using it (the logs commit by id).
. "$(dirname "$0")/lib.sh"

D="$TEST_SRC/data/store-subquery"
db() { shapesync-db --registry r.db --dir d "$@"; }

test_expect_success 'setup: a subquery shape and a plain one' '
	db init && db import "$D/shapes.ndjson"
'

test_expect_success 'logs byte for byte' '
	shapesync-store --registry r.db --dir d <"$D/frames.ndjson" &&
	db log 1 >log.1 && test_cmp "$D/log.1" log.1 &&
	db log 2 >log.2 && test_cmp "$D/log.2" log.2
'

test_expect_success 'a replay adds nothing' '
	shapesync-store --registry r.db --dir d <"$D/frames.ndjson" &&
	db log 1 >again.1 && test_cmp log.1 again.1
'

test_expect_success 'db check accepts the subquery shape log' '
	db check >out 2>&1 || { cat out; false; }
'

# A kill inside the commit of a transaction (here SIGXFSZ, at the write
# of the outer shape's big row) must leave it in the inner shape's log if
# it is in the outer one's: store commits the touched logs by id, and a
# subquery's shape is registered before the shapes that use it. The
# inner shape's change comes first in the transaction, as route sends it.
test_expect_success 'setup: a subquery shape over the shape of its subquery' '
	cat >cut.ndjson <<-\EOF &&
	{"id":1,"handle":"111-1","definition":{"schema":"public","table":"projects","where":"org = 1","params":[],"columns":null,"replica":"full","log":"full","move_out":"delete"},"snapshot_state":"complete","xmin":"1","xmax":"1","xip":[],"created":"1"}
	{"id":2,"handle":"222-2","definition":{"schema":"public","table":"tasks","where":"project IN (SELECT id FROM projects WHERE org = 1)","params":[],"columns":null,"replica":"default","log":"full"},"snapshot_state":"complete","xmin":"1","xmax":"1","xip":[],"created":"1","deps":{"inner":[1],"tables":[{"schema":"public","table":"projects","columns":[["id","int4"],["org","int4"]]}]}}
	EOF
	shapesync-db --registry cut.db --dir cut init &&
	shapesync-db --registry cut.db --dir cut import cut.ndjson &&
	big=$(head -c 300000 /dev/zero | tr "\0" x) &&
	cat >cut-frames.ndjson <<-EOF
	{"type":"relation","oid":16390,"schema":"public","table":"projects","replica_identity":"f","columns":[{"name":"id","type":"int4","type_oid":23,"typmod":-1,"pk":true},{"name":"org","type":"int4","type_oid":23,"typmod":-1,"pk":false}]}
	{"type":"relation","oid":16391,"schema":"public","table":"tasks","replica_identity":"d","columns":[{"name":"id","type":"int4","type_oid":23,"typmod":-1,"pk":true},{"name":"project","type":"int4","type_oid":23,"typmod":-1,"pk":false},{"name":"title","type":"text","type_oid":25,"typmod":-1,"pk":false}]}
	{"type":"begin","xid":801,"lsn":"0/200","ts":"2026-12-07T10:00:00.000000Z"}
	{"type":"change","op":"insert","oid":16390,"xid":801,"lsn":"0/200","pos":0,"new":{"id":"7","org":"1"},"shapes":[1]}
	{"type":"change","op":"insert","oid":16391,"xid":801,"lsn":"0/200","pos":1,"new":{"id":"70","project":"7","title":"t"},"shapes":[2],"meta":{"2":{"tags":["h7"],"active_conditions":[true]}}}
	{"type":"commit","xid":801,"lsn":"0/200","end_lsn":"0/240","ts":"2026-12-07T10:00:00.000001Z"}
	{"type":"begin","xid":802,"lsn":"0/300","ts":"2026-12-07T10:00:01.000000Z"}
	{"type":"change","op":"insert","oid":16390,"xid":802,"lsn":"0/300","pos":0,"new":{"id":"8","org":"1"},"shapes":[1]}
	{"type":"change","op":"insert","oid":16391,"xid":802,"lsn":"0/300","pos":1,"new":{"id":"80","project":"8","title":"$big"},"shapes":[2],"meta":{"2":{"tags":["h8"],"active_conditions":[true]}}}
	{"type":"commit","xid":802,"lsn":"0/300","end_lsn":"0/340","ts":"2026-12-07T10:00:01.000001Z"}
	EOF
'

test_expect_success 'a kill inside a commit: the inner log has what the outer has' '
	# 200 KiB per file: the registry and the small logs fit, the
	# outer shape'"'"'s 300 KB row does not
	{ sh -c "ulimit -f 400; exec shapesync-store --registry cut.db --dir cut" <cut-frames.ndjson 2>err; rc=$?; } ;
	# killed by SIGXFSZ (25)
	{ [ $rc = $((128 + 25)) ] || { echo "exit $rc"; cat err; false; }; } &&
	# transaction 0/300 is offset 768
	shapesync-db --registry cut.db --dir cut log 1 | cut -c1-60 >inner &&
	shapesync-db --registry cut.db --dir cut log 2 | cut -c1-60 >outer &&
	grep -c "^768_" inner >n && echo 1 >want && test_cmp want n &&
	! grep "^768_" outer
'

test_expect_success 'the restart adds the transaction to the outer log only' '
	shapesync-store --registry cut.db --dir cut <cut-frames.ndjson &&
	shapesync-db --registry cut.db --dir cut log 1 | cut -c1-60 >inner.2 &&
	test_cmp inner inner.2 &&
	shapesync-db --registry cut.db --dir cut log 2 | cut -c1-60 >outer.2 &&
	grep -c "^768_" outer.2 >n && echo 1 >want && test_cmp want n &&
	shapesync-db --registry cut.db --dir cut check
'

test_done
