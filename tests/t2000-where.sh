#!/bin/sh
# lib/where: the table-driven cases of tests/data/where.test, the node
# view and key API, and a fuzz
# run of the parser and evaluator (no crash, every error has a message,
# canonical text is stable).
. "$(dirname "$0")/lib.sh"

test_expect_success 'where.test cases all pass' '
	"$SS_BUILD/tests/test-where" "$TEST_SRC/data/where.test"
'

test_expect_success 'a failing case is reported and fails the run' '
	printf "where a = 1\ncol a int4\nrow 1 => false\n" >bad.test &&
	test_must_fail 1 "$SS_BUILD/tests/test-where" bad.test &&
	test_stderr_has "expected false, got true"
'

test_expect_success 'node view, columns used, equality keys' '
	"$SS_BUILD/tests/test-where-api"
'

test_expect_success 'random and mutated clauses never crash' '
	"$SS_BUILD/tests/test-where-fuzz" 42 20000 &&
	"$SS_BUILD/tests/test-where-fuzz" 7 5000
'

# The differential test's generated clauses, evaluated without PostgreSQL
# (rows in COPY input form): under make check-asan this runs the evaluator
# over a wide mix of types, NULLs and limits.
test_expect_success 'generated clauses evaluate cleanly' '
	"$SS_BUILD/tests/test-where-gen" rows 5 12 >rows.in &&
	"$SS_BUILD/tests/test-where-gen" cases 5 3000 >cases.txt &&
	"$SS_BUILD/tests/test-where-gen" eval cases.txt rows.in >out.txt &&
	test $(wc -l <out.txt) = 36000 &&
	test $(grep -c "	[tfn]\$" out.txt) -gt 18000
'

test_done
