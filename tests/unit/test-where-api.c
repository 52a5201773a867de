/*
 * test-where-api.c — the parts of lib/where's interface that where.test
 * does not reach: the read-only node view route uses to find indexable
 * conjuncts, the list of columns read, equality keys, and ownership
 * (free(NULL), a clause shared by threads is immutable).
 */
#include <sys/resource.h>

#include "util.h"
#include "where.h"

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

static const struct ss_where_column cols[] = {
    {.name = "id", .type = "int4", .is_enum = 0},
    {.name = "name", .type = "text", .is_enum = 0},
    {.name = "tags", .type = "_text", .is_enum = 0},
    {.name = "price", .type = "numeric", .is_enum = 0},
    {.name = "big", .type = "int8", .is_enum = 0},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static struct ss_where *compile(const char *text)
{
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;

	if (ss_where_compile(text, cols, NCOLS, NULL, 0, &w, &err) < 0) {
		fprintf(stderr, "compile '%s': %s\n", text, err.msg);
		failures++;
	}
	return w;
}

static int const_is(const struct ss_where_node *n, const char *text)
{
	struct ss_buf b = SS_BUF_INIT;
	int ok = ss_where_node_const(n, &b) == 0 && strcmp(b.buf, text) == 0;

	ss_buf_release(&b);
	return ok;
}

static void test_equality_conjunct(void)
{
	struct ss_where *w = compile("id = 5 AND name LIKE 'a%'");
	const struct ss_where_node *r, *eq;
	const size_t *used;

	if (!w)
		return;
	r = ss_where_root(w);
	CHECK(ss_where_node_kind(r) == SS_WHERE_AND);
	CHECK(ss_where_node_nargs(r) == 2);
	eq = ss_where_node_arg(r, 0);
	CHECK(ss_where_node_kind(eq) == SS_WHERE_OP);
	CHECK(strcmp(ss_where_node_op(eq), "=") == 0);
	CHECK(ss_where_node_column(ss_where_node_arg(eq, 0)) == 0);
	CHECK(ss_where_node_kind(ss_where_node_arg(eq, 1)) == SS_WHERE_CONST);
	CHECK(strcmp(ss_where_node_type(ss_where_node_arg(eq, 1)), "int4") ==
	      0);
	CHECK(const_is(ss_where_node_arg(eq, 1), "5"));
	CHECK(ss_where_node_arg(eq, 2) == NULL);
	CHECK(strcmp(ss_where_node_op(ss_where_node_arg(r, 1)), "~~") == 0);
	CHECK(ss_where_columns_used(w, &used) == 2);
	CHECK(used[0] == 0 && used[1] == 1);
	ss_where_free(w);
}

static void test_implicit_cast(void)
{
	/* int4 column against an int8 constant: the column is cast */
	struct ss_where *w = compile("id = 3000000000");
	const struct ss_where_node *eq, *l;

	if (!w)
		return;
	eq = ss_where_root(w);
	l = ss_where_node_arg(eq, 0);
	CHECK(ss_where_node_kind(l) == SS_WHERE_CAST);
	CHECK(ss_where_node_implicit(l));
	CHECK(strcmp(ss_where_node_type(l), "int8") == 0);
	CHECK(ss_where_node_column(ss_where_node_arg(l, 0)) == 0);
	ss_where_free(w);
}

static void test_in_and_arrays(void)
{
	struct ss_where *w = compile("id IN (1, 2, 3) OR tags @> '{a,b}'");
	const struct ss_where_node *r, *in, *c;

	if (!w)
		return;
	r = ss_where_root(w);
	CHECK(ss_where_node_kind(r) == SS_WHERE_OR);
	in = ss_where_node_arg(r, 0);
	CHECK(ss_where_node_kind(in) == SS_WHERE_IN);
	CHECK(strcmp(ss_where_node_op(in), "IN") == 0);
	CHECK(ss_where_node_nargs(in) == 4);
	CHECK(const_is(ss_where_node_arg(in, 3), "3"));
	c = ss_where_node_arg(r, 1);
	CHECK(strcmp(ss_where_node_op(c), "@>") == 0);
	CHECK(strcmp(ss_where_node_type(ss_where_node_arg(c, 1)), "text[]") ==
	      0);
	CHECK(const_is(ss_where_node_arg(c, 1), "{a,b}"));
	ss_where_free(w);
}

static void test_folding(void)
{
	struct ss_where *w = compile("id = 1 OR 1 = 1");
	const size_t *used;

	if (!w)
		return;
	CHECK(ss_where_node_kind(ss_where_root(w)) == SS_WHERE_CONST);
	CHECK(ss_where_columns_used(w, &used) == 0);
	CHECK(strcmp(ss_where_canonical_text(w), "(id = 1) OR (1 = 1)") == 0);
	ss_where_free(w);

	w = compile("price > 1 AND NULL");
	if (!w)
		return;
	/* AND(price > 1, NULL) stays; NULL is a typed constant */
	CHECK(ss_where_node_kind(ss_where_root(w)) == SS_WHERE_AND);
	{
		struct ss_buf b = SS_BUF_INIT;

		CHECK(ss_where_node_const(
			  ss_where_node_arg(ss_where_root(w), 1), &b) == 1);
		CHECK(ss_where_node_const(ss_where_root(w), &b) == -1);
		ss_buf_release(&b);
	}
	ss_where_free(w);
}

static void test_eval_and_canonical(void)
{
	struct ss_where *w = compile("name = 'x' AND big > 10");
	const char *row[NCOLS] = {NULL, "x", NULL, NULL, "11"};
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;
	int r = 7;

	if (!w)
		return;
	CHECK(ss_where_eval(w, row, &r, &err) == 0 && r == 1);
	row[4] = "10";
	CHECK(ss_where_eval(w, row, &r, &err) == 0 && r == 0);
	row[4] = NULL;
	CHECK(ss_where_eval(w, row, &r, &err) == 0 && r == -1);
	row[4] = "ten";
	CHECK(ss_where_eval(w, row, &r, &err) == -1);
	CHECK(strcmp(err.msg,
		     "invalid input syntax for type bigint: \"ten\"") == 0);
	CHECK(err.code == SS_ERR_INPUT);
	ss_where_canonical(w, &b);
	CHECK(strcmp(b.buf, "(name = 'x') AND (big > 10)") == 0);
	ss_buf_release(&b);
	ss_where_free(w);
}

static void test_column_types(void)
{
	static const struct ss_where_column c2[] = {
	    {.name = "a", .type = "character varying(255)"},
	    {.name = "b", .type = "timestamp(3) with time zone"},
	    {.name = "c", .type = "pg_catalog.int4"},
	    {.name = "d", .type = "NUMERIC(10,2)"},
	    {.name = "e", .type = "double precision[]"},
	    {.name = "f", .type = "_varchar"},
	    {.name = "g", .type = "public.mood", .is_enum = 1},
	    {.name = "h", .type = "bit(3)"},
	};
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;

	CHECK(ss_where_compile("a = 'x' AND b > '2024-01-01' AND c = 1 AND "
			       "d = 1.5 AND e @> '{1.5}' AND f @> '{x}' AND "
			       "g = 'ok'::mood",
			       c2, 8, NULL, 0, &w, &err) == 0);
	ss_where_free(w);
	w = NULL;
	CHECK(ss_where_compile("h IS NULL", c2, 8, NULL, 0, &w, &err) == -1);
	CHECK(strcmp(err.msg, "At location 0: unsupported type bit(3)") == 0);
}

static void test_errors(void)
{
	struct ss_where *w = (struct ss_where *)&w;
	struct ss_err err = SS_ERR_INIT;

	CHECK(ss_where_compile("nope = 1", cols, NCOLS, NULL, 0, &w, &err) ==
	      -1);
	CHECK(w == NULL);
	CHECK(err.code == SS_ERR_INPUT);
	CHECK(strcmp(err.msg, "At location 0: unknown reference nope") == 0);
	CHECK(ss_where_compile(NULL, cols, NCOLS, NULL, 0, &w, &err) == -1);
	ss_where_free(NULL);
}

static void test_value_key(void)
{
	struct ss_buf a = SS_BUF_INIT, b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;

#define SAMEKEY(type, x, y)                                                    \
	do {                                                                   \
		ss_buf_reset(&a);                                              \
		ss_buf_reset(&b);                                              \
		CHECK(ss_where_value_key(type, x, &a, &err) == 0);             \
		CHECK(ss_where_value_key(type, y, &b, &err) == 0);             \
		CHECK(strcmp(a.buf, b.buf) == 0);                              \
	} while (0)
	SAMEKEY("numeric", "1.50", "1.5");
	SAMEKEY("numeric", "0.000", "0");
	SAMEKEY("float8", "-0", "0");
	SAMEKEY("bpchar", "ab   ", "ab");
	SAMEKEY("uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
		"a0eebc999c0b4ef8bb6d6bb9bd380a11");
	SAMEKEY("int4", " 5", "5");
	SAMEKEY("timestamptz", "2024-01-15 10:00:00+02",
		"2024-01-15 08:00:00+00");
	ss_buf_reset(&a);
	ss_buf_reset(&b);
	CHECK(ss_where_value_key("numeric", "1.5", &a, &err) == 0);
	CHECK(ss_where_value_key("numeric", "1.51", &b, &err) == 0);
	CHECK(strcmp(a.buf, b.buf) != 0);
	CHECK(ss_where_value_key("int4", "x", &a, &err) == -1);
	CHECK(ss_where_value_key("jsonb", "{}", &a, &err) == -1);
	ss_buf_release(&a);
	ss_buf_release(&b);
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int compile_err(const char *text, const struct ss_where_limits *lim,
		       const char *msg)
{
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;
	int ok;

	ok = ss_where_compile_limited(text, cols, NCOLS, NULL, 0, lim, &w,
				      &err) == -1 &&
	     w == NULL && err.code == SS_ERR_INPUT && !strcmp(err.msg, msg);
	if (!ok)
		fprintf(stderr, "expected '%s', got '%s'\n", msg,
			w ? "(compiled)" : err.msg);
	ss_where_free(w);
	return ok;
}

/* Issue 15: what one clause may cost to compile and to evaluate. */
static void test_limits(void)
{
	struct ss_where_limits lim, none;
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;
	const char *row[NCOLS] = {0};
	long rss;
	size_t i;
	int r;

	ss_where_limits_default(&lim);
	CHECK(lim.max_length == 65536 && lim.max_in == 10000 &&
	      lim.max_cost == 10000000);
	memset(&none, 0, sizeof(none));

	/* An IN list of 40000 items compiles in linear space: copying the
	 * argument array for every item took 8 bytes * n^2 / 2 of arena
	 * (6.4 GB here). The high-water mark may grow by a few MB. */
	ss_buf_adds(&b, "id IN (");
	for (i = 0; i < 40000; i++)
		ss_buf_addf(&b, "%s%zu", i ? "," : "", i);
	ss_buf_adds(&b, ")");
	rss = maxrss_kb();
	CHECK(ss_where_compile_limited(b.buf, cols, NCOLS, NULL, 0, &none, &w,
				       &err) == 0);
	CHECK(maxrss_kb() - rss < 200 * 1024);
	row[0] = "39999";
	CHECK(w && ss_where_eval(w, row, &r, &err) == 0 && r == 1);
	ss_where_free(w);
	w = NULL;
	/* the same list as a syntax error ("...,)") fails just as cheaply */
	b.buf[b.len - 1] = ',';
	ss_buf_adds(&b, ")");
	CHECK(compile_err(b.buf, &none,
			  "At location 228912: syntax error at or near \")\""));
	CHECK(maxrss_kb() - rss < 200 * 1024);
	/* the limits: items, then length */
	b.buf[b.len - 2] = ')';
	b.buf[--b.len] = '\0';
	lim.max_length = 0;
	CHECK(compile_err(b.buf, &lim,
			  "At location 3: IN list has 40000 items, the limit "
			  "is 10000"));
	CHECK(compile_err(b.buf, NULL,
			  "where clause is too long (228897 bytes, the limit "
			  "is 65536)"));

	/* 100000 nested parentheses: an error, not a stack overflow */
	ss_buf_reset(&b);
	for (i = 0; i < 100000; i++)
		ss_buf_addc(&b, '(');
	ss_buf_adds(&b, "id > 0");
	for (i = 0; i < 100000; i++)
		ss_buf_addc(&b, ')');
	CHECK(compile_err(b.buf, &none,
			  "At location 1010: expression is too deeply nested"));
	/* a left-deep chain too */
	ss_buf_reset(&b);
	ss_buf_adds(&b, "id");
	for (i = 0; i < 100000; i++)
		ss_buf_adds(&b, "+1");
	ss_buf_adds(&b, " > 0");
	CHECK(compile_err(b.buf, &none,
			  "At location 0: expression is too deeply nested"));

	/* the cost of constant folding: 65000-digit squares are 52 million
	 * limb products, over the default budget */
	CHECK(compile_err("id > 0 AND (2E65000-1)*(2E65000-1) > 0", NULL,
			  "where clause exceeds the cost limit of 10000000"));
	CHECK(compile_err("(1E131000-1)/(9E65000+1E64999) > 0", NULL,
			  "where clause exceeds the cost limit of 10000000"));
	/* reading constants counts: 100 literals of 130001 digits */
	ss_buf_reset(&b);
	for (i = 0; i < 100; i++)
		ss_buf_addf(&b, "%sprice <> 1E130000", i ? " AND " : "");
	CHECK(compile_err(b.buf, NULL,
			  "where clause exceeds the cost limit of 10000000"));

	/* the cost of one evaluation: values built from a row */
	CHECK(ss_where_compile_limited(
		  "name || name || name || name || name || name || name || "
		  "name || name || name || name || name <> ''",
		  cols, NCOLS, NULL, 0, NULL, &w, &err) == 0);
	ss_buf_reset(&b);
	for (i = 0; i < 400000; i++)
		ss_buf_addc(&b, 'a');
	row[1] = b.buf;
	CHECK(w && ss_where_eval(w, row, &r, &err) == -1 &&
	      !strcmp(err.msg, "where clause exceeds the cost limit of "
			       "10000000"));
	row[1] = "abc";
	CHECK(w && ss_where_eval(w, row, &r, &err) == 0 && r == 1);
	ss_where_free(w);
	/* LIKE retries the pattern's rest at each text position: up to
	 * text length times pattern length steps */
	{
		struct ss_buf pat = SS_BUF_INIT;

		ss_buf_adds(&pat, "name LIKE '%");
		for (i = 0; i < 1000; i++)
			ss_buf_addc(&pat, 'a');
		ss_buf_adds(&pat, "b'");
		CHECK(ss_where_compile_limited(pat.buf, cols, NCOLS, NULL, 0,
					       NULL, &w, &err) == 0);
		ss_buf_release(&pat);
	}
	row[1] = b.buf;
	CHECK(w && ss_where_eval(w, row, &r, &err) == -1 &&
	      !strcmp(err.msg, "where clause exceeds the cost limit of "
			       "10000000"));
	b.buf[2000] = 'b';
	b.buf[2001] = '\0';
	row[1] = b.buf;
	CHECK(w && ss_where_eval(w, row, &r, &err) == 0 && r == 1);
	b.buf[2001] = 'a';
	ss_where_free(w);
	/* and without a limit the same evaluation is allowed */
	CHECK(ss_where_compile_limited("name || name <> ''", cols, NCOLS, NULL,
				       0, &none, &w, &err) == 0);
	row[1] = b.buf;
	CHECK(w && ss_where_eval(w, row, &r, &err) == 0 && r == 1);
	ss_where_free(w);
	ss_buf_release(&b);
}

/* A typed parameter under a prefix operator renders as a cast, with no
 * parentheses, as the cast it reads back as does: the canonical text is a
 * fixed point (found by fuzz-params:
 * corpus/params/crash-prefix-op-typed-param). */
static void test_prefix_param(void)
{
	static const char *const pv[] = {"17"};
	struct ss_where *w = NULL, *w2 = NULL;
	struct ss_err err = SS_ERR_INIT;

	CHECK(ss_where_compile("price IN ($1, ||/$1) AND price > |/$1", cols,
			       NCOLS, pv, 1, &w, &err) == 0);
	CHECK(w && !strcmp(ss_where_canonical_text(w),
			   "(price IN ('17'::float8, ||/'17'::float8)) AND "
			   "(price > (|/'17'::float8))"));
	CHECK(w && ss_where_compile(ss_where_canonical_text(w), cols, NCOLS,
				    NULL, 0, &w2, &err) == 0);
	CHECK(w && w2 &&
	      !strcmp(ss_where_canonical_text(w), ss_where_canonical_text(w2)));
	ss_where_free(w);
	ss_where_free(w2);
}

/* A clause accepted at the length limit has a longer canonical text (it
 * adds parentheses): route compiles the stored text under the stored
 * limits, which have no length or IN-list limit (found by fuzz-shapereq:
 * corpus/shapereq/crash-canonical-longer-than-limit). */
static void test_stored_limits(void)
{
	struct ss_where_limits lim;
	struct ss_where *w = NULL, *w2 = NULL;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;
	const char *canon;
	char msg[100];
	size_t i;

	ss_where_limits_stored(&lim);
	CHECK(lim.max_length == 0 && lim.max_in == 0 &&
	      lim.max_cost == SS_WHERE_MAX_COST);
	ss_buf_adds(&b, "id IN (1000000000");
	for (i = 1; b.len < SS_WHERE_MAX_LENGTH - 20; i++)
		ss_buf_addf(&b, ",%zu", 1000000000 + i);
	ss_buf_adds(&b, ")");
	CHECK(ss_where_compile(b.buf, cols, NCOLS, NULL, 0, &w, &err) == 0);
	canon = w ? ss_where_canonical_text(w) : "";
	CHECK(strlen(canon) > SS_WHERE_MAX_LENGTH);
	snprintf(msg, sizeof(msg),
		 "where clause is too long (%zu bytes, the limit is %d)",
		 strlen(canon), SS_WHERE_MAX_LENGTH);
	CHECK(compile_err(canon, NULL, msg));
	CHECK(ss_where_compile_stored(canon, cols, NCOLS, NULL, 0, &w2, &err) ==
	      0);
	CHECK(w2 && !strcmp(ss_where_canonical_text(w2), canon));
	ss_where_free(w);
	ss_where_free(w2);
	ss_buf_release(&b);
}

int main(void)
{
	test_equality_conjunct();
	test_implicit_cast();
	test_in_and_arrays();
	test_folding();
	test_eval_and_canonical();
	test_errors();
	test_column_types();
	test_value_key();
	test_limits();
	test_stored_limits();
	test_prefix_param();
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
