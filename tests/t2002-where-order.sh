#!/bin/sh
# lib/where's ORDER BY lists (lib/where_order.c, subset__order_by): the
# table-driven cases of tests/data/order_by.test, each accepted list
# re-checked from its canonical text, and the limits.
. "$(dirname "$0")/lib.sh"

test_expect_success 'order_by.test cases all pass' '
	"$SS_BUILD/tests/test-where-order" "$TEST_SRC/data/order_by.test"
'

test_expect_success 'a failing case is reported and fails the run' '
	{ echo "col id int4" && echo "order id" && echo "canon id"; } >bad.test &&
	test_must_fail 1 "$SS_BUILD/tests/test-where-order" bad.test &&
	test_stderr_has "got:      \"id\""
'

test_done
