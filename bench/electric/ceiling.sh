#!/bin/sh
# bench/electric/ceiling.sh — the load generator's own ceiling: C clients
# initial-sync one 500-row shape through nginx (deploy/nginx), which
# serves all but the first from its cache, ROUNDS times with a fresh
# client set each time; the rate is what loadgen handles per second of
# its own CPU time (user + system), in requests and in rows, so that a
# workload's rate can be set against it. nginx shares the 2 cores, so
# the wall-clock rate is a floor of the ceiling, the CPU rate its
# estimate.
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/ceiling.sh
. "$(dirname "$0")/common.sh"
. "$EW_ROOT/tests/nginx.sh"
C=${C:-2000}
ROUNDS=${ROUNDS:-5}
ew_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, value int NOT NULL)" \
	"INSERT INTO items SELECT g, 'name ' || g, g % 100 FROM generate_series(1, 500) g"
nginx_start "$EW_ROOT/deploy/nginx/shapesync.conf" \
	"s|^\(    server \)[^ ;]*\(;.*# SITE: shapesync-serve\)|\1${SERVE_URL#http://}\2|" || exit 1
sed -i 's/^events { worker_connections 512; }$/worker_rlimit_nofile 20000;\nevents { worker_connections 19000; }/' "$NGX/nginx.conf"
sed -i 's|^\(    access_log \)[^ ]*\( .*# SITE: log\)$|\1off; #\2|' "$NGX/site.conf"
kill -HUP "$NGINX_PID"
sleep 2
# Warm the cache.
"$LOADGEN" --url "$NGINX_URL" --sync-only --query "table=items" >/dev/null || exit 1
ew_header ceiling.tsv clients requests rows wall_s loadgen_cpu_s requests_per_cpu_s rows_per_cpu_s requests_per_wall_s
r=0
while [ $r -lt "$ROUNDS" ]; do
	j=$("$LOADGEN" --url "$NGINX_URL" --clients "$C" --sync-only --query "table=items") || exit 1
	[ "$(jget "$j" rows)" = $((C * 500)) ] || { echo "ceiling: rows $(jget "$j" rows)" >&2; exit 1; }
	cpu=$(ew_cpu "$j")
	req=$(jget "$j" requests)
	rows=$(jget "$j" rows)
	wall=$(jget "$j" wall_s)
	ew_point ceiling.tsv "$C" "$req" "$rows" "$wall" "$cpu" \
		"$(awk -v a="$req" -v c="$cpu" 'BEGIN { printf "%.0f", a / c }')" \
		"$(awk -v a="$rows" -v c="$cpu" 'BEGIN { printf "%.0f", a / c }')" \
		"$(awk -v a="$req" -v c="$wall" 'BEGIN { printf "%.0f", a / c }')"
	r=$((r + 1))
done
ew_done ceiling.tsv
