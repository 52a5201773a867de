#!/bin/sh
# lib/health and lib/metrics (C unit tests): /v1/health's status from the
# stages' heartbeats through every state, heartbeats through a registry
# file, and the /metrics page from known counters and heartbeats.
. "$(dirname "$0")/lib.sh"

test_expect_success 'health unit tests' '
	"$SS_BUILD/tests/test-health" "$TEST_DIR"
'

test_expect_success 'metrics unit tests' '
	"$SS_BUILD/tests/test-metrics"
'

test_done
