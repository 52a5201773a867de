# bench/electric/w78-throughput.sh — sourced by w7-eq.sh and w8-ilike.sh
# (FORM=eq or ilike): replication throughput. N shapes on one table
# (`name = 'cI'`, or `name ILIKE 'cI-%'`), one client following all N;
# CHANGES single-row transactions, each hitting one shape (round robin),
# written as fast as one session can (synchronous_commit off for the
# writer, so PostgreSQL's fsync does not pace it). Result: ms per change
# = time from the first write's start to the last change's receipt,
# divided by CHANGES; and the writer's own rate, to show it kept ahead.
#
# That first figure is paced by the writer: one session commits about
# 5,000 one-row transactions a second here, so it measures the writer as
# much as the engine. Electric's figure is "how long each write takes to
# process". The second phase of each point measures that: with the same
# shapes live and replicate stopped (SIGSTOP), the CHANGES transactions
# are written and wait in PostgreSQL's WAL behind the slot; replicate is
# let go (SIGCONT) and the time from then to the client's receipt of the
# last change, divided by CHANGES, is the drain figure (drain_ms_per_change).
# It includes the walsender's decoding, every stage and the HTTP client.
. "$(dirname "$0")/common.sh"
ew_start
pg_psql "CREATE TABLE thr (id bigserial PRIMARY KEY, name text NOT NULL, ts bigint)"
F=w$W.tsv
ew_header $F shapes changes ms_per_change changes_per_s writer_changes_per_s lat_p50_ms lat_p99_ms loadgen_cpu_s \
	drain_ms_per_change drain_changes_per_s
# w78_sql N: the CHANGES one-row transactions, to w.sql.
w78_sql() {
	{
		echo "SET synchronous_commit = off;"
		i=0
		while [ $i -lt "$CHANGES" ]; do
			if [ "$FORM" = eq ]; then nm="c$((i % $1))"; else nm="c$((i % $1))-x"; fi
			echo "INSERT INTO thr (name, ts) VALUES ('$nm', $EW_TS);"
			i=$((i + 1))
		done
		echo "SELECT ($EW_TS);"
	} >w.sql
}

for n in $NS; do
	if [ "$FORM" = eq ]; then
		q="table=thr&where=name%20%3D%20%27c{k}%27"
	else
		q="table=thr&where=name%20ILIKE%20%27c{k}-%25%27"
	fi
	w78_sql "$n"

	# Paced by the writer.
	ew_restart
	pg_psql "TRUNCATE thr"
	ew_live_start live.json --shapes "$n" --changes "$CHANGES" --ts-column ts --query "$q"
	t0=$(date +%s%N)
	pg_psql <w.sql >/dev/null
	t1=$(date +%s%N)
	ew_live_wait live.json
	j=$(cat live.json)
	span=$(jget "$j" live_span_ms)

	# From a backlog: new shapes (a fresh pipeline), replicate stopped
	# while the transactions are written.
	ew_restart
	pg_psql "TRUNCATE thr"
	ew_live_start drain.json --shapes "$n" --changes "$CHANGES" --ts-column ts --query "$q"
	rp=$(up_child shapesync-replicate)
	[ -n "$rp" ] || { echo "no replicate process" >&2; exit 1; }
	kill -STOP "$rp"
	pg_psql <w.sql >/dev/null
	tc=$(date +%s%6N)
	kill -CONT "$rp"
	ew_live_wait drain.json
	d=$(cat drain.json)
	dspan=$(awk -v a="$tc" -v b="$(jget "$d" last_rx_us)" 'BEGIN { printf "%.3f", (b - a) / 1000 }')

	ew_point $F "$n" "$CHANGES" "$(awk -v s="$span" -v c="$CHANGES" 'BEGIN { printf "%.4f", s / c }')" \
		"$(awk -v s="$span" -v c="$CHANGES" 'BEGIN { printf "%.0f", c / s * 1000 }')" \
		"$(awk -v a="$t0" -v b="$t1" -v c="$CHANGES" 'BEGIN { printf "%.0f", c / ((b - a) / 1e9) }')" \
		"$(jget "$j" lat_p50_ms)" "$(jget "$j" lat_p99_ms)" "$(ew_cpu "$j")" \
		"$(awk -v s="$dspan" -v c="$CHANGES" 'BEGIN { printf "%.4f", s / c }')" \
		"$(awk -v s="$dspan" -v c="$CHANGES" 'BEGIN { printf "%.0f", c / s * 1000 }')"
done
ew_done $F
