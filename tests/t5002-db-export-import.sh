#!/bin/sh
# shapesync-db export and import: a round trip gives an identical export;
# a bad or conflicting line aborts the whole import (exit 3, naming the
# input and line) and imports nothing.
. "$(dirname "$0")/lib.sh"

# A fresh registry named $1 (its data dir next to it).
fresh() {
	shapesync-db --registry "$1.db" --dir "$1.data" init
}

test_expect_success 'setup: five shapes of every kind' '
	fresh a &&
	shapesync-db --registry a.db add --table items >/dev/null &&
	shapesync-db --registry a.db add --table items \
		--where "price > \$1 AND name = \$2" \
		--params 10 --params "O'\''Brien \"the\" one" >/dev/null &&
	shapesync-db --registry a.db add --table "\"My Schema\".\"Odd\"\"Name\"" \
		--columns "b,\"A\",c" --replica full >/dev/null &&
	shapesync-db --registry a.db add --table todos --log changes_only \
		--where "title LIKE '\''%é%'\''" >/dev/null &&
	shapesync-db --registry a.db add --table users >/dev/null &&
	shapesync-db --registry a.db rm 5 &&
	shapesync-db --registry a.db add --table users --columns id \
		>/dev/null &&
	shapesync-db --registry a.db export >a.ndjson &&
	test_eq 5 "$(wc -l <a.ndjson)" &&
	test_eq "1 2 3 4 6" "$(sed -E "s/^\\{\"id\":([0-9]+),.*/\\1/" a.ndjson | tr "\\n" " " | sed "s/ \$//")"
'

test_expect_success 'export | import into a fresh registry: identical' '
	fresh b &&
	shapesync-db --registry b.db import a.ndjson >out 2>err &&
	test_eq "" "$(cat out err)" &&
	shapesync-db --registry b.db export >b.ndjson &&
	test_cmp a.ndjson b.ndjson &&
	shapesync-db --registry a.db ls >a.ls &&
	shapesync-db --registry b.db ls >b.ls &&
	test_cmp a.ls b.ls &&
	shapesync-db --registry a.db show 3 >a.show &&
	shapesync-db --registry b.db show 3 >b.show &&
	test_cmp a.show b.show &&
	grep -q "^table: \"My Schema\".\"Odd\"\"Name\"$" b.show &&
	grep -q "^columns: \"A\", b, c$" b.show
'

test_expect_success 'import from stdin, also as -' '
	fresh c &&
	shapesync-db --registry c.db import <a.ndjson &&
	shapesync-db --registry c.db export >c.ndjson &&
	test_cmp a.ndjson c.ndjson &&
	fresh d &&
	cat a.ndjson | shapesync-db --registry d.db import - &&
	shapesync-db --registry d.db export >d.ndjson &&
	test_cmp a.ndjson d.ndjson
'

test_expect_success 'imported shapes keep their ids: add finds them' '
	line=$(sed -n 5p a.ndjson) &&
	shapesync-db --registry b.db add --table users --columns id >out &&
	test_eq "6 $(echo "$line" | sed -E "s/.*\"handle\":\"([^\"]*)\".*/\\1/")" \
		"$(cat out)" &&
	shapesync-db --registry b.db add --table other >out &&
	id=$(cut -d" " -f1 out) &&
	test "$id" -gt 6
'

test_expect_success 'blank lines are skipped' '
	fresh e &&
	{ echo; sed -n 1,2p a.ndjson; printf "  \t\n\n"; sed -n 3,5p a.ndjson;
	  echo; } >blanks.ndjson &&
	shapesync-db --registry e.db import blanks.ndjson &&
	shapesync-db --registry e.db export >e.ndjson &&
	test_cmp a.ndjson e.ndjson
'

test_expect_success 'a last line without a newline is read' '
	fresh f &&
	head -c $(($(wc -c <a.ndjson) - 1)) a.ndjson >nonl.ndjson &&
	shapesync-db --registry f.db import nonl.ndjson &&
	shapesync-db --registry f.db export >f.ndjson &&
	test_cmp a.ndjson f.ndjson
'

test_expect_success 'a malformed line 3 of 5: exit 3, nothing imported' '
	fresh g &&
	{ sed -n 1,2p a.ndjson; echo "{\"id\":7,"; sed -n 4,5p a.ndjson; } \
		>bad.ndjson &&
	test_must_fail 3 shapesync-db --registry g.db import bad.ndjson &&
	test_stderr_has "^shapesync-db: error: bad.ndjson:3: " &&
	test_eq 1 "$(grep -c "error:" .stderr)" &&
	shapesync-db --registry g.db export >out &&
	test_eq "" "$(cat out)" &&
	test_must_fail 3 shapesync-db --registry g.db import <bad.ndjson &&
	test_stderr_has "^shapesync-db: error: <stdin>:3: " &&
	shapesync-db --registry g.db export >out &&
	test_eq "" "$(cat out)"
'

test_expect_success 'every kind of bad line is rejected by number' '
	fresh h &&
	for bad in "not json" "[]" "{}" "42" "{\"id\":1}" \
		"$(sed -n 1p a.ndjson | sed "s/\"definition\":{/\"definition\":{\"x\":1,/")" \
		"$(sed -n 1p a.ndjson | sed "s/\"id\":1,/\"id\":-1,/")" \
		"$(sed -n 1p a.ndjson | sed "s/\"handle\":\"/\"handle\":\"x/")" \
		"$(sed -n 1p a.ndjson | sed "s/\"snapshot_state\":\"[a-z]*\"/\"snapshot_state\":\"done\"/")"; do
		{ sed -n 1p a.ndjson; echo "$bad"; } >bad.ndjson &&
		test_must_fail 3 shapesync-db --registry h.db import bad.ndjson ||
			{ echo "accepted: $bad"; return 1; }
		test_stderr_has "^shapesync-db: error: bad.ndjson:2: " ||
			return 1
	done &&
	shapesync-db --registry h.db export >out &&
	test_eq "" "$(cat out)"
'

test_expect_success 'a NUL byte in a line is rejected' '
	fresh n &&
	{ sed -n 1p a.ndjson; printf "{\"id\":\000}\n"; } >nul.ndjson &&
	test_must_fail 3 shapesync-db --registry n.db import nul.ndjson &&
	test_stderr_has "^shapesync-db: error: nul.ndjson:2: " &&
	shapesync-db --registry n.db export >out &&
	test_eq "" "$(cat out)"
'

test_expect_success 'conflicts with existing shapes are rejected' '
	shapesync-db --registry b.db export >before &&
	test_must_fail 3 shapesync-db --registry b.db import a.ndjson &&
	test_stderr_has "^shapesync-db: error: a.ndjson:1: " &&
	shapesync-db --registry b.db export >after &&
	test_cmp before after
'

test_expect_success 'a repeated id, handle or definition is rejected' '
	fresh i &&
	l1=$(sed -n 1p a.ndjson) && l2=$(sed -n 2p a.ndjson) &&
	# the same line twice
	printf "%s\n%s\n%s\n" "$l2" "$l1" "$l1" >dup.ndjson &&
	test_must_fail 3 shapesync-db --registry i.db import dup.ndjson &&
	test_stderr_has "^shapesync-db: error: dup.ndjson:3: " &&
	# line 2 with the id of line 1
	printf "%s\n%s\n" "$l1" "$(echo "$l2" | sed "s/^{\"id\":2,/{\"id\":1,/")" \
		>dupid.ndjson &&
	test_must_fail 3 shapesync-db --registry i.db import dupid.ndjson &&
	test_stderr_has "^shapesync-db: error: dupid.ndjson:2: " &&
	# line 2 with the handle of line 1
	h1=$(echo "$l1" | sed -E "s/.*\"handle\":\"([^\"]*)\".*/\\1/") &&
	printf "%s\n%s\n" "$l1" \
		"$(echo "$l2" | sed -E "s/\"handle\":\"[^\"]*\"/\"handle\":\"$h1\"/")" \
		>duph.ndjson &&
	test_must_fail 3 shapesync-db --registry i.db import duph.ndjson &&
	test_stderr_has "^shapesync-db: error: duph.ndjson:2: " &&
	shapesync-db --registry i.db export >out &&
	test_eq "" "$(cat out)"
'

test_expect_success 'an unreadable input: exit 1' '
	fresh j &&
	test_must_fail 1 shapesync-db --registry j.db import nosuchfile &&
	test_stderr_has "^shapesync-db: error: could not open .nosuchfile.: No such file or directory$" &&
	test_must_fail 1 shapesync-db --registry j.db import . &&
	test_stderr_has "^shapesync-db: error: "
'

test_done
