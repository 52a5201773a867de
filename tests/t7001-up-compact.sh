#!/bin/sh
# shapesync up compacts shape logs on its timer (--compact-interval, a
# supervised `shapesync-db compact --all --every`): a shape updated many
# times gets a compacted base while up runs, and a fresh client reads the
# rows from it; --compact-interval 0 runs no compaction unit.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/up.sh"

pg_start

test_expect_success 'setup: 20 rows' '
	pg_psql "CREATE TABLE c (id int PRIMARY KEY, v int)" \
		"INSERT INTO c SELECT g, 0 FROM generate_series(1, 20) g"
'

ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD=500
export ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD
up_start --database-url "$DATABASE_URL" --compact-interval 1s \
	--compact-arg=--force --compact-arg=--keep-chunks=1 || exit 1

# A base record in the shape's directory.
compacted() {
	test -n "$(find "$UP_DIR/data/shapes" -name base 2>/dev/null)"
}

test_expect_success 'a shape and 400 updates' '
	test_eq 200 "$(get "/v1/shape?table=c&offset=-1")" &&
	for i in $(seq 20); do
		echo "UPDATE c SET v = v + 1;"
	done | pg_psql
'

test_expect_success 'the compaction unit makes a base while up runs' '
	test -n "$(up_child shapesync-db)" &&
	wait_until "a compacted base" compacted 60
'

# few_ops: a fresh client reads 20 inserts and the newest chunk, far
# fewer than the 420 changes of the history.
few_ops() {
	shape_ops "table=c" && test "$(grep -c "^insert" ops)" = 20 &&
	test "$(wc -l <ops)" -lt 100
}

test_expect_success 'a fresh client reads the rows from it' '
	wait_until "a short walk from -1" few_ops 30
'

up_stop
test_expect_success 'up stopped with status 0, the unit with it' '
	test_eq 0 "$(cat up.exit)" && ! grep restarting up.log
'

test_expect_success '--compact-interval 0: no compaction unit' '
	up_start --database-url "$DATABASE_URL" --compact-interval 0 &&
	test -z "$(up_child shapesync-db)" &&
	up_stop
'

test_done
