/*
 * test-route-subq.c — subquery shapes in lib/route (with lib/subq): a
 * shape added with its deps is compiled without PostgreSQL and matched
 * through its views, an inner shape's rows carry its select list, and
 * the failures that would leave views behind their tables invalidate the
 * outer shapes: bad deps, an inner shape removed, an inner shape whose
 * table changed.
 */
#include <inttypes.h>

#include "route.h"
#include "subq.h"
#include "unit.h"

static int64_t invalidated[64];
static char reasons[64][300];
static size_t ninvalidated;

static void on_invalidate(uint32_t oid, const int64_t *ids, size_t n,
			  const char *reason, void *ctx)
{
	(void)oid, (void)ctx;
	while (n-- && ninvalidated < 64) {
		snprintf(reasons[ninvalidated], sizeof(reasons[0]), "%s",
			 reason);
		invalidated[ninvalidated++] = *ids++;
	}
}

/* The reason shape id was invalidated for, or NULL. */
static const char *why(int64_t id)
{
	size_t i;

	for (i = 0; i < ninvalidated; i++)
		if (invalidated[i] == id)
			return reasons[i];
	return NULL;
}

struct col {
	const char *name, *type;
	uint32_t oid;
	int pk;
};

static void relation(struct ss_router *r, uint32_t oid, const char *table,
		     const struct col *c, size_t n)
{
	struct ss_frame f = SS_FRAME_INIT;
	struct ss_err err = SS_ERR_INIT;
	json_t *j = ss_frame_new_relation(oid, "public", table, 'f');
	size_t i;

	for (i = 0; i < n; i++)
		ss_frame_add_column(j, c[i].name, c[i].type, c[i].oid, -1,
				    c[i].pk);
	if (ss_frame_decode(&f, j, &err) < 0)
		FAILF("relation: %s", err.msg);
	json_decref(j);
	CHECK(ss_router_relation(r, &f, &err) == 0);
	ss_frame_release(&f);
}

static void def_of(struct ss_shape *d, const char *table, const char *where,
		   const char *column)
{
	ss_shape_init(d);
	d->schema = ss_xstrdup("public");
	d->table = ss_xstrdup(table);
	if (where)
		ss_shape_set_where(d, where);
	if (column) {
		d->columns = ss_xcalloc(1, sizeof(char *));
		d->columns[0] = ss_xstrdup(column);
		d->ncolumns = 1;
	}
}

static void add(struct ss_router *r, int64_t id, const char *table,
		const char *where, const char *column)
{
	struct ss_shape d;
	struct ss_err err = SS_ERR_INIT;

	def_of(&d, table, where, column);
	if (ss_router_add(r, id, &d, &err) < 0)
		FAILF("add %" PRId64 ": %s", id, err.msg);
	ss_shape_release(&d);
}

#define TABLES                                                                 \
	"\"tables\":[{\"schema\":\"public\",\"table\":\"tasks\",\"columns\":"  \
	"[[\"id\",\"int4\"],[\"project_id\",\"int4\"],[\"title\",\"text\"]]}," \
	"{\"schema\":\"public\",\"table\":\"projects\",\"columns\":[[\"id\","  \
	"\"int4\"],[\"active\",\"bool\"],[\"name\",\"text\"]]}]"

static void add_outer_mode(struct ss_router *r, int64_t id, const char *where,
			   const char *deps, enum ss_move_out mode)
{
	struct ss_shape d;
	struct ss_err err = SS_ERR_INIT;

	def_of(&d, "tasks", where, NULL);
	d.move_out = mode;
	CHECK(ss_router_add_subquery(r, id, &d, "12345-1700000000000000", deps,
				     &err) == 0);
	ss_shape_release(&d);
}

static void add_outer(struct ss_router *r, int64_t id, const char *where,
		      const char *deps)
{
	add_outer_mode(r, id, where, deps, SS_MOVE_OUT_EVENT);
}

/* The ids a change of tasks matches, as "1,4". */
static void match(struct ss_router *r, const char *id, const char *project,
		  struct ss_buf *out)
{
	const char *row[3] = {id, project, "x"};
	struct ss_route_match m;
	size_t i;

	ss_router_match(r, 200, SS_FRAME_OP_INSERT, row, NULL, &m);
	ss_buf_reset(out);
	ss_buf_adds(out, "");
	for (i = 0; i < m.n; i++)
		ss_buf_addf(out, "%s%" PRId64, i ? "," : "", m.ids[i]);
	CHECK(m.errors == 0);
}

static const struct col projects[] = {
    {"id", "int4", 23, 1}, {"active", "bool", 16, 0}, {"name", "text", 25, 0}};
static const struct col tasks[] = {{"id", "int4", 23, 1},
				   {"project_id", "int4", 23, 0},
				   {"title", "text", 25, 0}};

/*
 * The routing index: NOUT outer shapes, each with its own inner shape,
 * half of them indexed by their view (`project_id IN (...)` alone, or
 * with a plain conjunct), half evaluated for every row (an OR); random
 * values move in and out of the views, their pending moves settled
 * at random later (half the shapes with move_out=delete, whose
 * move-outs are pending too and cancelled by a move back), and every
 * change of tasks matches exactly the shapes a model of what each
 * shape sees says.
 */
#define NOUT 24
#define NVAL 12
static void random_index(void)
{
	struct ss_router *r = ss_router_new(on_invalidate, NULL);
	struct ss_subq *q = ss_subq_new("single_stack");
	static const struct ss_pg_snapshot nosnap;
	unsigned char in[NOUT][NVAL] = {{0}}, seen[NOUT][NVAL] = {{0}};
	uint64_t pend[NOUT][NVAL] = {{0}}; /* its pending move's number */
	unsigned char pend_out[NOUT][NVAL] = {{0}};
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT, want = SS_BUF_INIT, deps = SS_BUF_INIT;
	struct ss_router_stats st;
	char v[16], id[16];
	size_t k, i, round;
	unsigned seed = 7;

	ss_router_set_subq(r, q);
	for (k = 0; k < NOUT; k++) {
		add(r, (int64_t)(100 + k), "projects", "active", "id");
		ss_buf_reset(&deps);
		ss_buf_addf(&deps, "{\"inner\":[%zu]," TABLES "}", 100 + k);
		add_outer_mode(
		    r, (int64_t)(1 + k),
		    k % 4 == 0	 ? "project_id IN (SELECT id FROM "
				   "public.projects WHERE active)"
		    : k % 4 == 1 ? "title = 'x' AND project_id IN (SELECT "
				   "id FROM public.projects WHERE active)"
		    : k % 4 == 2 ? "project_id IN (SELECT id FROM "
				   "public.projects WHERE active) AND "
				   "id > 0"
				 : "project_id IN (SELECT id FROM "
				   "public.projects WHERE active) OR "
				   "title = 'zz'",
		    deps.buf,
		    k % 8 >= 4 ? SS_MOVE_OUT_DELETE : SS_MOVE_OUT_EVENT);
	}
	relation(r, 100, "projects", projects, 3);
	relation(r, 200, "tasks", tasks, 3);
	for (k = 0; k < NOUT; k++)
		CHECK(ss_subq_loaded(q, (int64_t)(100 + k), 0, &nosnap, &err) ==
		      0);
	ss_router_stats(r, &st);
	/* by the view, also before an index of title or id; an OR by
	 * nothing (nor are the inner shapes) */
	CHECK(st.subq_indexed == NOUT * 3 / 4);
	CHECK(st.eq_indexed == 0 && st.range_indexed == 0);
	CHECK(st.unindexed == NOUT + NOUT / 4);
	CHECK_STR(ss_router_shape_kind(r, 1), "subquery");
	CHECK_STR(ss_router_shape_kind(r, 4), "eval");
	for (round = 0; round < 3000; round++) {
		struct ss_subq_moves mv;
		const char *vals[1] = {v};

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % NOUT;
		i = (seed >> 16) % NVAL;
		snprintf(v, sizeof(v), "%zu", i);
		ss_subq_moves_init(&mv);
		/* each value at most once in a view: in or out */
		CHECK(ss_subq_inner(
			  q, (int64_t)(100 + k),
			  in[k][i] ? SS_FRAME_OP_DELETE : SS_FRAME_OP_INSERT,
			  in[k][i] ? NULL : vals, in[k][i] ? vals : NULL,
			  900 + round, 10 + round, &mv, &err) == 0);
		/* no move: a delete-mode shape's pending move cancelled */
		if (!mv.n)
			pend[k][i] = 0;
		for (size_t m = 0; m < mv.n; m++) {
			CHECK(mv.v[m].outer == (int64_t)(1 + k));
			if (mv.v[m].kind == SS_SUBQ_MOVE_OUT) {
				seen[k][i] = 0;
				pend[k][i] = 0;
			} else {
				CHECK(mv.v[m].kind == SS_SUBQ_MOVE_IN ||
				      (k % 8 >= 4 &&
				       mv.v[m].kind == SS_SUBQ_MOVE_OUT_ROWS));
				pend[k][i] = mv.v[m].number;
				pend_out[k][i] =
				    mv.v[m].kind == SS_SUBQ_MOVE_OUT_ROWS;
			}
		}
		ss_subq_moves_release(&mv);
		in[k][i] ^= 1;
		/* settle a third of the pending moves */
		for (size_t a = 0; a < NOUT; a++)
			for (size_t c = 0; c < NVAL; c++) {
				seed = seed * 1103515245u + 12345u;
				if (!pend[a][c] || (seed >> 16) % 3)
					continue;
				CHECK(ss_subq_settle(q, (int64_t)(1 + a),
						     pend[a][c]) == 1);
				seen[a][c] = !pend_out[a][c];
				pend[a][c] = 0;
			}
		/* a task of a random project (or none) */
		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % (NVAL + 1);
		snprintf(id, sizeof(id), "%u", 1 + (seed >> 20) % 50);
		snprintf(v, sizeof(v), "%zu", i);
		match(r, id, i == NVAL ? NULL : v, &b);
		ss_buf_reset(&want);
		ss_buf_adds(&want, "");
		for (k = 0; k < NOUT; k++)
			if (i < NVAL && seen[k][i]) /* the title is "x" */
				ss_buf_addf(&want, "%s%zu", want.len ? "," : "",
					    k + 1);
		CHECK_STR(b.buf, want.buf);
	}
	/* outer shapes removed leave nothing behind in the index */
	for (k = 0; k < NOUT; k++)
		CHECK(ss_router_remove(r, (int64_t)(1 + k)) == 1);
	snprintf(v, sizeof(v), "%d", 3);
	match(r, "1", v, &b);
	CHECK_STR(b.buf, "");
	ss_buf_release(&b);
	ss_buf_release(&want);
	ss_buf_release(&deps);
	ss_router_free(r);
	ss_subq_free(q);
}

/*
 * A partitioned outer table: tasks (oid 200) and its partition tasks_b
 * (201), whose columns are in another order. A change of the partition
 * matches the subquery shape on the root through its view, and its row in
 * the root's layout (ss_router_row_layout) gives the meta a root row
 * gives; in the partition's own order the meta reads the wrong columns.
 */
static void partition_layout(void)
{
	static const struct col leaf[] = {{"title", "text", 25, 0},
					  {"id", "int4", 23, 1},
					  {"project_id", "int4", 23, 0}};
	static const uint32_t anc[] = {200};
	struct ss_router *r = ss_router_new(on_invalidate, NULL);
	struct ss_subq *q = ss_subq_new("single_stack");
	static const struct ss_pg_snapshot nosnap;
	struct ss_frame f = SS_FRAME_INIT;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf want = SS_BUF_INIT, got = SS_BUF_INIT;
	struct ss_route_match m;
	const char *seven[] = {"7"};
	const char *leafrow[] = {"x", "5", "7"}, *rootrow[] = {"5", "7", "x"};
	const char *const *row;
	const char **buf = NULL;
	size_t alloc = 0, i;
	json_t *j;

	ss_router_set_subq(r, q);
	add(r, 10, "projects", "active", "id");
	add_outer(r, 1,
		  "project_id IN (SELECT id FROM public.projects WHERE active)",
		  "{\"inner\":[10]," TABLES "}");
	relation(r, 100, "projects", projects, 3);
	relation(r, 200, "tasks", tasks, 3);
	j = ss_frame_new_relation(201, "public", "tasks_b", 'f');
	for (i = 0; i < 3; i++)
		ss_frame_add_column(j, leaf[i].name, leaf[i].type, leaf[i].oid,
				    -1, leaf[i].pk);
	ss_frame_set_ancestors(j, anc, 1);
	if (ss_frame_decode(&f, j, &err) < 0)
		FAILF("relation: %s", err.msg);
	json_decref(j);
	CHECK(ss_router_relation(r, &f, &err) == 0);
	ss_frame_release(&f);
	CHECK(ss_subq_load(q, 10, seven, 1, &err) == 0);
	CHECK(ss_subq_loaded(q, 10, 0, &nosnap, &err) == 0);

	ss_router_match(r, 201, SS_FRAME_OP_INSERT, leafrow, NULL, &m);
	CHECK(m.n == 1 && m.ids[0] == 1 && m.errors == 0);
	row = ss_router_row_layout(r, 201, 1, leafrow, &buf, &alloc);
	CHECK(row && !strcmp(row[0], "5") && !strcmp(row[1], "7") &&
	      !strcmp(row[2], "x"));
	CHECK(ss_subq_meta(q, 1, SS_FRAME_OP_INSERT, rootrow, NULL, &want,
			   &err) == 0);
	CHECK(ss_subq_meta(q, 1, SS_FRAME_OP_INSERT, row, NULL, &got, &err) ==
	      0);
	CHECK_STR(got.buf, want.buf);
	CHECK(strstr(want.buf, "\"active_conditions\":[true]") != NULL);
	ss_buf_reset(&got);
	CHECK(ss_subq_meta(q, 1, SS_FRAME_OP_INSERT, leafrow, NULL, &got,
			   &err) < 0 ||
	      strcmp(got.buf, want.buf) != 0);
	/* The root's own change: its row as it is; the inner shape is on
	 * no ancestor of the partition; unknown shapes and rows: NULL. */
	CHECK(ss_router_row_layout(r, 200, 1, rootrow, &buf, &alloc) ==
	      (const char *const *)rootrow);
	CHECK(ss_router_row_layout(r, 201, 10, leafrow, &buf, &alloc) == NULL);
	CHECK(ss_router_row_layout(r, 201, 99, leafrow, &buf, &alloc) == NULL);
	CHECK(ss_router_row_layout(r, 201, 1, NULL, &buf, &alloc) == NULL);
	free(buf);
	ss_buf_release(&want);
	ss_buf_release(&got);
	ss_router_free(r);
	ss_subq_free(q);
}

int main(void)
{
	struct ss_router *r = ss_router_new(on_invalidate, NULL);
	struct ss_subq *q = ss_subq_new("single_stack");
	static const struct ss_pg_snapshot nosnap;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;
	struct ss_shape d;
	struct ss_subq_moves mv;
	const char *seven[] = {"7"}, *eight[] = {"8"};
	const size_t *idx;
	const char *const *names;
	size_t n, ncols;

	/* Without views, a subquery shape is refused. */
	def_of(&d, "tasks", "project_id IN (SELECT id FROM projects)", NULL);
	CHECK(ss_router_add_subquery(r, 1, &d, "1-2", "{}", &err) < 0);
	ss_shape_release(&d);
	ss_router_set_subq(r, q);

	/* The inner shape: the ids of active projects. */
	add(r, 10, "projects", "active", "id");
	add_outer(r, 1,
		  "project_id IN (SELECT id FROM public.projects WHERE active)",
		  "{\"inner\":[10]," TABLES "}");
	CHECK(ss_router_is_subquery(r, 1) && !ss_router_is_subquery(r, 10));
	relation(r, 100, "projects", projects, 3);
	relation(r, 200, "tasks", tasks, 3);
	/* The inner shape reads active (its clause) and id (its view). */
	n = ss_router_columns(r, 100, &idx, &names, &ncols);
	CHECK(n == 2 && idx[0] == 0 && idx[1] == 1);
	n = ss_router_columns(r, 200, &idx, &names, &ncols);
	CHECK(n == 1 && idx[0] == 1);
	CHECK(ninvalidated == 0);

	/* Project 7 is active. */
	CHECK(ss_subq_load(q, 10, seven, 1, &err) == 0);
	CHECK(ss_subq_loaded(q, 10, 0, &nosnap, &err) == 0);
	match(r, "1", "7", &b);
	CHECK_STR(b.buf, "1");
	match(r, "2", "8", &b);
	CHECK_STR(b.buf, "");
	/* 8 moves in: pending until its rows are written. */
	ss_subq_moves_init(&mv);
	CHECK(ss_subq_inner(q, 10, SS_FRAME_OP_INSERT, eight, NULL, 900, 10,
			    &mv, &err) == 0 &&
	      mv.n == 1 && mv.v[0].kind == SS_SUBQ_MOVE_IN);
	match(r, "2", "8", &b);
	CHECK_STR(b.buf, "");
	CHECK(ss_subq_settle(q, 1, mv.v[0].number) == 1);
	match(r, "2", "8", &b);
	CHECK_STR(b.buf, "1");
	ss_subq_moves_release(&mv);

	/* An index narrows, the view decides. */
	add_outer(r, 2,
		  "title = 'x' AND project_id IN (SELECT id FROM "
		  "public.projects WHERE active)",
		  "{\"inner\":[10]," TABLES "}");
	match(r, "1", "7", &b);
	CHECK_STR(b.buf, "1,2");
	match(r, "1", "9", &b);
	CHECK_STR(b.buf, "");

	/* Deps that cannot be used: the shape is invalidated at once. */
	add_outer(r, 3, "project_id IN (SELECT id FROM projects)", "{");
	CHECK(why(3) && strstr(why(3), "subquery shape 3 cannot be routed"));
	add_outer(r, 4, "project_id IN (SELECT id FROM projects)",
		  "{\"inner\":[10],\"tables\":[{\"schema\":\"public\","
		  "\"table\":\"projects\",\"columns\":[[\"id\",\"int4\"]]}]}");
	CHECK_STR(why(4), "subquery shape 4 cannot be routed: its deps do not "
			  "describe its own table");
	add_outer(r, 5, "project_id IN (SELECT nope FROM projects)",
		  "{\"inner\":[10]," TABLES "}");
	CHECK(why(5) != NULL);
	add_outer(r, 6, "project_id IN (SELECT id FROM projects)",
		  "{\"inner\":[10,11]," TABLES "}");
	CHECK_STR(why(6), "subquery shape 6 cannot be routed: its deps name 2 "
			  "inner shapes for 1 subqueries");
	/* an inner shape the router does not route */
	add_outer(r, 8, "project_id IN (SELECT id FROM projects)",
		  "{\"inner\":[99]," TABLES "}");
	CHECK_STR(why(8), "subquery shape 8 cannot be routed: shape 99, one "
			  "of its subqueries, is not routed");
	CHECK(!ss_router_is_subquery(r, 3) && !ss_router_is_subquery(r, 6));
	CHECK(ss_router_has(r, 3));

	/* The inner shape removed: its outer shapes cannot follow. */
	ninvalidated = 0;
	CHECK(ss_router_remove(r, 10) == 1);
	CHECK(ninvalidated == 2 && invalidated[0] == 1 && invalidated[1] == 2);
	CHECK_STR(why(1), "shape 10, a subquery of shape 1, was removed");
	match(r, "1", "7", &b);
	CHECK_STR(b.buf, "");
	CHECK(!ss_subq_is_outer(q, 1) && !ss_subq_is_outer(q, 2));

	/* The inner shape's table changes under it: the same. */
	ninvalidated = 0;
	add(r, 11, "projects", "active", "id");
	add_outer(r, 7,
		  "project_id IN (SELECT id FROM public.projects WHERE active)",
		  "{\"inner\":[11]," TABLES "}");
	CHECK(ss_router_is_subquery(r, 7));
	{
		static const struct col changed[] = {{"id", "int8", 20, 1},
						     {"active", "bool", 16, 0},
						     {"name", "text", 25, 0}};

		relation(r, 100, "projects", changed, 3);
	}
	CHECK(why(11) != NULL);
	CHECK_STR(why(7), "shape 11, a subquery of shape 7, was invalidated");
	CHECK(!ss_router_is_subquery(r, 7));

	ss_buf_release(&b);
	ss_router_free(r);
	ss_subq_free(q);
	random_index();
	partition_layout();
	return unit_report();
}
