#!/bin/sh
# docs/stages.md is true: its commands, taken from the page, put the
# pipeline together by hand with tee recording the frames, inspect them
# with jq, replay route (same output) and store into a copy of the state
# (same log). They run under bash with job control, as typed at a prompt;
# only the port 3000 is replaced by a free one.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

DOC=$SS_ROOT/docs/stages.md

# block N: the Nth ```sh block of the page.
block() {
	awk -v n="$1" '
		/^```/ { if (open) { open = 0; inb = 0; next }
			 open = 1
			 if ($0 == "```sh") { k++; inb = (k == n) }
			 next }
		inb { print }' "$DOC"
}

pg_start
# The demo table of shapesync up, which the page uses.
pg_psql "CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL,
	status text NOT NULL DEFAULT 'todo', priority integer NOT NULL DEFAULT 0)" \
	"INSERT INTO items (id, title) SELECT g, 'item ' || g FROM generate_series(1, 5) g"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + $$ % 20000)))

# One bash session runs the page's blocks in order, like a shell prompt;
# the test waits between them where a person would look first.
for n in 1 2 3 4 5 6 7; do block $n >block$n.sh; done
sed -i "s/3000/$PORT/g" block2.sh block3.sh

cat >session.sh <<'EOS'
set -m
. ./block1.sh || exit 1
. ./block2.sh
_i=0; until curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/health"; do
	_i=$((_i + 1)); [ $_i -le 100 ] || exit 1; sleep 0.1; done
. ./block3.sh
# Until store has the three updates in shape 1's log.
_i=0; until [ "$(shapesync db log 1 | grep -c '"operation":"update"')" = 3 ]; do
	_i=$((_i + 1)); [ $_i -le 200 ] || exit 1; sleep 0.1; done
echo "--- block4"; . ./block4.sh
echo "--- block5"; . ./block5.sh
echo "--- block6"; . ./block6.sh
echo "--- block7"; . ./block7.sh
echo "--- end"
EOS

test_expect_success 'the page has the blocks this test runs' '
	grep -q "tee wal.ndjson" block2.sh && grep -q "jq" block4.sh &&
	grep -q "shapesync route < wal.ndjson" block6.sh &&
	grep -q "shapesync store --registry replay" block7.sh
'

test_expect_success 'the page, run in order, gives what it says' '
	PORT=$PORT timeout 120 bash session.sh >session.out 2>session.err || {
		cat session.out session.err; exit 1; } &&
	sed -n "/^--- block4/,/^--- block5/p" session.out >jq.out &&
	grep -q -x "\\[\"update\",\"1\",\\[1\\]\\]" jq.out &&
	grep -q -x "\\[\"update\",\"3\",\\[1\\]\\]" jq.out &&
	test_eq 0 "$(grep -c "\"insert\"" jq.out)" &&
	grep -q -x " *3 1" jq.out &&
	sed -n "/^--- block5/,/^--- block6/p" session.out | grep -q "items" &&
	sed -n "/^--- block6/,/^--- block7/p" session.out | grep -q -x same &&
	sed -n "/^--- block7/,/^--- end/p" session.out | grep -q -x same &&
	test -s wal.ndjson && test -s tagged.ndjson &&
	test_eq 3 "$(grep -c "\"op\":\"update\"" wal.ndjson)"
'

test_done
