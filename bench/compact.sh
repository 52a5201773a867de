#!/bin/sh
# bench/compact.sh — log compaction (issue 16): a shape of ROWS (1,000)
# rows updated UPDATES (1,000,000) times, next to a shape of the same rows
# never updated, in the same run: bytes on disk and a fresh client's
# initial sync (the HTTP protocol followed from offset -1 to up-to-date by
# curl, one request after another, the sum of their times; best of
# ROUNDS) before compaction, after `shapesync-db compact` (its defaults:
# the newest 2 closed chunks kept) and after `--keep-chunks 0`; and the
# compaction's throughput in log messages folded per second.
# Usage: make bench, or SS_BUILD=$PWD/build sh bench/compact.sh
# Knobs: ROWS (1000), UPDATES (1000000), ROUNDS (5).
set -u
ROWS=${ROWS:-1000}
UPDATES=${UPDATES:-1000000}
ROUNDS=${ROUNDS:-5}
SS_ROOT=$(cd "$(dirname "$0")/.." && pwd)
SS_BUILD=$(cd "${SS_BUILD:-$SS_ROOT/build}" && pwd)
export SS_BUILD
. "$SS_ROOT/tests/lib.sh"
. "$SS_ROOT/tests/pg.sh"
. "$SS_ROOT/tests/serve.sh"
. "$SS_ROOT/tests/pipeline.sh"

die() {
	echo "bench/compact.sh: error: $*" >&2
	exit 1
}
db() {
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" "$@"
}
now_ns() { date +%s%N; }

pg_start >/dev/null
for t in hot cold; do
	pg_psql "CREATE TABLE $t (id int PRIMARY KEY, v int, note text)" \
		"INSERT INTO $t SELECT g, 0, md5(g::text) FROM generate_series(1, $ROWS) g" \
		>/dev/null || die "could not create table $t"
done
pipeline_start --long-poll-timeout 1000 || die "the pipeline did not start"

# The shape directory of the shape whose handle is $1.
shape_dir() {
	echo "$SS_DATA/shapes/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-4)/$1"
}
for t in hot cold; do
	[ "$(get "/v1/shape?table=$t&offset=-1")" = 200 ] ||
		die "could not create the shape of $t"
	eval "H_$t=\$(hdr electric-handle)"
done
D_hot=$(shape_dir "$H_hot")
D_cold=$(shape_dir "$H_cold")
until [ -f "$D_hot/snapshot.done" ] && [ -f "$D_cold/snapshot.done" ]; do
	sleep 0.1
done

# UPDATES changes to hot: transactions that update every row once.
t0=$(now_ns)
i=0
while [ $i -lt $((UPDATES / ROWS)) ]; do
	echo "UPDATE hot SET v = v + 1;"
	i=$((i + 1))
done | pg_psql >/dev/null || die "the updates failed"
# The log of hot holds them all when stats says so.
entries() {
	db stats --shapes --json |
		jq -r --arg h "$1" 'select(.handle == $h) | .log_entries'
}
until [ "$(entries "$H_hot")" -ge "$UPDATES" ] 2>/dev/null; do
	sleep 0.2
done
t1=$(now_ns)
echo "compact: $ROWS rows, $UPDATES updates in $((UPDATES / ROWS)) transactions, through the pipeline in $(( (t1 - t0) / 1000000 )) ms"

# sync TABLE: a fresh client's initial sync, from -1 to up-to-date, not
# live; prints "MS MESSAGES BYTES REQUESTS" (the time: the sum of the
# requests' times as curl measures them, connection included).
sync1() {
	_off=-1 _h= _ms=0 _msgs=0 _bytes=0 _req=0
	while :; do
		_w=$(curl -s -D sync.h -o sync.b -w '%{http_code} %{time_total} %{size_download}' \
			"$SERVE_URL/v1/shape?table=$1&offset=$_off${_h:+&handle=$_h}") ||
			die "a request of the sync failed"
		set -- "$1" $_w
		[ "$2" = 200 ] || die "status $2 for offset $_off of $1"
		_ms=$(echo "$_ms + $3 * 1000" | bc -l)
		_bytes=$((_bytes + $4))
		_req=$((_req + 1))
		_msgs=$((_msgs + $(grep -o '"operation":' sync.b | wc -l)))
		_h=$(awk -F': ' 'tolower($1) == "electric-handle" { sub(/\r$/, "", $2); print $2 }' sync.h)
		_off=$(awk -F': ' 'tolower($1) == "electric-offset" { sub(/\r$/, "", $2); print $2 }' sync.h)
		grep -qi '^electric-up-to-date' sync.h && break
	done
	printf "%.1f %d %d %d\n" "$_ms" "$_msgs" "$_bytes" "$_req"
}
# best TABLE: the fastest of ROUNDS syncs.
best() {
	_best=
	_r=0
	while [ $_r -lt "$ROUNDS" ]; do
		_s=$(sync1 "$1") || exit 1
		if [ -z "$_best" ] ||
			[ "$(echo "${_s%% *} < ${_best%% *}" | bc)" = 1 ]; then
			_best=$_s
		fi
		_r=$((_r + 1))
	done
	echo "$_best"
}
# disk DIR: bytes allocated on disk (holes punched are not) and apparent.
disk() {
	echo "$(du -s -B1 "$1" | cut -f1) $(du -s -b "$1" | cut -f1)"
}
# row LABEL TABLE DIR: one line of the table, with the cold shape's sync
# measured right after as its peer.
row() {
	set -- "$1" "$2" "$3" $(best "$2") $(disk "$3")
	_c=$(best cold)
	printf "  %-26s %12d %12d %9.1f ms %8d msgs %3d reqs   cold %7.1f ms   ratio %6.2fx\n" \
		"$1" "$8" "$9" "$4" "$5" "$7" "${_c%% *}" \
		"$(echo "$4 / ${_c%% *}" | bc -l)"
}

echo "  shape                     bytes on disk     apparent   fresh client's sync          (peer: never updated)"
set -- $(best cold) $(disk "$D_cold")
printf "  %-26s %12d %12d %9.1f ms %8d msgs %3d reqs\n" "cold (never updated)" "$5" "$6" "$1" "$2" "$4"
row "hot before compaction" hot "$D_hot"

# compact [OPTION...]: compact hot, print the line, time and throughput.
compact() {
	_t0=$(now_ns)
	db compact "$H_hot" --grace 0 "$@" >compact.out || die "compact failed"
	_t1=$(now_ns)
	_folded=$(sed -n 's/.* from \([0-9]*\) entries.*/\1/p' compact.out)
	echo "  compact $*: $(cat compact.out)"
	echo "  compact $*: $(( (_t1 - _t0) / 1000000 )) ms, $(( ${_folded:-0} * 1000000000 / (_t1 - _t0) )) messages/s"
}
compact
row "hot after compact" hot "$D_hot"
compact --keep-chunks 0
row "hot after --keep-chunks 0" hot "$D_hot"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
pipeline_stop
