#!/bin/sh
# make deb: the Debian package installs into a fresh root with dpkg (no
# container: dpkg --root on an empty dpkg database), its Depends are met
# by this machine, its systemd units pass systemd-analyze verify, and the
# service starts the way systemd starts it: the unit's EnvironmentFile=
# and ExecStart= read from the installed unit and run with a
# $NOTIFY_SOCKET the test binds (Type=notify: READY=1 once serve answers,
# STOPPING=1 on SIGTERM, nothing from the stages). systemd is not asked
# to start anything: in a test it must not touch the host's services, and
# here it may not even be PID 1. Then /v1/health and a shape answer, the
# operator's page is on ELECTRIC_PROMETHEUS_PORT set in the env file, the
# compact unit's command runs, and man finds the package's pages.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

unset MAKEFLAGS MFLAGS MAKELEVEL
R=$TEST_DIR/root
UNITS=$R/lib/systemd/system

test_expect_success 'make deb builds a package' '
	make -s -C "$SS_ROOT" ${SS_MAKE_VARS:-BUILD=$SS_BUILD} deb >out 2>err ||
		{ cat out err; false; } &&
	deb=$(tail -n 1 out) && case $deb in /*) ;; *) deb=$SS_ROOT/$deb ;; esac &&
	test -f "$deb" && echo "$deb" >deb.path &&
	dpkg-deb -f "$deb" Package Version Architecture >fields &&
	grep -qx "Package: shapesync" fields &&
	grep -qx "Architecture: $(dpkg --print-architecture)" fields
'
deb=$(cat deb.path 2>/dev/null)

test_expect_success 'it holds the programs, man pages, completions, units, config and nginx example' '
	dpkg-deb -c "$deb" | awk "{ print \$6 }" | sed "s|^\./|/|" >files &&
	for p in $(ls "$SS_BUILD/bin"); do
		grep -qx "/usr/bin/$p" files &&
		grep -qx "/usr/share/man/man1/$p.1.gz" files &&
		grep -qx "/usr/share/bash-completion/completions/$p" files ||
		{ echo "$p: missing" >&2; return 1; }
	done &&
	for f in /usr/share/man/man5/shapesync-frames.5.gz \
		/usr/share/zsh/site-functions/_shapesync \
		/lib/systemd/system/shapesync-up.service \
		/lib/systemd/system/shapesync-compact.service \
		/lib/systemd/system/shapesync-compact.timer \
		/etc/shapesync/shapesync.env \
		/usr/share/doc/shapesync/copyright \
		/usr/share/doc/shapesync/examples/nginx/shapesync.conf \
		/usr/share/doc/shapesync/examples/nginx/shapesync-http2.conf; do
		grep -qx "$f" files || { echo "$f: missing" >&2; return 1; }
	done &&
	dpkg-deb -I "$deb" conffiles >conffiles &&
	test_eq /etc/shapesync/shapesync.env "$(cat conffiles)"
'

test_expect_success 'its Depends are met on this machine (dpkg --no-act)' '
	dpkg-deb -f "$deb" Depends >depends &&
	grep -q libpq5 depends && grep -q libsqlite3-0 depends &&
	grep -q libjansson4 depends && grep -q libmicrohttpd12 depends &&
	dpkg --no-act -i "$deb" >out 2>&1 || { cat out; false; }
'

test_expect_success 'dpkg installs it into a fresh root' '
	mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" &&
	: >"$R/var/lib/dpkg/status" &&
	dpkg --root="$R" --force-not-root --force-depends -i "$deb" >out 2>&1 ||
		{ cat out; false; } &&
	dpkg --root="$R" -s shapesync >status &&
	grep -qx "Status: install ok installed" status &&
	test -x "$R/usr/bin/shapesync-up" &&
	test_eq 640 "$(stat -c %a "$R/etc/shapesync/shapesync.env")"
'

test_expect_success 'the units pass systemd-analyze verify' '
	# A copy of the root with the host'\''s targets and slices, which
	# the units reach through the default dependencies.
	cp -a "$R" vroot && mkdir -p vroot/etc/systemd/system &&
	cp -a /lib/systemd/system/*.target /lib/systemd/system/*.slice \
		vroot/lib/systemd/system/ &&
	systemd-analyze verify --man=no --root="$TEST_DIR/vroot" \
		/lib/systemd/system/shapesync-up.service \
		/lib/systemd/system/shapesync-compact.service \
		/lib/systemd/system/shapesync-compact.timer >out 2>&1 ||
		{ cat out; false; } &&
	{ ! test -s out || { cat out; false; }; }
'

# unit_key UNIT KEY: the value of KEY= in the installed UNIT.
unit_key() {
	sed -n "s/^$2=//p" "$UNITS/$1"
}
# in_root WORDS...: the words with every absolute path moved into $R, as
# a chroot would see them (the binaries keep this machine's libraries).
in_root() {
	for _w in "$@"; do
		case $_w in /*) printf '%s\n' "$R$_w" ;; *) printf '%s\n' "$_w" ;; esac
	done
}
# unit_env UNIT: its EnvironmentFile= as NAME=VALUE lines (comments and
# blank lines dropped, as systemd reads it).
unit_env() {
	grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$R$(unit_key "$1" EnvironmentFile)"
}
# run_unit UNIT: its ExecStart= in the foreground, in systemd's service
# environment: systemd's default PATH, the EnvironmentFile's variables
# and NOTIFY_SOCKET for Type=notify; nothing of this shell's. It replaces
# the shell it runs in (call it in a subshell or with &), so that $! is
# the service's main process.
run_unit() {
	exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 $(unit_env "$1") \
		${NOTIFY:+NOTIFY_SOCKET=$NOTIFY} \
		$(in_root $(unit_key "$1" ExecStart))
}

pg_start
pg_psql "CREATE TABLE items (id int PRIMARY KEY, title text)" \
	"INSERT INTO items VALUES (1, 'one'), (2, 'two')"
free_port() {
	node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
		() => { console.log(s.address().port); s.close(); })'
}
PORT=$(free_port)
MPORT=$(free_port)

say "PID 1 here is $(cat /proc/1/comm); systemd is not asked to start anything"
test_expect_success 'the unit as shipped: Type=notify, the env file, state dir, no compaction of its own' '
	test_eq notify "$(unit_key shapesync-up.service Type)" &&
	test_eq /etc/shapesync/shapesync.env "$(unit_key shapesync-up.service EnvironmentFile)" &&
	test_eq shapesync "$(unit_key shapesync-up.service StateDirectory)" &&
	test_eq "/usr/bin/shapesync up --dir /var/lib/shapesync --compact-interval 0" \
		"$(unit_key shapesync-up.service ExecStart)" &&
	test_eq 10min "$(unit_key shapesync-compact.timer OnUnitActiveSec)"
'

test_expect_success 'the operator edits /etc/shapesync/shapesync.env' '
	{
		echo "DATABASE_URL=$DATABASE_URL" &&
		echo "ELECTRIC_PORT=$PORT" &&
		echo "ELECTRIC_PROMETHEUS_PORT=$MPORT"
	} >>"$R/etc/shapesync/shapesync.env" &&
	unit_env shapesync-up.service >env &&
	test_eq 3 "$(wc -l <env)"
'

# What systemd does before ExecStart: the StateDirectory=, and the notify
# socket it listens on.
mkdir -p -m 0750 "$R/var/lib/$(unit_key shapesync-up.service StateDirectory)"
NOTIFY=$TEST_DIR/notify.sock
perl "$TEST_SRC/notify-listen.pl" "$NOTIFY" notified &
LISTEN_PID=$!
test_at_exit 'kill $LISTEN_PID'
wait_until "the notify socket" 'grep -q listening notified 2>/dev/null' 30
export NOTIFY
run_unit shapesync-up.service >up.out 2>up.log &
UP_PID=$!
test_at_exit 'kill $UP_PID'

test_expect_success 'READY=1 comes once serve answers, from up alone' '
	wait_until "READY=1 on the notify socket" "grep -q ^READY=1 notified" 300 &&
	printf "listening\n--\nREADY=1\nSTATUS=serving shapes\n--\n" >want &&
	test_cmp want notified &&
	grep -q "shapesync-up: ready: shapes at http://127.0.0.1:$PORT/v1/shape" up.log &&
	test_eq 200 "$(curl -s -o /dev/null -w "%{http_code}" \
		"http://127.0.0.1:$PORT/v1/shape?table=items&offset=-1")"
'

test_expect_success '/v1/health answers active' '
	wait_until "health 200" "test \"\$(curl -s -o health -w %{http_code} \
		http://127.0.0.1:$PORT/v1/health)\" = 200" 60 &&
	test_eq "{\"status\":\"active\"}" "$(cat health)"
'

test_expect_success 'the operator'\''s page and /metrics on ELECTRIC_PROMETHEUS_PORT' '
	test_eq 200 "$(curl -s -o page.html -w "%{http_code}" "http://127.0.0.1:$MPORT/")" &&
	grep -q "<title>shapesync</title>" page.html &&
	curl -s "http://127.0.0.1:$MPORT/metrics" >metrics &&
	grep -q "^shapesync_health_status{status=\"active\"} 1$" metrics
'

test_expect_success 'the state is in the root'\''s /var/lib/shapesync' '
	test -f "$R/var/lib/shapesync/registry.db" &&
	test -d "$R/var/lib/shapesync/data"
'

test_expect_success 'the compact unit'\''s command runs on that state' '
	(NOTIFY= run_unit shapesync-compact.service) >out 2>err ||
		{ cat out err; false; } &&
	test_eq oneshot "$(unit_key shapesync-compact.service Type)" &&
	{ ! test -s out || { cat out; false; }; }
'

# systemctl stop: SIGTERM to the main process (KillMode=mixed), then wait.
kill -TERM $UP_PID
wait_end $UP_PID 600
echo $st >up.exit
test_expect_success 'systemctl stop (SIGTERM): STOPPING=1, exit 0' '
	test_eq 0 "$(cat up.exit)" &&
	printf "STOPPING=1\n--\n" >>want &&
	test_cmp want notified
'

test_expect_success 'man shapesync works from the package'\''s pages' '
	MANPAGER=cat MANWIDTH=80 man -M "$R/usr/share/man" shapesync >page 2>err &&
	grep -q "^NAME" page && grep -q "shapesync *- *keep *filtered" page &&
	MANPAGER=cat MANWIDTH=80 man -M "$R/usr/share/man" shapesync-up >page 2>err &&
	grep -q "shapesync-up *- *run" page &&
	MANPAGER=cat MANWIDTH=80 man -M "$R/usr/share/man" 5 shapesync-frames >page &&
	grep -q "^NAME" page
'

test_done
