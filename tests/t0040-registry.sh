#!/bin/sh
# lib/registry and lib/idmap against real SQLite files (C unit tests).
. "$(dirname "$0")/lib.sh"

test_expect_success 'registry and id map unit tests' '
	"$SS_BUILD/tests/test-registry"
'

test_done
