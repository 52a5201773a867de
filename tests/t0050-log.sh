#!/bin/sh
# lib/log, lib/snapshot, lib/message and lib/compact (C unit tests on real
# files).
. "$(dirname "$0")/lib.sh"

test_expect_success 'log, snapshot and message unit tests' '
	"$SS_BUILD/tests/test-log"
'

test_expect_success 'compaction fold unit tests (lib/compact)' '
	"$SS_BUILD/tests/test-compact"
'

test_done
