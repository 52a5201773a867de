#!/bin/sh
# shapesync-route and the registry while it runs: a shape added while route
# waits for input gets its active mark without input; one added while
# route is inside a transaction gets it only after that transaction's
# commit has passed through, at that commit's LSN, and is not tagged in
# that transaction; a removed shape stops being routed. Input comes
# through a fifo that the script keeps open.
. "$(dirname "$0")/lib.sh"

TS=2026-11-21T07:38:00.123456Z
REL='{"type":"relation","oid":16384,"schema":"public","table":"items","replica_identity":"f","columns":[{"name":"id","type":"int4","type_oid":23,"typmod":-1,"pk":true},{"name":"status","type":"text","type_oid":25,"typmod":-1,"pk":false}]}'

begin() { echo "{\"type\":\"begin\",\"xid\":$1,\"lsn\":\"$2\",\"ts\":\"$TS\"}"; }
commit() { echo "{\"type\":\"commit\",\"xid\":$1,\"lsn\":\"$2\",\"end_lsn\":\"$2\",\"ts\":\"$TS\"}"; }
# insert XID LSN POS ID STATUS
insert() {
	echo "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,\"xid\":$1,\"lsn\":\"$2\",\"pos\":$3,\"new\":{\"id\":\"$4\",\"status\":\"$5\"}}"
}

# active_lsn ID: the shape's mark, or "-" when it has none.
active_lsn() {
	shapesync-db --registry r.db show "$1" | sed -n "s/^active_lsn: //p"
}

# wait_for CMD...: run CMD every 10 ms until it succeeds, at most 30 s
# (a guard against a hang, not a timing claim).
wait_for() {
	_n=0
	until "$@"; do
		_n=$((_n + 1))
		test $_n -lt 3000 || { echo "timed out: $*" >&2; return 1; }
		sleep 0.01
	done
}

has_line() { grep -q -F -- "$1" out; }
not_dash() { test "$(active_lsn "$1")" != "-"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

shapesync-db --registry r.db --dir d init
mkfifo in
shapesync-route --registry r.db --poll-interval 2ms <in >out 2>err &
route_pid=$!
test_at_exit "kill $route_pid"
exec 3>in

test_expect_success 'a shape added while route is idle is marked, with no input' '
	start=$(now_ms) &&
	shapesync-db --registry r.db add --table items --where "status = '\''a'\''" &&
	wait_for not_dash 1 &&
	say "marked after $(($(now_ms) - start)) ms (no timing is asserted)" &&
	test_eq 0/0 "$(active_lsn 1)"
'

test_expect_success 'the mark is the last commit route passed through' '
	{ begin 700 0/1000 && echo "$REL" && insert 700 0/1000 0 1 a &&
	  commit 700 0/1000; } >&3 &&
	wait_for has_line "\"xid\":700,\"lsn\":\"0/1000\",\"end_lsn\"" &&
	shapesync-db --registry r.db add --table items --where "status = '\''b'\''" &&
	wait_for not_dash 2 &&
	test_eq 0/1000 "$(active_lsn 2)" &&
	grep -q "\"pos\":0,\"new\":{\"id\":\"1\",\"status\":\"a\"},\"shapes\":\[1\]}" out
'

test_expect_success 'a progress frame moves the position too' '
	echo "{\"type\":\"progress\",\"lsn\":\"0/1800\"}" >&3 &&
	wait_for has_line "\"lsn\":\"0/1800\"" &&
	shapesync-db --registry r.db add --table items --where "status = '\''p'\''" &&
	wait_for not_dash 3 &&
	test_eq 0/1800 "$(active_lsn 3)"
'

test_expect_success 'a shape added inside a transaction is marked after its commit' '
	{ begin 701 0/2000 && insert 701 0/2000 0 2 c; } >&3 &&
	wait_for has_line "\"xid\":701,\"lsn\":\"0/2000\",\"ts\"" &&
	shapesync-db --registry r.db add --table items --where "status = '\''c'\''" &&
	sleep 0.3 &&
	test_eq - "$(active_lsn 4)" &&
	insert 701 0/2000 1 3 c >&3 &&
	sleep 0.1 &&
	test_eq - "$(active_lsn 4)" &&
	commit 701 0/2000 >&3 &&
	wait_for not_dash 4 &&
	test_eq 0/2000 "$(active_lsn 4)" &&
	! grep -q "\"xid\":701.*\"shapes\"" out
'

test_expect_success 'the next transaction is tagged for it' '
	{ begin 702 0/3000 && insert 702 0/3000 0 4 c && commit 702 0/3000; } >&3 &&
	wait_for has_line "\"xid\":702,\"lsn\":\"0/3000\",\"end_lsn\"" &&
	grep -q "\"xid\":702,.*\"id\":\"4\",\"status\":\"c\"},\"shapes\":\[4\]}" out
'

test_expect_success 'a removed shape stops being routed' '
	shapesync-db --registry r.db --dir d rm 4 &&
	sleep 0.2 &&
	{ begin 703 0/4000 && insert 703 0/4000 0 5 c && insert 703 0/4000 1 6 a &&
	  commit 703 0/4000; } >&3 &&
	wait_for has_line "\"xid\":703,\"lsn\":\"0/4000\",\"end_lsn\"" &&
	! grep -q "\"xid\":703.*\"id\":\"5\"" out &&
	grep -q "\"xid\":703.*\"id\":\"6\",\"status\":\"a\"},\"shapes\":\[1\]}" out
'

# Close the input here: test bodies run in subshells.
exec 3>&-
wait_end $route_pid
route_status=$st

test_expect_success 'route exits 0 when its input ends, output complete' '
	test_eq 0 $route_status &&
	test_eq 4 "$(grep -c "\"type\":\"commit\"" out)" &&
	test ! -s err
'

# An orderly stop while the output pipe is full (its reader is not
# reading): the blocked write is given up and route exits 0 at once,
# rather than dying with "Interrupted system call" (as it did) or hanging.
test_expect_success 'SIGTERM while blocked on a full output pipe: exit 0' '
	awk -v ts="$TS" "BEGIN { for (i = 1; i <= 40000; i++) {
		l = sprintf(\"0/%X\", 4096 * i)
		printf(\"{\\\"type\\\":\\\"begin\\\",\\\"xid\\\":%d,\\\"lsn\\\":\\\"%s\\\",\\\"ts\\\":\\\"%s\\\"}\\n\", i + 1000, l, ts)
		printf(\"{\\\"type\\\":\\\"commit\\\",\\\"xid\\\":%d,\\\"lsn\\\":\\\"%s\\\",\\\"end_lsn\\\":\\\"%s\\\",\\\"ts\\\":\\\"%s\\\"}\\n\", i + 1000, l, l, ts) } }" >many.ndjson &&
	test $(wc -c <many.ndjson) -gt 1000000 &&
	mkfifo full.fifo &&
	{ sleep 60 <full.fifo & } && reader=$! &&
	{ shapesync-route --registry r.db <many.ndjson >full.fifo 2>route.err & } &&
	route=$! &&
	sleep 1 && kill -0 $route &&
	kill -TERM $route &&
	st=0 && wait $route || st=$? &&
	kill $reader &&
	test_eq 0 "$st" &&
	test ! -s route.err
'

test_done
