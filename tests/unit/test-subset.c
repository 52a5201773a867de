/*
 * test-subset — lib/subset without PostgreSQL: POST bodies to subset
 * fields, and the checks of the fields with Electric's 400 bodies (the
 * ORDER BY list over the queryable columns; its own cases are
 * tests/data/order_by.test); the plan of a subquery shape's subset
 * (ss_shapereq_plan), whose SQL tests the real subquery. Its rows over
 * HTTP: t6011.
 */
#include "dnf.h"
#include "subset.h"
#include "unit.h"

static struct ss_pgq_table table;
static struct ss_pgq_column cols[4];
static size_t pk[1];

static void make_table(void)
{
	static char names[4][8] = {"id", "title", "Mixed", "n"};
	static char types[4][8] = {"int4", "text", "text", "int8"};
	static char public_[] = "public", items[] = "items";
	size_t i;

	for (i = 0; i < 4; i++) {
		cols[i].name = names[i];
		cols[i].type = types[i];
		cols[i].typmod = -1;
		cols[i].pk_index = i ? -1 : 0;
	}
	table.schema = public_;
	table.name = items;
	table.cols = cols;
	table.ncols = 4;
	table.pk = pk;
	table.npk = 1;
}

/* The 400 body of q's subset fields, or "ok" and the query tail. */
static void prepare(struct ss_shapereq *q, const char *want)
{
	struct ss_buf e = SS_BUF_INIT, got = SS_BUF_INIT;
	struct ss_subset s;

	if (ss_subset_prepare(q, NULL, &s, &e))
		ss_buf_add(&got, e.buf, e.len);
	else
		ss_buf_addf(&got, "ok%s%s%s", s.tail.len ? s.tail.buf : "",
			    s.where ? " WHERE " : "",
			    s.where ? ss_where_canonical_text(s.where) : "");
	CHECK_STR(got.buf, want);
	ss_subset_release(&s);
	ss_buf_release(&e);
	ss_buf_release(&got);
}

static void set(char **field, const char *v)
{
	free(*field);
	*field = v ? ss_xstrdup(v) : NULL;
}

/* ------------------------------------------- subsets of subquery shapes */

/* A catalog of two tables for ss_shapereq_validate: tasks (id, project_id,
 * title) and projects (id, active). */
static int describe(void *ctx, const char *schema, const char *name,
		    struct ss_pgq_table *t, struct ss_err *err)
{
	static const char *const tasks[][2] = {
	    {"id", "int4"}, {"project_id", "int4"}, {"title", "text"}};
	static const char *const projects[][2] = {{"id", "int4"},
						  {"active", "bool"}};
	const char *const(*c)[2];
	size_t k, n;

	(void)ctx;
	(void)err;
	if (strcmp(schema, "public"))
		return 0;
	if (!strcmp(name, "tasks"))
		c = tasks, n = 3;
	else if (!strcmp(name, "projects"))
		c = projects, n = 2;
	else
		return 0;
	memset(t, 0, sizeof(*t));
	t->schema = ss_xstrdup(schema);
	t->name = ss_xstrdup(name);
	t->oid = n == 3 ? 16384 : 16385;
	t->relkind = 'r';
	t->cols = ss_xcalloc(n + 1, sizeof(*t->cols));
	for (k = 0; k < n; k++) {
		t->cols[k].name = ss_xstrdup(c[k][0]);
		t->cols[k].type = ss_xstrdup(c[k][1]);
		t->cols[k].typmod = -1;
		t->cols[k].pk_index = k ? -1 : 0;
	}
	t->ncols = n;
	t->pk = ss_xcalloc(2, sizeof(*t->pk));
	t->npk = 1;
	return 1;
}

/* Validate a subquery shape request of tasks with where (params[1] =
 * p1) and subset fields sub_where (params {"1":"2"}), prepare its subset
 * into s: the status. */
static unsigned subquery_subset(struct ss_shapereq *q, const char *where,
				const char *p1, const char *sub_where,
				struct ss_subset *s, struct ss_buf *e)
{
	struct ss_shapereq_opts o = {NULL, NULL, describe, NULL, 0, 1};
	struct ss_shapereq_args a;
	struct ss_shapereq_error pe;
	unsigned st;

	memset(&a, 0, sizeof(a));
	a.table = "tasks";
	a.offset = "-1";
	a.where = where;
	if (p1) {
		a.pv[1] = p1;
		a.params_max = 1;
		a.params_given = 1;
	}
	ss_shapereq_init(q);
	ss_shapereq_error_init(&pe);
	st = ss_shapereq_validate(&a, &o, q, &pe);
	ss_shapereq_error_release(&pe);
	if (st)
		return st;
	q->sub_where = sub_where ? ss_xstrdup(sub_where) : NULL;
	q->sub_params_json = ss_xstrdup("{\"1\":\"2\"}");
	q->subset = 1;
	return ss_subset_prepare(q, NULL, s, e);
}

static void subquery_shapes(void)
{
	struct ss_shapereq q;
	struct ss_subset s;
	struct ss_buf e = SS_BUF_INIT, tags = SS_BUF_INIT, ac = SS_BUF_INIT;
	struct ss_shapereq_plan p;
	struct ss_err err = SS_ERR_INIT;
	const struct ss_dnf_pos *pos;

	/* An OR of a subquery and a predicate with the shape's $1: two
	 * disjuncts of one position each; the subset's $1 is its own. */
	CHECK(subquery_subset(&q,
			      "project_id IN (SELECT id FROM projects WHERE "
			      "active) OR title = $1",
			      "pin", "id > $1", &s, &e) == 0);
	CHECK(q.ninner == 1);
	CHECK_STR(ss_where_canonical_text(s.where), "id > '2'::int4");
	CHECK(s.plan.dnf && ss_dnf_ndisjuncts(s.plan.dnf) == 2 &&
	      ss_dnf_npositions(s.plan.dnf) == 2);
	pos = ss_dnf_pos(s.plan.dnf, 0);
	CHECK(pos && pos->dep == 0 && !pos->negated && pos->ncols == 1 &&
	      !strcmp(pos->names[0], "project_id"));
	pos = ss_dnf_pos(s.plan.dnf, 1);
	CHECK(pos && pos->dep == -1 && pos->disjunct == 1);
	/* The rows' SQL: the subquery itself (PostgreSQL evaluates it in
	 * the subset's snapshot) and the shape's param as a constant. */
	ss_dnf_sql(s.plan.dnf, "'S'", "'H'", &tags, &ac);
	CHECK_STR(ac.buf,
		  "('[' || CASE WHEN COALESCE((project_id IN (SELECT id FROM "
		  "public.projects WHERE active)), false) THEN 'true' ELSE "
		  "'false' END || ',' || CASE WHEN COALESCE((title = "
		  "'pin'::text), false) THEN 'true' ELSE 'false' END || ']')");
	CHECK(strstr(tags.buf, "md5('S' || 'H' || ") != NULL);
	ss_subset_release(&s);
	ss_shapereq_release(&q);

	/* NOT IN: one negated position; no subset where is fine. */
	CHECK(subquery_subset(&q, "project_id NOT IN (SELECT id FROM projects)",
			      NULL, NULL, &s, &e) == 0);
	CHECK(s.plan.dnf && ss_dnf_npositions(s.plan.dnf) == 1 &&
	      ss_dnf_pos(s.plan.dnf, 0)->negated);
	ss_subset_release(&s);
	ss_shapereq_release(&q);

	/* A subquery in subset__where: still Electric's 400. */
	CHECK(subquery_subset(&q,
			      "project_id IN (SELECT id FROM projects WHERE "
			      "active)",
			      NULL, "id IN (SELECT id FROM projects)", &s,
			      &e) == 400);
	CHECK_STR(e.buf, "{\"message\":\"Invalid request\",\"errors\":{"
			 "\"subset\":{\"where\":\"Subqueries are not "
			 "allowed in subsets\"}}}");
	ss_buf_reset(&e);
	ss_subset_release(&s);
	ss_shapereq_release(&q);

	/* Other shapes: no plan, and ss_shapereq_plan refuses them. */
	CHECK(subquery_subset(&q, "title = $1", "x", NULL, &s, &e) == 0);
	CHECK(!s.plan.dnf && !s.plan.w && !s.plan.cols);
	CHECK(ss_shapereq_plan(&q, &p, &err) == -1 && err.code == SS_ERR_INPUT);
	ss_shapereq_plan_release(&p);
	ss_subset_release(&s);
	ss_shapereq_release(&q);

	/* A clause the tables validation described do not compile (the
	 * inner request's table gone): 500, not the request's fault. */
	CHECK(subquery_subset(&q,
			      "project_id IN (SELECT id FROM projects WHERE "
			      "active)",
			      NULL, NULL, &s, &e) == 0);
	ss_subset_release(&s);
	free(q.inner[0].table.name);
	q.inner[0].table.name = ss_xstrdup("gone");
	CHECK(ss_subset_prepare(&q, NULL, &s, &e) == 500);
	CHECK(strncmp(e.buf, "{\"message\":\"", 12) == 0);
	ss_subset_release(&s);
	ss_shapereq_release(&q);

	ss_buf_release(&e);
	ss_buf_release(&tags);
	ss_buf_release(&ac);
}

int main(void)
{
	subquery_shapes();

	static const char allow[4] = {1, 1, 0, 0};
	struct ss_shapereq q;
	struct ss_buf e = SS_BUF_INIT;

	make_table();

	/* POST bodies */
	ss_shapereq_init(&q);
	CHECK(ss_subset_from_body("", 0, &q, &e) == 0 && !q.subset);
	CHECK(ss_subset_from_body("{", 1, &q, &e) == 400);
	CHECK(strstr(
		  e.buf,
		  "{\"error\":\"Invalid JSON in request body\",\"details\":") ==
	      e.buf);
	ss_buf_reset(&e);
	CHECK(ss_subset_from_body("[1]", 3, &q, &e) == 400);
	CHECK_STR(e.buf, "{\"error\":\"Request body must be a JSON object\"}");
	CHECK(ss_subset_from_body("{\"x\":1}", 7, &q, &e) == 0 && !q.subset);
	{
		const char *b =
		    "{\"subset\":{\"where\":\"id > $1\",\"limit\":5,"
		    "\"params\":{\"1\":2},\"order_by\":null}}";

		CHECK(ss_subset_from_body(b, strlen(b), &q, &e) == 0 &&
		      q.subset);
		CHECK_STR(q.sub_where, "id > $1");
		CHECK_STR(q.sub_limit, "5");
		CHECK_STR(q.sub_params_json, "{\"1\":2}");
		CHECK(q.sub_order == NULL);
	}

	/* checks: every field's error, sorted, under "subset" */
	q.table = table;
	prepare(
	    &q,
	    "{\"message\":\"Invalid request\",\"errors\":{\"subset\":"
	    "{\"order_by\":\"order_by is required when limit or offset is present\"}}}");
	set(&q.sub_order, "title");
	prepare(&q, "ok ORDER BY \"title\" LIMIT 5 WHERE id > '2'::int4");
	set(&q.sub_limit, "0");
	set(&q.sub_offset, "-1");
	set(&q.sub_params_json, "[1]");
	set(&q.sub_order, "nope");
	prepare(&q, "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{"
		    "\"limit\":\"must be greater than 0\","
		    "\"offset\":\"must be greater than or equal to 0\","
		    "\"order_by\":\"unknown reference nope\","
		    "\"params\":\"params must be a JSON object\"}}}");
	set(&q.sub_limit, NULL);
	set(&q.sub_offset, "2");
	set(&q.sub_order, "id desc");
	set(&q.sub_params_json, "{\"2\":1}");
	prepare(
	    &q,
	    "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"params\":"
	    "\"Parameters must be numbered sequentially, starting from 1\"}}}");
	set(&q.sub_params_json, "{\"1\":true}");
	set(&q.sub_where, "title = $1");
	prepare(&q,
		"ok ORDER BY \"id\" DESC OFFSET 2 WHERE title = 'true'::text");
	set(&q.sub_params_json, "nope");
	prepare(
	    &q,
	    "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"params\":"
	    "\"params must be valid JSON\"}}}");

	/* a subquery in subset__where: Electric's assert_no_subqueries */
	set(&q.sub_params_json, NULL);
	set(&q.sub_where, "id IN (SELECT id FROM items)");
	prepare(&q, "{\"message\":\"Invalid request\",\"errors\":{\"subset\":"
		    "{\"where\":\"Subqueries are not allowed in subsets\"}}}");
	set(&q.sub_where, "EXISTS (SELECT 1)");
	prepare(&q, "{\"message\":\"Invalid request\",\"errors\":{\"subset\":"
		    "{\"where\":\"Subqueries are not allowed in subsets\"}}}");

	/* ORDER BY (its cases are in tests/data/order_by.test): the
	 * queryable columns only, every name quoted; an invalid UTF-8 list
	 * is refused as a where clause is */
	set(&q.sub_params_json, NULL);
	set(&q.sub_where, NULL);
	set(&q.sub_offset, NULL);
	q.queryable = ss_xcalloc(4, 1);
	memcpy(q.queryable, allow, 4);
	set(&q.sub_order, "n");
	prepare(&q, "{\"message\":\"Invalid request\",\"errors\":{\"subset\":"
		    "{\"order_by\":\"unknown reference n\"}}}");
	set(&q.sub_order, "Mixed");
	prepare(&q, "{\"message\":\"Invalid request\",\"errors\":{\"subset\":"
		    "{\"order_by\":\"unknown reference mixed\"}}}");
	set(&q.sub_order, "title DESC, lower(title) NULLS FIRST");
	prepare(&q, "ok ORDER BY \"title\" DESC, lower(\"title\") NULLS FIRST");
	set(&q.sub_order, "upper(n)");
	prepare(&q, "{\"message\":\"Invalid request\",\"errors\":{\"subset\":"
		    "{\"order_by\":\"unknown reference n\"}}}");
	free(q.queryable);
	q.queryable = NULL;
	set(&q.sub_order, "\"Mixed\" DESC NULLS LAST, n");
	prepare(&q, "ok ORDER BY \"Mixed\" DESC NULLS LAST, \"n\"");
	set(&q.sub_order, "id; DROP TABLE x");
	set(&q.sub_where, "id > 1");
	prepare(&q, "{\"message\":\"Invalid request\",\"errors\":{\"subset\":"
		    "{\"order_by\":\"syntax error at or near \\\"; DROP "
		    "TABLE x\\\"\"}}}");
	set(&q.sub_order, "title \xff");
	prepare(&q, "{\"message\":\"Invalid request\",\"errors\":{\"subset\":"
		    "{\"order_by\":\"invalid byte sequence for encoding "
		    "\\\"UTF8\\\"\"}}}");
	set(&q.sub_order, NULL);
	set(&q.sub_where, "nope = 1");
	prepare(
	    &q,
	    "{\"message\":\"Invalid request\",\"errors\":{\"subset\":{\"where\":"
	    "\"At location 0: unknown reference nope\"}}}");
	memset(&q.table, 0, sizeof(q.table));
	ss_shapereq_release(&q);
	ss_buf_release(&e);
	return unit_report();
}
