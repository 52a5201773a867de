#!/bin/sh
# shapesync-replicate streams a 1 GB transaction change by change: the
# peak resident set of the process (getrusage of the child, through
# test-tool maxrss) stays under 32 MiB, and every change arrives, in order.
# Slow: about 1 GB of WAL, decoded and written as 1 GB of frames.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start 'max_wal_size = 4GB' 'checkpoint_timeout = 30min'
tool=$SS_BUILD/tests/test-tool
rows=${SS_BIGTXN_ROWS:-1000000}
# Under AddressSanitizer (make check-asan) memory is shadowed and freed
# blocks are quarantined, so RSS says nothing about the code: stream a
# smaller transaction for ASan's sake and leave the bound to plain builds.
asan=
if ldd "$SS_BUILD/bin/shapesync-replicate" 2>/dev/null | grep -q libasan; then
	asan=1
	rows=${SS_BIGTXN_ROWS:-100000}
fi

test_expect_success 'setup: a table and a slot' '
	pg_psql "CREATE TABLE big (id int PRIMARY KEY, pad text)" &&
	shapesync-replicate --table big --ack=received --create-slot
'

test_expect_success "one transaction of $rows rows, $((rows / 1000)) MiB of WAL or more" '
	start=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	pg_psql "INSERT INTO big SELECT i, repeat('\''x'\'', 1000)
		FROM generate_series(1, $rows) i" &&
	pg_psql "SELECT pg_current_wal_lsn()" >endpos &&
	mb=$(pg_psql "SELECT ((pg_current_wal_lsn() - '\''$start'\''::pg_lsn)
		/ 1048576)::bigint") &&
	say "WAL of the transaction: $mb MiB" &&
	test "$mb" -ge $((rows / 1000))
'

# The frames (another GB) are not kept: awk keeps the first three lines,
# the last two and the count, leaving out progress frames (replicate may
# write one between transactions on its 100 ms tick: once before the
# begin or after the commit on a loaded machine).
what='streamed whole in under 32 MiB of peak RSS'
[ -n "$asan" ] && what='streamed whole (ASan build: RSS bound not checked)'
test_expect_success "$what" '
	{
		"$tool" maxrss rss shapesync-replicate --table big \
			--ack=received --endpos "$(cat endpos)" 2>err
		echo $? >status
	} | awk "/^{\"type\":\"progress\"/ { next }
		{ n++ } n <= 3 { print } { prev = last; last = \$0 }
		END { print prev; print last; print n }" >summary &&
	test_eq 0 "$(cat status)" &&
	say "peak RSS of shapesync-replicate: $(cat rss) KiB" &&
	if [ -z "$asan" ]; then
		test "$(cat rss)" -lt 32768 &&
		cp rss "$TEST_DIR/.rss"
	fi
'

test_expect_success 'every change arrived, in one transaction, in order' '
	test_eq $((rows + 3)) "$(sed -n 6p summary)" &&
	sed -n 1p summary | grep -q "^{\"type\":\"begin\"" &&
	sed -n 2p summary | grep -q "^{\"type\":\"relation\"" &&
	sed -n 3p summary | grep -q "\"pos\":0,\"new\":{\"id\":\"1\"," &&
	sed -n 4p summary |
		grep -q "\"pos\":$((rows - 1)),\"new\":{\"id\":\"$rows\"," &&
	sed -n 5p summary | grep -q "^{\"type\":\"commit\""
'

# Shown with prove -v, for BENCHMARKS.md and the curious.
[ -f .rss ] && say "peak RSS of shapesync-replicate: $(cat .rss) KiB"

test_done
