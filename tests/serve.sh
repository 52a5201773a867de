# tests/serve.sh — start shapesync-serve for a test script (source it after
# lib.sh and pg.sh, at the top level of the script).
#
#   serve_start [OPTION...]  init the registry and data dir if missing and
#                            start shapesync-serve on a free port (with
#                            --insecure unless --secret is given); sets SERVE_PID and SERVE_URL
#                            (http://127.0.0.1:PORT). Its stderr goes to
#                            $TEST_DIR/serve.log. Stopped at exit.
#   serve_stop               SIGTERM and wait (at the top level of the
#                            script: the server is its child); the exit
#                            status also goes to $TEST_DIR/serve.exit.
#   get PATH-AND-QUERY [CURL-ARG...]
#                            GET $SERVE_URL/...: headers to ./h, body to ./b,
#                            prints the status code.
#   hdr NAME                 value of header NAME in ./h (lowercase name).

SS_REGISTRY=$TEST_DIR/registry.db
SS_DATA=$TEST_DIR/data
export SS_REGISTRY SS_DATA

serve_start() {
	[ -f "$SS_REGISTRY" ] || shapesync-db --registry "$SS_REGISTRY" \
		--dir "$SS_DATA" init >/dev/null || return 1
	: >"$TEST_DIR/serve.log"
	case " $* " in
	*" --secret "*) _sec= ;;
	*) _sec=--insecure ;;
	esac
	shapesync-serve --registry "$SS_REGISTRY" --dir "$SS_DATA" --port 0 \
		$_sec "$@" 2>>"$TEST_DIR/serve.log" &
	SERVE_PID=$!
	_i=0
	while ! grep -q 'listening on' "$TEST_DIR/serve.log"; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ] || ! kill -0 $SERVE_PID 2>/dev/null; then
			echo "serve did not start:" >&2
			cat "$TEST_DIR/serve.log" >&2
			return 1
		fi
		sleep 0.05
	done
	SERVE_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$TEST_DIR/serve.log" | tail -n 1)
	export SERVE_URL SERVE_PID
}

serve_stop() {
	[ -n "${SERVE_PID:-}" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
	_st=$?
	echo $_st >"$TEST_DIR/serve.exit"
	SERVE_PID=
	return $_st
}
test_at_exit 'serve_stop'

get() {
	_path=$1
	shift
	rm -f b h
	curl -g -s -o b -D h -w '%{http_code}' "$@" "$SERVE_URL$_path"
	[ -f b ] || : >b
}

hdr() {
	tr -d '\r' <h | awk -v n="$1" 'BEGIN { IGNORECASE = 1 }
		{ i = index($0, ":"); k = tolower(substr($0, 1, i - 1)) }
		k == n { v = substr($0, i + 1); sub(/^[ \t]+/, "", v)
			 sub(/[ \t]+$/, "", v); print v; f = 1 }
		END { exit !f }'
}
