#!/bin/sh
# shapesync-replicate: inserts, updates (also of the primary key), deletes,
# truncates, multi-table transactions and ALTER TABLE mid-stream become the
# frames of shapesync-frames(5), in a well-formed stream, with 64-bit xids
# equal to pg_current_xact_id() (the cluster's xid epoch is set to 5), and
# the same frames again from a slot nothing acknowledged.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start
tool=$SS_BUILD/tests/test-tool

# A cluster in xid epoch 5: 32-bit xids alone would be off by 5 * 2^32.
pg_stop
if [ "$(id -u)" = 0 ]; then
	runuser -u postgres -- "$PG_BINDIR/pg_resetwal" -e 5 -D "$PG_DATA" >/dev/null
else
	"$PG_BINDIR/pg_resetwal" -e 5 -D "$PG_DATA" >/dev/null
fi
pg_restart

test_expect_success 'setup: two tables, slot, registry with nothing durable' '
	test "$(pg_psql "SELECT pg_current_xact_id()")" -gt 21474836480 &&
	pg_psql "CREATE TABLE a (id int PRIMARY KEY, v text)" \
		"CREATE TABLE b (k text, n int, PRIMARY KEY (n, k))" \
		"CREATE TABLE other (id int)" &&
	shapesync-db --registry reg.db init &&
	shapesync-replicate --registry reg.db --table a --table b --create-slot &&
	pg_psql "SELECT tablename FROM pg_publication_tables
		WHERE pubname = '\''shapesync'\'' ORDER BY 1" >pubs &&
	printf "a\nb\n" >expect &&
	test_cmp expect pubs &&
	test_eq "ff" "$(pg_psql "SELECT string_agg(relreplident::text, '\'''\'' ORDER BY relname)
		FROM pg_class WHERE relname IN ('\''a'\'', '\''b'\'')")"
'

test_expect_success 'writes of every kind' '
	x1=$(pg_psql "BEGIN" "INSERT INTO a VALUES (1, '\''one'\''), (2, '\''two'\'')" \
		"SELECT pg_current_xact_id()" "COMMIT") &&
	x2=$(pg_psql "BEGIN" "UPDATE a SET v = '\''uno'\'' WHERE id = 1" \
		"SELECT pg_current_xact_id()" "COMMIT") &&
	x3=$(pg_psql "BEGIN" "UPDATE a SET id = 10 WHERE id = 1" \
		"SELECT pg_current_xact_id()" "COMMIT") &&
	x4=$(pg_psql "BEGIN" "DELETE FROM a WHERE id = 2" \
		"INSERT INTO b VALUES ('\''x'\'', 1)" \
		"INSERT INTO other VALUES (1)" \
		"UPDATE b SET n = 2" \
		"INSERT INTO a VALUES (3, NULL)" \
		"SELECT pg_current_xact_id()" "COMMIT") &&
	x5=$(pg_psql "BEGIN" "TRUNCATE a, b" "SELECT pg_current_xact_id()" "COMMIT") &&
	pg_psql "INSERT INTO other VALUES (2)" &&
	x6=$(pg_psql "BEGIN" "INSERT INTO a VALUES (4, '\''before'\'')" \
		"ALTER TABLE a ADD COLUMN extra text DEFAULT '\''d'\''" \
		"INSERT INTO a VALUES (5, '\''after'\'', '\''e'\'')" \
		"SELECT pg_current_xact_id()" "COMMIT") &&
	x7=$(pg_psql "BEGIN" "UPDATE a SET v = '\''later'\'' WHERE id = 4" \
		"SELECT pg_current_xact_id()" "COMMIT") &&
	echo "$x1 $x2 $x3 $x4 $x5 $x6 $x7" >xids &&
	pg_psql "SELECT pg_current_wal_lsn()" >endpos &&
	shapesync-replicate --registry reg.db --table a --table b \
		--endpos "$(cat endpos)" >frames &&
	"$tool" frames-check frames >/dev/null
'

test_expect_success 'one transaction per commit, with its xid8' '
	jq -r "select(.type == \"begin\") | .xid" frames | tr "\n" " " |
		sed "s/ \$//" >got &&
	echo >>got &&
	test_cmp xids got &&
	test_eq 7 "$(grep -c "\"type\":\"commit\"" frames)"
'

test_expect_success 'inserts, updates and deletes with old and new rows' '
	jq -c "select(.xid == $(cut -d" " -f1 xids) and .type == \"change\") |
		[.op, .pos, .new, .old]" frames >got &&
	cat >expect <<-\EOF &&
	["insert",0,{"id":"1","v":"one"},null]
	["insert",1,{"id":"2","v":"two"},null]
	EOF
	test_cmp expect got &&
	jq -c "select(.type == \"change\" and .op == \"update\") |
		[.pos, .new, .old]" frames | head -n 2 >got &&
	cat >expect <<-\EOF &&
	[0,{"id":"1","v":"uno"},{"id":"1","v":"one"}]
	[0,{"id":"10","v":"uno"},{"id":"1","v":"uno"}]
	EOF
	test_cmp expect got
'

test_expect_success 'a multi-table transaction numbers its changes' '
	jq -c "select(.xid == $(cut -d" " -f4 xids) and .type == \"change\") |
		[.pos, .op, .new, .old]" frames >got &&
	cat >expect <<-\EOF &&
	[0,"delete",null,{"id":"2","v":"two"}]
	[1,"insert",{"k":"x","n":"1"},null]
	[2,"update",{"k":"x","n":"2"},{"k":"x","n":"1"}]
	[3,"insert",{"id":"3","v":null},null]
	EOF
	test_cmp expect got &&
	jq -r "select(.type == \"relation\" and .table == \"b\") | .columns[] |
		\"\(.name) \(.pk) \(.key_index)\"" frames >got &&
	printf "k true 1\nn true 0\n" >expect &&
	test_cmp expect got
'

test_expect_success 'a truncate names both tables' '
	oa=$(pg_psql "SELECT '\''a'\''::regclass::oid") &&
	ob=$(pg_psql "SELECT '\''b'\''::regclass::oid") &&
	jq -c "select(.type == \"truncate\") | [.xid, .pos, (.oids | sort)]" \
		frames >got &&
	echo "[$(cut -d" " -f5 xids),0,[$oa,$ob]]" >expect &&
	test_cmp expect got
'

test_expect_success 'ALTER TABLE ADD COLUMN mid-transaction: a new relation frame' '
	oa=$(pg_psql "SELECT '\''a'\''::regclass::oid") &&
	jq -c "select(.type == \"relation\" and .oid == $oa) |
		[.columns[].name]" frames >got &&
	printf "%s\n" "[\"id\",\"v\"]" "[\"id\",\"v\",\"extra\"]" >expect &&
	test_cmp expect got &&
	x6=$(cut -d" " -f6 xids) &&
	awk "/^{\"type\":\"begin\",\"xid\":$x6,/ { p = 1 } p { print }
		/^{\"type\":\"commit\",\"xid\":$x6,/ { p = 0 }" frames |
		jq -c "select(.type != \"begin\" and .type != \"commit\") |
		[.type, .pos, .new]" >got &&
	cat >expect <<-\EOF &&
	["change",0,{"id":"4","v":"before"}]
	["relation",null,null]
	["change",1,{"id":"5","v":"after","extra":"e"}]
	EOF
	test_cmp expect got &&
	jq -c "select(.xid == $(cut -d" " -f7 xids) and .type == \"change\") |
		[.new, .old]" frames >got &&
	echo "[{\"id\":\"4\",\"v\":\"later\",\"extra\":\"d\"},{\"id\":\"4\",\"v\":\"before\",\"extra\":\"d\"}]" >expect &&
	test_cmp expect got
'

test_expect_success 'every change carries its transaction commit LSN' '
	jq -r "select(.type == \"begin\") | .lsn" frames >begins &&
	jq -r "select(.type == \"commit\") | .lsn" frames >commits &&
	test_cmp begins commits &&
	jq -r "select(.type == \"change\" or .type == \"truncate\") |
		\"\(.xid) \(.lsn)\"" frames | sort -u >pairs &&
	jq -r "select(.type == \"begin\") | \"\(.xid) \(.lsn)\"" frames |
		sort >all &&
	test_eq "" "$(comm -23 pairs all)"
'

test_expect_success 'nothing durable, nothing acknowledged: the same frames again' '
	shapesync-replicate --registry reg.db --table a --table b \
		--endpos "$(cat endpos)" >again &&
	grep -v "\"type\":\"progress\"" frames >f1 &&
	grep -v "\"type\":\"progress\"" again >f2 &&
	test_cmp f1 f2
'

test_expect_success '--ack=received acknowledges what was written' '
	shapesync-replicate --table a --table b --ack=received \
		--endpos "$(cat endpos)" >/dev/null &&
	confirmed=$(pg_psql "SELECT confirmed_flush_lsn FROM pg_replication_slots") &&
	last=$(jq -r "select(.type == \"commit\") | .end_lsn" frames | tail -n 1) &&
	test_eq t "$(pg_psql "SELECT '\''$confirmed'\''::pg_lsn >= '\''$last'\''::pg_lsn")" &&
	shapesync-replicate --table a --table b --ack=received \
		--endpos "$(cat endpos)" >after &&
	test_eq 0 "$(grep -c "\"type\":\"change\"" after)"
'

test_expect_success 'nothing written yet: WAL that held nothing gives progress' '
	test_eq 0/0 "$("$tool" durable-lsn reg.db)" &&
	pg_psql "INSERT INTO other VALUES (3)" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	shapesync-replicate --registry reg.db --table a --table b \
		--endpos "$end" >progress &&
	test_eq 2 "$(wc -l <progress)" &&
	test_eq stream "$(sed -n 1p progress | jq -r .type)" &&
	p=$(jq -r "select(.type == \"progress\") | .lsn" progress) &&
	test_eq t "$(pg_psql "SELECT '\''$p'\''::pg_lsn >= '\''$end'\''::pg_lsn")"
'

# Route's move-in markers (docs/subqueries.md): a non-transactional
# logical message with the prefix "shapesync" and text content becomes a
# mark frame at its position (the LSN pg_logical_emit_message returns);
# transactional ones, other prefixes and binary content are someone
# else's.
test_expect_success 'logical messages: ours become mark frames' '
	pg_psql "SELECT pg_logical_emit_message(false, '\''other'\'', '\''x'\'')" \
		"SELECT pg_logical_emit_message(true, '\''shapesync'\'', '\''in a txn'\'')" \
		"SELECT pg_logical_emit_message(false, '\''shapesync'\'', '\''move 7'\'')" \
		"SELECT pg_logical_emit_message(false, '\''shapesync'\'', '\''\\x00ff'\''::bytea)" \
		>/dev/null &&
	last=$(pg_psql "SELECT pg_logical_emit_message(false, '\''shapesync'\'', '\''last'\'')") &&
	pg_psql "INSERT INTO a VALUES (100, '\''after'\'')" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	shapesync-replicate --registry reg.db --table a --table b \
		--endpos "$end" >marks &&
	"$tool" frames-check marks >/dev/null &&
	jq -r "select(.type == \"mark\") | .mark" marks >got &&
	printf "move 7\nlast\n" >expect &&
	test_cmp expect got &&
	m=$(jq -r "select(.type == \"mark\" and .mark == \"last\") | .lsn" marks) &&
	test_eq "$last" "$m" &&
	test_eq "{\"id\":\"100\",\"v\":\"after\",\"extra\":\"d\"}" \
		"$(jq -c "select(.type == \"change\") | .new" marks | tail -n 1)"
'

test_expect_success 'standard output failing is exit 1, never a retry' '
	pg_psql "INSERT INTO a VALUES (6, '\''full'\'')" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	test_must_fail 1 shapesync-replicate --registry reg.db --table a \
		--endpos "$end" >/dev/full &&
	test_stderr_has "could not write to (standard output|.<stdout>.)" &&
	! grep -q reconnecting "$TEST_DIR/.stderr"
'

test_expect_success 'option errors come before any connection' '
	test_must_fail 2 shapesync-replicate --slot Bad-Name --db "host=/nonexistent" &&
	test_stderr_has "invalid slot name" &&
	test_must_fail 2 shapesync-replicate --ack=sometimes &&
	test_stderr_has "registry. or .received" &&
	test_must_fail 2 shapesync-replicate --endpos 0/zz &&
	test_stderr_has "invalid LSN" &&
	test_must_fail 2 shapesync-replicate --table "a-b" &&
	test_must_fail 2 shapesync-replicate --create-slot --drop-slot &&
	test_must_fail 2 shapesync-replicate --status-interval 0 &&
	test_must_fail 2 shapesync-replicate extra-arg &&
	test_must_fail 1 shapesync-replicate --registry nonexistent.db &&
	test_stderr_has "registry .nonexistent.db. does not exist"
'

test_expect_success 'connection failures: exit 1 with --no-loop' '
	test_must_fail 1 shapesync-replicate --no-loop --ack=received \
		--table a --db "host=$TEST_DIR port=1" &&
	test_stderr_has "could not connect to PostgreSQL"
'

test_done
