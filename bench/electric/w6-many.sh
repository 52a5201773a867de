#!/bin/sh
# bench/electric/w6-many.sh — Electric's workload 6, many shapes, one
# client: one client follows N overlapping shapes (`p = P AND v >= -K`,
# one connection per shape as the client's ShapeStreams have); ROUNDS
# transactions of 50 rows hit all N. Result: mean over the transactions
# of the time from the transaction's start to its last row in the last
# shape. Electric: 0.2 s at 100, 1.33 s at 500, 3.1 s at 1,100, 4.1 s at
# 1,500.
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/w6-many.sh
# serve's connections: a point's clients leave with their long-polls
# suspended in serve, which sees them closed only when it answers them
# (the long-poll timeout), so the next two points start beside them:
# 1,100 + 1,300 + 1,500 of them (3,000 refused the last point's clients
# once). 6,000 still leaves 3,500 logs open (see common.sh).
EW_MAXCONN=${EW_MAXCONN:-6000}
. "$(dirname "$0")/common.sh"
if [ "$QUICK" = 1 ]; then NS=${NS:-"100 1500"}; ROUNDS=${ROUNDS:-3}; else NS=${NS:-"100 300 500 700 900 1100 1300 1500"}; ROUNDS=${ROUNDS:-5}; fi
ew_start
pg_psql "CREATE TABLE many (id bigserial PRIMARY KEY, p int NOT NULL, v int NOT NULL, ts bigint)"
ew_header w6.tsv shapes txn_all_mean_ms txn_all_max_ms lat_p50_ms lat_p99_ms loadgen_cpu_s
p=0
for n in $NS; do
	p=$((p + 1))
	ew_live_start live.json --clients 1 --shapes "$n" --changes $((n * 50 * ROUNDS)) --ts-column ts \
		--query "table=many&where=p%20%3D%20$p%20AND%20v%20%3E%3D%20-{k}"
	ew_txns many "$ROUNDS" 50 "p, v" "$p, 0" 0.2
	ew_live_wait live.json
	j=$(cat live.json)
	ew_point w6.tsv "$n" "$(jget "$j" txn_all_mean_ms)" "$(jget "$j" txn_all_max_ms)" \
		"$(jget "$j" lat_p50_ms)" "$(jget "$j" lat_p99_ms)" "$(ew_cpu "$j")"
done
ew_done w6.tsv
