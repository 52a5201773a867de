#!/bin/sh
# The registry under kill -9 with a full write buffer, and at the scale of
# a million shapes. Uses the bench tool (build/bench/registry) to load it.
. "$(dirname "$0")/lib.sh"

BENCH="$SS_BUILD/bench/registry"
# A million shapes normally; the ASan build is several times slower, so it
# runs the same checks on fewer (SS_SCALE_SHAPES overrides both).
if [ -n "${SS_SCALE_SHAPES:-}" ]; then
	N=$SS_SCALE_SHAPES
elif "$SS_BUILD/bin/shapesync-db" --version >/dev/null 2>&1 &&
     nm "$SS_BUILD/bin/shapesync-db" 2>/dev/null | grep -q __asan_init; then
	N=100000
else
	N=1000000
fi

test_expect_success 'kill -9 while the write buffer is full, 10 times' '
	shapesync-db --registry crash.db --dir data init &&
	pid= &&
	trap "[ -n \"\$pid\" ] && kill -9 \$pid 2>/dev/null" EXIT &&
	i=0 &&
	while [ $i -lt 10 ]; do
		"$BENCH" churn crash.db >churn.$i.out 2>churn.$i.err &
		pid=$! &&
		# Wait until thousands of writes have gone through the buffer,
		# then kill at a varying moment while it keeps writing.
		n=0 &&
		while ! grep -q ready churn.$i.out 2>/dev/null && [ $n -lt 600 ]; do
			sleep 0.05; n=$((n + 1))
		done &&
		{ grep -q ready churn.$i.out ||
		  { echo "churn $i not ready after $n polls:"; cat churn.$i.err; false; }; } &&
		sleep 0.0$((i * 7 % 10)) &&
		{ kill -9 $pid || { echo "churn $i died:"; cat churn.$i.err; false; }; } &&
		{ wait $pid; true; } &&
		{ shapesync-db --registry crash.db --dir data check >check.out ||
		  { echo "check failed after kill $i:"; head -20 check.out; false; }; } &&
		grep -q "^ok" check.out &&
		i=$((i + 1)) || exit 1
	done &&
	shapesync-db --registry crash.db --dir data stats >stats.out &&
	grep -q "^shapes: " stats.out &&
	n=$(sed -n "s/^shapes: //p" stats.out) &&
	echo "shapes after the crashes: $n" &&
	test "$n" -ge 5000 && test "$n" -le 50000
'

test_expect_success 'after the crashes new ids never repeat old ones' '
	shapesync-db --registry crash.db ls --json >before.json &&
	max=$(sed -n "s/^{\"id\":\([0-9]*\),.*/\1/p" before.json | sort -n | tail -1) &&
	out=$(shapesync-db --registry crash.db add --table items --where "fresh = 1") &&
	id=${out%% *} &&
	test "$id" -gt "$max"
'

test_expect_success "register $N shapes" '
	"$BENCH" fill scale.db $N >fill.out &&
	cat fill.out
'

test_expect_success "ls --json lists all $N" '
	test "$(shapesync-db --registry scale.db ls --json | wc -l)" = "$N"
'

test_expect_success 'id map memory per shape is at most 64 bytes' '
	"$BENCH" idmap scale.db >idmap.out &&
	cat idmap.out &&
	test "$(sed -n "s/^idmap: \([0-9]*\) shapes loaded.*/\1/p" idmap.out)" = "$N" &&
	per=$(sed -n "s/^idmap: overhead \([0-9]*\)\.[0-9] bytes.*/\1/p" idmap.out) &&
	test -n "$per" && test "$per" -le 64
'

test_expect_success 'a shape in the middle reads back by id and by handle' '
	mid=$((N / 2)) &&
	shapesync-db --registry scale.db show --json $mid >mid.json &&
	handle=$(sed -n "s/.*\"handle\":\"\([0-9-]*\)\".*/\1/p" mid.json) &&
	shapesync-db --registry scale.db show --json "$handle" >mid2.json &&
	test_cmp mid.json mid2.json &&
	grep -q "\"where\":\"user_id = $((mid - 1))\"" mid.json
'

test_done
