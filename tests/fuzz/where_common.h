/*
 * where_common.h — the table and the rows the where targets (fuzz-where,
 * fuzz-params) compile and evaluate against, and the check they share: a
 * clause and its canonical text, compiled again, agree on every row.
 */
#ifndef SS_FUZZ_WHERE_COMMON_H
#define SS_FUZZ_WHERE_COMMON_H

#include "dnf.h"
#include "fuzz.h"
#include "util.h"
#include "where.h"

static const char *const mood_labels[] = {"sad", "ok", "happy"};

/* The default columns of tests/data/where.test first, then one of every
 * other type family. */
static const struct ss_where_column fz_cols[] = {
    {.name = "a", .type = "int4"},
    {.name = "b", .type = "int4"},
    {.name = "t", .type = "text"},
    {.name = "f", .type = "float8"},
    {.name = "n", .type = "numeric"},
    {.name = "x", .type = "bool"},
    {.name = "i8", .type = "int8"},
    {.name = "s", .type = "int2"},
    {.name = "c", .type = "bpchar"},
    {.name = "v", .type = "varchar(3)"},
    {.name = "r", .type = "float4"},
    {.name = "u", .type = "uuid"},
    {.name = "d", .type = "date"},
    {.name = "ts", .type = "timestamp"},
    {.name = "tz", .type = "timestamptz"},
    {.name = "tm", .type = "time"},
    {.name = "iv", .type = "interval"},
    {.name = "m",
     .type = "mood",
     .is_enum = 1,
     .enum_labels = mood_labels,
     .n_enum_labels = 3},
    {.name = "e", .type = "public.color", .is_enum = 1},
    {.name = "ai", .type = "_int4"},
    {.name = "at", .type = "text[]"},
    {.name = "an", .type = "_numeric"},
    {.name = "j", .type = "jsonb"},
};
#define FZ_NCOLS (sizeof(fz_cols) / sizeof(fz_cols[0]))

/* Rows every clause is evaluated on, besides the one the input gives. */
static const char *const fz_rows[][FZ_NCOLS] = {
    {"1",
     "2",
     "abc",
     "1.5",
     "12.50",
     "t",
     "9223372036854775807",
     "-32768",
     "ab  ",
     "xyz",
     "-0",
     "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
     "2024-01-15",
     "2024-01-15 10:20:30.5",
     "2024-01-15 10:20:30+00",
     "12:00:00",
     "P1DT2H",
     "ok",
     "red",
     "{1,2,3}",
     "{a,\"b c\",NULL}",
     "{1.5,NaN}",
     "{}"},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"-2147483648",
     "0",
     "",
     "NaN",
     "-0.000001",
     "f",
     "0",
     "0",
     "",
     "",
     "Infinity",
     "00000000-0000-0000-0000-000000000000",
     "infinity",
     "-infinity",
     "1999-12-31 23:59:59.999999+00",
     "24:00:00",
     "-P1Y2M",
     "happy",
     "blue",
     "{{1,2},{3,4}}",
     "{}",
     "{}",
     "null"},
};
#define FZ_NROWS (sizeof(fz_rows) / sizeof(fz_rows[0]))

/* Subqueries may name any table called "t" (in any schema): it has
 * fz_cols. */
static int fz_describe(void *ctx, const char *schema, const char *name,
		       const struct ss_where_column **cols, size_t *ncols,
		       struct ss_err *err)
{
	(void)ctx;
	(void)schema;
	(void)err;
	if (strcmp(name, "t"))
		return 0;
	*cols = fz_cols;
	*ncols = FZ_NCOLS;
	return 1;
}

static const struct ss_where_tables fz_tables = {fz_describe, NULL};

/* A deterministic view for every dependency: a value is in it when its
 * text has a length divisible by 3 (plus the dependency's number); a NULL
 * is unknown. */
static int fz_member(void *ctx, size_t dep, const char *const *vals, size_t n,
		     int *res, struct ss_err *err)
{
	size_t i, len = dep;

	(void)ctx;
	(void)err;
	for (i = 0; i < n; i++) {
		if (!vals[i]) {
			*res = -1;
			return 0;
		}
		len += strlen(vals[i]);
	}
	*res = len % 3 == 0;
	return 0;
}

/* Compile as serve does, subqueries included. */
static int fz_compile(const char *text, const char *const *params,
		      size_t nparams, const struct ss_where_limits *lim,
		      struct ss_where **w, struct ss_err *err)
{
	struct ss_where_opts o;

	memset(&o, 0, sizeof(o));
	o.limits = lim;
	o.tables = &fz_tables;
	return ss_where_compile_opts(text, fz_cols, FZ_NCOLS, params, nparams,
				     &o, w, err);
}

static int fz_is_cost_error(const struct ss_err *err)
{
	return strstr(err->msg, "exceeds the cost limit") != NULL;
}

/*
 * Evaluate `w` (compiled under a cost limit) and `w2` (the same clause
 * from its canonical text, under a larger limit) on `row`; abort unless
 * they agree: the same result, or the same error. A cost error of `w` is
 * the only outcome `w2` need not share (its budget is larger).
 */
static void fz_agree(const struct ss_where *w, const struct ss_where *w2,
		     const char *const *row, const char *text)
{
	struct ss_err e1 = SS_ERR_INIT, e2 = SS_ERR_INIT;
	int r1 = 7, r2 = 7, rc1, rc2;

	rc1 = ss_where_eval_member(w, row, fz_member, NULL, &r1, &e1);
	rc2 = ss_where_eval_member(w2, row, fz_member, NULL, &r2, &e2);
	if (rc1 == 0)
		FUZZ_CHECK(r1 >= -1 && r1 <= 1, "result %d for '%s'", r1, text);
	else
		FUZZ_CHECK(
		    e1.msg[0] && e1.code == SS_ERR_INPUT,
		    "evaluation error without a message or code %d: '%s'",
		    e1.code, text);
	if (rc1 < 0 && fz_is_cost_error(&e1))
		return;
	if (rc2 < 0 && fz_is_cost_error(&e2))
		return; /* evaluation order may differ in what it meets first */
	FUZZ_CHECK(rc1 == rc2 && (rc1 < 0 || r1 == r2) &&
		       (rc1 == 0 || !strcmp(e1.msg, e2.msg)),
		   "'%s' gives %d/%d '%s' but its canonical text '%s' gives "
		   "%d/%d '%s'",
		   text, rc1, r1, e1.msg, ss_where_canonical_text(w2), rc2, r2,
		   e2.msg);
}

/*
 * Walk the folded tree: arguments are there up to nargs and not beyond,
 * column nodes name a column, and a constant's text output is a valid
 * value of its type (ss_where_value_key accepts it), as route's indexes
 * need.
 */
static void fz_walk(const struct ss_where_node *n, const char *text, int depth)
{
	enum ss_where_kind k = ss_where_node_kind(n);
	size_t i, na = ss_where_node_nargs(n);
	const char *type = ss_where_node_type(n);

	FUZZ_CHECK(depth < 2000, "tree deeper than 2000 levels: '%s'", text);
	FUZZ_CHECK(type && ss_where_node_op(n), "node without type or op: '%s'",
		   text);
	for (i = 0; i < na; i++) {
		const struct ss_where_node *a = ss_where_node_arg(n, i);

		FUZZ_CHECK(a != NULL, "argument %zu of %zu missing: '%s'", i,
			   na, text);
		fz_walk(a, text, depth + 1);
	}
	FUZZ_CHECK(ss_where_node_arg(n, na) == NULL,
		   "argument past nargs: '%s'", text);
	if (k == SS_WHERE_COLUMN) {
		long c = ss_where_node_column(n);

		FUZZ_CHECK(c >= 0 && (size_t)c < FZ_NCOLS,
			   "column node %ld: '%s'", c, text);
	} else {
		FUZZ_CHECK(ss_where_node_column(n) == -1,
			   "column index on a non-column node: '%s'", text);
	}
	if (k == SS_WHERE_CONST) {
		struct ss_buf v = SS_BUF_INIT, key = SS_BUF_INIT;
		struct ss_err err = SS_ERR_INIT;
		int isnull = ss_where_node_const(n, &v);

		FUZZ_CHECK(isnull == 0 || isnull == 1, "node_const %d", isnull);
		/* A type without keys (arrays, enums) is "unsupported";
		 * any other error means the output does not read back.
		 * Not checked for intervals: folding can make one with
		 * more than 9 digits of hours, which the interval input
		 * refuses and PostgreSQL's reads (tests/fuzz/README.md). */
		if (!isnull && strcmp(type, "unknown") &&
		    strcmp(type, "interval") &&
		    ss_where_value_key(type, v.buf, &key, &err) < 0)
			FUZZ_CHECK(
			    !strncmp(err.msg, "unsupported type", 16),
			    "constant '%s' of type %s has no key (%s) in "
			    "'%s'",
			    v.buf, type, err.msg, text);
		ss_buf_release(&v);
		ss_buf_release(&key);
	} else {
		struct ss_buf v = SS_BUF_INIT;

		FUZZ_CHECK(ss_where_node_const(n, &v) == -1,
			   "node_const on a non-constant: '%s'", text);
		ss_buf_release(&v);
	}
}

/*
 * A clause with subqueries: its DNF plan (when within the limits) says a
 * row is in the shape exactly when the clause is TRUE for it, with every
 * position's truth in 0/1, and its tags are one per disjunct.
 */
static void fz_check_dnf_row(const struct ss_dnf *d, const struct ss_where *w,
			     const char *const *row, const char *text)
{
	unsigned char ac[512];
	struct ss_err e1 = SS_ERR_INIT, e2 = SS_ERR_INIT;
	struct ss_buf tags = SS_BUF_INIT;
	int r = 7, in = 7;

	if (ss_where_eval_member(w, row, fz_member, NULL, &r, &e1) < 0)
		return;
	if (ss_dnf_eval(d, row, fz_member, NULL, ac, &in, &e2) < 0) {
		/* a leaf the clause's evaluation skipped may fail */
		FUZZ_CHECK(e2.msg[0], "dnf error without message: '%s'", text);
		return;
	}
	FUZZ_CHECK(in == (r == 1),
		   "'%s': the clause gives %d, its DNF plan %s it", text, r,
		   in ? "includes" : "excludes");
	ss_dnf_tags_json(d, row, "s", "h", &tags);
	FUZZ_CHECK(tags.len > 2 && tags.buf[0] == '[', "tags '%s'", tags.buf);
	ss_buf_release(&tags);
}

static void fz_check_dnf(const struct ss_where *w, const char *const *row,
			 const char *text)
{
	struct ss_dnf *d = NULL;
	struct ss_err err = SS_ERR_INIT;
	size_t i;

	if (ss_dnf_build(w, fz_cols, FZ_NCOLS, &d, &err) < 0) {
		FUZZ_CHECK(!d && err.msg[0], "dnf build: '%s'", text);
		return;
	}
	if (ss_dnf_npositions(d) <= 512) {
		if (row)
			fz_check_dnf_row(d, w, row, text);
		for (i = 0; i < FZ_NROWS; i++)
			fz_check_dnf_row(d, w, fz_rows[i], text);
	}
	ss_dnf_free(d);
}

/*
 * The invariants of one compiled clause `w` (compiled from `text` under
 * `lim`): its canonical text compiles (without parameters: they are
 * rendered as typed literals) to the same canonical text, reads the same
 * columns, and agrees with `w` on `row` (if not NULL) and on fz_rows.
 */
static void fz_check_compiled(const struct ss_where *w, const char *text,
			      const char *const *row)
{
	struct ss_where *w2 = NULL;
	struct ss_err err = SS_ERR_INIT;
	struct ss_where_limits big;
	const char *canon = ss_where_canonical_text(w);
	const size_t *u1, *u2;
	size_t n1, n2, i;

	ss_where_limits_default(&big);
	big.max_length = 0;
	big.max_in = 0;
	big.max_cost = 1000000;
	FUZZ_CHECK(fz_compile(canon, NULL, 0, &big, &w2, &err) == 0,
		   "'%s' compiles, its canonical text '%s' does not: %s", text,
		   canon, err.msg);
	FUZZ_CHECK(!strcmp(canon, ss_where_canonical_text(w2)),
		   "canonical text not stable: '%s' -> '%s' -> '%s'", text,
		   canon, ss_where_canonical_text(w2));
	{
		struct ss_buf b = SS_BUF_INIT;

		ss_where_canonical(w, &b);
		FUZZ_CHECK(!strcmp(b.buf, canon),
			   "ss_where_canonical '%s' differs from "
			   "ss_where_canonical_text '%s'",
			   b.buf, canon);
		ss_buf_release(&b);
	}
	n1 = ss_where_columns_used(w, &u1);
	n2 = ss_where_columns_used(w2, &u2);
	FUZZ_CHECK(n1 == n2 && (!n1 || !memcmp(u1, u2, n1 * sizeof(*u1))),
		   "'%s' and its canonical text read different columns", text);
	for (i = 0; i < n1; i++)
		FUZZ_CHECK(u1[i] < FZ_NCOLS && (i == 0 || u1[i] > u1[i - 1]),
			   "columns_used not ascending or out of range");
	fz_walk(ss_where_root(w), text, 0);
	FUZZ_CHECK(ss_where_ndeps(w) == ss_where_ndeps(w2),
		   "'%s' and its canonical text have other subqueries", text);
	if (row)
		fz_agree(w, w2, row, text);
	for (i = 0; i < FZ_NROWS; i++)
		fz_agree(w, w2, fz_rows[i], text);
	if (ss_where_ndeps(w) > 0)
		fz_check_dnf(w, row, text);
	ss_where_free(w2);
}

#endif
