# tests/lib.sh — the shell test library, sourced by every tests/tNNNN-*.sh.
#
# Each script gets a fresh temporary directory ($TEST_DIR, also the cwd),
# the freshly built programs first on PATH, and TAP output for prove:
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'what it checks' '
#       shapesync-db --registry r.db init &&
#       test_must_fail 2 shapesync-db --bogus
#   '
#   test_done
#
# A test body runs in a subshell with `set -e` semantics left to the body:
# chain steps with && so the first failing step fails the test.

set -u

TEST_NAME=$(basename "$0" .sh)
TEST_SRC=$(cd "$(dirname "$0")" && pwd)
SS_ROOT=$(cd "$TEST_SRC/.." && pwd)
SS_BUILD=${SS_BUILD:-$SS_ROOT/build}
PATH="$SS_BUILD/bin:$PATH"
export PATH SS_ROOT SS_BUILD TEST_SRC

# Keep the caller's environment from leaking into the programs under test.
unset DATABASE_URL SHAPESYNC_REGISTRY SHAPESYNC_DATA_DIR PGHOST PGPORT \
      PGDATABASE PGUSER PGPASSWORD 2>/dev/null || true

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ss-$TEST_NAME.XXXXXX")
chmod 755 "$TEST_DIR"
export TEST_DIR
cd "$TEST_DIR" || exit 1

test_count=0
test_failed=0
_cleanup_hooks=""

# Register a command to run when the script exits (servers, clusters).
test_at_exit() {
	_cleanup_hooks="$1
$_cleanup_hooks"
}

_test_exit() {
	status=$?
	_failed_before=$test_failed
	if [ -n "$_cleanup_hooks" ]; then
		eval "$_cleanup_hooks" >/dev/null 2>&1 || true
	fi
	# A hook that found a process hung (serve_stop, up_stop) records a
	# failed test: after the plan, so say it and fail the script.
	if [ "$test_failed" != "$_failed_before" ]; then
		echo "# a process did not end on SIGTERM at exit (see wait_end)" >&2
		[ "$status" != 0 ] || status=1
	fi
	if [ "${SS_KEEP_TEST_DIR:-}" = "" ] && [ "$test_failed" = 0 ]; then
		cd / && rm -rf "$TEST_DIR"
	else
		echo "# test dir kept: $TEST_DIR"
	fi
	exit $status
}
trap _test_exit EXIT
trap 'exit 130' INT TERM

say() { echo "# $*"; }

# No curl of a test waits for ever: one that hangs fails its test after
# two minutes (no request of the suite needs more, long polls included).
CURL_HOME=$TEST_DIR
export CURL_HOME
echo "max-time = 120" >"$TEST_DIR/.curlrc"

# wait_until WHAT SHELL-CONDITION [SECONDS]: evaluate the condition every
# 50 ms until it holds, for at most SECONDS (default 10); fails saying
# what it timed out waiting for.
wait_until() {
	_wu=0
	until eval "$2"; do
		_wu=$((_wu + 1))
		if [ $_wu -ge $((${3:-10} * 20)) ]; then
			echo "timed out waiting for $1" >&2
			return 1
		fi
		sleep 0.05
	done
}

# wait_end PID [TENTHS]: wait for PID, a child of this shell (so not from
# inside $(...)), to end and set st to its exit status. If it still runs
# after TENTHS tenths of a second (default 600), it is hung: it is killed
# (SIGKILL) and wait_end fails, rather than the suite waiting for ever.
wait_end() {
	_we=0
	while kill -0 "$1" 2>/dev/null &&
	      [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; do
		_we=$((_we + 1))
		if [ $_we -gt "${2:-600}" ]; then
			echo "pid $1 still running after $((${2:-600} / 10)) s: killed" >&2
			kill -9 "$1"
			wait "$1" 2>/dev/null
			st=137
			return 1
		fi
		sleep 0.1
	done
	st=0
	wait "$1" || st=$?
}

# wait_log FILE FROM PATTERN PID TENTHS: wait until a line of FILE after
# its first FROM lines matches PATTERN (grep), at most TENTHS tenths of a
# second; fails at once, showing the end of FILE, if process PID ends.
wait_log() {
	_wl=0
	until tail -n +$(($2 + 1)) "$1" 2>/dev/null | grep -q -- "$3"; do
		_wl=$((_wl + 1))
		if [ $_wl -gt "$5" ] || ! kill -0 "$4" 2>/dev/null; then
			echo "no '$3' in $1:" >&2
			tail -n 40 "$1" >&2
			return 1
		fi
		sleep 0.1
	done
}

# e2e_modules: make sure tests/e2e's node modules (the official client,
# pg, typescript) are installed, as .ci/run does with `npm ci`; the README's
# `make deps && make check` leaves it to the first test that needs them.
# Scripts run in parallel, so one installs while the others wait (flock).
# Sets E2E. Exits the script with a hint if npm cannot install them.
E2E=$TEST_SRC/e2e
e2e_modules() {
	(
		flock 9
		[ -d "$E2E/node_modules/@electric-sql/client" ] &&
		[ -d "$E2E/node_modules/pg" ] &&
		[ -x "$E2E/node_modules/.bin/tsc" ] &&
		[ -d "$E2E/node_modules/playwright-core" ] && exit 0
		npm ci --prefix "$E2E" --no-audit --no-fund >"$TEST_DIR/npm.log" 2>&1
	) 9>"$E2E/.install.lock" || {
		echo "# npm ci in tests/e2e failed:"
		sed 's/^/#   /' "$TEST_DIR/npm.log" | tail -n 20
		echo "# hint: run 'npm ci --prefix tests/e2e' (needs the npm registry)"
		exit 1
	}
}

# test_expect_success DESCRIPTION BODY
test_expect_success() {
	test_count=$((test_count + 1))
	_out="$TEST_DIR/.out.$test_count"
	if (eval "$2") >"$_out" 2>&1; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		# On stderr, which prove shows without -v: CI's log says why.
		sed 's/^/#   /' "$_out" | tail -n 40 >&2
	fi
	rm -f "$_out"
}

# test_expect_todo DESCRIPTION REASON BODY: a check of a known bug (TAP's
# TODO: prove counts a failure as expected and reports when it passes);
# its output on failure goes to stderr like a test's, so the log says
# how it failed. Never for a bug that is not in the closing note.
test_expect_todo() {
	test_count=$((test_count + 1))
	_out="$TEST_DIR/.out.$test_count"
	if (eval "$3") >"$_out" 2>&1; then
		echo "ok $test_count - $1 # TODO $2"
	else
		echo "not ok $test_count - $1 # TODO $2"
		sed 's/^/#   /' "$_out" | tail -n 40 >&2
	fi
	rm -f "$_out"
}

# test_skip DESCRIPTION REASON
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1 # SKIP $2"
}

# test_must_fail STATUS CMD...: CMD must exit with exactly STATUS (never by
# a signal). Its stderr is kept in $TEST_DIR/.stderr for test_stderr_has.
test_must_fail() {
	_want=$1
	shift
	_st=0
	"$@" 2>"$TEST_DIR/.stderr" || _st=$?
	if [ "$_st" != "$_want" ]; then
		echo "expected exit $_want, got $_st from: $*" >&2
		cat "$TEST_DIR/.stderr" >&2
		return 1
	fi
	return 0
}

# test_stderr_has PATTERN: the last test_must_fail's stderr matches (grep -E).
test_stderr_has() {
	if ! grep -E -q -- "$1" "$TEST_DIR/.stderr"; then
		echo "stderr does not match '$1':" >&2
		cat "$TEST_DIR/.stderr" >&2
		return 1
	fi
}

# test_cmp EXPECTED ACTUAL: files are identical (shows a diff otherwise).
test_cmp() {
	diff -u "$1" "$2"
}

# test_eq EXPECTED ACTUAL: two strings are equal.
test_eq() {
	if [ "$1" != "$2" ]; then
		echo "expected: '$1'" >&2
		echo "  actual: '$2'" >&2
		return 1
	fi
}

test_done() {
	echo "1..$test_count"
	if [ "$test_failed" != 0 ]; then
		echo "# failed $test_failed of $test_count"
		exit 1
	fi
	exit 0
}
