/*
 * test-create — lib/create against a real PostgreSQL, without HTTP: a
 * shape's creation waits for route's active mark before its snapshot,
 * records the snapshot and writes its rows; get finds the shape again;
 * a creation that fails (manual publishing of an unpublished table)
 * removes the shape and leaves the reason on its live entry; a thread
 * that cannot start fails at once; shapes left pending by an earlier
 * process are removed, by get and at start, with one warning each.
 *
 *   test-create CONNINFO REGISTRY DATADIR
 *
 * The database holds public.items (id int primary key, title text) with
 * rows 1..3, and public.unpub (id int primary key), in no publication.
 */
#include <unistd.h>

#include "create.h"
#include "datadir.h"
#include "snapshot.h"
#include "unit.h"

static struct ss_pgq_pool *pool;
static int warnings;
static char last_warning[512];

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	warnings++;
	snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

static int describe(void *ctx, const char *schema, const char *name,
		    struct ss_pgq_table *t, struct ss_err *err)
{
	void *conn = ss_pgq_get(pool, err);
	int rc;

	(void)ctx;
	if (!conn)
		return -1;
	rc = ss_pgq_describe(conn, schema, name, t, err);
	ss_pgq_put(pool, conn);
	return rc;
}

/* Validate QUERY's pairs into q (a real catalog), or fail. */
static void request(const char *table, const char *where, struct ss_shapereq *q)
{
	struct ss_shapereq_kv kv[3] = {
	    {"table", 5, table, strlen(table)},
	    {"offset", 6, "-1", 2},
	    {"where", 5, where ? where : "", where ? strlen(where) : 0},
	};
	struct ss_shapereq_opts o = {NULL, NULL, describe, NULL, 0, 0};
	struct ss_shapereq_args a;
	struct ss_shapereq_error e;

	ss_shapereq_error_init(&e);
	ss_shapereq_init(q);
	ss_shapereq_args_collect(kv, where ? 3 : 2, &a);
	if (ss_shapereq_validate(&a, &o, q, &e))
		FAILF("%s: %u %s", table, e.status, e.body.buf);
	ss_shapereq_error_release(&e);
}

/* Wait up to 20 s for the creation of s to end; 1 if it did. */
static int wait_created(struct ss_live *live, struct ss_live_shape *s)
{
	int i, creating = 1;

	for (i = 0; i < 2000 && creating; i++) {
		ss_live_lock(live);
		creating = s->creating;
		ss_live_unlock(live);
		if (creating)
			usleep(10000);
	}
	return !creating;
}

static int state_of(struct ss_registry *reg, int64_t id)
{
	struct ss_shape_rec rec;
	struct ss_err err = SS_ERR_INIT;
	int rc, st;

	ss_shape_rec_init(&rec);
	rc = ss_registry_get_by_id(reg, id, &rec, &err);
	st = rc == 1 ? rec.snapshot_state : rc == 0 ? -1 : -2;
	ss_shape_rec_release(&rec);
	return st;
}

int main(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry *reg = NULL;
	struct ss_live *live;
	struct ss_create *c;
	struct ss_create_cfg cfg;
	struct ss_create_shape s1, s2, s3;
	struct ss_shapereq q, qw, qu;
	struct ss_buf chunk = SS_BUF_INIT;
	atomic_int stopping = 0;
	atomic_llong created = 0;
	uint64_t ready = 0;
	int done = 0, i;
	char *text;
	size_t len;

	if (argc != 4)
		FAILF("usage: test-create CONNINFO REGISTRY DATADIR");
	if (ss_registry_open(argv[2], NULL, &reg, &err) < 0)
		FAILF("%s", err.msg);
	pool = ss_pgq_pool_new(argv[1], 4, 5);
	live = ss_live_open(&err);
	if (!live)
		FAILF("%s", err.msg);
	memset(&cfg, 0, sizeof(cfg));
	cfg.reg = reg;
	cfg.pool = pool;
	cfg.live = live;
	cfg.data_dir = argv[3];
	cfg.publication = "shapesync";
	cfg.chunk_bytes = 1 << 20;
	cfg.pool_size = 4;
	cfg.active_timeout_ms = 20000;
	cfg.stopping = &stopping;
	cfg.created = &created;
	cfg.warn = on_warn;
	c = ss_create_new(&cfg);
	ss_buf_init(&s1.dir);
	ss_buf_init(&s2.dir);
	ss_buf_init(&s3.dir);

	/* 1-2: registered, published, but no snapshot before route's mark */
	request("items", NULL, &q);
	CHECK(ss_create_get(c, &q, &s1, &err) == 1);
	CHECK(s1.sh && s1.id > 0 && ss_shape_handle_valid(s1.handle, NULL));
	usleep(300000);
	ss_live_lock(live);
	CHECK(s1.sh->creating == 1 && s1.sh->done == 0);
	ss_live_unlock(live);
	CHECK(state_of(reg, s1.id) == SS_SNAPSHOT_PENDING);
	/* 3: route marks it; the snapshot follows */
	if (ss_registry_mark_active(reg, s1.id, 1, &err) < 0 ||
	    ss_registry_flush(reg, &err) < 0)
		FAILF("%s", err.msg);
	CHECK(wait_created(live, s1.sh));
	ss_live_lock(live);
	CHECK(s1.sh->done == 1 && !s1.sh->failed && s1.sh->chunks_ready == 1);
	ss_live_unlock(live);
	CHECK(state_of(reg, s1.id) == SS_SNAPSHOT_COMPLETE);
	CHECK(atomic_load(&created) == 1);
	CHECK(ss_snapshot_state(s1.dir.buf, &ready, &done, &err) == 0 && done &&
	      ready == 1);
	ss_snapshot_chunk_path(&chunk, s1.dir.buf, 0);
	text = NULL;
	{
		FILE *f = fopen(chunk.buf, "r");

		if (f) {
			text = ss_xcalloc(1, 1 << 16);
			len = fread(text, 1, (1 << 16) - 1, f);
			text[len] = '\0';
			fclose(f);
		}
	}
	CHECK(text && strstr(text, "\"id\":\"1\"") &&
	      strstr(text, "\"id\":\"3\"") && strstr(text, "snapshot-end"));
	free(text);

	/* get finds the same shape, no second creation */
	CHECK(ss_create_get(c, &q, &s2, &err) == 1);
	CHECK(s2.id == s1.id && !strcmp(s2.handle, s1.handle) &&
	      s2.sh == s1.sh);
	ss_live_lock(live);
	CHECK(s2.sh->creating == 0);
	ss_live_unlock(live);
	ss_live_put(live, s2.sh);

	/* another definition is another shape */
	request("items", "id > 1", &qw);
	cfg.no_active_wait = 1;
	ss_create_free(c);
	c = ss_create_new(&cfg);
	CHECK(ss_create_get(c, &qw, &s2, &err) == 1 && s2.id != s1.id);
	CHECK(wait_created(live, s2.sh));
	ss_live_put(live, s2.sh);

	/* a creation that fails on the database's setup */
	cfg.manual_publishing = 1;
	ss_create_free(c);
	c = ss_create_new(&cfg);
	request("unpub", NULL, &qu);
	warnings = 0;
	CHECK(ss_create_get(c, &qu, &s3, &err) == 1);
	CHECK(wait_created(live, s3.sh));
	ss_live_lock(live);
	CHECK(s3.sh->failed == 1 && s3.sh->fail_status == 1);
	CHECK(strstr(s3.sh->fail_msg, "missing from the publication") != NULL);
	ss_live_unlock(live);
	CHECK(warnings == 1 &&
	      strstr(last_warning, "could not create shape ") == last_warning);
	ss_registry_flush(reg, &err);
	CHECK(state_of(reg, s3.id) == -1);
	ss_live_put(live, s3.sh);

	/* a thread that cannot start: failed at once, removed */
	cfg.manual_publishing = 0;
	cfg.fail_thread_start = 1;
	ss_create_free(c);
	c = ss_create_new(&cfg);
	warnings = 0;
	CHECK(ss_create_get(c, &qu, &s3, &err) == 1);
	ss_live_lock(live);
	CHECK(s3.sh->failed == 1 && s3.sh->creating == 0 &&
	      s3.sh->fail_status == 0);
	CHECK(strstr(s3.sh->fail_msg, "could not start a thread") != NULL);
	ss_live_unlock(live);
	CHECK(warnings == 1);
	ss_registry_flush(reg, &err);
	CHECK(state_of(reg, s3.id) == -1);
	ss_live_put(live, s3.sh);

	/* pending in the registry, no creation here: removed by get (0),
	 * then created by the next get */
	cfg.fail_thread_start = 0;
	ss_create_free(c);
	c = ss_create_new(&cfg);
	{
		struct ss_shape_rec rec;
		int made = 0;

		ss_shape_rec_init(&rec);
		CHECK(ss_registry_add(reg, &qu.def, &qu.table.oid, 1, &rec,
				      &made, &err) == 0 ||
		      made);
		ss_shape_rec_release(&rec);
	}
	warnings = 0;
	CHECK(ss_create_get(c, &qu, &s3, &err) == 0);
	CHECK(warnings == 1 &&
	      strstr(last_warning, "its creation did not finish"));
	ss_live_put(live, s3.sh);
	ss_registry_flush(reg, &err);
	CHECK(ss_create_get(c, &qu, &s3, &err) == 1);
	CHECK(wait_created(live, s3.sh));
	ss_live_put(live, s3.sh);

	/* at start: every pending shape removed, one warning each */
	for (i = 0; i < 2; i++) {
		struct ss_shape_rec rec;
		struct ss_shapereq qq;
		char where[32];
		int made = 0;

		snprintf(where, sizeof(where), "id = %d", 10 + i);
		request("items", where, &qq);
		ss_shape_rec_init(&rec);
		ss_registry_add(reg, &qq.def, &qq.table.oid, 1, &rec, &made,
				&err);
		CHECK(made == 1);
		ss_shape_rec_release(&rec);
		ss_shapereq_release(&qq);
	}
	warnings = 0;
	CHECK(ss_create_remove_stale(c, &err) == 0);
	CHECK(warnings == 2);
	warnings = 0;
	CHECK(ss_create_remove_stale(c, &err) == 0 && warnings == 0);
	CHECK(state_of(reg, s1.id) == SS_SNAPSHOT_COMPLETE);

	ss_live_put(live, s1.sh);
	ss_create_free(c);
	ss_create_free(NULL);
	ss_shapereq_release(&q);
	ss_shapereq_release(&qw);
	ss_shapereq_release(&qu);
	ss_buf_release(&s1.dir);
	ss_buf_release(&s2.dir);
	ss_buf_release(&s3.dir);
	ss_buf_release(&chunk);
	ss_live_close(live);
	ss_pgq_pool_close(pool);
	if (ss_registry_close(reg, &err) < 0)
		FAILF("%s", err.msg);
	return unit_report();
}
