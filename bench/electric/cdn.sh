#!/bin/sh
# bench/electric/cdn.sh — Electric's CDN workload, on one machine: C
# clients follow one shape live through nginx with the project's
# deploy/nginx/shapesync.conf (the cache collapses them into one upstream
# request per offset), while a writer commits W single-row transactions
# per second for D seconds. Result: write-to-client latency percentiles
# over every client and write, and the RSS of every stage, nginx and the
# load generator. Electric (100 k ... 1 M clients behind a real CDN): at
# 16 writes/s p99 304-410 ms, server memory 143-213 MB, flat.
# C is 10,000 (QUICK: 2,000): the hard descriptor limit here is 20,000
# per process and both the load generator and nginx hold one descriptor
# per client (nginx one more per upstream connection), all on one 2-core
# machine; 10,000 leaves nginx and loadgen headroom below it.
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/cdn.sh
. "$(dirname "$0")/common.sh"
. "$EW_ROOT/tests/nginx.sh"
if [ "$QUICK" = 1 ]; then C=${C:-2000}; WS=${WS:-"1 16"}; D=${D:-10}; else C=${C:-10000}; WS=${WS:-"1 4 16"}; D=${D:-30}; fi
ew_start --serve-arg=--long-poll-timeout=20000
pg_psql "CREATE TABLE feed (id bigserial PRIMARY KEY, name text NOT NULL, ts bigint)" \
	"INSERT INTO feed (name, ts) SELECT 'row ' || g, 0 FROM generate_series(1, 10) g"
nginx_start "$EW_ROOT/deploy/nginx/shapesync.conf" \
	"s|^\(    server \)[^ ;]*\(;.*# SITE: shapesync-serve\)|\1${SERVE_URL#http://}\2|" || exit 1
# The test harness's nginx takes 512 connections and logs every request:
# raise the one and drop the other for this many clients, then reload.
sed -i 's/^events { worker_connections 512; }$/worker_rlimit_nofile 20000;\nevents { worker_connections 19000; }/' "$NGX/nginx.conf"
sed -i 's|^\(    access_log \)[^ ]*\( .*# SITE: log\)$|\1off; #\2|' "$NGX/site.conf"
grep -q 'worker_connections 19000' "$NGX/nginx.conf" || { echo "cdn: could not raise nginx's connections" >&2; exit 1; }
kill -HUP "$NGINX_PID"
sleep 2
ngx_rss() {
	_s=0
	for _p in $NGINX_PID $(cat "/proc/$NGINX_PID/task/$NGINX_PID/children"); do
		_s=$((_s + $(_rss "$_p")))
	done
	echo $_s
}
ew_header cdn.tsv clients writes_per_s seconds lat_p50_ms lat_p99_ms lat_max_ms lat_mean_ms changes nginx_rss_kib loadgen_rss_kib loadgen_cpu_s
# ngx_quiet: wait (up to 90 s) until nginx holds few connections. With
# proxy_cache_lock and proxy_ignore_client_abort the last point's live
# requests stay in nginx until serve answers them, and 10,000 of those
# plus 10,000 new clients would pass worker_connections.
ngx_quiet() {
	_i=0
	while [ $_i -lt 900 ]; do
		_a=$(curl -s "$NGINX_STATUS_URL" | sed -n 's/^Active connections: *\([0-9]*\).*/\1/p')
		[ "${_a:-0}" -lt 100 ] && return 0
		_i=$((_i + 1))
		sleep 0.1
	done
	echo "cdn: nginx still holds $_a connections" >&2
	return 1
}
p=0
for w in $WS; do
	p=$((p + 1))
	ngx_quiet || exit 1
	n=$((w * D))
	rm -f "$TEST_DIR/ready"
	"$LOADGEN" --url "$NGINX_URL" --ready "$TEST_DIR/ready" --clients "$C" \
		--changes $((C * n)) --ts-column ts --timeout $((D * 4 + 300)) \
		--query "table=feed&where=id%20%3E%20-$p" >live.json &
	EW_LG=$!
	while [ ! -s "$TEST_DIR/ready" ]; do
		kill -0 $EW_LG 2>/dev/null || { echo "loadgen ended before sync" >&2; exit 1; }
		sleep 0.05
	done
	ew_txns feed "$n" 1 name "'w'" "$(awk -v w="$w" 'BEGIN { printf "%.4f", 1 / w }')"
	nr=$(ngx_rss)
	ew_live_wait live.json
	j=$(cat live.json)
	ew_point cdn.tsv "$C" "$w" "$D" "$(jget "$j" lat_p50_ms)" "$(jget "$j" lat_p99_ms)" \
		"$(jget "$j" lat_max_ms)" "$(jget "$j" lat_mean_ms)" "$(jget "$j" changes)" \
		"$nr" "$(jget "$j" maxrss_kib)" "$(ew_cpu "$j")"
done
ew_done cdn.tsv
