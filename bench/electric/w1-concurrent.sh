#!/bin/sh
# bench/electric/w1-concurrent.sh — Electric's workload 1, concurrent
# shape creation: N clients start at once and initial-sync one 500-row
# shape that does not exist yet (a fresh shape per point: the where clause
# names the point), N = 50 ... 2,050. Result: mean (and p50, p99, max)
# client sync time, from the client's first request to its up-to-date
# with all 500 rows. Electric: 0.3 s at 50, 2.4 s at 450, 6.8 s at 850,
# 16.3 s at 1,250, 25 s at 2,050.
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/w1-concurrent.sh
. "$(dirname "$0")/common.sh"
if [ "$QUICK" = 1 ]; then NS=${NS:-"50 450 1250 2050"}; else NS=${NS:-"50 250 450 650 850 1050 1250 1450 1650 1850 2050"}; fi
ROWS=500
ew_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, value int NOT NULL, ts bigint)" \
	"INSERT INTO items SELECT g, 'name ' || g, g % 100, 0 FROM generate_series(1, $ROWS) g"
ew_header w1.tsv clients sync_mean_ms sync_p50_ms sync_p99_ms sync_max_ms rows_each retries loadgen_cpu_s wall_s
for n in $NS; do
	j=$(ew_loadgen --clients "$n" --sync-only --per-client pc.tsv \
		--query "table=items&where=id%20%3E%20-$n") || exit 1
	bad=$(awk -v r=$ROWS 'NR > 1 && $3 != r' pc.tsv | wc -l)
	[ "$bad" = 0 ] || { echo "w1: $bad clients did not get $ROWS rows" >&2; exit 1; }
	cpu=$(ew_cpu "$j")
	ew_point w1.tsv "$n" "$(jget "$j" sync_mean_ms)" "$(jget "$j" sync_p50_ms)" \
		"$(jget "$j" sync_p99_ms)" "$(jget "$j" sync_max_ms)" $ROWS \
		"$(jget "$j" retries)" "$cpu" "$(jget "$j" wall_s)"
done
ew_done w1.tsv
