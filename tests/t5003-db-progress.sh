#!/bin/sh
# shapesync-db's progress line (issue 16) for check, export and import, as
# compact has: drawn on stderr only when stderr is a terminal (here the
# pseudo-terminal of util-linux's script(1)), never otherwise; --quiet
# removes it and nothing else (errors still print); stdout is the same
# either way.
. "$(dirname "$0")/lib.sh"

db() {
	shapesync-db --registry r.db --dir r.data "$@"
}
# tty FILE CMD: run the shell command CMD with a terminal as its stdin,
# stdout and stderr (CMD redirects stdout itself); what the terminal
# showed goes to FILE, and CMD's exit status is returned.
tty() {
	_f=$1
	shift
	script -qec "$*" /dev/null </dev/null >"$_f"
}
DB="shapesync-db --registry r.db --dir r.data"
ERASE=$(printf '\r\033[K')

test_expect_success 'setup: 40 shapes' '
	db init &&
	for i in $(seq 40); do
		db add --table "t$i" >/dev/null || return 1
	done &&
	db export >want.ndjson && test_eq 40 "$(wc -l <want.ndjson)"
'

test_expect_success 'not a terminal: nothing on stderr, the same stdout' '
	db check >check.out 2>check.err &&
	test_eq "ok: registry consistent" "$(cat check.out)" &&
	test_eq 0 "$(wc -c <check.err)" &&
	db export >export.out 2>export.err &&
	test_cmp want.ndjson export.out &&
	test_eq 0 "$(wc -c <export.err)" &&
	shapesync-db --registry i.db --dir i.data init &&
	shapesync-db --registry i.db --dir i.data import want.ndjson \
		>import.out 2>import.err &&
	test_eq 0 "$(wc -c <import.out)" && test_eq 0 "$(wc -c <import.err)" &&
	shapesync-db --registry i.db --dir i.data export >i.ndjson &&
	test_cmp want.ndjson i.ndjson
'

test_expect_success 'check on a terminal: one line per step, then erased' '
	tty check.tty "$DB check >check2.out" &&
	test_eq "ok: registry consistent" "$(cat check2.out)" &&
	printf "\\rchecking: the registry\\033[K\\r\\033[K\\rchecking: the data dir against 40 shapes\\033[K\\r\\033[K\\rchecking: the shapes'\'' bases and logs\\033[K\\r\\033[K" >check.want &&
	test_cmp check.want check.tty
'

test_expect_success 'check --quiet on a terminal: nothing' '
	tty check.tty "$DB check --quiet >check3.out" &&
	test_eq "ok: registry consistent" "$(cat check3.out)" &&
	test_eq 0 "$(wc -c <check.tty)"
'

test_expect_success 'check on a terminal: findings and the summary unchanged' '
	mkdir r.data/shapes/stray &&
	test_must_fail 3 db check >find.out &&
	{ tty find.tty "$DB check >find2.out"; test $? = 3; } &&
	test_cmp find.out find2.out &&
	grep -q "checking: the data dir against 40 shapes" find.tty &&
	rmdir r.data/shapes/stray
'

test_expect_success 'export on a terminal: counts the shapes, same stdout' '
	tty export.tty "$DB export >export2.out" &&
	test_cmp want.ndjson export2.out &&
	grep -q "^.exporting: 1 of 40 shapes" export.tty &&
	test_eq "$ERASE" "$(tail -c 4 export.tty)" &&
	tty export.tty "$DB export --quiet >export3.out" &&
	test_cmp want.ndjson export3.out &&
	test_eq 0 "$(wc -c <export.tty)"
'

test_expect_success 'export to a terminal: no progress among the records' '
	tty export.tty "$DB export" &&
	! grep -q "exporting" export.tty &&
	test_eq 40 "$(grep -c "^{\"id\":" export.tty)"
'

test_expect_success 'import on a terminal: bytes read of the file, same result' '
	size=$(wc -c <want.ndjson) &&
	shapesync-db --registry j.db --dir j.data init &&
	tty import.tty "shapesync-db --registry j.db --dir j.data import want.ndjson" &&
	grep -q "^.importing: [0-9]* of $size bytes" import.tty &&
	test_eq "$ERASE" "$(tail -c 4 import.tty)" &&
	shapesync-db --registry j.db --dir j.data export >j.ndjson &&
	test_cmp want.ndjson j.ndjson
'

test_expect_success 'import from a pipe on a terminal: bytes read' '
	shapesync-db --registry k.db --dir k.data init &&
	tty import.tty "cat want.ndjson | shapesync-db --registry k.db --dir k.data import" &&
	grep -q "^.importing: [0-9]* bytes" import.tty &&
	shapesync-db --registry k.db --dir k.data export >k.ndjson &&
	test_cmp want.ndjson k.ndjson
'

test_expect_success 'import --quiet on a terminal: nothing, but errors print' '
	shapesync-db --registry l.db --dir l.data init &&
	tty import.tty "shapesync-db --registry l.db --dir l.data import --quiet want.ndjson" &&
	test_eq 0 "$(wc -c <import.tty)" &&
	{ echo "{\"id\":" >bad.ndjson; } &&
	shapesync-db --registry m.db --dir m.data init &&
	{ tty bad.tty "shapesync-db --registry m.db --dir m.data import --quiet bad.ndjson"; test $? = 3; } &&
	grep -q "^shapesync-db: error: bad.ndjson:1: " bad.tty &&
	! grep -q importing bad.tty
'

test_done
