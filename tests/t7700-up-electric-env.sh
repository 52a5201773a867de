#!/bin/sh
# shapesync up with a deployment's Electric environment: the stream id's
# slot and publication, the query URL reaching serve, the log format and
# level reaching every stage (all of up's combined output parses as JSON).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/up.sh"

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY)" "INSERT INTO items VALUES (1)"

export ELECTRIC_REPLICATION_STREAM_ID=u
export ELECTRIC_QUERY_DATABASE_URL=$DATABASE_URL
export DATABASE_URL="$DATABASE_URL&application_name=direct"
up_start
unset ELECTRIC_REPLICATION_STREAM_ID ELECTRIC_QUERY_DATABASE_URL

test_expect_success 'ELECTRIC_REPLICATION_STREAM_ID: up streams from electric_slot_u' '
	test_eq 200 "$(curl -s -o /dev/null -w "%{http_code}" "$SERVE_URL/v1/shape?table=items&offset=-1")" &&
	test_eq "electric_slot_u" "$(pg_psql "SELECT slot_name FROM pg_replication_slots")" &&
	test_eq "electric_publication_u:items" \
		"$(pg_psql "SELECT pubname || '"'"':'"'"'|| tablename FROM pg_publication_tables")"
'

test_expect_success 'serve got the query URL, replicate the direct one' '
	pid=$(up_child shapesync-serve) &&
	tr "\0" "\n" </proc/$pid/cmdline >serve.args &&
	! grep -q application_name=direct serve.args &&
	pid=$(up_child shapesync-replicate) &&
	tr "\0" "\n" </proc/$pid/cmdline | grep -q application_name=direct
'
up_stop

test_expect_success '--log-format=json: every line of up and its stages is a JSON object' '
	: >json.log &&
	shapesync-up --dir "$UP_DIR" --port 0 --log-format=json --log-level=info 2>json.log &
	UP_PID=$! &&
	wait_until "ready" "grep -q \"\\\"msg\\\":\\\"ready: shapes at\" json.log" 60 &&
	kill -TERM $UP_PID && wait_end $UP_PID && UP_PID= && test_eq 0 "$st" &&
	jq -e -s "all(.[]; (.ts | type) == \"string\" and (.pid | type) == \"number\" and
		(.level | IN(\"info\", \"warning\", \"error\", \"debug\")))" json.log >/dev/null &&
	jq -r .program json.log | sort -u >programs &&
	grep -qx shapesync-up programs && grep -qx shapesync-serve programs &&
	jq -r "select(.program == \"shapesync-up\") | .msg" json.log | grep -qx stopping
'

export ELECTRIC_LISTEN_ON_IPV6=true
up_start
unset ELECTRIC_LISTEN_ON_IPV6
test_expect_success 'ELECTRIC_LISTEN_ON_IPV6: up serves on [::1] and says so' '
	test_eq "http://[::1]:" "${SERVE_URL%%]:*}]:" &&
	test_eq 200 "$(curl -s -o /dev/null -w "%{http_code}" -g "$SERVE_URL/v1/shape?table=items&offset=-1")" &&
	pid=$(up_child shapesync-serve) &&
	tr "\0" "\n" </proc/$pid/cmdline | grep -qx "::1"
'
up_stop

test_done
