# tests/serve.sh — start shapesync-serve for a test script (source it after
# lib.sh and pg.sh, at the top level of the script).
#
#   serve_start [OPTION...]  init the registry and data dir if missing and
#                            start shapesync-serve on a free port (with
#                            --insecure unless --secret is given); sets SERVE_PID and SERVE_URL
#                            (http://127.0.0.1:PORT). Its stderr goes to
#                            $TEST_DIR/serve.log. Stopped at exit.
#   serve_stop               SIGTERM and wait_end (at the top level of the
#                            script: the server is its child); the exit
#                            status also goes to $TEST_DIR/serve.exit.
#   get PATH-AND-QUERY [CURL-ARG...]
#                            GET $SERVE_URL/...: headers to ./h, body to ./b,
#                            prints the status code.
#   raw FILE                 send FILE as it is as the request (bash
#                            /dev/tcp), reading the answer while it is
#                            written (serve may answer and close before it
#                            has read it all): the answer to ./out, its
#                            status line (no CR) printed; a read that waits
#                            over 20 s fails.
#   body                     the body of the answer raw put in ./out.
#   hdr NAME                 value of header NAME in ./h (lowercase name).
#   shape_ops QUERY          walk the shape of QUERY (e.g. table=items&where=...)
#                            from offset -1 until up-to-date, not live: one
#                            "<operation> <id>" line per change to ./ops,
#                            the handle to ./handle.

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
	wait_log "$TEST_DIR/serve.log" 0 'listening on' $SERVE_PID 100 || return 1
	SERVE_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$TEST_DIR/serve.log" | tail -n 1)
	export SERVE_URL SERVE_PID
}

serve_stop() {
	[ -n "${SERVE_PID:-}" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null
	wait_end "$SERVE_PID" ||
		test_expect_success "serve ends on SIGTERM (it hung)" false
	echo $st >"$TEST_DIR/serve.exit"
	SERVE_PID=
	return $st
}
test_at_exit 'serve_stop'

get() {
	_path=$1
	shift
	rm -f b h
	curl -g -s -o b -D h -w '%{http_code}' "$@" "$SERVE_URL$_path"
	[ -f b ] || : >b
}

raw() {
	bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 || exit 1
		cat "$2" >&3 2>/dev/null &
		timeout 20 cat <&3; s=$?; wait; exit $s' _ "${SERVE_URL##*:}" "$1" >out ||
		return 1
	head -n 1 out | tr -d '\r'
}

body() { sed '1,/^\r$/d' out; }

hdr() {
	tr -d '\r' <h | awk -v n="$1" 'BEGIN { IGNORECASE = 1 }
		{ i = index($0, ":"); k = tolower(substr($0, 1, i - 1)) }
		k == n { v = substr($0, i + 1); sub(/^[ \t]+/, "", v)
			 sub(/[ \t]+$/, "", v); print v; f = 1 }
		END { exit !f }'
}

shape_ops() {
	: >ops
	_off=-1 _h=
	while :; do
		_code=$(get "/v1/shape?$1&offset=$_off${_h:+&handle=$_h}")
		test_eq 200 "$_code" || { cat b >&2; return 1; }
		_h=$(hdr electric-handle) && _off=$(hdr electric-offset) || return 1
		node -e '
			const b = JSON.parse(require("fs").readFileSync("b", "utf8"));
			for (const m of b) if (m.headers.operation)
				console.log(m.headers.operation + " " + m.value.id);
		' >>ops || return 1
		grep -q '"control":"up-to-date"' b && break
	done
	echo "$_h" >handle
}
