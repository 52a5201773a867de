#!/bin/sh
# lib/where's subqueries (`x IN (SELECT ...)`, issue 14): the forms
# Electric accepts and its errors for the others, the canonical text, the
# dependencies a clause names, and evaluation against views
# (tests/data/sublink.test); the DNF plan of such a clause and the tags
# and active_conditions of its rows, byte for byte against Electric's
# worked examples (tests/unit/test-dnf.c); route's state of subquery
# shapes: views, meta, moves (tests/unit/test-subq.c).
. "$(dirname "$0")/lib.sh"

test_expect_success 'sublink.test cases all pass' '
	"$SS_BUILD/tests/test-where-sublink" "$TEST_SRC/data/sublink.test"
'

test_expect_success 'a failing case is reported and fails the run' '
	printf "deftable public.p id:int4\ndefcol a int4\n\nwhere a IN (SELECT id FROM p)\ncanon a IN (SELECT id FROM p)\n" >bad.test &&
	test_must_fail 1 "$SS_BUILD/tests/test-where-sublink" bad.test &&
	test_stderr_has "canonical .a IN .SELECT id FROM public.p"
'

test_expect_success 'DNF plan, tags and active_conditions, md5 (lib/dnf, lib/md5)' '
	"$SS_BUILD/tests/test-dnf"
'

test_expect_success 'views: counts, moves, IN with NULLs (lib/view)' '
	"$SS_BUILD/tests/test-view" 1 &&
	"$SS_BUILD/tests/test-view" 2
'

test_expect_success 'route'"'"'s subquery state: meta, moves, pending move-ins (lib/subq)' '
	"$SS_BUILD/tests/test-subq"
'

test_expect_success 'subquery shapes in the router: deps, views, invalidation (lib/route)' '
	"$SS_BUILD/tests/test-route-subq"
'

test_expect_success 'views read from inner shapes'"'"' files (lib/viewload)' '
	"$SS_BUILD/tests/test-viewload"
'

test_expect_success 'a nested subquery'"'"'s move counted again after a restart (lib/movein)' '
	"$SS_BUILD/tests/test-movein"
'

test_expect_success 'restarts of nested moves: both placements, settled at the carrier, an outer shape activated late (lib/movein)' '
	"$SS_BUILD/tests/test-movein-restart"
'

test_done
