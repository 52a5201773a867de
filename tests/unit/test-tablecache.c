/*
 * test-tablecache — lib/tablecache over a fake catalog: answers (found
 * and not found) are cached for the time given, failures are not, a full
 * cache starts over, and cached tables come back as deep copies.
 */
#include <unistd.h>

#include "tablecache.h"
#include "unit.h"

static int calls, fail;

static int fake(void *ctx, const char *schema, const char *name,
		struct ss_pgq_table *t, struct ss_err *err)
{
	(void)ctx;
	calls++;
	if (fail)
		return ss_err_set(err, SS_ERR_RUNTIME, "connection refused");
	if (strcmp(name, "items"))
		return 0;
	memset(t, 0, sizeof(*t));
	t->schema = ss_xstrdup(schema);
	t->name = ss_xstrdup(name);
	t->cols = ss_xcalloc(2, sizeof(*t->cols));
	t->cols[0].name = ss_xstrdup("id");
	t->cols[0].type = ss_xstrdup("int4");
	t->ncols = 1;
	t->pk = ss_xcalloc(2, sizeof(*t->pk));
	t->npk = 1;
	return 1;
}

static int ask(struct ss_tablecache *c, const char *name)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_pgq_table t;
	int r;

	memset(&t, 0, sizeof(t));
	r = ss_tablecache_describe(c, "public", name, &t, &err);
	if (r == 1)
		CHECK(t.ncols == 1 && !strcmp(t.cols[0].name, "id") &&
		      t.npk == 1 && !strcmp(t.name, name));
	if (r < 0)
		CHECK(err.msg[0]);
	ss_pgq_table_release(&t);
	return r;
}

int main(void)
{
	struct ss_tablecache *c = ss_tablecache_new(fake, NULL, 200000, 3);

	CHECK(ask(c, "items") == 1 && calls == 1);
	CHECK(ask(c, "items") == 1 && calls == 1);
	CHECK(ask(c, "nope") == 0 && calls == 2);
	CHECK(ask(c, "nope") == 0 && calls == 2);
	fail = 1;
	CHECK(ask(c, "other") == -1 && calls == 3);
	CHECK(ask(c, "other") == -1 && calls == 4); /* not cached */
	CHECK(ask(c, "items") == 1 && calls == 4);
	fail = 0;
	/* a third entry fills it; the fourth starts over */
	CHECK(ask(c, "a") == 0 && calls == 5);
	CHECK(ask(c, "b") == 0 && calls == 6);
	CHECK(ask(c, "items") == 1 && calls == 7);
	/* past the time to live: asked again */
	usleep(250000);
	CHECK(ask(c, "items") == 1 && calls == 8);
	ss_tablecache_free(c);
	ss_tablecache_free(NULL);
	return unit_report();
}
