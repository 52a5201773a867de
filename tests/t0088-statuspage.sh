#!/bin/sh
# lib/statuspage (C unit test): the operator's page through lib/server,
# whole, self-contained, with its headers; in a browser: t4200.
. "$(dirname "$0")/lib.sh"

test_expect_success 'statuspage unit tests' '
	"$SS_BUILD/tests/test-statuspage"
'

test_done
