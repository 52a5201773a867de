#!/bin/sh
# lib/sdnotify (C unit test): the sd_notify datagram reaches a socket
# bound to a file and one in the abstract namespace, exactly as sent; no
# socket set sends nothing; bad names and dead sockets fail with a message.
. "$(dirname "$0")/lib.sh"

test_expect_success 'sdnotify unit tests' '
	"$SS_BUILD/tests/test-sdnotify" "$TEST_DIR"
'

test_done
