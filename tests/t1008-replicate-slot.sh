#!/bin/sh
# lib/slot against a throwaway PostgreSQL: replicate's session lock and
# its take-over, the publication and slot lookup, slot creation and the
# refusal of a publication newer than its slot (tests/unit/test-slot.c).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start

test_expect_success 'slot: lock, take-over, lookup, creation' '
	"$SS_BUILD/tests/test-slot"
'

test_done
