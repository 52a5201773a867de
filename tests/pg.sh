# tests/pg.sh — throwaway PostgreSQL clusters for the shell tests.
#
# Source it after lib.sh, then start a cluster at the top level of the
# script (not inside a test body: pg_start exports the connection settings
# and those would be lost with the body's subshell):
#
#   . "$(dirname "$0")/lib.sh"
#   . "$TEST_SRC/pg.sh"        # lib.sh has moved to $TEST_DIR
#   pg_start 'wal_sender_timeout = 5s'
#   test_expect_success 'sees the table' '
#       pg_psql "CREATE TABLE t (id int PRIMARY KEY)" &&
#       test_eq t "$(pg_psql "SELECT relname FROM pg_class WHERE relname = '\''t'\''")"
#   '
#   test_done
#
# Functions:
#   pg_start [CONF-LINE...]  initdb + start a cluster in $TEST_DIR/pg (then
#                            pg2, pg3, ... for further calls); CONF-LINEs are
#                            appended to postgresql.conf. Makes the database
#                            shapesync_test and makes this cluster current.
#   pg_use DIR               make the cluster in DIR current again.
#   pg_psql [SQL...]         run each SQL argument as one statement (or the
#                            script on stdin when none) on the current
#                            cluster: psql -X -q -At, autocommit, stopping
#                            at the first error (psql's exit status 3).
#   pg_stop                  stop the current cluster (fast shutdown).
#   pg_restart               start it again (after pg_stop or pg_kill9; a
#                            running cluster is stopped first).
#   pg_kill9                 SIGKILL the postmaster and wait for every
#                            backend to go: a crash, for recovery tests.
#   pg_pid                   print the postmaster's pid.
#
# The current cluster is described by PGHOST, PGPORT, PGDATABASE, PGUSER and
# DATABASE_URL (a libpq URI), all exported for the programs under test, and
# by PG_DIR (its directory and socket directory), PG_DATA (data directory)
# and PG_LOG (server log; the test dir is kept when a test fails, so look
# there). PG_BINDIR selects the server binaries (default PostgreSQL 15 from
# Debian). When the binaries are missing pg_start fails the script: a test
# that needs PostgreSQL never passes without it.
#
# PostgreSQL refuses to run as root, so when the tests run as root the
# server side (initdb, pg_ctl, the data directory) belongs to the `postgres`
# user; clients connect as database user postgres through the socket.
# Every cluster listens on a Unix socket in its own directory only, so
# clusters of concurrent scripts cannot meet. Ports are hashed from that
# directory, so concurrent scripts rarely share one (harmless if they do),
# and the clusters of one script never do.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
_pg_clusters="$TEST_DIR/.pg-clusters"

# Run a server-side command as the cluster owner.
_pg_as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

_pg_fail() {
	echo "# pg.sh: error: $*"
	echo "pg.sh: error: $*" >&2
	exit 1
}

# Percent-encode a path for the host parameter of a libpq URI.
_pg_uri_escape() {
	printf '%s' "$1" | LC_ALL=C awk '
		BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i }
		{
			for (i = 1; i <= length($0); i++) {
				c = substr($0, i, 1)
				if (c ~ /[A-Za-z0-9._~\/-]/)
					printf "%s", c
				else
					printf "%%%02X", ord[c]
			}
		}'
}

# A port from the directory name, moved past ports this script already uses.
_pg_pick_port() {
	_p=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
	_p=$((20000 + _p % 20000))
	while grep -q "^$_p " "$_pg_clusters" 2>/dev/null ||
		[ -e "$1/.s.PGSQL.$_p" ]; do
		_p=$((_p + 1))
	done
	echo "$_p"
}

_pg_export() {
	PG_DIR=$1
	PG_DATA=$1/data
	PG_LOG=$1/postgresql.log
	PGHOST=$1
	PGPORT=$2
	PGDATABASE=shapesync_test
	PGUSER=postgres
	DATABASE_URL="postgresql://postgres@/shapesync_test?host=$(_pg_uri_escape "$1")&port=$2"
	export PGHOST PGPORT PGDATABASE PGUSER DATABASE_URL PG_DIR PG_DATA PG_LOG
}

# pg_use DIR: make an already started cluster the current one.
pg_use() {
	if [ -f "$_pg_clusters" ]; then
		while read -r _p _d; do
			if [ "$_d" = "$1" ]; then
				_pg_export "$_d" "$_p"
				return 0
			fi
		done <"$_pg_clusters"
	fi
	echo "pg_use: no cluster in '$1'" >&2
	return 1
}

pg_start() {
	for _b in initdb pg_ctl postgres; do
		[ -x "$PG_BINDIR/$_b" ] ||
			_pg_fail "PostgreSQL server binary '$PG_BINDIR/$_b' not found" \
				"(install postgresql-15 with 'make deps', or set PG_BINDIR)"
	done
	command -v psql >/dev/null || _pg_fail "psql not found on PATH"
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 ||
			_pg_fail "running as root but there is no 'postgres' user to run the server"
	fi

	_n=1 _dir="$TEST_DIR/pg"
	while [ -e "$_dir" ]; do
		_n=$((_n + 1)) _dir="$TEST_DIR/pg$_n"
	done
	mkdir "$_dir" || _pg_fail "could not create '$_dir'"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$_dir" || _pg_fail "could not chown '$_dir'"
		_pg_as_owner test -w "$_dir" ||
			_pg_fail "user postgres cannot write to '$_dir' (is a parent directory private?)"
	fi

	LC_ALL=C _pg_as_owner "$PG_BINDIR/initdb" -D "$_dir/data" -U postgres \
		--auth=trust -E UTF8 --locale=C --no-sync >"$_dir/initdb.log" 2>&1 || {
		sed 's/^/# /' "$_dir/initdb.log"
		_pg_fail "initdb failed in '$_dir' (log above)"
	}

	_sockdir=$(printf '%s' "$_dir" | sed "s/'/''/g")
	{
		echo "# added by tests/pg.sh"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$_sockdir'"
		echo "wal_level = logical"
		echo "max_replication_slots = 10"
		echo "max_wal_senders = 10"
		echo "fsync = off"
		echo "log_line_prefix = '%m [%p] %q%a '"
		for _line in "$@"; do
			echo "$_line"
		done
	} | _pg_as_owner tee -a "$_dir/data/postgresql.conf" >/dev/null

	# The socket directory is ours alone, so a clash can only come from a
	# port this script already took; retry a few ports anyway in case the
	# server finds something else in its way (a stale lock file).
	_try=0
	while :; do
		_port=$(_pg_pick_port "$_dir")
		if LC_ALL=C _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$_dir/data" \
			-l "$_dir/postgresql.log" -o "-p $_port" -w -t 60 start \
			>"$_dir/pg_ctl.log" 2>&1; then
			break
		fi
		_try=$((_try + 1))
		if [ $_try -ge 3 ] || ! grep -q -e 'lock file' -e 'already in use' \
			"$_dir/postgresql.log" 2>/dev/null; then
			sed 's/^/# /' "$_dir/pg_ctl.log" "$_dir/postgresql.log" 2>/dev/null | tail -n 30
			_pg_fail "could not start PostgreSQL in '$_dir' (log: $_dir/postgresql.log)"
		fi
	done
	# The port goes into postgresql.conf so pg_restart and plain pg_ctl
	# bring the cluster back where clients expect it.
	echo "port = $_port" | _pg_as_owner tee -a "$_dir/data/postgresql.conf" >/dev/null
	echo "$_port $_dir" >>"$_pg_clusters"
	_pg_export "$_dir" "$_port"
	say "postgres $_dir port $_port, log $PG_LOG"

	psql -X -q -d postgres -c "CREATE DATABASE shapesync_test" ||
		_pg_fail "could not create database shapesync_test (log: $PG_LOG)"
}

pg_psql() {
	if [ $# = 0 ]; then
		psql -X -q -v ON_ERROR_STOP=1 -At
	else
		# The ';' on a line of its own survives a trailing -- comment.
		for _sql in "$@"; do
			printf '%s\n;\n' "$_sql"
		done | psql -X -q -v ON_ERROR_STOP=1 -At
	fi
}

pg_pid() {
	head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null
}

pg_stop() {
	LC_ALL=C _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 \
		stop >/dev/null
}

pg_restart() {
	if _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
		pg_stop || return 1
	fi
	LC_ALL=C _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" \
		-w -t 60 start >/dev/null || {
		echo "pg_restart: could not start PostgreSQL (log: $PG_LOG)" >&2
		tail -n 20 "$PG_LOG" >&2
		return 1
	}
}

# The pids whose parent is $1 (procps may not be installed: read /proc).
_pg_children() {
	for _stat in /proc/[0-9]*/stat; do
		# Field 4 is the parent; the command in field 2 may hold spaces,
		# so cut everything up to its closing parenthesis first.
		sed -n 's/^\([0-9]*\) (.*) [A-Za-z] \([0-9]*\) .*/\1 \2/p' \
			"$_stat" 2>/dev/null
	done | awk -v p="$1" '$2 == p { print $1 }'
}

# A process is alive until it exits; a zombie (its parent, maybe pid 1 of a
# container, has not reaped it yet) no longer holds anything.
_pg_alive() {
	[ -r "/proc/$1/stat" ] || return 1
	! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}

pg_kill9() {
	_pm=$(pg_pid)
	[ -n "$_pm" ] || { echo "pg_kill9: no postmaster.pid in $PG_DATA" >&2; return 1; }
	_kids=$(_pg_children "$_pm")
	kill -9 "$_pm" || return 1
	# A new postmaster refuses to start while old backends still hold the
	# shared memory, so wait until the whole family is gone.
	_i=0
	for _p in $_pm $_kids; do
		while _pg_alive "$_p"; do
			_i=$((_i + 1))
			if [ $_i -ge 200 ]; then
				echo "pg_kill9: process $_p did not exit" >&2
				return 1
			fi
			sleep 0.05
		done
	done
	# Where pid 1 does not reap orphans (some containers and VMs), the
	# dead postmaster stays a zombie, and both pg_ctl and a new postmaster
	# would take its pid in the lock files for a live server. Nothing of
	# the family runs any more, so the lock files are stale: remove them.
	rm -f "$PG_DATA/postmaster.pid" "$PG_DIR/.s.PGSQL.$PGPORT.lock"
}

# Stop every cluster this script started, however the script ends.
_pg_stop_all() {
	[ -f "$_pg_clusters" ] || return 0
	while read -r _p _d; do
		_pg_as_owner "$PG_BINDIR/pg_ctl" -D "$_d/data" -m immediate -w \
			stop >/dev/null 2>&1
	done <"$_pg_clusters"
	return 0
}
test_at_exit _pg_stop_all
