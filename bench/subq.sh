#!/bin/sh
# bench/subq.sh — routing rate of subquery shapes next to plain `=`
# shapes, same run (issue 14): changes matched per second of CPU time by
# lib/route with K shapes of each form (bench/subq.c):
#   eq    project_id = i
#   subq  project_id IN (SELECT id FROM projects WHERE owner = i), each
#         with its own inner shape of 3 projects: found through the
#         routing index of their views
#   eval  the same OR title = 'never': not indexable, every shape
#         evaluated against its view for every change (what routing cost
#         before the index)
# Each change matches exactly one shape of its form whatever K is. Best of
# REPS runs; ratios against the form's rate at K = 1.
# Usage: make bench, or SS_BUILD=build sh bench/subq.sh
set -eu
B=${SS_BUILD:-build}
N=${N:-2000000}
EVAL_WORK=${EVAL_WORK:-20000000} # changes x shapes per eval run
REPS=${REPS:-3}
COUNTS=${COUNTS:-"1 100 10000"}

best() { # FORM K N
	b=0
	i=0
	while [ $i -lt "$REPS" ]; do
		r=$("$B/bench/subq" "$2" "$3" "$1" | awk '{ print $3 }')
		[ "${r:-0}" -gt "$b" ] && b=$r
		i=$((i + 1))
	done
	echo "$b"
}

printf '%-5s %7s %9s %12s %7s\n' form shapes changes changes/s ratio
for form in eq subq eval; do
	base=
	for k in $COUNTS; do
		n=$N
		if [ "$form" = eval ]; then
			n=$((EVAL_WORK / k))
			[ "$n" -gt "$N" ] && n=$N
		fi
		r=$(best "$form" "$k" "$n")
		[ -z "$base" ] && base=$r
		printf '%-5s %7s %9s %12s %7s\n' "$form" "$k" "$n" "$r" \
			"$(awk -v a="$r" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
	done
done
