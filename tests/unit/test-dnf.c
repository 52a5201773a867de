/*
 * test-dnf.c — lib/dnf.h (lib/where_dnf.c) and lib/md5.h: the DNF plan of a
 * clause with subqueries (positions, polarity, limits), each row's
 * active_conditions and tags, and the hashes byte for byte against the worked
 * examples of Electric's protocol (reference electric-subqueries.md, 3.6
 * and 3.7).
 */
#include "dnf.h"
#include "md5.h"
#include "unit.h"

#define H "12345-1700000000000000"
#define STACK "single_stack"

static const struct ss_where_column tasks[] = {
    {.name = "id", .type = "int4"},
    {.name = "project_id", .type = "int4"},
    {.name = "owner_id", .type = "int4"},
    {.name = "include_child", .type = "bool"},
    {.name = "user_id", .type = "int4"},
    {.name = "team_id", .type = "int4"},
};
static const struct ss_where_column projects[] = {
    {.name = "id", .type = "int4"},
    {.name = "active", .type = "bool"},
};
static const struct ss_where_column members[] = {
    {.name = "user_id", .type = "int4"},
    {.name = "team_id", .type = "int4"},
};

static int describe(void *ctx, const char *schema, const char *name,
		    const struct ss_where_column **cols, size_t *ncols,
		    struct ss_err *err)
{
	(void)ctx;
	(void)schema;
	(void)err;
	if (!strcmp(name, "projects") || !strcmp(name, "users")) {
		*cols = projects;
		*ncols = 2;
		return 1;
	}
	if (!strcmp(name, "members")) {
		*cols = members;
		*ncols = 2;
		return 1;
	}
	return 0;
}

/* Views: dependency 0 holds 7 (and 2, 2 for the composite), 1 holds 5. */
static int member(void *ctx, size_t dep, const char *const *vals, size_t n,
		  int *res, struct ss_err *err)
{
	(void)ctx;
	(void)err;
	if (n == 2) {
		*res = vals[0] && vals[1] && !strcmp(vals[0], "2") &&
		       !strcmp(vals[1], "2");
		return 0;
	}
	if (!vals[0]) {
		*res = -1;
		return 0;
	}
	*res = !strcmp(vals[0], dep == 0 ? "7" : "5");
	return 0;
}

static struct ss_where *compile(const char *text)
{
	struct ss_where_tables t = {describe, NULL};
	struct ss_where_opts o = {.tables = &t};
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;

	if (ss_where_compile_opts(text, tasks, 6, NULL, 0, &o, &w, &err) < 0)
		FAILF("%s: %s", text, err.msg);
	return w;
}

static struct ss_dnf *plan(struct ss_where *w)
{
	struct ss_dnf *d = NULL;
	struct ss_err err = SS_ERR_INIT;

	if (ss_dnf_build(w, tasks, 6, &d, &err) < 0)
		FAILF("%s: %s", ss_where_canonical_text(w), err.msg);
	return d;
}

static void check_plan_error(const char *text, const char *msg)
{
	struct ss_where *w = compile(text);
	struct ss_dnf *d = NULL;
	struct ss_err err = SS_ERR_INIT;

	CHECK(ss_dnf_build(w, tasks, 6, &d, &err) < 0 && !d);
	CHECK_STR(err.msg, msg);
	ss_where_free(w);
}

/* Tags and active_conditions of one row, as JSON. */
static void row(struct ss_dnf *d, const char *const *values, const char *tags,
		const char *ac, int included)
{
	unsigned char a[64];
	int in = -1;
	struct ss_buf t = SS_BUF_INIT, j = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;

	CHECK(ss_dnf_eval(d, values, member, NULL, a, &in, &err) == 0);
	CHECK(in == included);
	ss_dnf_tags_json(d, values, STACK, H, &t);
	ss_dnf_ac_json(d, a, &j);
	CHECK_STR(t.buf, tags);
	CHECK_STR(j.buf, ac);
	ss_buf_release(&t);
	ss_buf_release(&j);
}

static void test_md5(void)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
	    {"", "d41d8cd98f00b204e9800998ecf8427e"},
	    {"a", "0cc175b9c0f1b6a831c399e269772661"},
	    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
	    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
	    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
	    {"12345678901234567890123456789012345678901234567890123456789012"
	     "345678901234567890",
	     "57edf4a22be3c955ac49da2e2107b67a"},
	};
	size_t i, k;
	char hex[33];

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct ss_md5 m;

		ss_md5_init(&m);
		ss_md5_update(&m, v[i].in, strlen(v[i].in));
		ss_md5_hex(&m, hex);
		CHECK_STR(hex, v[i].hex);
		/* byte by byte, across block boundaries */
		ss_md5_init(&m);
		for (k = 0; v[i].in[k]; k++)
			ss_md5_update(&m, v[i].in + k, 1);
		ss_md5_hex(&m, hex);
		CHECK_STR(hex, v[i].hex);
	}
}

/* 3.6: one subquery, one position; the hashes of projects 7 and 8. */
static void test_example_a(void)
{
	struct ss_where *w =
	    compile("project_id IN (SELECT id FROM projects WHERE active)");
	struct ss_dnf *d = plan(w);
	const char *r1[] = {"1", "7", NULL, NULL, NULL, NULL};
	const char *r2[] = {"2", "8", NULL, NULL, NULL, NULL};
	const char *v8[] = {"8"};
	const size_t *pos;
	char hex[33];

	CHECK(ss_dnf_ndisjuncts(d) == 1 && ss_dnf_npositions(d) == 1);
	CHECK(ss_dnf_dep_positions(d, 0, &pos) == 1 && pos[0] == 0);
	CHECK(!ss_dnf_dep_negated(d, 0));
	row(d, r1, "[\"cd70752d6aadead3ab177fddb9e1dd79\"]", "[true]", 1);
	row(d, r2, "[\"b807f18b3a6f975f8101ba5143a355de\"]", "[false]", 0);
	ss_dnf_value_hash(d, 0, v8, STACK, H, hex);
	CHECK_STR(hex, "b807f18b3a6f975f8101ba5143a355de");
	ss_dnf_free(d);
	ss_where_free(w);
}

/* 3.7: OR of two subqueries, and of a subquery and a plain predicate;
 * AND with a plain predicate. */
static void test_example_b(void)
{
	struct ss_where *w =
	    compile("owner_id IN (SELECT id FROM users) OR project_id IN "
		    "(SELECT id FROM projects WHERE active)");
	struct ss_dnf *d = plan(w);
	const char *both[] = {"1", "7", "5", NULL, NULL, NULL};
	char h0[33], h1[33];
	char tags[200];
	const char *five[] = {"5"}, *seven[] = {"7"};

	CHECK(ss_dnf_ndisjuncts(d) == 2 && ss_dnf_npositions(d) == 2);
	ss_dnf_value_hash(d, 0, five, STACK, H, h0);
	ss_dnf_value_hash(d, 1, seven, STACK, H, h1);
	snprintf(tags, sizeof(tags), "[\"%s/\",\"/%s\"]", h0, h1);
	/* dependency 0 (users) holds 7 in this test's views, 1 holds 5 */
	row(d, both, tags, "[false,false]", 0);
	ss_dnf_free(d);
	ss_where_free(w);

	w = compile("project_id IN (SELECT id FROM projects) OR include_child "
		    "= true");
	d = plan(w);
	{
		const char *r[] = {"1", "7", NULL, "t", NULL, NULL};
		const char *r2[] = {"1", "3", NULL, "f", NULL, NULL};

		ss_dnf_value_hash(d, 0, seven, STACK, H, h0);
		snprintf(tags, sizeof(tags), "[\"%s/\",\"/1\"]", h0);
		row(d, r, tags, "[true,true]", 1);
		ss_dnf_row_hash(d, 0, r2, STACK, H, h1);
		snprintf(tags, sizeof(tags), "[\"%s/\",\"/1\"]", h1);
		row(d, r2, tags, "[false,false]", 0);
	}
	ss_dnf_free(d);
	ss_where_free(w);

	w = compile("project_id IN (SELECT id FROM projects) AND id >= 2");
	d = plan(w);
	{
		const char *r[] = {"3", "7", NULL, NULL, NULL, NULL};
		const char *r2[] = {"1", "7", NULL, NULL, NULL, NULL};

		ss_dnf_value_hash(d, 0, seven, STACK, H, h0);
		snprintf(tags, sizeof(tags), "[\"%s/1\"]", h0);
		row(d, r, tags, "[true,true]", 1);
		row(d, r2, tags, "[true,false]", 0);
	}
	ss_dnf_free(d);
	ss_where_free(w);
}

/* (a OR b) AND x IN sq: [[a, sq], [b, sq]], positions 0=a 1=sq 2=b 3=sq. */
static void test_layout(void)
{
	struct ss_where *w =
	    compile("(id = 1 OR id = 2) AND project_id IN (SELECT id FROM "
		    "projects)");
	struct ss_dnf *d = plan(w);
	const size_t *pos;
	const char *r[] = {"2", "7", NULL, NULL, NULL, NULL};
	const char *seven[] = {"7"};
	char h[33], tags[200];

	CHECK(ss_dnf_ndisjuncts(d) == 2 && ss_dnf_npositions(d) == 4);
	CHECK(ss_dnf_pos(d, 0)->dep == -1 && ss_dnf_pos(d, 1)->dep == 0);
	CHECK(ss_dnf_pos(d, 2)->dep == -1 && ss_dnf_pos(d, 3)->dep == 0);
	CHECK(ss_dnf_pos(d, 2)->disjunct == 1 && !ss_dnf_pos(d, 4));
	CHECK(ss_dnf_dep_positions(d, 0, &pos) == 2 && pos[0] == 1 &&
	      pos[1] == 3);
	ss_dnf_value_hash(d, 1, seven, STACK, H, h);
	snprintf(tags, sizeof(tags), "[\"1/%s//\",\"//1/%s\"]", h, h);
	row(d, r, tags, "[false,true,true,true]", 1);
	ss_dnf_free(d);
	ss_where_free(w);
}

/* NOT pushed down: NOT IN and NOT (a AND b) are negated positions, TRUE
 * only when the leaf is FALSE (a NULL is neither). */
static void test_negation(void)
{
	struct ss_where *w = compile("project_id NOT IN (SELECT id FROM "
				     "projects) AND NOT (id = 1 AND id = 2)");
	struct ss_dnf *d = plan(w);
	const char *r[] = {"3", "8", NULL, NULL, NULL, NULL};
	const char *rnull[] = {"3", NULL, NULL, NULL, NULL, NULL};
	const char *in[] = {"1", "7", NULL, NULL, NULL, NULL};
	char h[33], tags[200];

	CHECK(ss_dnf_ndisjuncts(d) == 2 && ss_dnf_npositions(d) == 4);
	CHECK(ss_dnf_dep_negated(d, 0) && ss_dnf_pos(d, 0)->negated);
	CHECK(ss_dnf_pos(d, 1)->negated && ss_dnf_pos(d, 3)->negated);
	ss_dnf_row_hash(d, 0, r, STACK, H, h);
	snprintf(tags, sizeof(tags), "[\"%s/1//\",\"//%s/1\"]", h, h);
	row(d, r, tags, "[true,true,true,true]", 1);
	ss_dnf_row_hash(d, 0, rnull, STACK, H, h);
	snprintf(tags, sizeof(tags), "[\"%s/1//\",\"//%s/1\"]", h, h);
	row(d, rnull, tags, "[false,true,false,true]", 0);
	ss_dnf_row_hash(d, 0, in, STACK, H, h);
	snprintf(tags, sizeof(tags), "[\"%s/1//\",\"//%s/1\"]", h, h);
	row(d, in, tags, "[false,false,false,true]", 0);
	ss_dnf_free(d);
	ss_where_free(w);
}

/* A row left side: "user_id:v:2team_id:v:2" (router_test "subqueries can
 * reference composite PKs"), the names of the outer columns. */
static void test_composite(void)
{
	struct ss_where *w = compile(
	    "(user_id, team_id) IN (SELECT user_id, team_id FROM members)");
	struct ss_dnf *d = plan(w);
	const char *r[] = {"1", NULL, NULL, NULL, "2", "2"};
	const char *v[] = {"2", "2"};
	char h[33], want[33], tags[100];
	struct ss_md5 m;
	static const char s[] = STACK H "user_id:v:2team_id:v:2";

	ss_md5_init(&m);
	ss_md5_update(&m, s, strlen(s));
	ss_md5_hex(&m, want);
	ss_dnf_value_hash(d, 0, v, STACK, H, h);
	CHECK_STR(h, want);
	snprintf(tags, sizeof(tags), "[\"%s\"]", want);
	row(d, r, tags, "[true]", 1);
	ss_dnf_free(d);
	ss_where_free(w);
}

static void test_errors(void)
{
	char text[4096];
	size_t i, n = 0;

	check_plan_error("project_id IN (SELECT id FROM projects) OR "
			 "project_id NOT IN (SELECT id FROM projects)",
			 "a subquery dependency cannot be used with both "
			 "positive and negative polarity in the same filter");
	check_plan_error("project_id IN (SELECT id FROM projects) AND NOT "
			 "(id = 1 OR project_id IN (SELECT id FROM projects))",
			 "a subquery dependency cannot be used with both "
			 "positive and negative polarity in the same filter");
	/* (a1 OR a2) AND ... seven times: 2^7 = 128 disjuncts */
	for (i = 0; i < 7; i++)
		n +=
		    (size_t)snprintf(text + n, sizeof(text) - n,
				     "(id = %zu OR owner_id = %zu) AND ", i, i);
	snprintf(text + n, sizeof(text) - n,
		 "project_id IN (SELECT id FROM projects)");
	check_plan_error(text, "WHERE clause too complex for DNF "
			       "decomposition (128 disjuncts exceeds limit of "
			       "100)");
	/* 64 is fine */
	text[0] = '\0';
	for (i = 0, n = 0; i < 6; i++)
		n +=
		    (size_t)snprintf(text + n, sizeof(text) - n,
				     "(id = %zu OR owner_id = %zu) AND ", i, i);
	snprintf(text + n, sizeof(text) - n,
		 "project_id IN (SELECT id FROM projects)");
	{
		struct ss_where *w = compile(text);
		struct ss_dnf *d = plan(w);

		CHECK(ss_dnf_ndisjuncts(d) == 64 &&
		      ss_dnf_npositions(d) == 64 * 7);
		ss_dnf_free(d);
		ss_where_free(w);
	}
}

int main(void)
{
	test_md5();
	test_example_a();
	test_example_b();
	test_layout();
	test_negation();
	test_composite();
	test_errors();
	return unit_report();
}
