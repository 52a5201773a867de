#!/bin/sh
# lib/pgoutput and the copy messages of lib/pg on hand-laid bytes (C unit
# tests): every pgoutput v1 message, every truncation, caches, xid epochs.
. "$(dirname "$0")/lib.sh"

test_expect_success 'pgoutput decoder, caches, xid extension, copy messages' '
	"$SS_BUILD/tests/test-pgoutput"
'

test_done
