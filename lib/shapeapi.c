/*
 * shapeapi.c — the /v1/shape endpoint (see shapeapi.h): a request's state
 * from validation to its answer. resolve() finds or creates the shape,
 * plan() asks lib/answer what to send for the shape's state and the
 * request's offset and live flag, and suspends the request in lib/live
 * when it must wait; answer_plan() and send_data() build the answer.
 */
#include "shapeapi.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "answer.h"
#include "create.h"
#include "datadir.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "offset.h"
#include "pgq.h"
#include "registry.h"
#include "shape.h"
#include "snapshot.h"
#include "sse.h"
#include "subset.h"
#include "tablecache.h"
#include "where.h"

/* Bytes of a file copied per call of a body reader. */
#define BLOCK_SIZE (256 * 1024)

struct ss_shapeapi {
	struct ss_shapeapi_cfg cfg;
	atomic_llong adm_initial, adm_existing; /* admitted now */
	atomic_llong bytes_sent;
	pthread_mutex_t durable_mu; /* durable_lsn()'s cache */
	uint64_t durable;
	int64_t durable_at;
	atomic_llong unavailable_warned; /* when, ss_mono_us() */
};

struct ss_shapeapi *ss_shapeapi_new(const struct ss_shapeapi_cfg *cfg)
{
	struct ss_shapeapi *a = ss_xcalloc(1, sizeof(*a));

	a->cfg = *cfg;
	pthread_mutex_init(&a->durable_mu, NULL);
	return a;
}

void ss_shapeapi_free(struct ss_shapeapi *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->durable_mu);
	free(a);
}

void ss_shapeapi_counts(struct ss_shapeapi *a, struct ss_shapeapi_counts *c)
{
	c->initial = atomic_load(&a->adm_initial);
	c->existing = atomic_load(&a->adm_existing);
	c->bytes_sent = atomic_load(&a->bytes_sent);
}

static void warnf(struct ss_shapeapi *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warnf(struct ss_shapeapi *a, const char *fmt, ...)
{
	struct ss_buf b = SS_BUF_INIT;
	va_list ap;

	if (!a->cfg.warn)
		return;
	va_start(ap, fmt);
	ss_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	a->cfg.warn(a->cfg.warn_ctx, b.buf);
	ss_buf_release(&b);
}

/* ------------------------------------------------------------------ requests
 */

enum { ADM_NONE, ADM_INITIAL, ADM_EXISTING };

/* A /v1/shape request's state, kept with its lib/server request. */
struct req {
	struct ss_shapeapi *a;
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

	/* a subset's place in the log, answered as its electric-offset */
	struct ss_offset subset_at;

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

	if (ss_live_wait(r->a->cfg.live, r->sh, &r->w, r->seen_seq, deadline_us,
			 atomic_load(r->a->cfg.stopping), req_suspend,
			 req_resume, r))
		return 1;
	/* A read now, not only when it is answered: a replicate asleep
	 * under its idle timeout wakes for a client that waits. */
	ss_registry_touch(r->a->cfg.reg, id);
	return 0;
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
	struct ss_shapereq_opts o = {
	    r->a->cfg.secret, r->a->cfg.where_limits, ss_tablecache_describe,
	    r->a->cfg.tables, definition_only,	      r->a->cfg.subqueries};
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

	if (!r->a->cfg.creator)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "no shape creation here");
	ss_buf_init(&cs.dir);
	rc = ss_create_get(r->a->cfg.creator, &r->q, &cs, err);
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

/* The registry's durable LSN, read at most every 100 ms. */
static uint64_t durable_lsn(struct ss_shapeapi *a)
{
	struct ss_err err = SS_ERR_INIT;
	uint64_t v;
	int64_t now = ss_mono_us();

	pthread_mutex_lock(&a->durable_mu);
	if (now - a->durable_at > 100000) {
		if (ss_registry_get_durable_lsn(a->cfg.reg, &v, &err) == 0)
			a->durable = v;
		a->durable_at = now;
	}
	v = a->durable;
	pthread_mutex_unlock(&a->durable_mu);
	return v;
}

static void next_cursor(struct ss_shapeapi *a, const char *prev, char out[32])
{
	ss_http_cursor(prev, a->cfg.long_poll_ms, ss_now_us(),
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

/* Send "[" + file[fpos, fpos+flen) (or body, flen bytes read already) +
 * (up-to-date) + "]" with headers. Steals fd and body. */
static enum MHD_Result send_data(struct req *r, int fd, char *body,
				 uint64_t fpos, uint64_t flen,
				 const struct answer *an)
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
		next_cursor(r->a, r->q.cursor, cursor);
		d.cursor = cursor;
	}
	d.mono_us = ss_mono_us();
	d.max_age = r->a->cfg.cache_max_age;
	d.stale_age = r->a->cfg.cache_stale_age;
	d.fd = fd;
	d.fpos = fpos;
	d.flen = flen;
	d.body = body;
	d.sent = &r->a->bytes_sent;
	d.block = BLOCK_SIZE;
	d.schema = schema_of;
	d.schema_ctx = r;
	resp = ss_http_data_response(&d, &status);
	free(body);
	ss_registry_touch(r->a->cfg.reg, r->id);
	return queue(r, status, resp);
}

/* Open snapshot chunk n; fills fd and the range after its leading ','.
 * Returns 0, -1 when the chunk is not there (gone), -2 when it could
 * not be opened (err: descriptors, I/O). */
static int open_chunk(const char *dir, uint64_t gen, uint64_t n, int *fd,
		      uint64_t *pos, uint64_t *len, struct ss_err *err)
{
	struct ss_buf p = SS_BUF_INIT, d = SS_BUF_INIT;
	struct stat st;

	/* generation 0 is the snapshot; a chunk of a generation a
	 * compaction just removed is a refetch (the caller's) */
	ss_base_dir(&d, dir, gen);
	ss_snapshot_chunk_path(&p, d.buf, n);
	ss_buf_release(&d);
	*fd = open(p.buf, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		int gone = errno == ENOENT || errno == ENOTDIR;

		ss_err_set(err, SS_ERR_RUNTIME, "could not open '%s': %s",
			   p.buf, strerror(errno));
		ss_buf_release(&p);
		return gone ? -1 : -2;
	}
	ss_buf_release(&p);
	if (fstat(*fd, &st) < 0 || st.st_size < 1) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	*pos = 1;
	*len = (uint64_t)st.st_size - 1;
	return 0;
}

/* 1 at most every 10 s: a warning that a descriptor shortage or a
 * damaged shape would repeat for every request. */
static int warn_due(struct ss_shapeapi *a)
{
	int64_t now = ss_mono_us();
	long long last = atomic_load(&a->unavailable_warned);

	if (last && now - last < 10000000)
		return 0;
	return atomic_compare_exchange_strong(&a->unavailable_warned, &last,
					      now);
}

/* A shape that could not be read now. */
static void warn_unavailable(struct req *r, const struct ss_err *err)
{
	if (warn_due(r->a))
		warnf(r->a, "could not read shape %s (answered 503): %s",
		      r->shape_handle, err->msg);
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
	P_UNAVAILABLE,
	P_ERROR
};

struct plan {
	int fd;
	uint64_t pos, len;
	char *body; /* or the range's len bytes, read already (*new*) */
	struct answer an;
	int timed_out; /* a r->a->cfg.live wait ended without data */
	int gone;      /* ss_live_locate found the shape gone */
};

/* Start a plan: p emptied, r's shape located (ss_live_locate's answer),
 * the sequence number it was seen at kept for a following wait. */
static int look(struct req *r, struct plan *p, struct ss_live_at *at,
		struct ss_err *err)
{
	int st;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	st = ss_live_locate(r->a->cfg.live, r->sh, r->a->cfg.reg, r->dir.buf,
			    at, err);
	r->seen_seq = at->seen_seq;
	return st;
}

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

	st = look(r, p, &at, &err);
	if (st == -2) {
		/* The shape is there; this process could not look at it now
		 * (descriptors, I/O): not a reason to refetch. */
		warn_unavailable(r, &err);
		return P_UNAVAILABLE;
	}
	p->gone = st == 0;
	memset(&in, 0, sizeof(in));
	in.state = st == 0  ? SS_ANSWER_SHAPE_GONE
		   : st < 0 ? SS_ANSWER_SHAPE_FAILED
			    : SS_ANSWER_SHAPE_OK;
	in.off = r->q.off;
	in.live = r->q.live;
	in.ready = at.ready;
	in.done = at.done;
	in.base = &at.base;
	in.last = at.last;
	in.now_us = ss_mono_us();
	in.deadline_us = r->deadline_us;
	in.oob = r->oob;
	in.long_poll_ms = r->a->cfg.long_poll_ms;
	in.create_timeout_ms = r->a->cfg.create_timeout_ms;
	ss_answer_decide(&in, &a);
	r->deadline_us = a.deadline_us;
	r->oob = a.oob;
	if (a.kind == SS_ANSWER_CHUNK) {
		rc = open_chunk(r->dir.buf, a.gen, a.chunk, &p->fd, &p->pos,
				&p->len, &err);
		if (rc == -2) {
			warn_unavailable(r, &err);
			return P_UNAVAILABLE;
		}
		if (rc < 0)
			a.kind = SS_ANSWER_REFETCH;
	}
	if (a.kind == SS_ANSWER_RANGE) {
		struct ss_offset end;
		uint64_t start = 0, stop = 0, count = 0;
		int closed = 0;

		if (ss_log_reader_chunk_end(at.lr, &a.from, &end, &closed,
					    &err) < 0 ||
		    ss_log_reader_range(at.lr, &a.from, &end, &start, &stop,
					&count, &err) < 0) {
			warnf(r->a, "could not read the log of shape %s: %s",
			      r->shape_handle, err.msg);
			ss_live_at_release(&at);
			return P_ERROR;
		}
		ss_answer_range(&in, &a, &end, count);
		if (count && !r->ss && stop - start - 1 <= SS_HTTP_INLINE_MAX) {
			/* A small range is read now, under the reader's
			 * lock: no descriptor of its own, and it goes out in
			 * the headers' packet. */
			p->len = stop - start - 1;
			p->body = ss_xmalloc((size_t)p->len + 1);
			if (ss_log_reader_pread(at.lr, p->body, (size_t)p->len,
						start + 1, &err) < 0) {
				free(p->body);
				p->body = NULL;
				ss_live_at_release(&at);
				warn_unavailable(r, &err);
				return P_UNAVAILABLE;
			}
		} else if (count) {
			p->fd = dup(ss_log_reader_fd(at.lr));
			if (p->fd < 0) {
				/* Without it the answer would carry the
				 * range's end and none of its changes. */
				ss_err_set(
				    &err, SS_ERR_RUNTIME,
				    "could not duplicate the log of %s: %s",
				    r->shape_handle, strerror(errno));
				ss_live_at_release(&at);
				warn_unavailable(r, &err);
				return P_UNAVAILABLE;
			}
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
			uint64_t d = durable_lsn(r->a);

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
			ss_live_lock(r->a->cfg.live);
			ss_live_watch_locked(r->a->cfg.live, r->sh, r->dir.buf);
			ss_live_unlock(r->a->cfg.live);
			r->watching = 1;
			return P_AGAIN; /* look once more now that the watch is
					   on */
		}
		rc = wait_on_shape(r, r->deadline_us);
		return rc ? P_AGAIN : P_WAIT;
	}
	return P_ERROR;
}

/*
 * Before a subset's query: the shape's snapshot must be complete, so that
 * the subset's own snapshot, taken after it, sees every transaction the
 * shape's log leaves out. (A log=changes_only shape's snapshot has no
 * rows: a subset taken before it would miss the transactions committed
 * in between, in neither the subset nor the log.) The subset's place in
 * the log is the request's offset, or for "now" the log's end as seen
 * here, before the query: the log holds every transaction after it, and
 * the query sees every one before it. P_DATA when the query may run,
 * else as plan().
 */
static int subset_plan(struct req *r, struct plan *p)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_live_at at;
	int64_t now = ss_mono_us();
	int st, done;

	st = look(r, p, &at, &err);
	done = st == 1 && (at.done || at.base.g[0].gen);
	r->subset_at = r->q.off.kind == SS_OFFSET_NOW ? at.last : r->q.off;
	ss_live_at_release(&at);
	if (st == -2) {
		warn_unavailable(r, &err);
		return P_UNAVAILABLE;
	}
	p->gone = st == 0;
	if (st == 0)
		return P_REFETCH;
	if (st < 0)
		return P_FAILED;
	if (done)
		return P_DATA;
	if (!r->deadline_us)
		r->deadline_us = now + r->a->cfg.create_timeout_ms * 1000;
	if (now >= r->deadline_us)
		return P_SNAP_TIMEOUT;
	return wait_on_shape(r, r->deadline_us) ? P_AGAIN : P_WAIT;
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
			atomic_fetch_add(&r->a->bytes_sent, (long long)n);
			return (ssize_t)n;
		}
		now = ss_mono_us();
		if (atomic_load(r->a->cfg.stopping) || now >= s->end_us)
			return MHD_CONTENT_READER_END_OF_STREAM;
		r->q.off = s->off;
		r->deadline_us = s->last_out_us + r->a->cfg.keepalive_ms * 1000;
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
			ss_registry_touch(r->a->cfg.reg, r->id);
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
	ss_sse_init(r->ss, &r->q.off, ss_mono_us(), r->a->cfg.sse_timeout_ms);
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
	next_cursor(r->a, r->q.cursor, cursor);
	MHD_add_response_header(resp, "electric-cursor", cursor);
	{
		char cc[64];

		snprintf(cc, sizeof(cc), "public, max-age=%" PRId64,
			 r->a->cfg.sse_timeout_ms / 1000 - 1 > 1
			     ? r->a->cfg.sse_timeout_ms / 1000 - 1
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
	atomic_llong *ctr = initial ? &r->a->adm_initial : &r->a->adm_existing;
	int64_t limit =
	    initial ? r->a->cfg.max_initial : r->a->cfg.max_existing;
	char msg[160], retry[8];

	if (atomic_fetch_add(ctr, 1) + 1 > limit) {
		atomic_fetch_sub(ctr, 1);
		if (r->a->cfg.metrics)
			ss_metrics_count_reject(r->a->cfg.metrics, initial);
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

/* r follows shape (handle, id): its live entry (which remembers def, the
 * registry's definition, when given), id, handle and directory. The
 * hub's mutex is held. */
static void follow_locked(struct req *r, const char *handle, int64_t id,
			  const char *def)
{
	r->sh = ss_live_get_locked(r->a->cfg.live, handle, id);
	ss_live_set_def_locked(r->sh, def);
	r->id = id;
	snprintf(r->shape_handle, sizeof(r->shape_handle), "%s", handle);
	ss_buf_reset(&r->dir);
	ss_datadir_shape_path(&r->dir, r->a->cfg.data_dir, r->shape_handle);
}

/* Find the shape for the request (reference 1.8 step 2). Returns 1 when
 * r's shape is set, 0 when a response was queued. */
static int resolve(struct req *r, enum MHD_Result *ret)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_shape_rec rec;
	int rc;

	if (r->q.handle) {
		struct ss_live_shape *s;

		/* A handle this process knows names the definition it
		 * learned for it: no registry read (whether the shape is
		 * still there is asked when it is looked at). */
		ss_live_lock(r->a->cfg.live);
		s = ss_live_find_locked(r->a->cfg.live, r->q.handle);
		if (s && s->def && !strcmp(s->def, r->q.canon.buf)) {
			follow_locked(r, s->handle, s->id, NULL);
			ss_live_unlock(r->a->cfg.live);
			return 1;
		}
		ss_live_unlock(r->a->cfg.live);
		ss_shape_rec_init(&rec);
		rc = ss_shape_handle_valid(r->q.handle, NULL)
			 ? ss_registry_get_by_handle(r->a->cfg.reg, r->q.handle,
						     &rec, &err)
			 : 0;
		if (rc < 0)
			goto fail;
		if (rc == 1 && !strcmp(rec.definition, r->q.canon.buf)) {
			ss_live_lock(r->a->cfg.live);
			follow_locked(r, rec.handle, rec.id, rec.definition);
			ss_live_unlock(r->a->cfg.live);
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
			ss_live_put(r->a->cfg.live, r->sh);
			r->sh = NULL;
		}
		rc = get_or_create(r, &err);
		if (rc <= 0)
			goto fail;
	}
	return 1;
fail:
	warnf(r->a, "could not get or create a shape: %s", err.msg);
	*ret = send_message(r, 503, "Failed to create shape, please retry", "1",
			    0);
	return 0;
}

static enum MHD_Result answer_plan(struct req *r, int kind, struct plan *p)
{
	switch (kind) {
	case P_DATA:
		return send_data(r, p->fd, p->body, p->pos, p->len, &p->an);
	case P_REFETCH: {
		struct ss_err err = SS_ERR_INIT;
		char gone[SS_HANDLE_MAX];

		/* The shape is gone: 409 with the definition's current
		 * shape, created if need be, as for an unknown handle. */
		if (r->sh) {
			ss_live_put(r->a->cfg.live, r->sh);
			r->sh = NULL;
		}
		snprintf(gone, sizeof(gone), "%s", r->shape_handle);
		if (get_or_create(r, &err) <= 0) {
			if (err.msg[0])
				warnf(r->a,
				      "could not get or create a shape: %s",
				      err.msg);
			r->shape_handle[0] = '\0';
		}
		/* The registry still gives the shape that was found gone
		 * (its files damaged): a 409 naming it would send the client
		 * straight back to it, without end. (A base chunk that a
		 * compaction removed is a refetch of the same shape.) */
		if (p->gone && r->shape_handle[0] &&
		    !strcmp(gone, r->shape_handle)) {
			if (warn_due(r->a))
				warnf(r->a,
				      "shape %s cannot be read and is still in "
				      "the registry: answered 503",
				      gone);
			return send_message(
			    r, 503, "Unable to read the shape, please retry",
			    "10", 1);
		}
		return send_must_refetch(r, r->shape_handle);
	}
	case P_FAILED: {
		char msg[sizeof(r->sh->fail_msg)];
		int known;

		ss_live_lock(r->a->cfg.live);
		known = r->sh->fail_status;
		memcpy(msg, r->sh->fail_msg, sizeof(msg));
		ss_live_unlock(r->a->cfg.live);
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
	case P_UNAVAILABLE:
		return send_message(
		    r, 503, "Unable to read the shape now, please retry", "5",
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

	st = ss_subset_prepare(&r->q, r->a->cfg.where_limits, &sub, &body);
	if (st) {
		ret = send_json(r, st, body.buf, NULL, 0);
		goto out;
	}
	conn = NULL;
	if (!r->a->cfg.pool)
		ss_err_set(&err, SS_ERR_RUNTIME, "no database pool");
	else
		conn = ss_pgq_get(r->a->cfg.pool, &err);
	if (conn) {
		rc = ss_subset_run(conn, &r->q, &sub, r->shape_handle, mark,
				   &body, &err);
		ss_pgq_put(r->a->cfg.pool, conn);
	}
	if (rc < 0) {
		warnf(r->a, "subset snapshot of %s failed: %s", r->shape_handle,
		      err.msg);
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
	/* The client's place in the log (subset_plan). */
	MHD_add_response_header(resp, "electric-offset",
				ss_offset_format(&r->subset_at, offtxt));
	add_schema_header(r, resp);
	ss_registry_touch(r->a->cfg.reg, r->id);
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

	if (atomic_load(r->a->cfg.stopping))
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
		if (r->q.sse && !r->q.subset)
			return start_sse(r);
	}
	for (;;) {
		kind = r->q.subset ? subset_plan(r, &p) : plan(r, &p);
		if (kind == P_WAIT)
			return MHD_YES;
		if (kind == P_DATA && r->q.subset)
			return handle_subset(r);
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

	if (!r->a->cfg.allow_delete)
		return send_json(r, 405, "{\"message\":\"DELETE not allowed\"}",
				 NULL, 0);
	kv = ss_server_req_args(r->sr, &nkv);
	ss_shapereq_args_collect(kv, nkv, &a);
	free(kv); /* a's strings are the connection's */
	if (!ss_shapereq_authorized(&a, r->a->cfg.secret))
		return send_json(r, 401, SS_SHAPEREQ_UNAUTHORIZED, NULL, 0);
	ss_shape_rec_init(&rec);
	if (a.table && *a.table) {
		/* Validate the definition like a GET with offset -1. */
		if (!r->prepared && prepare_shape_request(r, &a, 1, &ret) < 0)
			return ret;
		found = ss_registry_get_by_definition(r->a->cfg.reg, &r->q.def,
						      &rec, &err);
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
		found = ss_shape_handle_valid(a.handle, NULL)
			    ? ss_registry_get_by_handle(r->a->cfg.reg, a.handle,
							&rec, &err)
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
	ss_registry_remove(r->a->cfg.reg, rec.id, &err);
	ss_registry_flush(r->a->cfg.reg, &err);
	ss_datadir_shape_path(&dir, r->a->cfg.data_dir, rec.handle);
	if (ss_datadir_trash(r->a->cfg.data_dir, dir.buf, &err) < 0)
		warnf(r->a, "%s", err.msg);
	ss_live_removed(r->a->cfg.live, rec.handle);
	ss_buf_release(&dir);
	ss_shape_rec_release(&rec);
	return ss_server_send_text(r->sr, 202, "", "application/json");
}

enum MHD_Result ss_shapeapi_options(struct ss_server_req *sr, void *api)
{
	struct MHD_Response *resp = ss_http_buffer("", 0);
	const char *allow = ss_http_preflight_allow(
	    ss_server_req_header(sr, "access-control-request-headers"));

	(void)api;
	if (allow)
		MHD_add_response_header(resp, "access-control-allow-headers",
					allow);
	MHD_add_response_header(resp, "access-control-max-age", "86400");
	MHD_add_response_header(resp, "connection", "keep-alive");
	return ss_server_queue(sr, 204, resp);
}

static void req_free(void *data)
{
	struct req *r = data;

	ss_live_lock(r->a->cfg.live);
	if (r->w.active)
		ss_live_fire_locked(r->a->cfg.live, &r->w);
	if (r->sh) {
		if (r->watching)
			ss_live_unwatch_locked(r->a->cfg.live, r->sh);
		ss_live_put_locked(r->a->cfg.live, r->sh);
	}
	ss_live_unlock(r->a->cfg.live);
	if (r->admitted == ADM_INITIAL)
		atomic_fetch_sub(&r->a->adm_initial, 1);
	else if (r->admitted == ADM_EXISTING)
		atomic_fetch_sub(&r->a->adm_existing, 1);
	if (r->ss) {
		ss_sse_release(r->ss);
		free(r->ss);
	}
	ss_buf_release(&r->dir);
	ss_shapereq_release(&r->q);
	free(r);
}

/* The /v1/shape state of a server request, made at its first use. */
static struct req *req_of(struct ss_server_req *sr, struct ss_shapeapi *a)
{
	struct req *r = ss_server_req_data(sr);

	if (r)
		return r;
	r = ss_xcalloc(1, sizeof(*r));
	r->a = a;
	r->sr = sr;
	r->method = ss_server_req_method(sr);
	ss_shapereq_init(&r->q);
	ss_buf_init(&r->dir);
	ss_server_req_set_data(sr, r, req_free);
	return r;
}

enum MHD_Result ss_shapeapi_get(struct ss_server_req *sr, void *api)
{
	(void)api;
	return handle_shape(req_of(sr, api));
}

enum MHD_Result ss_shapeapi_delete(struct ss_server_req *sr, void *api)
{
	(void)api;
	return handle_delete(req_of(sr, api));
}

/* A POST carries subset fields in its body. */
enum MHD_Result ss_shapeapi_post(struct ss_server_req *sr, void *api)
{
	struct req *r = req_of(sr, api);

	(void)api;
	if (ss_server_req_body_too_large(sr))
		return send_json(
		    r, 413, "{\"error\":\"Request body too large\"}", NULL, 0);
	return handle_shape(r);
}

/* Every /v1/shape request but a preflight has its arguments' bytes
 * checked first, whatever its method. */
enum MHD_Result ss_shapeapi_check(struct ss_server_req *sr, void *api)
{
	struct ss_shapereq_error e;
	struct ss_shapereq_kv *kv;
	enum MHD_Result ret = MHD_YES;
	size_t nkv;
	unsigned status;

	(void)api;
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
