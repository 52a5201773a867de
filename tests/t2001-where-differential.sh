#!/bin/sh
# Differential test of lib/where against a real PostgreSQL: thousands of
# generated (expression, row) pairs are evaluated by lib/where and by
# PostgreSQL (SELECT <expr> FROM t WHERE id = <row>), and must agree on the
# result (true/false/null) and on whether there is an error at all (the
# messages are compared too, and counted, but wording differences such as
# Electric's "unknown reference" do not fail the test). The database uses
# the C locale, as lib/where assumes. WHERE_DIFF_SEED and WHERE_DIFF_CASES
# change the generated set (3000 clauses x 12 rows by default).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"

SEED=${WHERE_DIFF_SEED:-20261121}
NCASES=${WHERE_DIFF_CASES:-3000}
NROWS=12
GEN="$SS_BUILD/tests/test-where-gen"

pg_start

psql_in() {
	psql -X -q -v ON_ERROR_STOP=1 -At "$@"
}

# The session settings shapesync uses for its own connections.
cat >session.sql <<'SQL'
SET extra_float_digits = 1;
SET DateStyle = 'ISO, DMY';
SET TimeZone = 'UTC';
SET IntervalStyle = 'postgres';
SQL

# For each case and row: the result as t/f/n, or E:<message>. The
# expression is evaluated once per row in the select list of a subquery
# that is not flattened, so nothing is folded with the row's values.
cat >run.sql <<'SQL'
CREATE TABLE res (cid int, rid int, r text);
DO $do$
DECLARE
	c record; rw record; v text; typ text; msg text;
BEGIN
	FOR c IN SELECT * FROM cases ORDER BY id LOOP
		FOR rw IN SELECT id FROM t ORDER BY id LOOP
			BEGIN
				EXECUTE format($f$SELECT pg_typeof(x)::text, x::text FROM (SELECT (%s) AS x FROM t WHERE id = %s OFFSET 0) s$f$, c.expr, rw.id) INTO typ, v;
				IF typ IS DISTINCT FROM 'boolean' THEN
					msg := 'E:WHERE clause must return a boolean';
				ELSIF v IS NULL THEN
					msg := 'n';
				ELSIF v = 'true' THEN
					msg := 't';
				ELSE
					msg := 'f';
				END IF;
			EXCEPTION WHEN others THEN
				msg := 'E:' || replace(replace(SQLERRM, E'\n', ' '), E'\t', ' ');
			END;
			INSERT INTO res VALUES (c.id, rw.id, msg);
		END LOOP;
	END LOOP;
END
$do$;
COPY (SELECT cid, rid, r FROM res ORDER BY cid, rid) TO STDOUT;
SQL

test_expect_success 'generate the schema, rows and cases' '
	"$GEN" schema >schema.sql &&
	"$GEN" rows "$SEED" $NROWS >rows.in &&
	"$GEN" cases "$SEED" $NCASES >cases.txt &&
	test $(wc -l <cases.txt) = $NCASES
'

test_expect_success 'load the rows into PostgreSQL and read them back as text' '
	psql_in -f schema.sql &&
	psql_in -c "COPY t FROM STDIN" <rows.in &&
	{ cat session.sql; echo "COPY (SELECT * FROM t ORDER BY id) TO STDOUT;"; } |
		psql_in >rows.out &&
	test $(wc -l <rows.out) = $NROWS
'

# PostgreSQL has no "unknown"-typed parameters for EXECUTE, so $1..$4
# become the untyped literals that lib/where is given as parameters, and
# backslashes are doubled for COPY.
test_expect_success 'evaluate every pair in PostgreSQL' '
	sed -e "s/\\\$1/'"'"'5'"'"'/g" -e "s/\\\$2/'"'"'abc'"'"'/g" \
		-e "s/\\\$3/'"'"'2024-01-15 10:00:00+02'"'"'/g" \
		-e "s/\\\$4/'"'"'{1,5}'"'"'/g" \
		-e "s/\\\\/\\\\\\\\/g" cases.txt |
		awk "{ printf \"%d\\t%s\\n\", NR, \$0 }" >cases.pg &&
	psql_in -c "CREATE TABLE cases (id int, expr text)" &&
	psql_in -c "COPY cases FROM STDIN" <cases.pg &&
	cat session.sql run.sql | psql_in >pg.out &&
	test $(wc -l <pg.out) = $((NCASES * NROWS))
'

test_expect_success 'evaluate every pair with lib/where' '
	"$GEN" eval cases.txt rows.out >ss.out &&
	test $(wc -l <ss.out) = $((NCASES * NROWS))
'

test_expect_success 'lib/where agrees with PostgreSQL on every pair' '
	paste pg.out ss.out | awk -F "\t" "
		{ total++ }
		{ pe = substr(\$3, 1, 2) == \"E:\"; se = substr(\$6, 1, 2) == \"E:\" }
		pe && se {
			# PostgreSQL gives the position apart from the message,
			# and COPY doubles backslashes.
			errs++; m = \$6; sub(/^E:At location [0-9]+: /, \"E:\", m)
			p = \$3; gsub(/\\\\\\\\/, \"\\\\\", p)
			if (p == m) same++
		}
		(pe != se) || (!pe && \$3 != \$6) {
			bad++
			if (bad <= 40) printf \"case %s row %s: pg=%s ss=%s\\n\", \$1, \$2, \$3, \$6
		}
		END {
			if (total == 0) { print \"no pairs\"; exit 1 }
			printf \"# %d pairs, %d agree (%.2f%%), %d errors on both sides (%d with the same message)\\n\", total, total - bad, 100 * (total - bad) / total, errs, same
			exit bad > 0
		}" >report.txt; st=$?
	cat report.txt
	if [ $st != 0 ]; then
		grep "^case" report.txt | while read -r _ c _; do
			echo "case $c: $(sed -n "${c}p" cases.txt)"
		done | sort -u | head -n 40
	fi
	return $st
'

[ -f report.txt ] && say "$(grep '^#' report.txt | sed 's/^# //')"
test_done
