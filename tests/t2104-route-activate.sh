#!/bin/sh
# lib/activate (route's step of the creation protocol) over real registry
# files and a real router (C unit tests).
. "$(dirname "$0")/lib.sh"

test_expect_success 'activation unit tests' '
	"$SS_BUILD/tests/test-activate"
'

test_done
