#!/bin/sh
# shapesync-db: options and usage errors, init, add (get or create), ls,
# show, rm, stats and vacuum round trips with exact outputs.
. "$(dirname "$0")/lib.sh"

# Times and the id column width vary: normalise them for exact compares.
norm_times() {
	sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z/TIME/g'
}

# The shape directory of handle $1 in ./var/data.
shape_dir() {
	echo "var/data/shapes/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-4)/$1"
}

test_expect_success '--help and --version print to stdout, exit 0' '
	shapesync-db --help >out 2>err &&
	grep -q "^Usage: shapesync-db " out &&
	test_eq "" "$(cat err)" &&
	shapesync-db -h >out2 && test_cmp out out2 &&
	shapesync-db --version >out 2>err &&
	test_eq "shapesync-db (shapesync) 0.1.0" "$(cat out)" &&
	test_eq "" "$(cat err)" &&
	shapesync-db -V >out2 && test_cmp out out2
'

test_expect_success 'help lines fit in 80 columns' '
	shapesync-db --help >out &&
	for c in $(shapesync-db --list-commands); do
		shapesync-db $c --help >>out || return 1
	done &&
	test_eq "" "$(awk "length > 80" out)"
'

test_expect_success 'hidden --list-commands and --list-options' '
	shapesync-db --list-commands >out &&
	printf "%s\n" init ls show add log rm stats check vacuum compact export \
		import \
		>expect &&
	test_cmp expect out &&
	shapesync-db --list-options >out &&
	printf "%s\n" --registry --dir --log-format --log-level --help --version \
		>expect &&
	test_cmp expect out &&
	shapesync-db add --list-options >out &&
	printf "%s\n" --table --where --params --columns --replica --log \
		--help >expect &&
	test_cmp expect out &&
	shapesync-db ls --list-options >out &&
	printf "%s\n" --json --help >expect &&
	test_cmp expect out &&
	shapesync-db check --list-options >out &&
	printf "%s\n" --repair --quiet --help >expect &&
	test_cmp expect out
'

test_expect_success 'every listed option is in --help and the man page' '
	man="$SS_ROOT/man/shapesync-db.1" &&
	for o in $(shapesync-db --list-options); do
		shapesync-db --help | grep -q -e "$o" || {
			echo "$o not in --help"; return 1; }
		grep -qF -e "$(echo "$o" | sed "s/-/\\\\-/g")" "$man" || {
			echo "$o not in the man page"; return 1; }
	done &&
	for c in $(shapesync-db --list-commands); do
		for o in $(shapesync-db $c --list-options); do
			shapesync-db $c --help | grep -q -e "$o" || {
				echo "$c $o not in --help"; return 1; }
			grep -qF -e "$(echo "$o" | sed "s/-/\\\\-/g")" \
				"$man" || {
				echo "$c $o not in the man page"; return 1; }
		done || return 1
	done
'

test_expect_success 'a command prints its own usage' '
	shapesync-db add --help >out &&
	grep -q "^Usage: shapesync-db \[globals\] add --table TABLE" out &&
	grep -q -- "--params VALUE" out &&
	shapesync-db show -h >out &&
	grep -q "^Usage: shapesync-db \[globals\] show \[--json\] SHAPE" out
'

# Usage errors come before anything is opened: no registry exists here.
test_expect_success 'usage errors exit 2 before opening anything' '
	test_must_fail 2 shapesync-db &&
	test_stderr_has "^shapesync-db: error: no command given$" &&
	test_stderr_has "^hint: try .shapesync-db --help." &&
	test_must_fail 2 shapesync-db frobnicate &&
	test_stderr_has "^shapesync-db: error: unknown command .frobnicate.$" &&
	test_must_fail 2 shapesync-db --bogus ls &&
	test_stderr_has "^shapesync-db: error: unknown option .--bogus.$" &&
	test_must_fail 2 shapesync-db -x ls &&
	test_stderr_has "unknown option .-x." &&
	test_must_fail 2 shapesync-db --registry &&
	test_stderr_has "option .--registry. requires a value" &&
	test_must_fail 2 shapesync-db --registry "" ls &&
	test_must_fail 2 shapesync-db ls --bogus &&
	test_stderr_has "unknown option .--bogus." &&
	test_stderr_has "^hint: try .shapesync-db ls --help." &&
	test_must_fail 2 shapesync-db ls --json=yes &&
	test_stderr_has "option .--json. takes no value" &&
	test_must_fail 2 shapesync-db ls extra &&
	test_stderr_has "unexpected argument .extra." &&
	test_must_fail 2 shapesync-db --registry x.db ls --repair &&
	test_must_fail 2 shapesync-db init extra &&
	test_must_fail 2 shapesync-db show &&
	test_stderr_has "no shape given" &&
	test_must_fail 2 shapesync-db show 1 2 &&
	test_must_fail 2 shapesync-db show not-a-handle &&
	test_stderr_has "invalid shape .not-a-handle." &&
	test_must_fail 2 shapesync-db show 99999999999999999999 &&
	test_stderr_has "invalid shape id" &&
	test_must_fail 2 shapesync-db rm &&
	test_must_fail 2 shapesync-db rm 1 x-y &&
	test_must_fail 2 shapesync-db import a b &&
	test_must_fail 2 shapesync-db add &&
	test_stderr_has "option .--table. is required" &&
	test_must_fail 2 shapesync-db add --table &&
	test_stderr_has "option .--table. requires a value" &&
	test_must_fail 2 shapesync-db add --table a-b &&
	test_stderr_has "invalid --table .a-b.: Invalid unquoted identifier" &&
	test_must_fail 2 shapesync-db add --table t --table u &&
	test_stderr_has "option .--table. given twice" &&
	test_must_fail 2 shapesync-db add --table t --columns "a,,b" &&
	test_stderr_has "invalid --columns" &&
	test_must_fail 2 shapesync-db add --table t --replica half &&
	test_stderr_has "invalid --replica .half." &&
	test_must_fail 2 shapesync-db add --table t --log none &&
	test_stderr_has "invalid --log .none." &&
	test_must_fail 2 shapesync-db add --table t --where "$(printf "a\377")" &&
	test_stderr_has "invalid --where: not valid UTF-8" &&
	test ! -e var
'

test_expect_success 'a missing registry: exit 1, hint to run init' '
	for c in ls "show 1" "add --table t" "rm 1" stats check vacuum \
		 export import; do
		test_must_fail 1 shapesync-db $c </dev/null || return 1
		test_stderr_has \
		"^shapesync-db: error: registry ..\/var\/registry.db. does not exist$" &&
		test_stderr_has "^hint: run .shapesync-db init. first" ||
		return 1
	done &&
	test ! -e var
'

test_expect_success 'init creates registry and data dir, silently, twice' '
	shapesync-db init >out 2>err &&
	test_eq "" "$(cat out err)" &&
	test -f var/registry.db &&
	test -d var/data/shapes &&
	test -d var/data/trash &&
	shapesync-db init >out 2>err &&
	test_eq "" "$(cat out err)"
'

test_expect_success 'an empty registry lists only the header' '
	shapesync-db ls >out &&
	grep -q "^ *ID HANDLE  *TABLE  *SNAPSHOT CREATED  *LAST_READ  *WHERE$" out &&
	test_eq 1 "$(wc -l <out)" &&
	shapesync-db ls --json >out &&
	test_eq "" "$(cat out)" &&
	shapesync-db export >out &&
	test_eq "" "$(cat out)"
'

test_expect_success 'add prints "<id> <handle>" and nothing else' '
	shapesync-db add --table items --where "price > \$1" --params 10 \
		>out 2>err &&
	test_eq "" "$(cat err)" &&
	test_eq 1 "$(wc -l <out)" &&
	grep -E -q "^1 [0-9]{1,10}-[0-9]{1,20}$" out &&
	cp out add1 &&
	shapesync-db add --table public.todos --columns "title,id" \
		--replica full --log changes_only >add2 &&
	grep -E -q "^2 [0-9]{1,10}-[0-9]{1,20}$" add2
'

test_expect_success 'add of an existing definition returns the same shape' '
	shapesync-db add --table ITEMS --where " price > \$1 " --params 10 \
		>out &&
	test_cmp add1 out &&
	shapesync-db add --params 10 --where "price > \$1" \
		--table public.items --replica default --log full >out &&
	test_cmp add1 out &&
	shapesync-db add --table todos --columns "id,title,id" \
		--replica full --log changes_only >out &&
	test_cmp add2 out &&
	shapesync-db add --table items --where "price > \$1" --params 11 \
		>add3 &&
	grep -E -q "^3 " add3 &&
	shapesync-db rm 3
'

test_expect_success 'ls: a table in id order' '
	h1=$(cut -d" " -f2 add1) && h2=$(cut -d" " -f2 add2) &&
	# CREATED is 20 wide: after norm_times, TIME is followed by one space.
	f="%2s %-27s %-12s %-8s %s %-20s %s\n" &&
	{
	printf "$f" ID HANDLE TABLE SNAPSHOT "CREATED             " \
		LAST_READ WHERE
	printf "$f" 1 "$h1" public.items pending TIME - "price > \$1"
	printf "$f" 2 "$h2" public.todos pending TIME - -
	} >expect &&
	shapesync-db ls >out &&
	norm_times <out >actual &&
	test_cmp expect actual
'

test_expect_success 'ls --json and export: one record per line' '
	shapesync-db ls --json >out &&
	test_eq 2 "$(wc -l <out)" &&
	sed -n 1p out | grep -q "^{\"id\":1,\"handle\":\"$(cut -d" " -f2 add1)\"" &&
	sed -n 2p out | grep -q "^{\"id\":2,\"handle\":\"$(cut -d" " -f2 add2)\"" &&
	shapesync-db export >out2 &&
	test_cmp out out2 &&
	shapesync-db show --json 2 >out3 &&
	sed -n 2p out >expect &&
	test_cmp expect out3
'

test_expect_success 'show by id and by handle' '
	h1=$(cut -d" " -f2 add1) &&
	cat >expect <<-EOF &&
	id: 1
	handle: $h1
	table: public.items
	where: price > \$1
	params: "10"
	columns: *
	replica: default
	log: full
	hash: ${h1%%-*}
	oids: -
	snapshot: pending
	pg_snapshot: -
	created: TIME
	last_read: -
	active_lsn: -
	definition: {"schema":"public","table":"items","where":"price > \$1","params":["10"],"columns":null,"replica":"default","log":"full"}
	EOF
	shapesync-db show 1 >out &&
	norm_times <out >actual &&
	test_cmp expect actual &&
	shapesync-db show "$h1" >out2 &&
	test_cmp out out2 &&
	grep -q "^created: [0-9-]*T[0-9:]*\.[0-9]\{6\}Z$" out
'

test_expect_success 'show: columns, replica and log' '
	shapesync-db show "$(cut -d" " -f2 add2)" >out &&
	grep -q "^columns: id, title$" out &&
	grep -q "^replica: full$" out &&
	grep -q "^log: changes_only$" out &&
	grep -q "^where: -$" out &&
	grep -q "^params: -$" out
'

test_expect_success 'show of a missing shape exits 3' '
	test_must_fail 3 shapesync-db show 99 &&
	test_stderr_has "^shapesync-db: error: no shape .99.$" &&
	test_must_fail 3 shapesync-db show 0 &&
	test_must_fail 3 shapesync-db show 3 &&
	test_must_fail 3 shapesync-db show 1-1 &&
	test_stderr_has "^shapesync-db: error: no shape .1-1.$"
'

test_expect_success 'stats: every key, text and JSON' '
	shapesync-db stats >out &&
	cut -d: -f1 out >keys &&
	printf "%s\n" registry data_dir shapes schema_version durable_lsn stream db_bytes \
		wal_bytes next_id pending_writes buffer_capacity \
		read_connections write_connection flushes flushed_ops \
		flush_errors writer_waits touches_dropped conflicts \
		shape_dirs stray_entries trash_entries >expect &&
	test_cmp expect keys &&
	grep -q "^registry: ./var/registry.db$" out &&
	grep -q "^data_dir: ./var/data$" out &&
	grep -q "^shapes: 2$" out &&
	grep -q "^schema_version: 5$" out &&
	grep -q "^durable_lsn: 0/0$" out &&
	grep -q "^stream: 0$" out &&
	max=$(shapesync-db ls --json | jq -s "map(.id) | max") &&
	test "$(sed -n "s/^next_id: //p" out)" -gt "$max" &&
	grep -q "^shape_dirs: 0$" out &&
	grep -q "^trash_entries: 0$" out &&
	shapesync-db stats --json >out &&
	test_eq 1 "$(wc -l <out)" &&
	grep -q "^{\"registry\":\"./var/registry.db\",\"data_dir\":\"./var/data\",\"shapes\":2,\"schema_version\":5,\"durable_lsn\":\"0/0\",\"stream\":0,\"db_bytes\":[0-9]*," out &&
	grep -q ",\"shape_dirs\":0,\"stray_entries\":0,\"trash_entries\":0}$" out
'

test_expect_success 'rm of a missing shape removes nothing, exits 3' '
	shapesync-db export >before &&
	test_must_fail 3 shapesync-db rm 1 77 "$(cut -d" " -f2 add2)" 1-2 &&
	test_stderr_has "^shapesync-db: error: no shape .77.$" &&
	test_stderr_has "^shapesync-db: error: no shape .1-2.$" &&
	test_stderr_has "^detail: nothing was removed$" &&
	shapesync-db export >after &&
	test_cmp before after
'

test_expect_success 'rm removes the shapes and trashes their data' '
	h1=$(cut -d" " -f2 add1) && h2=$(cut -d" " -f2 add2) &&
	mkdir -p "$(shape_dir "$h1")" "$(shape_dir "$h2")" &&
	echo log >"$(shape_dir "$h1")/log" &&
	shapesync-db stats >out &&
	grep -q "^shape_dirs: 2$" out &&
	shapesync-db rm "$h1" 1 >out 2>err &&
	test_eq "" "$(cat out err)" &&
	test ! -e "$(shape_dir "$h1")" &&
	test -d "$(shape_dir "$h2")" &&
	test_must_fail 3 shapesync-db show 1 &&
	shapesync-db stats >out &&
	grep -q "^shapes: 1$" out &&
	grep -q "^shape_dirs: 1$" out &&
	grep -q "^trash_entries: 1$" out &&
	test_eq 1 "$(ls var/data/trash | wc -l)" &&
	test_eq log "$(cat var/data/trash/*/log)"
'

test_expect_success 'ids are never reused' '
	shapesync-db add --table items --where "price > \$1" --params 10 >out &&
	test_eq 1 "$(wc -l <out)" &&
	id=$(cut -d" " -f1 out) &&
	test "$id" -gt 3 &&
	test "$(cut -d" " -f2 out)" != "$(cut -d" " -f2 add1)"
'

test_expect_success 'vacuum empties the trash and reports it' '
	shapesync-db vacuum >out 2>err &&
	test_eq "" "$(cat err)" &&
	cut -d: -f1 out >keys &&
	printf "%s\n" db_bytes_before db_bytes_after trash_entries_removed \
		>expect &&
	test_cmp expect keys &&
	grep -q "^trash_entries_removed: 1$" out &&
	test_eq 0 "$(ls var/data/trash | wc -l)" &&
	shapesync-db vacuum >out &&
	grep -q "^trash_entries_removed: 0$" out
'

test_expect_success 'locations from the environment and from options' '
	SHAPESYNC_REGISTRY=env.db SHAPESYNC_DATA_DIR=envdata \
		shapesync-db init &&
	test -f env.db && test -d envdata/shapes &&
	SHAPESYNC_REGISTRY=env.db shapesync-db add --table t >out &&
	grep -q "^1 " out &&
	shapesync-db --registry env.db --dir envdata stats >out &&
	grep -q "^shapes: 1$" out &&
	grep -q "^data_dir: envdata$" out &&
	SHAPESYNC_REGISTRY=nope.db shapesync-db --registry env.db ls --json \
		>out &&
	test_eq 1 "$(wc -l <out)" &&
	shapesync-db --registry deep/er/reg.db --dir deep/er/data init &&
	test -f deep/er/reg.db && test -d deep/er/data/trash
'

test_expect_success 'ls: the table column is at most 40 wide' '
	long=abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz &&
	shapesync-db --registry w.db --dir w init &&
	shapesync-db --registry w.db add --table short >/dev/null &&
	shapesync-db --registry w.db add --table "\"Big\"" >/dev/null &&
	shapesync-db --registry w.db add --table $long >/dev/null &&
	shapesync-db --registry w.db ls >out &&
	sed -n 1p out | grep -q "^ID HANDLE  *TABLE                                    SNAPSHOT " &&
	sed -n 2p out | grep -q "^ 1 [0-9-]*  *public.short                             pending " &&
	sed -n 3p out | grep -q "^ 2 [0-9-]*  *public.\"Big\"                             pending " &&
	sed -n 4p out | grep -q "^ 3 [0-9-]*  *public.$long pending "
'

test_expect_success 'reachable as "shapesync db"' '
	shapesync db --registry env.db ls --json >out &&
	test_eq 1 "$(wc -l <out)" &&
	shapesync db --list-commands >out &&
	grep -q "^import$" out
'

test_expect_success 'a write error on stdout exits 1' '
	if [ -w /dev/full ]; then
		test_must_fail 1 shapesync-db --help >/dev/full &&
		test_must_fail 1 shapesync-db --registry env.db ls >/dev/full &&
		test_stderr_has "could not write to standard output"
	fi
'

test_done
