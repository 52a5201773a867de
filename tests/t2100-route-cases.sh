#!/bin/sh
# shapesync-route over hand-written frame files (tests/data/route): for
# each case NAME, the shapes in NAME.shapes are registered with
# 'shapesync-db add' (ids 1, 2, ... in order), NAME.in is routed, and
# standard output and standard error must equal NAME.out and NAME.err.
# Cases: moves (inserts, deletes, updates moving rows in and out, a
# primary key change, truncate, AND of indexed and unindexed parts, IN,
# ranges, $1; a mark frame, which route consumes), values (PostgreSQL equality and order in the indexes),
# schema (relation changes and where clauses that do not compile),
# partition (changes of partitions reach the shapes on their ancestors,
# with the ancestor's columns: other order, a second level, truncates),
# identity (a table or partition without REPLICA IDENTITY FULL: its
# filtering and replica=full shapes are invalidated at the first update or
# delete, whole-table shapes carry on).
. "$(dirname "$0")/lib.sh"

data=$TEST_SRC/data/route

# register NAME: a fresh registry NAME.db with the shapes of NAME.shapes.
register() {
	_reg=$1.db &&
	shapesync-db --registry "$_reg" init &&
	_id=0 &&
	grep -v -e '^#' -e '^$' "$data/$1.shapes" >shapes.list &&
	while read -r _line; do
		_id=$((_id + 1))
		eval "set -- $_line" &&
		echo "$_id" >want.id &&
		shapesync-db --registry "$_reg" add "$@" | cut -d" " -f1 >got.id &&
		test_cmp want.id got.id || return 1
	done <shapes.list
}

for case in moves values schema partition identity; do
	test_expect_success "$case: routed output and messages as expected" '
		register $case &&
		shapesync-route --registry $case.db <"$data/$case.in" \
			>$case.out 2>$case.err &&
		test_cmp "$data/$case.out" $case.out &&
		test_cmp "$data/$case.err" $case.err
	'

	test_expect_success "$case: routing routed output again changes nothing" '
		shapesync-route --registry $case.db <$case.out >again.out 2>/dev/null &&
		grep -v "^{\"type\":\"invalidate\"" $case.out >want &&
		grep -v "^{\"type\":\"invalidate\"" again.out >got &&
		test_cmp want got
	'
done

test_expect_success 'CRLF and spaces around frames: same output, never written' '
	sed "s/^/ /; s/\$/ \r/" "$data/moves.in" >crlf.in &&
	shapesync-route --registry moves.db <crlf.in >crlf.out &&
	test_cmp "$data/moves.out" crlf.out
'

test_expect_success 'escaped strings take the strict path and route the same' '
	sed "s/\"apple\"/\"app\\\\u006ce\"/g" "$data/moves.in" >esc.in &&
	grep -q "app.u006ce" esc.in &&
	shapesync-route --registry moves.db <esc.in >esc.out &&
	sed "s/.*\"shapes\"/\"shapes\"/" "$data/moves.out" >want &&
	sed "s/.*\"shapes\"/\"shapes\"/" esc.out >got &&
	test_cmp want got
'

test_expect_success 'a change to a table without shapes is dropped, begin and commit stay' '
	shapesync-db --registry empty.db init &&
	shapesync-route --registry empty.db <"$data/moves.in" >out &&
	! grep -q "\"type\":\"change\"" out &&
	test_eq "$(grep -c "\"type\":\"begin\"" "$data/moves.in")" \
		"$(grep -c "\"type\":\"begin\"" out)" &&
	test_eq "$(grep -c "\"type\":\"commit\"" "$data/moves.in")" \
		"$(grep -c "\"type\":\"commit\"" out)" &&
	grep -q "\"type\":\"progress\"" out
'

test_expect_success 'bad input stops route with exit 3 and the position' '
	shapesync-db --registry bad.db init &&
	head -n 2 "$data/moves.in" >bad.in &&
	echo "{\"type\":\"nonsense\"}" >>bad.in &&
	test_must_fail 3 shapesync-route --registry bad.db <bad.in >/dev/null &&
	test_stderr_has "<stdin>:3: unknown frame type .nonsense." &&
	sed -n 3p "$data/moves.in" >order.in &&
	test_must_fail 3 shapesync-route --registry bad.db <order.in >/dev/null &&
	test_stderr_has "<stdin>:1: change frame outside a transaction"
'

test_expect_success 'a missing registry is a runtime error (exit 1)' '
	test_must_fail 1 shapesync-route --registry nosuch.db </dev/null &&
	test_stderr_has "registry .nosuch.db. does not exist" &&
	(SHAPESYNC_REGISTRY=nosuch2.db && export SHAPESYNC_REGISTRY &&
	 test_must_fail 1 shapesync-route </dev/null) &&
	test_stderr_has "nosuch2.db"
'

test_expect_success 'bad options are usage errors (exit 2)' '
	test_must_fail 2 shapesync-route --poll-interval 0 </dev/null &&
	test_must_fail 2 shapesync-route --poll-interval soon </dev/null &&
	test_must_fail 2 shapesync-route --max-line 10 </dev/null &&
	test_must_fail 2 shapesync-route extra </dev/null
'

test_done
