/*
 * shapesync-serve — the HTTP Shape API (ElectricSQL's /v1/shape): options,
 * the {route, method, handler} table for lib/server (libmicrohttpd), and
 * the wiring of the lib/ modules that do the work: http (answers),
 * shapereq (validation), tablecache, create (the creation protocol), live
 * (waiting requests), answer (what to send), sse, subset, evict, metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "answer.h"
#include "cli.h"
#include "connguard.h"
#include "create.h"
#include "datadir.h"
#include "envconf.h"
#include "evict.h"
#include "health.h"
#include "http.h"
#include "log.h"
#include "live.h"
#include "lsn.h"
#include "message.h"
#include "metrics.h"
#include "offset.h"
#include "pgq.h"
#include "server.h"
#include "registry.h"
#include "shape.h"
#include "shapereq.h"
#include "snapshot.h"
#include "sse.h"
#include "subset.h"
#include "tablecache.h"
#include "where.h"

#define DEFAULT_REGISTRY "./var/registry.db"
#define DEFAULT_DATA_DIR "./var/data"
/* Bytes of a file copied per call of a body reader. */
#define BLOCK_SIZE (256 * 1024)
#define TABLE_CACHE_US 1000000

/* ------------------------------------------------------------------ config */

static struct {
	const char *database_url, *registry, *data_dir, *publication, *bind;
	const char *secret;
	int insecure, port, metrics_port, threads, pool_size;
	int64_t long_poll_ms, sse_timeout_ms, keepalive_ms, active_timeout_ms;
	int64_t create_timeout_ms, conn_timeout_s, request_timeout_s;
	int64_t db_idle_ms; /* close pooled connections unused this long */
	int64_t cache_max_age, cache_stale_age;
	uint64_t chunk_bytes, max_body, max_header;
	int64_t max_shapes, max_initial, max_existing, max_connections;
	int integration, no_active_wait, public_metrics, manual_publishing;
	struct ss_where_limits where_limits;
	int64_t test_fail_thread_start; /* test hook, see start_creation() */
} cfg;

/* Query arguments a request may have (lib/server cuts off more and
 * answers 431): Electric's own parameters and params[1..100] stay well
 * below this. */
#define MAX_QUERY_ARGS 256

/* ------------------------------------------------------------------ state */

static struct ss_registry *reg;
static struct ss_pgq_pool *pool;
static volatile sig_atomic_t stop_signal;
static atomic_int stopping;
static struct ss_live *live;	     /* waiting requests and their wake-ups */
static struct ss_create *creator;    /* shape creations (lib/create) */
static struct ss_tablecache *tables; /* catalog lookups, cached a second */

/* Counters for /metrics. */
static struct ss_metrics metrics;
static atomic_llong m_shapes_created, m_evicted;
static atomic_llong m_adm_initial, m_adm_existing;
static atomic_llong m_bytes_sent;
static int64_t started_us; /* wall clock: stages not seen since are starting */

/* ------------------------------------------------------------------ helpers */

static int env_bool(const char *name)
{
	const char *v = getenv(name);

	return v &&
	       (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

/* ------------------------------------------------------------------ tables */

/* The catalog behind the table cache: a pooled connection. */
static int describe_pg(void *ctx, const char *schema, const char *name,
		       struct ss_pgq_table *t, struct ss_err *err)
{
	void *conn = ss_pgq_get(pool, err);
	int r;

	(void)ctx;
	if (!conn)
		return -1;
	r = ss_pgq_describe(conn, schema, name, t, err);
	ss_pgq_put(pool, conn);
	return r;
}

/* ------------------------------------------------------------------ requests
 */

enum { ADM_NONE, ADM_INITIAL, ADM_EXISTING };

/* A /v1/shape request's state, kept with its lib/server request. */
struct req {
	struct ss_server_req *sr;
	int method;
	int admitted;
	int prepared; /* validation done */

	/* the request, validated (lib/shapereq) */
	struct ss_shapereq q;

	/* the shape it resolved to */
	int64_t id;
	char shape_handle[SS_HANDLE_MAX];
	struct ss_buf dir;
	struct ss_live_shape *sh; /* referenced while set */
	int watching;
	uint64_t seen_seq;
	int64_t deadline_us; /* of the current wait, 0: none */
	int oob;	     /* waiting while out of bounds */
	struct ss_live_waiter w;

	struct ss_sse *ss; /* an SSE stream */
};

/* ------------------------------------------------------------------ waiting */

static void req_suspend(void *ctx)
{
	struct req *r = ctx;

	ss_server_suspend(r->sr);
}

static void req_resume(void *ctx)
{
	struct req *r = ctx;

	ss_server_resume(r->sr);
}

/*
 * Suspend the request until an event on its shape or the deadline. Returns
 * 0 when suspended, 1 when an event already happened since the request
 * looked (seq moved): the caller must look again at once.
 */
static int wait_on_shape(struct req *r, int64_t deadline_us)
{
	int64_t id = r->sh->id; /* r may be answered and gone once it waits */

	if (ss_live_wait(live, r->sh, &r->w, r->seen_seq, deadline_us,
			 atomic_load(&stopping), req_suspend, req_resume, r))
		return 1;
	/* A read now, not only when it is answered: a replicate asleep
	 * under its idle timeout wakes for a client that waits. */
	ss_registry_touch(reg, id);
	return 0;
}

static void *waker_main(void *arg)
{
	(void)arg;
	ss_live_run(live);
	return NULL;
}

/* ------------------------------------------------------------------ responses
 */

static enum MHD_Result queue(struct req *r, unsigned status,
			     struct MHD_Response *resp)
{
	return ss_server_queue(r->sr, status, resp);
}

/* A JSON error body with Electric's cache headers for errors. */
static enum MHD_Result send_json(struct req *r, unsigned status,
				 const char *json, const char *retry_after,
				 int known)
{
	return ss_server_send_json(r->sr, status, json, retry_after, known,
				   r->shape_handle[0] != '\0');
}

static enum MHD_Result send_message(struct req *r, unsigned status,
				    const char *msg, const char *retry_after,
				    int known)
{
	struct ss_buf b = SS_BUF_INIT;
	enum MHD_Result ret;

	ss_http_message_body(&b, msg);
	ret = send_json(r, status, b.buf, retry_after, known);
	ss_buf_release(&b);
	return ret;
}

/* 400 naming one field. */
static enum MHD_Result send_invalid(struct req *r, const char *field,
				    const char *msg)
{
	struct ss_http_field_err fe;
	struct ss_buf b = SS_BUF_INIT;
	enum MHD_Result ret;

	snprintf(fe.field, sizeof(fe.field), "%s", field);
	snprintf(fe.msg, sizeof(fe.msg), "%s", msg);
	ss_http_invalid_body(&b, &fe, 1);
	ret = send_json(r, 400, b.buf, NULL, 0);
	ss_buf_release(&b);
	return ret;
}

/* 409 must-refetch, with the current handle of the definition if known. */
static enum MHD_Result send_must_refetch(struct req *r, const char *new_handle)
{
	return queue(r, 409, ss_http_must_refetch(new_handle));
}

/* ------------------------------------------------------------------ params */

/*
 * Validate the request (reference 1.4, lib/shapereq) into r->q. Returns 0
 * when valid, or -1 after queueing the error response (*ret).
 */
static int prepare_shape_request(struct req *r,
				 const struct ss_shapereq_args *a,
				 int definition_only, enum MHD_Result *ret)
{
	struct ss_shapereq_opts o = {cfg.secret, &cfg.where_limits,
				     ss_tablecache_describe, tables,
				     definition_only};
	struct ss_shapereq_error e;
	unsigned status;

	ss_shapereq_error_init(&e);
	status = ss_shapereq_validate(a, &o, &r->q, &e);
	if (status) {
		*ret = send_json(r, status, e.body.buf, e.retry_after, 0);
		ss_shapereq_error_release(&e);
		return -1;
	}
	r->prepared = 1;
	return 0;
}

/* ------------------------------------------------------------------ creation
 */

static void warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	ss_cli_warning("%s", msg);
}

/*
 * Get or create the shape of r's definition (lib/create). Fills r->id,
 * r->shape_handle, r->dir and r->sh. Returns 1 ok, 0 the shape is broken
 * (a creation that died with an earlier process: removed, try again), -1
 * error (err).
 */
static int get_or_create(struct req *r, struct ss_err *err)
{
	struct ss_create_shape cs;
	int rc;

	ss_buf_init(&cs.dir);
	rc = ss_create_get(creator, &r->q, &cs, err);
	if (rc >= 0) {
		r->id = cs.id;
		snprintf(r->shape_handle, sizeof(r->shape_handle), "%s",
			 cs.handle);
		ss_buf_reset(&r->dir);
		ss_buf_add(&r->dir, cs.dir.buf, cs.dir.len);
		r->sh = cs.sh;
	}
	ss_buf_release(&cs.dir);
	return rc;
}

/* ------------------------------------------------------------------ serving */

static uint64_t durable_lsn(void)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t cached;
	static int64_t at;
	struct ss_err err = SS_ERR_INIT;
	uint64_t v;
	int64_t now = ss_mono_us();

	pthread_mutex_lock(&mu);
	if (now - at > 100000) {
		if (ss_registry_get_durable_lsn(reg, &v, &err) == 0)
			cached = v;
		at = now;
	}
	v = cached;
	pthread_mutex_unlock(&mu);
	return v;
}

static void next_cursor(const char *prev, char out[32])
{
	ss_http_cursor(prev, cfg.long_poll_ms, ss_now_us(),
		       (int64_t)(ss_mono_us() % 3600), out);
}

/* What a data response carries besides its body. */
struct answer {
	struct ss_offset end; /* electric-offset */
	int up_to_date, has_data, unique_etag;
	uint64_t lsn; /* for up-to-date */
};

static void schema_of(void *ctx, struct ss_buf *out)
{
	struct req *r = ctx;

	ss_pgq_schema_json(&r->q.table, r->q.sel, r->q.nsel, out);
}

static void add_schema_header(struct req *r, struct MHD_Response *resp)
{
	struct ss_buf s = SS_BUF_INIT;

	schema_of(r, &s);
	MHD_add_response_header(resp, "electric-schema", s.buf);
	ss_buf_release(&s);
}

/* Send "[" + file[fpos, fpos+flen) + (up-to-date) + "]" with headers. */
static enum MHD_Result send_data(struct req *r, int fd, uint64_t fpos,
				 uint64_t flen, const struct answer *an)
{
	struct ss_http_data d;
	struct MHD_Response *resp;
	char cursor[32];
	unsigned status;

	memset(&d, 0, sizeof(d));
	d.handle = r->shape_handle;
	d.req_off = r->q.off;
	d.end = an->end;
	d.up_to_date = an->up_to_date;
	d.has_data = an->has_data;
	d.unique_etag = an->unique_etag;
	d.lsn = an->lsn;
	d.live = r->q.live;
	d.post = r->method == SS_HTTP_POST;
	d.if_none_match = ss_server_req_header(r->sr, "if-none-match");
	if (r->q.live) {
		next_cursor(r->q.cursor, cursor);
		d.cursor = cursor;
	}
	d.mono_us = ss_mono_us();
	d.max_age = cfg.cache_max_age;
	d.stale_age = cfg.cache_stale_age;
	d.fd = fd;
	d.fpos = fpos;
	d.flen = flen;
	d.sent = &m_bytes_sent;
	d.block = BLOCK_SIZE;
	d.schema = schema_of;
	d.schema_ctx = r;
	resp = ss_http_data_response(&d, &status);
	ss_registry_touch(reg, r->id);
	return queue(r, status, resp);
}

/* Open snapshot chunk n; fills fd and the range after its leading ','. */
static int open_chunk(const char *dir, uint64_t n, int *fd, uint64_t *pos,
		      uint64_t *len)
{
	struct ss_buf p = SS_BUF_INIT;
	struct stat st;

	ss_snapshot_chunk_path(&p, dir, n);
	*fd = open(p.buf, O_RDONLY | O_CLOEXEC);
	ss_buf_release(&p);
	if (*fd < 0)
		return -1;
	if (fstat(*fd, &st) < 0 || st.st_size < 1) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	*pos = 1;
	*len = (uint64_t)st.st_size - 1;
	return 0;
}

/* What to answer a request with, decided by plan(). */
enum {
	P_DATA,
	P_WAIT,
	P_AGAIN,
	P_REFETCH,
	P_FAILED,
	P_OOB,
	P_SNAP_TIMEOUT,
	P_ERROR
};

struct plan {
	int fd;
	uint64_t pos, len;
	struct answer an;
	int timed_out; /* a live wait ended without data */
};

/*
 * Decide the answer for r->q.off on r's shape (reference 1.8 step 3-6).
 * P_WAIT means the connection is suspended until an event or
 * r->deadline_us; P_AGAIN means look again at once.
 */
static int plan(struct req *r, struct plan *p)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_live_at at;
	struct ss_answer_in in;
	struct ss_answer a;
	int st, rc;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	st = ss_live_locate(live, r->sh, reg, r->dir.buf, &at, &err);
	r->seen_seq = at.seen_seq;
	memset(&in, 0, sizeof(in));
	in.state = st == 0  ? SS_ANSWER_SHAPE_GONE
		   : st < 0 ? SS_ANSWER_SHAPE_FAILED
			    : SS_ANSWER_SHAPE_OK;
	in.off = r->q.off;
	in.live = r->q.live;
	in.ready = at.ready;
	in.done = at.done;
	in.last = at.last;
	in.now_us = ss_mono_us();
	in.deadline_us = r->deadline_us;
	in.oob = r->oob;
	in.long_poll_ms = cfg.long_poll_ms;
	in.create_timeout_ms = cfg.create_timeout_ms;
	ss_answer_decide(&in, &a);
	r->deadline_us = a.deadline_us;
	r->oob = a.oob;
	if (a.kind == SS_ANSWER_CHUNK &&
	    open_chunk(r->dir.buf, a.chunk, &p->fd, &p->pos, &p->len) < 0)
		a.kind = SS_ANSWER_REFETCH;
	if (a.kind == SS_ANSWER_RANGE) {
		struct ss_offset end;
		uint64_t start = 0, stop = 0, count = 0;
		int closed = 0;

		if (ss_log_reader_chunk_end(at.lr, &a.from, &end, &closed,
					    &err) < 0 ||
		    ss_log_reader_range(at.lr, &a.from, &end, &start, &stop,
					&count, &err) < 0) {
			ss_cli_warning("could not read the log of shape %s: %s",
				       r->shape_handle, err.msg);
			ss_live_at_release(&at);
			return P_ERROR;
		}
		ss_answer_range(&in, &a, &end, count);
		if (count) {
			p->fd = dup(ss_log_reader_fd(at.lr));
			p->pos = start + 1;
			p->len = stop - start - 1;
		}
	}
	ss_live_at_release(&at);
	p->timed_out = a.timed_out;
	p->an.end = a.end;
	p->an.up_to_date = a.up_to_date;
	p->an.has_data = a.has_data;
	p->an.unique_etag = a.unique_etag;
	p->an.lsn = a.lsn;
	switch (a.kind) {
	case SS_ANSWER_CHUNK:
	case SS_ANSWER_NOW:
	case SS_ANSWER_UP_TO_DATE:
	case SS_ANSWER_RANGE:
		if (a.lsn_durable) {
			uint64_t d = durable_lsn();

			p->an.lsn = d > a.lsn ? d : a.lsn;
		}
		return P_DATA;
	case SS_ANSWER_REFETCH:
		return P_REFETCH;
	case SS_ANSWER_FAILED:
		return P_FAILED;
	case SS_ANSWER_OOB:
		return P_OOB;
	case SS_ANSWER_SNAP_TIMEOUT:
		return P_SNAP_TIMEOUT;
	case SS_ANSWER_WAIT_SNAPSHOT:
		return wait_on_shape(r, r->deadline_us) ? P_AGAIN : P_WAIT;
	case SS_ANSWER_WAIT_DATA:
		if (!r->watching) {
			ss_live_lock(live);
			ss_live_watch_locked(live, r->sh, r->dir.buf);
			ss_live_unlock(live);
			r->watching = 1;
			return P_AGAIN; /* look once more now that the watch is
					   on */
		}
		rc = wait_on_shape(r, r->deadline_us);
		return rc ? P_AGAIN : P_WAIT;
	}
	return P_ERROR;
}

/* ------------------------------------------------------------------ SSE */

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *r = cls;
	struct ss_sse *s = r->ss;
	struct plan p;
	int64_t now;
	size_t n;

	(void)pos;
	for (;;) {
		n = ss_sse_read(s, buf, max, ss_mono_us());
		if (n) {
			atomic_fetch_add(&m_bytes_sent, (long long)n);
			return (ssize_t)n;
		}
		now = ss_mono_us();
		if (atomic_load(&stopping) || now >= s->end_us)
			return MHD_CONTENT_READER_END_OF_STREAM;
		r->q.off = s->off;
		r->deadline_us = s->last_out_us + cfg.keepalive_ms * 1000;
		if (r->deadline_us > s->end_us)
			r->deadline_us = s->end_us;
		switch (plan(r, &p)) {
		case P_WAIT:
			return 0; /* suspended until an event or the deadline */
		case P_AGAIN:
			continue;
		case P_DATA:
			if (p.timed_out) {
				if (now >= s->end_us)
					return MHD_CONTENT_READER_END_OF_STREAM;
				ss_sse_keepalive(s);
				continue;
			}
			ss_sse_set_range(s, p.fd, p.pos, p.len, &p.an.end,
					 p.an.up_to_date);
			ss_registry_touch(reg, r->id);
			continue;
		default:
			/* Rotation or removal: the stream just ends. */
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
	}
}

static void sse_free(void *cls)
{
	(void)cls; /* the request owns the state; freed on completion */
}

static enum MHD_Result start_sse(struct req *r)
{
	struct MHD_Response *resp;
	char cursor[32], offtxt[SS_OFFSET_STRMAX];

	r->ss = ss_xcalloc(1, sizeof(*r->ss));
	ss_sse_init(r->ss, &r->q.off, ss_mono_us(), cfg.sse_timeout_ms);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
						 sse_read, r, sse_free);
	MHD_add_response_header(resp, "content-type", "text/event-stream");
	MHD_add_response_header(resp, "connection", "keep-alive");
	/* A proxy in front (nginx) must pass events on as they come. */
	MHD_add_response_header(resp, "x-accel-buffering", "no");
	MHD_add_response_header(resp, "electric-handle", r->shape_handle);
	/* The client requires an offset; the stream starts at the request's
	 * and moves on with each up-to-date message. */
	MHD_add_response_header(resp, "electric-offset",
				ss_offset_format(&r->q.off, offtxt));
	next_cursor(r->q.cursor, cursor);
	MHD_add_response_header(resp, "electric-cursor", cursor);
	{
		char cc[64];

		snprintf(cc, sizeof(cc), "public, max-age=%" PRId64,
			 cfg.sse_timeout_ms / 1000 - 1 > 1
			     ? cfg.sse_timeout_ms / 1000 - 1
			     : 1);
		MHD_add_response_header(resp, "cache-control", cc);
	}
	r->deadline_us = 0;
	return queue(r, 200, resp);
}

/* ------------------------------------------------------------------ /v1/shape
 */

static int admit(struct req *r, enum MHD_Result *ret)
{
	int initial = r->q.handle == NULL;
	atomic_llong *ctr = initial ? &m_adm_initial : &m_adm_existing;
	int64_t limit = initial ? cfg.max_initial : cfg.max_existing;
	char msg[160], retry[8];

	if (atomic_fetch_add(ctr, 1) + 1 > limit) {
		atomic_fetch_sub(ctr, 1);
		ss_metrics_count_reject(&metrics, initial);
		snprintf(
		    msg, sizeof(msg),
		    "{\"code\":\"concurrent_request_limit_exceeded\","
		    "\"message\":\"Concurrent %s request limit exceeded (limit: %" PRId64
		    "), please retry\"}",
		    initial ? "initial" : "existing", limit);
		snprintf(retry, sizeof(retry), "%d",
			 5 + 1 + (int)(ss_mono_us() % 5));
		*ret = send_json(r, 503, msg, retry, 1);
		return -1;
	}
	r->admitted = initial ? ADM_INITIAL : ADM_EXISTING;
	return 0;
}

/* Find the shape for the request (reference 1.8 step 2). Returns 1 when
 * r's shape is set, 0 when a response was queued. */
static int resolve(struct req *r, enum MHD_Result *ret)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	int rc;

	if (r->q.handle) {
		ss_shape_rec_init(&rec);
		rc = ss_shape_handle_valid(r->q.handle, NULL)
			 ? ss_registry_get_by_handle(reg, r->q.handle, &rec,
						     &err)
			 : 0;
		if (rc < 0)
			goto fail;
		if (rc == 1 && !strcmp(rec.definition, r->q.canon.buf)) {
			r->id = rec.id;
			snprintf(r->shape_handle, sizeof(r->shape_handle), "%s",
				 rec.handle);
			ss_buf_reset(&r->dir);
			ss_datadir_shape_path(&r->dir, cfg.data_dir,
					      rec.handle);
			ss_live_lock(live);
			r->sh = ss_live_get_locked(live, rec.handle, rec.id);
			ss_live_unlock(live);
			ss_shape_rec_release(&rec);
			return 1;
		}
		ss_shape_rec_release(&rec);
		/* Handle unknown or of another definition: 409 with the
		 * definition's current shape, created if need be. */
		rc = get_or_create(r, &err);
		if (rc < 0)
			goto fail;
		*ret = send_must_refetch(r, rc ? r->shape_handle : NULL);
		return 0;
	}
	rc = get_or_create(r, &err);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		if (r->sh) {
			ss_live_put(live, r->sh);
			r->sh = NULL;
		}
		rc = get_or_create(r, &err);
		if (rc <= 0)
			goto fail;
	}
	return 1;
fail:
	ss_cli_warning("could not get or create a shape: %s", err.msg);
	*ret = send_message(r, 503, "Failed to create shape, please retry", "1",
			    0);
	return 0;
}

static enum MHD_Result answer_plan(struct req *r, int kind, struct plan *p)
{
	switch (kind) {
	case P_DATA:
		return send_data(r, p->fd, p->pos, p->len, &p->an);
	case P_REFETCH: {
		struct ss_err err = SS_ERR_INIT;

		/* The shape is gone: 409 with the definition's current
		 * shape, created if need be, as for an unknown handle. */
		if (r->sh) {
			ss_live_put(live, r->sh);
			r->sh = NULL;
		}
		if (get_or_create(r, &err) <= 0) {
			if (err.msg[0])
				ss_cli_warning(
				    "could not get or create a shape: %s",
				    err.msg);
			r->shape_handle[0] = '\0';
		}
		return send_must_refetch(r, r->shape_handle);
	}
	case P_FAILED: {
		char msg[sizeof(r->sh->fail_msg)];
		int known;

		ss_live_lock(live);
		known = r->sh->fail_status;
		memcpy(msg, r->sh->fail_msg, sizeof(msg));
		ss_live_unlock(live);
		if (known)
			return send_message(r, 503, msg, "10", 1);
		return send_message(
		    r, 503, "Failed to create shape, please retry", "1", 0);
	}
	case P_OOB: {
		return send_invalid(r, "offset",
				    "out of bounds for this shape");
	}
	case P_SNAP_TIMEOUT:
		return send_message(
		    r, 503, "Snapshot query took too long, please retry", "10",
		    1);
	default:
		return send_message(r, 500, "Unable to retrieve shape log",
				    NULL, 0);
	}
}

/* ------------------------------------------------------------------ subsets */

/* The POST body's subset fields (reference 1.9, lib/subset). Returns 0,
 * or -1 after queueing the error. */
static int subset_from_body(struct req *r, enum MHD_Result *ret)
{
	struct ss_buf e = SS_BUF_INIT;
	size_t len;
	const char *body = ss_server_req_body(r->sr, &len);
	unsigned st = ss_subset_from_body(body, len, &r->q, &e);

	if (st)
		*ret = send_json(r, st, e.buf, NULL, 0);
	ss_buf_release(&e);
	return st ? -1 : 0;
}

/* A subset snapshot: {"metadata":{..},"data":[rows]}. */
static enum MHD_Result handle_subset(struct req *r)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf body = SS_BUF_INIT;
	struct ss_subset sub;
	struct MHD_Response *resp;
	uint32_t mark =
	    (uint32_t)(ss_hash64(&r, sizeof(r)) ^ (uint64_t)ss_now_us()) &
	    0x7FFFFFFF;
	char offtxt[SS_OFFSET_STRMAX];
	enum MHD_Result ret;
	unsigned st;
	void *conn;
	int rc = -1;

	st = ss_subset_prepare(&r->q, &cfg.where_limits, &sub, &body);
	if (st) {
		ret = send_json(r, st, body.buf, NULL, 0);
		goto out;
	}
	conn = ss_pgq_get(pool, &err);
	if (conn) {
		rc = ss_subset_run(conn, &r->q, &sub, mark, &body, &err);
		ss_pgq_put(pool, conn);
	}
	if (rc < 0) {
		ss_cli_warning("subset snapshot of %s failed: %s",
			       r->shape_handle, err.msg);
		ret = send_message(
		    r, 503, "Unable to take the subset snapshot, please retry",
		    "1", 1);
		goto out;
	}
	resp = ss_http_buffer(body.buf, body.len);
	MHD_add_response_header(resp, "content-type", "application/json");
	MHD_add_response_header(resp, "cache-control", "no-cache");
	MHD_add_response_header(resp, "electric-snapshot", "true");
	MHD_add_response_header(resp, "electric-handle", r->shape_handle);
	/* The request's own offset: the client's place in the log stays. */
	MHD_add_response_header(resp, "electric-offset",
				ss_offset_format(&r->q.off, offtxt));
	add_schema_header(r, resp);
	ss_registry_touch(reg, r->id);
	ret = queue(r, 200, resp);
out:
	ss_subset_release(&sub);
	ss_buf_release(&body);
	return ret;
}

static enum MHD_Result handle_shape(struct req *r)
{
	enum MHD_Result ret = MHD_YES;
	struct plan p;
	int kind;

	if (atomic_load(&stopping))
		return send_message(r, 503, "Server is shutting down", "5", 1);
	if (!r->prepared) {
		struct ss_shapereq_args a;
		struct ss_shapereq_kv *kv;
		size_t nkv;

		kv = ss_server_req_args(r->sr, &nkv);
		ss_shapereq_args_collect(kv, nkv, &a);
		free(kv); /* a's strings are the connection's */
		if (prepare_shape_request(r, &a, 0, &ret) < 0)
			return ret;
		if (r->method == SS_HTTP_POST && subset_from_body(r, &ret) < 0)
			return ret;
		if (admit(r, &ret) < 0)
			return ret;
		if (!resolve(r, &ret))
			return ret;
		if (r->q.subset)
			return handle_subset(r);
		if (r->q.sse)
			return start_sse(r);
	}
	for (;;) {
		kind = plan(r, &p);
		if (kind == P_WAIT)
			return MHD_YES;
		if (kind != P_AGAIN)
			return answer_plan(r, kind, &p);
	}
}

/* DELETE /v1/shape (reference 1.11). */
static enum MHD_Result handle_delete(struct req *r)
{
	struct ss_shapereq_args a;
	struct ss_shapereq_kv *kv;
	struct ss_shape_rec rec;
	struct ss_err err = SS_ERR_INIT;
	enum MHD_Result ret = MHD_YES;
	struct ss_buf dir = SS_BUF_INIT;
	size_t nkv;
	int found = 0;

	if (!cfg.integration)
		return send_json(r, 405, "{\"message\":\"DELETE not allowed\"}",
				 NULL, 0);
	kv = ss_server_req_args(r->sr, &nkv);
	ss_shapereq_args_collect(kv, nkv, &a);
	free(kv); /* a's strings are the connection's */
	if (!ss_shapereq_authorized(&a, cfg.secret))
		return send_json(r, 401, SS_SHAPEREQ_UNAUTHORIZED, NULL, 0);
	ss_shape_rec_init(&rec);
	if (a.table && *a.table) {
		/* Validate the definition like a GET with offset -1. */
		if (!r->prepared && prepare_shape_request(r, &a, 1, &ret) < 0)
			return ret;
		found =
		    ss_registry_get_by_definition(reg, &r->q.def, &rec, &err);
		if (found == 1 && a.handle && strcmp(a.handle, rec.handle)) {
			ss_shape_rec_release(&rec);
			return send_message(
			    r, 400,
			    "The specified shape definition and handle "
			    "do not match. Please ensure the shape definition "
			    "is correct or omit the shape handle from the "
			    "request to obtain a new one.",
			    NULL, 0);
		}
	} else if (a.handle && *a.handle) {
		found =
		    ss_shape_handle_valid(a.handle, NULL)
			? ss_registry_get_by_handle(reg, a.handle, &rec, &err)
			: 0;
	} else {
		return send_invalid(r, "handle",
				    "can't be blank when shape definition is "
				    "missing");
	}
	if (found < 0)
		return send_message(r, 503, "Database is unreachable", "10", 0);
	if (found == 0)
		return send_message(r, 404, "No existing shape found", NULL, 0);
	ss_registry_remove(reg, rec.id, &err);
	ss_registry_flush(reg, &err);
	ss_datadir_shape_path(&dir, cfg.data_dir, rec.handle);
	if (ss_datadir_trash(cfg.data_dir, dir.buf, &err) < 0)
		ss_cli_warning("%s", err.msg);
	ss_live_removed(live, rec.handle);
	ss_buf_release(&dir);
	ss_shape_rec_release(&rec);
	return ss_server_send_text(r->sr, 202, "", "application/json");
}

static enum MHD_Result handle_options(struct ss_server_req *sr, void *ctx)
{
	struct MHD_Response *resp = ss_http_buffer("", 0);
	const char *allow = ss_http_preflight_allow(
	    ss_server_req_header(sr, "access-control-request-headers"));

	(void)ctx;
	if (allow)
		MHD_add_response_header(resp, "access-control-allow-headers",
					allow);
	MHD_add_response_header(resp, "access-control-max-age", "86400");
	MHD_add_response_header(resp, "connection", "keep-alive");
	return ss_server_queue(sr, 204, resp);
}

static enum MHD_Result handle_metrics(struct ss_server_req *sr, void *ctx)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_registry_stats st;
	struct ss_metrics_scrape sc;
	struct ss_heartbeat *hb = NULL;
	size_t nhb = 0;
	struct ss_err err = SS_ERR_INIT;
	enum MHD_Result ret;

	(void)ctx;
	memset(&sc, 0, sizeof(sc));
	ss_registry_connections(reg, &st);
	sc.serve_connections = st.read_connections + st.write_connection;
	if (ss_registry_stats(reg, &st, &err) < 0)
		st.shapes = -1;
	if (ss_registry_count_active(reg, &sc.active_shapes, &err) < 0)
		sc.active_shapes = -1;
	ss_registry_heartbeats(reg, &hb, &nhb, &err);
	sc.shapes = st.shapes;
	sc.acquire_initial = atomic_load(&m_adm_initial);
	sc.acquire_existing = atomic_load(&m_adm_existing);
	sc.hb = hb;
	sc.nhb = nhb;
	sc.now_us = ss_now_us();
	sc.since_us = started_us;
	sc.stale_us = SS_HEALTH_STALE_MS * 1000LL;
	sc.serve_rss = ss_health_rss();
	sc.has_serve = 1;
	sc.pending_writes = st.pending_writes;
	sc.waiting = (int64_t)ss_live_waiting(live);
	sc.created = atomic_load(&m_shapes_created);
	sc.evicted = atomic_load(&m_evicted);
	sc.body_bytes = atomic_load(&m_bytes_sent);
	sc.touches_dropped = st.touches_dropped;
	ss_metrics_render(&metrics, &sc, &b);
	free(hb);
	ret = ss_server_send_text(sr, 200, b.buf, "text/plain; version=0.0.4");
	ss_buf_release(&b);
	return ret;
}

/* Electric's /v1/health, from the stages' heartbeats (lib/health). */
static enum MHD_Result handle_health(struct ss_server_req *sr, void *ctx)
{
	struct ss_heartbeat *hb = NULL;
	size_t nhb = 0;
	struct ss_err err = SS_ERR_INIT;
	enum ss_health_status status = SS_HEALTH_WAITING;
	struct MHD_Response *resp;
	char body[64];

	(void)ctx;
	if (ss_registry_heartbeats(reg, &hb, &nhb, &err) == 0)
		status = ss_health_eval(hb, nhb, ss_now_us(), started_us,
					SS_HEALTH_STALE_MS * 1000LL, NULL);
	free(hb);
	snprintf(body, sizeof(body), "{\"status\":\"%s\"}",
		 ss_health_status_name(status));
	resp = ss_http_buffer(body, strlen(body));
	MHD_add_response_header(resp, "content-type", "application/json");
	MHD_add_response_header(resp, "cache-control",
				"no-cache, no-store, must-revalidate");
	return ss_server_queue(sr, status == SS_HEALTH_ACTIVE ? 200 : 202,
			       resp);
}

static enum MHD_Result handle_root(struct ss_server_req *sr, void *ctx)
{
	(void)ctx;
	return ss_server_send_text(sr, 200, "", "text/plain");
}

static enum MHD_Result handle_not_found(struct ss_server_req *sr, void *ctx)
{
	(void)ctx;
	return ss_server_send_text(sr, 404, "Not found", "text/plain");
}

/* Operators' counters are not for the public port unless asked for. */
static enum MHD_Result handle_public_metrics(struct ss_server_req *sr,
					     void *ctx)
{
	return cfg.public_metrics ? handle_metrics(sr, ctx)
				  : handle_not_found(sr, ctx);
}

static void req_free(void *data)
{
	struct req *r = data;

	ss_live_lock(live);
	if (r->w.active)
		ss_live_fire_locked(live, &r->w);
	if (r->sh) {
		if (r->watching)
			ss_live_unwatch_locked(live, r->sh);
		ss_live_put_locked(live, r->sh);
	}
	ss_live_unlock(live);
	if (r->admitted == ADM_INITIAL)
		atomic_fetch_sub(&m_adm_initial, 1);
	else if (r->admitted == ADM_EXISTING)
		atomic_fetch_sub(&m_adm_existing, 1);
	if (r->ss) {
		ss_sse_release(r->ss);
		free(r->ss);
	}
	ss_buf_release(&r->dir);
	ss_shapereq_release(&r->q);
	free(r);
}

/* The /v1/shape state of a server request, made at its first use. */
static struct req *req_of(struct ss_server_req *sr)
{
	struct req *r = ss_server_req_data(sr);

	if (r)
		return r;
	r = ss_xcalloc(1, sizeof(*r));
	r->sr = sr;
	r->method = ss_server_req_method(sr);
	ss_shapereq_init(&r->q);
	ss_buf_init(&r->dir);
	ss_server_req_set_data(sr, r, req_free);
	return r;
}

static enum MHD_Result on_shape(struct ss_server_req *sr, void *ctx)
{
	(void)ctx;
	return handle_shape(req_of(sr));
}

static enum MHD_Result on_delete(struct ss_server_req *sr, void *ctx)
{
	(void)ctx;
	return handle_delete(req_of(sr));
}

/* A POST carries subset fields in its body. */
static enum MHD_Result on_post(struct ss_server_req *sr, void *ctx)
{
	struct req *r = req_of(sr);

	(void)ctx;
	if (ss_server_req_body_too_large(sr))
		return send_json(
		    r, 413, "{\"error\":\"Request body too large\"}", NULL, 0);
	return handle_shape(r);
}

static const struct ss_server_route routes[] = {
    {SS_HTTP_ROOT, SS_HTTP_GET, handle_root},
    {SS_HTTP_ROOT, SS_HTTP_HEAD, handle_root},
    {SS_HTTP_HEALTH, SS_HTTP_GET, handle_health},
    {SS_HTTP_HEALTH, SS_HTTP_HEAD, handle_health},
    {SS_HTTP_METRICS, SS_HTTP_GET, handle_public_metrics},
    {SS_HTTP_METRICS, SS_HTTP_HEAD, handle_public_metrics},
    {SS_HTTP_SHAPE, SS_HTTP_OPTIONS, handle_options},
    {SS_HTTP_SHAPE, SS_HTTP_DELETE, on_delete},
    {SS_HTTP_SHAPE, SS_HTTP_GET, on_shape},
    {SS_HTTP_SHAPE, SS_HTTP_HEAD, on_shape},
    {SS_HTTP_SHAPE, SS_HTTP_POST, on_post},
};

/* The metrics port, when separate, serves only /metrics. */
static const struct ss_server_route metrics_routes[] = {
    {SS_HTTP_METRICS, SS_HTTP_GET, handle_metrics},
    {SS_HTTP_METRICS, SS_HTTP_HEAD, handle_metrics},
};

/* Every /v1/shape request but a preflight has its arguments' bytes
 * checked first, whatever its method. */
static enum MHD_Result check_args(struct ss_server_req *sr, void *ctx)
{
	struct ss_shapereq_error e;
	struct ss_shapereq_kv *kv;
	enum MHD_Result ret = MHD_YES;
	size_t nkv;
	unsigned status;

	(void)ctx;
	if (ss_server_req_route(sr) != SS_HTTP_SHAPE ||
	    ss_server_req_method(sr) == SS_HTTP_OPTIONS)
		return MHD_YES;
	ss_shapereq_error_init(&e);
	kv = ss_server_req_args(sr, &nkv);
	status = ss_shapereq_check_bytes(kv, nkv, &e);
	free(kv);
	if (status)
		ret = ss_server_send_json(sr, status, e.body.buf, NULL, 0, 0);
	ss_shapereq_error_release(&e);
	return ret;
}

static void answered(void *ctx, const struct ss_server_req *sr, unsigned status)
{
	(void)ctx;
	if (ss_server_req_route(sr) == SS_HTTP_SHAPE)
		ss_metrics_count_status(&metrics, (int)status);
}

static void server_warn(void *ctx, const char *msg)
{
	(void)ctx;
	ss_cli_warning("%s", msg);
}

static void server_tick(void *ctx)
{
	(void)ctx;
	if (cfg.db_idle_ms)
		ss_pgq_pool_expire(pool, cfg.db_idle_ms * 1000, ss_mono_us());
}

/* ------------------------------------------------------------------ eviction
 */

static void evicted(void *ctx, const char *handle)
{
	(void)ctx;
	atomic_fetch_add(&m_evicted, 1);
	ss_live_removed(live, handle);
}

static void evict_once(void)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_evict_once(reg, cfg.data_dir, cfg.max_shapes, evicted, NULL,
			  &err) < 0)
		ss_cli_warning("eviction: %s", err.msg);
}

static void *evict_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&stopping)) {
		int i;

		evict_once();
		for (i = 0; i < 10 && !atomic_load(&stopping); i++)
			usleep(100000);
	}
	return NULL;
}

/* ------------------------------------------------------------------ main */

enum {
	OPT_LIST_OPTIONS = 256,
	OPT_REGISTRY,
	OPT_DIR,
	OPT_DATABASE_URL,
	OPT_PORT,
	OPT_BIND,
	OPT_SECRET,
	OPT_INSECURE,
	OPT_PUBLICATION,
	OPT_LONG_POLL,
	OPT_SSE_TIMEOUT,
	OPT_KEEPALIVE,
	OPT_MAX_AGE,
	OPT_STALE_AGE,
	OPT_CHUNK,
	OPT_MAX_SHAPES,
	OPT_MAX_INITIAL,
	OPT_MAX_EXISTING,
	OPT_MAX_CONN,
	OPT_THREADS,
	OPT_POOL,
	OPT_METRICS_PORT,
	OPT_ACTIVE_TIMEOUT,
	OPT_NO_ACTIVE_WAIT,
	OPT_INTEGRATION,
	OPT_CONN_TIMEOUT,
	OPT_MAX_BODY,
	OPT_MAX_HEADER,
	OPT_CREATE_TIMEOUT,
	OPT_MAX_WHERE_LENGTH,
	OPT_MAX_IN_LIST,
	OPT_MAX_WHERE_COST,
	OPT_PUBLIC_METRICS,
	OPT_REQUEST_TIMEOUT,
	OPT_DB_IDLE,
};

static const struct option options[] = {
    {"registry", required_argument, NULL, OPT_REGISTRY},
    {"dir", required_argument, NULL, OPT_DIR},
    {"database-url", required_argument, NULL, OPT_DATABASE_URL},
    {"db", required_argument, NULL, OPT_DATABASE_URL},
    {"port", required_argument, NULL, OPT_PORT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"publication", required_argument, NULL, OPT_PUBLICATION},
    {"long-poll-timeout", required_argument, NULL, OPT_LONG_POLL},
    {"sse-timeout", required_argument, NULL, OPT_SSE_TIMEOUT},
    {"keepalive-interval", required_argument, NULL, OPT_KEEPALIVE},
    {"cache-max-age", required_argument, NULL, OPT_MAX_AGE},
    {"cache-stale-age", required_argument, NULL, OPT_STALE_AGE},
    {"chunk-bytes", required_argument, NULL, OPT_CHUNK},
    {"max-shapes", required_argument, NULL, OPT_MAX_SHAPES},
    {"max-initial-requests", required_argument, NULL, OPT_MAX_INITIAL},
    {"max-existing-requests", required_argument, NULL, OPT_MAX_EXISTING},
    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"db-pool-size", required_argument, NULL, OPT_POOL},
    {"db-idle-timeout", required_argument, NULL, OPT_DB_IDLE},
    {"metrics-port", required_argument, NULL, OPT_METRICS_PORT},
    {"public-metrics", no_argument, NULL, OPT_PUBLIC_METRICS},
    {"active-timeout", required_argument, NULL, OPT_ACTIVE_TIMEOUT},
    {"no-active-wait", no_argument, NULL, OPT_NO_ACTIVE_WAIT},
    {"snapshot-timeout", required_argument, NULL, OPT_CREATE_TIMEOUT},
    {"enable-delete", no_argument, NULL, OPT_INTEGRATION},
    {"idle-timeout", required_argument, NULL, OPT_CONN_TIMEOUT},
    {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
    {"max-body", required_argument, NULL, OPT_MAX_BODY},
    {"max-header", required_argument, NULL, OPT_MAX_HEADER},
    {"max-where-length", required_argument, NULL, OPT_MAX_WHERE_LENGTH},
    {"max-in-list", required_argument, NULL, OPT_MAX_IN_LIST},
    {"max-where-cost", required_argument, NULL, OPT_MAX_WHERE_COST},
    SS_CLI_LOG_OPTIONS,
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"list-options", no_argument, NULL, OPT_LIST_OPTIONS},
    {NULL, 0, NULL, 0},
};

static void usage(void)
{
	printf(
	    "Usage: shapesync-serve [options]\n"
	    "\n"
	    "Serves the ElectricSQL HTTP Shape API (/v1/shape) from a shapesync data dir.\n"
	    "\n"
	    "Connections:\n"
	    "  --database-url URL         PostgreSQL (default: $ELECTRIC_QUERY_DATABASE_URL,\n"
	    "                             else $DATABASE_URL)\n"
	    "  --db URL                   the same, as shapesync-replicate spells it\n"
	    "  --registry PATH            registry (default: $SHAPESYNC_REGISTRY, else\n"
	    "                             " DEFAULT_REGISTRY ")\n"
	    "  --dir DATADIR              data dir (default: $SHAPESYNC_DATA_DIR, else\n"
	    "                             $ELECTRIC_STORAGE_DIR, else " DEFAULT_DATA_DIR
	    ")\n"
	    "  --publication NAME         publication for shape tables (shapesync;\n"
	    "                             $ELECTRIC_REPLICATION_STREAM_ID: its Electric\n"
	    "                             name)\n"
	    "\n"
	    "HTTP:\n"
	    "  --port N                   port ($ELECTRIC_PORT, else 3000)\n"
	    "  --bind ADDR                IPv4 or IPv6 address to listen on (127.0.0.1;\n"
	    "                             ::1 with $ELECTRIC_LISTEN_ON_IPV6=true)\n"
	    "  --metrics-port N           serve /metrics on its own port\n"
	    "                             ($ELECTRIC_PROMETHEUS_PORT, else 0: none)\n"
	    "  --public-metrics           serve /metrics on --port too (else 404 there)\n"
	    "  --secret S                 API secret ($ELECTRIC_SECRET)\n"
	    "  --insecure                 no secret ($ELECTRIC_INSECURE=true)\n"
	    "  --enable-delete            allow DELETE /v1/shape\n"
	    "                             ($ELECTRIC_ENABLE_INTEGRATION_TESTING=true)\n"
	    "  --threads N                HTTP threads (number of CPUs)\n"
	    "  --max-connections N        open connections at most (20000)\n"
	    "  --max-initial-requests N   concurrent requests without handle (300)\n"
	    "  --max-existing-requests N  concurrent requests with a handle (10000;\n"
	    "                             both: $ELECTRIC_MAX_CONCURRENT_REQUESTS)\n"
	    "  --idle-timeout SECS        close idle connections after this (60;\n"
	    "                             $ELECTRIC_TCP_READ/SEND_TIMEOUT)\n"
	    "  --request-timeout SECS     a new connection's request must have arrived\n"
	    "                             whole by then, trickling or not (30)\n"
	    "  --max-header SIZE          request line and headers at most (32KiB)\n"
	    "  --max-body SIZE            POST body at most (64KiB)\n"
	    "\n"
	    "Shapes:\n"
	    "  --long-poll-timeout MS     live request wait ($ELECTRIC_LONG_POLL_TIMEOUT,\n"
	    "                             20000)\n"
	    "  --sse-timeout MS           SSE stream length (60000)\n"
	    "  --keepalive-interval MS    SSE keep-alive after silence (21000)\n"
	    "  --cache-max-age SECS       max-age ($ELECTRIC_CACHE_MAX_AGE, 60)\n"
	    "  --cache-stale-age SECS     stale-while-revalidate\n"
	    "                             ($ELECTRIC_CACHE_STALE_AGE, 300)\n"
	    "  --chunk-bytes SIZE         snapshot chunk size\n"
	    "                             ($ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD, 10MiB)\n"
	    "  --max-shapes N             evict least recently read shapes above N\n"
	    "                             ($ELECTRIC_MAX_SHAPES, 0: never)\n"
	    "  --db-pool-size N           PostgreSQL connections at most\n"
	    "                             ($ELECTRIC_DB_POOL_SIZE, else 8)\n"
	    "  --db-idle-timeout TIME     close a PostgreSQL connection unused for TIME\n"
	    "                             ($ELECTRIC_REPLICATION_IDLE_TIMEOUT, 0: never)\n"
	    "  --active-timeout MS        wait for route's mark of a new shape (10000)\n"
	    "  --no-active-wait           do not wait for route (tests without route)\n"
	    "  --snapshot-timeout MS      wait for a snapshot chunk at most (60000)\n"
	    "  --max-where-length BYTES   where clause text at most (65536)\n"
	    "  --max-in-list N            items in one IN list at most (10000)\n"
	    "  --max-where-cost N         work units to compile or evaluate a where\n"
	    "                             clause at most (10000000)\n"
	    "\n"
	    "Other:\n"
	    "      --log-format FMT       text or json ($SHAPESYNC_LOG_FORMAT, text)\n"
	    "      --log-level LEVEL      debug, info, warning or error\n"
	    "                             ($ELECTRIC_LOG_LEVEL, info)\n"
	    "  -h, --help                 show this help and exit\n"
	    "  -V, --version              show the version and exit\n"
	    "\n"
	    "See shapesync-serve(1).\n");
}

static void on_signal(int sig)
{
	(void)sig;
	stop_signal = 1;
}

static int64_t env_int(const char *name, int64_t def, int64_t min, int64_t max)
{
	const char *v = getenv(name);
	struct ss_err err = SS_ERR_INIT;
	int64_t out;

	if (!v || !*v)
		return def;
	if (ss_parse_i64(v, min, max, &out, name, &err) < 0)
		ss_cli_usage_error("invalid $%s '%s': %s", name, v, err.msg);
	return out;
}

static int64_t env_time_s(const char *name, int64_t def)
{
	const char *v = ss_cli_env_or(name, NULL);
	struct ss_err err = SS_ERR_INIT;
	int64_t ms;

	if (!v)
		return def;
	if (ss_envconf_time_ms(name, v, 0, &ms, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
	/* libmicrohttpd counts whole seconds: round up, at least 1. */
	ms = (ms + 999) / 1000;
	if (ms > 86400)
		ss_cli_usage_error("invalid $%s '%s': at most 24 hours", name,
				   v);
	return ms;
}

/* Electric's settings that have no shapesync name of their own (see
 * shapesync-serve(1), ENVIRONMENT); options given later win. */
static void electric_env(void)
{
	static char slot[SS_ENVCONF_NAME_MAX], pub[SS_ENVCONF_NAME_MAX];
	struct ss_err err = SS_ERR_INIT;
	const char *v;
	int b;

	v = ss_cli_env_or("ELECTRIC_MAX_CONCURRENT_REQUESTS", NULL);
	if (v && ss_envconf_max_concurrent("ELECTRIC_MAX_CONCURRENT_REQUESTS",
					   v, &cfg.max_initial,
					   &cfg.max_existing, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
	cfg.pool_size =
	    (int)env_int("ELECTRIC_DB_POOL_SIZE", cfg.pool_size, 1, 1000);
	/* Scale to zero: replicate sleeps, and the pool lets go too. */
	v = ss_cli_env_or("ELECTRIC_REPLICATION_IDLE_TIMEOUT", NULL);
	if (v && ss_envconf_time_ms("ELECTRIC_REPLICATION_IDLE_TIMEOUT", v, 1,
				    &cfg.db_idle_ms, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
	cfg.metrics_port =
	    (int)env_int("ELECTRIC_PROMETHEUS_PORT", 0, 0, 65535);
	/* The query URL, by its new name, then its old one. */
	cfg.database_url = ss_cli_env_or(
	    "ELECTRIC_QUERY_DATABASE_URL",
	    ss_cli_env_or("ELECTRIC_POOLED_DATABASE_URL", cfg.database_url));
	{
		/* libmicrohttpd has one inactivity timeout for both ways. */
		int64_t rd =
		    env_time_s("ELECTRIC_TCP_READ_TIMEOUT", cfg.conn_timeout_s);
		int64_t wr =
		    env_time_s("ELECTRIC_TCP_SEND_TIMEOUT", cfg.conn_timeout_s);

		cfg.conn_timeout_s = rd < wr ? rd : wr;
	}
	v = ss_cli_env_or("ELECTRIC_REPLICATION_STREAM_ID", NULL);
	if (v) {
		if (ss_envconf_stream_names("ELECTRIC_REPLICATION_STREAM_ID", v,
					    slot, pub, &err) < 0)
			ss_cli_usage_error("%s", err.msg);
		cfg.publication = pub;
	}
	v = ss_cli_env_or("ELECTRIC_LISTEN_ON_IPV6", NULL);
	if (v) {
		if (ss_envconf_bool("ELECTRIC_LISTEN_ON_IPV6", v, &b, &err) < 0)
			ss_cli_usage_error("%s", err.msg);
		if (b)
			cfg.bind = "::1";
	}
	v = ss_cli_env_or("ELECTRIC_MANUAL_TABLE_PUBLISHING", NULL);
	if (v && ss_envconf_bool("ELECTRIC_MANUAL_TABLE_PUBLISHING", v,
				 &cfg.manual_publishing, &err) < 0)
		ss_cli_usage_error("%s", err.msg);
}

int main(int argc, char **argv)
{
	struct ss_registry_opts ro;
	struct ss_err err = SS_ERR_INIT;
	struct sockaddr_storage addr, maddr;
	unsigned ipflags;
	struct ss_server *d, *md = NULL;
	struct ss_server_cfg sc;
	pthread_t waker, evictor;
	struct sigaction sa;
	sigset_t mask, stopset;
	const char *secret_env;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int c, have_evictor = 0, max_conn_given = 0;

	ss_cli_init("shapesync-serve");
	started_us = ss_now_us();
	cfg.database_url = ss_cli_env_or("DATABASE_URL", NULL);
	cfg.registry = ss_cli_env_or("SHAPESYNC_REGISTRY", DEFAULT_REGISTRY);
	cfg.data_dir = ss_cli_env_or(
	    "SHAPESYNC_DATA_DIR",
	    ss_cli_env_or("ELECTRIC_STORAGE_DIR", DEFAULT_DATA_DIR));
	cfg.publication = "shapesync";
	cfg.bind = "127.0.0.1";
	cfg.port = (int)env_int("ELECTRIC_PORT", 3000, 0, 65535);
	secret_env = ss_cli_env_or("ELECTRIC_SECRET", NULL);
	cfg.secret = secret_env;
	cfg.insecure = env_bool("ELECTRIC_INSECURE");
	cfg.long_poll_ms =
	    env_int("ELECTRIC_LONG_POLL_TIMEOUT", 20000, 0, 3600000);
	cfg.sse_timeout_ms = 60000;
	cfg.keepalive_ms = 21000;
	cfg.cache_max_age = env_int("ELECTRIC_CACHE_MAX_AGE", 60, 0, INT32_MAX);
	cfg.cache_stale_age =
	    env_int("ELECTRIC_CACHE_STALE_AGE", 300, 0, INT32_MAX);
	cfg.chunk_bytes = (uint64_t)env_int(
	    "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD",
	    (int64_t)SS_LOG_CHUNK_BYTES_DEFAULT, 1, INT64_MAX);
	cfg.max_shapes = env_int("ELECTRIC_MAX_SHAPES", 0, 0, INT64_MAX);
	cfg.integration = env_bool("ELECTRIC_ENABLE_INTEGRATION_TESTING");
	cfg.max_initial = 300;
	cfg.max_existing = 10000;
	cfg.max_connections = 20000;
	cfg.threads = ncpu > 0 ? (int)ncpu : 2;
	cfg.pool_size = 8;
	cfg.active_timeout_ms = 10000;
	cfg.create_timeout_ms = 60000;
	cfg.conn_timeout_s = 60;
	cfg.request_timeout_s = 30;
	cfg.max_body = 64 * 1024;
	cfg.max_header = 32 * 1024;
	ss_where_limits_default(&cfg.where_limits);
	cfg.test_fail_thread_start =
	    env_int("SHAPESYNC_TEST_FAIL_THREAD_START", 0, 0, INT64_MAX);
	electric_env();

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", options, NULL)) != -1) {
		switch (c) {
		case OPT_REGISTRY:
			cfg.registry = optarg;
			break;
		case OPT_DIR:
			cfg.data_dir = optarg;
			break;
		case OPT_DATABASE_URL:
			cfg.database_url = optarg;
			break;
		case OPT_PORT:
			cfg.port =
			    (int)ss_cli_opt_int(optarg, 0, 65535, "--port");
			break;
		case OPT_BIND:
			cfg.bind = optarg;
			break;
		case OPT_SECRET:
			cfg.secret = optarg;
			break;
		case OPT_INSECURE:
			cfg.insecure = 1;
			break;
		case OPT_PUBLICATION:
			cfg.publication = optarg;
			break;
		case OPT_LONG_POLL:
			cfg.long_poll_ms = ss_cli_opt_duration_ms(
			    optarg, "--long-poll-timeout");
			break;
		case OPT_SSE_TIMEOUT:
			cfg.sse_timeout_ms =
			    ss_cli_opt_duration_ms(optarg, "--sse-timeout");
			break;
		case OPT_KEEPALIVE:
			cfg.keepalive_ms = ss_cli_opt_duration_ms(
			    optarg, "--keepalive-interval");
			break;
		case OPT_MAX_AGE:
			cfg.cache_max_age = ss_cli_opt_int(optarg, 0, INT32_MAX,
							   "--cache-max-age");
			break;
		case OPT_STALE_AGE:
			cfg.cache_stale_age = ss_cli_opt_int(
			    optarg, 0, INT32_MAX, "--cache-stale-age");
			break;
		case OPT_CHUNK:
			cfg.chunk_bytes =
			    ss_cli_opt_size(optarg, "--chunk-bytes");
			break;
		case OPT_MAX_SHAPES:
			cfg.max_shapes = ss_cli_opt_int(optarg, 0, INT64_MAX,
							"--max-shapes");
			break;
		case OPT_MAX_INITIAL:
			cfg.max_initial = ss_cli_opt_int(
			    optarg, 1, INT32_MAX, "--max-initial-requests");
			break;
		case OPT_MAX_EXISTING:
			cfg.max_existing = ss_cli_opt_int(
			    optarg, 1, INT32_MAX, "--max-existing-requests");
			break;
		case OPT_MAX_CONN:
			cfg.max_connections = ss_cli_opt_int(
			    optarg, 1, 1000000, "--max-connections");
			max_conn_given = 1;
			break;
		case OPT_THREADS:
			cfg.threads =
			    (int)ss_cli_opt_int(optarg, 1, 1024, "--threads");
			break;
		case OPT_POOL:
			cfg.pool_size = (int)ss_cli_opt_int(optarg, 1, 1000,
							    "--db-pool-size");
			break;
		case OPT_DB_IDLE: {
			struct ss_err terr = SS_ERR_INIT;

			if (ss_envconf_time_ms("--db-idle-timeout", optarg, 1,
					       &cfg.db_idle_ms, &terr) < 0)
				ss_cli_usage_error("%s", terr.msg);
			break;
		}
		case OPT_METRICS_PORT:
			cfg.metrics_port = (int)ss_cli_opt_int(
			    optarg, 0, 65535, "--metrics-port");
			break;
		case OPT_PUBLIC_METRICS:
			cfg.public_metrics = 1;
			break;
		case OPT_ACTIVE_TIMEOUT:
			cfg.active_timeout_ms =
			    ss_cli_opt_duration_ms(optarg, "--active-timeout");
			break;
		case OPT_NO_ACTIVE_WAIT:
			cfg.no_active_wait = 1;
			break;
		case OPT_CREATE_TIMEOUT:
			cfg.create_timeout_ms = ss_cli_opt_duration_ms(
			    optarg, "--snapshot-timeout");
			break;
		case OPT_INTEGRATION:
			cfg.integration = 1;
			break;
		case OPT_CONN_TIMEOUT:
			cfg.conn_timeout_s =
			    ss_cli_opt_int(optarg, 1, 86400, "--idle-timeout");
			break;
		case OPT_REQUEST_TIMEOUT:
			cfg.request_timeout_s = ss_cli_opt_int(
			    optarg, 1, 86400, "--request-timeout");
			break;
		case OPT_MAX_BODY:
			cfg.max_body = ss_cli_opt_size(optarg, "--max-body");
			break;
		case OPT_MAX_HEADER:
			cfg.max_header =
			    ss_cli_opt_size(optarg, "--max-header");
			if (cfg.max_header < 4096 || cfg.max_header > 16 << 20)
				ss_cli_usage_error(
				    "option '--max-header' must be between "
				    "4KiB and 16MiB");
			break;
		/* route holds every clause to lib/where's defaults: serve
		 * may be stricter, never looser */
		case OPT_MAX_WHERE_LENGTH:
			cfg.where_limits.max_length = (size_t)ss_cli_opt_int(
			    optarg, 1, SS_WHERE_MAX_LENGTH,
			    "--max-where-length");
			break;
		case OPT_MAX_IN_LIST:
			cfg.where_limits.max_in = (size_t)ss_cli_opt_int(
			    optarg, 1, SS_WHERE_MAX_IN, "--max-in-list");
			break;
		case OPT_MAX_WHERE_COST:
			cfg.where_limits.max_cost = (uint64_t)ss_cli_opt_int(
			    optarg, 1000, SS_WHERE_MAX_COST,
			    "--max-where-cost");
			break;
		default:
			ss_cli_common_option(c, OPT_LIST_OPTIONS, usage,
					     options, argv);
		}
	}
	if (optind < argc)
		ss_cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg.secret && !*cfg.secret)
		cfg.secret = NULL;
	if (cfg.secret && cfg.insecure)
		ss_cli_usage_error("both a secret and --insecure given");
	if (!cfg.secret && !cfg.insecure)
		ss_cli_usage_error(
		    "no API secret: give --secret (or $ELECTRIC_SECRET), "
		    "or --insecure (or $ELECTRIC_INSECURE=true)");
	if (!cfg.database_url || !*cfg.database_url)
		ss_cli_usage_error(
		    "no database: give --database-url or $DATABASE_URL");
	if (!*cfg.registry || !*cfg.data_dir || !*cfg.publication)
		ss_cli_usage_error(
		    "--registry, --dir and --publication need a value");
	if (cfg.long_poll_ms < 0 || cfg.sse_timeout_ms < 1000 ||
	    cfg.keepalive_ms < 100)
		ss_cli_usage_error("timeouts out of range");
	if (!ss_sockaddr_parse(cfg.bind, cfg.port, &addr))
		ss_cli_usage_error("invalid --bind address '%s'", cfg.bind);
	/* "::" takes IPv4 clients too (dual stack). */
	ipflags = addr.ss_family != AF_INET6
		      ? 0
		      : MHD_USE_IPv6 |
			    (strcmp(cfg.bind, "::") ? 0 : MHD_USE_DUAL_STACK);

	{
		/* Every connection is a descriptor: take the hard limit. */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY &&
		    ss_connguard_fd_cap((int64_t)rl.rlim_cur,
					cfg.max_connections) <
			cfg.max_connections) {
			int64_t n = ss_connguard_fd_cap((int64_t)rl.rlim_cur,
							cfg.max_connections);

			if (max_conn_given)
				ss_cli_warning("--max-connections %" PRId64
					       " is more than "
					       "the descriptor limit (%" PRId64
					       ") allows: "
					       "using %" PRId64,
					       cfg.max_connections,
					       (int64_t)rl.rlim_cur, n);
			cfg.max_connections = n;
		}
	}
	ss_registry_opts_init(&ro);
	if (ss_registry_open_existing(cfg.registry, &ro, &reg, &err) < 0)
		ss_cli_die_err(&err);
	if (ss_datadir_init(cfg.data_dir, &err) < 0)
		ss_cli_die_err(&err);
	pool = ss_pgq_pool_new(cfg.database_url, cfg.pool_size, 5);
	tables = ss_tablecache_new(describe_pg, NULL, TABLE_CACHE_US, 256);
	live = ss_live_open(&err);
	if (!live)
		ss_cli_die_err(&err);
	{
		struct ss_create_cfg cc = {
		    reg,
		    pool,
		    live,
		    cfg.data_dir,
		    cfg.publication,
		    cfg.chunk_bytes,
		    cfg.pool_size,
		    cfg.manual_publishing,
		    cfg.no_active_wait,
		    cfg.active_timeout_ms,
		    &stopping,
		    &m_shapes_created,
		    warn_cb,
		    NULL,
		    cfg.test_fail_thread_start,
		};

		creator = ss_create_new(&cc);
	}
	if (ss_create_remove_stale(creator, &err) < 0)
		ss_cli_die_err(&err);
	if ((errno = ss_thread_start(&waker, NULL, waker_main, NULL)) != 0)
		ss_cli_die("could not start a thread: %s", strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* libmicrohttpd's threads inherit this mask: only main takes
	 * SIGINT/SIGTERM (see ss_signals_block). */
	ss_signals_block(&mask);
	memset(&sc, 0, sizeof(sc));
	sc.addr = (struct sockaddr *)&addr;
	sc.port = cfg.port;
	sc.ipflags = ipflags;
	sc.threads = cfg.threads;
	sc.max_connections = cfg.max_connections;
	sc.conn_timeout_s = cfg.conn_timeout_s;
	sc.request_timeout_s = cfg.request_timeout_s;
	sc.max_header = cfg.max_header;
	sc.max_body = cfg.max_body;
	sc.max_args = MAX_QUERY_ARGS;
	sc.routes = routes;
	sc.nroutes = sizeof(routes) / sizeof(routes[0]);
	sc.not_found = handle_not_found;
	sc.check = check_args;
	sc.answered = answered;
	sc.warn = server_warn;
	sc.tick = server_tick;
	d = ss_server_start(&sc, &err);
	if (!d && strncmp(err.msg, "could not listen", 16))
		ss_cli_die_err(&err);
	if (!d) {
		c = errno;
		ss_signals_restore(&mask);
		ss_cli_die("could not listen on %s%s%s:%d: %s",
			   ipflags ? "[" : "", cfg.bind, ipflags ? "]" : "",
			   cfg.port, strerror(c));
	}
	if (cfg.metrics_port) {
		ss_sockaddr_parse(cfg.bind, cfg.metrics_port, &maddr);
		sc.plain = 1;
		sc.addr = (struct sockaddr *)&maddr;
		sc.port = cfg.metrics_port;
		sc.routes = metrics_routes;
		sc.nroutes = sizeof(metrics_routes) / sizeof(metrics_routes[0]);
		sc.check = NULL;
		md = ss_server_start(&sc, &err);
		if (!md) {
			c = errno;
			ss_signals_restore(&mask);
			ss_cli_die("could not listen on %s%s%s:%d: %s",
				   ipflags ? "[" : "", cfg.bind,
				   ipflags ? "]" : "", cfg.metrics_port,
				   strerror(c));
		}
	}
	ss_signals_restore(&mask);
	if (cfg.max_shapes > 0) {
		if ((errno = ss_thread_start(&evictor, NULL, evict_main,
					     NULL)) != 0)
			ss_cli_die("could not start a thread: %s",
				   strerror(errno));
		have_evictor = 1;
	}
	ss_cli_info("listening on http://%s%s%s:%u", ipflags ? "[" : "",
		    cfg.bind, ipflags ? "]" : "", ss_server_port(d));

	/* Checked with the stop signals blocked, waited for with them
	 * unblocked in one step: a signal between the check and the wait
	 * would otherwise leave pause() waiting for a second one. */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stopset, &mask);
	while (!stop_signal)
		sigsuspend(&mask);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);

	/* Orderly stop: wake every waiting request, let them answer, then
	 * stop the daemon (it must not hold suspended connections). */
	atomic_store(&stopping, 1);
	ss_live_stop(live);
	pthread_join(waker, NULL);
	if (have_evictor)
		pthread_join(evictor, NULL);
	usleep(200000);
	ss_server_close(d);
	ss_server_close(md);
	/* Creations in flight see `stopping` and abort. */
	for (c = 0; c < 100 && ss_live_any_creating(live); c++)
		usleep(50000);
	ss_create_free(creator);
	ss_pgq_pool_close(pool);
	ss_tablecache_free(tables);
	if (ss_registry_close(reg, &err) < 0)
		ss_cli_die_err(&err);
	ss_live_close(live);
	return 0;
}
