#!/bin/sh
# shapesync-db check: broken registry files fail cleanly (exit 1, a
# message, no crash), and the registry is compared with the data dir:
# orphan and stray entries, complete shapes whose data is gone, --repair.
. "$(dirname "$0")/lib.sh"

shape_dir() {
	echo "var/data/shapes/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-4)/$1"
}

# Every command that opens the registry, on a broken file $1: exit 1 with
# one error line from us, never a signal.
all_fail_cleanly() {
	for c in ls "show 1" "add --table t" "rm 1" stats check vacuum \
		 export import; do
		test_must_fail 1 shapesync-db --registry "$1" $c </dev/null ||
			return 1
		test_stderr_has "^shapesync-db: error: " || return 1
		if grep -q -i -E "sanitizer|assert|core dumped" .stderr; then
			cat .stderr >&2
			return 1
		fi
	done
}

test_expect_success 'setup' '
	shapesync-db init &&
	shapesync-db add --table items >add1 &&
	shapesync-db add --table todos --where "done" >add2 &&
	shapesync-db add --table users >add3
'

test_expect_success 'a consistent registry: ok, exit 0' '
	shapesync-db check >out 2>err &&
	test_eq "ok: registry consistent" "$(cat out)" &&
	test_eq "" "$(cat err)" &&
	shapesync-db check --repair >out &&
	test_eq "ok: registry consistent" "$(cat out)"
'

test_expect_success 'a data dir that is not one: exit 1' '
	test_must_fail 1 shapesync-db --dir nowhere check &&
	test_stderr_has "^shapesync-db: error: .nowhere. is not a shapesync data dir$" &&
	test_stderr_has "^hint: check --dir"
'

test_expect_success 'garbage in the registry file: exit 1, clean message' '
	head -c 65536 /dev/urandom >garbage.db &&
	all_fail_cleanly garbage.db &&
	test_stderr_has "garbage.db"
'

test_expect_success 'a text file as the registry: exit 1, clean message' '
	for i in 1 2 3 4 5 6 7 8 9 10; do
		echo "this is not a database, line $i"
	done >text.db &&
	cp text.db text.orig &&
	all_fail_cleanly text.db &&
	test_cmp text.orig text.db
'

test_expect_success 'a SQLite database of someone else: exit 1' '
	if command -v sqlite3 >/dev/null; then
		sqlite3 foreign.db "CREATE TABLE t(x); INSERT INTO t VALUES (1);" &&
		all_fail_cleanly foreign.db
	fi
'

test_expect_success 'a truncated registry: exit 1, clean message' '
	shapesync-db --registry big.db --dir bigdata init &&
	i=0 && while [ $i -lt 300 ]; do
		echo "--table t$i --where \"a = $i\" --columns a,b,c"
		i=$((i + 1))
	done >defs &&
	while read -r line; do
		eval "shapesync-db --registry big.db add $line" >/dev/null ||
			return 1
	done <defs &&
	shapesync-db --registry big.db --dir bigdata check >out &&
	test_eq "ok: registry consistent" "$(cat out)" &&
	test ! -s big.db-wal &&
	size=$(wc -c <big.db) &&
	test "$size" -ge 16384 &&
	head -c $((size / 2)) big.db >half.db &&
	test_must_fail 1 shapesync-db --registry half.db --dir bigdata check &&
	test_stderr_has "^shapesync-db: error: " &&
	test_must_fail 1 shapesync-db --registry half.db export &&
	test_stderr_has "^shapesync-db: error: " &&
	head -c 100 big.db >head.db &&
	all_fail_cleanly head.db
'

test_expect_success 'orphan data directories are found' '
	h1=$(cut -d" " -f2 add1) &&
	mkdir -p "$(shape_dir "$h1")" &&
	mkdir -p var/data/shapes/12/34/1234-5 var/data/shapes/98/76/9876-1 &&
	echo data >var/data/shapes/12/34/1234-5/log &&
	cat >expect <<-EOF &&
	orphan data directory: ./var/data/shapes/12/34/1234-5
	orphan data directory: ./var/data/shapes/98/76/9876-1
	2 problems found
	EOF
	test_must_fail 3 shapesync-db check >out &&
	test_cmp expect out &&
	test -d var/data/shapes/12/34/1234-5
'

test_expect_success 'stray entries are found' '
	echo junk >var/data/shapes/junk &&
	mkdir -p var/data/shapes/12/xx &&
	mkdir -p var/data/shapes/12/35/1234-6 &&
	cat >expect <<-EOF &&
	orphan data directory: ./var/data/shapes/12/34/1234-5
	stray entry in data directory: ./var/data/shapes/12/35/1234-6
	stray entry in data directory: ./var/data/shapes/12/xx
	orphan data directory: ./var/data/shapes/98/76/9876-1
	stray entry in data directory: ./var/data/shapes/junk
	5 problems found
	EOF
	test_must_fail 3 shapesync-db check >out &&
	test_cmp expect out
'

test_expect_success 'check --repair moves them to the trash' '
	cat >expect <<-EOF &&
	orphan data directory: ./var/data/shapes/12/34/1234-5 (repaired)
	stray entry in data directory: ./var/data/shapes/12/35/1234-6 (repaired)
	stray entry in data directory: ./var/data/shapes/12/xx (repaired)
	orphan data directory: ./var/data/shapes/98/76/9876-1 (repaired)
	stray entry in data directory: ./var/data/shapes/junk (repaired)
	5 problems found, 5 repaired
	EOF
	shapesync-db check --repair >out &&
	test_cmp expect out &&
	test_eq 5 "$(ls var/data/trash | wc -l)" &&
	test_eq data "$(cat var/data/trash/1234-5.*/log)" &&
	test -d "$(shape_dir "$(cut -d" " -f2 add1)")" &&
	shapesync-db check >out &&
	test_eq "ok: registry consistent" "$(cat out)" &&
	shapesync-db stats >out &&
	grep -q "^shapes: 3$" out
'

# Snapshot states other than pending come in through import.
test_expect_success 'a complete shape without its data directory' '
	shapesync-db export >all &&
	h1=$(cut -d" " -f2 add1) && h2=$(cut -d" " -f2 add2) &&
	h3=$(cut -d" " -f2 add3) &&
	sed -E "s/\"snapshot_state\":\"pending\"/\"snapshot_state\":\"complete\",\"xmin\":\"100\",\"xmax\":\"105\",\"xip\":[\"101\",\"103\"]/" \
		all >complete &&
	! cmp -s all complete &&
	shapesync-db --registry c.db --dir var/data init &&
	shapesync-db --registry c.db import complete &&
	shapesync-db --registry c.db show 1 >out &&
	grep -q "^snapshot: complete$" out &&
	grep -q "^pg_snapshot: 100:105:101,103$" out &&
	cat >expect <<-EOF &&
	missing data directory of complete shape 2 ($h2): ./var/data/shapes/$(shape_dir "$h2" | cut -d/ -f4-)
	missing data directory of complete shape 3 ($h3): ./var/data/shapes/$(shape_dir "$h3" | cut -d/ -f4-)
	2 problems found
	EOF
	test_must_fail 3 shapesync-db --registry c.db check >out &&
	test_cmp expect out
'

test_expect_success 'check --repair removes those shapes' '
	sed -e "s/ found$/ found, 2 repaired/" \
	    -e "s/^\(missing.*\)$/\1 (repaired)/" expect >expect2 &&
	shapesync-db --registry c.db check --repair >out &&
	test_cmp expect2 out &&
	shapesync-db --registry c.db ls --json >out &&
	test_eq 1 "$(wc -l <out)" &&
	test_must_fail 3 shapesync-db --registry c.db show 2 &&
	shapesync-db --registry c.db check >out &&
	test_eq "ok: registry consistent" "$(cat out)"
'

test_expect_success 'pending shapes need no data directory' '
	rm -rf "$(shape_dir "$(cut -d" " -f2 add1)")" &&
	shapesync-db check >out &&
	test_eq "ok: registry consistent" "$(cat out)"
'

# Registry invariants come from lib/registry; sqlite3 breaks one.
test_expect_success 'registry problems first; data dir compared after' '
	if command -v sqlite3 >/dev/null; then
		sqlite3 var/registry.db \
			"INSERT INTO shape_relations VALUES (99999, 5)" &&
		mkdir -p var/data/shapes/55/55/5555-5 &&
		cat >expect <<-EOF &&
		relation row for a missing shape: shape 99999 oid 5
		1 problem found
		EOF
		test_must_fail 3 shapesync-db check >out &&
		test_cmp expect out &&
		test_stderr_has "^shapesync-db: warning: the registry has problems; the data dir was not compared with it$" &&
		test -d var/data/shapes/55/55/5555-5 &&
		cat >expect <<-EOF &&
		relation row for a missing shape: shape 99999 oid 5 (repaired)
		orphan data directory: ./var/data/shapes/55/55/5555-5 (repaired)
		2 problems found, 2 repaired
		EOF
		shapesync-db check --repair >out &&
		test_cmp expect out &&
		shapesync-db check >out &&
		test_eq "ok: registry consistent" "$(cat out)"
	fi
'

test_expect_success 'an unreadable stored definition: shown as ?, exit 1' '
	if command -v sqlite3 >/dev/null; then
		shapesync-db --registry u.db --dir var/data init &&
		shapesync-db --registry u.db add --table a >/dev/null &&
		shapesync-db --registry u.db add --table b --where x >add &&
		h=$(cut -d" " -f2 add) &&
		sqlite3 u.db "UPDATE shapes SET definition = '\''{}'\'' WHERE id = 2" &&
		test_must_fail 1 shapesync-db --registry u.db ls >out &&
		test_stderr_has "^shapesync-db: warning: shape 2 has an unreadable definition: " &&
		test_eq 3 "$(wc -l <out)" &&
		grep -q " ?$" out &&
		test_must_fail 1 shapesync-db --registry u.db show 2 >out &&
		grep -q "^where: ?$" out &&
		grep -q "^definition: {}$" out &&
		test_must_fail 3 shapesync-db --registry u.db check >out &&
		grep -q "^shape 2 ($h) has an unreadable definition: " out &&
		test_eq "1 problem found" "$(tail -n 1 out)"
	fi
'

test_done
