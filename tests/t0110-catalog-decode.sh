#!/bin/sh
# lib/catalog, lib/publication and lib/decode against a throwaway
# PostgreSQL: the C unit programs tests/unit/test-catalog.c and
# tests/unit/test-decode.c (each in a database of its own).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start

test_expect_success 'catalog: describe, keys, types, partitions; publication DDL' '
	pg_psql "CREATE DATABASE catalog_test" &&
	DATABASE_URL="$(echo "$DATABASE_URL" | sed "s,/shapesync_test?,/catalog_test?,")" \
		"$SS_BUILD/tests/test-catalog"
'

test_expect_success 'decode: pgoutput messages to frames' '
	pg_psql "CREATE DATABASE decode_test" &&
	DATABASE_URL="$(echo "$DATABASE_URL" | sed "s,/shapesync_test?,/decode_test?,")" \
		"$SS_BUILD/tests/test-decode"
'

test_done
