#!/bin/sh
# serve's HTTP server and its /v1/shape endpoint without PostgreSQL:
# lib/server on a real socket with a fake route table (routing, 404, the
# intake limits, a failing handler answered 503 while the server goes on,
# suspend and resume), and lib/shapeapi over an in-memory registry and a
# shape written with lib/snapshot and lib/log (snapshot, log, now, live,
# unknown handle, bad offset), and lib/statusapi (/v1/health, /metrics).
. "$(dirname "$0")/lib.sh"

test_expect_success 'server: routes, limits, failures, suspend and resume' '
	"$SS_BUILD/tests/test-server"
'

test_expect_success 'shapeapi: offsets, live, must-refetch, errors' '
	"$SS_BUILD/tests/test-shapeapi" "$TEST_DIR"
'

test_expect_success 'statusapi: health, metrics, metrics not public' '
	"$SS_BUILD/tests/test-statusapi"
'

test_done
