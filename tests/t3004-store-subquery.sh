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
# tests/data/store-subquery.
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

test_done
