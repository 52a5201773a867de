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

# wait_helpers PID N: wait (up to 10 s) until PID has at least N helper
# threads.
wait_helpers() {
	wait_until "$2 helper threads of pid $1" "[ \"\$(helpers $1 | wc -l)\" -ge $2 ]"
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

# each_serve_thread [OPTION...]: for each helper thread of a serve started
# with OPTION..., a fresh serve gets SIGTERM on that thread and must end 0.
each_serve_thread() {
	serve "$@" && n=$(helpers $pid | wc -l) && kill -TERM $pid &&
	wait_end $pid 300 &&
	i=1 && while [ $i -le $n ]; do
		serve "$@" && wait_helpers $pid $n && tid=$(helpers $pid | sed -n ${i}p) &&
		echo "thread $i: $tid $(cat /proc/$pid/task/$tid/comm)" &&
		kill -TERM $tid &&
		wait_end $pid 300 && test_eq 0 "$st" || return 1
		i=$((i + 1))
	done
}

test_expect_success 'serve: SIGTERM to each helper thread is an orderly stop (exit 0)' '
	each_serve_thread
'

# The metrics listener is a second libmicrohttpd daemon with its own thread.
test_expect_success 'serve with --metrics-port: the same for each of its threads' '
	mport=$(perl -MIO::Socket::INET -e "print IO::Socket::INET->new(Listen => 1,
		LocalAddr => q(127.0.0.1), LocalPort => 0)->sockport") &&
	each_serve_thread --metrics-port "$mport" &&
	test "$n" -ge 5
'

# A smoke test: SIGTERM at any moment of start-up ends serve (status 0, or
# 143 when it comes before the handler is installed), never a hang.
test_expect_success 'serve: SIGTERM during start-up ends it' '
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
	i=0 && until [ "$(awk "{ print \$3 }" /proc/$pid/stat)" = S ] &&
	      grep -q pipe_w /proc/$pid/wchan 2>/dev/null; do
		kill -0 $pid || exit 1
		# Kernels that hide wchan: 10 s is plenty to fill a pipe.
		i=$((i + 1)) && [ $i -le 100 ] || break
		sleep 0.1
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
	pid=$! && echo $pid $writer >>pids && wait_helpers $pid 2 &&
	n=$(helpers $pid | wc -l) &&
	kill -TERM $pid && wait_end $pid 300 && test_eq 0 "$st" &&
	test "$n" -ge 2 &&
	i=1 && while [ $i -le $n ]; do
		{ shapesync-store --registry r.db --dir data <in.fifo 2>store.err & } &&
		pid=$! && echo $pid >>pids && wait_helpers $pid $n &&
		kill -TERM $(helpers $pid | sed -n ${i}p) &&
		wait_end $pid 300 && test_eq 0 "$st" || { cat store.err; exit 1; }
		i=$((i + 1))
	done &&
	kill $writer
'

test_done
