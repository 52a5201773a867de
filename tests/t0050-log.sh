#!/bin/sh
# lib/log, lib/snapshot and lib/message (C unit tests on real files).
. "$(dirname "$0")/lib.sh"

test_expect_success 'log, snapshot and message unit tests' '
	"$SS_BUILD/tests/test-log"
'

test_done
