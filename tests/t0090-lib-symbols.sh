#!/bin/sh
# lib/ is one static archive that every program and test links: every
# global symbol it defines is ss_-prefixed (STYLE.md "Names"), so that
# none collides with a program's or a library's own. Internal helpers
# shared between files of one module carry the module's prefix (ss_w_ for
# lib/where); file-local ones are static. The sanitizers' own symbols
# (ASan's __odr_asan.NAME beside each global NAME, __asan_*, __ubsan_*,
# __sancov_*) are not ours and are left out.
. "$(dirname "$0")/lib.sh"

lib=$SS_BUILD/libshapesync.a

test_expect_success 'every global symbol of libshapesync.a is ss_-prefixed' '
	test -f "$lib" &&
	nm -g --defined-only "$lib" >syms &&
	test $(grep -c " T ss_" syms) -gt 100 &&
	awk "/:\$/ { m = \$1 } NF == 3 && \$3 !~ /^(ss_|__odr_asan|__asan_|__ubsan_|__sancov_)/ { print m, \$3 }" syms >bad &&
	{ ! test -s bad || { echo "unprefixed global symbols:" >&2; cat bad >&2; false; }; }
'

test_done
