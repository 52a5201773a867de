#!/bin/sh
# bench/store-fanout.sh — shapesync-store on Electric's workloads 5 and 6
# pattern: every change of a transaction goes to all N shapes (TXNS
# transactions of PER inserts, N = 750 and 1,500; more shapes than
# --max-open's 1024 at 1,500). Same input, same run: buffered log writes
# (the default --write-buffer) next to --write-buffer 0 (a pwritev and a
# pwrite per entry); entries per second, the ratio, and store's CPU
# seconds. PEER_BUILD=DIR also runs that build's shapesync-store (say,
# main's) on the same input. Usage: SS_BUILD=build sh bench/store-fanout.sh
set -eu
B=${SS_BUILD:-build}
NS=${NS:-"750 1500"}
TXNS=${TXNS:-3}
PER=${PER:-50}
VALUE=${VALUE:-100}
tmp=$(mktemp -d /tmp/ss-bench-fanout.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
PATH="$B/bin:$PATH"

now() { date +%s%N; }

# run LABEL SHAPES STORE OPTIONS...: "entries/s cpu-seconds"
run() {
	label=$1 shapes=$2 prog=$3
	shift 3
	d="$tmp/$label"
	mkdir -p "$d"
	shapesync-db --registry "$d/r.db" --dir "$d/data" init
	"$B/bench/store" registry "$shapes" | shapesync-db --registry "$d/r.db" import
	t0=$(now)
	/usr/bin/time -f "%U %S" -o "$d/time" "$prog" --registry "$d/r.db" \
		--dir "$d/data" "$@" <"$tmp/in.$shapes"
	t1=$(now)
	n=$((shapes * TXNS * PER))
	echo "$(( n * 1000000000 / (t1 - t0) )) $(awk '{ printf "%.2f", $1 + $2 }' "$d/time")"
	rm -rf "$d"
}

echo "store fan-out: $TXNS transactions of $PER inserts (~${VALUE}-byte rows), each insert in all N shapes"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $NS; do
	"$B/bench/store" fanout "$n" "$TXNS" "$PER" "$VALUE" >"$tmp/in.$n"
	set -- $(run buf.$n "$n" "$B/bin/shapesync-store")
	b=$1 bc=$2
	set -- $(run nobuf.$n "$n" "$B/bin/shapesync-store" --write-buffer 0)
	u=$1 uc=$2
	printf "  %5d shapes: buffered %8d entries/s (%s s CPU)   --write-buffer 0 %8d entries/s (%s s CPU)   ratio %5.1fx\n" \
		"$n" "$b" "$bc" "$u" "$uc" "$(echo "$b / $u" | bc -l)"
	if [ -n "${PEER_BUILD:-}" ]; then
		set -- $(run peer.$n "$n" "$PEER_BUILD/bin/shapesync-store")
		printf "  %5d shapes: %s's store %8d entries/s (%s s CPU)   buffered / it %5.1fx\n" \
			"$n" "$PEER_BUILD" "$1" "$2" "$(echo "$b / $1" | bc -l)"
	fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
