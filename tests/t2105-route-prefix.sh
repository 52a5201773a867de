#!/bin/sh
# lib/route's prefix index for `col LIKE 'p%'` and `col ILIKE 'p%'`
# (tests/unit/test-route-prefix.c): random prefix shapes (both cases,
# multibyte UTF-8, the empty prefix, prefixes of one another) and
# look-alikes left to the evaluator, added and removed between random
# rows, with a hash of 3 bits; tags must equal lib/where's for every
# live shape, also through the frame fast path, and each shape must be
# filed as expected.
. "$(dirname "$0")/lib.sh"

test_expect_success 'prefix shapes against brute force, added and removed' '
	"$SS_BUILD/tests/test-route-prefix" 20261207 20000
'

test_expect_success 'and for a second seed' '
	"$SS_BUILD/tests/test-route-prefix" 7 20000
'

test_done
