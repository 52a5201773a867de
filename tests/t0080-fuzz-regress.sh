#!/bin/sh
# The libFuzzer targets of tests/fuzz/ run once over every input of their
# corpora (make fuzz-regress): the seeds and the inputs of every crash the
# fuzzers found still pass their invariants. Needs clang with libFuzzer
# (make deps installs it); skipped, saying so, only without it.
. "$(dirname "$0")/lib.sh"

# A make run from a test is not part of the make that runs the tests.
unset MAKEFLAGS MFLAGS MAKELEVEL

cc=${FUZZ_CC:-clang}
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >probe.c
if ! command -v "$cc" >/dev/null 2>&1; then
	test_skip 'fuzz targets pass over their corpora' "no $cc: make deps installs clang"
	test_done
fi
if ! "$cc" -fsanitize=fuzzer -o probe probe.c >probe.out 2>&1; then
	test_skip 'fuzz targets pass over their corpora' "$cc cannot link libFuzzer (libclang-rt-dev)"
	test_done
fi

test_expect_success 'every target has a seed corpus and a dictionary or a reason' '
	for src in "$SS_ROOT"/tests/fuzz/fuzz-*.c; do
		t=$(basename "$src" .c) && t=${t#fuzz-} &&
		n=$(find "$SS_ROOT/tests/fuzz/corpus/$t" -type f 2>/dev/null | wc -l) &&
		{ [ "$n" -gt 0 ] || { echo "$t: no corpus" >&2; return 1; }; } || return 1
	done
'

test_expect_success 'make fuzz-regress: every target over its corpus' '
	make -s -C "$SS_ROOT" fuzz-regress >out 2>&1 || { cat out; false; } &&
	n=$(ls "$SS_ROOT"/tests/fuzz/fuzz-*.c | wc -l) &&
	test_eq "$n" "$(grep -c "^  REGRESS " out)"
'

test_done
