/*
 * test-subq.c — lib/subq.h: the meta of outer changes and the moves of
 * inner changes byte for byte against the worked examples of Electric's
 * protocol (reference electric-subqueries.md, 3.6 and 3.7), pending
 * move-ins, NOT IN, shared inner shapes and their lifetime, and a random
 * run against a brute-force model of SQL's IN with NULLs.
 */
#include <inttypes.h>

#include "subq.h"
#include "unit.h"

#define H "12345-1700000000000000"
#define STACK "single_stack"
#define HA "cd70752d6aadead3ab177fddb9e1dd79" /* md5(STACK H "v:7") */
#define HB "b807f18b3a6f975f8101ba5143a355de" /* md5(STACK H "v:8") */

static const struct ss_where_column tasks[] = {
    {.name = "id", .type = "int4"},
    {.name = "project_id", .type = "int4"},
    {.name = "owner_id", .type = "int4"},
    {.name = "title", .type = "text"},
};
static const struct ss_where_column projects[] = {
    {.name = "id", .type = "int4"},
    {.name = "active", .type = "bool"},
    {.name = "y", .type = "int4"},
};

static int describe(void *ctx, const char *schema, const char *name,
		    const struct ss_where_column **cols, size_t *ncols,
		    struct ss_err *err)
{
	(void)ctx;
	(void)schema;
	(void)err;
	if (strcmp(name, "projects") && strcmp(name, "users"))
		return 0;
	*cols = projects;
	*ncols = 3;
	return 1;
}

static struct ss_where *compile(const char *text)
{
	struct ss_where_tables t = {describe, NULL};
	struct ss_where_opts o = {.tables = &t};
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;

	if (ss_where_compile_opts(text, tasks, 4, NULL, 0, &o, &w, &err) < 0)
		FAILF("%s: %s", text, err.msg);
	return w;
}

static void add(struct ss_subq *q, int64_t id, const char *text,
		const int64_t *inner)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_subq_add(q, id, H, compile(text), tasks, 4, inner, &err) < 0)
		FAILF("add %s: %s", text, err.msg);
}

static void meta(struct ss_subq *q, int64_t id, enum ss_frame_op op,
		 const char *const *newv, const char *const *oldv,
		 const char *want)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;

	CHECK(ss_subq_meta(q, id, op, newv, oldv, &b, &err) == 0);
	CHECK_STR(b.buf ? b.buf : err.msg, want);
	ss_buf_release(&b);
}

/* Every view loaded at 0 with a snapshot that sees nothing. */
static const struct ss_pg_snapshot nosnap;
static ss_lsn next_lsn = 100;

static void load_all(struct ss_subq *q)
{
	int64_t *ids;
	size_t n = ss_subq_unloaded(q, &ids), i;
	struct ss_err err = SS_ERR_INIT;

	for (i = 0; i < n; i++)
		CHECK(ss_subq_loaded(q, ids[i], 0, &nosnap, &err) == 0);
	free(ids);
}

/* One inner change of a one-column view: its moves as one line each,
 * "<kind> <outer> <dep> <text>", joined by "\n". */
static void inner(struct ss_subq *q, int64_t id, enum ss_frame_op op,
		  const char *newx, const char *oldx, struct ss_buf *out)
{
	const char *nv[1] = {newx}, *ov[1] = {oldx};
	struct ss_subq_moves m;
	struct ss_err err = SS_ERR_INIT;
	size_t i;

	ss_subq_moves_init(&m);
	ss_buf_reset(out);
	CHECK(ss_subq_inner(q, id, op, op == SS_FRAME_OP_DELETE ? NULL : nv,
			    op == SS_FRAME_OP_INSERT ? NULL : ov, 1000,
			    ++next_lsn, &m, &err) == 0);
	for (i = 0; i < m.n; i++)
		ss_buf_addf(out, "%s%s %" PRId64 " %zu %s", i ? "\n" : "",
			    m.v[i].kind == SS_SUBQ_MOVE_IN    ? "in"
			    : m.v[i].kind == SS_SUBQ_MOVE_OUT ? "out"
			    : m.v[i].kind == SS_SUBQ_MOVE_OUT_ROWS
				? "outrows"
				: "invalidate",
			    m.v[i].outer, m.v[i].dep, m.v[i].text.buf);
	if (!out->buf)
		ss_buf_adds(out, "");
	ss_subq_moves_release(&m);
}

static int is_member(struct ss_subq *q, int64_t id, size_t dep,
		     const char *const *vals, size_t n)
{
	ss_where_member_fn fn;
	void *ctx;
	struct ss_err err = SS_ERR_INIT;
	int res = 9;

	CHECK(ss_subq_member_fn(q, id, &fn, &ctx) == 1);
	CHECK(fn(ctx, dep, vals, n, &res, &err) == 0);
	return res;
}

/* Reference 3.6: project_id IN (SELECT id FROM projects WHERE active). */
static void example_a(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t inner10[] = {10};
	const char *t1[] = {"1", "7", "5", "a"}, *t2[] = {"2", "8", "5", "b"};
	const char *t1b[] = {"1", "8", "5", "a"}, *seven[] = {"7"};
	struct ss_buf b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	const char *const *names, *const *types;
	size_t nc;

	add(q, 1, "project_id IN (SELECT id FROM projects WHERE active)",
	    inner10);
	CHECK(ss_subq_is_outer(q, 1) && !ss_subq_is_outer(q, 10));
	{
		int64_t *ids;

		CHECK(ss_subq_unloaded(q, &ids) == 1 && ids[0] == 10);
		free(ids);
	}
	/* Unloaded, the view ignores changes. */
	inner(q, 10, SS_FRAME_OP_INSERT, "9", NULL, &b);
	CHECK_STR(b.buf, "");
	CHECK(ss_subq_inner_columns(q, 10, &names, &types, &nc) == 1 &&
	      nc == 1);
	CHECK_STR(names[0], "id");
	CHECK_STR(types[0], "int4");
	/* Project 7 is active: loaded from the inner shape's rows. */
	{
		static const char m7[] =
		    "{\"key\":\"k7\",\"value\":{\"id\":\"7\"},\"headers\":{}}";
		static const char *bad[] = {"{\"key\":\"k\"}", "not json",
					    "{\"value\":{\"id\":7}}",
					    "{\"value\":{\"x\":\"7\"}}",
					    "{\"value\":{\"id\":\"seven\"}}"};
		size_t i;

		CHECK(ss_subq_load_message(q, 10, m7, strlen(m7), &err) == 0);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ss_err_clear(&err);
			CHECK(ss_subq_load_message(q, 10, bad[i],
						   strlen(bad[i]), &err) < 0 &&
			      err.code == SS_ERR_INPUT);
		}
		ss_err_clear(&err);
		CHECK(ss_subq_load_message(q, 11, m7, strlen(m7), &err) < 0);
		CHECK_STR(err.msg, "shape 11 is no inner shape");
		ss_err_clear(&err);
		(void)seven;
	}
	meta(q, 1, SS_FRAME_OP_INSERT, t1, NULL,
	     "{\"tags\":[\"" HA "\"],\"active_conditions\":[true]}");
	CHECK(is_member(q, 1, 0, t1 + 1, 1) == 1);
	CHECK(is_member(q, 1, 0, t2 + 1, 1) == 0);
	{
		/* Loaded up to 500 (not included) from a snapshot 5:10:7. */
		uint64_t xip[] = {7};
		struct ss_pg_snapshot snap = {5, 10, xip, 1};
		struct ss_subq_moves m;
		const char *v[] = {"7"};

		CHECK(ss_subq_loaded(q, 10, 500, &snap, &err) == 0);
		ss_subq_moves_init(&m);
		/* Below 500: in the rows read already. */
		CHECK(ss_subq_inner(q, 10, SS_FRAME_OP_DELETE, NULL, v, 12, 499,
				    &m, &err) == 0 &&
		      m.n == 0);
		/* Visible in the snapshot: in its rows. */
		CHECK(ss_subq_inner(q, 10, SS_FRAME_OP_DELETE, NULL, v, 6, 501,
				    &m, &err) == 0 &&
		      m.n == 0);
		CHECK(ss_subq_inner(q, 10, SS_FRAME_OP_DELETE, NULL, v, 4, 501,
				    &m, &err) == 0 &&
		      m.n == 0);
		CHECK(is_member(q, 1, 0, t1 + 1, 1) == 1);
		/* In progress then (7), or after it (12), from 500 on:
		 * applied. */
		CHECK(ss_subq_inner(q, 10, SS_FRAME_OP_INSERT, v, NULL, 7, 500,
				    &m, &err) == 0 &&
		      m.n == 0);
		CHECK(ss_subq_inner(q, 10, SS_FRAME_OP_DELETE, NULL, v, 12, 502,
				    &m, &err) == 0 &&
		      m.n == 0);
		ss_subq_moves_release(&m);
		CHECK(ss_subq_loaded(q, 10, 0, &nosnap, &err) == 0);
	}

	/* UPDATE projects SET active=false WHERE id=7: 7 leaves. */
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "7", &b);
	CHECK_STR(b.buf, "out 1 0 [{\"pos\":0,\"value\":\"" HA "\"}]");
	CHECK(is_member(q, 1, 0, t1 + 1, 1) == 0);

	/* UPDATE projects SET active=true WHERE id=8: a move-in, pending
	 * until its rows are written. */
	inner(q, 10, SS_FRAME_OP_INSERT, "8", NULL, &b);
	CHECK_STR(b.buf, "in 1 0 [{\"pos\":0,\"value\":\"" HB "\"}]");
	CHECK(is_member(q, 1, 0, t2 + 1, 1) == 0);
	meta(q, 1, SS_FRAME_OP_INSERT, t2, NULL,
	     "{\"tags\":[\"" HB "\"],\"active_conditions\":[false]}");
	CHECK(ss_subq_settle(q, 1, 99) == 0);
	CHECK(ss_subq_settle(q, 1, 1) == 1);
	CHECK(ss_subq_settle(q, 1, 1) == 0);
	CHECK(is_member(q, 1, 0, t2 + 1, 1) == 1);

	/* Both active, task 1 moves from 7 to 8: an update that removes
	 * the old tag. */
	inner(q, 10, SS_FRAME_OP_INSERT, "7", NULL, &b);
	CHECK(ss_subq_settle(q, 1, 2) == 1);
	meta(q, 1, SS_FRAME_OP_UPDATE, t1b, t1,
	     "{\"tags\":[\"" HB "\"],\"active_conditions\":[true],"
	     "\"removed_tags\":[\"" HA "\"]}");
	/* An update that keeps the value: nothing removed. */
	meta(q, 1, SS_FRAME_OP_UPDATE, t1, t1,
	     "{\"tags\":[\"" HA "\"],\"active_conditions\":[true],"
	     "\"removed_tags\":[]}");
	/* A delete carries the old row's meta. */
	meta(q, 1, SS_FRAME_OP_DELETE, NULL, t1,
	     "{\"tags\":[\"" HA "\"],\"active_conditions\":[true]}");
	/* An update of the inner row that keeps its value moves nothing;
	 * one that changes it moves both. */
	inner(q, 10, SS_FRAME_OP_UPDATE, "7", "7", &b);
	CHECK_STR(b.buf, "");
	inner(q, 10, SS_FRAME_OP_UPDATE, "9", "7", &b);
	CHECK(!strncmp(b.buf, "in 1 0 ", 7) && strstr(b.buf, "\nout 1 0 "));
	/* Changes of shapes that are no inner shape here move nothing. */
	inner(q, 11, SS_FRAME_OP_INSERT, "1", NULL, &b);
	CHECK_STR(b.buf, "");
	ss_buf_release(&b);
	ss_subq_free(q);
}

/* Reference 3.7: OR of two subqueries, and a plain predicate. */
static void example_b(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t inner_ab[] = {20, 10}, inner_c[] = {10};
	const char *row[] = {"1", "7", "3", "x"}, *seven[] = {"7"};
	struct ss_buf b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	int64_t *ids;

	add(q, 2,
	    "owner_id IN (SELECT id FROM users WHERE y = 1) OR project_id "
	    "IN (SELECT id FROM projects WHERE active)",
	    inner_ab);
	add(q, 3,
	    "project_id IN (SELECT id FROM projects WHERE active) OR "
	    "title = 'x'",
	    inner_c);
	CHECK(ss_subq_load(q, 10, seven, 1, &err) == 0);
	load_all(q);
	meta(q, 2, SS_FRAME_OP_INSERT, row, NULL,
	     "{\"tags\":[\"f6907918a089192a8122622ed5f8a1b6/\",\"/" HA "\"],"
	     "\"active_conditions\":[false,true]}");
	meta(q, 3, SS_FRAME_OP_INSERT, row, NULL,
	     "{\"tags\":[\"" HA "/\",\"/1\"],"
	     "\"active_conditions\":[true,true]}");
	/* Inner 10 serves both shapes: one move each, at each one's
	 * position. */
	CHECK(ss_subq_outers_of(q, 10, &ids) == 2 && ids[0] == 2 &&
	      ids[1] == 3);
	free(ids);
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "7", &b);
	CHECK_STR(b.buf, "out 2 1 [{\"pos\":1,\"value\":\"" HA "\"}]\n"
			 "out 3 0 [{\"pos\":0,\"value\":\"" HA "\"}]");
	/* The inner shapes live as long as their last outer shape. */
	CHECK(ss_subq_remove(q, 2) == 1 && ss_subq_remove(q, 2) == 0);
	CHECK(ss_subq_outers_of(q, 20, &ids) == 0);
	free(ids);
	CHECK(ss_subq_outers_of(q, 10, &ids) == 1 && ids[0] == 3);
	free(ids);
	CHECK(ss_subq_remove(q, 3) == 1);
	CHECK(ss_subq_outers_of(q, 10, &ids) == 0);
	free(ids);
	CHECK(ss_subq_load(q, 10, seven, 1, &err) < 0);
	ss_buf_release(&b);
	ss_subq_free(q);
}

static void not_in(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t inner10[] = {10};
	const char *v7[] = {"7"}, *vnull[] = {NULL};
	char h7[33], hnull[33];
	struct ss_buf b = SS_BUF_INIT, want = SS_BUF_INIT;

	add(q, 4, "project_id NOT IN (SELECT id FROM projects)", inner10);
	load_all(q);
	/* The hashes are the tags' (one position, one disjunct). */
	{
		const char *r7[] = {"1", "7", "1", "t"},
			   *rn[] = {"1", NULL, "1", "t"};
		struct ss_buf t = SS_BUF_INIT;

		meta(q, 4, SS_FRAME_OP_INSERT, rn, NULL,
		     "{\"tags\":[\"71bb3a06cfb3543533f07e5b4da4369e\"],"
		     "\"active_conditions\":[true]}");
		CHECK(ss_subq_meta(q, 4, SS_FRAME_OP_INSERT, r7, NULL, &t,
				   NULL) == 0);
		CHECK(sscanf(t.buf, "{\"tags\":[\"%32[0-9a-f]", h7) == 1);
		ss_buf_reset(&t);
		CHECK(ss_subq_meta(q, 4, SS_FRAME_OP_INSERT, rn, NULL, &t,
				   NULL) == 0);
		CHECK(sscanf(t.buf, "{\"tags\":[\"%32[0-9a-f]", hnull) == 1);
		ss_buf_release(&t);
	}
	/* 7 joins: rows with 7 leave, and rows with NULL (the subquery is
	 * no longer empty). */
	inner(q, 10, SS_FRAME_OP_INSERT, "7", NULL, &b);
	ss_buf_addf(&want,
		    "out 4 0 [{\"pos\":0,\"value\":\"%s\"},"
		    "{\"pos\":0,\"value\":\"%s\"}]",
		    h7, hnull);
	CHECK_STR(b.buf, want.buf);
	CHECK(is_member(q, 4, 0, v7, 1) == 1);
	CHECK(is_member(q, 4, 0, vnull, 1) == -1);
	/* 7 leaves: a move-in; until it settles 7 still counts, and the
	 * subquery is not empty for a NULL either. */
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "7", &b);
	ss_buf_reset(&want);
	ss_buf_addf(&want, "in 4 0 [{\"pos\":0,\"value\":\"%s\"}]", h7);
	CHECK_STR(b.buf, want.buf);
	CHECK(is_member(q, 4, 0, v7, 1) == 1);
	CHECK(is_member(q, 4, 0, vnull, 1) == -1);
	CHECK(ss_subq_settle(q, 4, 1) == 1);
	CHECK(is_member(q, 4, 0, v7, 1) == 0);
	CHECK(is_member(q, 4, 0, vnull, 1) == 0);
	/* A move-in cancelled by a move-out of the same value before it
	 * settled: nothing pending is left. */
	inner(q, 10, SS_FRAME_OP_INSERT, "8", NULL, &b);
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "8", &b);
	inner(q, 10, SS_FRAME_OP_INSERT, "8", NULL, &b);
	CHECK(!strncmp(b.buf, "out 4 0 ", 8));
	CHECK(ss_subq_settle(q, 4, 2) == 0);
	CHECK(is_member(q, 4, 0, (const char *[]){"8"}, 1) == 1);
	/* A NULL entering the subquery of a NOT IN: no pattern says it. */
	inner(q, 10, SS_FRAME_OP_INSERT, NULL, NULL, &b);
	CHECK_STR(b.buf, "invalidate 4 0 a row with a NULL entered the "
			 "subquery of a NOT IN of shape 4");
	ss_buf_release(&b);
	ss_buf_release(&want);
	ss_subq_free(q);
}

static void errors(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t inner10[] = {10};
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;
	const char *row[] = {"1", "7", "3", "x"};

	add(q, 1, "project_id IN (SELECT id FROM projects)", inner10);
	CHECK(ss_subq_add(q, 1, H,
			  compile("project_id IN (SELECT id FROM projects)"),
			  tasks, 4, inner10, &err) < 0);
	CHECK_STR(err.msg, "shape 1 is already routed");
	ss_err_clear(&err);
	CHECK(ss_subq_add(q, 2, H,
			  compile("owner_id IN (SELECT y FROM projects)"),
			  tasks, 4, inner10, &err) < 0);
	CHECK_STR(err.msg, "inner shape 10 serves a subquery with other "
			   "columns (SELECT y FROM public.projects)");
	CHECK(!ss_subq_is_outer(q, 2));
	ss_err_clear(&err);
	CHECK(ss_subq_add(q, 3, H, compile("id > 1"), tasks, 4, inner10, &err) <
	      0);
	CHECK_STR(err.msg, "shape 3 has no subquery");
	ss_err_clear(&err);
	CHECK(ss_subq_meta(q, 9, SS_FRAME_OP_INSERT, row, NULL, &b, &err) < 0);
	CHECK_STR(err.msg, "shape 9 is no subquery shape");
	ss_err_clear(&err);
	/* A value leaving that never entered: the view cannot follow. */
	{
		const char *v[] = {"5"};
		struct ss_subq_moves m;

		ss_subq_moves_init(&m);
		load_all(q);
		CHECK(ss_subq_inner(q, 10, SS_FRAME_OP_DELETE, NULL, v, 1,
				    ++next_lsn, &m, &err) < 0 &&
		      err.code == SS_ERR_INPUT);
		CHECK_STR(err.msg, "a row left the view that was never in it "
				   "('5')");
		/* what the callers make of it: shape 1 is invalidated */
		ss_subq_moves_reset(&m);
		ss_subq_invalidate_users(q, 10, &m, "it: %s", "why");
		CHECK(m.n == 1 && m.v[0].kind == SS_SUBQ_INVALIDATE &&
		      m.v[0].outer == 1);
		CHECK_STR(m.v[0].text.buf,
			  "the view of shape 10, a subquery of shape 1, "
			  "cannot follow it: why");
		ss_subq_moves_reset(&m);
		ss_subq_invalidate_users(q, 11, &m, "it"); /* no users */
		CHECK(m.n == 0);
		ss_subq_moves_release(&m);
	}
	ss_buf_release(&b);
	ss_subq_free(q);
}

/* ------------------------------------------------ random, against a model */

#define NROWS 24

/* SQL's (l0[, l1]) IN rows, three-valued, for int4 text ("01" = "1"). */
static int model_in(const char *const (*rows)[2], size_t nrows, size_t ncols,
		    const char *const *left)
{
	size_t i, c;
	int res = 0;

	for (i = 0; i < nrows; i++) {
		int r = 1;

		for (c = 0; c < ncols; c++) {
			if (!left[c] || !rows[i][c])
				r = r == 0 ? 0 : -1;
			else if (strtol(left[c], NULL, 10) !=
				 strtol(rows[i][c], NULL, 10))
				r = 0;
		}
		if (r == 1)
			return 1;
		if (r == -1)
			res = -1;
	}
	return res;
}

static const char *rnd_val(void)
{
	static const char *const vals[] = {"1", "2", "3", "01", NULL};
	uint64_t r = unit_rnd() % 20;

	return r == 0 ? NULL : vals[r % 4];
}

static void random_run(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t i10[] = {10}, i11[] = {11};
	const char *rows[NROWS][2];
	size_t nrows = 0, step, k;
	struct ss_subq_moves m;
	struct ss_err err = SS_ERR_INIT;
	int neg_invalid = 0;

	add(q, 1, "project_id IN (SELECT id FROM projects)", i10);
	add(q, 2, "project_id NOT IN (SELECT id FROM projects)", i10);
	add(q, 3, "(project_id, owner_id) IN (SELECT id, y FROM projects)",
	    i11);
	load_all(q);
	ss_subq_moves_init(&m);
	for (step = 0; step < 4000; step++) {
		const char *before[NROWS][2], *nv[2], *ov[2];
		size_t nbefore = nrows, j, i;
		enum ss_frame_op op;

		memcpy(before, rows, sizeof(rows));
		if (nrows == 0 || (nrows < NROWS && unit_rnd() % 3 == 0)) {
			op = SS_FRAME_OP_INSERT;
			nv[0] = rnd_val();
			nv[1] = rnd_val();
			rows[nrows][0] = nv[0];
			rows[nrows][1] = nv[1];
			nrows++;
		} else {
			j = unit_rnd() % nrows;
			ov[0] = rows[j][0];
			ov[1] = rows[j][1];
			if (unit_rnd() % 2) {
				op = SS_FRAME_OP_DELETE;
				rows[j][0] = rows[nrows - 1][0];
				rows[j][1] = rows[nrows - 1][1];
				nrows--;
			} else {
				op = SS_FRAME_OP_UPDATE;
				nv[0] = unit_rnd() % 2 ? rnd_val() : ov[0];
				nv[1] = rnd_val();
				rows[j][0] = nv[0];
				rows[j][1] = nv[1];
			}
		}
		ss_subq_moves_reset(&m);
		next_lsn++;
		CHECK(ss_subq_inner(q, 10, op,
				    op == SS_FRAME_OP_DELETE ? NULL : nv,
				    op == SS_FRAME_OP_INSERT ? NULL : ov, 5,
				    next_lsn, &m, &err) == 0);
		CHECK(ss_subq_inner(q, 11, op,
				    op == SS_FRAME_OP_DELETE ? NULL : nv,
				    op == SS_FRAME_OP_INSERT ? NULL : ov, 5,
				    next_lsn, &m, &err) == 0);
		/* Every move names a value whose presence changed (the
		 * model: SQL IN over the rows before and after). */
		for (i = 0; i < m.n; i++) {
			struct ss_subq_move *mv = &m.v[i];
			size_t nc = mv->outer == 3 ? 2 : 1;
			int b, a;

			if (mv->kind == SS_SUBQ_INVALIDATE) {
				CHECK(mv->outer == 2);
				neg_invalid = 1;
				continue;
			}
			if (mv->kind == SS_SUBQ_MOVE_OUT)
				continue;
			b = model_in((const char *const(*)[2])before, nbefore,
				     nc, (const char *const *)mv->vals);
			a = model_in((const char *const(*)[2])rows, nrows, nc,
				     (const char *const *)mv->vals);
			/* Positive: in now, not before; NOT IN: the
			 * reverse. */
			if (mv->outer == 2)
				CHECK(b == 1 && a != 1);
			else
				CHECK(b != 1 && a == 1);
			/* Pending: the shape still sees the old answer. */
			CHECK((is_member(q, mv->outer, 0,
					 (const char *const *)mv->vals,
					 nc) == 1) == (b == 1));
		}
		/* A value whose presence changed without a move: missed. */
		for (k = 0; k < 4; k++) {
			static const char *const dom[] = {"1", "2", "3", "01"};
			const char *l[1] = {dom[k]};
			int b = model_in((const char *const(*)[2])before,
					 nbefore, 1, l),
			    a = model_in((const char *const(*)[2])rows, nrows,
					 1, l),
			    found = 0;

			if ((b == 1) == (a == 1))
				continue;
			for (i = 0; i < m.n; i++)
				found +=
				    m.v[i].outer == 1 &&
				    m.v[i].kind != SS_SUBQ_INVALIDATE &&
				    m.v[i].kind == (a == 1 ? SS_SUBQ_MOVE_IN
							   : SS_SUBQ_MOVE_OUT);
			CHECK(found == 1);
		}
		for (i = 0; i < m.n; i++)
			if (m.v[i].kind == SS_SUBQ_MOVE_IN)
				CHECK(ss_subq_settle(q, m.v[i].outer,
						     m.v[i].number) == 1);
		/* Settled: every shape answers as SQL over the rows. */
		for (k = 0; k < 25; k++) {
			static const char *const dom[] = {"1", "2", "3", "01",
							  NULL};
			const char *l[2] = {dom[k % 5], dom[k / 5]};

			CHECK(is_member(q, 1, 0, l, 1) ==
			      model_in((const char *const(*)[2])rows, nrows, 1,
				       l));
			CHECK(is_member(q, 2, 0, l, 1) ==
			      model_in((const char *const(*)[2])rows, nrows, 1,
				       l));
			CHECK(is_member(q, 3, 0, l, 2) ==
			      model_in((const char *const(*)[2])rows, nrows, 2,
				       l));
		}
	}
	CHECK(neg_invalid);
	ss_subq_moves_release(&m);
	ss_subq_free(q);
}

/* deps: parse, canonical text, and compiling a clause with them. */
static void deps(void)
{
	static const char text[] =
	    "{\"inner\":[12],\"tables\":[{\"schema\":\"public\",\"table\":"
	    "\"projects\",\"columns\":[[\"id\",\"int4\"],[\"active\","
	    "\"bool\"],[\"y\",\"int4\"]]}]}";
	struct ss_subq_deps d;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_where_tables t = {ss_subq_deps_describe, &d};
	struct ss_where_opts o = {.tables = &t};
	struct ss_where *w = NULL;

	CHECK(ss_subq_deps_parse(" { \"tables\" : [{\"schema\":\"public\","
				 "\"columns\":[[\"id\",\"int4\"],[\"active\","
				 "\"bool\"],[\"y\",\"int4\"]],\"table\":"
				 "\"projects\"}], \"inner\":[12]}",
				 &d, &err) == 0);
	ss_subq_deps_json(&d, &b);
	CHECK_STR(b.buf, text);
	CHECK(ss_where_compile_opts("project_id IN (SELECT id FROM projects "
				    "WHERE active AND y > 2)",
				    tasks, 4, NULL, 0, &o, &w, &err) == 0);
	CHECK(w && ss_where_ndeps(w) == 1);
	ss_where_free(w);
	w = NULL;
	CHECK(ss_where_compile_opts("project_id IN (SELECT id FROM users)",
				    tasks, 4, NULL, 0, &o, &w, &err) < 0);
	ss_subq_deps_release(&d);
	CHECK(ss_subq_deps_parse("{\"inner\":[3,3],\"tables\":[{\"schema\":"
				 "\"s\",\"table\":\"t\",\"columns\":[[\"a\","
				 "\"int4\"]]}]}",
				 &d, &err) < 0);
	CHECK_STR(err.msg, "deps name inner shape 3 twice");
	CHECK(ss_subq_deps_parse("{\"inner\":[1]}", &d, &err) < 0);
	CHECK_STR(err.msg, "deps must be {\"inner\":[..],\"tables\":[..]}");
	ss_buf_release(&b);
}

/* The query of a pending move-in: its parameters (the views as the
 * shape sees them, then the view with the moves made), WHERE, patterns,
 * values, numbers; gen; ss_subq_pend after a restart. */
static void movein_plan(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t inner10[] = {10, 11};
	struct ss_subq_movein mi;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	uint64_t gen, number = 0;
	int64_t *ids;

	add(q, 4,
	    "project_id IN (SELECT id FROM projects WHERE active) AND "
	    "owner_id NOT IN (SELECT id FROM users)",
	    inner10);
	load_all(q);
	CHECK(ss_subq_movein_next(q, 4, &mi, &err) == 0);
	ss_subq_movein_release(&mi);
	gen = ss_subq_gen(q, 4);
	inner(q, 10, SS_FRAME_OP_INSERT, "7", NULL, &b);
	inner(q, 10, SS_FRAME_OP_INSERT, "8", NULL, &b);
	CHECK(ss_subq_gen(q, 4) == gen); /* move-ins stale nothing */
	inner(q, 11, SS_FRAME_OP_INSERT, "5", NULL, &b); /* a move-out */
	CHECK(!strncmp(b.buf, "out 4 1 ", 8));
	/* two subquery tests: a move-out of one stales the other's truth */
	CHECK(ss_subq_gen(q, 4) == gen + 1);
	CHECK(ss_subq_pending_outers(q, &ids) == 1 && ids[0] == 4);
	free(ids);
	CHECK(ss_subq_movein_next(q, 4, &mi, &err) == 1);
	CHECK(mi.outer == 4 && mi.dep == 0 && mi.nnumbers == 2);
	CHECK(mi.gen == ss_subq_gen(q, 4));
	CHECK(mi.nparams == 3);
	/* $1: projects as the shape sees them (7 and 8 not yet), $2: users,
	 * $3: projects with the moves */
	CHECK_STR(mi.params[0].buf, "{}");
	CHECK_STR(mi.params[1].buf, "{\"5\"}");
	CHECK(!strcmp(mi.params[2].buf, "{\"7\",\"8\"}") ||
	      !strcmp(mi.params[2].buf, "{\"8\",\"7\"}"));
	CHECK_STR(mi.where.buf,
		  "((COALESCE((project_id = ANY($3::int4[])), false) AND "
		  "COALESCE(NOT (owner_id = ANY($2::int4[])), false))) AND "
		  "NOT (((COALESCE((project_id = ANY($1::int4[])), false) AND "
		  "COALESCE(NOT (owner_id = ANY($2::int4[])), false))) OR "
		  "(false))");
	CHECK_STR(mi.ac.buf,
		  "('[' || CASE WHEN COALESCE((project_id = ANY($3::int4[])), "
		  "false) THEN 'true' ELSE 'false' END || ',' || CASE WHEN "
		  "COALESCE(NOT (owner_id = ANY($2::int4[])), false) THEN "
		  "'true' ELSE 'false' END || ']')");
	CHECK_STR(mi.values.buf, "[[\"7\"],[\"8\"]]");
	CHECK(!strncmp(mi.patterns.buf, "[{\"pos\":0,\"value\":\"", 19));
	CHECK(ss_subq_settle(q, 4, mi.numbers[0]) == 1);
	CHECK(ss_subq_settle(q, 4, mi.numbers[1]) == 1);
	ss_subq_movein_release(&mi);
	CHECK(ss_subq_movein_next(q, 4, &mi, &err) == 0);
	ss_subq_movein_release(&mi);
	CHECK(is_member(q, 4, 0, (const char *[]){"7"}, 1) == 1);
	/* after a restart: 7 is in the view, pending again; 9 is not */
	CHECK(ss_subq_pend(q, 4, 0, (const char *[]){"7"}, 1, 0, &number,
			   &err) == 1);
	CHECK(is_member(q, 4, 0, (const char *[]){"7"}, 1) == 0);
	CHECK(ss_subq_pend(q, 4, 0, (const char *[]){"9"}, 1, 0, &number,
			   &err) == 0);
	/* a negated dependency: 5 left users, so its move-in holds */
	CHECK(ss_subq_pend(q, 4, 1, (const char *[]){"5"}, 1, 0, &number,
			   &err) == 0);
	inner(q, 11, SS_FRAME_OP_DELETE, NULL, "5", &b);
	CHECK(!strncmp(b.buf, "in 4 1 ", 7));
	CHECK(ss_subq_pend(q, 4, 9, (const char *[]){"5"}, 1, 0, &number,
			   &err) == -1);
	ss_buf_release(&b);
	ss_subq_free(q);

	/* One subquery test: only a cancelled move-in stales a query. */
	q = ss_subq_new(STACK);
	add(q, 5, "project_id IN (SELECT id FROM projects WHERE active)",
	    inner10);
	load_all(q);
	inner(q, 10, SS_FRAME_OP_INSERT, "1", NULL, &b);
	CHECK(ss_subq_settle(q, 5, 1) == 1);
	gen = ss_subq_gen(q, 5);
	inner(q, 10, SS_FRAME_OP_INSERT, "2", NULL, &b);
	CHECK(!strncmp(b.buf, "in 5 0 ", 7));
	inner(q, 10, SS_FRAME_OP_INSERT, "3", NULL, &b);
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "1", &b); /* another value */
	CHECK(!strncmp(b.buf, "out 5 0 ", 8));
	CHECK(ss_subq_gen(q, 5) == gen);
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "2", &b); /* cancels 2 */
	CHECK(ss_subq_gen(q, 5) == gen + 1);
	CHECK(ss_subq_movein_next(q, 5, &mi, &err) == 1);
	CHECK_STR(mi.values.buf, "[[\"3\"]]");
	ss_subq_movein_release(&mi);
	ss_buf_release(&b);
	ss_subq_free(q);
}

/* The outer shapes filed under value v of tasks.project_id (int4). */
static size_t filed(struct ss_subq *q, const char *v)
{
	void *const *cookies;
	const unsigned char *exact;

	return ss_subq_index_lookup(q, "project_id", "int4", v, &cookies,
				    &exact);
}

/* Settle every pending move of the next group of outer id: its
 * direction (1 out), or -1 when none is pending. */
static int settle_next(struct ss_subq *q, int64_t id)
{
	struct ss_subq_movein mi;
	struct ss_err err = SS_ERR_INIT;
	size_t i;
	int out = -1;

	if (ss_subq_movein_next(q, id, &mi, &err) == 1) {
		out = mi.out;
		for (i = 0; i < mi.nnumbers; i++)
			CHECK(ss_subq_settle(q, id, mi.numbers[i]) == 1);
	}
	ss_subq_movein_release(&mi);
	return out;
}

/* move_out=delete: a move-out is pending with a query (the rows that
 * leave) like a move-in, the shape seeing the value until it settles; a
 * value that moves back cancels; the index keeps the shape filed under a
 * kept value; restore; NOT IN. */
static void move_out_rows(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t inner10[] = {10};
	const char *seven[] = {"7"}, *three[] = {"3"};
	struct ss_subq_movein mi;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	uint64_t gen, number = 0;

	add(q, 4, "project_id IN (SELECT id FROM projects)", inner10);
	add(q, 5, "project_id NOT IN (SELECT id FROM projects)", inner10);
	CHECK(ss_subq_set_deletes(q, 4, &err) == 0);
	CHECK(ss_subq_set_deletes(q, 5, &err) == 0);
	CHECK(ss_subq_set_deletes(q, 6, &err) == -1);
	load_all(q);

	/* in: a move-in for 4; for the NOT IN shape 5, rows leave */
	inner(q, 10, SS_FRAME_OP_INSERT, "7", NULL, &b);
	/* (the NOT IN's patterns hold NULL's too, as its move-out event) */
	CHECK_STR(b.buf,
		  "in 4 0 [{\"pos\":0,\"value\":\"" HA "\"}]\n"
		  "outrows 5 0 [{\"pos\":0,\"value\":\"" HA "\"},{\"pos\":0,"
		  "\"value\":\"71bb3a06cfb3543533f07e5b4da4369e\"}]");
	CHECK(is_member(q, 4, 0, seven, 1) == 0); /* not yet for either */
	CHECK(is_member(q, 5, 0, seven, 1) == 0);
	CHECK(settle_next(q, 4) == 0 && settle_next(q, 5) == 1);
	CHECK(is_member(q, 4, 0, seven, 1) == 1);
	CHECK(is_member(q, 5, 0, seven, 1) == 1);
	CHECK(filed(q, "7") == 1);

	/* out: rows leave 4 (a query, not an event); 5 gets a move-in */
	gen = ss_subq_gen(q, 4);
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "7", &b);
	CHECK_STR(b.buf, "outrows 4 0 [{\"pos\":0,\"value\":\"" HA "\"}]\n"
			 "in 5 0 [{\"pos\":0,\"value\":\"" HA "\"}]");
	CHECK(ss_subq_gen(q, 4) == gen); /* the shape sees no move yet */
	CHECK(is_member(q, 4, 0, seven, 1) == 1);
	CHECK(is_member(q, 5, 0, seven, 1) == 1);
	CHECK(filed(q, "7") == 1); /* filed while kept */
	CHECK(ss_subq_movein_next(q, 4, &mi, &err) == 1);
	CHECK(mi.out == 1 && mi.nnumbers == 1 && mi.nparams == 2);
	/* $1: as the shape sees it (7 kept), $2: after (without 7); the
	 * rows that leave: in before, not after */
	CHECK_STR(mi.params[0].buf, "{\"7\"}");
	CHECK_STR(mi.params[1].buf, "{}");
	CHECK_STR(mi.where.buf,
		  "((COALESCE((project_id = ANY($1::int4[])), false))) AND "
		  "NOT (((COALESCE((project_id = ANY($2::int4[])), false))) "
		  "OR (false))");
	CHECK_STR(mi.ac.buf, "('[' || CASE WHEN COALESCE((project_id = "
			     "ANY($2::int4[])), false) THEN 'true' ELSE "
			     "'false' END || ']')");
	CHECK(ss_subq_settle(q, 4, mi.numbers[0]) == 1);
	ss_subq_movein_release(&mi);
	CHECK(is_member(q, 4, 0, seven, 1) == 0);
	CHECK(filed(q, "7") == 0);
	CHECK(settle_next(q, 5) == 0 && is_member(q, 5, 0, seven, 1) == 0);

	/* a value that moves back before its move settled cancels it: no
	 * move, the query in flight stale */
	gen = ss_subq_gen(q, 4);
	inner(q, 10, SS_FRAME_OP_INSERT, "8", NULL, &b);
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "8", &b);
	CHECK_STR(b.buf, "");
	CHECK(ss_subq_gen(q, 4) == gen + 1);
	CHECK(settle_next(q, 4) == -1 && settle_next(q, 5) == -1);
	inner(q, 10, SS_FRAME_OP_INSERT, "9", NULL, &b);
	CHECK(settle_next(q, 4) == 0 && settle_next(q, 5) == 1);
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "9", &b);
	inner(q, 10, SS_FRAME_OP_INSERT, "9", NULL, &b);
	CHECK_STR(b.buf, "");
	CHECK(settle_next(q, 4) == -1 && settle_next(q, 5) == -1);
	CHECK(is_member(q, 4, 0, (const char *[]){"9"}, 1) == 1);
	CHECK(filed(q, "9") == 1); /* once */

	/* both ways pending on one dependency: a group per direction, the
	 * set after one group without the other's moves */
	inner(q, 10, SS_FRAME_OP_DELETE, NULL, "9", &b);
	inner(q, 10, SS_FRAME_OP_INSERT, "6", NULL, &b);
	CHECK(ss_subq_movein_next(q, 4, &mi, &err) == 1);
	CHECK(mi.out == 1 && mi.nnumbers == 1);
	CHECK_STR(mi.params[0].buf, "{\"9\"}"); /* 6 hidden, 9 kept */
	CHECK_STR(mi.params[1].buf, "{}");	/* 9 gone, 6 still hidden */
	CHECK(ss_subq_settle(q, 4, mi.numbers[0]) == 1);
	ss_subq_movein_release(&mi);
	CHECK(ss_subq_movein_next(q, 4, &mi, &err) == 1);
	CHECK(mi.out == 0 && mi.nnumbers == 1);
	CHECK_STR(mi.params[0].buf, "{}");
	CHECK_STR(mi.params[1].buf, "{\"6\"}");
	ss_subq_movein_release(&mi);

	/* restore: a move-out whose value is out of the view holds */
	CHECK(ss_subq_pend(q, 4, 0, (const char *[]){"9"}, 1, 1, &number,
			   &err) == 1);
	CHECK(is_member(q, 4, 0, (const char *[]){"9"}, 1) == 1);
	CHECK(filed(q, "9") == 1);
	CHECK(ss_subq_pend(q, 4, 0, (const char *[]){"6"}, 1, 1, &number,
			   &err) == 0);

	/* a NOT IN's move-out hides the value until it settles */
	inner(q, 10, SS_FRAME_OP_INSERT, "3", NULL, &b);
	CHECK(is_member(q, 5, 0, three, 1) == 0);
	/* removing a shape that keeps a value unfiles it */
	CHECK(ss_subq_remove(q, 4) == 1);
	CHECK(filed(q, "9") == 0 && filed(q, "6") == 0);
	ss_buf_release(&b);
	ss_subq_free(q);

	/* a shape without move_out=delete has no pending move-out */
	q = ss_subq_new(STACK);
	add(q, 4, "project_id IN (SELECT id FROM projects)", inner10);
	load_all(q);
	CHECK(ss_subq_pend(q, 4, 0, (const char *[]){"9"}, 1, 1, &number,
			   &err) == 0);
	ss_subq_free(q);
}

/* move_out=delete, NOT IN: a value that joins the subquery is hidden
 * until its deletes are written, and the shape sees the subquery
 * without it, also for a left side with a NULL: `NULL NOT IN (empty)`
 * is TRUE, `(1, NULL) NOT IN (empty)` too. */
static void not_in_hidden_nulls(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t inner10[] = {10}, inner11[] = {11};
	const char *vnull[] = {NULL}, *one_null[] = {"1", NULL};
	const char *rn[] = {"1", NULL, "1", "t"};
	struct ss_buf b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	struct ss_subq_moves m;
	const char *pair[] = {"1", "2"};

	add(q, 4, "project_id NOT IN (SELECT id FROM projects)", inner10);
	add(q, 5, "(project_id, owner_id) NOT IN (SELECT id, y FROM users)",
	    inner11);
	CHECK(ss_subq_set_deletes(q, 4, &err) == 0);
	CHECK(ss_subq_set_deletes(q, 5, &err) == 0);
	load_all(q);
	CHECK(is_member(q, 4, 0, vnull, 1) == 0);
	/* 7 joins: its deletes pending, the shape still sees none */
	inner(q, 10, SS_FRAME_OP_INSERT, "7", NULL, &b);
	CHECK(!strncmp(b.buf, "outrows 4 0 ", 12));
	CHECK(is_member(q, 4, 0, (const char *[]){"7"}, 1) == 0);
	CHECK(is_member(q, 4, 0, vnull, 1) == 0);
	meta(q, 4, SS_FRAME_OP_INSERT, rn, NULL,
	     "{\"tags\":[\"71bb3a06cfb3543533f07e5b4da4369e\"],"
	     "\"active_conditions\":[true]}");
	CHECK(settle_next(q, 4) == 1);
	CHECK(is_member(q, 4, 0, vnull, 1) == -1);
	/* a second value while one is seen: unknown either way */
	inner(q, 10, SS_FRAME_OP_INSERT, "8", NULL, &b);
	CHECK(is_member(q, 4, 0, vnull, 1) == -1);
	CHECK(is_member(q, 4, 0, (const char *[]){"8"}, 1) == 0);

	/* two columns: (1, 2) joins, (1, NULL) is not in the empty set */
	ss_subq_moves_init(&m);
	CHECK(ss_subq_inner(q, 11, SS_FRAME_OP_INSERT, pair, NULL, 1000,
			    ++next_lsn, &m, &err) == 0);
	CHECK(m.n == 1 && m.v[0].kind == SS_SUBQ_MOVE_OUT_ROWS);
	ss_subq_moves_release(&m);
	CHECK(is_member(q, 5, 0, pair, 2) == 0);
	CHECK(is_member(q, 5, 0, one_null, 2) == 0);
	CHECK(is_member(q, 5, 0, (const char *[]){"2", NULL}, 2) == 0);
	CHECK(settle_next(q, 5) == 1);
	CHECK(is_member(q, 5, 0, one_null, 2) == -1);
	CHECK(is_member(q, 5, 0, (const char *[]){"2", NULL}, 2) == 0);
	ss_buf_release(&b);
	ss_subq_free(q);
}

/* The int of a value of the random runs ("01" is 1). */
static int ival(const char *v)
{
	return (int)strtol(v, NULL, 10);
}

/* move_out=delete at random: every move is pending (a move-in, or
 * deletes) until its group settles, at random; before and after, each
 * shape answers as SQL over the values it has seen settle (a model
 * apart from the view), for left sides with NULLs too; the indexed
 * shape is filed under a value exactly while the view holds it or the
 * shape keeps it. The inner rows have no NULL (a NOT IN would be
 * invalidated). */
static void random_deletes(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t i10[] = {10}, i11[] = {11};
	static const char *const vals[] = {"1", "2", "3", "01"};
	static const char *const canon[] = {NULL, "1", "2", "3"};
	const char *rows[NROWS][2];
	/* seen[s][a][b]: shape s (1..4) sees value a (one column: b 0) */
	unsigned char seen[5][4][4];
	struct {
		uint64_t number;
		int64_t shape;
		int a, b, out;
	} pend[256];
	size_t npend = 0, nrows = 0, step, i, k;
	struct ss_subq_moves m;
	struct ss_err err = SS_ERR_INIT;
	int64_t s;

	memset(seen, 0, sizeof(seen));
	add(q, 1, "project_id IN (SELECT id FROM projects)", i10);
	add(q, 2, "project_id NOT IN (SELECT id FROM projects)", i10);
	add(q, 3, "(project_id, owner_id) IN (SELECT id, y FROM projects)",
	    i11);
	add(q, 4, "(project_id, owner_id) NOT IN (SELECT id, y FROM projects)",
	    i11);
	for (s = 1; s <= 4; s++)
		CHECK(ss_subq_set_deletes(q, s, &err) == 0);
	load_all(q);
	ss_subq_moves_init(&m);
	for (step = 0; step < 3000; step++) {
		const char *nv[2], *ov[2];
		enum ss_frame_op op;

		if (nrows == 0 || (nrows < NROWS && unit_rnd() % 3 == 0)) {
			op = SS_FRAME_OP_INSERT;
			nv[0] = vals[unit_rnd() % 4];
			nv[1] = vals[unit_rnd() % 4];
			rows[nrows][0] = nv[0];
			rows[nrows][1] = nv[1];
			nrows++;
		} else {
			size_t j = unit_rnd() % nrows;

			ov[0] = rows[j][0];
			ov[1] = rows[j][1];
			if (unit_rnd() % 2) {
				op = SS_FRAME_OP_DELETE;
				rows[j][0] = rows[nrows - 1][0];
				rows[j][1] = rows[nrows - 1][1];
				nrows--;
			} else {
				op = SS_FRAME_OP_UPDATE;
				nv[0] = unit_rnd() % 2 ? vals[unit_rnd() % 4]
						       : ov[0];
				nv[1] = vals[unit_rnd() % 4];
				rows[j][0] = nv[0];
				rows[j][1] = nv[1];
			}
		}
		ss_subq_moves_reset(&m);
		next_lsn++;
		CHECK(ss_subq_inner(q, 10, op,
				    op == SS_FRAME_OP_DELETE ? NULL : nv,
				    op == SS_FRAME_OP_INSERT ? NULL : ov, 5,
				    next_lsn, &m, &err) == 0);
		CHECK(ss_subq_inner(q, 11, op,
				    op == SS_FRAME_OP_DELETE ? NULL : nv,
				    op == SS_FRAME_OP_INSERT ? NULL : ov, 5,
				    next_lsn, &m, &err) == 0);
		for (i = 0; i < m.n; i++) {
			struct ss_subq_move *mv = &m.v[i];

			CHECK(mv->kind == SS_SUBQ_MOVE_IN ||
			      mv->kind == SS_SUBQ_MOVE_OUT_ROWS);
			if (npend == sizeof(pend) / sizeof(pend[0]))
				FAILF("more than %zu moves pending", npend);
			pend[npend].number = mv->number;
			pend[npend].shape = mv->outer;
			pend[npend].a = ival(mv->vals[0]);
			pend[npend].b = mv->nvals > 1 ? ival(mv->vals[1]) : 0;
			/* a move the shape sees as a value leaving */
			pend[npend].out = (mv->kind == SS_SUBQ_MOVE_OUT_ROWS) !=
					  (mv->outer == 2 || mv->outer == 4);
			npend++;
		}
		/* cancelled: the value came back before its move settled */
		for (i = 0; i < npend;)
			if (!ss_subq_is_pending(q, pend[i].shape,
						pend[i].number))
				pend[i] = pend[--npend];
			else
				i++;
		/* some shapes settle their next group */
		for (s = 1; s <= 4; s++) {
			struct ss_subq_movein mi;

			if (unit_rnd() % 3 ||
			    ss_subq_movein_next(q, s, &mi, &err) != 1)
				continue;
			for (k = 0; k < mi.nnumbers; k++) {
				for (i = 0; i < npend &&
					    (pend[i].shape != s ||
					     pend[i].number != mi.numbers[k]);
				     i++)
					;
				CHECK(i < npend);
				if (i == npend)
					continue;
				seen[s][pend[i].a][pend[i].b] = !pend[i].out;
				CHECK(ss_subq_settle(q, s, mi.numbers[k]) == 1);
				pend[i] = pend[--npend];
			}
			ss_subq_movein_release(&mi);
		}
		/* every shape answers as SQL over what it has seen */
		for (s = 1; s <= 4; s++) {
			const char *seenrows[16][2];
			size_t ns = 0, nc = s <= 2 ? 1 : 2;
			int a, b;

			for (a = 1; a <= 3; a++)
				for (b = 0; b <= 3; b++)
					if (seen[s][a][b]) {
						seenrows[ns][0] = canon[a];
						seenrows[ns][1] = canon[b];
						ns++;
					}
			for (k = 0; k < 25; k++) {
				static const char *const dom[] = {"1", "2", "3",
								  "01", NULL};
				const char *l[2] = {dom[k % 5], dom[k / 5]};
				int got = is_member(q, s, 0, l, nc),
				    want = model_in(
					(const char *const(*)[2])seenrows, ns,
					nc, l);

				if (got != want)
					FAILF("step %zu shape %" PRId64
					      " (%s,%s): %d, want %d",
					      step, s, l[0] ? l[0] : "NULL",
					      nc > 1 && l[1] ? l[1] : "NULL",
					      got, want);
			}
		}
		/* the index: filed under what the view holds or is kept */
		for (k = 1; k <= 3; k++) {
			const char *l[1] = {canon[k]};
			int inview = model_in((const char *const(*)[2])rows,
					      nrows, 1, l) == 1;
			int kept = seen[1][k][0] && !inview;

			CHECK(filed(q, canon[k]) == (size_t)(inview || kept));
		}
	}
	CHECK(ss_subq_remove(q, 1) == 1);
	for (k = 1; k <= 3; k++)
		CHECK(filed(q, canon[k]) == 0);
	ss_subq_moves_release(&m);
	ss_subq_free(q);
}

/* A layout hook that swaps a row's first two columns (as a partition
 * whose columns are in another order would), counting its calls. */
static int layouts;
static const char *const *swapped(void *ctx, int64_t id, const char *const *row,
				  int old)
{
	static const char *buf[2][4];

	(void)ctx;
	(void)id;
	layouts++;
	buf[old][0] = row[1];
	buf[old][1] = row[0];
	buf[old][2] = row[2];
	buf[old][3] = row[3];
	return buf[old];
}

/* ss_subq_match_meta: the meta object of the outer shapes among a match,
 * rows through the layout hook; a shape whose row cannot be evaluated is
 * named, and nothing is appended. */
static void match_meta(void)
{
	struct ss_subq *q = ss_subq_new(STACK);
	static const int64_t inner10[] = {10};
	static const int64_t ids[] = {4, 5, 6};
	static const enum ss_frame_op ops[] = {
	    SS_FRAME_OP_INSERT, SS_FRAME_OP_INSERT, SS_FRAME_OP_INSERT};
	struct ss_route_match m = {ids, ops, 3, 0, 0, ""};
	const char *row[] = {"7", "1", "0", "t"};    /* id 7, project 1 */
	const char *given[] = {"1", "7", "20", "t"}; /* 10 / 20 = 0 */
	struct ss_buf b = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	int64_t bad = 0;

	add(q, 4, "project_id IN (SELECT id FROM projects)", inner10);
	add(q, 5,
	    "project_id IN (SELECT id FROM projects) OR 10 / owner_id > 1",
	    inner10);
	load_all(q);
	inner(q, 10, SS_FRAME_OP_INSERT, "7", NULL, &b);
	CHECK(ss_subq_settle(q, 4, 1) == 1 && ss_subq_settle(q, 5, 2) == 1);
	/* 6 is no outer shape: left out */
	ss_buf_reset(&b);
	layouts = 0;
	CHECK(ss_subq_match_meta(q, &m, row, NULL, swapped, NULL, &b, &bad,
				 &err) == -1);
	CHECK(bad == 5 && !strcmp(err.msg, "division by zero") && !b.len);
	CHECK(layouts == 2);
	/* no hook: the rows as given (project 7, in for both) */
	CHECK(ss_subq_match_meta(q, &m, given, NULL, NULL, NULL, &b, &bad,
				 &err) == 0);
	CHECK_STR(b.buf, "{\"4\":{\"tags\":[\"" HA "\"],\"active_conditions\":"
			 "[true]},\"5\":{\"tags\":[\"" HA "/\",\"/1\"],"
			 "\"active_conditions\":[true,false]}}");
	ss_buf_release(&b);
	ss_subq_free(q);
}

int main(void)
{
	match_meta();
	move_out_rows();
	not_in_hidden_nulls();
	movein_plan();
	deps();
	example_a();
	example_b();
	not_in();
	errors();
	random_run();
	random_deletes();
	return unit_report();
}
