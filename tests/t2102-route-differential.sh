#!/bin/sh
# lib/route against lib/where: generated shapes of every indexable form
# (and unindexable ones) and generated rows, tagged by the router and by
# evaluating each where clause directly, must agree on every shape of
# every insert, delete and update (tests/unit/test-route.c).
# ROUTE_DIFF_SEED and ROUTE_DIFF_ROWS change the generated set.
. "$(dirname "$0")/lib.sh"

SEED=${ROUTE_DIFF_SEED:-20261121}
ROWS=${ROUTE_DIFF_ROWS:-20000}

test_expect_success "router tags equal direct evaluation (seed $SEED)" '
	"$SS_BUILD/tests/test-route" "$SEED" "$ROWS"
'

test_expect_success 'and for a second seed' '
	"$SS_BUILD/tests/test-route" $((SEED + 1)) "$ROWS"
'

test_done
