#!/bin/sh
# lib/create against a real PostgreSQL, without HTTP (test-create): the
# creation protocol's order (registered and published, route's mark, then
# the snapshot), get-or-create, failed creations, and shapes left pending
# by an earlier serve.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')" \
	"CREATE TABLE unpub (id int PRIMARY KEY)"

test_expect_success 'create: protocol, get, failures, stale shapes' '
	shapesync-db --registry "$TEST_DIR/registry.db" --dir "$TEST_DIR/data" init >/dev/null &&
	"$SS_BUILD/tests/test-create" "$DATABASE_URL" "$TEST_DIR/registry.db" "$TEST_DIR/data"
'

test_done
