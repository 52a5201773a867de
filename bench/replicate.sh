#!/bin/sh
# bench/replicate.sh — shapesync-replicate's decoding rate next to
# pg_recvlogical on the same WAL, same run: a 1,000,000-row insert
# workload (100 transactions of 10,000 rows) into a REPLICA IDENTITY FULL
# table, decoded through one slot per consumer, one consumer at a time:
#   shapesync-replicate --endpos E > /dev/null            (pgoutput, frames)
#   pg_recvlogical -P pgoutput ... --endpos E -f /dev/null (raw pgoutput)
#   pg_recvlogical -P wal2json -o format-version=2 ...      (JSON per change)
# Each is timed from start to exit. Rounds (ROUNDS, default 5; three
# slots each) alternate which of the first two goes first; the result is
# the median over rounds of each round's ratio of changes/s, so that load
# from other processes on the machine hits both sides of a ratio alike.
# Usage: make bench, or SS_BUILD=build sh bench/replicate.sh
# (ROWS, BATCH and ROUNDS override the workload).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/lib.sh"
. "$root/tests/pg.sh"
ROWS=${ROWS:-1000000}
BATCH=${BATCH:-10000}
ROUNDS=${ROUNDS:-5}
recv=$PG_BINDIR/pg_recvlogical
have_w2j=0
[ -f "$("$PG_BINDIR/pg_config" --pkglibdir)/wal2json.so" ] && have_w2j=1

pg_start 'max_wal_size = 4GB' 'checkpoint_timeout = 30min' \
	'max_replication_slots = 40' >/dev/null

pg_psql "CREATE TABLE bench (id int PRIMARY KEY, title text, n int,
	at timestamptz, done bool)" "ALTER TABLE bench REPLICA IDENTITY FULL"
shapesync-replicate --table bench --ack=received --create-slot --slot ss_0
r=1
while [ $r -le "$ROUNDS" ]; do
	[ $r -gt 1 ] && shapesync-replicate --table bench --ack=received \
		--create-slot --slot ss_$r
	"$recv" -d "$DATABASE_URL" -S pgo_$r -P pgoutput --create-slot
	[ $have_w2j = 1 ] &&
		"$recv" -d "$DATABASE_URL" -S w2j_$r -P wal2json --create-slot
	r=$((r + 1))
done

start=$(pg_psql "SELECT pg_current_wal_lsn()")
i=0
t0=$(date +%s.%N)
while [ $i -lt "$ROWS" ]; do
	pg_psql "INSERT INTO bench SELECT g, 'title ' || g, g % 1000,
		'2026-11-21 07:38:00+00'::timestamptz + g * interval '1 s',
		g % 2 = 0 FROM generate_series($((i + 1)), $((i + BATCH))) g"
	i=$((i + BATCH))
done
end=$(pg_psql "SELECT pg_current_wal_lsn()")
mb=$(pg_psql "SELECT ((pg_current_wal_lsn() - '$start'::pg_lsn) / 1048576)::int")
echo "workload: $ROWS rows in $((ROWS / BATCH)) transactions, $mb MiB of WAL," \
	"written in $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s"

# timed NAME CMD...: run CMD, print and remember the seconds it took.
timed() {
	_name=$1
	shift
	_a=$(date +%s.%N)
	"$@"
	_b=$(date +%s.%N)
	echo "$_a $_b" | awk '{ printf "%.3f\n", $2 - $1 }' >"$TEST_DIR/$_name.s"
}

rate() {
	awk -v n="$ROWS" '{ printf "%.0f", n / $1 }' "$TEST_DIR/$1.s"
}

run_ss() {
	slot=ss_$1
	[ "$1" = 1 ] && slot=ss_0
	timed ss shapesync-replicate --slot $slot --table bench \
		--ack=received --endpos "$end" >/dev/null
}

run_pgo() {
	timed pgo "$recv" -d "$DATABASE_URL" -S pgo_$1 --start --no-loop \
		--endpos "$end" -o proto_version=1 \
		-o publication_names=shapesync -f /dev/null
}

# Rounds alternate which of the two goes first (the first reads the WAL
# into the page cache for the others).
r=1
: >"$TEST_DIR/rates"
while [ $r -le "$ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then
		run_ss $r
		run_pgo $r
	else
		run_pgo $r
		run_ss $r
	fi
	w2j=-
	if [ $have_w2j = 1 ]; then
		timed w2j "$recv" -d "$DATABASE_URL" -S w2j_$r --start \
			--no-loop --endpos "$end" -o format-version=2 \
			-o add-tables=public.bench -f /dev/null
		w2j=$(rate w2j)
	fi
	echo "$(rate ss) $(rate pgo) $w2j" >>"$TEST_DIR/rates"
	r=$((r + 1))
done

# Per round and the median of the per-round ratios.
awk -v w2j="$have_w2j" '
	{ a[NR] = $1 / $2; if (w2j) b[NR] = $1 / $3
	  printf "round %d: shapesync-replicate %d changes/s, pg_recvlogical pgoutput %d, wal2json %s: %.2fx", NR, $1, $2, $3, a[NR]
	  if (w2j) printf ", %.2fx", b[NR]
	  printf "\n" }
	function median(x, n,   i, j, t) {
	  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
	    if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
	  return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
	END {
	  printf "median ratio vs pg_recvlogical pgoutput: %.2fx (target >= 0.95x)\n", median(a, NR)
	  if (w2j) printf "median ratio vs pg_recvlogical wal2json (format 2): %.2fx\n", median(b, NR)
	  else print "wal2json: not installed (Debian postgresql-15-wal2json), no ratio"
	}' "$TEST_DIR/rates"
