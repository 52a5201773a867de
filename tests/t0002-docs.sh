#!/bin/sh
# The README's two commands are real: CI runs the test command verbatim, and
# the run command works (once the programs it runs exist).
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
	grep -q "^make deps && make && " run.cmd &&
	grep -q "^make deps && " test.cmd
'

test_expect_success '.ci/run is an executable bash script' '
	test -x "$ci" &&
	head -n 1 "$ci" | grep -q bash &&
	bash -n "$ci"
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

if [ -x "$SS_BUILD/bin/shapesync-db" ]; then
	test_expect_success 'the README run command works' '
		fenced_block 1 "$readme" | sed -e "s/^make deps && make && //" \
			-e "s|\./build/bin/|$SS_BUILD/bin/|g" >run.sh &&
		! grep -q "make" run.sh &&
		sh -e run.sh
	'
else
	test_skip 'the README run command works' 'shapesync-db is not built yet'
fi

test_done
