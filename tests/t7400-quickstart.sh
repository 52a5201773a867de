#!/bin/sh
# docs/quickstart.md is true: its curl requests and its TypeScript program,
# taken from the page itself, run against `shapesync up` on the embedded
# PostgreSQL and its demo table, and give what the page says. Only the
# example address, handle, offset and psql connection string are replaced
# by this run's.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/up.sh"

DOC=$SS_ROOT/docs/quickstart.md
e2e_modules

# block LANG N: the Nth fenced block of the page opened with ```LANG.
block() {
	awk -v lang="$1" -v n="$2" '
		/^```/ { if (open) { open = 0; inb = 0; next }
			 open = 1
			 if ($0 == "```" lang) { k++; inb = (k == n) }
			 next }
		inb { print }' "$DOC"
}

# The example values on the page, and this run's.
EX_HANDLE=3977966214-1795256197028375
EX_CONN="host='/home/you/shapesync/var/pg' port=41234 user=postgres dbname=postgres"

up_start --store-arg=--sync-interval=2ms
ADDR=${SERVE_URL#http://}
CONN=$(sed -n 's/^shapesync-up: psql: psql "\(.*\)"$/\1/p' up.log | tail -n 1)

# doc_cmd LANG N: the block with this run's values, as a script.
doc_cmd() {
	block "$1" "$2" | sed -e "s|127\.0\.0\.1:3000|$ADDR|g" \
		-e "s|$EX_HANDLE|$(cat handle 2>/dev/null)|g" \
		-e "s|offset=0_0|offset=$(cat offset 2>/dev/null)|g" |
	awk -v ex="$EX_CONN" -v conn="$CONN" '{
		i = index($0, ex)
		if (i) $0 = substr($0, 1, i - 1) conn substr($0, i + length(ex))
		print }'
}

test_expect_success 'the page has the blocks this test runs' '
	block sh 1 | grep -q "^make run$" &&
	block sh 2 | grep -q "offset=-1" &&
	block sh 3 | grep -q "handle=$EX_HANDLE&offset=0_0.$" &&
	block sh 4 | grep -q "live=true" &&
	block sh 5 | grep -q "UPDATE items SET status = .done. WHERE id = 2" &&
	block sh 6 | grep -q "data-urlencode" &&
	block ts 1 | grep -q "new ShapeStream<Item>" &&
	block sh 8 | grep -q "npx tsc"
'

test_expect_success 'curl: the initial snapshot of the demo table' '
	doc_cmd sh 2 >initial.sh && sh initial.sh >resp &&
	tr -d "\r" <resp >resp.txt &&
	head -n 1 resp.txt | grep -q "^HTTP/1.1 200" &&
	sed -n "s/^electric-handle: //p" resp.txt >handle &&
	sed -n "s/^electric-offset: //p" resp.txt >offset &&
	test -s handle && test -s offset &&
	test_eq 5 "$(grep -c "\"operation\":\"insert\"" resp.txt)" &&
	grep -q "\"control\":\"snapshot-end\"" resp.txt
'

test_expect_success 'curl: catching up ends up-to-date' '
	doc_cmd sh 3 >catchup.sh && sh catchup.sh >resp &&
	tr -d "\r" <resp | head -n 1 | grep -q "^HTTP/1.1 200" &&
	grep -q "\"control\":\"up-to-date\"" resp
'

test_expect_success 'curl: a live request returns the change made with the printed psql command' '
	doc_cmd sh 4 >live.sh &&
	{ sh live.sh >live.resp 2>live.err & } &&
	sleep 1 &&
	test ! -s live.resp &&
	doc_cmd sh 5 >change.sh && grep -q "$CONN" change.sh && sh change.sh &&
	_i=0 && until grep -q "up-to-date" live.resp; do
		_i=$((_i + 1)); [ $_i -le 100 ] || { cat live.resp; exit 1; }; sleep 0.1; done &&
	grep -q "\"value\":{\"id\":\"2\",\"status\":\"done\"},\"headers\":{\"operation\":\"update\"" live.resp
'

test_expect_success 'curl: where and columns' '
	doc_cmd sh 6 >where.sh && sh where.sh >resp 2>/dev/null &&
	tr -d "\r" <resp >resp.txt &&
	grep "\"operation\"" resp.txt | sed "s/.*\"value\":\({[^}]*}\).*/\1/" >rows &&
	printf "%s\n" "{\"id\":\"3\",\"title\":\"Follow it with the TypeScript client\"}" \
		"{\"id\":\"4\",\"title\":\"Change a row in psql and watch it arrive\"}" >want &&
	test_cmp want rows
'

test_expect_success 'TypeScript: the program type-checks, runs and follows the changes' '
	doc_cmd ts 1 >follow.mts &&
	ln -s "$E2E/node_modules" node_modules &&
	doc_cmd sh 8 | sed -e "s|npx tsc|$E2E/node_modules/.bin/tsc|" \
		-e "s|&& node follow.mjs|\&\& exec node follow.mjs|" >run.sh &&
	{ sh run.sh >follow.out 2>&1 & } && pid=$! &&
	want1="3 to do: 3:Follow it with the TypeScript client, 4:Change a row in psql and watch it arrive, 5:Compose the stages by hand" &&
	_i=0 && until grep -q -F -x "$want1" follow.out; do
		_i=$((_i + 1)); [ $_i -le 600 ] || { cat follow.out; exit 1; }; sleep 0.1; done &&
	psql -X -q -d "$CONN" -c "UPDATE items SET status = '\''done'\'' WHERE id = 3" &&
	want2="2 to do: 4:Change a row in psql and watch it arrive, 5:Compose the stages by hand" &&
	_i=0 && until grep -q -F -x "$want2" follow.out; do
		_i=$((_i + 1)); [ $_i -le 200 ] || { cat follow.out; exit 1; }; sleep 0.1; done &&
	kill $pid
'

up_stop
test_done
