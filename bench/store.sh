#!/bin/sh
# bench/store.sh — shapesync-store throughput: entries per second into one
# shape and spread over 10,000 shapes, with group commit next to one fsync
# per transaction (--sync-every-commit), same input, same run; and bytes on
# disk per entry. Usage: make bench, or SS_BUILD=build sh bench/store.sh
set -eu
B=${SS_BUILD:-build}
TXNS=${TXNS:-2000}
# Spread over 10,000 shapes, each shape gets TXNS_MANY * PER / 10000
# entries: enough that creating its files on first touch does not decide
# the result.
TXNS_MANY=${TXNS_MANY:-20000}
PER=${PER:-10}
VALUE=${VALUE:-100}
tmp=$(mktemp -d /tmp/ss-bench-store.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
PATH="$B/bin:$PATH"

now() { date +%s%N; }

# run LABEL SHAPES OPTIONS...: prints entries/s; leaves the data dir
run() {
	label=$1 shapes=$2
	shift 2
	d="$tmp/$label"
	mkdir -p "$d"
	shapesync-db --registry "$d/r.db" --dir "$d/data" init
	"$B/bench/store" registry "$shapes" | shapesync-db --registry "$d/r.db" import
	t0=$(now)
	shapesync-store --registry "$d/r.db" --dir "$d/data" "$@" <"$tmp/in.$shapes"
	t1=$(now)
	n=$(($(grep -c '"type":"change"' "$tmp/in.$shapes")))
	echo $(( n * 1000000000 / (t1 - t0) ))
}

echo "store: transactions of $PER inserts of ~${VALUE}-byte rows ($TXNS into 1 shape, $TXNS_MANY over 10000)"
for shapes in 1 10000; do
	t=$TXNS
	[ $shapes = 1 ] || t=$TXNS_MANY
	"$B/bench/store" gen $shapes $t $PER $VALUE >"$tmp/in.$shapes"
	g=$(run group.$shapes $shapes)
	s=$(run sync.$shapes $shapes --sync-every-commit)
	printf "  %6d shape(s): group commit %9d entries/s   fsync per txn %7d entries/s   ratio %5.1fx\n" \
		$shapes "$g" "$s" "$(echo "$g / $s" | bc -l)"
done
# Bytes on disk per entry (log + index + chunks + head), 1-shape case.
d="$tmp/group.1/data/shapes"
bytes=$(find "$d" -type f \( -name log -o -name index -o -name chunks -o -name head \) -printf "%s\n" | awk '{s+=$1} END {print s}')
logb=$(find "$d" -type f -name log -printf "%s\n" | awk '{s+=$1} END {print s}')
n=$((TXNS * PER))
printf "  bytes on disk per entry: %d (message %d + index 24 + head/chunks %d)\n" \
	$((bytes / n)) $((logb / n)) $(((bytes - logb) / n - 24))
