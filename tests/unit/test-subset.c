/*
 * test-subset — lib/subset without PostgreSQL: POST bodies to subset
 * fields, and the checks of the fields with Electric's 400 bodies (the
 * ORDER BY list over the queryable columns; its own cases are
 * tests/data/order_by.test).
 */
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

int main(void)
{
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
