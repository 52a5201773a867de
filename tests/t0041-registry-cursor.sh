#!/bin/sh
# lib/registry_cursor against real SQLite files (C unit tests).
. "$(dirname "$0")/lib.sh"

test_expect_success 'registry cursor unit tests' '
	"$SS_BUILD/tests/test-registry-cursor"
'

test_done
