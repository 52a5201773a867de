# bench/electric/common.sh — what the workload scripts of bench/electric
# share (source it first). Each workload gets a temp dir (tests/lib.sh),
# its own PostgreSQL (tests/pg.sh) and `shapesync up` on it (tests/up.sh);
# results go to $OUT (default bench/electric/results), one TSV per
# workload, one line per point, with the RSS of every stage.
#
#   ew_start [UP-OPTION...]  start PostgreSQL and shapesync up
#   ew_restart [UP-OPTION...] stop up, drop its state and start it again
#                            (a fresh pipeline for the next point; the
#                            tables stay)
#   ew_loadgen ARG...        run the load generator against serve
#   ew_rss                   "replicate route store serve postgres" RSS,
#                            KiB (postgres: the sum of all its processes)
#   ew_header FILE COLUMN... start $OUT/FILE: a comment line (date, load
#                            average), the column names
#   ew_caught_up             wait for the pipeline to pass the WAL of now
#   ew_point FILE FIELDS...  append one TSV line to $OUT/FILE with the load
#                            average and the RSS of every stage
#   jget JSON KEY            a number from loadgen's JSON line
#   QUICK=1                  smaller sweeps (each script picks its own)
#   UP_EXTRA="OPTION..."     more options for shapesync up (experiments)
#   PG_EXTRA="SETTING"       one more postgresql.conf line (experiments)
set -u
EW_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SS_BUILD=$(cd "${SS_BUILD:-$EW_ROOT/build}" && pwd)
export SS_BUILD
OUT=${OUT:-$EW_ROOT/bench/electric/results}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
QUICK=${QUICK:-0}
LOADGEN=$SS_BUILD/bench/electric/loadgen
ulimit -n 65536 2>/dev/null || ulimit -n 20000 2>/dev/null || true
# lib.sh takes the test name from $0: the workload's.
. "$EW_ROOT/tests/lib.sh"
. "$EW_ROOT/tests/pg.sh"
. "$EW_ROOT/tests/up.sh"

# serve's connections: what the workload holds at once, with room to
# spare. This machine's descriptor limit (20,000, not raisable here) is
# split by serve between connections and open shape logs, four
# descriptors each, so asking for more connections than a workload needs
# leaves fewer logs open: with 15,000 connections (the most 20,000
# allows) only 625 logs stay open and a workload over more shapes
# reopens logs on every request (--max-open-logs in shapesync-serve(1)).
# 3,000 (the most any workload here but w3 holds is 2,050) leaves 2,125.
# A production host raises the limit instead (LimitNOFILE=).
EW_MAXCONN=${EW_MAXCONN:-3000}

EW_UP_ARGS=
ew_start() {
	pg_start 'max_wal_size = 4GB' 'checkpoint_timeout = 30min' \
		'synchronous_commit = on' ${PG_EXTRA:+"$PG_EXTRA"} >/dev/null || exit 1
	EW_UP_ARGS="$* ${UP_EXTRA:-}"
	# shellcheck disable=SC2086
	up_start --database-url "$DATABASE_URL" --compact-interval 0 \
		--serve-arg=--max-connections=$EW_MAXCONN \
		--serve-arg=--max-existing-requests=100000 $EW_UP_ARGS || {
		tail -20 "$TEST_DIR/up.log" >&2
		exit 1
	}
}

ew_restart() {
	up_stop || true
	rm -rf "$UP_DIR"
	# The old slot would hold WAL (and up makes a new one).
	pg_psql "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null
	# shellcheck disable=SC2086
	up_start --database-url "$DATABASE_URL" --compact-interval 0 \
		--serve-arg=--max-connections=$EW_MAXCONN \
		--serve-arg=--max-existing-requests=100000 $EW_UP_ARGS || {
		tail -20 "$TEST_DIR/up.log" >&2
		exit 1
	}
}

# ew_caught_up: wait until the walsender has decoded and sent PostgreSQL's
# WAL as of now and store's durable LSN has stood still for a second
# (at most 10 minutes), so that a point does not share the machine with
# the decoding of the rows the script has just loaded (a 1 M-row INSERT
# keeps the walsender busy for seconds).
ew_caught_up() {
	_w=$(pg_psql "SELECT pg_current_wal_lsn()")
	_i=0 _last= _same=0
	while [ $_i -lt 6000 ]; do
		_i=$((_i + 1))
		sleep 0.1
		[ "$(pg_psql "SELECT count(*) FROM pg_stat_replication WHERE sent_lsn >= '$_w'")" -ge 1 ] || continue
		_d=$(curl -s "$SERVE_URL/metrics" | awk '$1 ~ /^shapesync_store_durable_lsn/ { print $2 }')
		if [ "$_d" = "$_last" ]; then
			_same=$((_same + 1))
			[ $_same -lt 10 ] || return 0
		else
			_last=$_d _same=0
		fi
	done
	echo "ew_caught_up: the pipeline did not catch up with $_w" >&2
	return 1
}

ew_loadgen() {
	"$LOADGEN" --url "$SERVE_URL" "$@"
}

_rss() { awk '/^VmRSS/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }

ew_rss() {
	_out=
	for _st in shapesync-replicate shapesync-route shapesync-store shapesync-serve; do
		_p=$(up_child "$_st")
		_out="$_out $([ -n "$_p" ] && _rss "$_p" || echo 0)"
	done
	_pm=$(pg_pid)
	_sum=$(_rss "$_pm")
	for _c in $(cat "/proc/$_pm/task/$_pm/children" 2>/dev/null); do
		_sum=$((_sum + $(_rss "$_c")))
	done
	echo "$_out $_sum" | sed 's/^ //'
}

jget() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\\([-0-9.]*\\).*/\\1/p"
}

ew_point() {
	_f=$OUT/$1
	shift
	_rs=$(ew_rss)
	_la=$(cut -d' ' -f1 /proc/loadavg)
	printf '%s\t%s\t%s\n' "$(printf '%s\t' "$@" | sed 's/\t$//')" "$_la" \
		"$(echo "$_rs" | tr ' ' '\t')" >>"$_f"
	echo "$(basename "$_f"): $* load=$_la rss(KiB: replicate route store serve pg)=$_rs" >&2
}

# ew_header FILE COLUMNS...: start a fresh results file.
ew_header() {
	_f=$OUT/$1
	shift
	{
		echo "# $(date -u +%Y-%m-%dT%H:%MZ) QUICK=$QUICK $(nproc) cores, loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
		printf '%s\t' "$@"
		printf 'load1\trss_replicate_kib\trss_route_kib\trss_store_kib\trss_serve_kib\trss_pg_kib\n'
	} >"$_f"
}

# ew_writer_ts: the SQL expression for "now" in microseconds since the
# epoch, the transaction's start (all rows of a transaction share it).
EW_TS="(extract(epoch from now()) * 1000000)::bigint"

# PROFILE=FILE: perf record -a -g (the whole machine: every stage,
# PostgreSQL and the load generator) over the measured part of each
# point, to FILE.N; `perf report -i FILE.N --no-children --sort comm,dso,sym`.
# With STRACE_STAGE=shapesync-store (say): strace -c of that stage instead
# (STRACE_ARGS: other strace options in place of -c, e.g. -e trace=openat).
EW_PROF=0
# CPU seconds (user + system, all threads) of each stage and of
# PostgreSQL's processes, "name=seconds" words.
ew_cpu_stages() {
	_hz=$(getconf CLK_TCK)
	for _st in shapesync-replicate shapesync-route shapesync-store shapesync-serve; do
		_p=$(up_child "$_st")
		awk -v n="${_st#shapesync-}" -v hz="$_hz" '{ sub(/.*\) /, ""); printf "%s=%.2f ", n, ($12 + $13) / hz }' "/proc/$_p/stat"
	done
	_pm=$(pg_pid)
	for _c in $_pm $(cat "/proc/$_pm/task/$_pm/children" 2>/dev/null); do
		cat "/proc/$_c/stat" 2>/dev/null
	done | awk -v hz="$_hz" '{ sub(/.*\) /, ""); s += $12 + $13 } END { printf "postgres=%.2f\n", s / hz }'
}
ew_prof_start() {
	[ -n "${PROFILE:-}" ] || return 0
	EW_CPU0=$(ew_cpu_stages)
	EW_PROF=$((EW_PROF + 1))
	if [ -n "${STRACE_STAGE:-}" ]; then
		# Instead: count the system calls of one stage.
		strace ${STRACE_ARGS:--c} -f -p "$(up_child "$STRACE_STAGE")" -o "$PROFILE.$EW_PROF" 2>/dev/null &
	else
		perf record -a -g -q -o "$PROFILE.$EW_PROF" >/dev/null 2>&1 &
	fi
	EW_PERF=$!
	sleep 0.5
}
ew_prof_stop() {
	[ -n "${PROFILE:-}" ] || return 0
	kill -INT $EW_PERF
	wait $EW_PERF || true
	echo "cpu seconds before: $EW_CPU0" >&2
	echo "cpu seconds after:  $(ew_cpu_stages)" >&2
}

# ew_live_start FILE LOADGEN-ARG...: run the load generator in the
# background (JSON to FILE), wait until every stream is synced. Sets EW_LG.
ew_live_start() {
	_jf=$1
	shift
	rm -f "$TEST_DIR/ready"
	ew_loadgen --ready "$TEST_DIR/ready" "$@" >"$_jf" &
	EW_LG=$!
	while [ ! -s "$TEST_DIR/ready" ]; do
		kill -0 $EW_LG 2>/dev/null || { echo "loadgen ended before sync" >&2; exit 1; }
		sleep 0.05
	done
	ew_prof_start
}

# ew_live_wait FILE: wait for that load generator (its JSON in FILE).
# Not in $(...): the subshell could not wait for it.
ew_live_wait() {
	wait $EW_LG || { echo "loadgen failed: $(cat "$1")" >&2; exit 1; }
	ew_prof_stop
}

# ew_txns TABLE ROUNDS ROWS COLS VALUES-SQL PAUSE-S: ROUNDS transactions,
# each inserting ROWS rows (generate_series g, ids from a sequence) with
# the transaction's start time in column ts; PAUSE-S seconds between.
ew_txns() {
	_r=0
	while [ $_r -lt "$2" ]; do
		echo "INSERT INTO $1 ($4, ts) SELECT $5, $EW_TS FROM generate_series(1, $3) g;"
		[ "$6" = 0 ] || echo "SELECT pg_sleep($6);"
		_r=$((_r + 1))
	done | pg_psql >/dev/null
}

ew_cpu() {
	awk -v a="$(jget "$1" cpu_user_s)" -v b="$(jget "$1" cpu_sys_s)" 'BEGIN { print a + b }'
}

ew_done() {
	echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/$1"
}
