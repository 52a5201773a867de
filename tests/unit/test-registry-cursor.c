/*
 * test-registry-cursor.c — unit tests for lib/registry_cursor against real
 * SQLite files: the first listing, incremental adds and removes in log
 * order, a change log trimmed past the cursor (one reload, reported), the
 * no-listing mode store uses, version-only cursors, forcing, and a
 * callback failure that the next poll repeats.
 */
#include "registry.h"
#include "registry_cursor.h"
#include "unit.h"
#include "unit-registry.h"

static void rm(struct ss_registry *r, int64_t id)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_registry_remove(r, id, &err) != 1 ||
	    ss_registry_flush(r, &err) < 0)
		FAILF("remove %lld: %s", (long long)id, err.msg);
}

/* What the callbacks saw, as text: "+3" (an add, "+3r" with a record
 * whose where names the shape), "-3" a removal, "R" a reload. */
struct rec {
	char log[4096];
	int fail_at; /* fail the n-th callback (1-based), 0: never */
	int calls;
	int no_handle; /* a removal came without a handle */
};

static int note(struct rec *r, struct ss_err *err, const char *fmt, long long v)
{
	size_t n = strlen(r->log);

	if (++r->calls == r->fail_at)
		return ss_err_set(err, SS_ERR_RUNTIME, "callback failed");
	snprintf(r->log + n, sizeof(r->log) - n, fmt, v);
	return 0;
}

static int on_added(int64_t id, const char *handle,
		    const struct ss_shape_rec *rec, void *p, struct ss_err *err)
{
	struct rec *r = p;

	if (!handle || !*handle)
		r->no_handle = 1;
	if (rec && (rec->id != id || strcmp(rec->handle, handle) ||
		    !strstr(rec->definition, "x = ")))
		return ss_err_set(err, SS_ERR_RUNTIME, "bad record");
	return note(r, err, rec ? "+%lldr " : "+%lld ", (long long)id);
}

static int on_removed(int64_t id, const char *handle, void *p,
		      struct ss_err *err)
{
	struct rec *r = p;

	if (!handle)
		r->no_handle = 1;
	return note(r, err, "-%lld ", (long long)id);
}

static int on_reload(void *p, struct ss_err *err)
{
	return note(p, err, "R%lld ", 0);
}

static const struct ss_registry_cursor_ops ops = {on_added, on_removed,
						  on_reload};

static int do_poll(struct ss_registry_cursor *c, struct rec *r, int force)
{
	struct ss_err err = SS_ERR_INIT;
	int rc;

	r->log[0] = '\0';
	r->calls = 0;
	rc = ss_registry_cursor_poll(c, force, &err);
	if (rc < 0 && strcmp(err.msg, "callback failed"))
		fprintf(stderr, "poll: %s\n", err.msg);
	return rc;
}

static void expect_log(const struct rec *r, const char *want)
{
	CHECK_STR(r->log, want);
}

/* Adds and removes in order; records read after the log, so a shape
 * added and removed between two polls is reported only as removed. */
static void test_incremental(int flags)
{
	struct ss_registry *w =
	    unit_open_reg(flags ? "inc-rec.db" : "inc.db", 0);
	struct ss_registry *rd;
	struct ss_registry_cursor *c;
	struct rec r = {"", 0, 0, 0};
	char want[256];
	int64_t a, b, d, e;

	a = unit_add_shape(w, 1);
	b = unit_add_shape(w, 2);
	rd = unit_open_reg(flags ? "inc-rec.db" : "inc.db", 0);
	c = ss_registry_cursor_new(rd, flags, &ops, &r);
	CHECK(ss_registry_cursor_seq(c) == 0);
	/* The first poll lists every live shape. */
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_RELOADED);
	snprintf(want, sizeof(want), flags ? "+%lldr +%lldr " : "+%lld +%lld ",
		 (long long)a, (long long)b);
	expect_log(&r, want);
	CHECK(ss_registry_cursor_seq(c) > 0);
	/* Nothing committed: one PRAGMA, nothing reported. */
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_SAME);
	expect_log(&r, "");
	/* Forced: the log is read, and it has nothing new. */
	CHECK(do_poll(c, &r, 1) == SS_REGISTRY_CURSOR_CHANGED);
	expect_log(&r, "");
	/* A removal and an add, in log order. */
	rm(w, a);
	d = unit_add_shape(w, 3);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_CHANGED);
	snprintf(want, sizeof(want), flags ? "-%lld +%lldr " : "-%lld +%lld ",
		 (long long)a, (long long)d);
	expect_log(&r, want);
	CHECK(!r.no_handle);
	/* Added and removed between two polls. */
	e = unit_add_shape(w, 4);
	rm(w, e);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_CHANGED);
	if (flags)
		snprintf(want, sizeof(want), "-%lld ", (long long)e);
	else
		snprintf(want, sizeof(want), "+%lld -%lld ", (long long)e,
			 (long long)e);
	expect_log(&r, want);
	/* Invalidated: the next poll looks although nothing moved. */
	ss_registry_cursor_invalidate(c);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_CHANGED);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_SAME);
	/* A failing callback fails the poll; the next one reports the same
	 * changes again (callers treat repeats as no-ops). */
	rm(w, b);
	r.fail_at = 1;
	CHECK(do_poll(c, &r, 0) == -1);
	r.fail_at = 0;
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_CHANGED);
	snprintf(want, sizeof(want), "-%lld ", (long long)b);
	expect_log(&r, want);
	ss_registry_cursor_free(c);
	ss_registry_cursor_free(NULL);
	ss_registry_cursor_invalidate(NULL);
	{
		struct ss_err err = SS_ERR_INIT;

		CHECK(ss_registry_close(rd, &err) == 0);
		CHECK(ss_registry_close(w, &err) == 0);
	}
	(void)d;
}

/* The change log trimmed past the cursor: one reload, reported before
 * the listing, and the listing has exactly the live shapes - a shape
 * removed while the log was trimmed is simply not listed. */
static void test_trimmed(int flags)
{
	const char *name = flags ? "trim-rec.db" : "trim.db";
	struct ss_registry *w = unit_open_reg(name, 4), *rd;
	struct ss_registry_cursor *c;
	struct rec r = {"", 0, 0, 0};
	struct ss_err err = SS_ERR_INIT;
	int64_t ids[12];
	char want[512];
	size_t n;
	int i;

	for (i = 0; i < 3; i++)
		ids[i] = unit_add_shape(w, i);
	rd = unit_open_reg(name, 0);
	c = ss_registry_cursor_new(rd, flags, &ops, &r);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_RELOADED);
	/* More changes than the log keeps, a removal among them. */
	rm(w, ids[1]);
	for (i = 3; i < 12; i++)
		ids[i] = unit_add_shape(w, i);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_RELOADED);
	snprintf(want, sizeof(want), "R0 ");
	for (i = 0; i < 12; i++) {
		if (i == 1)
			continue;
		n = strlen(want);
		snprintf(want + n, sizeof(want) - n,
			 flags ? "+%lldr " : "+%lld ", (long long)ids[i]);
	}
	expect_log(&r, want);
	/* From the listing's position on, changes are incremental again. */
	rm(w, ids[0]);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_CHANGED);
	snprintf(want, sizeof(want), "-%lld ", (long long)ids[0]);
	expect_log(&r, want);
	/* A reload whose callback fails is done again by the next poll. */
	for (i = 20; i < 28; i++)
		unit_add_shape(w, i);
	r.fail_at = 1;
	CHECK(do_poll(c, &r, 0) == -1);
	r.fail_at = 0;
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_RELOADED);
	CHECK(strncmp(r.log, "R0 +", 4) == 0);
	ss_registry_cursor_free(c);
	CHECK(ss_registry_close(rd, &err) == 0);
	CHECK(ss_registry_close(w, &err) == 0);
}

/* NO_LIST (store): no listing at the start or on a reload; the reload
 * is reported after the position is taken. */
static void test_no_list(void)
{
	struct ss_registry *w = unit_open_reg("nolist.db", 4), *rd;
	struct ss_registry_cursor *c;
	struct rec r = {"", 0, 0, 0};
	struct ss_err err = SS_ERR_INIT;
	char want[64];
	int64_t a, b;
	int i;

	a = unit_add_shape(w, 1);
	rd = unit_open_reg("nolist.db", 0);
	c = ss_registry_cursor_new(rd, SS_REGISTRY_CURSOR_NO_LIST, &ops, &r);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_RELOADED);
	expect_log(&r, "");
	rm(w, a);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_CHANGED);
	snprintf(want, sizeof(want), "-%lld ", (long long)a);
	expect_log(&r, want);
	for (i = 2; i < 10; i++)
		unit_add_shape(w, i);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_RELOADED);
	expect_log(&r, "R0 ");
	b = unit_add_shape(w, 10);
	CHECK(do_poll(c, &r, 0) == SS_REGISTRY_CURSOR_CHANGED);
	snprintf(want, sizeof(want), "+%lld ", (long long)b);
	expect_log(&r, want);
	ss_registry_cursor_free(c);
	CHECK(ss_registry_close(rd, &err) == 0);
	CHECK(ss_registry_close(w, &err) == 0);
}

/* No callbacks: the cursor only says whether anything was committed. */
static void test_version_only(void)
{
	struct ss_registry *w = unit_open_reg("version.db", 0), *rd;
	struct ss_registry_cursor *c;
	struct ss_err err = SS_ERR_INIT;

	rd = unit_open_reg("version.db", 0);
	c = ss_registry_cursor_new(rd, 0, NULL, NULL);
	CHECK(ss_registry_cursor_poll(c, 0, &err) ==
	      SS_REGISTRY_CURSOR_RELOADED);
	CHECK(ss_registry_cursor_poll(c, 0, &err) == SS_REGISTRY_CURSOR_SAME);
	unit_add_shape(w, 1);
	CHECK(ss_registry_cursor_poll(c, 0, &err) ==
	      SS_REGISTRY_CURSOR_CHANGED);
	CHECK(ss_registry_cursor_poll(c, 0, &err) == SS_REGISTRY_CURSOR_SAME);
	CHECK(ss_registry_cursor_poll(c, 1, &err) ==
	      SS_REGISTRY_CURSOR_CHANGED);
	CHECK(ss_registry_cursor_seq(c) == 0);
	ss_registry_cursor_free(c);
	CHECK(ss_registry_close(rd, &err) == 0);
	CHECK(ss_registry_close(w, &err) == 0);
}

int main(void)
{
	unit_mkdtemp("/tmp/ss-unit-cursor.XXXXXX");
	test_incremental(0);
	test_incremental(SS_REGISTRY_CURSOR_RECORDS);
	test_trimmed(0);
	test_trimmed(SS_REGISTRY_CURSOR_RECORDS);
	test_no_list();
	test_version_only();
	return unit_finish();
}
