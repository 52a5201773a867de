#!/bin/sh
# bench/electric/w3-unrelated.sh — Electric's workload 3, unrelated
# shapes, one client: N shapes `name = 'cI'` exist (created by N clients
# that sync and leave), one client follows shape c0 live, and ROUNDS
# single-row transactions write to c0 (one shape hit per write). Result:
# mean write-to-client latency (the row's transaction start time, stored
# in it, to its receipt). Then the same with `name ILIKE 'cI-%'` shapes
# and rows named 'c0-x'. Electric: flat 6 ms mean up to 10,000 shapes;
# ILIKE 14 ms at 1,000 and 140 ms at 10,000. FORMS="ilike" (or "eq")
# runs one of the two.
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/w3-unrelated.sh
# up to 10,000 clients sync at once
EW_MAXCONN=${EW_MAXCONN:-12000}
. "$(dirname "$0")/common.sh"
if [ "$QUICK" = 1 ]; then NS=${NS:-"10 1000 10000"}; ROUNDS=${ROUNDS:-20}; else NS=${NS:-"10 100 1000 2500 5000 7500 10000"}; ROUNDS=${ROUNDS:-50}; fi
ew_start
pg_psql "CREATE TABLE names (id serial PRIMARY KEY, name text NOT NULL, ts bigint)"
ew_header w3.tsv form shapes lat_mean_ms lat_p50_ms lat_p99_ms lat_max_ms create_s loadgen_cpu_s
first=1
for form in ${FORMS:-eq ilike}; do
	if [ $form = eq ]; then
		q="table=names&where=name%20%3D%20%27c{c}%27"; val="'c0'"
	else
		[ $first = 1 ] || ew_restart
		q="table=names&where=name%20ILIKE%20%27c{c}-%25%27"; val="'c0-x'"
	fi
	first=0
	for n in $NS; do
		j=$(ew_loadgen --clients "$n" --sync-only --query "$q") || exit 1
		create=$(jget "$j" wall_s)
		ew_live_start live.json --query "$q" --changes "$ROUNDS" --ts-column ts
		ew_txns names "$ROUNDS" 1 name "$val" 0.02
		ew_live_wait live.json
	j=$(cat live.json)
		ew_point w3.tsv $form "$n" "$(jget "$j" lat_mean_ms)" "$(jget "$j" lat_p50_ms)" \
			"$(jget "$j" lat_p99_ms)" "$(jget "$j" lat_max_ms)" "$create" "$(ew_cpu "$j")"
	done
done
ew_done w3.tsv
