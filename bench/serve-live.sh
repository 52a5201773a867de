#!/bin/sh
# bench/serve-live.sh — shapesync-serve with many live clients:
# (1) memory of IDLE (10,000) idle live connections on one shape: serve's
#     resident memory before and while they wait; (2) commit-to-client
#     latency with LIVE (1,000) live clients on one shape over the whole
#     pipeline (replicate | route | store | serve): p50 and p99 over every
#     client and ROUNDS (10) commits. No peer: these are absolute numbers.
# Usage: make bench, or SS_BUILD=build sh bench/serve-live.sh
set -u
IDLE=${IDLE:-10000}
LIVE=${LIVE:-1000}
ROUNDS=${ROUNDS:-10}
SS_ROOT=$(cd "$(dirname "$0")/.." && pwd)
SS_BUILD=$(cd "${SS_BUILD:-$SS_ROOT/build}" && pwd)
export SS_BUILD
ulimit -n 65536 2>/dev/null || ulimit -n 20000 || true
. "$SS_ROOT/tests/lib.sh"
. "$SS_ROOT/tests/pg.sh"
. "$SS_ROOT/tests/serve.sh"
. "$SS_ROOT/tests/pipeline.sh"

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

pg_start >/dev/null
pg_psql "CREATE TABLE live (id serial PRIMARY KEY, v int)" "INSERT INTO live (v) VALUES (0)"
pipeline_start --long-poll-timeout 60000 --max-existing-requests 100000 \
	--max-connections 100000 --threads "$(nproc)" || exit 1
[ "$(get "/v1/shape?table=live&offset=-1")" = 200 ] || exit 1
H=$(hdr electric-handle)
get "/v1/shape?table=live&offset=0_0&handle=$H" >/dev/null
O=$(hdr electric-offset)

# (1) idle connections
before=$(rss_kib "$SERVE_PID")
mkfifo hold
node "$SS_ROOT/bench/serve-live.mjs" idle "$SERVE_URL" \
	"/v1/shape?table=live&offset=$O&handle=$H&live=true" "$IDLE" <hold >idle.out &
NODE_PID=$!
exec 9>hold
i=0
until grep -q ready idle.out 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "clients did not connect" >&2; exit 1; }
	sleep 0.1
done
sleep 2
waiting=$(curl -s "$SERVE_URL/metrics" | awk '/^shapesync_serve_waiting_requests/ { print $2 }')
during=$(rss_kib "$SERVE_PID")
exec 9>&-
wait $NODE_PID
echo "idle live connections: $IDLE open, $waiting waiting in serve"
echo "serve RSS: $before KiB before, $during KiB with them: $(( (during - before) * 1024 / IDLE )) bytes per connection"

# (2) commit -> client latency
sleep 1
node "$SS_ROOT/bench/serve-live.mjs" latency "$SERVE_URL" live "$H" "$O" "$LIVE" "$ROUNDS" |
	sed "s/^/commit -> client latency, $LIVE live clients, ms: /"
pipeline_stop
