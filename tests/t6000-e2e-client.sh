#!/bin/sh
# End to end with the official @electric-sql/client (tests/e2e, node's test
# runner) against the whole pipeline: PostgreSQL, shapesync-replicate |
# shapesync-route | shapesync-store, and shapesync-serve.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules

# --test-force-exit and --test-timeout need Node.js 20.14; Debian 12's is
# 18: use them where node has them, and bound the run with timeout(1).
node_opts=
for o in --test-force-exit --test-timeout=120000; do
	node "$o" -e 0 2>/dev/null && node_opts="$node_opts $o"
done

pg_start
pipeline_start --enable-delete --long-poll-timeout 3000 --sse-timeout 4000

test_expect_success 'the official client follows shapes through the pipeline' '
	timeout 300 node --test $node_opts --test-reporter=spec "$E2E/client.test.mjs" >node.out 2>&1 || {
		cat node.out; echo "--- pipeline.log"; tail -n 30 pipeline.log
		echo "--- serve.log"; tail -n 30 serve.log; false
	}
'

test_expect_success 'clients that abort an answer mid-body are no warning in the log' '
	pg_psql "CREATE TABLE aborted (id int PRIMARY KEY, pad text)" \
		"INSERT INTO aborted SELECT g, repeat('\''x'\'', 1000) FROM generate_series(1, 2000) g" &&
	cat >abort.mjs <<-\EOF &&
	const url = `${process.env.SERVE_URL}/v1/shape?table=aborted&offset=-1`
	for (let i = 0; i < 3; i++) {
	  const c = new AbortController()
	  const r = await fetch(url, { signal: c.signal })
	  if (r.status !== 200) throw new Error(`status ${r.status}`)
	  c.abort() // with most of the 2 MB body still to come
	}
	EOF
	node abort.mjs &&
	test_eq 200 "$(curl -s -o /dev/null -w "%{http_code}" "$SERVE_URL/v1/shape?table=aborted&offset=-1")" &&
	! grep "warning: http:" serve.log
'

pipeline_stop
test_done
