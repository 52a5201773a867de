# tests/nginx.sh — nginx in front of serve for a test script, with a
# config from the repository (source it after lib.sh, at the top level of
# the script).
#
#   nginx_start CONF [SED-EXPR...]
#       run nginx in the foreground as our child with CONF, a file for the
#       http {} block such as deploy/nginx/shapesync.conf. Only its lines
#       marked "# SITE:" are rewritten: the cache dir, the access log and
#       the listen port by nginx_start, the upstream servers by the
#       SED-EXPRs (one line each; @NGINX_PORT@ in them is the port
#       nginx_start picks). It fails unless exactly those lines differ
#       from CONF. Around it goes a minimal nginx.conf of the
#       test's own: pid, temp paths and error log under $NGX
#       ($TEST_DIR/nginx), one worker, and a stub_status server.
#       Sets NGINX_PID, NGINX_URL (http://127.0.0.1:PORT) and
#       NGINX_STATUS_URL. Stopped at exit.
#   nginx_stop
#   nget PATH-AND-QUERY [CURL-ARG...]
#       like serve.sh's get, through nginx: headers to ./h, body to ./b,
#       prints the status code.

NGINX=${NGINX:-/usr/sbin/nginx}
NGX=$TEST_DIR/nginx

nginx_start() {
	[ -x "$NGINX" ] || {
		echo "nginx not found at '$NGINX' (install nginx-light with 'make deps')" >&2
		return 1
	}
	_conf=$1
	shift
	mkdir -p "$NGX/cache" "$NGX/tmp" "$NGX/logs" || return 1
	printf '%s\n' "$@" >"$NGX/site.sed.in"
	_want=$(($# + 3))
	_try=0
	while :; do
		_port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		sed "s/@NGINX_PORT@/$_port/g" "$NGX/site.sed.in" >"$NGX/site.sed" || return 1
		sed -e "s|^\(proxy_cache_path \)[^ ]*\( .*# SITE: cache dir\)$|\1$NGX/cache\2|" \
		    -e "s|^\(    access_log \)[^ ]*\( .*# SITE: log\)$|\1$NGX/access.log\2|" \
		    -e "s|^\(    listen \)[^ ;]*\(;.*# SITE: where clients connect\)$|\1127.0.0.1:$_port\2|" \
		    -f "$NGX/site.sed" "$_conf" >"$NGX/site.conf" || return 1
		_got=$(diff "$_conf" "$NGX/site.conf" | grep -c '^>')
		if [ "$_got" != "$_want" ]; then
			echo "nginx_start: $_got lines of '$_conf' rewritten, not $_want:" >&2
			diff "$_conf" "$NGX/site.conf" >&2
			return 1
		fi
		{
			if [ "$(id -u)" = 0 ]; then
				# Workers write the cache; as root they would run
				# as nobody, who may not enter $TEST_DIR.
				echo "user root root;"
			fi
			echo "pid $NGX/nginx.pid;"
			echo "error_log $NGX/error.log info;"
			echo "worker_processes 1;"
			echo "events { worker_connections 512; }"
			echo "http {"
			for _t in client_body proxy fastcgi uwsgi scgi; do
				echo "    ${_t}_temp_path $NGX/tmp/$_t;"
			done
			echo "    include $NGX/site.conf;"
			echo "    server {"
			echo "        listen 127.0.0.1:$((_port + 1));"
			echo "        access_log off;"
			echo "        location / { stub_status; }"
			echo "    }"
			echo "}"
		} >"$NGX/nginx.conf"
		"$NGINX" -t -q -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" || return 1
		: >"$NGX/error.log"
		"$NGINX" -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" \
			-g 'daemon off;' 2>>"$NGX/error.log" &
		NGINX_PID=$!
		NGINX_STATUS_URL=http://127.0.0.1:$((_port + 1))/
		_i=0
		while [ $_i -lt 100 ] && kill -0 $NGINX_PID 2>/dev/null &&
			! curl -s -o /dev/null "$NGINX_STATUS_URL"; do
			_i=$((_i + 1))
			sleep 0.05
		done
		curl -s -o /dev/null "$NGINX_STATUS_URL" && break
		nginx_stop
		_try=$((_try + 1))
		if [ $_try -ge 5 ] || ! grep -q 'in use' "$NGX/error.log"; then
			echo "nginx did not start:" >&2
			cat "$NGX/error.log" >&2
			return 1
		fi
	done
	NGINX_URL=http://127.0.0.1:$_port
	export NGINX_URL
	say "nginx $NGINX_URL, logs in $NGX"
}

nginx_stop() {
	[ -n "${NGINX_PID:-}" ] || return 0
	kill -QUIT "$NGINX_PID" 2>/dev/null
	wait_end "$NGINX_PID" ||
		test_expect_success "nginx ends on SIGQUIT (it hung)" false
	NGINX_PID=
}
test_at_exit nginx_stop

# nget PATH-AND-QUERY [CURL-ARG...]: get (serve.sh) through nginx.
nget() {
	_ng_serve=${SERVE_URL:-}
	SERVE_URL=$NGINX_URL
	get "$@"
	_ng_st=$?
	SERVE_URL=$_ng_serve
	return $_ng_st
}
