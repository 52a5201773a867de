# tests/pgsession.sh — psql sessions fed statement by statement, and
# backends held by gdb at a function of PostgreSQL, for tests that put
# commits in an order a busy machine produces only by chance. Source it
# after lib.sh and pg.sh.
#
#   session NAME        a psql session reading statements from the fifo
#                       NAME.in (open it for writing: exec 3>NAME.in),
#                       its output in NAME.out
#   wait_for FILE PAT   up to 30 s for PAT in FILE
#   hold NAME PID FUNC  gdb stops backend PID at FUNC (NAME.held then
#                       exists) until NAME.release exists; fails with
#                       gdb's output when gdb cannot attach
#   until_held NAME     wait for NAME.held (a minute at most)
#
# A held backend that gets past its commit's WAL flush and stops at
# ProcArrayEndTransaction is committed in the WAL (and in the stream)
# but invisible to every snapshot until it is released. A failed test
# releases every held backend at exit, before PostgreSQL stops.

session() {
	rm -f "$1.in" && mkfifo "$1.in" || return 1
	psql -X -q -At -v ON_ERROR_STOP=1 <"$1.in" >"$1.out" 2>&1 &
}

wait_for() {
	_i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1)) && [ $_i -lt 300 ] || return 1
		sleep 0.1
	done
}

hold() {
	rm -f "$1.attached" "$1.held" "$1.release"
	gdb -p "$2" -batch -ex "break $3" \
		-ex "shell touch $1.attached" -ex continue \
		-ex "shell touch $1.held" \
		-ex "shell while [ ! -e $1.release ]; do sleep 0.1; done" \
		>"$1.gdb" 2>&1 &
	_i=0
	until test -e "$1.attached"; do
		_i=$((_i + 1)) && [ $_i -lt 300 ] || return 1
		sleep 0.1
	done
	_i=0
	until grep -q "^Breakpoint 1 at" "$1.gdb"; do
		_i=$((_i + 1))
		if [ $_i -gt 50 ]; then
			echo "gdb cannot stop process $2:" >&2
			cat "$1.gdb" >&2
			return 1
		fi
		sleep 0.1
	done
}

until_held() {
	_i=0
	until test -e "$1.held"; do
		_i=$((_i + 1)) && [ $_i -lt 600 ] || {
			echo "the backend of $1 never stopped:" >&2
			cat "$1.gdb" >&2
			return 1
		}
		sleep 0.1
	done
}

# hooks run last registered first: this one before pg_stop's
test_at_exit 'for _f in "$TEST_DIR"/*.attached; do [ -e "$_f" ] && touch "${_f%.attached}.release"; done; sleep 0.5'
