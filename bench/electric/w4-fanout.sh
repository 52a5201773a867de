#!/bin/sh
# bench/electric/w4-fanout.sh — Electric's workload 4, write fan-out: N
# clients follow one 500-row shape live; ROUNDS transactions of K rows
# each are written into it. Result: mean over the transactions of the
# time from the transaction's start to its last row at the last client.
# N = 3 ... 200, K = 10 ... 1,910 (a fresh shape per point: rows of the
# point's batch b). Electric, at 200 clients: 0.1 s (10 rows) ... 5.4 s
# (1,910 rows).
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/w4-fanout.sh
. "$(dirname "$0")/common.sh"
if [ "$QUICK" = 1 ]; then NS=${NS:-"3 200"}; KS=${KS:-"10 1910"}; ROUNDS=${ROUNDS:-3}
else NS=${NS:-"3 50 100 150 200"}; KS=${KS:-"10 100 500 1000 1910"}; ROUNDS=${ROUNDS:-5}; fi
ew_start
pg_psql "CREATE TABLE fan (id bigserial PRIMARY KEY, b int NOT NULL, name text NOT NULL, ts bigint)" \
	"INSERT INTO fan (b, name, ts) SELECT 0, 'row ' || g, 0 FROM generate_series(1, 500) g"
ew_header w4.tsv clients rows_per_txn txn_all_mean_ms txn_all_max_ms lat_p50_ms lat_p99_ms loadgen_cpu_s
p=0
for n in $NS; do
	for k in $KS; do
		p=$((p + 1))
		ew_live_start live.json --clients "$n" --changes $((n * k * ROUNDS)) --ts-column ts \
			--query "table=fan&where=b%20%3D%200%20OR%20b%20%3D%20$p"
		ew_txns fan "$ROUNDS" "$k" "b, name" "$p, 'new ' || g" 0.2
		ew_live_wait live.json
	j=$(cat live.json)
		[ "$(jget "$j" rows)" = $((500 * n)) ] || { echo "w4: sync rows $(jget "$j" rows)" >&2; exit 1; }
		ew_point w4.tsv "$n" "$k" "$(jget "$j" txn_all_mean_ms)" "$(jget "$j" txn_all_max_ms)" \
			"$(jget "$j" lat_p50_ms)" "$(jget "$j" lat_p99_ms)" "$(ew_cpu "$j")"
	done
done
ew_done w4.tsv
