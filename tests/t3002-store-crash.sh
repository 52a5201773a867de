#!/bin/sh
# kill -9 of shapesync-store in the middle of transactions and group
# commits, then a restart on the same input: the logs end up byte for byte
# what a clean run writes (nothing lost, nothing twice, uncommitted tails
# gone), and the durable LSN never names a transaction a log lacks.
. "$(dirname "$0")/lib.sh"

G="$SS_BUILD/bench/store"
KILLS=${SS_STORE_KILLS:-20}

test_expect_success 'setup: 50 shapes, 400 transactions of 25 changes' '
	"$G" registry 50 >shapes.ndjson &&
	# big transactions (25 changes x ~2 KB) so kills land inside them
	"$G" gen 50 400 25 2000 >in.ndjson &&
	for r in clean crash; do
		shapesync-db --registry $r.db --dir $r init &&
		shapesync-db --registry $r.db --dir $r import shapes.ndjson || return 1
	done &&
	shapesync-store --registry clean.db --dir clean <in.ndjson
'

# A commit's end LSN is its lsn + 0x10 in the generated input: the durable
# LSN must be such an end (or 0), and every shape must hold every
# transaction of its own that ends at or before it.
check_durable() {
	d=$(shapesync-db --registry crash.db stats | sed -n "s/^durable_lsn: //p") &&
	if [ "$d" = 0/0 ]; then return 0; fi &&
	dec=$(printf "%d" 0x${d#*/}) &&
	last_tx=$((dec - 16)) &&
	for s in 1 17 50; do
		# the shape's changes with tx <= last_tx must all be in its log
		want=$(grep "\"shapes\":\[$s\]" in.ndjson | sed -n "s/.*\"lsn\":\"0\/\([0-9A-F]*\)\".*/\1/p" |
			while read h; do [ $(printf "%d" 0x$h) -le $last_tx ] && echo x; done | wc -l) &&
		got=$(shapesync-db --registry crash.db --dir crash log $s |
			sed "s/_.*//" | while read t; do [ "$t" -le $last_tx ] && echo x; done | wc -l) &&
		{ [ "$got" -ge "$want" ] || { echo "shape $s: $got of $want below $d"; return 1; }; } || return 1
	done
}

test_expect_success "kill -9 $KILLS times at random moments, restarting each time" '
	i=0 &&
	while [ $i -lt $KILLS ]; do
		shapesync-store --registry crash.db --dir crash --sync-bytes 64KiB \
			<in.ndjson 2>err.$i &
		pid=$! &&
		# 20..400 ms into the run
		sleep 0.$(printf "%03d" $((20 + (i * 7919) % 380))) &&
		{ kill -9 $pid 2>/dev/null; wait $pid; true; } &&
		check_durable || return 1
		i=$((i + 1))
	done
'

test_expect_success 'a final run completes; every log equals the clean run' '
	shapesync-store --registry crash.db --dir crash <in.ndjson &&
	for s in $(seq 1 50); do
		shapesync-db --registry clean.db --dir clean log $s >a &&
		shapesync-db --registry crash.db --dir crash log $s >b &&
		test_cmp a b || return 1
	done &&
	(cd clean && find shapes -type f | sort | xargs md5sum) >clean.sum &&
	(cd crash && find shapes -type f | sort | xargs md5sum) >crash.sum &&
	test_cmp clean.sum crash.sum
'

test_expect_success 'no pending files, trash or leftovers' '
	test -z "$(find crash -name pending)" &&
	shapesync-db --registry crash.db --dir crash check >out && grep -q "^ok" out
'

test_done
