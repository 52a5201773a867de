#!/bin/sh
# bench/electric/disk.sh — disk and memory per small shape (issue 18 asks
# for at most 4 KB on disk per small shape): N one-row shapes (`id = I`
# on a table of N rows) are created over HTTP by clients that sync and
# leave, BATCH at a time; then every row is updated, 1,000 rows (shapes)
# per transaction, so that every shape also has a log with one entry.
# (One transaction over all 20,000 made store exit with "Too many open
# files" and restart in a loop: see the report.) At N = 20,000 and
# 100,000 (QUICK: 20,000), after creation and after the update: the data
# dir's disk use (du, allocated blocks) and apparent size per shape, the
# registry file's size per shape, and the RSS of every stage.
# Usage: make bench-electric, or SS_BUILD=build sh bench/electric/disk.sh
. "$(dirname "$0")/common.sh"
if [ "$QUICK" = 1 ]; then NS=${NS:-"20000"}; else NS=${NS:-"20000 100000"}; fi
BATCH=${BATCH:-2000}
ew_start
ew_header disk.tsv shapes when disk_bytes_per_shape apparent_bytes_per_shape registry_bytes_per_shape files_per_shape create_s
for n in $NS; do
	ew_restart
	pg_psql "DROP TABLE IF EXISTS small" \
		"CREATE TABLE small (id int PRIMARY KEY, v int NOT NULL)" \
		"INSERT INTO small SELECT g, 0 FROM generate_series(0, $((n - 1))) g"
	t0=$(date +%s%N)
	b=0
	while [ $b -lt "$n" ]; do
		c=$BATCH
		[ $((b + c)) -le "$n" ] || c=$((n - b))
		j=$(ew_loadgen --clients "$c" --base "$b" --sync-only \
			--query "table=small&where=id%20%3D%20{c}") || exit 1
		[ "$(jget "$j" rows)" = "$c" ] || { echo "disk: $(jget "$j" rows) rows, not $c" >&2; exit 1; }
		b=$((b + c))
	done
	t1=$(date +%s%N)
	create=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	measure() {
		sync
		d=$(du -s --block-size=1 "$UP_DIR/data" | cut -f1)
		a=$(du -s --apparent-size --block-size=1 "$UP_DIR/data" | cut -f1)
		r=$(cat "$UP_DIR"/registry.db* | wc -c)
		f=$(find "$UP_DIR/data" -type f | wc -l)
		ew_point disk.tsv "$n" "$1" $((d / n)) $((a / n)) $((r / n)) \
			"$(awk -v f="$f" -v n="$n" 'BEGIN { printf "%.2f", f / n }')" "$create"
	}
	measure created
	# One change for every shape: one log entry each, 1,000 shapes per
	# transaction. The client follows the last shape: store commits in
	# order, so once its entry is served every earlier one is there.
	ew_live_start live.json --clients 1 --query "table=small&where=id%20%3D%20$((n - 1))" --changes 1
	b=0
	while [ $b -lt "$n" ]; do
		echo "UPDATE small SET v = 1 WHERE id >= $b AND id < $((b + 1000));"
		b=$((b + 1000))
	done | pg_psql >/dev/null
	ew_live_wait live.json
	measure updated
done
ew_done disk.tsv
