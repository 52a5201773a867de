#!/bin/sh
# bench/electric/w2-single.sh — Electric's workload 2, single shape,
# single client: one client initial-syncs one shape of ROWS rows (id int,
# name text of about 12 bytes, value int), ROWS = 100 k ... 1 M; a fresh
# shape per point. Result: the client's sync time, first request to
# up-to-date. Electric: linear, 0.75 s at 100 k, 7.1 s at 1 M.
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/w2-single.sh
. "$(dirname "$0")/common.sh"
if [ "$QUICK" = 1 ]; then NS=${NS:-"100000 1000000"}; else NS=${NS:-"100000 250000 500000 750000 1000000"}; fi
ew_start
pg_psql "CREATE TABLE big (id int PRIMARY KEY, name text NOT NULL, value int NOT NULL)"
ew_header w2.tsv rows sync_ms loadgen_cpu_s
have=0
for n in $NS; do
	pg_psql "INSERT INTO big SELECT g, 'name ' || g, g % 1000 FROM generate_series($((have + 1)), $n) g" \
		"VACUUM ANALYZE big"
	have=$n
	ew_caught_up || exit 1
	ew_prof_start
	j=$(ew_loadgen --sync-only --query "table=big&where=id%20%3C%3D%20$n") || exit 1
	ew_prof_stop
	[ "$(jget "$j" rows)" = "$n" ] || { echo "w2: got $(jget "$j" rows) rows, not $n" >&2; exit 1; }
	ew_point w2.tsv "$n" "$(jget "$j" sync_mean_ms)" "$(ew_cpu "$j")"
done
ew_done w2.tsv
