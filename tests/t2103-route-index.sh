#!/bin/sh
# lib/route's equality index under collisions: route.c built with a hash
# of 3 bits (tests/unit/test-route-index.c), shapes added and removed
# between matches, one or many shapes per value, keys that fit in a slot
# and keys that do not, NULLs; tags must equal lib/where's, the same
# change as a frame line through the fast path (scan, prefetch,
# ss_router_match_scan) must tag the same, and the slot table must stay
# well formed. Also the fast path's string scanner against a byte-by-byte
# one.
. "$(dirname "$0")/lib.sh"

test_expect_success 'colliding keys, shapes added and removed while matching' '
	"$SS_BUILD/tests/test-route-index" 20261121 20000
'

test_expect_success 'and for a second seed' '
	"$SS_BUILD/tests/test-route-index" 7 20000
'

test_done
