#!/bin/sh
# /v1/health tells the truth about the real pipeline: starting while serve
# runs alone, active once replication streams, 202 waiting when any stage
# is killed (kill -9: its heartbeat goes stale) or PostgreSQL stops, and
# active again after. /metrics: not on the public port unless asked for,
# Electric's names with exact values where they are known.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5) g"

ACTIVE='200 {"status":"active"}'
WAITING='202 {"status":"waiting"}'
STARTING='202 {"status":"starting"}'

# health: "<status> <body>" of GET /v1/health.
health() {
	_c=$(get /v1/health) && echo "$_c $(cat b)"
}
# metric LINE-START: the value of the metric line that starts so, from
# $METRICS_URL/metrics.
metric() {
	curl -s "$METRICS_URL/metrics" | awk -v k="$1" \
		'index($0, k " ") == 1 { print substr($0, length(k) + 2) }'
}

shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" init >/dev/null &&
shapesync-replicate --registry "$SS_REGISTRY" --create-slot 2>>"$TEST_DIR/pipeline.log" ||
	exit 1
serve_start --public-metrics --max-existing-requests 1
METRICS_URL=$SERVE_URL

test_expect_success 'serve up, the stages not yet: 202 starting' '
	test_eq "$STARTING" "$(health)" &&
	test_eq "application/json" "$(hdr content-type)" &&
	test_eq "no-cache, no-store, must-revalidate" "$(hdr cache-control)" &&
	test_eq 1 "$(metric "shapesync_health_status{status=\"starting\"}")" &&
	test_eq 0 "$(metric "shapesync_stage_up{stage=\"replicate\"}")"
'

stages_start
test_expect_success 'the pipeline streaming: 200 active' '
	wait_until "active" "test \"\$(health)\" = \"\$ACTIVE\"" 60 &&
	test_eq 1 "$(metric "shapesync_health_status{status=\"active\"}")" &&
	for s in replicate route store; do
		test_eq 1 "$(metric "shapesync_stage_up{stage=\"$s\"}")" || return 1
	done
'

test_expect_success 'shapesync-db stats shows each stage, its pid and registry connections' '
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" stats >st &&
	grep -qx "stage_replicate_state: streaming" st &&
	grep -qx "stage_route_state: running" st &&
	grep -qx "stage_store_state: running" st &&
	for s in replicate route store; do
		pid=$(sed -n "s/^stage_${s}_pid: //p" st) &&
		tr "\\0" " " </proc/$pid/cmdline | grep -q "shapesync-$s " &&
		test "$(sed -n "s/^stage_${s}_registry_connections: //p" st)" -ge 1 || return 1
	done
'

test_expect_success 'requests by exact status, shapes, admission rejects by kind' '
	test_eq 200 "$(get "/v1/shape?table=items&offset=-1")" &&
	H=$(hdr electric-handle) && O=$(hdr electric-offset) &&
	test_eq 200 "$(get "/v1/shape?table=items&offset=$O&handle=$H")" &&
	O=$(hdr electric-offset) &&
	test_eq 200 "$(get "/v1/shape?table=items&where=id>1&offset=-1")" &&
	test_eq 400 "$(get "/v1/shape?offset=-1")" &&
	{ curl -s -o live.body "$SERVE_URL/v1/shape?table=items&offset=$O&handle=$H&live=true" & } &&
	live=$! &&
	wait_until "a waiting live request" "test \"\$(metric shapesync_serve_waiting_requests)\" = 1" &&
	test_eq 503 "$(get "/v1/shape?table=items&offset=$O&handle=$H&live=true")" &&
	curl -s "$METRICS_URL/metrics" >m &&
	grep "^electric_plug_serve_shape_requests_count{" m >got &&
	printf "%s\n" "electric_plug_serve_shape_requests_count{status=\"200\"} 3" \
		"electric_plug_serve_shape_requests_count{status=\"400\"} 1" \
		"electric_plug_serve_shape_requests_count{status=\"503\"} 1" >want &&
	test_cmp want got &&
	grep -qx "electric_admission_control_reject_count{kind=\"existing\"} 1" m &&
	grep -qx "electric_admission_control_reject_count{kind=\"initial\"} 0" m &&
	grep -qx "electric_admission_control_acquire_current{kind=\"existing\"} 1" m &&
	grep -qx "electric_shapes_total_shapes_count 2" m &&
	grep -qx "electric_shapes_active_shapes_count 2" m &&
	pg_psql "INSERT INTO items VALUES (6, '"'"'item 6'"'"')" &&
	wait $live && grep -q "\"id\":\"6\"" live.body &&
	test_eq 4 "$(metric "electric_plug_serve_shape_requests_count{status=\"200\"}")"
'

# The gauges come from the stages' heartbeats (about one a second): on a
# loaded machine the first scrape may come before all of them are written.
gauges_ok() {
	curl -s "$METRICS_URL/metrics" >m &&
	grep -q "^electric_postgres_replication_slot_retained_wal_size [1-9][0-9]*$" m &&
	grep -q "^electric_postgres_replication_slot_confirmed_flush_lsn_lag [0-9][0-9]*$" m &&
	grep -q "^electric_postgres_replication_pg_wal_offset [1-9][0-9]*$" m &&
	grep -q "^electric_postgres_replication_transaction_received_receive_lag_bucket{le=\"+Inf\"} [1-9]" m &&
	grep -q "^# TYPE electric_postgres_replication_transaction_received_receive_lag histogram$" m &&
	for s in serve replicate route store; do
		grep -q "^electric_shape_db_sqlite_connections{stage=\"$s\"} [1-9][0-9]*$" m &&
		grep -q "^shapesync_stage_rss_bytes{stage=\"$s\"} [1-9][0-9]*$" m || return 1
	done &&
	grep -q "^shapesync_replicate_transactions_total [1-9]" m &&
	grep -q "^shapesync_replicate_changes_total [1-9]" m &&
	grep -q "^shapesync_route_transactions_total [1-9]" m &&
	grep -q "^shapesync_store_transactions_total [1-9]" m &&
	grep -q "^shapesync_store_durable_lsn [1-9]" m &&
	grep -q "^electric_shape_db_write_buffer_pending_writes_count [0-9]" m
}

test_expect_success 'replication gauges, receive lag, per-stage memory, connections, counters' '
	wait_until "a transaction in the receive lag" \
		"test \"\$(metric electric_postgres_replication_transaction_received_receive_lag_count)\" -ge 1" &&
	wait_until "every gauge and counter" gauges_ok 30
'

serve_stop
mport=$(perl -MIO::Socket::INET -e "print IO::Socket::INET->new(Listen => 1,
	LocalAddr => q(127.0.0.1), LocalPort => 0)->sockport")
serve_start --metrics-port "$mport"
METRICS_URL=http://127.0.0.1:$mport
test_expect_success '/metrics on --metrics-port; not on the public port without --public-metrics' '
	test_eq 404 "$(get /metrics)" &&
	test_eq 200 "$(curl -s -o m -w "%{http_code}" "$METRICS_URL/metrics")" &&
	grep -qx "electric_shapes_total_shapes_count 2" m &&
	test_eq 404 "$(curl -s -o /dev/null -w "%{http_code}" "$METRICS_URL/v1/health")"
'

# serve was restarted with the stages up: they are seen at once.
test_expect_success 'a restarted serve finds the running stages active' '
	test_eq "$ACTIVE" "$(health)"
'

# store killed: nothing tells the others (until route writes to it and
# dies of SIGPIPE), its heartbeat goes stale.
kill -9 "$(stage_pid store)"
test_expect_success 'kill -9 store: 202 waiting within the staleness window' '
	wait_until "waiting" "test \"\$(health)\" = \"\$WAITING\"" 30 &&
	test_eq 0 "$(metric "shapesync_stage_up{stage=\"store\"}")" &&
	test_eq 1 "$(metric "shapesync_health_status{status=\"waiting\"}")"
'
# A serve started after that has not seen store since: starting.
serve_stop
serve_start --metrics-port "$mport"
test_expect_success 'a serve started while store is down: 202 starting' '
	test_eq "$STARTING" "$(health)" &&
	test_eq 0 "$(metric "shapesync_stage_up{stage=\"store\"}")"
'
stages_stop
stages_start
test_expect_success 'stages restarted: 200 active' '
	wait_until "active" "test \"\$(health)\" = \"\$ACTIVE\"" 60
'

kill -9 "$(stage_pid route)"
test_expect_success 'kill -9 route: 202 waiting, route down' '
	wait_until "waiting" "test \"\$(health)\" = \"\$WAITING\"" 30 &&
	wait_until "route down" "test \"\$(metric \"shapesync_stage_up{stage=\\\"route\\\"}\")\" = 0" 30
'
stages_stop
stages_start
test_expect_success 'stages restarted: 200 active' '
	wait_until "active" "test \"\$(health)\" = \"\$ACTIVE\"" 60
'

kill -9 "$(stage_pid replicate)"
test_expect_success 'kill -9 replicate: 202 waiting, replicate down' '
	wait_until "waiting" "test \"\$(health)\" = \"\$WAITING\"" 30 &&
	wait_until "replicate down" "test \"\$(metric \"shapesync_stage_up{stage=\\\"replicate\\\"}\")\" = 0" 30
'
stages_stop
stages_start
test_expect_success 'stages restarted: 200 active, and changes flow again' '
	wait_until "active" "test \"\$(health)\" = \"\$ACTIVE\"" 60 &&
	pg_psql "INSERT INTO items VALUES (7, '"'"'item 7'"'"')" &&
	wait_until "row 7 in the shape" "shape_ops table=items && grep -qx \"insert 7\" ops" 30
'

test_expect_success 'PostgreSQL stopped: 202 waiting; restarted: 200 active' '
	pg_stop &&
	wait_until "waiting" "test \"\$(health)\" = \"\$WAITING\"" 30 &&
	test_eq 1 "$(metric "shapesync_stage_up{stage=\"replicate\"}")" &&
	pg_restart &&
	wait_until "active" "test \"\$(health)\" = \"\$ACTIVE\"" 60
'

stages_stop
test_expect_success 'an orderly stop of the stages: 202 waiting at once' '
	test_eq "$WAITING" "$(health)"
'

test_done
