#!/usr/bin/env bash
# tests/fresh-debian.sh — prove the README's two commands on a genuinely
# fresh Debian 12 (bookworm) root filesystem, in a chroot, as root.
#
# Not part of `make check` (the suite runs tests/t[0-9]*.sh only) and never
# run by default: it needs root, debootstrap, network access to the Debian
# mirror and the npm registry, free port 3000 on this host, and 15-60 min.
#
# Usage (as root, on a Debian/Ubuntu host with debootstrap):
#   tests/fresh-debian.sh [options] [DIR]
#     DIR            scratch directory, default $FRESH_DEB_DIR or
#                    /var/tmp/fresh-deb; keep it outside the repository
#     -c COMMIT      the commit to test (default: HEAD of the repository
#                    this script is in; $FRESH_COMMIT)
#     -s REPO        the repository to clone from (default: the one this
#                    script is in; $FRESH_SRC)
#     --reuse        run in DIR/root as it is (packages installed, clone
#                    and build of the previous run kept) instead of a fresh
#                    copy of DIR/base
#     --no-run       skip command 1 (make run)
#     --no-check     skip command 2 (make deps && make check)
#     --ci           also run `bash .ci/run` as CI does (CI=true, stdin
#                    from /dev/null), after command 2
#     --ci-only      run only `bash .ci/run`, in a fresh copy
#     --no-host-ca   do not give the chroot this host's local CAs (below)
#
# What it does:
#   DIR/base   a pristine `debootstrap --variant=minbase bookworm` plus only
#              git and ca-certificates (apt-get install, so with their
#              Recommends), with the mirror this host's apt uses (read from
#              /etc/apt/sources.list{,.d/*}). Built once, then reused.
#   DIR/root   the machine under test: by default a fresh copy of
#              DIR/base each run. /proc, /sys, /dev, /dev/pts and a tmpfs
#              /dev/shm (PostgreSQL needs POSIX shared memory) are mounted
#              in it for the run, and unmounted on exit (trap).
#   DIR/logs/<UTC time>/   every log of the run; summary.txt at the end.
#   The host's local CAs (/usr/local/share/ca-certificates/*.crt) are
#   installed in DIR/root (update-ca-certificates) unless --no-host-ca: on
#   a network that intercepts TLS (this host trusts the interceptor's CA
#   that way), npm could not reach registry.npmjs.org otherwise, and
#   `npm ci` in tests/e2e fails with SELF_SIGNED_CERT_IN_CHAIN — a fact
#   of the network, like /etc/resolv.conf, not of a fresh machine.
#   The commit is cloned (`git clone`) into /root/shapesync in the chroot;
#   /root is mode 0700 there, as on a real machine, so the embedded
#   PostgreSQL (user postgres) cannot reach ./var/pg and `shapesync up` has
#   to place the cluster under /var/lib/shapesync.
#   Then, in /root/shapesync, following the README literally:
#   0. if `make` is missing: `apt-get update && apt-get install make` (as the README says).
#   1. `make run` in the background; waits for "shapesync-up: ready:";
#      GET /v1/shape?table=items&offset=-1 must be 200 with the 5 demo
#      rows; an INSERT through the psql line `up` prints must arrive on a
#      live request; checks where the cluster lives and that postgres runs
#      as user postgres; SIGTERM to shapesync-up must end `make run` with
#      status 0 and leave no process in the chroot. Then `make run` again
#      must reuse that cluster through the ./var/pg link (6 rows), and
#      stop the same way.
#   2. `make deps && make check`: status 0, prove's summary recorded; the
#      scripts that failed are run again with `prove -v` for their
#      diagnostics (DIR/logs/.../failed-verbose.log).
#   Prints PASS/FAIL per step and overall; exits 0 only if all passed.
set -uo pipefail

die() { echo "fresh-debian: error: $*" >&2; exit 2; }

here=$(cd "$(dirname "$0")/.." && pwd)
DIR=${FRESH_DEB_DIR:-/var/tmp/fresh-deb}
COMMIT=${FRESH_COMMIT:-}
SRC=${FRESH_SRC:-$here}
REUSE=0 DO_RUN=1 DO_CHECK=1 DO_CI=0 HOST_CA=1
PORT=3000
SUITE=bookworm
while [ $# -gt 0 ]; do
	case $1 in
	-c) COMMIT=${2:?}; shift ;;
	-s) SRC=${2:?}; shift ;;
	--reuse) REUSE=1 ;;
	--no-run) DO_RUN=0 ;;
	--no-check) DO_CHECK=0 ;;
	--ci) DO_CI=1 ;;
	--ci-only) DO_RUN=0 DO_CHECK=0 DO_CI=1 ;;
	--no-host-ca) HOST_CA=0 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d'; exit 0 ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) DIR=$1 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || die "must run as root (chroot, mount, debootstrap)"
command -v debootstrap >/dev/null ||
	die "debootstrap is missing: apt-get update && apt-get install -y debootstrap"
mkdir -p "$DIR" || die "cannot create $DIR"
DIR=$(realpath "$DIR")
case $DIR/ in "$(realpath "$SRC")"/*) die "$DIR is inside the repository" ;; esac
[ "$DIR" != / ] || die "DIR must not be /"
SHA=$(git -C "$SRC" rev-parse --verify "${COMMIT:-HEAD}^{commit}") ||
	die "no commit ${COMMIT:-HEAD} in $SRC"
BASE=$DIR/base
ROOT=$DIR/root
LOGS=$DIR/logs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$LOGS"
SUMMARY=$LOGS/summary.txt
: >"$SUMMARY"
FAILED=0

say() { printf 'fresh-debian: %s\n' "$*" | tee -a "$SUMMARY"; }
pass() { say "PASS: $*"; }
fail() { say "FAIL: $*"; FAILED=1; }
now() { date +%s; }

# in_chroot ROOT SCRIPT: SCRIPT in a root login shell of ROOT with a clean
# environment, as on a fresh machine.
in_chroot() {
	local root=$1
	shift
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb USER=root LOGNAME=root \
		SHELL=/bin/bash /bin/bash -lc "$*"
}

# --- mounts -----------------------------------------------------------------
MOUNTED=()
mounts_under() { awk -v p="$1/" '{ m = $5 "/"; if (index(m, p) == 1) print $5 }' /proc/self/mountinfo; }
do_mount() { # do_mount TARGET mount-args...
	local t=$1
	shift
	mount "$@" "$t" || return 1
	MOUNTED+=("$t")
	mount --make-private "$t" 2>/dev/null || true
}
mount_chroot() {
	local r=$1
	[ -z "$(mounts_under "$r")" ] || die "something is already mounted under $r: $(mounts_under "$r" | tr '\n' ' ')"
	mkdir -p "$r/proc" "$r/sys" "$r/dev"
	do_mount "$r/proc" -t proc proc &&
	do_mount "$r/sys" -t sysfs sysfs &&
	do_mount "$r/dev" --bind /dev &&
	do_mount "$r/dev/pts" --bind /dev/pts &&
	do_mount "$r/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev shm ||
		die "mounting into $r failed"
	cp -L /etc/resolv.conf "$r/etc/resolv.conf"
}
umount_all() {
	local i
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" ||
			echo "fresh-debian: warning: could not unmount ${MOUNTED[i]}" >&2
	done
	MOUNTED=()
}

# pids_in ROOT: processes whose root directory is ROOT (the chroot's).
pids_in() {
	local p l
	for p in /proc/[0-9]*; do
		l=$(readlink "$p/root" 2>/dev/null) || continue
		[ "$l" = "$1" ] && echo "${p#/proc/}"
	done
}
# Only processes of our chroot, which this script started.
kill_chroot_procs() {
	local r=$1 pids i
	pids=$(pids_in "$r")
	[ -n "$pids" ] || return 0
	echo "fresh-debian: stopping what is left in the chroot: $(echo $pids)" >&2
	kill -TERM $pids 2>/dev/null
	for i in $(seq 20); do
		[ -n "$(pids_in "$r")" ] || return 0
		sleep 0.5
	done
	kill -KILL $(pids_in "$r") 2>/dev/null
	sleep 1
}
cleanup() {
	local r
	for r in "$BASE.tmp" "$ROOT"; do
		[ -d "$r" ] && kill_chroot_procs "$(realpath "$r")"
	done
	umount_all
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- the host's mirror ------------------------------------------------------
# apt_entries: "URI SUITE" for each enabled deb source of this host.
apt_entries() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" { print $2, $3 }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled != "no")
					for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
						print u[i], s[j]
				types = ""; enabled = ""; nu = 0; ns = 0
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{ k = tolower($1); $1 = "" }
			k == "types:" { types = $0 }
			k == "enabled:" { enabled = tolower($2) }
			k == "uris:" { nu = split($0, u, " ") }
			k == "suites:" { ns = split($0, s, " ") }
			END { flush() }
		' "$f"
	done
}
mirror_for() { apt_entries | awk -v s="$1" '$2 == s { print $1; exit }'; }

build_base() {
	local mirror sec t0 t
	mirror=$(mirror_for "$SUITE")
	[ -n "$mirror" ] || die "no '$SUITE' source in this host's apt configuration"
	sec=$(mirror_for "$SUITE-security")
	t=$BASE.tmp
	rm -rf --one-file-system "$t"
	say "building $BASE: debootstrap --variant=minbase $SUITE (host's mirror), then git ca-certificates"
	t0=$(now)
	debootstrap --variant=minbase "$SUITE" "$t" "$mirror" >"$LOGS/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$LOGS/debootstrap.log"; die "debootstrap failed (log: $LOGS/debootstrap.log)"; }
	rm -f "$t/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$mirror" "$SUITE" "$SUITE"
		[ -z "$sec" ] ||
			printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
				"$sec" "$SUITE"
	} >"$t/etc/apt/sources.list.d/debian.sources"
	echo fresh-debian >"$t/etc/hostname"
	mount_chroot "$t"
	in_chroot "$t" 'export DEBIAN_FRONTEND=noninteractive; apt-get update && apt-get install -y git ca-certificates && apt-get clean' \
		</dev/null >"$LOGS/base-apt.log" 2>&1 ||
		{ tail -n 20 "$LOGS/base-apt.log"; die "installing git ca-certificates failed"; }
	cleanup
	rm -f "$t/etc/resolv.conf"
	touch "$t/.fresh-debian-base"
	mv "$t" "$BASE"
	say "built $BASE in $(($(now) - t0)) s"
}

# --- the machine under test -------------------------------------------------
prepare_root() {
	if [ ! -e "$BASE/.fresh-debian-base" ]; then
		build_base
	else
		say "reusing $BASE (built $(date -u -r "$BASE/.fresh-debian-base" '+%F %T UTC'))"
	fi
	[ -z "$(mounts_under "$ROOT")" ] || die "something is mounted under $ROOT (another run?)"
	if [ $REUSE = 1 ] && [ -d "$ROOT" ]; then
		say "reusing $ROOT as it is (--reuse)"
	else
		rm -rf --one-file-system "$ROOT"
		cp -a "$BASE" "$ROOT" || die "copying $BASE to $ROOT failed"
		rm -f "$ROOT/.fresh-debian-base"
	fi
	ROOT=$(realpath "$ROOT")
	mount_chroot "$ROOT"
	local cas
	cas=$(ls /usr/local/share/ca-certificates/*.crt 2>/dev/null)
	if [ $HOST_CA = 1 ] && [ -n "$cas" ]; then
		cp $cas "$ROOT/usr/local/share/ca-certificates/" &&
			in_chroot "$ROOT" update-ca-certificates >"$LOGS/host-ca.log" 2>&1 ||
			die "installing the host's CAs failed (log: $LOGS/host-ca.log)"
		say "the chroot trusts this host's local CAs too (TLS interception on this network): $(echo $cas | xargs -n1 basename | tr '\n' ' ')"
	fi
	# The commit, as a clone under /root (mode 0700, as Debian makes it).
	rm -rf "$ROOT/srv/shapesync.git" "$ROOT/root/shapesync"
	git clone -q --bare --no-hardlinks "$SRC" "$ROOT/srv/shapesync.git" &&
		git -C "$ROOT/srv/shapesync.git" update-ref refs/heads/main "$SHA" &&
		git -C "$ROOT/srv/shapesync.git" symbolic-ref HEAD refs/heads/main ||
		die "copying the repository into the chroot failed"
	in_chroot "$ROOT" 'git clone -q /srv/shapesync.git /root/shapesync' </dev/null >"$LOGS/clone.log" 2>&1 ||
		{ cat "$LOGS/clone.log"; die "git clone in the chroot failed"; }
	[ "$(in_chroot "$ROOT" 'git -C /root/shapesync rev-parse HEAD')" = "$SHA" ] ||
		die "the clone is not at $SHA"
	say "testing commit $SHA ($(git -C "$SRC" log -1 --format=%s "$SHA"))"
	say "machine: Debian $(cat "$ROOT/etc/debian_version") in $ROOT; /root is mode $(stat -c %a "$ROOT/root")"
	if in_chroot "$ROOT" 'command -v make' >/dev/null; then
		say "make is installed"
	else
		# The README: "if make itself is missing: apt-get update && apt-get install make".
		say "make is missing on the fresh machine: running the README's 'apt-get update && apt-get install make'"
		if in_chroot "$ROOT" 'apt-get update && apt-get install -y make' </dev/null >"$LOGS/make-install.log" 2>&1; then
			say "installed make with 'apt-get update && apt-get install make'"
		else
			tail -n 5 "$LOGS/make-install.log"
			fail "'apt-get update && apt-get install make' failed (log: $LOGS/make-install.log)"
			return 1
		fi
	fi
}

# --- command 1: make run ----------------------------------------------------
RUN_PID=
up_pid() { # the shapesync-up process of the chroot
	local p
	for p in $(pids_in "$ROOT"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = shapesync-up ] && { echo "$p"; return 0; }
	done
	return 1
}

# hdr FILE NAME: a header of a `curl -i` response.
hdr() { tr -d '\r' <"$1" | awk -v h="$2" 'tolower($1) == h ":" { print $2; exit }'; }

# follow_rows OUT: walk the items shape from offset=-1 to up-to-date (the
# snapshot, then the log); prints how many rows it holds.
follow_rows() {
	local out=$1 off=-1 h= i
	: >"$out.all"
	for i in $(seq 50); do
		in_chroot "$ROOT" "curl -sS -i '$Q&offset=$off${h:+&handle=$h}'" >"$out" 2>&1
		[ "$(head -n 1 "$out" | awk '{ print $2 }')" = 200 ] || return 1
		sed '1,/^\r\?$/d' "$out" >>"$out.all"
		echo >>"$out.all"
		h=$(hdr "$out" electric-handle)
		off=$(hdr "$out" electric-offset)
		grep -q '"up-to-date"' "$out" && break
	done
	in_chroot "$ROOT" "jq -s '[.[][] | select(.headers.operation == \"insert\") | .key] | unique | length'" <"$out.all"
}

Q='http://127.0.0.1:3000/v1/shape?table=items'
cmd_run() {
	local log=$LOGS/make-run.log t0 i ok rc n conn H O q body code got pg pids pgu
	say "command 1: make run"
	if ss -Hltn "sport = :$PORT" | grep -q .; then
		fail "command 1: port $PORT is already in use on this host (not touching it): $(ss -Hltnp "sport = :$PORT" | tr -s ' ')"
		return 1
	fi
	t0=$(now)
	start_run "$log" || return 1
	pass "command 1: make run ready after $(($(now) - t0)) s (deps + build + up)"

	q=$Q
	# The README's request.
	in_chroot "$ROOT" "curl -sS -i '$q&offset=-1'" >"$LOGS/get-initial.txt" 2>&1
	code=$(head -n 1 "$LOGS/get-initial.txt" | awk '{ print $2 }')
	body=$(sed '1,/^\r\?$/d' "$LOGS/get-initial.txt")
	n=$(printf '%s' "$body" | in_chroot "$ROOT" "jq '[.[] | select(.headers.operation == \"insert\")] | length'" 2>/dev/null)
	if [ "$code" = 200 ] && [ "$n" = 5 ]; then
		pass "command 1: curl -i '$q&offset=-1' -> 200, 5 rows"
	else
		fail "command 1: curl -i '$q&offset=-1' -> status '$code', '$n' rows (response: $LOGS/get-initial.txt)"
	fi
	H=$(hdr "$LOGS/get-initial.txt" electric-handle)
	O=$(hdr "$LOGS/get-initial.txt" electric-offset)
	# Catch up to up-to-date before going live.
	for i in $(seq 20); do
		grep -q '"up-to-date"' "$LOGS/get-initial.txt" && break
		in_chroot "$ROOT" "curl -sS -i '$q&handle=$H&offset=$O'" >"$LOGS/get-initial.txt" 2>&1
		O=$(hdr "$LOGS/get-initial.txt" electric-offset)
	done

	# The psql line up prints; a change through it must arrive live.
	conn=$(sed -n 's/^shapesync-up: psql: psql "\(.*\)"$/\1/p' "$log" | head -n 1)
	if [ -z "$conn" ] || [ -z "$H" ] || [ -z "$O" ]; then
		fail "command 1: no psql line in the log or no handle/offset in the response"
	else
		in_chroot "$ROOT" "curl -sS -i --max-time 120 '$q&handle=$H&offset=$O&live=true'" >"$LOGS/get-live.txt" 2>&1 &
		local live=$!
		sleep 1
		if in_chroot "$ROOT" "psql \"$conn\" -v ON_ERROR_STOP=1 -c \"INSERT INTO items (id, title) VALUES (6, 'Inserted by fresh-debian.sh')\"" \
			>"$LOGS/psql.txt" 2>&1; then
			pass "command 1: INSERT with the printed psql line: $(tr '\n' ' ' <"$LOGS/psql.txt")"
		else
			fail "command 1: psql failed: $(cat "$LOGS/psql.txt")"
		fi
		got=0
		for i in $(seq 10); do
			wait $live
			if grep -q 'Inserted by fresh-debian.sh' "$LOGS/get-live.txt"; then got=1; break; fi
			O=$(hdr "$LOGS/get-live.txt" electric-offset)
			[ -n "$O" ] || break
			in_chroot "$ROOT" "curl -sS -i --max-time 120 '$q&handle=$H&offset=$O&live=true'" >"$LOGS/get-live.txt" 2>&1 &
			live=$!
		done
		if [ $got = 1 ] && [ "$(head -n 1 "$LOGS/get-live.txt" | awk '{ print $2 }')" = 200 ]; then
			pass "command 1: the insert arrived on a live request (&handle=$H&offset=...&live=true) -> 200: $(grep -o '{[^{]*"id":"6"[^}]*}' "$LOGS/get-live.txt" | head -n 1)"
		else
			fail "command 1: the insert did not arrive on live requests (last: $LOGS/get-live.txt)"
		fi
	fi

	# Where the cluster lives: /root is 0700, user postgres cannot reach it.
	local link target owner mode
	mode=$(stat -c %a "$ROOT/root")
	link=$(readlink "$ROOT/root/shapesync/var/pg")
	target=$(in_chroot "$ROOT" 'readlink -f /root/shapesync/var/pg')
	owner=$(in_chroot "$ROOT" "stat -c %U '$target'" 2>/dev/null)
	if [ -L "$ROOT/root/shapesync/var/pg" ] && [ "${target#/var/lib/shapesync/}" != "$target" ] &&
		[ "$owner" = postgres ] && grep -q 'user postgres cannot reach' "$log"; then
		pass "command 1: /root is mode $mode; ./var/pg -> $link (owner $owner); log: $(grep -o 'user postgres cannot reach.*' "$log" | head -n 1)"
	else
		fail "command 1: cluster placement: /root mode $mode, ./var/pg -> '${link:-not a symlink}', target '$target' owner '$owner'"
	fi
	pgu=$(in_chroot "$ROOT" 'id -u postgres')
	pids=
	for p in $(pids_in "$ROOT"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = postgres ] && pids="$pids $(stat -c %u "/proc/$p")"
	done
	pids=$(echo $pids | tr ' ' '\n' | sort -u | tr '\n' ' ')
	if [ "${pids% }" = "$pgu" ]; then
		pass "command 1: postgres processes run as uid $pgu (postgres)"
	else
		fail "command 1: postgres processes run as uids '${pids% }', want $pgu (postgres)"
	fi
	for p in $(pids_in "$ROOT"); do # (a minbase system has no ps)
		printf '%s %s %s\n' "$(stat -c %u "/proc/$p")" "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline")"
	done >"$LOGS/ps-running.txt" 2>/dev/null

	stop_run || return 1
	say "command 1: log tail:"
	tail -n 8 "$log" | sed 's/^/    /' | tee -a "$SUMMARY"

	# Again: the cluster is found through the link and kept (6 rows).
	log=$LOGS/make-run-again.log
	t0=$(now)
	start_run "$log" || return 1
	n=$(follow_rows "$LOGS/get-again.txt")
	if [ "$n" = 6 ] && [ "$(readlink "$ROOT/root/shapesync/var/pg")" = "$link" ]; then
		pass "command 1: make run again: ready after $(($(now) - t0)) s, ./var/pg -> $link still; the shape from offset=-1 to up-to-date: 6 rows (the insert kept)"
	else
		fail "command 1: make run again: the shape from offset=-1 to up-to-date: '$n' rows, want 6; ./var/pg -> '$(readlink "$ROOT/root/shapesync/var/pg")' (log: $log, last response: $LOGS/get-again.txt)"
	fi
	stop_run
}

# start_run LOG: `make run` in the chroot, in the background, until it
# prints its ready line.
start_run() {
	local log=$1 i
	setsid chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb USER=root LOGNAME=root \
		SHELL=/bin/bash /bin/bash -lc 'cd /root/shapesync && exec make run' \
		</dev/null >"$log" 2>&1 &
	RUN_PID=$!
	for i in $(seq 3600); do
		grep -q '^shapesync-up: ready:' "$log" 2>/dev/null && return 0
		kill -0 $RUN_PID 2>/dev/null || break
		sleep 1
	done
	tail -n 30 "$log"
	fail "command 1: no 'shapesync-up: ready:' line (log: $log)"
	return 1
}

# stop_run: SIGTERM to shapesync-up; make run must end with status 0, and
# nothing of the chroot may stay behind.
stop_run() {
	local up rc i left
	up=$(up_pid) || { fail "command 1: no shapesync-up process found"; return 1; }
	kill -TERM "$up"
	rc=
	for i in $(seq 60); do
		kill -0 $RUN_PID 2>/dev/null || { wait $RUN_PID; rc=$?; break; }
		sleep 1
	done
	if [ "$rc" = 0 ]; then
		pass "command 1: SIGTERM to shapesync-up (pid $up): make run exited 0 after $i s"
	else
		fail "command 1: SIGTERM to shapesync-up (pid $up): make run exit status '${rc:-still running after 60 s}'"
	fi
	sleep 1
	left=$(for p in $(pids_in "$ROOT"); do printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done)
	if [ -z "$left" ]; then
		pass "command 1: no process of the chroot left"
	else
		fail "command 1: processes left in the chroot: $left"
		kill_chroot_procs "$ROOT"
	fi
	RUN_PID=
}

# --- command 2: make deps && make check ---------------------------------------
summary_of() { # the prove summary of a log
	grep -E '^(Files=|Result:)' "$1" | tr '\n' ' '
}
cmd_check() {
	local log=$LOGS/make-check.log t0 rc
	say "command 2: make deps && make check"
	t0=$(now)
	in_chroot "$ROOT" 'cd /root/shapesync && make deps && make check' </dev/null >"$log" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		pass "command 2: exit 0 in $(($(now) - t0)) s: $(summary_of "$log")"
	else
		grep -E '^(tests/t|not ok|Failed|deps:|make)' "$log" | grep -v ' ok$' | tail -n 30 | sed 's/^/    /' | tee -a "$SUMMARY"
		fail "command 2: exit $rc in $(($(now) - t0)) s: $(summary_of "$log") (log: $log)"
		verbose_failed "$log"
	fi
}
# verbose_failed LOG: the scripts prove reported failed in LOG, again with
# prove -v, for the whole TAP stream (without -v prove shows only what
# the scripts print on stderr, which includes why a test failed).
verbose_failed() {
	local failed
	failed=$(sed -n '/^Test Summary Report/,$p' "$1" | awk '$1 ~ /^tests\/t.*\.sh$/ { print $1 }' | sort -u | tr '\n' ' ')
	[ -n "$failed" ] || return 0
	say "running again with prove -v: $failed"
	in_chroot "$ROOT" "cd /root/shapesync && SS_BUILD=\$PWD/build prove -v $failed" </dev/null \
		>"$LOGS/failed-verbose.log" 2>&1
	grep -E '^(not ok|#)' "$LOGS/failed-verbose.log" | head -n 40 | sed 's/^/    /' | tee -a "$SUMMARY"
}
cmd_ci() {
	local log=$LOGS/ci-run.log t0 rc
	say "CI: CI=true bash .ci/run </dev/null"
	t0=$(now)
	in_chroot "$ROOT" 'cd /root/shapesync && CI=true bash .ci/run' </dev/null >"$log" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		pass "CI: .ci/run exit 0 in $(($(now) - t0)) s: $(summary_of "$log")"
	else
		tail -n 30 "$log" | sed 's/^/    /' | tee -a "$SUMMARY"
		fail "CI: .ci/run exit $rc in $(($(now) - t0)) s: $(summary_of "$log") (log: $log)"
	fi
}

say "logs in $LOGS"
prepare_root || { cleanup; say "FAIL"; exit 1; }
[ $DO_RUN = 0 ] || cmd_run
[ $DO_CHECK = 0 ] || cmd_check
[ $DO_CI = 0 ] || cmd_ci
cleanup
trap - EXIT
if [ -n "$(mounts_under "$ROOT")" ]; then
	fail "still mounted under $ROOT: $(mounts_under "$ROOT" | tr '\n' ' ')"
fi
say "chroot kept in $ROOT (pristine base in $BASE)"
if [ $FAILED = 0 ]; then say "PASS (commit $SHA)"; exit 0; fi
say "FAIL (commit $SHA)"
exit 1
