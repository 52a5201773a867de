/*
 * test-dnf-pg.c — lib/dnf and lib/view against PostgreSQL itself
 * (DATABASE_URL; run by t2004): on random tables with NULLs in every
 * column, for clauses with subqueries of every form, each row of the
 * outer table gets the same answer from PostgreSQL and from C:
 *   - in the shape: SELECT ... WHERE <the canonical clause> (PostgreSQL)
 *     == the DNF plan over views loaded from the subqueries' results
 *     (lib/view's SQL IN semantics), row by row;
 *   - tags and active_conditions: ss_dnf_sql's expressions (PostgreSQL)
 *     == ss_dnf_tags_json / ss_dnf_ac_json (C), byte for byte;
 *   - after a random write to the inner tables, for each dependency
 *     alone going from its old result to its new one: the move-in query
 *     (ss_dnf_movein_sql, the views as array parameters) returns exactly
 *     the rows in the shape under the new views and not under the old.
 *   test-dnf-pg SEED ROUNDS
 */
#include <inttypes.h>

#include "dnf.h"
#include "pg.h"
#include "unit.h"
#include "view.h"

static struct ss_pg *db;

static void sql(const char *q)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_pg_exec(db, "setup", q, 0, NULL, NULL, NULL, &err) < 0)
		FAILF("%s: %s", q, err.msg);
}

static PGresult *query(const char *q)
{
	struct ss_err err = SS_ERR_INIT;
	PGresult *r = NULL;

	if (ss_pg_exec(db, "query", q, 0, NULL, &r, NULL, &err) < 0)
		FAILF("%s: %s", q, err.msg);
	return r;
}

/* The tables, as compile sees them. */
static const struct ss_where_column o_cols[] = {
    {.name = "id", .type = "int4"},   {.name = "a", .type = "int4"},
    {.name = "b", .type = "int4"},    {.name = "t", .type = "text"},
    {.name = "flag", .type = "bool"}, {.name = "c", .type = "bpchar"},
};
static const struct ss_where_column p_cols[] = {
    {.name = "id", .type = "int4"},  {.name = "x", .type = "int4"},
    {.name = "y", .type = "text"},   {.name = "active", .type = "bool"},
    {.name = "c", .type = "bpchar"},
};
static const struct ss_where_column q_cols[] = {
    {.name = "u", .type = "int4"},
    {.name = "v", .type = "int4"},
};
#define NO (sizeof(o_cols) / sizeof(o_cols[0]))

static int describe(void *ctx, const char *schema, const char *name,
		    const struct ss_where_column **cols, size_t *ncols,
		    struct ss_err *err)
{
	(void)ctx;
	(void)err;
	if (strcmp(schema, "public"))
		return 0;
	if (!strcmp(name, "o")) {
		*cols = o_cols, *ncols = NO;
	} else if (!strcmp(name, "p")) {
		*cols = p_cols, *ncols = 5;
	} else if (!strcmp(name, "q")) {
		*cols = q_cols, *ncols = 2;
	} else {
		return 0;
	}
	return 1;
}

static const char *const clauses[] = {
    "a IN (SELECT x FROM p WHERE active)",
    "a NOT IN (SELECT x FROM p)",
    "a NOT IN (SELECT x FROM p WHERE x IS NOT NULL AND active)",
    "a IN (SELECT x FROM p WHERE active) OR b IN (SELECT u FROM q)",
    "(a, b) IN (SELECT u, v FROM q)",
    "(a, b) NOT IN (SELECT u, v FROM q WHERE u > 1)",
    "(b, a) IN (SELECT v, u FROM q) AND flag",
    "a IN (SELECT x FROM p WHERE y IN (SELECT t FROM o WHERE flag))",
    "NOT (a IN (SELECT x FROM p) AND t = 'x') OR flag",
    "(a > 2 OR b IS NULL) AND a NOT IN (SELECT x FROM p WHERE active)",
    "t IN (SELECT y FROM p) AND NOT flag",
    "a IN (SELECT x FROM p) AND b NOT IN (SELECT u FROM q)",
    "c IN (SELECT c FROM p) OR (a = 1 AND b = 2) OR t IS NULL",
    ("NOT (a IN (SELECT x FROM p WHERE active) OR b IN (SELECT v FROM q)) "
     "AND (flag OR t <> 'y')"),
};

/* A random value of a small domain, NULL one time in six. */
static void val(struct ss_buf *b, int kind)
{
	unsigned r = (unsigned)(unit_rnd() % 6);

	if (r == 0) {
		ss_buf_adds(b, "NULL");
		return;
	}
	if (kind == 'i')
		ss_buf_addf(b, "%u", r);
	else if (kind == 't')
		ss_buf_addf(b, "'%c'", "wxyz"[r % 4]);
	else if (kind == 'b')
		ss_buf_adds(b, r % 2 ? "true" : "false");
	else
		ss_buf_addf(b, "'%.*s'", (int)(r % 3 + 1), "ab ");
}

static void fill(void)
{
	struct ss_buf b = SS_BUF_INIT;
	int i;

	sql("DROP TABLE IF EXISTS o, p, q");
	sql("CREATE TABLE o (id int PRIMARY KEY, a int, b int, t text, "
	    "flag bool, c char(3))");
	sql("CREATE TABLE p (id int PRIMARY KEY, x int, y text, active bool, "
	    "c char(3))");
	sql("CREATE TABLE q (u int, v int)");
	for (i = 0; i < 120; i++) {
		ss_buf_reset(&b);
		ss_buf_addf(&b, "INSERT INTO o VALUES (%d, ", i);
		val(&b, 'i'), ss_buf_adds(&b, ", ");
		val(&b, 'i'), ss_buf_adds(&b, ", ");
		val(&b, 't'), ss_buf_adds(&b, ", ");
		val(&b, 'b'), ss_buf_adds(&b, ", ");
		val(&b, 'c'), ss_buf_adds(&b, ")");
		sql(b.buf);
	}
	for (i = 0; i < (int)(unit_rnd() % 12); i++) {
		ss_buf_reset(&b);
		ss_buf_addf(&b, "INSERT INTO p VALUES (%d, ", i);
		val(&b, 'i'), ss_buf_adds(&b, ", ");
		val(&b, 't'), ss_buf_adds(&b, ", ");
		val(&b, 'b'), ss_buf_adds(&b, ", ");
		val(&b, 'c'), ss_buf_adds(&b, ")");
		sql(b.buf);
	}
	for (i = 0; i < (int)(unit_rnd() % 10); i++) {
		ss_buf_reset(&b);
		ss_buf_adds(&b, "INSERT INTO q VALUES (");
		val(&b, 'i'), ss_buf_adds(&b, ", ");
		val(&b, 'i'), ss_buf_adds(&b, ")");
		sql(b.buf);
	}
	ss_buf_release(&b);
}

/* The views of a clause's dependencies, from PostgreSQL. */
struct views {
	struct ss_view **v;
	size_t n;
};

static int member(void *ctx, size_t dep, const char *const *vals, size_t n,
		  int *res, struct ss_err *err)
{
	struct views *vs = ctx;

	return ss_view_member(vs->v[dep], vals, n, res, err);
}

/* The output-function text of a column, as the log holds it. */
static void text_expr(const char *col, struct ss_buf *b)
{
	ss_buf_addf(b, "CASE WHEN %s IS NULL THEN NULL ELSE concat(%s, '') END",
		    col, col);
}

static void load_views(const struct ss_where *w, struct views *vs)
{
	size_t i, k;
	int r;

	vs->n = ss_where_ndeps(w);
	vs->v = ss_xcalloc(vs->n + 1, sizeof(*vs->v));
	for (i = 0; i < vs->n; i++) {
		const struct ss_where_dep *d = ss_where_dep_at(w, i);
		struct ss_buf q = SS_BUF_INIT;
		PGresult *res;

		vs->v[i] = ss_view_new(d->ncols, d->types);
		ss_buf_adds(&q, "SELECT ");
		for (k = 0; k < d->ncols; k++) {
			if (k)
				ss_buf_adds(&q, ", ");
			text_expr(d->cols[k], &q);
		}
		ss_buf_addf(&q, " FROM %s.%s", d->schema, d->table);
		if (d->where)
			ss_buf_addf(&q, " WHERE %s", d->where);
		res = query(q.buf);
		for (r = 0; r < PQntuples(res); r++) {
			const char *vals[8];
			int moved;
			struct ss_err err = SS_ERR_INIT;

			for (k = 0; k < d->ncols; k++)
				vals[k] = PQgetisnull(res, r, (int)k)
					      ? NULL
					      : PQgetvalue(res, r, (int)k);
			if (ss_view_add(vs->v[i], vals, 1, &moved, &err) < 0)
				FAILF("view: %s", err.msg);
		}
		PQclear(res);
		ss_buf_release(&q);
	}
}

/* Per clause: rows found in and out of the shape over all rounds (a
 * clause never seen both ways would test little). */
static int seen_in[32], seen_out[32];
/* Move-in checks that found rows entering (a run where none did would
 * test little). */
static int moved_in;

/* A random write to p or q: one row inserted, deleted or changed. */
static void inner_write(void)
{
	struct ss_buf b = SS_BUF_INIT;
	unsigned r = (unsigned)(unit_rnd() % 6);

	if (r == 0) {
		ss_buf_addf(&b, "INSERT INTO p VALUES (%u, ",
			    100 + (unsigned)(unit_rnd() % 1000));
		val(&b, 'i'), ss_buf_adds(&b, ", ");
		val(&b, 't'), ss_buf_adds(&b, ", ");
		val(&b, 'b'), ss_buf_adds(&b, ", ");
		val(&b, 'c'), ss_buf_adds(&b, ") ON CONFLICT DO NOTHING");
	} else if (r == 1) {
		ss_buf_adds(&b, "INSERT INTO q VALUES (");
		val(&b, 'i'), ss_buf_adds(&b, ", ");
		val(&b, 'i'), ss_buf_adds(&b, ")");
	} else if (r == 2) {
		ss_buf_adds(&b, "DELETE FROM p WHERE ctid = (SELECT ctid FROM "
				"p ORDER BY random() LIMIT 1)");
	} else if (r == 3) {
		ss_buf_adds(&b, "DELETE FROM q WHERE ctid = (SELECT ctid FROM "
				"q ORDER BY random() LIMIT 1)");
	} else {
		ss_buf_adds(&b, "UPDATE p SET x = ");
		val(&b, 'i');
		ss_buf_adds(&b, ", active = ");
		val(&b, 'b');
		ss_buf_adds(&b, " WHERE ctid = (SELECT ctid FROM p ORDER BY "
				"random() LIMIT 1)");
	}
	sql(b.buf);
	ss_buf_release(&b);
}

/* For each dependency alone moving from its set in `old` to the one in
 * `new`: the move-in query's rows == rows in the shape under the new
 * views and not under the old (C). */
static void check_movein(const char *text, const struct ss_where *w,
			 const struct ss_dnf *d, struct views *old,
			 struct views *new)
{
	size_t k, j, i;

	for (k = 0; k < old->n; k++) {
		struct views mix = {ss_xcalloc(old->n, sizeof(*mix.v)), old->n};
		struct ss_buf q = SS_BUF_INIT, want = SS_BUF_INIT,
			      got = SS_BUF_INIT;
		struct ss_buf *arr;
		const char **params;
		int *first, np = 0, after;
		size_t nparams = 0;
		PGresult *res;
		struct ss_err err = SS_ERR_INIT;
		int r;

		for (j = 0; j < old->n; j++) {
			mix.v[j] = j == k ? new->v[j] : old->v[j];
			nparams += ss_where_dep_at(w, j)->ncols;
		}
		nparams += ss_where_dep_at(w, k)->ncols;
		arr = ss_xcalloc(nparams, sizeof(*arr));
		params = ss_xcalloc(nparams, sizeof(*params));
		first = ss_xcalloc(old->n, sizeof(*first));
		for (j = 0; j < old->n; j++) {
			first[j] = np + 1;
			ss_view_arrays(old->v[j], &arr[np]);
			np += (int)ss_where_dep_at(w, j)->ncols;
		}
		after = np + 1;
		ss_view_arrays(new->v[k], &arr[np]);
		for (i = 0; i < nparams; i++)
			params[i] = arr[i].buf;
		ss_buf_adds(&q, "SELECT id, ");
		ss_dnf_movein_ac_sql(d, w, k, first, after, &q);
		ss_buf_adds(&q, " FROM o WHERE ");
		ss_dnf_movein_sql(d, w, k, first, after, &q);
		ss_buf_adds(&q, " ORDER BY id");
		if (ss_pg_exec(db, "move-in", q.buf, (int)nparams, params, &res,
			       NULL, &err) < 0)
			FAILF("%s: %s\n%s", text, err.msg, q.buf);
		for (r = 0; r < PQntuples(res); r++)
			ss_buf_addf(&got, "%s%s ", PQgetvalue(res, r, 0),
				    PQgetvalue(res, r, 1));
		PQclear(res);
		/* C: every row of o, in order, under both */
		ss_buf_reset(&q);
		ss_buf_adds(&q, "SELECT ");
		for (j = 0; j < NO; j++) {
			if (j)
				ss_buf_adds(&q, ", ");
			text_expr(o_cols[j].name, &q);
		}
		ss_buf_adds(&q, " FROM o ORDER BY id");
		res = query(q.buf);
		for (r = 0; r < PQntuples(res); r++) {
			const char *vals[NO];
			unsigned char a[256];
			int before, now;

			for (j = 0; j < NO; j++)
				vals[j] = PQgetisnull(res, r, (int)j)
					      ? NULL
					      : PQgetvalue(res, r, (int)j);
			if (ss_dnf_eval(d, vals, member, old, a, &before,
					&err) < 0 ||
			    ss_dnf_eval(d, vals, member, &mix, a, &now, &err) <
				0)
				FAILF("eval: %s", err.msg);
			if (now && !before) {
				struct ss_buf acj = SS_BUF_INIT;

				/* the ac of the row against the views after */
				ss_dnf_ac_json(d, a, &acj);
				ss_buf_addf(&want, "%s%s ", vals[0], acj.buf);
				ss_buf_release(&acj);
			}
		}
		PQclear(res);
		unit_checks++;
		if (strcmp(want.buf ? want.buf : "", got.buf ? got.buf : "")) {
			unit_failures++;
			fprintf(stderr,
				"'%s', dependency %zu: the move-in query gives "
				"[%s], the views [%s]\n",
				text, k, got.buf ? got.buf : "",
				want.buf ? want.buf : "");
		}
		if (want.len)
			moved_in++;
		for (i = 0; i < nparams; i++)
			ss_buf_release(&arr[i]);
		free(arr);
		free(params);
		free(first);
		free(mix.v);
		ss_buf_release(&q);
		ss_buf_release(&want);
		ss_buf_release(&got);
	}
}

static void check_clause(size_t ci, const char *text, int round)
{
	struct ss_where_tables t = {describe, NULL};
	struct ss_where_opts o = {.tables = &t};
	struct ss_where *w = NULL;
	struct ss_dnf *d = NULL;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf q = SS_BUF_INIT, tags = SS_BUF_INIT, ac = SS_BUF_INIT;
	struct views vs;
	PGresult *res;
	size_t i, k;
	int r;

	if (ss_where_compile_opts(text, o_cols, NO, NULL, 0, &o, &w, &err) < 0)
		FAILF("%s: %s", text, err.msg);
	if (ss_dnf_build(w, o_cols, NO, &d, &err) < 0)
		FAILF("%s: %s", text, err.msg);
	load_views(w, &vs);
	ss_dnf_sql(d, "'st'", "'h-1'", &tags, &ac);
	ss_buf_adds(&q, "SELECT ");
	for (k = 0; k < NO; k++) {
		text_expr(o_cols[k].name, &q);
		ss_buf_adds(&q, ", ");
	}
	ss_buf_addf(&q, "COALESCE((%s), false), %s, %s FROM o ORDER BY id",
		    ss_where_canonical_text(w), tags.buf, ac.buf);
	res = query(q.buf);
	for (r = 0; r < PQntuples(res); r++) {
		const char *vals[NO];
		unsigned char a[256];
		int in = -1;
		struct ss_buf ct = SS_BUF_INIT, ca = SS_BUF_INIT;

		for (k = 0; k < NO; k++)
			vals[k] = PQgetisnull(res, r, (int)k)
				      ? NULL
				      : PQgetvalue(res, r, (int)k);
		if (ss_dnf_eval(d, vals, member, &vs, a, &in, &err) < 0)
			FAILF("eval: %s", err.msg);
		if (in)
			seen_in[ci]++;
		else
			seen_out[ci]++;
		ss_dnf_tags_json(d, vals, "st", "h-1", &ct);
		ss_dnf_ac_json(d, a, &ca);
		unit_checks++;
		if (in != (PQgetvalue(res, r, (int)NO)[0] == 't') ||
		    strcmp(ct.buf, PQgetvalue(res, r, (int)NO + 1)) ||
		    strcmp(ca.buf, PQgetvalue(res, r, (int)NO + 2))) {
			unit_failures++;
			fprintf(stderr,
				"round %d, '%s', row id %s: PostgreSQL says "
				"%s %s %s, C says %d %s %s\n",
				round, text, vals[0],
				PQgetvalue(res, r, (int)NO),
				PQgetvalue(res, r, (int)NO + 1),
				PQgetvalue(res, r, (int)NO + 2), in, ct.buf,
				ca.buf);
		}
		ss_buf_release(&ct);
		ss_buf_release(&ca);
	}
	PQclear(res);
	{
		struct views nv;

		inner_write();
		load_views(w, &nv);
		check_movein(text, w, d, &vs, &nv);
		for (i = 0; i < nv.n; i++)
			ss_view_free(nv.v[i]);
		free(nv.v);
	}
	for (i = 0; i < vs.n; i++)
		ss_view_free(vs.v[i]);
	free(vs.v);
	ss_buf_release(&q);
	ss_buf_release(&tags);
	ss_buf_release(&ac);
	ss_dnf_free(d);
	ss_where_free(w);
}

int main(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	const char *url = getenv("DATABASE_URL");
	int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3, i;
	size_t c;

	if (!url)
		FAILF("DATABASE_URL is not set (run through tests/t2004)");
	if (argc > 1)
		unit_seed(strtoull(argv[1], NULL, 10));
	if (ss_pg_open(url, SS_PG_DISPLAY, "test-dnf-pg", &db, &err) < 0)
		FAILF("%s", err.msg);
	for (i = 0; i < rounds; i++) {
		fill();
		for (c = 0; c < sizeof(clauses) / sizeof(clauses[0]); c++)
			check_clause(c, clauses[c], i);
	}
	for (c = 0; c < sizeof(clauses) / sizeof(clauses[0]); c++)
		if (!seen_in[c] || !seen_out[c])
			FAILF("'%s': %d rows in, %d out: the data does not "
			      "test it",
			      clauses[c], seen_in[c], seen_out[c]);
	if (!moved_in)
		FAILF("no move-in query found a row: the data does not test "
		      "them");
	ss_pg_close(db);
	return unit_report();
}
