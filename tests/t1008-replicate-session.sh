#!/bin/sh
# replicate's session mechanisms against a throwaway PostgreSQL: lib/slot
# (the session lock and its take-over, the publication and slot lookup,
# slot creation, the refusal of a publication newer than its slot;
# tests/unit/test-slot.c) and lib/publisher (tables joining the
# publication, retries and warnings, partitions given REPLICA IDENTITY
# FULL; tests/unit/test-publisher.c), each in a database of its own.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start

test_expect_success 'slot: lock, take-over, lookup, creation' '
	"$SS_BUILD/tests/test-slot"
'

test_expect_success 'publisher: tables, retries, partitions' '
	pg_psql "CREATE DATABASE publisher_test" &&
	DATABASE_URL="$(echo "$DATABASE_URL" | sed "s,/shapesync_test?,/publisher_test?,")" \
		"$SS_BUILD/tests/test-publisher"
'

test_done
