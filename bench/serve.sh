#!/bin/sh
# bench/serve.sh — initial sync of a large shape by CLIENTS concurrent
# clients from shapesync-serve, next to nginx serving the same snapshot
# chunk files from disk (same run, same client: curl in parallel mode,
# both on loopback). Prints both rates and their ratio. Usage: make bench,
# or
#   SS_BUILD=build sh bench/serve.sh
# Knobs: MB (shape size, 100), CLIENTS (8), ROUNDS (5, best kept).
set -u
MB=${MB:-100}
CLIENTS=${CLIENTS:-8}
ROUNDS=${ROUNDS:-5}
SS_ROOT=$(cd "$(dirname "$0")/.." && pwd)
SS_BUILD=$(cd "${SS_BUILD:-$SS_ROOT/build}" && pwd)
export SS_BUILD
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
if [ ! -x "$NGINX" ]; then
	echo "bench/serve.sh: error: nginx not found (apt-get install nginx-light)" >&2
	exit 1
fi
# lib.sh gives a temporary directory and exit hooks; pg.sh a cluster.
. "$SS_ROOT/tests/lib.sh"
. "$SS_ROOT/tests/pg.sh"
. "$SS_ROOT/tests/serve.sh"

pg_start >/dev/null
rows=$((MB * 1024 * 1024 / 335))
pg_psql "CREATE TABLE big (id int PRIMARY KEY, a text, b int8, c timestamptz)" \
	"INSERT INTO big SELECT g, repeat(md5(g::text), 5), g * 7, '2026-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, $rows) g" >/dev/null
serve_start --no-active-wait --threads "$(nproc)" || exit 1

# Create the shape and wait for its snapshot.
t0=$(date +%s%N)
[ "$(get "/v1/shape?table=big&offset=-1")" = 200 ] || { echo "initial request failed" >&2; exit 1; }
H=$(hdr electric-handle)
D=$SS_DATA/shapes/$(echo "$H" | cut -c1-2)/$(echo "$H" | cut -c3-4)/$H
while [ ! -f "$D/snapshot.done" ]; do sleep 0.1; done
t1=$(date +%s%N)
N=$(cat "$D/snapshot.done")
bytes=$(cat "$D"/snapshot.[0-9]* | wc -c)
echo "shape: $rows rows, $N chunks, $((bytes / 1048576)) MiB on disk; snapshot taken in $(( (t1 - t0) / 1000000 )) ms"

# nginx: loopback only, its own temp dirs, stopped when this script ends.
NPORT=$(( 20000 + $$ % 20000 ))
mkdir -p "$TEST_DIR/nginx"
cat >"$TEST_DIR/nginx/nginx.conf" <<CONF
daemon off;
worker_processes $(nproc);
pid $TEST_DIR/nginx/nginx.pid;
error_log $TEST_DIR/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000;
	client_body_temp_path $TEST_DIR/nginx/body;
	proxy_temp_path $TEST_DIR/nginx/proxy;
	fastcgi_temp_path $TEST_DIR/nginx/fastcgi;
	uwsgi_temp_path $TEST_DIR/nginx/uwsgi;
	scgi_temp_path $TEST_DIR/nginx/scgi;
	default_type application/json;
	server {
		listen 127.0.0.1:$NPORT;
		root $D;
	}
}
CONF
chmod -R a+rX "$TEST_DIR"
"$NGINX" -c "$TEST_DIR/nginx/nginx.conf" -p "$TEST_DIR/nginx" &
NGINX_PID=$!
test_at_exit "kill $NGINX_PID"
i=0
until curl -s -o /dev/null "http://127.0.0.1:$NPORT/snapshot.done"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "nginx did not start" >&2; cat "$TEST_DIR/nginx/error.log" >&2; exit 1; }
	sleep 0.05
done

# One curl config per side: every client fetches every chunk, in order.
: >serve.cfg; : >nginx.cfg
c=0
while [ $c -lt "$CLIENTS" ]; do
	echo "url = \"$SERVE_URL/v1/shape?table=big&offset=-1&c=$c\"" >>serve.cfg
	k=0
	while [ $k -lt "$N" ]; do
		[ $k -gt 0 ] && echo "url = \"$SERVE_URL/v1/shape?table=big&offset=0_$((k - 1))&handle=$H&c=$c\"" >>serve.cfg
		echo "url = \"http://127.0.0.1:$NPORT/snapshot.$k?c=$c\"" >>nginx.cfg
		k=$((k + 1))
	done
	c=$((c + 1))
done
for f in serve.cfg nginx.cfg; do
	sed -i 's/^\(url = .*\)$/\1\noutput = "\/dev\/null"/' "$f"
done

# once CONFIG: one round; prints "MiB/s bytes".
once() {
	s=$(date +%s%N)
	got=$(curl -s -Z --parallel-max "$CLIENTS" --parallel-immediate -K "$1" \
		-w '%{size_download}\n' 2>/dev/null | awk '{ n += $1 } END { print n }')
	e=$(date +%s%N)
	echo "$(( got * 1000000000 / 1048576 / (e - s) )) $got"
}
# Rounds alternate between the two sides so that a noisy moment on the
# machine hits both; the best round of each is kept.
serve_rate=0 nginx_rate=0
r=0
while [ $r -lt "$ROUNDS" ]; do
	set -- $(once serve.cfg); [ "$1" -gt $serve_rate ] && serve_rate=$1; serve_bytes=$2
	set -- $(once nginx.cfg); [ "$1" -gt $nginx_rate ] && nginx_rate=$1; nginx_bytes=$2
	r=$((r + 1))
done
echo "clients: $CLIENTS, each syncing $N chunks ($((serve_bytes / CLIENTS / 1048576)) MiB)"
echo "shapesync-serve: $serve_rate MiB/s ($serve_bytes bytes)"
echo "nginx:           $nginx_rate MiB/s ($nginx_bytes bytes)"
awk -v a="$serve_rate" -v b="$nginx_rate" 'BEGIN { printf "ratio serve/nginx: %.2fx (target >= 0.80x)\n", a / b }'
serve_stop
