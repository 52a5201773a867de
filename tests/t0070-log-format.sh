#!/bin/sh
# Diagnostics in one format for every program (lib/logline, cmd/cli.c):
# the house text form unchanged by default, one JSON object per line with
# --log-format=json or $SHAPESYNC_LOG_FORMAT, and --log-level or
# $ELECTRIC_LOG_LEVEL leaving out what is below the level. lib/envconf's
# unit test (Electric's environment value forms) runs here too.
. "$(dirname "$0")/lib.sh"

test_expect_success 'logline unit tests' '
	"$SS_BUILD/tests/test-logline"
'

test_expect_success 'envconf unit tests' '
	"$SS_BUILD/tests/test-envconf"
'

test_expect_success 'text is the house form: error, then hint, no timestamp' '
	test_must_fail 1 shapesync-db --registry nope.db ls && cp "$TEST_DIR/.stderr" err &&
	cat >expect <<-\EOT &&
	shapesync-db: error: registry '"'"'nope.db'"'"' does not exist
	hint: run '"'"'shapesync-db init'"'"' first, or check --registry and $SHAPESYNC_REGISTRY
	EOT
	test_cmp expect err
'

# check_json FILE PROGRAM LEVEL MSG [HINT]: FILE is one JSON object with
# exactly these fields, ts in RFC 3339 UTC.
check_json() {
	test_eq 1 "$(wc -l <"$1")" &&
	jq -e --arg p "$2" --arg l "$3" --arg m "$4" --arg h "${5:-}" '
		(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$")) and
		.program == $p and .level == $l and .msg == $m and
		(.pid | type) == "number" and .pid > 0 and
		(if $h == "" then has("hint") | not else .hint == $h end) and
		(has("detail") | not) and
		(keys - ["ts","level","program","pid","msg","hint"] == [])
	' "$1" >/dev/null
}

test_expect_success '--log-format=json: one object with ts, level, program, pid, msg, hint' '
	test_must_fail 1 shapesync-db --log-format=json --registry nope.db ls &&
	cp "$TEST_DIR/.stderr" err &&
	check_json err shapesync-db error "registry '"'"'nope.db'"'"' does not exist" \
		"run '"'"'shapesync-db init'"'"' first, or check --registry and \$SHAPESYNC_REGISTRY"
'

test_expect_success '$SHAPESYNC_LOG_FORMAT=json does the same; the option wins over it' '
	test_must_fail 1 env SHAPESYNC_LOG_FORMAT=json shapesync-route --registry nope.db </dev/null &&
	cp "$TEST_DIR/.stderr" err &&
	check_json err shapesync-route error "registry '"'"'nope.db'"'"' does not exist" \
		"run '"'"'shapesync-db init'"'"' first, or check --registry and \$SHAPESYNC_REGISTRY" &&
	test_must_fail 1 env SHAPESYNC_LOG_FORMAT=json shapesync-route --log-format=text \
		--registry nope.db </dev/null &&
	test_stderr_has "^shapesync-route: error: registry"
'

test_expect_success 'usage errors in json carry the --help hint in the same object' '
	for p in replicate route store serve up; do
		test_must_fail 2 shapesync-$p --log-format json --no-such &&
		cp "$TEST_DIR/.stderr" err &&
		check_json err shapesync-$p error "unknown option '"'"'--no-such'"'"'" \
			"try '"'"'shapesync-$p --help'"'"' for more information" || return 1
	done
'

test_expect_success 'bad values are usage errors naming the option or variable' '
	test_must_fail 2 env SHAPESYNC_LOG_FORMAT=xml shapesync-store </dev/null &&
	test_stderr_has "^shapesync-store: error: invalid \\\$SHAPESYNC_LOG_FORMAT '"'"'xml'"'"': must be '"'"'text'"'"' or '"'"'json'"'"'\$" &&
	test_must_fail 2 env ELECTRIC_LOG_LEVEL=loud shapesync-serve &&
	test_stderr_has "^shapesync-serve: error: invalid \\\$ELECTRIC_LOG_LEVEL '"'"'loud'"'"'" &&
	test_must_fail 2 shapesync-replicate --log-level=verbose &&
	test_stderr_has "^shapesync-replicate: error: invalid --log-level '"'"'verbose'"'"'"
'

free_port() {
	node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
		() => { console.log(s.address().port); s.close(); })'
}

# serve_run ENV...: serve on a free port until it answers, then SIGTERM;
# its stderr in serve.err. threads=1 makes libmicrohttpd warn once.
threads=2
serve_run() {
	shapesync-db --registry r.db --dir data init >/dev/null 2>&1
	port=$(free_port) || return 1
	env "$@" shapesync-serve --registry r.db --dir data --port $port --insecure \
		--database-url "postgresql://127.0.0.1:1/none" --threads $threads 2>serve.err &
	pid=$! &&
	wait_until "serve on $port" "curl -s -o /dev/null http://127.0.0.1:$port/" &&
	kill -TERM $pid && wait_end $pid && test_eq 0 "$st"
}

test_expect_success 'info lines in json have level info' '
	serve_run SHAPESYNC_LOG_FORMAT=json &&
	check_json serve.err shapesync-serve info "listening on http://127.0.0.1:$port"
'

test_expect_success 'ELECTRIC_LOG_LEVEL=warning leaves info lines out, keeps warnings' '
	serve_run ELECTRIC_LOG_LEVEL=warning &&
	test_eq 0 "$(wc -c <serve.err)" &&
	threads=1 && serve_run ELECTRIC_LOG_LEVEL=warn && threads=2 &&
	test_eq 1 "$(wc -l <serve.err)" &&
	grep -q "^shapesync-serve: warning: http: Warning: \"1\", specified for thread pool size" serve.err
'

test_expect_success 'ELECTRIC_LOG_LEVEL=error leaves warnings out' '
	threads=1 && serve_run ELECTRIC_LOG_LEVEL=error && threads=2 &&
	test_eq 0 "$(wc -c <serve.err)"
'

test_expect_success 'ELECTRIC_LOG_LEVEL=debug and =info keep them' '
	serve_run ELECTRIC_LOG_LEVEL=debug &&
	test_eq "shapesync-serve: listening on http://127.0.0.1:$port" "$(cat serve.err)" &&
	serve_run ELECTRIC_LOG_LEVEL=notice &&
	test_eq "shapesync-serve: listening on http://127.0.0.1:$port" "$(cat serve.err)"
'

test_expect_success '--log-level=error keeps errors' '
	test_must_fail 1 env ELECTRIC_LOG_LEVEL=debug shapesync-db --registry nope.db \
		--log-level=error ls &&
	test_eq 2 "$(wc -l <"$TEST_DIR/.stderr")"
'

test_done
