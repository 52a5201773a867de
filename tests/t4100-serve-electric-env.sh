#!/bin/sh
# serve configured by Electric's environment variables alone, as a
# deployment written for Electric sets them: admission limits from
# ELECTRIC_MAX_CONCURRENT_REQUESTS's JSON, /metrics on
# ELECTRIC_PROMETHEUS_PORT, the query URL, the TCP timeout, the
# publication of ELECTRIC_REPLICATION_STREAM_ID, manual publishing, IPv6;
# bad values are usage errors naming the variable.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items VALUES (1, 'a'), (2, 'b')"

free_port() {
	node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
		() => { console.log(s.address().port); s.close(); })'
}
metric() {
	curl -s "$1/metrics" | awk -v k="$2" \
		'index($0, k " ") == 1 { print substr($0, length(k) + 2) }'
}

export ELECTRIC_MAX_CONCURRENT_REQUESTS='{"initial":1,"existing":1}'
serve_start --no-active-wait --public-metrics
unset ELECTRIC_MAX_CONCURRENT_REQUESTS

test_expect_success 'ELECTRIC_MAX_CONCURRENT_REQUESTS: the second concurrent request gets 503' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")" &&
	H=$(hdr electric-handle) &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=0_inf&handle=$H")" &&
	O=$(hdr electric-offset) &&
	{ curl -s -o /dev/null "$SERVE_URL/v1/shape?table=items&offset=$O&handle=$H&live=true" & } &&
	live=$! &&
	wait_until "a waiting live request" \
		"test \"\$(metric $SERVE_URL shapesync_serve_waiting_requests)\" = 1" &&
	test_eq 503 "$(get "/v1/shape?table=items&offset=$O&handle=$H&live=true")" &&
	test_eq "{\"code\":\"concurrent_request_limit_exceeded\",\"message\":\"Concurrent existing request limit exceeded (limit: 1), please retry\"}" "$(cat b)" &&
	test_eq true "$(hdr electric-internal-known-error)" &&
	kill $live; wait $live; :
'
serve_stop

MPORT=$(free_port)
export ELECTRIC_PROMETHEUS_PORT=$MPORT
serve_start --no-active-wait
unset ELECTRIC_PROMETHEUS_PORT

test_expect_success 'ELECTRIC_PROMETHEUS_PORT: /metrics there, 404 on the API port' '
	test_eq 200 "$(curl -s -o m -w "%{http_code}" "http://127.0.0.1:$MPORT/metrics")" &&
	grep -q "^electric_admission_control_acquire_current{kind=\"initial\"} 0$" m &&
	test_eq 404 "$(get /metrics)"
'
serve_stop

GOOD_URL=$DATABASE_URL
export DATABASE_URL="postgresql://127.0.0.1:1/none"
export ELECTRIC_QUERY_DATABASE_URL=$GOOD_URL
serve_start --no-active-wait
test_expect_success 'ELECTRIC_QUERY_DATABASE_URL is the URL serve queries' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")"
'
serve_stop
unset ELECTRIC_QUERY_DATABASE_URL
export ELECTRIC_POOLED_DATABASE_URL=$GOOD_URL
serve_start --no-active-wait
test_expect_success 'ELECTRIC_POOLED_DATABASE_URL, its old name, too' '
	test_eq 200 "$(get "/v1/shape?table=items&where=id=1&offset=-1")"
'
serve_stop
unset ELECTRIC_POOLED_DATABASE_URL
export DATABASE_URL=$GOOD_URL

export ELECTRIC_TCP_READ_TIMEOUT=1s
serve_start --no-active-wait
unset ELECTRIC_TCP_READ_TIMEOUT
test_expect_success 'ELECTRIC_TCP_READ_TIMEOUT: a silent connection is closed' '
	P=${SERVE_URL##*:} &&
	node -e "
		const s = require(\"net\").connect($P, \"127.0.0.1\");
		const t = setTimeout(() => { console.log(\"open\"); process.exit(1); }, 30000);
		s.on(\"close\", () => { clearTimeout(t); console.log(\"closed\"); });
	" >out &&
	test_eq closed "$(cat out)"
'
serve_stop

export ELECTRIC_REPLICATION_STREAM_ID=x
serve_start --no-active-wait
unset ELECTRIC_REPLICATION_STREAM_ID
test_expect_success 'ELECTRIC_REPLICATION_STREAM_ID=x: the table goes into electric_publication_x' '
	test_eq 200 "$(get "/v1/shape?table=items&where=id=2&offset=-1")" &&
	test_eq "electric_publication_x|items" \
		"$(pg_psql "SELECT pubname, tablename FROM pg_publication_tables WHERE pubname LIKE '"'"'electric%'"'"'")"
'
serve_stop

pg_psql "CREATE TABLE manual (id int PRIMARY KEY)" "INSERT INTO manual VALUES (1)"
export ELECTRIC_MANUAL_TABLE_PUBLISHING=true ELECTRIC_REPLICATION_STREAM_ID=m
serve_start --no-active-wait
unset ELECTRIC_MANUAL_TABLE_PUBLISHING ELECTRIC_REPLICATION_STREAM_ID
pub_state() {
	pg_psql "SELECT string_agg(pubname || ':' || tablename, ',' ORDER BY pubname, tablename) FROM pg_publication_tables" \
		"SELECT relreplident FROM pg_class WHERE relname = 'manual'"
}
test_expect_success 'ELECTRIC_MANUAL_TABLE_PUBLISHING: a table not published is a 503 that says so' '
	pub_state >before &&
	test_eq 503 "$(get "/v1/shape?table=manual&offset=-1")" &&
	test_eq "{\"message\":\"Database table \\\"public\\\".\\\"manual\\\" is missing from the publication \\\"electric_publication_m\\\" and the ELECTRIC_MANUAL_TABLE_PUBLISHING setting prevents shapesync from adding it\"}" "$(cat b)" &&
	test_eq true "$(hdr electric-internal-known-error)" &&
	test_eq 10 "$(hdr retry-after)" &&
	pub_state >after && test_cmp before after
'
test_expect_success 'published, but identity not FULL: a 503 that says so, nothing altered' '
	pg_psql "CREATE PUBLICATION electric_publication_m FOR TABLE manual" &&
	pub_state >before &&
	test_eq 503 "$(get "/v1/shape?table=manual&offset=-1")" &&
	test_eq "{\"message\":\"Database table \\\"public\\\".\\\"manual\\\" does not have its replica identity set to FULL\"}" "$(cat b)" &&
	pub_state >after && test_cmp before after
'
test_expect_success 'published by hand with identity FULL: the shape is served' '
	pg_psql "ALTER TABLE manual REPLICA IDENTITY FULL" &&
	pub_state >before &&
	test_eq 200 "$(get "/v1/shape?table=manual&offset=-1")" &&
	pub_state >after && test_cmp before after
'
serve_stop

export ELECTRIC_LISTEN_ON_IPV6=true
serve_start --no-active-wait
unset ELECTRIC_LISTEN_ON_IPV6
test_expect_success 'ELECTRIC_LISTEN_ON_IPV6=true: serve listens on ::1' '
	case $SERVE_URL in "http://[::1]:"*) ;; *) false ;; esac &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")"
'
serve_stop
serve_start --no-active-wait --bind ::1
test_expect_success '--bind takes an IPv6 address' '
	case $SERVE_URL in "http://[::1]:"*) ;; *) false ;; esac &&
	test_eq 200 "$(get /)"
'
serve_stop

test_expect_success 'bad values are usage errors naming the variable' '
	for kv in "ELECTRIC_MAX_CONCURRENT_REQUESTS={\"initial\":0}" \
		"ELECTRIC_MAX_CONCURRENT_REQUESTS=300" "ELECTRIC_DB_POOL_SIZE=0" \
		"ELECTRIC_PROMETHEUS_PORT=http" "ELECTRIC_TCP_SEND_TIMEOUT=30 days" \
		"ELECTRIC_TCP_READ_TIMEOUT=-1" "ELECTRIC_REPLICATION_STREAM_ID=My-Id" \
		"ELECTRIC_LISTEN_ON_IPV6=maybe" "ELECTRIC_MANUAL_TABLE_PUBLISHING=2"; do
		test_must_fail 2 env "$kv" shapesync-serve --insecure \
			--registry "$SS_REGISTRY" --dir "$SS_DATA" &&
		test_stderr_has "^shapesync-serve: error: invalid \\\$${kv%%=*} " || return 1
	done
'

test_done
