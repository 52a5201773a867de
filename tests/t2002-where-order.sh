#!/bin/sh
# lib/where's ORDER BY lists (lib/where_order.c, subset__order_by): the
# table-driven cases of tests/data/order_by.test, each accepted list
# re-checked from its canonical text, and the limits; then PostgreSQL
# sorts by each canonical text as by the list it came from.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

test_expect_success 'order_by.test cases all pass' '
	"$SS_BUILD/tests/test-where-order" "$TEST_SRC/data/order_by.test"
'

test_expect_success 'a failing case is reported and fails the run' '
	{ echo "col id int4" && echo "order id" && echo "canon id"; } >bad.test &&
	test_must_fail 1 "$SS_BUILD/tests/test-where-order" bad.test &&
	test_stderr_has "got:      \"id\""
'

# PostgreSQL reads every accepted list, as the client wrote it and as its
# canonical text, alike: the same rows in the same order (ties broken by
# id), or for both the same error (point has no ordering).
pg_start

test_expect_success 'PostgreSQL sorts by the canonical text as by the list' '
	pg_psql "CREATE TYPE mood AS ENUM ('\''sad'\'', '\''ok'\'')" \
		"CREATE TABLE t (id int4 PRIMARY KEY, title text, \"Mixed\" text,
			n int8, tags int4[], j jsonb, p point, \"desc\" text,
			mood mood, ts timestamptz)" \
		"INSERT INTO t VALUES
		(1, '\''b'\'', '\''X'\'', 5, '\''{3,1}'\'', '\''{\"a\":1}'\'', '\''(1,1)'\'', '\''z'\'', '\''ok'\'', '\''2024-01-01 10:00+00'\''),
		(2, '\''A'\'', '\''y'\'', -2, '\''{1}'\'', '\''[1]'\'', NULL, '\''a'\'', '\''sad'\'', '\''2023-06-01 00:00+00'\''),
		(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		(4, '\''a%c'\'', '\''Y'\'', 10, '\''{2,2}'\'', '\''\"s\"'\'', '\''(0,0)'\'', '\''m'\'', '\''ok'\'', '\''2024-03-31 23:30+00'\''),
		(5, '\''B'\'', '\''x'\'', 0, '\''{}'\'', '\''{}'\'', '\''(2,2)'\'', '\''b'\'', '\''sad'\'', '\''2022-01-01 00:00+00'\''),
		(6, '\''b'\'', '\''X'\'', 7, '\''{5}'\'', '\''2'\'', NULL, '\''z'\'', '\''ok'\'', '\''2024-01-01 10:00+00'\'')" &&
	"$SS_BUILD/tests/test-where-order" --sql text "$TEST_SRC/data/order_by.test" >text.sql &&
	"$SS_BUILD/tests/test-where-order" --sql canon "$TEST_SRC/data/order_by.test" >canon.sql &&
	n=$(grep -c "^SELECT" canon.sql) && test $n -gt 30 &&
	{ psql -X -q -At -f text.sql >text.out 2>text.err || :; } &&
	{ psql -X -q -At -f canon.sql >canon.out 2>canon.err || :; } &&
	test_cmp text.out canon.out &&
	test_eq 1 "$(grep -c ERROR canon.err)" &&
	grep -q "could not identify an ordering operator for type point" canon.err &&
	test_eq $((n - 1)) "$(wc -l <canon.out)"
'

test_done
