#!/bin/sh
# lib/lsn, lib/offset, lib/frame and lib/util's addresses: the C unit
# programs and their tables.
. "$(dirname "$0")/lib.sh"

test_expect_success 'util: listening addresses' '
	"$SS_BUILD/tests/test-util"
'

test_expect_success 'lsn: parse and format' '
	"$SS_BUILD/tests/test-lsn"
'

test_expect_success 'offset: tests/data/offset.test' '
	"$SS_BUILD/tests/test-offset" "$TEST_SRC/data/offset.test"
'

test_expect_success 'frame: tests/data/frames.test, limits, writer, fuzz' '
	"$SS_BUILD/tests/test-frame" "$TEST_SRC/data/frames.test"
'

test_expect_success 'frame: the fast change scanner' '
	"$SS_BUILD/tests/test-frame-scan" 20261206 20000
'

test_done
