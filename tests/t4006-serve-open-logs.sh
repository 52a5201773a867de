#!/bin/sh
# serve following more live shapes than its descriptors could keep logs
# open for. A shape's log reader holds four descriptors; serve keeps at
# most --max-open-logs of them (by default half of what the descriptor
# limit leaves beside --max-connections), closing the least recently used
# first. Before that bound every shape with a waiting client kept its
# reader, serve ran out of descriptors, answered 409 naming the very
# handle the client had, and the client looped on it (workload 8 at
# 10,000 shapes: 1.7 M conflicts). Here 60 shapes, one client on each,
# under a limit of 300 descriptors: every change arrives, no 409, no
# error; serve keeps at most its bound of logs open; and with the bound
# lifted (--max-open-logs above what the limit allows is cut down, with a
# warning) nothing changes. A look that still finds no descriptor is a
# 503 with Retry-After, never a 409 (lib/live's unit test, t0085).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/up.sh"

LOADGEN=$SS_BUILD/bench/electric/loadgen
N=60

pg_start
pg_psql "CREATE TABLE thr (id bigserial PRIMARY KEY, name text NOT NULL, ts bigint)"

# For up and its stages (PostgreSQL runs already): serve keeps 225
# descriptors for connections and (300 - 225) / 8 = 9 logs open.
ulimit -n 300 || {
	echo "Bail out! t4006 could not set ulimit -n 300"
	exit 1
}
up_start --store-arg=--sync-interval=2ms --serve-arg=--max-open-logs=100000

jget() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\\([-0-9.]*\\).*/\\1/p"
}

test_expect_success 'an open-logs bound above what the limit allows is cut down' '
	grep -q "shapesync-serve: warning: --max-open-logs 100000 is more than the descriptor limit (300) leaves beside 225 connections: using 9" "$TEST_DIR/up.log"
'

# follow N shapes live (one client), write `per` changes to each
follow_all() {
	per=$1 out=$2
	rm -f ready
	"$LOADGEN" --url "$SERVE_URL" --shapes $N --changes $((N * per)) \
		--query "table=thr&where=name%20%3D%20%27c{k}%27" \
		--ready ready --timeout 120 >"$out" &
	lg=$!
	wait_until "loadgen synced" "test -s ready" 60 || { kill $lg; return 1; }
	# every stream waits live now: the logs serve holds open
	ls -l "/proc/$(up_child shapesync-serve)/fd" | grep -c "/log\$" >"$out.logs"
	i=0
	while [ $i -lt "$per" ]; do
		pg_psql "INSERT INTO thr (name) SELECT 'c' || g FROM generate_series(0, $((N - 1))) g" >/dev/null ||
			{ kill $lg; return 1; }
		i=$((i + 1))
	done
	wait $lg
}

test_expect_success "$N live shapes under 300 descriptors: every change, no 409" '
	follow_all 3 live.json &&
	j=$(cat live.json) &&
	test_eq $N "$(jget "$j" streams)" &&
	test_eq 1 "$(jget "$j" synced)" &&
	test_eq $((N * 3)) "$(jget "$j" changes)" &&
	test_eq 0 "$(jget "$j" conflicts)" &&
	test_eq 0 "$(jget "$j" errors)" &&
	test_eq 0 "$(jget "$j" retries)"
'

test_expect_success 'and a second round from offset -1 sees every row' '
	follow_all 1 again.json &&
	j=$(cat again.json) &&
	test_eq $((N * 3)) "$(jget "$j" rows)" &&
	test_eq $N "$(jget "$j" changes)" &&
	test_eq 0 "$(jget "$j" conflicts)" &&
	test_eq 0 "$(jget "$j" errors)" &&
	test_eq 0 "$(jget "$j" retries)"
'

test_expect_success 'serve held at most 9 logs open while all waited' '
	n=$(cat again.json.logs) &&
	echo "# logs open: $n" &&
	test "$n" -ge 1 &&
	test "$n" -le 9
'

test_done
