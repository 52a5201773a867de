#!/bin/sh
# lib/registry_stats (shapesync-db stats: keys, counts, heartbeats, text
# and JSON) and ss_registry_import_file (shapesync-db import) against real
# SQLite files (C unit tests).
. "$(dirname "$0")/lib.sh"

test_expect_success 'registry stats and import unit tests' '
	"$SS_BUILD/tests/test-registry-stats"
'

test_done
