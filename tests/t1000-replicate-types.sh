#!/bin/sh
# shapesync-replicate: every common type reaches the frames as exactly the
# text PostgreSQL prints under the display settings (compared with what
# psql's query gives after the same SETs: the output function, through
# format('%s', col), since col::text differs for bool, char(n) and inet),
# NULLs as null, and a TOASTed value an update left unchanged is filled in
# from the old row.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

pg_start
tool=$SS_BUILD/tests/test-tool

settings="SET bytea_output = hex; SET DateStyle = 'ISO, DMY';
SET TimeZone = 'UTC'; SET extra_float_digits = 1;
SET IntervalStyle = iso_8601;"

cols="c_int2 c_int4 c_int8 c_numeric c_num52 c_float4 c_float8 c_text
c_varchar c_char c_bytea c_bool c_date c_time c_timetz c_timestamp
c_timestamptz c_interval c_uuid c_json c_jsonb c_int_2d c_text_arr c_mood
c_mood_arr c_posint c_label c_inet c_money"

# expected WHERE [COLS]: the rows as psql renders them, one sorted JSON
# object per row: {"id": "1", "<col>": "<output text>" or null, ...};
# with COLS, just those columns, as col::text.
expected() {
	_sel="'id', format('%s', id)"
	for _c in ${2:-$cols}; do
		if [ -n "${2:-}" ]; then
			_sel="$_sel, '$_c', $_c::text"
		else
			_sel="$_sel, '$_c', CASE WHEN $_c IS NOT NULL THEN
				format('%s', $_c) END"
		fi
	done
	printf '%s\n' "$settings" \
		"SELECT json_build_object($_sel) FROM types $1 ORDER BY id;" |
		pg_psql | jq -c -S .
}

test_expect_success 'setup: a table of every common type, slot created' '
	pg_psql "CREATE TYPE mood AS ENUM ('\''sad'\'', '\''ok'\'', '\''happy'\'')" \
		"CREATE DOMAIN posint AS int CHECK (VALUE > 0)" \
		"CREATE DOMAIN label AS text" \
		"CREATE TABLE types (id int PRIMARY KEY, c_int2 int2, c_int4 int4,
		  c_int8 int8, c_numeric numeric, c_num52 numeric(5,2),
		  c_float4 float4, c_float8 float8, c_text text,
		  c_varchar varchar(10), c_char char(3), c_bytea bytea,
		  c_bool bool, c_date date, c_time time, c_timetz timetz,
		  c_timestamp timestamp, c_timestamptz timestamptz,
		  c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb,
		  c_int_2d int[][], c_text_arr text[], c_mood mood,
		  c_mood_arr mood[], c_posint posint, c_label label,
		  c_inet inet, c_money money, big text)" &&
	shapesync-replicate --table types --ack=received --create-slot &&
	test_eq f "$(pg_psql "SELECT relreplident FROM pg_class WHERE relname = '\''types'\''")"
'

cat >insert.sql <<'EOF'
SET TimeZone = 'America/New_York';
INSERT INTO types VALUES
 (1, -32768, -2147483648, -9223372036854775808, 123.4500, 999.99,
  1.1, 0.1, E'h\u00e9llo \u2603 \U0001F600', 'ten chars!', 'a',
  '\x00ff10', true, '2026-11-21', '23:59:59.999999',
  '12:00+05:30', '2026-11-21 07:38:00.123456',
  '2026-11-21 07:38:00.123456+05',
  '1 year 2 months 3 days 04:05:06.789',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a":  [1, 2] }', '{"b": 1, "a": [1, 2.50]}',
  '{{1,2},{3,NULL}}', ARRAY['a b', 'c"d', NULL, 'NULL', 'e\f', '{}'],
  'happy', '{sad,ok}', 42, 'a label', '192.168.0.1/24', 12.34, NULL),
 (2, 32767, 2147483647, 9223372036854775807, 'NaN', -0.5,
  'NaN', 'Infinity', E'quote''\' "" back\\slash\nnew\tline\r\x01',
  '', 'ab', '', false, 'infinity', '00:00',
  '00:00:00-12', '-infinity', 'infinity', '-1 day -00:00:01',
  '00000000-0000-0000-0000-000000000000', '[]', '{}',
  '{}', '{}', 'ok', '{}', 1, '', '::1', -1, NULL),
 (3, 0, 0, 0, 'Infinity', 0, '-Infinity', '-Infinity',
  repeat('x', 3000), NULL, NULL, NULL, NULL, '4713-01-01 BC', NULL,
  NULL, '1999-12-31 23:59:59.5', '2000-01-01 00:00:00+14',
  'P1Y2M3DT4H5M6S', NULL, 'null', '"str"',
  '{{NULL,NULL},{NULL,4}}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, NULL, NULL, NULL, 1e-20, NULL, 3.4028235e38, 1e308, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 1, 1, 1, -123456789012345678901234567890.123456789, 1, -0, -0, ' ',
  NULL, NULL, '\x', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '"\u00e9\n"', '"\u00e9\n"', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL);
EOF

cat >toast.sql <<'EOF'
UPDATE types SET big = (SELECT string_agg(md5(i::text), '')
	FROM generate_series(1, 20000) i) WHERE id = 5;
SELECT octet_length(big) > 100000 AND
	(SELECT reltoastrelid <> 0 FROM pg_class WHERE relname = 'types')
	FROM types WHERE id = 5;
EOF

test_expect_success 'inserted values are the text psql prints' '
	pg_psql <insert.sql &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	shapesync-replicate --table types --ack=received --endpos "$end" >frames &&
	"$tool" frames-check frames >/dev/null &&
	jq -c "select(.type == \"change\") | .new | del(.big)" frames |
		jq -c -S . >actual &&
	expected "" >expect &&
	test_eq 5 "$(wc -l <expect)" &&
	test_cmp expect actual
'

test_expect_success 'col::text agrees, but for the casts of bool, char(n), inet' '
	textcols=$(echo $cols | tr " " "\n" |
		grep -v -x -e c_bool -e c_char -e c_inet | tr "\n" " ") &&
	expected "" "$textcols" >expect &&
	jq -c "select(.type == \"change\") | .new |
		del(.big, .c_bool, .c_char, .c_inet)" frames |
		jq -c -S . >actual &&
	test_cmp expect actual &&
	test_eq true "$(pg_psql "SELECT c_bool::text FROM types WHERE id = 1")" &&
	test_eq "::1/128" "$(pg_psql "SELECT c_inet::text FROM types WHERE id = 2")" &&
	jq -c "select(.type == \"change\") | .new | [.c_bool, .c_char, .c_inet]" \
		frames | head -n 2 >got &&
	printf "%s\n" "[\"t\",\"a  \",\"192.168.0.1/24\"]" \
		"[\"f\",\"ab \",\"::1\"]" >expect &&
	test_cmp expect got
'

test_expect_success 'the relation frame names every type' '
	jq -r "select(.type == \"relation\") | .columns[] |
		\"\(.name) \(.type) \(.pk)\"" frames >rel &&
	grep -x "id int4 true" rel &&
	grep -x "c_numeric numeric false" rel &&
	grep -x "c_int_2d _int4 false" rel &&
	grep -x "c_mood mood false" rel &&
	grep -x "c_mood_arr _mood false" rel &&
	grep -x "c_posint int4 false" rel &&
	grep -x "c_label text false" rel &&
	grep -x "c_timestamptz timestamptz false" rel &&
	test_eq 31 "$(wc -l <rel)" &&
	jq -r "select(.type == \"relation\") | .columns[] |
		select(.name == \"c_varchar\") | .typmod" frames >typmod &&
	test_eq 14 "$(cat typmod)"
'

test_expect_success 'updates and deletes carry old and new values exactly' '
	start=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	pg_psql "UPDATE types SET c_int4 = c_int4 / 2 + 1, c_text = c_text || E'\''\\n!'\'' WHERE id IN (1, 2, 3)" &&
	expected "WHERE id IN (1, 2, 3)" >expect &&
	pg_psql "DELETE FROM types WHERE id = 4" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	shapesync-replicate --table types --ack=received --endpos "$end" >frames &&
	jq -c "select(.op == \"update\") | .new | del(.big)" frames |
		jq -c -S . >actual &&
	test_cmp expect actual &&
	jq -c "select(.op == \"delete\") | .old | del(.big)" frames |
		jq -c -S . >actual &&
	test_eq 4 "$(jq -r .id actual)" &&
	test_eq "\"0.00000000000000000001\"" "$(jq -c .c_numeric actual)" &&
	test_eq "\"3.4028235e+38\"" "$(jq -c .c_float4 actual)"
'

test_expect_success 'a TOASTed value left unchanged by an update is filled in' '
	test_eq t "$(pg_psql <toast.sql)" &&
	start=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	pg_psql "UPDATE types SET c_int4 = 77 WHERE id = 5" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	shapesync-replicate --table types --ack=received --start "$start" \
		--endpos "$end" >frames &&
	test_eq 1 "$(jq -c "select(.op == \"update\")" frames | wc -l)" &&
	want=$(pg_psql "SELECT md5(big) || '\'' '\'' || length(big) FROM types WHERE id = 5") &&
	got=$(jq -j "select(.op == \"update\") | .new.big" frames | md5sum | cut -d" " -f1) &&
	len=$(jq -r "select(.op == \"update\") | .new.big | length" frames) &&
	test_eq "$want" "$got $len" &&
	old=$(jq -j "select(.op == \"update\") | .old.big" frames | md5sum | cut -d" " -f1) &&
	test_eq "$got" "$old" &&
	test_eq "\"77\"" "$(jq -c "select(.op == \"update\") | .new.c_int4" frames)"
'

test_expect_success 'the connection comes from --db, DATABASE_URL or PG*' '
	pg_psql "INSERT INTO types (id) VALUES (100)" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	shapesync-replicate --table types --ack=received --endpos "$end" >f1 &&
	test_eq 1 "$(grep -c "\"op\":\"insert\"" f1)" &&
	pg_psql "INSERT INTO types (id) VALUES (101)" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER \
		shapesync-replicate --table types --ack=received \
		--endpos "$end" >f2 &&
	test_eq "\"101\"" "$(jq -c "select(.type == \"change\") | .new.id" f2)" &&
	pg_psql "INSERT INTO types (id) VALUES (102)" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	env -u DATABASE_URL shapesync-replicate --table types \
		--ack=received --endpos "$end" >f3 &&
	test_eq "\"102\"" "$(jq -c "select(.type == \"change\") | .new.id" f3)" &&
	pg_psql "INSERT INTO types (id) VALUES (103)" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	env -u DATABASE_URL PGDATABASE=postgres shapesync-replicate \
		--db "host=$PGHOST port=$PGPORT dbname=shapesync_test user=postgres" \
		--table types --ack=received --endpos "$end" >f4 &&
	test_eq "\"103\"" "$(jq -c "select(.type == \"change\") | .new.id" f4)"
'

test_expect_success 'options and replication in the connection string are fine' '
	pg_psql "INSERT INTO types (id, c_date) VALUES (104, '\''2026-01-02'\'')" &&
	end=$(pg_psql "SELECT pg_current_wal_lsn()") &&
	shapesync-replicate \
		--db "$DATABASE_URL&options=-c%20work_mem%3D5MB&replication=database" \
		--table types --ack=received --endpos "$end" >f5 &&
	test_eq "\"2026-01-02\"" "$(jq -c "select(.type == \"change\") | .new.c_date" f5)"
'

test_done
