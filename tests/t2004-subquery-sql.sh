#!/bin/sh
# Subquery shapes against PostgreSQL (issue 14): on random tables with
# NULLs, for clauses with subqueries of every form, the DNF plan over
# lib/view's views includes exactly the rows PostgreSQL's WHERE does, and
# the tags and active_conditions PostgreSQL computes with ss_dnf_sql's
# expressions (snapshot rows) equal those computed in C (replication rows),
# byte for byte (tests/unit/test-dnf-pg.c).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start

test_expect_success 'DNF, views and SQL agree with PostgreSQL, row by row' '
	"$SS_BUILD/tests/test-dnf-pg" 1 8 &&
	"$SS_BUILD/tests/test-dnf-pg" 2 8
'

test_done
