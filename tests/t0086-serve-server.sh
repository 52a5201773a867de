#!/bin/sh
# serve's HTTP server (lib/server) on a real socket with a fake route
# table: routing, 404, the intake limits, a failing handler answered 503
# while the server goes on, suspend and resume.
. "$(dirname "$0")/lib.sh"

test_expect_success 'server: routes, limits, failures, suspend and resume' '
	"$SS_BUILD/tests/test-server"
'

test_done
