#!/bin/sh
# lib/shape and lib/datadir: the C unit tests under tests/unit, one
# program per module, each run as its own test.
. "$(dirname "$0")/lib.sh"

test_expect_success 'shape: identifiers, columns, canonical form, handles' '
	"$SS_BUILD/tests/test-shape"
'

test_expect_success 'datadir: paths, init, walk, trash and empty_trash' '
	TMPDIR="$TEST_DIR" "$SS_BUILD/tests/test-datadir"
'

test_done
