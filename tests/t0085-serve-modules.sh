#!/bin/sh
# serve's mechanisms without a server (C unit tests and tables): lib/http
# (routes, error bodies, ETags, range bodies), lib/shapereq
# (tests/data/shapereq.test: every answer of /v1/shape's validation) and
# lib/answer (tests/data/answer.test: what to send for each offset, live
# flag and shape state), lib/live (waiters, deadlines, wake-ups) and
# lib/sse (events from log ranges), lib/subset (ORDER BY, POST bodies,
# field checks), lib/evict (LRU eviction on an in-memory registry) and
# lib/tablecache (cached catalog lookups).
. "$(dirname "$0")/lib.sh"

test_expect_success 'http: routes, bodies, etags, range bodies' '
	"$SS_BUILD/tests/test-http" "$TEST_DIR"
'

test_expect_success 'shapereq: tests/data/shapereq.test' '
	"$SS_BUILD/tests/test-shapereq" "$TEST_SRC/data/shapereq.test"
'

test_expect_success 'answer: tests/data/answer.test' '
	"$SS_BUILD/tests/test-answer" "$TEST_SRC/data/answer.test"
'

test_expect_success 'live: waiters, deadlines, inotify, stop' '
	"$SS_BUILD/tests/test-live" "$TEST_DIR"
'

test_expect_success 'sse: events, up-to-date, keep-alive' '
	"$SS_BUILD/tests/test-sse" "$TEST_DIR"
'

test_expect_success 'subset: order_by, bodies, checks' '
	"$SS_BUILD/tests/test-subset"
'

test_expect_success 'evict: least recently read first, pending shapes stay' '
	"$SS_BUILD/tests/test-evict" "$TEST_DIR"
'

test_expect_success 'tablecache: hits, misses, time to live, failures' '
	"$SS_BUILD/tests/test-tablecache"
'

test_done
