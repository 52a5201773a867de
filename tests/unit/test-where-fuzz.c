/*
 * test-where-fuzz.c — throws random and mutated clauses at lib/where:
 * compiling, rendering, re-compiling and evaluating must never crash or
 * leak (run it under ASan with make check-asan), every error must carry a
 * message, and a canonical text must compile back to itself.
 *
 *   test-where-fuzz [SEED [ITERATIONS]]
 */
#include "util.h"
#include "where.h"

static const struct ss_where_column cols[] = {
    {.name = "a", .type = "int4", .is_enum = 0},
    {.name = "b", .type = "int8", .is_enum = 0},
    {.name = "s", .type = "int2", .is_enum = 0},
    {.name = "t", .type = "text", .is_enum = 0},
    {.name = "c", .type = "bpchar", .is_enum = 0},
    {.name = "f", .type = "float8", .is_enum = 0},
    {.name = "r", .type = "float4", .is_enum = 0},
    {.name = "n", .type = "numeric", .is_enum = 0},
    {.name = "x", .type = "bool", .is_enum = 0},
    {.name = "u", .type = "uuid", .is_enum = 0},
    {.name = "d", .type = "date", .is_enum = 0},
    {.name = "ts", .type = "timestamp", .is_enum = 0},
    {.name = "tz", .type = "timestamptz", .is_enum = 0},
    {.name = "tm", .type = "time", .is_enum = 0},
    {.name = "iv", .type = "interval", .is_enum = 0},
    {.name = "m", .type = "mood", .is_enum = 1},
    {.name = "ai", .type = "_int4", .is_enum = 0},
    {.name = "at", .type = "_text", .is_enum = 0},
    {.name = "j", .type = "jsonb", .is_enum = 0},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static uint64_t st;

static uint64_t rnd(void)
{
	st ^= st >> 12;
	st ^= st << 25;
	st ^= st >> 27;
	return st * UINT64_C(2685821657736338717);
}

static int pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

static const char *const frags[] = {
    "a",
    "b",
    "s",
    "t",
    "c",
    "f",
    "r",
    "n",
    "x",
    "u",
    "d",
    "ts",
    "tz",
    "tm",
    "iv",
    "m",
    "ai",
    "at",
    "j",
    "nosuch",
    "\"a\"",
    "\"A\"",
    "=",
    "<>",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "||",
    "@>",
    "<@",
    "&&",
    "~~",
    "~~*",
    "!~~",
    "::",
    ":",
    "[",
    "]",
    "(",
    ")",
    ",",
    ";",
    ".",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "UNKNOWN",
    "DISTINCT",
    "FROM",
    "IN",
    "BETWEEN",
    "SYMMETRIC",
    "LIKE",
    "ILIKE",
    "ESCAPE",
    "ANY",
    "ALL",
    "SOME",
    "ARRAY",
    "CAST",
    "AS",
    "int4",
    "int2",
    "int8",
    "text",
    "numeric(5,2)",
    "float8",
    "float4",
    "bool",
    "date",
    "timestamp",
    "timestamptz",
    "interval",
    "time",
    "uuid",
    "mood",
    "int[]",
    "varchar(2)",
    "char",
    "lower",
    "upper",
    "concat",
    "COALESCE",
    "GREATEST",
    "LEAST",
    "now",
    "count",
    "0",
    "1",
    "-1",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "1.5",
    "1e308",
    "1e-400",
    ".5",
    "1e",
    "'abc'",
    "'1'",
    "'NaN'",
    "'Infinity'",
    "'{1,2}'",
    "'{{1},{2}}'",
    "'2024-01-15'",
    "'2024-01-15 10:00+05:30'",
    "'1 day'",
    "'12:00'",
    "'a%'",
    "'\\'",
    "'_'",
    "''",
    "E'\\x41'",
    "E'\\u00e9'",
    "E'\\'",
    "$1",
    "$2",
    "$9",
    "$",
    "--",
    "/*",
    "*/",
    "'",
    "\"",
    "CASE",
    "WHEN",
    "SELECT",
    "EXISTS",
    "ROW",
    "AT",
    "TIME",
    "ZONE",
    "COLLATE",
    "timezone('Europe/Paris', ts)",
    "'Europe/Paris'",
    "'Foo/Bar'",
    "'2040-03-25 02:30 Europe/Paris'",
    "array_cat(ai, ai)",
    "array_append(ai, 1)",
    "array_prepend(1, ai)",
    "array_ndims(ai)",
    "justify_interval(iv)",
    "justify_days",
    "@",
    "|/",
    "#",
    "&",
    "|",
    "~",
    "^",
    "interval '05:30'",
    "lower()",
    "like()",
    "like(t)",
    "concat()",
    "upper(t, t)",
    "COALESCE()",
    "GREATEST(1)",
    "ARRAY[]",
    "ai[]",
    "ISNULL",
    "NOTNULL",
    "é",
    "\xff",
    "\x01",
};

static const char *const vals[] = {
    NULL,
    "",
    "0",
    "1",
    "-1",
    "2147483647",
    "-2147483648",
    "32767",
    "9223372036854775807",
    "abc",
    "NaN",
    "Infinity",
    "-0",
    "1e308",
    "1.50",
    "t",
    "f",
    "{1,2}",
    "{}",
    "{NULL}",
    "{{1,2},{3,4}}",
    "[0:1]={1,2}",
    "{a,\"b c\"}",
    "2024-01-15",
    "infinity",
    "2024-01-15 10:20:30.5",
    "2024-01-15 10:20:30+05:30",
    "12:00:00",
    "1 day",
    "-1 days +02:00:00",
    "sad",
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "0044-03-15 BC",
    "{",
    "\"",
    "\\",
    "%",
    "999999999999999999999999",
};

static long ncompiled;

static int one(const char *text, long iter)
{
	struct ss_where *w = NULL, *w2 = NULL;
	struct ss_err err = SS_ERR_INIT;
	static const char *const params[] = {"5", "x"};
	int k;

	if (ss_where_compile(text, cols, NCOLS, params, 2, &w, &err) < 0) {
		if (!err.msg[0]) {
			fprintf(stderr,
				"iteration %ld: error without message: %s\n",
				iter, text);
			return 1;
		}
		return 0;
	}
	if (ss_where_compile(ss_where_canonical_text(w), cols, NCOLS, NULL, 0,
			     &w2, &err) < 0) {
		fprintf(stderr,
			"iteration %ld: '%s' -> canonical '%s' fails: %s\n",
			iter, text, ss_where_canonical_text(w), err.msg);
		ss_where_free(w);
		return 1;
	}
	if (strcmp(ss_where_canonical_text(w), ss_where_canonical_text(w2))) {
		fprintf(stderr,
			"iteration %ld: canonical not stable: '%s' -> '%s'\n",
			iter, ss_where_canonical_text(w),
			ss_where_canonical_text(w2));
		ss_where_free(w);
		ss_where_free(w2);
		return 1;
	}
	ss_where_free(w2);
	ncompiled++;
	for (k = 0; k < 4; k++) {
		const char *row[NCOLS];
		size_t i;
		int r = 7;

		for (i = 0; i < NCOLS; i++)
			row[i] =
			    vals[pick((int)(sizeof(vals) / sizeof(vals[0])))];
		ss_err_clear(&err);
		if (ss_where_eval(w, row, &r, &err) < 0) {
			if (!err.msg[0]) {
				fprintf(stderr,
					"iteration %ld: eval error without "
					"message: %s\n",
					iter, text);
				ss_where_free(w);
				return 1;
			}
		} else if (r < -1 || r > 1) {
			fprintf(stderr, "iteration %ld: bad result %d\n", iter,
				r);
			ss_where_free(w);
			return 1;
		}
	}
	ss_where_free(w);
	return 0;
}

int main(int argc, char **argv)
{
	long iters = 20000, i;
	int bad = 0;
	struct ss_buf b = SS_BUF_INIT;

	st = argc > 1 ? strtoull(argv[1], NULL, 10) : 42;
	if (!st)
		st = 42;
	if (argc > 2)
		iters = strtol(argv[2], NULL, 10);
	for (i = 0; i < iters; i++) {
		int n, j;

		ss_buf_reset(&b);
		switch (pick(3)) {
		case 0: /* token soup */
			n = 1 + pick(12);
			for (j = 0; j < n; j++) {
				ss_buf_adds(
				    &b, frags[pick((int)(sizeof(frags) /
							 sizeof(frags[0])))]);
				if (pick(4))
					ss_buf_addc(&b, ' ');
			}
			break;
		case 1: /* mostly well formed: col op value, combined */
			n = 1 + pick(4);
			for (j = 0; j < n; j++) {
				static const char *const c[] = {
				    "a",  "b",	"s",  "f", "n", "t", "d",
				    "ts", "iv", "ai", "x", "m", "u", "c"};
				static const char *const o[] = {
				    " = ",
				    " < ",
				    " >= ",
				    " <> ",
				    " + 1 > ",
				    " || 'x' = ",
				    " IN (",
				    " LIKE ",
				    " @> ",
				    " IS NOT DISTINCT FROM ",
				    " BETWEEN 1 AND "};
				static const char *const v[] = {
				    "1",       "'1'",	   "'x'",
				    "NULL",    "1.5",	   "'{1}'",
				    "$1",      "ARRAY[1]", "'2024-01-01'",
				    "'1 day'", "b",	   "t",
				    "(1, 2)",  "'sad'"};

				if (j)
					ss_buf_adds(&b, pick(2) ? " AND "
								: " OR NOT ");
				ss_buf_adds(
				    &b,
				    c[pick((int)(sizeof(c) / sizeof(c[0])))]);
				ss_buf_adds(
				    &b,
				    o[pick((int)(sizeof(o) / sizeof(o[0])))]);
				ss_buf_adds(
				    &b,
				    v[pick((int)(sizeof(v) / sizeof(v[0])))]);
				if (strchr(b.buf + (b.len > 2 ? b.len - 2 : 0),
					   '(') ||
				    pick(8) == 0)
					ss_buf_addc(&b, ')');
			}
			break;
		default: /* random bytes */
			n = pick(40);
			for (j = 0; j < n; j++) {
				char ch = (char)(1 + pick(255));

				ss_buf_addc(&b, ch);
			}
		}
		if (one(b.buf, i))
			bad++;
	}
	/* deep nesting must be an error, not a stack overflow */
	ss_buf_reset(&b);
	for (i = 0; i < 100000; i++)
		ss_buf_addc(&b, '(');
	bad += one(b.buf, -1);
	ss_buf_reset(&b);
	for (i = 0; i < 50000; i++)
		ss_buf_adds(&b, "NOT ");
	ss_buf_adds(&b, "true");
	bad += one(b.buf, -2);
	ss_buf_reset(&b);
	for (i = 0; i < 50000; i++)
		ss_buf_adds(&b, "- ");
	ss_buf_adds(&b, "1 = 1");
	bad += one(b.buf, -3);
	/* left-deep chains built by loops, and nested array brackets */
	{
		static const char *const chains[][3] = {
		    {"1", "+1", " = 1"},	   {"a", "::int4", " = 1"},
		    {"a IS NULL", " IS NULL", ""}, {"ai", "[1]", " = 1"},
		    {"t", " || 'x'", " = 'x'"},	   {"ARRAY", "[", ""},
		    {"ARRAY", "[1,", "]"},
		};

		for (i = 0; i < (long)(sizeof(chains) / sizeof(chains[0]));
		     i++) {
			long k;

			ss_buf_reset(&b);
			ss_buf_adds(&b, chains[i][0]);
			for (k = 0; k < 100000; k++)
				ss_buf_adds(&b, chains[i][1]);
			ss_buf_adds(&b, chains[i][2]);
			bad += one(b.buf, -10 - i);
		}
		/* just under the limit still compiles, evaluates, and its
		 * canonical text (one parenthesis per term) compiles again */
		ss_buf_reset(&b);
		ss_buf_adds(&b, "a");
		for (i = 0; i < 450; i++)
			ss_buf_adds(&b, " + 1");
		ss_buf_adds(&b, " > 0");
		{
			long before = ncompiled;

			bad += one(b.buf, -20);
			if (ncompiled != before + 1) {
				fprintf(stderr,
					"a 450-term sum did not compile\n");
				bad++;
			}
		}
	}
	/* the deepest NOT chain: its canonical text doubles the nesting */
	{
		long before = ncompiled;

		ss_buf_reset(&b);
		for (i = 0; i < 498; i++)
			ss_buf_adds(&b, "NOT ");
		ss_buf_adds(&b, "x");
		bad += one(b.buf, -21);
		if (ncompiled != before + 1) {
			fprintf(stderr, "498 NOTs did not compile\n");
			bad++;
		}
	}
	ss_buf_release(&b);
	printf("%ld iterations, %ld compiled, %d failures\n", iters, ncompiled,
	       bad);
	return bad ? 1 : 0;
}
