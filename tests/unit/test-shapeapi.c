/*
 * test-shapeapi.c — lib/shapeapi without PostgreSQL: an in-memory
 * registry and a data dir holding one shape of table items, its snapshot
 * written with lib/snapshot and its log with lib/log, the catalog a fake;
 * requests through lib/server on 127.0.0.1. The snapshot at offset -1,
 * following the offsets to the log and up-to-date, offset=now, a live
 * request that times out and one woken by a commit, an unknown handle
 * (409 must-refetch naming the shape's handle), a bad offset (400),
 * DELETE refused (405), a preflight (204), a POST over max_body (413);
 * a shape that cannot be read for want of descriptors (503 with
 * retry-after 5) and one whose log is damaged while the registry holds
 * it (503 with retry-after 10): neither a 409 naming the client's own
 * handle.
 *
 *   test-shapeapi DIR     (a scratch directory)
 */
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "create.h"
#include "datadir.h"
#include "live.h"
#include "log.h"
#include "message.h"
#include "offset.h"
#include "pgq.h"
#include "registry.h"
#include "shapeapi.h"
#include "snapshot.h"
#include "rawhttp.h"
#include "tablecache.h"
#include "where.h"

/* The catalog: public.items (id int8 key, name text). */
static int fake_describe(void *ctx, const char *schema, const char *name,
			 struct ss_pgq_table *t, struct ss_err *err)
{
	(void)ctx;
	if (strcmp(schema, "public") || strcmp(name, "items"))
		return 0;
	(void)err;
	memset(t, 0, sizeof(*t));
	t->schema = ss_xstrdup(schema);
	t->name = ss_xstrdup(name);
	t->oid = 16384;
	t->relkind = 'r';
	t->cols = ss_xcalloc(3, sizeof(*t->cols));
	t->pk = ss_xcalloc(3, sizeof(*t->pk));
	t->cols[0].name = ss_xstrdup("id");
	t->cols[0].type = ss_xstrdup("int8");
	t->cols[0].typmod = -1;
	t->cols[0].pk_index = 0;
	t->cols[1].name = ss_xstrdup("name");
	t->cols[1].type = ss_xstrdup("text");
	t->cols[1].typmod = -1;
	t->cols[1].pk_index = -1;
	t->ncols = 2;
	t->pk[t->npk++] = 0;
	return 1;
}

static enum MHD_Result not_found(struct ss_server_req *r, void *ctx)
{
	(void)ctx;
	return ss_server_send_text(r, 404, "Not found", "text/plain");
}

static void *waker(void *arg)
{
	ss_live_run(arg);
	return NULL;
}

/* The shape of "table=items": validated as serve would, added to the
 * registry, its snapshot (two rows) and log (one change) written. */
static void make_shape(struct ss_registry *reg, struct ss_tablecache *tc,
		       const struct ss_where_limits *lim, const char *data,
		       struct ss_shape_rec *rec, struct ss_buf *dir)
{
	static const char table[] = "table", items[] = "items",
			  off[] = "offset", start[] = "-1";
	struct ss_shapereq_kv kv[2] = {{table, 5, items, 5},
				       {off, 6, start, 2}};
	struct ss_shapereq_opts o = {NULL, lim, ss_tablecache_describe,
				     tc,   0,	0};
	struct ss_shapereq_args a;
	struct ss_shapereq q;
	struct ss_shapereq_error e;
	struct ss_snapshot_writer *w;
	struct ss_log_writer *lw;
	struct ss_log_opts lo;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf end = SS_BUF_INIT;
	struct ss_offset lo_off = ss_offset_make(100, 0);
	static const char row1[] =
	    "{\"key\":\"\\\"public\\\".\\\"items\\\"/\\\"1\\\"\",\"value\":"
	    "{\"id\":\"1\",\"name\":\"one\"},\"headers\":{\"operation\":"
	    "\"insert\",\"relation\":[\"public\",\"items\"]}}";
	static const char row2[] =
	    "{\"key\":\"\\\"public\\\".\\\"items\\\"/\\\"2\\\"\",\"value\":"
	    "{\"id\":\"2\",\"name\":\"two\"},\"headers\":{\"operation\":"
	    "\"insert\",\"relation\":[\"public\",\"items\"]}}";
	static const char change[] =
	    "{\"key\":\"\\\"public\\\".\\\"items\\\"/\\\"3\\\"\",\"value\":"
	    "{\"id\":\"3\",\"name\":\"three\"},\"headers\":{\"operation\":"
	    "\"insert\",\"relation\":[\"public\",\"items\"],\"lsn\":\"100\"}}";
	uint64_t chunks;
	int made = 0;

	ss_shapereq_init(&q);
	ss_shapereq_error_init(&e);
	ss_shapereq_args_collect(kv, 2, &a);
	if (ss_shapereq_validate(&a, &o, &q, &e))
		FAILF("validate: %s", e.body.buf);
	if (ss_registry_add(reg, &q.def, &q.table.oid, 1, rec, &made, &err) <
		0 ||
	    !made)
		FAILF("add: %s", err.msg);
	ss_datadir_shape_path(dir, data, rec->handle);
	if (ss_snapshot_begin(dir->buf, 1 << 20, &w, &err) < 0 ||
	    ss_snapshot_add(w, row1, strlen(row1), &err) < 0 ||
	    ss_snapshot_add(w, row2, strlen(row2), &err) < 0)
		FAILF("snapshot: %s", err.msg);
	ss_message_snapshot_end(&end, 90, 90, NULL, 0);
	if (ss_snapshot_finish(w, end.buf, end.len, &chunks, &err) < 0)
		FAILF("snapshot: %s", err.msg);
	ss_log_opts_init(&lo);
	if (ss_log_writer_open(dir->buf, &lo, &lw, &err) < 0 ||
	    ss_log_append(lw, &lo_off, change, strlen(change), &err) < 0 ||
	    ss_log_commit(lw, 100, &err) < 0)
		FAILF("log: %s", err.msg);
	ss_log_writer_close(lw);
	if (ss_registry_set_snapshot(reg, rec->id, SS_SNAPSHOT_COMPLETE, NULL,
				     &err) < 0 ||
	    ss_registry_flush(reg, &err) < 0)
		FAILF("%s", err.msg);
	ss_buf_release(&end);
	ss_shapereq_error_release(&e);
	ss_shapereq_release(&q);
}

/* Append one change at LSN lsn to the shape's log, after a pause. */
struct later {
	const char *dir;
	uint64_t lsn;
};

static void *commit_later(void *arg)
{
	struct later *l = arg;
	struct ss_log_writer *lw;
	struct ss_log_opts lo;
	struct ss_err err = SS_ERR_INIT;
	struct ss_offset off = ss_offset_make(l->lsn, 0);
	static const char change[] =
	    "{\"key\":\"\\\"public\\\".\\\"items\\\"/\\\"4\\\"\",\"value\":"
	    "{\"id\":\"4\",\"name\":\"four\"},\"headers\":{\"operation\":"
	    "\"insert\",\"relation\":[\"public\",\"items\"],\"lsn\":\"200\"}}";

	usleep(100000);
	ss_log_opts_init(&lo);
	if (ss_log_writer_open(l->dir, &lo, &lw, &err) < 0 ||
	    ss_log_append(lw, &off, change, strlen(change), &err) < 0 ||
	    ss_log_commit(lw, l->lsn, &err) < 0)
		FAILF("log: %s", err.msg);
	ss_log_writer_close(lw);
	return NULL;
}

int main(int argc, char **argv)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_registry_opts ro;
	struct ss_registry *reg;
	struct ss_tablecache *tc;
	struct ss_live *live;
	struct ss_create *creator;
	struct ss_where_limits lim;
	struct ss_shape_rec rec;
	struct ss_buf dir = SS_BUF_INIT, b = SS_BUF_INIT;
	struct ss_shapeapi *api;
	struct ss_server *srv;
	struct ss_server_cfg sc;
	struct sockaddr_storage addr;
	atomic_int stopping = 0;
	pthread_t wt, ct;
	char data[4096], target[512], handle[128], offset[64], hdr[256];
	unsigned port;
	int64_t t0;
	int i, up_to_date = 0, saw_change = 0;

	if (argc != 2)
		FAILF("usage: test-shapeapi DIR");
	snprintf(data, sizeof(data), "%s/data", argv[1]);
	if (ss_datadir_init(data, &err) < 0)
		FAILF("%s", err.msg);
	ss_registry_opts_init(&ro);
	ro.create = 1;
	if (ss_registry_open(":memory:", &ro, &reg, &err) < 0)
		FAILF("%s", err.msg);
	tc = ss_tablecache_new(fake_describe, NULL, 1000000, 16);
	ss_where_limits_default(&lim);
	live = ss_live_open(&err);
	if (!live)
		FAILF("%s", err.msg);
	if (pthread_create(&wt, NULL, waker, live) != 0)
		FAILF("pthread_create");
	ss_shape_rec_init(&rec);
	make_shape(reg, tc, &lim, data, &rec, &dir);
	{
		/* no pool: the shape exists, nothing is created */
		struct ss_create_cfg cc;

		memset(&cc, 0, sizeof(cc));
		cc.reg = reg;
		cc.live = live;
		cc.data_dir = data;
		cc.publication = "shapesync";
		cc.chunk_bytes = 1 << 20;
		cc.pool_size = 1;
		cc.no_active_wait = 1;
		cc.stopping = &stopping;
		creator = ss_create_new(&cc);
	}
	{
		struct ss_shapeapi_cfg ac;

		memset(&ac, 0, sizeof(ac));
		ac.reg = reg;
		ac.live = live;
		ac.creator = creator;
		ac.tables = tc;
		ac.data_dir = data;
		ac.where_limits = &lim;
		ac.long_poll_ms = 300;
		ac.sse_timeout_ms = 60000;
		ac.keepalive_ms = 21000;
		ac.create_timeout_ms = 60000;
		ac.cache_max_age = 60;
		ac.cache_stale_age = 300;
		ac.max_initial = 10;
		ac.max_existing = 10;
		ac.stopping = &stopping;
		api = ss_shapeapi_new(&ac);
	}
	static const struct ss_server_route routes[] = {
	    {SS_HTTP_SHAPE, SS_HTTP_OPTIONS, ss_shapeapi_options, NULL},
	    {SS_HTTP_SHAPE, SS_HTTP_DELETE, ss_shapeapi_delete, NULL},
	    {SS_HTTP_SHAPE, SS_HTTP_GET, ss_shapeapi_get, NULL},
	    {SS_HTTP_SHAPE, SS_HTTP_POST, ss_shapeapi_post, NULL},
	};
	ss_sockaddr_parse("127.0.0.1", 0, &addr);
	memset(&sc, 0, sizeof(sc));
	sc.addr = (struct sockaddr *)&addr;
	sc.threads = 2;
	sc.max_connections = 16;
	sc.conn_timeout_s = 10;
	sc.request_timeout_s = 10;
	sc.max_header = 32 * 1024;
	sc.max_body = 64 * 1024;
	sc.max_args = 256;
	sc.routes = routes;
	sc.nroutes = sizeof(routes) / sizeof(routes[0]);
	sc.not_found = not_found;
	sc.check = ss_shapeapi_check;
	sc.ctx = api;
	srv = ss_server_start(&sc, &err);
	if (!srv)
		FAILF("%s", err.msg);
	port = ss_server_port(srv);

	/* offset -1: the snapshot, with the shape's handle */
	rawhttp_req(port, "GET", "/v1/shape?table=items&offset=-1", "", &b);
	CHECK(rawhttp_status(&b) == 200);
	CHECK_STR(rawhttp_header(&b, "electric-handle", handle, sizeof(handle)),
		  rec.handle);
	CHECK(strstr(rawhttp_body(&b), "\"name\":\"one\"") != NULL);
	CHECK(strstr(rawhttp_body(&b), "\"name\":\"two\"") != NULL);
	CHECK(strstr(rawhttp_header(&b, "electric-schema", hdr, sizeof(hdr)),
		     "\"id\"") != NULL);
	rawhttp_header(&b, "electric-offset", offset, sizeof(offset));
	CHECK(offset[0] != '\0');

	/* following the offsets: the log's change, then up-to-date */
	for (i = 0; i < 5 && !up_to_date; i++) {
		snprintf(target, sizeof(target),
			 "/v1/shape?table=items&handle=%s&offset=%s", handle,
			 offset);
		rawhttp_req(port, "GET", target, "", &b);
		CHECK(rawhttp_status(&b) == 200);
		saw_change |= strstr(rawhttp_body(&b), "\"three\"") != NULL;
		up_to_date = strstr(b.buf, "electric-up-to-date") != NULL;
		rawhttp_header(&b, "electric-offset", offset, sizeof(offset));
	}
	CHECK(saw_change && up_to_date);
	CHECK_STR(offset, "100_0");

	/* offset=now: up-to-date at once, no data */
	snprintf(target, sizeof(target),
		 "/v1/shape?table=items&handle=%s&offset=now", handle);
	rawhttp_req(port, "GET", target, "", &b);
	CHECK(rawhttp_status(&b) == 200);
	CHECK(strstr(b.buf, "electric-up-to-date") != NULL);

	/* live at the head: the long poll (300 ms) ends up-to-date */
	snprintf(target, sizeof(target),
		 "/v1/shape?table=items&handle=%s&offset=%s&live=true", handle,
		 offset);
	t0 = ss_mono_us();
	rawhttp_req(port, "GET", target, "", &b);
	CHECK(rawhttp_status(&b) == 200);
	CHECK(ss_mono_us() - t0 >= 250000);
	CHECK(strstr(b.buf, "electric-up-to-date") != NULL);
	CHECK(strstr(b.buf, "electric-cursor") != NULL);

	/* live, woken by a commit before the long poll ends */
	{
		struct later l = {dir.buf, 200};

		if (pthread_create(&ct, NULL, commit_later, &l) != 0)
			FAILF("pthread_create");
		rawhttp_req(port, "GET", target, "", &b);
		pthread_join(ct, NULL);
		CHECK(rawhttp_status(&b) == 200);
		CHECK(strstr(rawhttp_body(&b), "\"four\"") != NULL);
		CHECK_STR(
		    rawhttp_header(&b, "electric-offset", hdr, sizeof(hdr)),
		    "200_0");
	}

	/* an unknown handle: 409, naming the definition's shape */
	rawhttp_req(port, "GET",
		    "/v1/shape?table=items&handle=1-1&offset=100_0", "", &b);
	CHECK(rawhttp_status(&b) == 409);
	CHECK_STR(rawhttp_header(&b, "electric-handle", hdr, sizeof(hdr)),
		  rec.handle);
	CHECK_STR(rawhttp_body(&b),
		  "[{\"headers\":{\"control\":\"must-refetch\"}}]");

	/* a bad offset: 400 */
	rawhttp_req(port, "GET", "/v1/shape?table=items&offset=bad", "", &b);
	CHECK(rawhttp_status(&b) == 400);
	CHECK(strstr(rawhttp_body(&b), "offset") != NULL);

	/* DELETE not allowed here, a preflight, a body too large */
	rawhttp_req(port, "DELETE", "/v1/shape?table=items", "", &b);
	CHECK(rawhttp_status(&b) == 405);
	CHECK_STR(rawhttp_body(&b), "{\"message\":\"DELETE not allowed\"}");
	rawhttp_req(port, "OPTIONS", "/v1/shape", "", &b);
	CHECK(rawhttp_status(&b) == 204);
	rawhttp_req(port, "POST", "/v1/shape?table=items&offset=-1",
		    "Content-Length: 100000\r\n", &b);
	CHECK(rawhttp_status(&b) == 413);

	/* no descriptor left to read the shape with: 503 to retry, not a
	 * 409 (the shape is there) */
	{
		struct rlimit rl, low;
		int next = dup(0);

		if (next < 0 || close(next) < 0 ||
		    getrlimit(RLIMIT_NOFILE, &rl))
			FAILF("dup, getrlimit");
		low = rl;
		/* the client's socket and the server's, then nothing */
		low.rlim_cur = (rlim_t)next + 2;
		snprintf(target, sizeof(target),
			 "/v1/shape?table=items&handle=%s&offset=-1", handle);
		if (setrlimit(RLIMIT_NOFILE, &low) < 0)
			FAILF("setrlimit");
		rawhttp_req(port, "GET", target, "", &b);
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			FAILF("setrlimit");
		CHECK(rawhttp_status(&b) == 503);
		CHECK_STR(rawhttp_header(&b, "retry-after", hdr, sizeof(hdr)),
			  "5");
		CHECK_STR(rawhttp_body(&b),
			  "{\"message\":\"Unable to read the shape now, please "
			  "retry\"}");
		rawhttp_req(port, "GET", target, "", &b);
		CHECK(rawhttp_status(&b) == 200);
	}

	/* a log found damaged while the registry still holds its shape:
	 * 503, not a 409 naming the handle the client has (it would come
	 * straight back) */
	{
		struct ss_buf lp = SS_BUF_INIT;

		ss_buf_addf(&lp, "%s/log", dir.buf);
		if (truncate(lp.buf, 0) < 0)
			FAILF("truncate %s", lp.buf);
		ss_buf_release(&lp);
		snprintf(target, sizeof(target),
			 "/v1/shape?table=items&handle=%s&offset=100_0",
			 handle);
		rawhttp_req(port, "GET", target, "", &b);
		CHECK(rawhttp_status(&b) == 503);
		CHECK_STR(rawhttp_header(&b, "retry-after", hdr, sizeof(hdr)),
			  "10");
		CHECK_STR(
		    rawhttp_body(&b),
		    "{\"message\":\"Unable to read the shape, please retry\"}");
	}

	{
		struct ss_shapeapi_counts c;

		ss_shapeapi_counts(api, &c);
		CHECK(c.initial == 0 && c.existing == 0 && c.bytes_sent > 0);
	}

	atomic_store(&stopping, 1);
	ss_live_stop(live);
	pthread_join(wt, NULL);
	ss_server_close(srv);
	ss_shapeapi_free(api);
	ss_create_free(creator);
	ss_tablecache_free(tc);
	ss_registry_close(reg, &err);
	ss_live_close(live);
	ss_shape_rec_release(&rec);
	ss_buf_release(&dir);
	ss_buf_release(&b);
	return unit_report();
}
