#!/bin/sh
# shapesync-serve under hostile load (issue 15): slowloris, a POST body that
# never ends, thousands of idle connections, oversized and malformed
# requests, a thousand new shapes at once. Each attack gets its exact
# answer, and during each a plain client is still answered (alive: a curl
# with --max-time 5 must succeed; nothing is timed). The many-connection
# clients are tests/hostile.mjs; all traffic goes to 127.0.0.1, bounded.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"

# 2000 idle sockets for the client, as many for serve (which raises its
# own limit to the hard one).
[ "$(ulimit -n)" -ge 5000 ] || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 5000 ] || {
	echo "Bail out! t4003 needs 5000 descriptors (ulimit -n is $(ulimit -n))"
	exit 1
}

# Under ASan (make check-asan) freed memory waits in a quarantine of 256 MB
# by default, which VmHWM would count: a smaller one keeps the bound below
# about serve.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32
export ASAN_OPTIONS

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, n numeric)" \
	"INSERT INTO items SELECT g, g FROM generate_series(1, 5) g"
H="node $TEST_SRC/hostile.mjs"

# alive: a plain request gets its whole answer (the table's 5 rows).
alive() {
	curl -s --max-time 5 -o alive.b -w '%{http_code}' \
		"$SERVE_URL/v1/shape?table=items&offset=-1" >alive.code &&
	test_eq 200 "$(cat alive.code)" &&
	test_eq 5 "$(grep -o '"operation":"insert"' alive.b | wc -l)"
}
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$SERVE_PID/status"; }
# note_hwm WHEN: serve's VmHWM (kB) to ./hwm, for the last test.
note_hwm() { echo "$1 $(hwm)" >>"$TEST_DIR/hwm"; }
shapes() { shapesync-db --registry "$SS_REGISTRY" ls | tail -n +2 | wc -l; }

test_expect_success 'connguard: limit, deadlines, removal (unit)' '
	"$SS_BUILD/tests/test-connguard"
'

serve_start --no-active-wait --request-timeout 2 --idle-timeout 60 \
	--max-body 1MiB
PORT=${SERVE_URL##*:}
note_hwm start

test_expect_success 'slowloris: headers a byte every 100 ms are cut at --request-timeout' '
	alive || return 1
	$H slow "$PORT" 8 100 20 >slow.out &
	pid=$!
	sleep 1 && alive &&
	wait $pid &&
	test_eq "closed 8 answered 0 open 0" "$(cat slow.out)" &&
	alive
'

test_expect_success 'a POST body that trickles for ever is cut at --request-timeout' '
	$H trickle "$PORT" 100 20 >trickle.out &
	pid=$!
	sleep 1 && alive &&
	wait $pid &&
	test_eq "closed 1 answered 0 open 0" "$(cat trickle.out)"
'

# req N ARG: a GET with N query arguments ARG after table and offset.
req() {
	awk -v n="$1" -v a="$2" "BEGIN { printf \"GET /v1/shape?table=items&offset=-1\"; for (i = 0; i < n; i++) printf \"&%s\", a; printf \" HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\" }" >req
}

# 1000 arguments' records do not fit in a connection's memory: they were
# parsed (the query was cut at the wrong place), and libmicrohttpd, out of
# memory, closed the connection without an answer.
test_expect_success '1000 and 10,000 query parameters get 431 with a JSON body' '
	for n in 1000 10000; do
		req $n a &&
		test_eq "HTTP/1.1 431 Request Header Fields Too Large" "$(raw req)" &&
		test_eq "{\"error\":\"Too many query parameters\"}" "$(body)" || return 1
	done &&
	req 5000 a=1 &&
	test_eq "HTTP/1.1 431 Request Header Fields Too Large" "$(raw req)" &&
	test_eq "{\"error\":\"Too many query parameters\"}" "$(body)" &&
	alive
'

# Up to --max-header and 32 KiB more, serve answers; beyond, libmicrohttpd
# does, with its own HTML body (shapesync-serve(1), --max-header).
test_expect_success 'a 40 KB query string gets 414 with a JSON body, a 1 MB one a 414' '
	req 1 x=$(head -c 40000 /dev/zero | tr "\\0" a) &&
	test_eq "HTTP/1.1 414 URI Too Long" "$(raw req)" &&
	test_eq "{\"error\":\"URI too long\"}" "$(body)" &&
	awk "BEGIN { printf \"GET /v1/shape?table=items&offset=-1&x=\"; for (i = 0; i < 1048576; i++) printf \"a\"; printf \" HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\" }" >req &&
	test_eq "HTTP/1.1 414 URI Too Long" "$(raw req)" &&
	alive
'

# Every parameter serve reads, with a NUL and with a byte that is not
# UTF-8: a 400 whose errors name that parameter.
test_expect_success 'a NUL or bad UTF-8 in any parameter is a 400 naming it' '
	N0=$(shapes) &&
	for p in table where columns offset handle live live_sse cursor replica \
		"params%5B1%5D" secret api_secret log_mode subset__where unknown; do
		for bad in %00 %ff "a%c3"; do
			q="/v1/shape?table=items&offset=-1&$p=x$bad" &&
			code=$(get "$q") &&
			test_eq 400 "$code" &&
			name=$(node -e "const b = JSON.parse(require(\"fs\").readFileSync(\"b\", \"utf8\")); console.log(Object.keys(b.errors).join(\",\"))") &&
			test_eq "$(printf %s "$p" | sed "s/%5B/[/; s/%5D/]/")" "$name" || {
				echo "# $q: $code $(cat b)" >&2; return 1; }
		done
	done &&
	test_eq "$N0" "$(shapes)" &&
	alive
'

post_where() {
	get "/v1/shape?table=items&offset=-1" -X POST \
		-H "content-type: application/json" --data-binary @"$1"
}

# A POST body is a subset request (reference 1.9): its where is checked as
# the shape's is, and its errors come under "subset". The same where in a
# query string is over --max-header: 414.
test_expect_success '100,000 nested parentheses in where: 400' '
	awk "BEGIN { printf \"{\\\"where\\\":\\\"\"; for (i = 0; i < 100000; i++) printf \"(\"; printf \"id>0\"; for (i = 0; i < 100000; i++) printf \")\"; print \"\\\"}\" }" >deep.json &&
	test_eq 400 "$(post_where deep.json)" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"where\":\"where clause is too long (200004 bytes, the limit is 65536)\"}}}" "$(cat b)" &&
	awk "BEGIN { printf \"{\\\"where\\\":\\\"\"; for (i = 0; i < 30000; i++) printf \"(\"; printf \"id>0\"; for (i = 0; i < 30000; i++) printf \")\"; print \"\\\"}\" }" >deep.json &&
	test_eq 400 "$(post_where deep.json)" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"where\":\"At location 1010: expression is too deeply nested\"}}}" "$(cat b)" &&
	awk "BEGIN { for (i = 0; i < 100000; i++) printf \"(\"; printf \"id>0\"; for (i = 0; i < 100000; i++) printf \")\"; print \"\" }" >deep &&
	test_eq 414 "$(get "/v1/shape?table=items&offset=-1" --data-urlencode where@deep -G)" &&
	alive
'

# 100,000 items take at least 200,000 bytes: the length limit answers
# first. The IN-list limit itself (10,001 items) is in t4002.
test_expect_success 'an IN list of 100,000 items: 400' '
	awk "BEGIN { printf \"{\\\"where\\\":\\\"id in (0\"; for (i = 1; i < 100000; i++) printf \",%d\", i; print \")\\\"}\" }" >in.json &&
	test_eq 400 "$(post_where in.json)" &&
	test_eq "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"where\":\"where clause is too long (588897 bytes, the limit is 65536)\"}}}" "$(cat b)" &&
	alive
'

test_expect_success 'the first request of the next phases makes the shape' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")" &&
	hdr electric-handle >handle &&
	test_eq 1 "$(shapes)" &&
	note_hwm requests
'
serve_stop

# 2000 idle connections within --max-connections 2100: the plain client is
# still answered. 200 more reach the limit: 100 are refused at once (closed
# on accept), and so is the plain client, without waiting; once the idle
# ones go, it is answered again.
serve_start --request-timeout 30 --max-connections 2100
PORT=${SERVE_URL##*:}
test_expect_success '2000 idle connections within the limit, then the limit' '
	$H idle "$PORT" 2000 idle1 60 >idle1.out &
	p1=$!
	wait_until "the first report" "test -f idle1" 30 &&
	test_eq "open 2000 refused 0" "$(cat idle1)" &&
	alive || return 1
	$H idle "$PORT" 200 idle2 60 >idle2.out &
	p2=$!
	wait_until "the second report" "test -f idle2" 30 &&
	test_eq "open 100 refused 100" "$(cat idle2)" &&
	rc=0 && curl -s --max-time 5 -o /dev/null "$SERVE_URL/v1/health" || rc=$? &&
	say "curl at the limit: exit status $rc" &&
	case $rc in 52|56) ;; *) false ;; esac &&
	rm idle1 idle2 && wait $p1 && wait $p2 &&
	test_eq "closed 0" "$(cat idle1.out)" &&
	test_eq "closed 0" "$(cat idle2.out)" &&
	wait_until "the plain client answered" alive 10 &&
	note_hwm idle
'
serve_stop

# A thousand new shapes at once, route absent: the first 50 wait for its
# mark (--active-timeout) and hold --max-initial-requests, the other 950
# get Electric's 503 at once. A plain initial request gets the same 503
# without waiting; a request with a handle is answered.
serve_start --max-initial-requests 50 --active-timeout 8000
PORT=${SERVE_URL##*:}
test_expect_success '1000 new shapes at once: 503 with retry-after for the excess' '
	$H flood "$PORT" 1000 >flood.out &
	pid=$!
	wait_until "the admission limit" "test \"\$(get /v1/shape?table=items\&offset=-1)\" = 503" 30 &&
	test_eq "{\"code\":\"concurrent_request_limit_exceeded\",\"message\":\"Concurrent initial request limit exceeded (limit: 50), please retry\"}" "$(cat b)" &&
	test_eq true "$(hdr electric-internal-known-error)" &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=0_0&handle=$(cat handle)")" &&
	wait $pid &&
	cat >flood.want <<-\EOF &&
	950 503 {"code":"concurrent_request_limit_exceeded","message":"Concurrent initial request limit exceeded (limit: 50), please retry"} retry-after 6-10
	50 503 {"message":"Failed to create shape, please retry"} retry-after 1-1
	EOF
	test_cmp flood.want flood.out &&
	test_eq 1 "$(shapes)" &&
	alive &&
	note_hwm flood
'

# Each server's peak resident memory (VmHWM) after its part of the mix,
# under a bound far above what the configuration needs (256 MB).
test_expect_success 'serve memory stays bounded under the whole mix' '
	say "serve VmHWM (kB): $(tr "\n" " " <"$TEST_DIR/hwm")" &&
	test_eq 4 "$(wc -l <"$TEST_DIR/hwm")" &&
	awk "\$2 >= 262144 { exit 1 }" "$TEST_DIR/hwm"
'
test_done
