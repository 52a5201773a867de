#!/bin/sh
# make install puts programs, man pages and completions where man, bash and
# zsh look under PREFIX, for every program built.
. "$(dirname "$0")/lib.sh"

# A make run from a test is not part of the make that runs the tests.
unset MAKEFLAGS MFLAGS MAKELEVEL

test_expect_success 'make install DESTDIR=... PREFIX=/usr' '
	make -s -C "$SS_ROOT" BUILD="$SS_BUILD" DESTDIR="$TEST_DIR/inst" \
		PREFIX=/usr install >out 2>&1 || { cat out; false; }
'

inst=$TEST_DIR/inst/usr
test_expect_success 'every program and its man page are installed' '
	for p in $(ls "$SS_BUILD/bin"); do
		test -x "$inst/bin/$p" &&
		test -f "$inst/share/man/man1/$p.1" ||
		{ echo "$p: not installed" >&2; return 1; }
	done
'

test_expect_success 'bash completion is a file, linked for every stage program' '
	bc=$inst/share/bash-completion/completions &&
	test -f "$bc/shapesync" && test ! -L "$bc/shapesync" &&
	cmp "$SS_ROOT/completions/shapesync.bash" "$bc/shapesync" &&
	for p in $(ls "$SS_BUILD/bin"); do
		test -r "$bc/$p" || { echo "$bc/$p missing" >&2; return 1; }
	done
'

test_expect_success 'zsh completion is installed' '
	cmp "$SS_ROOT/completions/_shapesync" "$inst/share/zsh/site-functions/_shapesync"
'

test_expect_success 'the installed front command runs the installed stages' '
	"$inst/bin/shapesync" --version >out &&
	grep -q "^shapesync (shapesync) " out &&
	for p in $(ls "$SS_BUILD/bin"); do
		case $p in
		shapesync-*)
			PATH=/usr/bin:/bin "$inst/bin/shapesync" "${p#shapesync-}" --version >out &&
			grep -q "^$p (shapesync) " out || return 1 ;;
		esac
	done
'

test_done
