#!/bin/sh
# bench/electric/lag.sh — where a backlog sits: workload 7's write burst
# (N `name = 'cI'` shapes followed by one client, CHANGES single-row
# transactions as fast as one session writes), with serve's /metrics
# (each stage's received LSN, store's durable LSN) and PostgreSQL's
# current WAL LSN sampled every 50 ms. Prints one line per sample: ms
# since the burst began, then each position's distance behind the WAL in
# bytes. A stage whose distance grows while the one before it keeps up
# is the one that holds the queue.
# Usage: SS_BUILD=build sh bench/electric/lag.sh
. "$(dirname "$0")/common.sh"
N=${N:-100}
CHANGES=${CHANGES:-3000}
ew_start --serve-arg=--public-metrics
pg_psql "CREATE TABLE thr (id bigserial PRIMARY KEY, name text NOT NULL, ts bigint)"
ew_live_start live.json --shapes "$N" --changes "$CHANGES" --ts-column ts \
	--query "table=thr&where=name%20%3D%20%27c{k}%27"
{
	echo "SET synchronous_commit = off;"
	i=0
	while [ $i -lt "$CHANGES" ]; do
		echo "INSERT INTO thr (name, ts) VALUES ('c$((i % N))', $EW_TS);"
		i=$((i + 1))
	done
} >w.sql
t0=$(date +%s%N)
pg_psql <w.sql >/dev/null &
W=$!
printf 'ms\twal\treplicate\troute\tstore\tdurable\tserve\n'
while kill -0 $EW_LG 2>/dev/null; do
	wal=$(pg_psql "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
	curl -s "$SERVE_URL/metrics" >m
	t=$(( ($(date +%s%N) - t0) / 1000000 ))
	printf '%s\t%s' "$t" "$wal"
	for st in replicate route store serve; do
		v=$(awk -v s="$st" '$1 ~ /^shapesync_stage_received_lsn/ && $1 ~ "stage=\"" s "\"" { print $2 }' m)
		printf '\t%s' "$(awk -v w="$wal" -v v="${v:-0}" 'BEGIN { printf "%.0f", w - v }')"
		[ $st = store ] && printf '\t%s' "$(awk -v w="$wal" -v v="$(awk '$1 ~ /^shapesync_store_durable_lsn/ { print $2 }' m)" 'BEGIN { printf "%.0f", w - v }')"
	done
	echo
	sleep 0.05
done
wait $W
ew_live_wait live.json
cat live.json
