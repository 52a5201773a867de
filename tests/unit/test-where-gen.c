/*
 * test-where-gen.c — the differential test's two halves on our side:
 * deterministic generation of rows and where expressions from a seed, and
 * evaluation of every (expression, row) pair with lib/where, printed in the
 * same form tests/t2001-where-differential.sh gets from PostgreSQL.
 *
 *   test-where-gen schema            SQL for the enum type and table t
 *   test-where-gen rows SEED N       N rows in COPY text format
 *   test-where-gen cases SEED N      N expressions, one per line
 *   test-where-gen eval CASES ROWS   "case<TAB>row<TAB>result" lines, where
 *                                    ROWS is COPY text output of table t and
 *                                    result is t, f, n or E:<message>
 */
#include "util.h"
#include "where.h"

static const char *const mood_labels[] = {"sad", "ok", "happy"};

static const struct ss_where_column cols[] = {
    {.name = "id", .type = "int4", .is_enum = 0},
    {.name = "i2", .type = "int2", .is_enum = 0},
    {.name = "i4", .type = "int4", .is_enum = 0},
    {.name = "i8", .type = "int8", .is_enum = 0},
    {.name = "f4", .type = "float4", .is_enum = 0},
    {.name = "f8", .type = "float8", .is_enum = 0},
    {.name = "n", .type = "numeric", .is_enum = 0},
    {.name = "t", .type = "text", .is_enum = 0},
    {.name = "v", .type = "varchar", .is_enum = 0},
    {.name = "c", .type = "bpchar", .is_enum = 0},
    {.name = "b", .type = "bool", .is_enum = 0},
    {.name = "u", .type = "uuid", .is_enum = 0},
    {.name = "d", .type = "date", .is_enum = 0},
    {.name = "tm", .type = "time", .is_enum = 0},
    {.name = "ts", .type = "timestamp", .is_enum = 0},
    {.name = "tz", .type = "timestamptz", .is_enum = 0},
    {.name = "iv", .type = "interval", .is_enum = 0},
    {.name = "m",
     .type = "mood",
     .is_enum = 1,
     .enum_labels = mood_labels,
     .n_enum_labels = 3},
    {.name = "ai", .type = "_int4", .is_enum = 0},
    {.name = "at", .type = "_text", .is_enum = 0},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static const char *schema_sql =
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');\n"
    "CREATE TABLE t (id int4 PRIMARY KEY, i2 int2, i4 int4, i8 int8,\n"
    "  f4 float4, f8 float8, n numeric, t text, v varchar(12),\n"
    "  c char(5), b bool, u uuid, d date, tm time, ts timestamp,\n"
    "  tz timestamptz, iv interval, m mood, ai int4[], at text[]);\n";

/* xorshift64*: the same sequence everywhere for a seed */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static int pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

#define PICK(arr) (arr)[pick((int)(sizeof(arr) / sizeof((arr)[0])))]

/* Value pools, written in COPY text format (\N is NULL). */
static const char *const v_i2[] = {"-32768", "32767", "0", "1",
				   "-1",     "100",   "7", "-300"};
static const char *const v_i4[] = {"-2147483648", "2147483647", "0",
				   "1",		  "-1",		"42",
				   "1000000",	  "-77",	"65536"};
static const char *const v_i8[] = {
    "-9223372036854775808", "9223372036854775807", "0", "1", "-1",
    "4294967296",	    "123456789012",	   "-5"};
static const char *const v_f4[] = {"0",	       "-0",	    "1.5",     "NaN",
				   "Infinity", "-Infinity", "3.4e38",  "0.1",
				   "-2.25",    "1e-30",	    "16777217"};
static const char *const v_f8[] = {
    "0",	 "-0",	   "0.1",     "1e308", "NaN", "Infinity",
    "-Infinity", "5e-324", "123.456", "-2.5",  "1",   "9007199254740993"};
static const char *const v_n[] = {
    "0",   "1.50",     "-3.14159", "123456789012345678901234567890.123",
    "NaN", "0.000001", "-0.5",	   "2.5",
    "100", "1e-20",    "Infinity", "-Infinity"};
static const char *const v_t[] = {
    "",	    "abc",    "ABC",	      "a%b",
    "a_b",  "a\\\\b", "h\xc3\xa9llo", "\xe6\x97\xa5\xe6\x9c\xac",
    "x y",  " lead",  "O'Brien",      "123",
    "true", "abcdef", "Abc%"};
static const char *const v_c[] = {"ab", "abcde", "", "x", "a b", "ABC"};
static const char *const v_b[] = {"t", "f"};
static const char *const v_u[] = {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
				  "00000000-0000-0000-0000-000000000000",
				  "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
				  "{a0eebc999c0b4ef8bb6d6bb9bd380a12}"};
static const char *const v_d[] = {"2024-01-15", "2000-02-29",	 "infinity",
				  "-infinity",	"0044-03-15 BC", "1999-12-31",
				  "2024-03-31", "1970-01-01"};
static const char *const v_tm[] = {"00:00:00", "23:59:59.999999", "12:30",
				   "24:00:00", "10:20:30.5"};
static const char *const v_ts[] = {"2024-01-15 10:20:30.5",
				   "infinity",
				   "-infinity",
				   "2000-01-01 00:00:00",
				   "1999-12-31 23:59:59",
				   "2024-01-31 12:00:00",
				   "0001-01-01 00:00:00 BC"};
static const char *const v_tz[] = {
    "2024-01-15 10:20:30+05:30", "2024-06-01 00:00:00-08",
    "2000-01-01 00:00:00Z",	 "infinity",
    "2024-01-15 05:00:00+00",	 "1999-12-31 23:59:59.999-01"};
static const char *const v_iv[] = {
    "1 day",	"-1 days +02:00:00", "1 year 2 mons", "00:00:00",
    "36:00:00", "1 mon -30 days",    "-00:00:01",     "2 days 03:04:05.5"};
static const char *const v_m[] = {"sad", "ok", "happy"};
static const char *const v_ai[] = {"{1,2,3}",	"{}",
				   "{NULL,1}",	"{-2147483648,2147483647}",
				   "{2}",	"{{1,2},{3,4}}",
				   "{3,2,1,2}", "[0:1]={5,6}"};
static const char *const v_at[] = {
    "{a,b}", "{\"x y\",NULL}", "{}", "{h\xc3\xa9llo}", "{abc,ABC}", "{\"\"}"};

static void gen_rows(int n)
{
	int i;

	for (i = 1; i <= n; i++) {
		/* row 1 is all NULL; later rows have some NULLs */
#define COL(pool)                                                              \
	do {                                                                   \
		if (i == 1 || pick(8) == 0)                                    \
			fputs("\t\\N", stdout);                                \
		else                                                           \
			printf("\t%s", PICK(pool));                            \
	} while (0)
		printf("%d", i);
		COL(v_i2);
		COL(v_i4);
		COL(v_i8);
		COL(v_f4);
		COL(v_f8);
		COL(v_n);
		COL(v_t);
		COL(v_t);
		COL(v_c);
		COL(v_b);
		COL(v_u);
		COL(v_d);
		COL(v_tm);
		COL(v_ts);
		COL(v_tz);
		COL(v_iv);
		COL(v_m);
		COL(v_ai);
		COL(v_at);
		putchar('\n');
#undef COL
	}
}

/* ------------------------------------------------------------------ */
/* Expression generator */

static struct ss_buf out;

static void emit(const char *s)
{
	ss_buf_adds(&out, s);
}

static void g_num(int depth);
static void g_bool(int depth);
static void g_text(int depth);

static const char *const lit_int[] = {"0",
				      "1",
				      "-1",
				      "2",
				      "10",
				      "32767",
				      "-32768",
				      "2147483647",
				      "-2147483648",
				      "2147483648",
				      "9223372036854775807",
				      "-9223372036854775808",
				      "100000",
				      "3",
				      "7"};
static const char *const lit_num[] = {"1.5",
				      "0.1",
				      "-0.5",
				      "2.50",
				      "1e3",
				      "1e-3",
				      "123456789012345678901234567890",
				      "0.000001",
				      "'NaN'::numeric",
				      "'Infinity'::numeric",
				      "3.14159"};
static const char *const lit_float[] = {
    "'NaN'::float8", "'Infinity'::float8", "'-Infinity'::float8",
    "'-0'::float8",  "1.5::float8",	   "0.1::float4",
    "1e308::float8", "'3.4e38'::float4",   "2::float8",
    "0.5::real"};
static const char *const num_cols[] = {"i2", "i4", "i8", "f4", "f8", "n", "id"};
static const char *const int_casts[] = {
    "::int2",	"::int4",   "::int8",	       "::numeric",
    "::float4", "::float8", "::numeric(10,2)", "::numeric(5)"};

static void g_num(int depth)
{
	int k = depth <= 0 ? pick(3) : pick(12);

	switch (k) {
	case 0:
	case 1:
		emit(PICK(num_cols));
		break;
	case 2:
		switch (pick(3)) {
		case 0:
			emit(PICK(lit_int));
			break;
		case 1:
			emit(PICK(lit_num));
			break;
		default:
			emit(PICK(lit_float));
		}
		break;
	case 3:
	case 4:
	case 5: {
		static const char *const ops[] = {" + ", " - ", " * ", " / ",
						  " % ", "+",	"-"};

		emit("(");
		g_num(depth - 1);
		emit(PICK(ops));
		g_num(depth - 1);
		emit(")");
		break;
	}
	case 6:
		emit("-");
		emit("(");
		g_num(depth - 1);
		emit(")");
		break;
	case 7:
		emit("(");
		g_num(depth - 1);
		emit(")");
		emit(PICK(int_casts));
		break;
	case 8: {
		static const char *const fn[] = {"COALESCE(", "GREATEST(",
						 "LEAST("};

		emit(PICK(fn));
		g_num(depth - 1);
		emit(", ");
		g_num(depth - 1);
		emit(")");
		break;
	}
	case 9:
		emit(pick(2) ? "ai[" : "ai[");
		emit(pick(3) == 0 ? "0" : pick(2) ? "1" : "2");
		emit("]");
		break;
	case 10:
		switch (pick(4)) {
		case 0:
			emit("(d - '2000-01-01'::date)");
			break;
		case 1:
			emit("b::int4");
			break;
		case 2:
			emit("$1");
			break;
		default:
			emit("length_is_not_supported");
		}
		break;
	default:
		emit(PICK(num_cols));
	}
}

static const char *const lit_text[] = {
    "'abc'",	 "''",
    "'ABC'",	 "'h\xc3\xa9llo'",
    "'x y'",	 "'123'",
    "'a%b'",	 "'O''Brien'",
    "E'a\\\\b'", "'\xe6\x97\xa5\xe6\x9c\xac'",
    "'abcde'",	 "'ab   '"};
static const char *const text_cols[] = {"t", "v", "c", "m::text"};

static void g_text(int depth)
{
	int k = depth <= 0 ? pick(2) : pick(8);

	switch (k) {
	case 0:
		emit(PICK(text_cols));
		break;
	case 1:
		emit(PICK(lit_text));
		break;
	case 2:
		emit(pick(2) ? "lower(" : "upper(");
		g_text(depth - 1);
		emit(")");
		break;
	case 3:
		emit("(");
		g_text(depth - 1);
		emit(" || ");
		if (pick(3) == 0)
			g_num(depth - 1);
		else
			g_text(depth - 1);
		emit(")");
		break;
	case 4:
		emit("concat(");
		g_text(depth - 1);
		emit(", ");
		g_num(depth - 1);
		emit(")");
		break;
	case 5:
		emit("(");
		g_num(depth - 1);
		emit(")::text");
		break;
	case 6:
		emit("at[");
		emit(pick(2) ? "1" : "2");
		emit("]");
		break;
	default:
		emit("COALESCE(");
		g_text(depth - 1);
		emit(", 'dflt')");
	}
}

static const char *const lit_date[] = {
    "'2024-01-15'::date", "'2000-02-29'::date", "date '1999-12-31'",
    "'infinity'::date",	  "'15/01/2024'::date", "'2024-02-30'::date"};
static const char *const lit_ts[] = {
    "'2024-01-15 10:20:30.5'::timestamp",
    "'2024-01-15 10:20:30.5+05:30'::timestamptz",
    "'2000-01-01'::timestamptz",
    "timestamp '2024-01-31 12:00:00'",
    "'2024-01-15T05:00:00Z'::timestamptz",
    "'-infinity'::timestamp"};
static const char *const lit_iv[] = {
    "'1 day'::interval",
    "interval '2 hours'",
    "'1 mon'::interval",
    "'-1 day'::interval",
    "'36 hours'::interval",
    "'1.5 days'::interval",
    "'1 year 2 months 3 days 04:05:06'::interval"};

static void g_time(int depth, int *kind)
{
	/* kind: 0 date, 1 timestamp-ish, 2 interval, 3 time */
	int k = depth <= 0 ? pick(6) : pick(12);

	switch (k) {
	case 0:
		emit("d");
		*kind = 0;
		break;
	case 1:
		emit(pick(2) ? "ts" : "tz");
		*kind = 1;
		break;
	case 2:
		emit("iv");
		*kind = 2;
		break;
	case 3:
		emit(PICK(lit_date));
		*kind = 0;
		break;
	case 4:
		emit(PICK(lit_ts));
		*kind = 1;
		break;
	case 5:
		emit(pick(2) ? "tm" : "'12:00'::time");
		*kind = 3;
		break;
	case 6:
		emit("(d + ");
		emit(pick(2) ? "1" : "i2");
		emit(")");
		*kind = 0;
		break;
	case 7:
	case 8: {
		int k2;

		emit("(");
		g_time(depth - 1, &k2);
		if (k2 == 2) {
			emit(pick(2) ? " + " : " - ");
			emit(PICK(lit_iv));
			*kind = 2;
		} else if (k2 == 3) {
			emit(" + ");
			emit(PICK(lit_iv));
			*kind = 3;
		} else {
			emit(pick(2) ? " + " : " - ");
			emit(pick(3) ? PICK(lit_iv) : "iv");
			*kind = 1;
		}
		emit(")");
		break;
	}
	case 9:
		emit("(ts - ");
		emit(pick(2) ? "'2024-01-01'::timestamp" : "ts");
		emit(")");
		*kind = 2;
		break;
	case 10:
		emit(pick(2) ? "tz::date" : "ts::date");
		*kind = 0;
		break;
	default:
		emit(pick(2) ? "d::timestamp" : "ts::timestamptz");
		*kind = 1;
	}
}

static const char *const cmp_ops[] = {
    " = ", " <> ", " < ", " <= ", " > ", " >= ", " != "};
static const char *const like_pats[] = {
    "'a%'",  "'%b'",  "'a_b'",	  "'a\\_b'",	  "'a\\%b'",
    "'%'",   "'_'",   "''",	  "'%\xc3\xa9%'", "'h_llo'",
    "'ABC'", "'a\\'", "'%\\\\%'", "'x%y'",	  "'_b%'"};

static void g_bool(int depth)
{
	int k = depth <= 0 ? pick(6) : pick(46);

	switch (k) {
	case 0:
		emit("b");
		break;
	case 1:
	case 2:
	case 3:
		g_num(depth - 1);
		emit(PICK(cmp_ops));
		g_num(depth - 1);
		break;
	case 4:
		g_text(depth - 1);
		emit(PICK(cmp_ops));
		g_text(depth - 1);
		break;
	case 5: {
		static const char *const tests[] = {" IS NULL", " IS NOT NULL"};

		switch (pick(3)) {
		case 0:
			g_num(depth - 1);
			break;
		case 1:
			g_text(depth - 1);
			break;
		default:
			emit(PICK(((const char *const[]){"ai", "at", "u", "m",
							 "d", "iv"})));
		}
		emit(PICK(tests));
		break;
	}
	case 6:
	case 7: {
		static const char *const ops[] = {" AND ", " OR ", " and ",
						  " OR NOT "};

		emit("(");
		g_bool(depth - 1);
		emit(PICK(ops));
		g_bool(depth - 1);
		emit(")");
		break;
	}
	case 8:
		emit("NOT (");
		g_bool(depth - 1);
		emit(")");
		break;
	case 9: {
		static const char *const t[] = {
		    " IS TRUE",	     " IS NOT TRUE", " IS FALSE",
		    " IS NOT FALSE", " IS UNKNOWN",  " IS NOT UNKNOWN"};

		emit("(");
		g_bool(depth - 1);
		emit(")");
		emit(PICK(t));
		break;
	}
	case 10:
		g_num(depth - 1);
		emit(pick(2) ? " IS DISTINCT FROM " : " IS NOT DISTINCT FROM ");
		g_num(depth - 1);
		break;
	case 11: {
		int i, n = 1 + pick(4);

		g_num(depth - 1);
		emit(pick(3) ? " IN (" : " NOT IN (");
		for (i = 0; i < n; i++) {
			if (i)
				emit(", ");
			if (pick(5) == 0)
				emit("NULL");
			else
				g_num(depth - 2);
		}
		emit(")");
		break;
	}
	case 12:
		g_num(depth - 1);
		emit(pick(3) == 0 ? " NOT BETWEEN " : " BETWEEN ");
		if (pick(3) == 0)
			emit("SYMMETRIC ");
		g_num(depth - 2);
		emit(" AND ");
		g_num(depth - 2);
		break;
	case 13:
	case 14: {
		static const char *const l[] = {" LIKE ",  " NOT LIKE ",
						" ILIKE ", " NOT ILIKE ",
						" ~~ ",	   " !~~* "};

		g_text(depth - 1);
		emit(PICK(l));
		if (pick(4) == 0)
			g_text(depth - 1);
		else
			emit(PICK(like_pats));
		if (pick(8) == 0)
			emit(pick(2) ? " ESCAPE '#'" : " ESCAPE ''");
		break;
	}
	case 15: {
		static const char *const arrs[] = {"ai",
						   "'{1,2,NULL}'::int4[]",
						   "ARRAY[1, 2, 3]",
						   "ARRAY[i4, i2]",
						   "'{}'::int[]",
						   "ARRAY[NULL::int4]"};

		g_num(depth - 1);
		emit(PICK(cmp_ops));
		emit(pick(2) ? "ANY (" : "ALL (");
		emit(PICK(arrs));
		emit(")");
		break;
	}
	case 16: {
		static const char *const a[] = {"ai @> '{1}'",
						"ai <@ '{1,2,3}'",
						"ai && ARRAY[2, 5]",
						"'{1,2}' <@ ai",
						"at @> ARRAY['a']",
						"at && '{abc,x}'",
						"ai = '{1,2,3}'",
						"ai < '{2}'",
						"at = ARRAY['a', 'b']",
						"ai @> ARRAY[NULL::int]",
						"ai > '{}'",
						"ai = '[0:1]={5,6}'",
						"ai[1] = 1",
						"at[1] = 'a'"};

		emit(PICK(a));
		break;
	}
	case 17:
	case 18: {
		int k1, k2;
		size_t mark = out.len;

		g_time(depth - 1, &k1);
		emit(PICK(cmp_ops));
		g_time(depth - 1, &k2);
		/* keep mostly comparable pairs */
		if ((k1 == 2) != (k2 == 2) || (k1 == 3) != (k2 == 3)) {
			if (pick(4)) {
				ss_buf_setlen(&out, mark);
				emit("d < '2020-01-01'");
			}
		}
		break;
	}
	case 19: {
		static const char *const u[] = {
		    "u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
		    "u < 'b0000000-0000-0000-0000-000000000000'",
		    "u <> '{00000000-0000-0000-0000-000000000000}'",
		    "u = 'A0EEBC999C0B4EF8BB6D6BB9BD380A11'",
		    "u::text LIKE 'a%'",
		    "u = 'not-a-uuid'",
		    "u > '00000000000000000000000000000000'"};

		emit(PICK(u));
		break;
	}
	case 20: {
		static const char *const m[] = {"m = 'happy'",
						"m <> 'sad'",
						"m IN ('ok', 'sad')",
						"m::text < 'p'",
						"m IS DISTINCT FROM 'ok'",
						"m = 'ok'::mood",
						"m = ANY ('{ok,happy}')",
						"m < 'ok'",
						"m >= 'ok'::mood",
						"m BETWEEN 'sad' AND 'ok'",
						"GREATEST(m, 'ok') = 'happy'",
						"LEAST(m, 'happy') < 'ok'",
						"m = 'angry'",
						"m::text::mood > 'sad'",
						"m > ALL ('{sad,ok}')",
						"ARRAY[m] < '{ok}'",
						"t::mood = m"};

		emit(PICK(m));
		break;
	}
	case 21:
		emit(pick(2) ? "b = " : "b <> ");
		emit(PICK(
		    ((const char *const[]){"true", "'t'", "'yes'", "'off'",
					   "false", "(i4 > 0)", "'maybe'"})));
		break;
	case 22:
		g_text(depth - 1);
		emit("::");
		emit(PICK(((const char *const[]){"int4", "numeric", "float8",
						 "bool", "date", "int2"})));
		emit(PICK(cmp_ops));
		g_num(0);
		break;
	case 23:
		emit(PICK(((const char *const[]){
		    "c = 'ab'", "c = 'ab   '", "c = t", "c < 'b'",
		    "c::text = 'ab'", "c || 'x' = 'abx'",
		    "concat(c, 'x') = 'ab   x'", "c LIKE 'ab'",
		    "c = 'abcdef'::char(5)", "v::char(3) = 'abc'",
		    "'abc'::varchar(2) = 'ab'"})));
		break;
	case 24:
		emit(PICK(((const char *const[]){"$1 = i4", "i8 > $1", "t = $2",
						 "$2 LIKE 'a%'", "f8 < $1",
						 "$1 IS NULL"})));
		break;
	case 25:
		/* deliberate compile errors */
		emit(PICK(((const char *const[]){
		    "i4 = t", "i4", "t + 1 > 0", "nosuch = 1", "i4 = = 1",
		    "b AND i4", "'abc'::int4 = 1", "1 = 1 = true", "f8 % 2 = 0",
		    "ai @> '{a}'", "(i4 = 1", "i4 IN ()", "iv + 1 = iv"})));
		break;
	case 26:
		if (pick(2)) {
			emit("iv");
		} else {
			/* interval scaling: fractions cascade down */
			emit("(");
			emit(PICK(((const char *const[]){
			    "iv", "'1 mon 1 day'::interval",
			    "'1 year 2 mons 3 days 04:05:06.789'::interval",
			    "'-1 day +02:00'::interval",
			    "(ts - '2000-01-01'::timestamp)"})));
			emit(PICK(((const char *const[]){" * ", " / ", " * ",
							 " / "})));
			emit(PICK(((const char *const[]){
			    "2", "0.5", "1.5", "3", "0.3333", "-2.5", "0", "f8",
			    "i2", "f4", "'1.5'", "n", "1e10", "7"})));
			emit(")");
			if (pick(2)) {
				emit("::text");
				emit(PICK(cmp_ops));
				emit("t");
				break;
			}
		}
		emit(PICK(cmp_ops));
		emit(PICK(lit_iv));
		break;
	case 28:
	case 29: {
		/* the text output of every type, compared exactly */
		static const char *const x[] = {
		    "d",
		    "ts",
		    "tz",
		    "iv",
		    "f4",
		    "f8",
		    "n",
		    "u",
		    "ai",
		    "at",
		    "b",
		    "tm",
		    "c",
		    "m",
		    "i8",
		    "(f8 * 1000)",
		    "(f4 / 3)",
		    "(n / 7)",
		    "(n * n)",
		    "(ts - '2000-01-01'::timestamp)",
		    "(tz + iv)",
		    "(d + tm)",
		    "(iv + iv)",
		    "(-iv)",
		    "(ai[1])",
		    "(f8 / 3)",
		    "(i4 * 1.5)",
		    "(n % 0.7)",
		    "(tz::date)",
		    "(tz::time)",
		    "(f4::float8)",
		    "(n::float4)",
		    "(f8::numeric)",
		    "(f4::numeric)"};
		static const char *const v[] = {"'2024-01-15'",
						"'2024-01-15 10:20:30.5'",
						"'2024-01-15 04:50:30+00'",
						"'1 day'",
						"'-1 days +02:00:00'",
						"'1.5'",
						"'NaN'",
						"'-0'",
						"'{1,2,3}'",
						"'{a,b}'",
						"'true'",
						"'12:30:00'",
						"'ab   '",
						"'ok'",
						"'1e+308'",
						"'0.1'",
						"'123.456'",
						"'Infinity'",
						"'1 year 2 mons'",
						"'0.33333334'",
						"t",
						"'2000-02-29 BC'",
						"'[0:1]={5,6}'",
						"'{\"x y\",NULL}'"};

		emit(PICK(x));
		emit("::text");
		emit(PICK(cmp_ops));
		emit(PICK(v));
		break;
	}
	case 30: {
		/* time zones: literals at several offsets */
		static const char *const z[] = {
		    "'2024-01-15 10:20:30+05:30'",
		    "'2024-01-15 05:00:00-03'",
		    "'2024-06-01 00:00:00-08'",
		    "'2024-01-15T04:50:30Z'",
		    "'2000-01-01 00:00:00+14'",
		    "'1999-12-31 23:59:59.999-01'",
		    "'2024-01-15 10:20:30.5 +0530'",
		    "'2024-01-15 10:20:30 UTC'",
		    "$3",
		    "'2024-01-15 10:20:30 Europe/Paris'",
		    "'2024-07-15 10:20:30 Europe/Paris'",
		    "'2024-03-31 02:30:00 Europe/Paris'",
		    "'2024-10-27 02:30:00 Europe/Paris'",
		    "'2024-03-10 02:30 America/New_York'",
		    "'2024-11-03 01:30 America/New_York'",
		    "'2024-01-15 10:00 Asia/Kolkata'",
		    "'2024-04-07 02:30 Australia/Lord_Howe'",
		    "'2024-01-15 10:00 Etc/GMT+5'",
		    "'1900-01-01 00:00 Europe/Paris'",
		    "'2024-01-15 10:00 europe/paris'",
		    "'2024-01-15 10:00 Foo/Bar'",
		    "'2024-01-15 10:00 EST5EDT'",
		    "'2000-01-01 00:00 Pacific/Kiritimati'",
		    "'2040-03-25 02:30 Europe/Paris'",
		    "'2050-11-06 01:30 America/New_York'",
		    "'2045-04-02 01:45 Australia/Lord_Howe'",
		    "'2100-07-01 00:00 America/Sao_Paulo'"};

		emit(PICK(((const char *const[]){
		    "tz", "ts", "d", "tz - interval '5 hours'",
		    "ts::timestamptz", "tz::timestamp", "COALESCE(tz, ts)"})));
		emit(PICK(cmp_ops));
		emit(PICK(z));
		if (pick(3) == 0)
			emit("::timestamptz");
		break;
	}
	case 31: {
		/* arrays */
		static const char *const a[] = {
		    "i4 = ANY (ai)",
		    "i8 = ANY (ai)",
		    "i2 <> ALL (ai)",
		    "t = ANY (at)",
		    "v = ANY (at)",
		    "ai @> ARRAY[i4]",
		    "ai = ARRAY[1, 2, 3]",
		    "ai[1] + 1 > 2",
		    "at[2] LIKE 'b%'",
		    "ARRAY[i4, NULL] = ARRAY[i4, NULL]",
		    "ai <@ $4",
		    "$1 = ANY (ai)",
		    "ai && $4",
		    "(ai)[1] IS NULL",
		    "ARRAY[ai[1], ai[2]] = '{1,2}'",
		    "ai::text[] @> '{1}'",
		    "at::int4[] = '{1}'",
		    "ARRAY[[i4, i4], [1, 2]] = '{{1,1},{1,2}}'",
		    "ai = '{{1,2},{3,4}}'",
		    "f8 = ANY (ARRAY[1.5, 2])",
		    "n > ALL (ai)",
		    "ai IS DISTINCT FROM '{}'",
		    "at = '{}'",
		    "ai >= '{3}'",
		    "ARRAY[t, 'z'] <@ at",
		    "ARRAY[f4] = ARRAY[f8]"};

		emit(PICK(a));
		break;
	}
	case 32: {
		/* text to other types */
		static const char *const c[] = {"t::numeric > 1",
						"t::date > '2000-01-01'",
						"t::interval > '1 day'",
						"t::uuid IS NOT NULL",
						"t::int4[] = '{1}'",
						"t::float8 > 0",
						"t::bool",
						"t::timestamptz > '2000-01-01'",
						"t::time < '12:00'",
						"v::int2 = 1",
						"c::numeric = 1"};

		emit(PICK(c));
		break;
	}
	case 33: {
		/* unicode and case */
		static const char *const u[] = {
		    "lower(t) = 'h\xc3\xa9llo'",
		    "upper(t) = 'H\xc3\xa9LLO'",
		    "t ILIKE 'H\xc3\x89%'",
		    "t > '\xc3\xa9'",
		    "t LIKE '\xe6\x97\xa5_'",
		    "t || '\xe2\x82\xac' = 'abc\xe2\x82\xac'",
		    "t::varchar(2) = '\xe6\x97\xa5\xe6\x9c\xac'",
		    "t::char(1) = 'h'"};

		emit(PICK(u));
		break;
	}
	case 34: {
		/* parameters in more contexts */
		static const char *const q[] = {"ts > $3",
						"tz = $3",
						"d < $3",
						"$2 = t",
						"$2 || t = 'abcabc'",
						"n + $1 > 6",
						"f4 * $1 > 0",
						"$1::int8 = i8",
						"ai @> $4",
						"$4 = ai",
						"concat($2, i4) = 'abc1'",
						"$1 IN (i2, i4)",
						"$1 BETWEEN i2 AND i4",
						"COALESCE($1, i4) = 5",
						"$2 LIKE t"};

		emit(PICK(q));
		break;
	}
	case 36:
	case 37: {
		/* input syntax of each type, through a text value so that
		 * the conversion happens per row */
		static const struct {
			const char *type, *col;
			const char *lits[14];
		} in[] = {
		    {"int4",
		     "i4",
		     {" 12 ", "+5", "-0", "0x10", "1_000", "1.0", "2147483648",
		      "-2147483648", "", "007", "1e3", " -7", "--1", "4 2"}},
		    {"int2",
		     "i2",
		     {"32767", "32768", "-32769", " 1", "1 ", "+-1", "٣", "12a",
		      NULL}},
		    {"int8",
		     "i8",
		     {"9223372036854775807", "9223372036854775808",
		      "-9223372036854775808", "+0", NULL}},
		    {"numeric",
		     "n",
		     {"  1.5  ", "+1.5", "1e5", ".5", "5.", "-.5e-3", "nan",
		      "-inf", "1e1001", "1e-1001", "1.2.3", "e5", "Infinity",
		      "1E+2"}},
		    {"float8",
		     "f8",
		     {"1e309", "-1e-400", "1e-310", "nan", "-Infinity", "inf",
		      " 3.5 ", "0x1p3", "1,5", "4e", "+.5", "1e+308", "-0.0",
		      "NaN "}},
		    {"float4",
		     "f4",
		     {"3.5e38", "1e-46", "1e-40", "0.1", "16777217", "-inf",
		      NULL}},
		    {"bool",
		     "b",
		     {"TRUE", " yes ", "n", "of", "o", "1", "10", "tr", "f ",
		      "Off", "y", "", NULL}},
		    {"uuid",
		     "u",
		     {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		      "A0EEBC999C0B4EF8BB6D6BB9BD380A11",
		      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
		      "a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11",
		      "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
		      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
		      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		      "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", NULL}},
		    {"date",
		     "d",
		     {"2024-1-5", "20240115", "15-01-2024", "15/01/24",
		      "2024-02-29", "2023-02-29", "0001-01-01 BC", "epoch",
		      "2024-01-15 10:00", "2024-01-15T10:00:00Z",
		      "January 15, 2024", "15 Jan 2024", "5874897-12-31",
		      "-infinity"}},
		    {"timestamp",
		     "ts",
		     {"2024-01-15 10:20:30.1234567",
		      "2024-01-15 10:20:30.9999995", "2024-01-15 24:00:00",
		      "2024-01-15 23:60:00", "2024-01-15 10:20",
		      "2024-01-15T10:20:30+05", "2024-01-15 10:20:30 +05:30",
		      "epoch", "2024-01-15 10:20:30 BC", "294277-01-01",
		      "2024-01-15 10:20:30 PST", "2024-01-15 1:2:3", NULL}},
		    {"timestamptz",
		     "tz",
		     {"2024-01-15 10:20:30-0330", "2024-01-15 10:20:30+14:00",
		      "2024-01-15 10:20:30+15", "2024-01-15 10:20:30+05:30:15",
		      "2024-01-15 10:20:30 UTC", "2024-01-15 10:20:30 GMT",
		      "2024-01-15 10:20:30Z", "2024-01-15 10:20:30 +00",
		      "2024-01-15", "infinity", "2024-01-15 10:20:30+5", NULL}},
		    {"time",
		     "tm",
		     {"10:20", "10:20:30.5", "24:00", "24:00:01", "1:2:3",
		      "10:60", "10:20:30+05", "T10:20", "102030", "10.20",
		      "allballs", NULL}},
		    {"interval",
		     "iv",
		     {"1 day 2 hours", "P1D", "1:30", "-1 day -02:00",
		      "1 year -1 month", "1.5 hours", "100 ms", "3 mons 2 days",
		      "@ 1 minute ago", "1 week", "1 day 24:00:00", "10",
		      "-1.5 days", "PT1H30M"}},
		    {"int4[]",
		     "ai",
		     {" { 1 , 2 } ", "{1,NULL}", "{\"1\",2}", "{{1},{2}}",
		      "[2:3]={1,2}", "{1,2", "{null,NULL}", "{ }", "{\"NULL\"}",
		      "{1,,2}", "{{1,2},{3}}", "1,2", "[1:2]={1}", "{+1,-2}"}},
		    {"text[]",
		     "at",
		     {"{a,b}", "{\"a,b\",c}", "{ a b , c }", "{\\\\}", "{\"\"}",
		      "{NULL,\"NULL\"}", "{a\\,b}", "{\"a\\\"b\"}", "{{a},{b}}",
		      NULL}},
		};
		int w = pick((int)(sizeof(in) / sizeof(in[0])));
		int nl = 0;

		while (nl < 14 && in[w].lits[nl])
			nl++;
		emit("(");
		/* at[3] is always NULL: the text is then built per row */
		emit(pick(2) ? "COALESCE(at[3], '') || '" : "'");
		/* the text itself, quotes doubled */
		{
			const char *l = in[w].lits[pick(nl)];

			for (; *l; l++) {
				if (*l == '\'')
					emit("'");
				ss_buf_addc(&out, *l);
			}
		}
		emit("')::");
		emit(in[w].type);
		emit(pick(2) ? " = " : " IS NOT DISTINCT FROM ");
		emit(in[w].col);
		break;
	}
	case 45: {
		static const char *const f[] = {
		    "array_cat(ai, '{9}') = ai || 9",
		    "array_append(at, t) @> ARRAY[t]",
		    "array_prepend(i4, ai)[1] = i4",
		    "array_ndims(ai) = 1",
		    "array_ndims(ai) IS NULL",
		    "array_append(ai, NULL) IS NOT NULL",
		    "array_cat(NULL, ai) = ai",
		    "array_cat('{1}', '{2}')::text = '{1,2}'",
		    "justify_days(iv) = iv",
		    "justify_hours(iv)::text < '1 day'",
		    "justify_interval(iv * 1.5)::text = '1 mon 1 day'",
		    "justify_interval(ts - '1999-01-01'::timestamp) > '1 year'",
		    "array_append(ai, 2.5) @> '{2.5}'",
		    "array_prepend(1, ai) <@ ai"};

		emit(PICK(f));
		break;
	}
	case 44: {
		/* array || (array_cat / append / prepend), NULLs included */
		static const char *const l[] = {
		    "ai",	    "at",	   "ARRAY[i4]",
		    "NULL::int[]",  "'{}'::int[]", "'[3:4]={1,2}'::int[]",
		    "ARRAY[[1, 2]]"};
		static const char *const r[] = {
		    "ai",	 "i4", "i2", "NULL::int",     "'{7}'",
		    "ARRAY[i8]", "at", "t",  "ARRAY[[3, 4]]", "i4 || ai"};
		const char *x = PICK(l), *y = PICK(r);

		emit("(");
		if (pick(3) == 0) {
			emit(y);
			emit(" || ");
			emit(x);
		} else {
			emit(x);
			emit(" || ");
			emit(y);
		}
		emit(")");
		emit(PICK(((const char *const[]){
		    "::text = t", "::text < '{2}'", " @> '{1}'", " IS NULL",
		    " = ai", "[1] = 1", "::text = '{1,2,3,1}'"})));
		break;
	}
	case 43: {
		/* AT TIME ZONE / timezone() both ways, DST edges included */
		static const char *const zones[] = {"'Europe/Paris'",
						    "'America/New_York'",
						    "'Asia/Kolkata'",
						    "'UTC'",
						    "'PST'",
						    "'Australia/Lord_Howe'",
						    "'europe/paris'",
						    "'Foo/Bar'",
						    "interval '05:30'",
						    "interval '-08:00'",
						    "'Pacific/Apia'",
						    "'Etc/GMT-14'"};

		if (pick(3) == 0) {
			emit("timezone(");
			emit(PICK(zones));
			emit(pick(2) ? ", tz)" : ", ts)");
		} else {
			emit(PICK(((const char *const[]){
			    "tz", "ts", "d", "'2024-03-31 02:30'::timestamp",
			    "'2024-10-27 02:30'::timestamp",
			    "'2024-11-03 01:30'::timestamp",
			    "'2024-03-10 07:30+00'::timestamptz"})));
			emit(" AT TIME ZONE ");
			emit(PICK(zones));
			if (pick(3) == 0)
				emit(" + interval '1 hour'");
		}
		emit(PICK(cmp_ops));
		emit(PICK(((const char *const[]){
		    "ts", "tz", "'2024-01-15 10:00'", "'2024-03-31 01:30'",
		    "'2000-01-01'"})));
		if (pick(2))
			emit("::timestamp");
		break;
	}
	case 40:
	case 41:
	case 42: {
		/* operator precedence: unparenthesised mixes */
		/* no numeric: ^ on numeric is not supported */
		static const char *const num[] = {"i4",
						  "i2",
						  "3",
						  "-2",
						  "i8",
						  "f8",
						  "f4",
						  "2.5::float8",
						  "-i4",
						  "+i2",
						  "'4'",
						  "0.5::float8",
						  "'-Infinity'::float8",
						  "@ i4",
						  "|/ f8",
						  "~ i2",
						  "@ -2"};
		static const char *const aop[] = {" + ", " - ", " * ",
						  " / ", " % ", " ^ ",
						  " & ", " | ", " # "};
		static const char *const bop[] = {" AND ", " OR ", " AND NOT ",
						  " OR NOT "};
		static const char *const tail[] = {"",
						   "",
						   "",
						   " IS TRUE",
						   " IS NOT NULL",
						   " IS FALSE",
						   " = true",
						   " IS UNKNOWN",
						   " IS NULL IS NULL"};
		int nb = 1 + pick(3), i, j;

		if (pick(4) == 0)
			emit("NOT ");
		for (i = 0; i < nb; i++) {
			int na = 1 + pick(3);

			if (i)
				emit(PICK(bop));
			if (pick(6) == 0) {
				emit("b");
			} else {
				for (j = 0; j < na; j++) {
					if (j)
						emit(PICK(aop));
					emit(PICK(num));
				}
				emit(PICK(((const char *const[]){
				    " = ", " < ", " >= ", " <> ",
				    " BETWEEN 1 AND ", " IN (1, ",
				    " IS DISTINCT FROM ",
				    " NOT BETWEEN -1 AND "})));
				for (j = 0; j < na; j++) {
					if (j)
						emit(PICK(aop));
					emit(PICK(num));
				}
				if (out.len > 5 &&
				    strstr(out.buf + (out.len > 40
							  ? out.len - 40
							  : 0),
					   "IN (1, ") &&
				    out.buf[out.len - 1] != ')')
					emit(")");
			}
			emit(PICK(tail));
		}
		break;
	}
	case 38: {
		/* literals of each type compared directly (parse-time input) */
		static const char *const l[] = {
		    "'2024-01-15 10:20:30.1234567'::timestamp = ts",
		    "iv = '1 day 2 hours'",
		    "iv > 'P1D'",
		    "iv < '1:30'",
		    "d = '20240115'",
		    "d > 'January 15, 2024'",
		    "u = 'a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11'",
		    "n = ' 1.5 '",
		    "f8 = ' 1e-310 '",
		    "ai = ' { 1 , 2 , 3 } '",
		    "at @> '{\"x y\"}'",
		    "tm = 'allballs'",
		    "tz = '2024-01-15 10:20:30 PST'",
		    "b = ' yes '",
		    "i4 = ' 42 '"};

		emit(PICK(l));
		break;
	}
	default:
		emit("(");
		g_num(depth - 1);
		emit(")::text");
		emit(PICK(cmp_ops));
		emit(
		    PICK(((const char *const[]){"'1'", "'-0'", "'NaN'", "'0.1'",
						"'1.50'", "'1e+15'", "t"})));
	}
}

static void gen_cases(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		ss_buf_reset(&out);
		g_bool(1 + pick(4));
		printf("%s\n", out.buf);
	}
	ss_buf_release(&out);
}

/* ------------------------------------------------------------------ */
/* Evaluation with lib/where */

/* Undo COPY text escaping in place; returns NULL for \N. */
static char *copy_unescape(char *s)
{
	char *r = s, *w = s;

	if (strcmp(s, "\\N") == 0)
		return NULL;
	while (*r) {
		if (*r == '\\' && r[1]) {
			r++;
			switch (*r) {
			case 't':
				*w++ = '\t';
				break;
			case 'n':
				*w++ = '\n';
				break;
			case 'r':
				*w++ = '\r';
				break;
			default:
				*w++ = *r;
			}
			r++;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return s;
}

static void print_msg(const char *m)
{
	for (; *m; m++)
		putchar(*m == '\n' || *m == '\t' ? ' ' : *m);
}

static int eval_all(const char *casesf, const char *rowsf)
{
	FILE *cf = fopen(casesf, "r"), *rf = fopen(rowsf, "r");
	char *rows[4096][NCOLS];
	char *rowbufs[4096];
	size_t nrows = 0, i;
	char line[65536];
	int cid = 0, bad_canon = 0;
	static const char *const params[] = {"5", "abc",
					     "2024-01-15 10:00:00+02", "{1,5}"};

	if (!cf || !rf) {
		perror("open");
		return 2;
	}
	while (nrows < 4096 && fgets(line, sizeof(line), rf)) {
		char *p, *tab;
		size_t k = 0;

		line[strcspn(line, "\n")] = '\0';
		rowbufs[nrows] = ss_xstrdup(line);
		p = rowbufs[nrows];
		while (k < NCOLS) {
			tab = strchr(p, '\t');
			if (tab)
				*tab = '\0';
			rows[nrows][k++] = copy_unescape(p);
			if (!tab)
				break;
			p = tab + 1;
		}
		while (k < NCOLS)
			rows[nrows][k++] = NULL;
		nrows++;
	}
	while (fgets(line, sizeof(line), cf)) {
		struct ss_where *w = NULL;
		struct ss_err err = SS_ERR_INIT;
		int ok;

		line[strcspn(line, "\n")] = '\0';
		cid++;
		ok = ss_where_compile(line, cols, NCOLS, params, 4, &w, &err) ==
		     0;
		if (ok) {
			/* the canonical text must compile to itself */
			struct ss_where *w2 = NULL;
			struct ss_err e2 = SS_ERR_INIT;
			const char *c1 = ss_where_canonical_text(w);

			if (ss_where_compile(c1, cols, NCOLS, NULL, 0, &w2,
					     &e2) < 0 ||
			    strcmp(c1, ss_where_canonical_text(w2)) != 0) {
				fprintf(stderr,
					"case %d: canonical '%s' not stable: "
					"%s\n",
					cid, c1,
					w2 ? ss_where_canonical_text(w2)
					   : e2.msg);
				bad_canon++;
			}
			ss_where_free(w2);
		}
		for (i = 0; i < nrows; i++) {
			int r;

			printf("%d\t%s\t", cid, rows[i][0]);
			if (!ok) {
				fputs("E:", stdout);
				print_msg(err.msg);
			} else {
				struct ss_err e2 = SS_ERR_INIT;

				if (ss_where_eval(w,
						  (const char *const *)rows[i],
						  &r, &e2) < 0) {
					fputs("E:", stdout);
					print_msg(e2.msg);
				} else {
					fputs(r > 0    ? "t"
					      : r == 0 ? "f"
						       : "n",
					      stdout);
				}
			}
			putchar('\n');
		}
		ss_where_free(w);
	}
	for (i = 0; i < nrows; i++)
		free(rowbufs[i]);
	fclose(cf);
	fclose(rf);
	return bad_canon ? 1 : 0;
}

static uint64_t seed_arg(const char *s)
{
	uint64_t v = 0;

	if (ss_parse_u64(s, UINT64_MAX, &v, "seed", NULL) < 0)
		v = ss_hash64(s, strlen(s));
	return v ? v : 88172645463325252ULL;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "schema")) {
		fputs(schema_sql, stdout);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "rows")) {
		rng_state = seed_arg(argv[2]) * 2 + 1;
		gen_rows((int)strtol(argv[3], NULL, 10));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "cases")) {
		rng_state = seed_arg(argv[2]);
		gen_cases((int)strtol(argv[3], NULL, 10));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "eval"))
		return eval_all(argv[2], argv[3]);
	fprintf(stderr,
		"usage: test-where-gen schema | rows SEED N | cases SEED N | "
		"eval CASES ROWS\n");
	return 2;
}
