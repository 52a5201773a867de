#!/bin/sh
# The README's two commands are real: CI runs the test command verbatim, and
# the run command (`make run`: deps, build, shapesync up on the embedded
# PostgreSQL) serves the demo shape.
. "$(dirname "$0")/lib.sh"

# fenced_block N FILE: the lines of the Nth ``` code block of FILE.
fenced_block() {
	awk -v n="$1" '/^```/ { b += inblock ? 0 : 1; inblock = !inblock; next }
		inblock && b == n' "$2"
}

readme=$SS_ROOT/README.md
ci=$SS_ROOT/.ci/run

test_expect_success 'README opens with a run command and a test command' '
	fenced_block 1 "$readme" >run.cmd &&
	fenced_block 2 "$readme" >test.cmd &&
	test_eq 1 "$(wc -l <run.cmd)" &&
	test_eq 1 "$(wc -l <test.cmd)" &&
	test_eq "make run" "$(cat run.cmd)" &&
	grep -q "^make deps && " test.cmd
'

test_expect_success '.ci/run is an executable bash script' '
	test -x "$ci" &&
	head -n 1 "$ci" | grep -q bash &&
	bash -n "$ci"
'

# .ci/run runs under pipefail: a reader that quits early (head, grep -q,
# grep -m) leaves the writer a SIGPIPE, and the run fails with 141 now and
# then (it did: `make --version | head -n 1`). A rough check of the usual
# spellings, not a shell parser (`sed q` or `awk ... exit` get past it).
test_expect_success '.ci/run pipes into no reader that quits early' '
	! grep -nE "\|[[:space:]]*(head|grep[^|]* -[a-zA-Z]*[qm])" "$ci"
'

test_expect_success '.ci/run runs the README test command verbatim' '
	fenced_block 2 "$readme" >test.cmd &&
	sed -n "/must be the README.s test command/,/^[[:space:]]*[^[:space:]#]/p" "$ci" |
		tail -n 1 | sed "s/^[[:space:]]*//" >ci.cmd &&
	test_cmp test.cmd ci.cmd
'

test_expect_success '.ci/run ends with the ASan+UBSan suite' '
	grep -v -e "^[[:space:]]*\$" -e "^[[:space:]]*#" "$ci" | tail -n 1 >last &&
	test_eq "make check-asan" "$(cat last)"
'

# The run command as written, with only the state dir and port moved into
# the test dir (and the build variables of this test run, so nothing is
# rebuilt): it must come up and serve the demo table.
test_expect_success 'the README run command works: make run serves the demo shape' '
	fenced_block 1 "$readme" >run.cmd &&
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS $(cat run.cmd) -s -C "$SS_ROOT" \
		${SS_MAKE_VARS:-} UP_ARGS="--dir $TEST_DIR/var --port 0" \
		</dev/null >run.out 2>run.err &
	make_pid=$! &&
	_i=0 && until grep -q "shapesync-up: ready:" run.err; do
		_i=$((_i + 1))
		[ $_i -le 1200 ] && kill -0 $make_pid 2>/dev/null || {
			cat run.out run.err; kill $make_pid; exit 1; }
		sleep 0.1
	done &&
	url=$(sed -n "s|.*ready: shapes at \(http://[^ ]*\)|\1|p" run.err) &&
	curl -s -o body "$url?table=items&offset=-1" &&
	up=$(for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null; echo; done |
		awk -v p=$make_pid "\$4 == p && \$2 == \"(shapesync-up)\" { print \$1 }") &&
	test -n "$up" &&
	kill -TERM "$up" && wait $make_pid &&
	test_eq 5 "$(grep -c "\"operation\":\"insert\"" body)" &&
	grep -q "Follow the items shape with curl" body
'

test_done
