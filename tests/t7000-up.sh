#!/bin/sh
# shapesync up: one command runs replicate | route | store and serve and
# keeps them running. Against a given database: shapes flow, a stage
# killed with -9 is restarted (the whole pipeline for replicate, route or
# store; serve alone) and nothing is lost or repeated, a stage that fails
# on usage stops everything with a message, SIGTERM stops in order with
# status 0, killing up itself takes its children along. Without a
# database: the embedded PostgreSQL with its demo table, kept across
# restarts, restarted itself when killed, one up per state dir.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/up.sh"

# follow TABLE: the changes of TABLE's shape to ./ops (serve.sh).
follow() {
	shape_ops "table=$1"
}

# wait_ops TABLE EXPECTED-FILE: follow until ops equals the file (30 s).
wait_ops() {
	_i=0
	while :; do
		follow "$1" && cmp -s "$2" ops && return 0
		_i=$((_i + 1))
		[ $_i -le 150 ] || { diff -u "$2" ops; return 1; }
		sleep 0.2
	done
}

# gone PID...: none of the processes exists any more (5 s).
gone() {
	_i=0
	for _p in "$@"; do
		while kill -0 "$_p" 2>/dev/null; do
			_i=$((_i + 1))
			[ $_i -le 50 ] || { echo "pid $_p still there" >&2; return 1; }
			sleep 0.1
		done
	done
}

test_expect_success 'usage errors exit 2 before anything starts' '
	test_must_fail 2 shapesync-up --dir v --secret s --insecure &&
	test_stderr_has "exclude each other" &&
	test_must_fail 2 shapesync-up --dir v --bind 0.0.0.0 &&
	test_stderr_has "needs --secret" &&
	test_must_fail 2 shapesync-up --dir v extra &&
	test_must_fail 2 shapesync-up --dir v --port 70000 &&
	test_must_fail 2 shapesync up --dir v --bogus &&
	test ! -e v
'

pg_start
pg_psql "CREATE TABLE t (id int PRIMARY KEY, v text)" \
	"INSERT INTO t VALUES (1, 'one')"
up_start --store-arg=--sync-interval=2ms --serve-arg=--long-poll-timeout=3000

test_expect_success 'up serves shapes of the given database' '
	echo "insert 1" >want &&
	follow t && test_cmp want ops &&
	pg_psql "INSERT INTO t VALUES (2, '\''two'\'')" &&
	echo "insert 2" >>want &&
	wait_ops t want &&
	test -f "$UP_DIR/registry.db" && test -d "$UP_DIR/data/shapes" &&
	test ! -e "$UP_DIR/pg" &&
	test_eq "$(grep -c "listening on" "$TEST_DIR/up.log")" 1
'

n=2
for stage in replicate route store; do
	n=$((n + 1))
	test_expect_success "kill -9 of $stage restarts the pipeline, nothing lost or repeated" '
		old_rep=$(up_child shapesync-replicate) &&
		old_rou=$(up_child shapesync-route) &&
		old_sto=$(up_child shapesync-store) &&
		test -n "$old_rep" && test -n "$old_rou" && test -n "$old_sto" &&
		before=$(grep -c "restarting replicate | route | store" up.log || :) &&
		kill -9 $(up_child shapesync-'$stage') &&
		up_wait_child shapesync-replicate "$old_rep" >/dev/null &&
		up_wait_child shapesync-route "$old_rou" >/dev/null &&
		up_wait_child shapesync-store "$old_sto" >/dev/null &&
		test_eq $((before + 1)) "$(grep -c "restarting replicate | route | store" up.log)" &&
		grep -q "shapesync-'$stage' (pid [0-9]*) was killed by signal 9" up.log &&
		gone $old_rep $old_rou $old_sto &&
		pg_psql "INSERT INTO t VALUES ('$n', '\''x'\'')" &&
		echo "insert '$n'" >>want &&
		wait_ops t want
	'
done

test_expect_success 'kill -9 of serve restarts serve alone, on the same port' '
	old=$(up_child shapesync-serve) && rou=$(up_child shapesync-route) &&
	kill -9 "$old" &&
	up_wait_child shapesync-serve "$old" >/dev/null &&
	grep -q "restarting serve in" up.log &&
	test_eq "$rou" "$(up_child shapesync-route)" &&
	pg_psql "UPDATE t SET v = '\''changed'\'' WHERE id = 1" &&
	echo "update 1" >>want &&
	wait_ops t want
'

test_expect_success 'a second up on a busy port says so and exits 1' '
	port=${SERVE_URL##*:} &&
	test_must_fail 1 shapesync-up --dir other --port "$port" &&
	test_stderr_has "cannot listen on 127.0.0.1:$port"
'

test_expect_success 'SIGTERM stops every stage in order and exits 0' '
	kids="$(up_child shapesync-replicate) $(up_child shapesync-route) $(up_child shapesync-store) $(up_child shapesync-serve)" &&
	test_eq 4 "$(echo $kids | wc -w)" &&
	cp want want.saved
'
kids="$(up_child shapesync-replicate) $(up_child shapesync-route) $(up_child shapesync-store) $(up_child shapesync-serve)"
up_stop
test_expect_success 'SIGTERM: status 0, no child left, nothing said about the stages' '
	test_eq 0 "$(cat up.exit)" &&
	gone $kids &&
	grep -q "shapesync-up: stopping" up.log &&
	! sed -n "/shapesync-up: stopping/,\$p" up.log | grep -e "killed by" -e "exited with"
'

up_start --store-arg=--sync-interval=2ms
test_expect_success 'after a restart the same shape continues, nothing repeated' '
	old=$(cat handle) &&
	wait_ops t want &&
	test_eq "$old" "$(cat handle)" &&
	pg_psql "DELETE FROM t WHERE id = 2" &&
	echo "delete 2" >>want &&
	wait_ops t want
'

test_expect_success 'a stage that fails on usage stops everything (exit 1)' '
	test_must_fail 1 shapesync-up --dir bad --port 0 --slot other \
		--route-arg=--no-such-option &&
	test_stderr_has "shapesync-route \(pid [0-9]*\) exited with status 2: retrying would fail" &&
	test_stderr_has "stopped everything" &&
	! grep -l "$TEST_DIR/bad/registry.db" /proc/[0-9]*/cmdline 2>/dev/null
'

# serve fails before it listens (it is given a registry that does not
# exist; the last --registry wins): it is restarted from the start, while
# up waits for it to become ready, the delay doubling from 100 ms up to
# --restart-max and no further. (A serve that fails after it listens, say
# on a taken --metrics-port, may be seen as ready for an instant.)
test_expect_success 'a stage failing at start is restarted at once, the delay capped by --restart-max' '
	: >cap.log &&
	{ shapesync-up --dir cap --port 0 --slot cap --restart-max 1 \
		--serve-arg=--registry="$TEST_DIR/none/registry.db" 2>>cap.log & } &&
	pid=$! &&
	wait_until "two restarts after 1000 ms" \
		"[ \"\$(grep -c \"restarting serve in 1000 ms\" cap.log)\" -ge 2 ]" 30 || {
		cat cap.log; kill $pid; exit 1; } &&
	kill -TERM $pid && wait_end $pid &&
	test_eq 0 "$st" &&
	grep "restarting serve in" cap.log | sed "s/.* in //" >delays &&
	printf "%s ms\n" 100 200 400 800 1000 1000 >want.delays &&
	head -n 6 delays >first.delays && test_cmp want.delays first.delays &&
	! { sed -n "7,\$p" delays | grep -v -x "1000 ms"; } &&
	grep -q "registry .$TEST_DIR/none/registry.db. does not exist" cap.log &&
	! grep -q "ready:" cap.log
'

kids="$(up_child shapesync-replicate) $(up_child shapesync-route) $(up_child shapesync-store) $(up_child shapesync-serve)"
kill -9 "$UP_PID"
wait "$UP_PID" 2>/dev/null
UP_PID=
test_expect_success 'kill -9 of up takes its children along' '
	test_eq 4 "$(echo $kids | wc -w)" &&
	gone $kids
'

# ---- the embedded PostgreSQL --------------------------------------------
PG_URL_SAVED=$DATABASE_URL
unset DATABASE_URL
UP_DIR=$TEST_DIR/emb
up_start --store-arg=--sync-interval=2ms --serve-arg=--long-poll-timeout=3000

# psql_emb SQL: run SQL in the embedded cluster, as up printed how.
psql_emb() {
	_ci=$(sed -n 's/^shapesync-up: psql: psql "\(.*\)"$/\1/p' "$TEST_DIR/up.log" | tail -n 1)
	psql -X -q -v ON_ERROR_STOP=1 -At -d "$_ci" -c "$1"
}

test_expect_success 'no database given: an embedded cluster in DIR/pg with the demo table' '
	test -f "$UP_DIR/pg/PG_VERSION" &&
	grep -q "starting PostgreSQL in" up.log &&
	grep -q "try:  curl -i .http://127.0.0.1:[0-9]*/v1/shape?table=items&offset=-1." up.log &&
	test_eq "on" "$(psql_emb "SELECT current_setting('\''wal_level'\'') = '\''logical'\''" | sed "s/t/on/")" &&
	printf "insert %s\n" 1 2 3 4 5 >want &&
	follow items && test_cmp want ops &&
	if [ "$(id -u)" = 0 ]; then
		test_eq postgres "$(stat -c %U "$UP_DIR/pg")" &&
		test_eq postgres "$(psql_emb "SELECT usename FROM pg_stat_activity WHERE pid = pg_backend_pid()")"
	fi &&
	test_eq 600 "$(stat -c %a "$UP_DIR/pg-password")"
'

test_expect_success 'changes made with the printed psql command arrive' '
	psql_emb "UPDATE items SET status = '\''done'\'' WHERE id = 4" &&
	printf "insert %s\n" 1 2 3 4 5 >want && echo "update 4" >>want &&
	wait_ops items want
'

test_expect_success 'one up per state dir: a second one is refused' '
	test_must_fail 1 shapesync-up --dir "$UP_DIR" --port 0 &&
	test_stderr_has "a PostgreSQL server \(pid [0-9]*\) already runs in"
'

test_expect_success 'kill -9 of the embedded server: restarted, the pipeline recovers' '
	old=$(up_child postgres) && test -n "$old" &&
	kill -9 "$old" &&
	up_wait_child postgres "$old" >/dev/null &&
	grep -q "restarting postgres in" up.log &&
	_i=0 && until psql_emb "INSERT INTO items (id, title) VALUES (6, '\''after'\'')" 2>/dev/null; do
		_i=$((_i + 1)); [ $_i -le 100 ] || exit 1; sleep 0.2; done &&
	echo "insert 6" >>want &&
	wait_ops items want
'

up_stop
test_expect_success 'SIGTERM stops the embedded server too' '
	test_eq 0 "$(cat up.exit)" &&
	test ! -e "$UP_DIR/pg/postmaster.pid"
'

# A postmaster.pid left from before a reboot, naming a pid that another
# program has now: up sees it is stale, removes it and starts.
sleep 300 &
SLEEPER=$!
printf '%s\n%s\n' "$SLEEPER" "$UP_DIR/pg" >"$UP_DIR/pg/postmaster.pid"
up_start
kill "$SLEEPER"
test_expect_success 'a restart reuses the cluster: data kept, no second demo' '
	! sed -n "/shapesync-up: no DATABASE_URL/,\$p" up.log | tail -n +2 | grep -q "initdb" &&
	wait_ops items want &&
	test_eq 6 "$(psql_emb "SELECT count(*) FROM items")"
'
up_stop

if [ "$(id -u)" = 0 ]; then
	test_expect_success 'as root, a dir user postgres cannot reach: the cluster lives under /var/lib/shapesync' '
		mkdir -m 700 private &&
		shapesync-up --dir private/var --port 0 --no-demo 2>priv.log &
		pid=$! &&
		_i=0 && until grep -q "ready:" priv.log; do
			_i=$((_i + 1)); [ $_i -le 600 ] || { cat priv.log; kill $pid; exit 1; }; sleep 0.1; done &&
		target=$(readlink private/var/pg) &&
		kill -TERM $pid && wait $pid &&
		case "$target" in /var/lib/shapesync/pg-*) ;; *) exit 1;; esac &&
		grep -q "cannot reach .*private/var/pg, so the cluster lives in $target" priv.log &&
		test -f "$target/PG_VERSION" &&
		rm -rf "$target"
	'
else
	test_skip 'as root, a dir user postgres cannot reach' 'not root'
fi

DATABASE_URL=$PG_URL_SAVED
test_done
