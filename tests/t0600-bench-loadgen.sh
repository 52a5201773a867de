#!/bin/sh
# bench/electric/loadgen, the load generator of Electric's workloads,
# against a real `shapesync up`: it reports exactly the rows the table
# has (one and two shapes per client), exactly the live changes written
# with one latency sample per row and one per transaction, and fails
# when the changes it waits for never come, so that a benchmark built on
# it cannot silently measure nothing; after a TRUNCATE (409) each client
# starts over and ends holding exactly the table. No timing is asserted.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/up.sh"

LOADGEN=$SS_BUILD/bench/electric/loadgen

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, k int NOT NULL, ts bigint)" \
	"INSERT INTO items SELECT g, g % 2, 0 FROM generate_series(1, 7) g"
up_start --store-arg=--sync-interval=2ms --serve-arg=--long-poll-timeout=3000

jget() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\\([-0-9.]*\\).*/\\1/p"
}

test_expect_success 'usage errors exit 2' '
	test_must_fail 2 "$LOADGEN" --clients 3 &&
	test_must_fail 2 "$LOADGEN" --url "$SERVE_URL" --query table=items --clients 0 &&
	test_must_fail 2 "$LOADGEN" --url ftp://x --query table=items
'

test_expect_success 'three clients sync the 7 rows each' '
	j=$("$LOADGEN" --url "$SERVE_URL" --query table=items --clients 3 \
		--sync-only --per-client pc.tsv) &&
	test_eq 3 "$(jget "$j" synced)" &&
	test_eq 21 "$(jget "$j" rows)" &&
	test_eq 0 "$(jget "$j" errors)" &&
	printf "client\trows\tchanges\n" >want &&
	printf "%s\t7\t0\n" 0 1 2 >>want &&
	awk -F"\t" -v OFS="\t" "{ print \$1, \$3, \$4 }" pc.tsv >got &&
	test_cmp want got
'

test_expect_success 'two shapes per client ({k}): 4 + 3 rows' '
	j=$("$LOADGEN" --url "$SERVE_URL" --query "table=items&where=k%20%3D%20{k}" \
		--clients 3 --shapes 2 --sync-only --per-client pc.tsv) &&
	test_eq 6 "$(jget "$j" streams)" &&
	test_eq 21 "$(jget "$j" rows)" &&
	awk -F"\t" "NR > 1 { print \$3 }" pc.tsv >got &&
	printf "7\n7\n7\n" >want &&
	test_cmp want got
'

test_expect_success 'live: exactly the 12 changes of two transactions, with latencies' '
	"$LOADGEN" --url "$SERVE_URL" --query table=items --clients 3 \
		--changes 12 --ts-column ts --ready ready --timeout 120 >live.json &
	lg=$! &&
	wait_until "loadgen synced" "test -s ready" 60 &&
	test_eq "synced 3" "$(cat ready)" &&
	pg_psql "INSERT INTO items SELECT g, 0, (extract(epoch from now()) * 1000000)::bigint FROM generate_series(8, 10) g" &&
	pg_psql "INSERT INTO items VALUES (11, 1, (extract(epoch from now()) * 1000000)::bigint)" &&
	wait $lg &&
	j=$(cat live.json) &&
	test_eq 21 "$(jget "$j" rows)" &&
	test_eq 12 "$(jget "$j" changes)" &&
	test_eq 12 "$(jget "$j" samples)" &&
	test_eq 2 "$(jget "$j" txns)" &&
	test_eq 0 "$(jget "$j" errors)"
'

test_expect_success '409 after TRUNCATE: each client starts over and holds the table' '
	"$LOADGEN" --url "$SERVE_URL" --query table=items --clients 3 \
		--changes 6 --ready ready2 --per-client pc.tsv --timeout 120 >trunc.json &
	lg=$! &&
	wait_until "loadgen synced" "test -s ready2" 60 &&
	pg_psql "TRUNCATE items" &&
	i=100 &&
	while kill -0 $lg 2>/dev/null && [ $i -lt 400 ]; do
		pg_psql "INSERT INTO items VALUES ($i, 0, 0)" &&
		i=$((i + 1)) &&
		sleep 0.2 || exit 1
	done &&
	wait $lg &&
	j=$(cat trunc.json) &&
	test_eq 3 "$(jget "$j" conflicts)" &&
	test_eq 0 "$(jget "$j" errors)" &&
	n=$(pg_psql "SELECT count(*) FROM items") &&
	awk -F"\t" -v OFS="\t" "NR > 1 { print \$1, \$3 + \$4 }" pc.tsv >got &&
	printf "0\t%s\n1\t%s\n2\t%s\n" "$n" "$n" "$n" >want &&
	test_cmp want got
'

test_expect_success 'changes that never come: exit 1 at the timeout' '
	test_must_fail 1 "$LOADGEN" --url "$SERVE_URL" --query table=items \
		--changes 1 --timeout 1 >none.json &&
	test_eq 0 "$(jget "$(cat none.json)" changes)" &&
	test_eq "$(pg_psql "SELECT count(*) FROM items")" "$(jget "$(cat none.json)" rows)"
'

test_done
