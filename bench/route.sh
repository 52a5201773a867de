#!/bin/sh
# bench/route.sh — changes per second through the real shapesync-route with
# 1, 100, 10,000 and 100,000 shapes of three forms, same run:
#   eq     user_id = N
#   in     status IN ('sN', 'sN+1') AND amount > X
#   ilike  title ILIKE '%xNy%'   (not indexable: linear in the shapes)
# Each change is an insert that matches about the same number of shapes
# whatever the count (bench/route.c draws the values), so the rates show
# what the shape count costs. The rate is measured by route itself (-v):
# main-thread CPU time from the first change frame to the end of input
# (one core; startup, loading and compiling the shapes excluded), best of
# REPS runs; wall time is noisier on a shared machine. Ratios are against
# the 1-shape rate of the same form.
# Usage: make bench, or SS_BUILD=build sh bench/route.sh
set -eu
B=${SS_BUILD:-build}
N=${N:-2000000}          # changes per run (indexed forms)
ILIKE_WORK=${ILIKE_WORK:-20000000} # changes x shapes per ilike run
REPS=${REPS:-3}
COUNTS=${COUNTS:-"1 100 10000 100000"}
FORMS=${FORMS:-"eq in ilike"}
tmp=$(mktemp -d /tmp/ss-bench-route.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# rate REGISTRY FRAMES: the best changes/s of REPS runs.
rate() {
	best=0
	i=0
	while [ $i -lt "$REPS" ]; do
		r=$("$B/bin/shapesync-route" -v --registry "$1" <"$2" 2>&1 >/dev/null |
			sed -n 's/.*CPU (\([0-9]*\) changes\/s).*/\1/p')
		[ "${r:-0}" -gt "$best" ] && best=$r
		i=$((i + 1))
	done
	echo "$best"
}

printf '%-6s %8s %10s %14s %8s\n' form shapes changes changes/s ratio
for form in $FORMS; do
	base=
	for k in $COUNTS; do
		n=$N
		if [ "$form" = ilike ]; then
			n=$((ILIKE_WORK / k))
			[ $n -gt "$N" ] && n=$N
			[ $n -lt 200 ] && n=200
		fi
		rm -f "$tmp"/reg.db*
		"$B/bench/route" fill "$tmp/reg.db" "$form" "$k"
		"$B/bench/route" frames "$form" "$k" "$n" >"$tmp/frames"
		r=$(rate "$tmp/reg.db" "$tmp/frames")
		[ -z "$base" ] && base=$r
		printf '%-6s %8s %10s %14s %7sx\n' "$form" "$k" "$n" "$r" \
			"$(awk -v a="$r" -v b="$base" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
	done
done
