#!/bin/sh
# bench/electric/w5-diverse.sh — Electric's workload 5, diverse shape
# fan-out: N different shapes that overlap (`p = P AND v >= -I` for client
# I: every row of the point P is in all of them), one client each; ROUNDS
# transactions of 50 rows hit all N. Result: mean over the transactions
# of the time from the transaction's start to its last row at the last
# client. Electric: 0.12 s at 50, 0.66 s at 250, 1.47 s at 450, 2.4 s at
# 750.
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/w5-diverse.sh
. "$(dirname "$0")/common.sh"
if [ "$QUICK" = 1 ]; then NS=${NS:-"50 750"}; ROUNDS=${ROUNDS:-3}; else NS=${NS:-"50 150 250 350 450 550 650 750"}; ROUNDS=${ROUNDS:-5}; fi
ew_start
pg_psql "CREATE TABLE div (id bigserial PRIMARY KEY, p int NOT NULL, v int NOT NULL, ts bigint)"
ew_header w5.tsv shapes txn_all_mean_ms txn_all_max_ms lat_p50_ms lat_p99_ms loadgen_cpu_s
p=0
for n in $NS; do
	p=$((p + 1))
	ew_live_start live.json --clients "$n" --changes $((n * 50 * ROUNDS)) --ts-column ts \
		--query "table=div&where=p%20%3D%20$p%20AND%20v%20%3E%3D%20-{c}"
	ew_txns div "$ROUNDS" 50 "p, v" "$p, 0" 0.2
	ew_live_wait live.json
	j=$(cat live.json)
	ew_point w5.tsv "$n" "$(jget "$j" txn_all_mean_ms)" "$(jget "$j" txn_all_max_ms)" \
		"$(jget "$j" lat_p50_ms)" "$(jget "$j" lat_p99_ms)" "$(ew_cpu "$j")"
done
ew_done w5.tsv
