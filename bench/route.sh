#!/bin/sh
# bench/route.sh — changes per second through the real shapesync-route with
# 1, 100, 10,000 and 100,000 shapes of three forms, and 10, 1,000 and
# 10,000 of a fourth, same run:
#   eq     user_id = N
#   in     status IN ('sN', 'sN+1') AND amount > X
#   ilike  title ILIKE '%xNy%'   (not indexable: linear in the shapes)
#   prefix title ILIKE 'UN-%'    (the prefix index; titles 'uN-...')
# Each change is an insert that matches about the same number of shapes
# whatever the count (bench/route.c draws the values), so the rates show
# what the shape count costs. The rate is measured by route itself (-v):
# main-thread CPU time from the first change frame to the end of input
# (one core; startup, loading and compiling the shapes excluded), best of
# REPS runs; wall time is noisier on a shared machine. Ratios are against
# the first count's rate of the same form.
# BASE=DIR (a build dir of another shapesync, such as main's) also times
# DIR/bin/shapesync-route on the same registry and changes, interleaved
# with this build's runs, and prints its rate, its ratio and this build's
# rate over it. Runs that are linear in the shapes (ilike, and prefix on
# a build without the prefix index) get at most ILIKE_WORK / shapes
# changes; the rate is per change either way. BASE_PREFIX=1: BASE has
# the prefix index too (its prefix runs get N changes).
# Usage: make bench, or SS_BUILD=build [BASE=build-main] sh bench/route.sh
set -eu
B=${SS_BUILD:-build}
BASE=${BASE:-}
BASE_PREFIX=${BASE_PREFIX:-0}
N=${N:-2000000}          # changes per run (indexed forms)
ILIKE_WORK=${ILIKE_WORK:-20000000} # changes x shapes per linear run
REPS=${REPS:-3}
COUNTS=${COUNTS:-"1 100 10000 100000"}
PREFIX_COUNTS=${PREFIX_COUNTS:-"10 1000 10000"}
FORMS=${FORMS:-"eq in ilike prefix"}
tmp=$(mktemp -d /tmp/ss-bench-route.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# rate BUILD REGISTRY FRAMES: the best changes/s of REPS runs.
rate() {
	best=0
	i=0
	while [ $i -lt "$REPS" ]; do
		r=$("$1/bin/shapesync-route" -v --registry "$2" <"$3" 2>&1 >/dev/null |
			sed -n 's/.*CPU (\([0-9]*\) changes\/s).*/\1/p')
		[ "${r:-0}" -gt "$best" ] && best=$r
		i=$((i + 1))
	done
	echo "$best"
}

# capped K: the changes of a run that is linear in K shapes.
capped() {
	c=$((ILIKE_WORK / $1))
	[ $c -gt "$N" ] && c=$N
	[ $c -lt 200 ] && c=200
	echo "$c"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'
}

if [ -n "$BASE" ]; then
	printf '%-6s %8s %10s %14s %8s %10s %14s %8s %8s\n' form shapes changes \
		changes/s ratio base_chg base_chg/s b_ratio new/base
else
	printf '%-6s %8s %10s %14s %8s\n' form shapes changes changes/s ratio
fi
for form in $FORMS; do
	base=
	bbase=
	counts=$COUNTS
	[ "$form" = prefix ] && counts=$PREFIX_COUNTS
	for k in $counts; do
		n=$N
		[ "$form" = ilike ] && n=$(capped "$k")
		rm -f "$tmp"/reg.db*
		"$B/bench/route" fill "$tmp/reg.db" "$form" "$k"
		"$B/bench/route" frames "$form" "$k" "$n" >"$tmp/frames"
		r=$(rate "$B" "$tmp/reg.db" "$tmp/frames")
		[ -z "$base" ] && base=$r
		if [ -z "$BASE" ]; then
			printf '%-6s %8s %10s %14s %7sx\n' "$form" "$k" "$n" "$r" \
				"$(ratio "$r" "$base")"
			continue
		fi
		bn=$n
		if [ "$form" = prefix ] && [ "$BASE_PREFIX" != 1 ]; then
			bn=$(capped "$k")
			"$B/bench/route" frames "$form" "$k" "$bn" >"$tmp/bframes"
		else
			cp "$tmp/frames" "$tmp/bframes"
		fi
		br=$(rate "$BASE" "$tmp/reg.db" "$tmp/bframes")
		[ -z "$bbase" ] && bbase=$br
		printf '%-6s %8s %10s %14s %7sx %10s %14s %7sx %7sx\n' "$form" "$k" \
			"$n" "$r" "$(ratio "$r" "$base")" "$bn" "$br" \
			"$(ratio "$br" "$bbase")" "$(ratio "$r" "$br")"
	done
done
