#!/bin/sh
# shapesync-replicate while it runs: tables of registered shapes join the
# publication, one instance per slot, the slot's confirmed_flush_lsn
# follows the registry's durable LSN and never passes it, kill -9 and
# restart lose nothing, progress frames move the slot past WAL that held
# nothing, SIGTERM and SIGINT stop cleanly, a connection lost
# mid-transaction is resumed without a break in the stream, and status
# updates keep a 2 s wal_sender_timeout from ever firing.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start 'wal_sender_timeout = 2s'
tool=$SS_BUILD/tests/test-tool
test_at_exit 'for f in "$TEST_DIR"/*.pid; do kill -9 $(cat "$f"); done'

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds (CMD is
# a command or function: its arguments are expanded once, by the caller).
wait_for() {
	_n=$(($1 * 10))
	shift
	while ! "$@"; do
		_n=$((_n - 1))
		if [ $_n -le 0 ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

# start NAME ARGS...: run shapesync-replicate ARGS in the background,
# frames to NAME, stderr to NAME.err, pid in NAME.pid, and its exit
# status in NAME.status once it exits.
start() {
	_name=$1
	shift
	rm -f "$_name.status"
	(
		shapesync-replicate "$@" >"$_name" 2>"$_name.err" &
		echo $! >"$_name.pid"
		wait $!
		echo $? >"$_name.status"
	) &
	wait_for 5 test -s "$_name.pid"
}

# stop NAME SIGNAL: signal it and wait for it to exit.
stop() {
	kill -"$2" "$(cat "$1.pid")" &&
	wait_for 10 test -s "$1.status" &&
	rm -f "$1.pid"
}

commits() {
	grep -c '"type":"commit"' "$1"
}

# commits_ge FILE N: FILE holds at least N commit frames.
commits_ge() {
	test "$(commits "$1")" -ge "$2"
}

published_is() {
	test "$(pg_psql "SELECT count(*) FROM pg_publication_tables")" = "$1"
}

slot_active() {
	test "$(pg_psql "SELECT active_pid IS NOT NULL FROM pg_replication_slots
		WHERE slot_name = '$1'")" = t
}

# end_lsn FILE N: the end_lsn of the Nth commit frame in FILE.
end_lsn() {
	jq -r 'select(.type == "commit") | .end_lsn' "$1" | sed -n "$2p"
}

confirmed() {
	pg_psql "SELECT confirmed_flush_lsn FROM pg_replication_slots
		WHERE slot_name = '${1:-shapesync}'"
}

confirmed_is() {
	test "$(confirmed)" = "$1"
}

lsn_le() {
	test "$(pg_psql "SELECT '$1'::pg_lsn <= '$2'::pg_lsn")" = t
}

test_expect_success 'setup: a registry with a shape on items, the slot' '
	pg_psql "CREATE TABLE items (id int PRIMARY KEY, v text)" \
		"CREATE TABLE other (id int PRIMARY KEY)" \
		"CREATE TABLE unpublished (id int)" &&
	shapesync-db --registry reg.db init &&
	shapesync-db --registry reg.db add --table items >/dev/null &&
	shapesync-replicate --registry reg.db --create-slot &&
	"$tool" durable-lsn reg.db "$(confirmed)" &&
	test_eq "$(confirmed)" "$("$tool" durable-lsn reg.db)"
'

test_expect_success 'running: registered tables join the publication' '
	start f1 --registry reg.db &&
	pg_psql "SELECT relreplident FROM pg_class WHERE relname = '\''items'\''" >ri &&
	test_eq f "$(cat ri)" &&
	test_eq items "$(pg_psql "SELECT string_agg(tablename, '\'' '\'')
		FROM pg_publication_tables")" &&
	shapesync-db --registry reg.db add --table other --where "id > 1" >/dev/null &&
	wait_for 5 published_is 2 &&
	test_eq f "$(pg_psql "SELECT relreplident FROM pg_class WHERE relname = '\''other'\''")"
'

test_expect_success 'a second instance on the slot exits with a clear error' '
	test_must_fail 1 shapesync-replicate --registry reg.db &&
	test_stderr_has "another shapesync-replicate is using slot .shapesync." &&
	test_must_fail 1 shapesync-replicate --registry reg.db --drop-slot &&
	test_stderr_has "another shapesync-replicate"
'

test_expect_success 'ten transactions are written out at once' '
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pg_psql "INSERT INTO items VALUES ($i, '\''v$i'\'')" || return 1
	done &&
	wait_for 10 commits_ge f1 10 &&
	test_eq 10 "$(commits f1)"
'

test_expect_success 'confirmed_flush_lsn follows the durable LSN, never past it' '
	c0=$(confirmed) &&
	sleep 1.5 &&
	test_eq "$c0" "$(confirmed)" &&
	for n in 3 7; do
		e=$(end_lsn f1 $n) &&
		"$tool" durable-lsn reg.db "$e" &&
		wait_for 5 confirmed_is "$e" &&
		sleep 1.5 &&
		test_eq "$e" "$(confirmed)" || return 1
	done
'

test_expect_success 'kill -9 and restart: nothing durable again, nothing lost' '
	durable=$("$tool" durable-lsn reg.db) &&
	kill -9 "$(cat f1.pid)" &&
	wait_for 5 test -s f1.status &&
	rm f1.pid &&
	for i in 11 12 13; do
		pg_psql "INSERT INTO items VALUES ($i, '\''v$i'\'')" || return 1
	done &&
	pg_psql "UPDATE items SET v = '\''w'\'' WHERE id = 2" &&
	start f2 --registry reg.db --status-interval 1 &&
	wait_for 10 commits_ge f2 7 &&
	"$tool" frames-check f2 >/dev/null &&
	jq -r "select(.type == \"change\") | .new.id" f2 | tr "\n" " " >got &&
	test_eq "8 9 10 11 12 13 2 " "$(cat got)" &&
	jq -r "select(.type == \"commit\") | .lsn" f2 | head -n 1 >first &&
	lsn_le "$durable" "$(cat first)" &&
	jq -r "select(.type == \"change\" and .lsn < \"~\") |
		\"\(.lsn) \(.new.id)\"" f1 >f1.changes &&
	while read -r lsn id; do
		if lsn_le "$durable" "$lsn"; then break; fi
		echo "$id"
	done <f1.changes >durable.ids &&
	test_eq "1 2 3 4 5 6 7 " "$(tr "\n" " " <durable.ids)"
'

test_expect_success 'after a commit, WAL that held nothing gives a progress frame' '
	"$tool" durable-lsn reg.db "$(end_lsn f2 7)" &&
	wait_for 5 confirmed_is "$(end_lsn f2 7)" &&
	pg_psql "INSERT INTO unpublished VALUES (1)" &&
	after=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	wait_for 10 grep -q "\"type\":\"progress\"" f2 &&
	p=$(jq -r "select(.type == \"progress\") | .lsn" f2 | tail -n 1) &&
	lsn_le "$(end_lsn f2 7)" "$p" &&
	"$tool" durable-lsn reg.db "$p" &&
	wait_for 5 confirmed_is "$p"
'

test_expect_success 'SIGTERM stops it in order, exit 0' '
	stop f2 TERM &&
	test_eq 0 "$(cat f2.status)" &&
	test_eq "" "$(cat f2.err)" &&
	"$tool" frames-check f2 >/dev/null
'

test_expect_success '--drop-slot drops the slot; a missing slot is exit 3' '
	shapesync-replicate --drop-slot &&
	test_eq 0 "$(pg_psql "SELECT count(*) FROM pg_replication_slots")" &&
	test_must_fail 3 shapesync-replicate --drop-slot &&
	test_stderr_has "replication slot .shapesync. does not exist"
'

# The reader takes 100 kB, then pauses: replicate blocks on the pipe in
# the middle of a 50,000-row transaction while its walsender is killed.
test_expect_success 'a connection lost mid-transaction is resumed in place' '
	shapesync-replicate --slot resume --table items --ack=received \
		--create-slot &&
	pg_psql "INSERT INTO items SELECT i, repeat('\''r'\'', 200)
		FROM generate_series(100, 50099) i" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	mkfifo f3.fifo || return 1
	(
		shapesync-replicate --slot resume --table items --ack=received \
			--endpos "$end" >f3.fifo 2>f3.err &
		echo $! >f3.pid
		wait $!
		echo $? >f3.status
	) &
	{ dd bs=4096 count=25 2>/dev/null; sleep 3; cat; } <f3.fifo >f3 &
	wait_for 5 slot_active resume &&
	sleep 1 &&
	pg_psql "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
		WHERE slot_name = '\''resume'\''" >/dev/null &&
	wait_for 30 test -s f3.status &&
	rm f3.pid &&
	test_eq 0 "$(cat f3.status)" &&
	grep -q "reconnecting in 1 s" f3.err &&
	"$tool" frames-check f3 >/dev/null &&
	test_eq 1 "$(commits f3)" &&
	test_eq 50000 "$(grep -c "\"type\":\"change\"" f3)" &&
	jq -r "select(.type == \"change\") | .pos" f3 | tail -n 1 >last &&
	test_eq 49999 "$(cat last)"
'

test_expect_success 'SIGINT stops it in order too, exit 0' '
	start f4 --slot resume --table items --ack=received &&
	wait_for 5 slot_active resume &&
	stop f4 INT &&
	test_eq 0 "$(cat f4.status)" &&
	test_eq "" "$(cat f4.err)"
'

test_expect_success 'a server restart: it reconnects with backoff and goes on' '
	start f5 --slot resume --table items --ack=received &&
	wait_for 5 slot_active resume &&
	pg_psql "INSERT INTO items VALUES (60000, '\''before'\'')" &&
	wait_for 10 commits_ge f5 1 &&
	pg_stop &&
	sleep 2 &&
	pg_restart &&
	pg_psql "INSERT INTO items VALUES (60001, '\''after'\'')" &&
	wait_for 30 commits_ge f5 2 &&
	grep -q "reconnecting in" f5.err &&
	stop f5 TERM &&
	test_eq 0 "$(cat f5.status)" &&
	"$tool" frames-check f5 >/dev/null &&
	jq -r "select(.type == \"change\") | .new.id" f5 | tr "\n" " " >got &&
	test_eq "60000 60001 " "$(cat got)"
'

test_expect_success 'no walsender ever timed out; only the killed one reconnected' '
	! grep "replication timeout" "$PG_LOG" &&
	! grep -h "reconnecting" f1.err f2.err
'

test_done
