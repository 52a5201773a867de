#!/bin/sh
# SIGTERM stops every multi-threaded program whichever of its threads the
# kernel hands the signal to. A process-directed signal runs its handler in
# any thread that does not block it; `kill` of a thread id makes the kernel
# prefer that thread, so sending SIGTERM to each helper thread in turn
# covers every choice. Before the fix, serve caught by its evictor or
# registry thread stayed in pause() for ever (CI hung 15 minutes in
# t4001), and route blocked on a full pipe was never interrupted.
. "$(dirname "$0")/lib.sh"

# helpers PID: the ids of PID's threads but its main one.
helpers() {
	ls "/proc/$1/task" | grep -vx "$1"
}

shapesync-db --registry r.db --dir data init >/dev/null
# Whatever a failed test left running (its servers, readers, writers):
# the recorded pids that still run in this test's directory.
leftovers() {
	for _p in $(cat "$TEST_DIR/pids" 2>/dev/null); do
		[ "$(readlink "/proc/$_p/cwd" 2>/dev/null)" = "$TEST_DIR" ] &&
			kill -9 "$_p"
	done
}
test_at_exit leftovers

# serve needs no PostgreSQL until a shape is created.
# serve.err is emptied first: the background job's own redirection may
# come after wait_log has read the previous server's "listening on".
serve() {
	: >serve.err
	shapesync-serve --registry r.db --dir data --port 0 --insecure \
		--database-url "postgresql://127.0.0.1:1/none" --max-shapes 2 \
		--threads 2 "$@" 2>>serve.err &
	pid=$! && echo $pid >>pids
	wait_log serve.err 0 "listening on" $pid 100
}

test_expect_success 'serve has helper threads (registry, waker, evictor, HTTP workers)' '
	serve && helpers $pid >tids && kill -TERM $pid &&
	wait_end $pid 300 && test_eq 0 "$st" &&
	test "$(wc -l <tids)" -ge 4
'

test_expect_success 'serve: SIGTERM to each helper thread is an orderly stop (exit 0)' '
	serve && n=$(helpers $pid | wc -l) && kill -TERM $pid && wait_end $pid 300 &&
	i=1 && while [ $i -le $n ]; do
		serve && tid=$(helpers $pid | sed -n ${i}p) &&
		echo "thread $i: $tid $(cat /proc/$pid/task/$tid/comm)" &&
		kill -TERM $tid &&
		wait_end $pid 300 && test_eq 0 "$st" || exit 1
		i=$((i + 1))
	done
'

test_expect_success 'serve: SIGTERM right after start, before it waits, still stops it' '
	for i in 1 2 3 4 5; do
		shapesync-serve --registry r.db --dir data --port 0 --insecure \
			--database-url "postgresql://127.0.0.1:1/none" 2>/dev/null &
		pid=$! && echo $pid >>pids && sleep 0.0$i && kill -TERM $pid &&
		wait_end $pid 300 && { test_eq 0 "$st" || test_eq 143 "$st"; } || exit 1
	done
'

TS=2026-11-21T07:38:00.123456Z
# route blocked writing to a full pipe: only the blocked thread getting the
# signal interrupts the write.
test_expect_success 'route blocked on a full output pipe: SIGTERM to its registry thread stops it (exit 0)' '
	awk -v ts="$TS" "BEGIN { for (i = 1; i <= 40000; i++) {
		l = sprintf(\"0/%X\", 4096 * i)
		printf(\"{\\\"type\\\":\\\"begin\\\",\\\"xid\\\":%d,\\\"lsn\\\":\\\"%s\\\",\\\"ts\\\":\\\"%s\\\"}\\n\", i + 1000, l, ts)
		printf(\"{\\\"type\\\":\\\"commit\\\",\\\"xid\\\":%d,\\\"lsn\\\":\\\"%s\\\",\\\"end_lsn\\\":\\\"%s\\\",\\\"ts\\\":\\\"%s\\\"}\\n\", i + 1000, l, l, ts) } }" >many.ndjson &&
	mkfifo full.fifo &&
	{ sleep 120 <full.fifo & } && reader=$! &&
	{ shapesync-route --registry r.db <many.ndjson >full.fifo 2>route.err & } &&
	pid=$! && echo $pid $reader >>pids &&
	until [ "$(awk "{ print \$3 }" /proc/$pid/stat)" = S ] &&
	      grep -q pipe_write /proc/$pid/wchan 2>/dev/null; do
		kill -0 $pid && sleep 0.1 || exit 1
	done &&
	helpers $pid >tids && test -s tids &&
	kill -TERM $(head -n 1 tids) &&
	wait_end $pid 300 &&
	kill $reader &&
	test_eq 0 "$st" &&
	test ! -s route.err
'

test_expect_success 'store: SIGTERM to each helper thread is an orderly stop (exit 0)' '
	mkfifo in.fifo &&
	{ sleep 120 >in.fifo & } && writer=$! &&
	{ shapesync-store --registry r.db --dir data <in.fifo 2>store.err & } &&
	pid=$! && echo $pid $writer >>pids && sleep 0.5 && n=$(helpers $pid | wc -l) &&
	kill -TERM $pid && wait_end $pid 300 && test_eq 0 "$st" &&
	test "$n" -ge 1 &&
	i=1 && while [ $i -le $n ]; do
		{ shapesync-store --registry r.db --dir data <in.fifo 2>store.err & } &&
		pid=$! && echo $pid >>pids && sleep 0.5 &&
		kill -TERM $(helpers $pid | sed -n ${i}p) &&
		wait_end $pid 300 && test_eq 0 "$st" || { cat store.err; exit 1; }
		i=$((i + 1))
	done &&
	kill $writer
'

test_done
