/*
 * registry.c — the SQLite shape registry: records, lookups (the write
 * buffer overlaid on SQLite), id blocks, open and close, listing and the
 * change log. The contract is in registry.h; the other parts are
 * registry_schema.c (migrations), registry_pool.c (connections),
 * registry_buffer.c (write buffer and flusher), registry_progress.c
 * (durable LSN, streams, partitions, stats, heartbeats) and
 * registry_admin.c (check, vacuum, export, import).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "lsn.h"
#include "registry_int.h"

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
	/* Memory statistics cost a global mutex on every allocation. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* ---------------------------------------------------------------- records */

void ss_shape_rec_init(struct ss_shape_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
}

void ss_shape_rec_release(struct ss_shape_rec *rec)
{
	if (!rec)
		return;
	free(rec->handle);
	free(rec->definition);
	free(rec->schema_name);
	free(rec->table_name);
	free(rec->oids);
	free(rec->snapshot.xip);
	free(rec->deps);
	ss_shape_rec_init(rec);
}

uint64_t ss_pg_snapshot_xid64(const struct ss_pg_snapshot *s, uint64_t xid)
{
	uint64_t full;

	if (xid >> 32 || s->xmax < ((uint64_t)1 << 32))
		return xid;
	full = (s->xmax & ~(uint64_t)0xFFFFFFFF) | xid;
	if (full > s->xmax + ((uint64_t)1 << 31))
		full -= (uint64_t)1 << 32;
	else if (full + ((uint64_t)1 << 31) < s->xmax)
		full += (uint64_t)1 << 32;
	return full;
}

int ss_pg_snapshot_sees(const struct ss_pg_snapshot *s, uint64_t xid)
{
	uint64_t x = ss_pg_snapshot_xid64(s, xid);
	size_t i;

	if (x < s->xmin)
		return 1;
	if (x >= s->xmax)
		return 0;
	for (i = 0; i < s->nxip; i++)
		if (s->xip[i] == x)
			return 0;
	return 1;
}

int ss_pg_snapshot_past(const struct ss_pg_snapshot *s, uint64_t xid)
{
	return ss_pg_snapshot_xid64(s, xid) >= s->xmax + SS_SNAPSHOT_PAST_XIDS;
}

static char *dup_or_null(const char *s)
{
	return s ? ss_xstrdup(s) : NULL;
}

void ss_shape_rec_copy(struct ss_shape_rec *dst, const struct ss_shape_rec *src)
{
	*dst = *src;
	dst->handle = dup_or_null(src->handle);
	dst->definition = dup_or_null(src->definition);
	dst->schema_name = dup_or_null(src->schema_name);
	dst->table_name = dup_or_null(src->table_name);
	dst->deps = dup_or_null(src->deps);
	dst->oids = NULL;
	if (src->noids) {
		dst->oids = ss_xmalloc(src->noids * sizeof(*src->oids));
		memcpy(dst->oids, src->oids, src->noids * sizeof(*src->oids));
	}
	dst->snapshot.xip = NULL;
	if (src->snapshot.nxip) {
		dst->snapshot.xip =
		    ss_xmalloc(src->snapshot.nxip * sizeof(uint64_t));
		memcpy(dst->snapshot.xip, src->snapshot.xip,
		       src->snapshot.nxip * sizeof(uint64_t));
	}
}

void ss_reg_set_oids(struct ss_shape_rec *rec, const uint32_t *oids, size_t n)
{
	free(rec->oids);
	rec->oids = NULL;
	rec->noids = n;
	if (n) {
		rec->oids = ss_xmalloc(n * sizeof(*oids));
		memcpy(rec->oids, oids, n * sizeof(*oids));
	}
}

void ss_reg_set_snapshot(struct ss_shape_rec *rec,
			 const struct ss_pg_snapshot *s)
{
	free(rec->snapshot.xip);
	rec->snapshot = *s;
	rec->snapshot.xip = NULL;
	if (s->nxip) {
		rec->snapshot.xip = ss_xmalloc(s->nxip * sizeof(uint64_t));
		memcpy(rec->snapshot.xip, s->xip, s->nxip * sizeof(uint64_t));
	}
}

const char *ss_snapshot_state_name(int state)
{
	switch (state) {
	case SS_SNAPSHOT_PENDING:
		return "pending";
	case SS_SNAPSHOT_STARTED:
		return "started";
	case SS_SNAPSHOT_COMPLETE:
		return "complete";
	}
	return "unknown";
}

int ss_snapshot_state_parse(const char *name)
{
	int s;

	for (s = SS_SNAPSHOT_PENDING; s <= SS_SNAPSHOT_COMPLETE; s++)
		if (!strcmp(name, ss_snapshot_state_name(s)))
			return s;
	return -1;
}

/* xip lists are stored as comma-separated decimal text ("" when empty). */
void ss_reg_xip_to_text(const struct ss_pg_snapshot *s, struct ss_buf *out)
{
	size_t i;

	for (i = 0; i < s->nxip; i++)
		ss_buf_addf(out, "%s%" PRIu64, i ? "," : "", s->xip[i]);
}

static int xip_from_text(const char *text, struct ss_pg_snapshot *s)
{
	const char *p = text;
	size_t alloc = 0;

	s->xip = NULL;
	s->nxip = 0;
	while (p && *p) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(p, &end, 10);
		if (end == p || errno || (*end && *end != ','))
			return -1;
		SS_GROW(s->xip, alloc, s->nxip + 1);
		s->xip[s->nxip++] = v;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* ------------------------------------------------------- reading records */

const char *ss_reg_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void row_to_rec(sqlite3_stmt *st, struct ss_shape_rec *rec)
{
	const char *oids = ss_reg_col_text(st, 13),
		   *xip = ss_reg_col_text(st, 9);
	size_t alloc = 0;

	ss_shape_rec_init(rec);
	rec->id = sqlite3_column_int64(st, 0);
	rec->handle = ss_xstrdup(ss_reg_col_text(st, 1));
	rec->definition = ss_xstrdup(ss_reg_col_text(st, 2));
	rec->hash = (uint32_t)sqlite3_column_int64(st, 3);
	rec->schema_name = ss_xstrdup(ss_reg_col_text(st, 4));
	rec->table_name = ss_xstrdup(ss_reg_col_text(st, 5));
	rec->snapshot_state = sqlite3_column_int(st, 6);
	rec->snapshot.xmin = (uint64_t)sqlite3_column_int64(st, 7);
	rec->snapshot.xmax = (uint64_t)sqlite3_column_int64(st, 8);
	if (xip && xip_from_text(xip, &rec->snapshot) < 0) {
		free(rec->snapshot.xip);
		rec->snapshot.xip = NULL;
		rec->snapshot.nxip = 0;
	}
	rec->created_us = sqlite3_column_int64(st, 10);
	rec->last_read_us = sqlite3_column_int64(st, 11);
	rec->active = sqlite3_column_type(st, 12) != SQLITE_NULL;
	rec->active_lsn = (uint64_t)sqlite3_column_int64(st, 12);
	if (ss_reg_col_text(st, 14))
		rec->deps = ss_xstrdup(ss_reg_col_text(st, 14));
	while (oids && *oids) {
		char *end;

		SS_GROW(rec->oids, alloc, rec->noids + 1);
		rec->oids[rec->noids++] = (uint32_t)strtoul(oids, &end, 10);
		oids = *end ? end + 1 : end;
	}
}

/* Apply the buffered (not yet committed) writes of e onto rec. */
static void overlay(const struct entry *e, struct ss_shape_rec *rec)
{
	unsigned f = e->dirty | e->inflight;

	if (f & F_SNAPSHOT) {
		rec->snapshot_state = e->rec.snapshot_state;
		ss_reg_set_snapshot(rec, &e->rec.snapshot);
	}
	if (f & F_TOUCH)
		rec->last_read_us = e->rec.last_read_us;
	if (f & F_ACTIVE) {
		rec->active = 1;
		rec->active_lsn = e->rec.active_lsn;
	}
	if (f & F_OIDS)
		ss_reg_set_oids(rec, e->rec.oids, e->rec.noids);
}

/* Read one shape from SQLite by key. 1 found, 0 not, -1 error. */
int ss_reg_sql_lookup(struct ss_registry *r, int key, int64_t id, const char *s,
		      struct ss_shape_rec *out, struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	sqlite3_stmt *st;
	int rc, found = 0;

	if (!c)
		return -1;
	if (r->memory && !c->db) {
		/* The in-memory connection is the write connection; prepare
		 * its statements once, under wlock. */
		c->db = r->wdb;
		if (ss_reg_rconn_prepare(r, c, err) < 0) {
			c->db = NULL;
			ss_reg_rconn_put(r, c);
			return -1;
		}
	}
	st = key == KEY_ID	 ? c->by_id
	     : key == KEY_HANDLE ? c->by_handle
				 : c->by_def;
	if (key == KEY_ID)
		sqlite3_bind_int64(st, 1, id);
	else
		sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_to_rec(st, out);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		ss_reg_sql_fail(err, ss_reg_rconn_db(r, c), "could not read",
				r->path);
		found = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	ss_reg_rconn_put(r, c);
	return found;
}

/*
 * The read path: buffer first (known entries are authoritative), then
 * SQLite, then the buffer again for removals and overlays that may have
 * arrived while we read. A flush that committed while we read may have
 * taken a write we must see out of the buffer, after our read of SQLite
 * began (the row we read is then older than that write): when a flush
 * retired entries meanwhile, read again. Without this a write that
 * returned before the lookup began could be missing from its answer
 * (a shape's snapshot read as pending after serve recorded it
 * complete).
 */
int ss_reg_lookup(struct ss_registry *r, int key, int64_t id, const char *s,
		  struct ss_shape_rec *out, struct ss_err *err)
{
	struct entry *e;
	uint64_t retired;
	int rc;

again:
	pthread_mutex_lock(&r->mu);
	retired = r->retired;
	e = key == KEY_ID
		? ss_reg_find_id(r, id)
		: ss_reg_find_str(r, key == KEY_HANDLE ? BY_HANDLE : BY_DEF, s);
	if (e && e->known && !((e->dirty | e->inflight) & F_REMOVE)) {
		ss_shape_rec_copy(out, &e->rec);
		pthread_mutex_unlock(&r->mu);
		return 1;
	}
	if (e && ((e->dirty | e->inflight) & F_REMOVE)) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	pthread_mutex_unlock(&r->mu);

	rc = ss_reg_sql_lookup(r, key, id, s, out, err);
	if (rc <= 0)
		return rc;
	pthread_mutex_lock(&r->mu);
	if (r->retired != retired) {
		pthread_mutex_unlock(&r->mu);
		ss_shape_rec_release(out); /* (leaves it initialized) */
		goto again;
	}
	e = ss_reg_find_id(r, out->id);
	if (e && ((e->dirty | e->inflight) & F_REMOVE)) {
		pthread_mutex_unlock(&r->mu);
		ss_shape_rec_release(out);
		return 0;
	}
	if (e)
		overlay(e, out);
	pthread_mutex_unlock(&r->mu);
	return 1;
}

int ss_registry_get_by_id(struct ss_registry *r, int64_t id,
			  struct ss_shape_rec *out, struct ss_err *err)
{
	return ss_reg_lookup(r, KEY_ID, id, NULL, out, err);
}

int ss_registry_get_by_handle(struct ss_registry *r, const char *handle,
			      struct ss_shape_rec *out, struct ss_err *err)
{
	return ss_reg_lookup(r, KEY_HANDLE, 0, handle, out, err);
}

int ss_registry_get_by_definition(struct ss_registry *r,
				  const struct ss_shape *def,
				  struct ss_shape_rec *out, struct ss_err *err)
{
	struct ss_buf canon = SS_BUF_INIT;
	int rc;

	ss_shape_canonical(def, &canon);
	rc = ss_reg_lookup(r, KEY_DEF, 0, canon.buf, out, err);
	ss_buf_release(&canon);
	return rc;
}

/* -------------------------------------------------------------- id blocks */

/* Reserve the next block of ids durably. Called with idlock held. */
static int reserve_ids(struct ss_registry *r, struct ss_err *err)
{
	sqlite3 *db = ss_reg_wconn_get(r, err);
	int64_t reserved, seq, base;
	struct ss_buf sql = SS_BUF_INIT;

	if (!db)
		return -1;
	if (ss_reg_exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto out;
	reserved = ss_reg_query_int(
	    db, "SELECT value FROM progress WHERE key = 'id_reserved'", 0);
	seq = ss_reg_query_int(
	    db, "SELECT max(seq) FROM sqlite_sequence WHERE name = 'shapes'",
	    0);
	base = reserved > seq ? reserved : seq;
	ss_buf_addf(&sql,
		    "UPDATE progress SET value = %" PRId64
		    " WHERE key = 'id_reserved'; COMMIT;",
		    base + r->o.id_block);
	if (ss_reg_exec(db, sql.buf, err, r->path) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	r->next_id = base + 1;
	r->id_hi = base + r->o.id_block;
	ss_buf_release(&sql);
	ss_reg_wconn_put(r);
	return 0;
out:
	ss_buf_release(&sql);
	ss_reg_wconn_put(r);
	return -1;
}

/*
 * On a clean close, hand back the ids of our block that were never used,
 * if no one reserved after us; a crash leaves them as a gap instead. Ids
 * handed out are never returned: they are in SQLite or lost with a crash
 * of this process... or still in the buffer, which close has flushed.
 */
static void release_ids(struct ss_registry *r)
{
	struct ss_err err = SS_ERR_INIT;
	char sql[200];
	sqlite3 *db;

	if (r->next_id > r->id_hi || r->qhead)
		return;
	db = ss_reg_wconn_get(r, &err);
	if (!db)
		return;
	snprintf(sql, sizeof(sql),
		 "UPDATE progress SET value = %" PRId64
		 " WHERE key = 'id_reserved' AND value = %" PRId64,
		 r->next_id - 1, r->id_hi);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	ss_reg_wconn_put(r);
}

int ss_reg_take_id(struct ss_registry *r, int64_t *id, struct ss_err *err)
{
	pthread_mutex_lock(&r->idlock);
	if (r->next_id > r->id_hi && reserve_ids(r, err) < 0) {
		pthread_mutex_unlock(&r->idlock);
		return -1;
	}
	*id = r->next_id++;
	pthread_mutex_unlock(&r->idlock);
	return 0;
}

/* ------------------------------------------------------------ open/close */

void ss_registry_opts_init(struct ss_registry_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->flush_interval_ms = 5;
	o->touch_interval_ms = 1000;
	o->flush_batch = 512;
	o->buffer_capacity = 16384;
	o->read_pool_max = 4;
	o->idle_timeout_ms = 30000;
	o->busy_timeout_ms = 5000;
	o->id_block = 1024;
	o->synchronous_full = 1;
	o->changes_keep = 100000;
}

int ss_registry_open(const char *path, const struct ss_registry_opts *opts,
		     struct ss_registry **out, struct ss_err *err)
{
	struct ss_registry *r;
	struct stat st;
	int rc;

	pthread_once(&sqlite_once, sqlite_setup);
	r = ss_xcalloc(1, sizeof(*r));
	if (opts)
		r->o = *opts;
	else
		ss_registry_opts_init(&r->o);
	if (r->o.read_pool_max < 1)
		r->o.read_pool_max = 1;
	if (r->o.flush_batch < 1)
		r->o.flush_batch = 1;
	if (r->o.buffer_capacity < 1)
		r->o.buffer_capacity = 1;
	if (r->o.id_block < 1)
		r->o.id_block = 1;
	if (r->o.changes_keep < 1)
		r->o.changes_keep = 1;
	r->path = ss_xstrdup(path);
	r->memory = !strcmp(path, ":memory:");
	r->idle = ss_xcalloc((size_t)r->o.read_pool_max, sizeof(*r->idle));
	pthread_mutex_init(&r->wlock, NULL);
	pthread_mutex_init(&r->plock, NULL);
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->idlock, NULL);
	pthread_cond_init(&r->pcond, NULL);
	pthread_cond_init(&r->wake, NULL);
	pthread_cond_init(&r->space, NULL);
	pthread_cond_init(&r->done, NULL);
	r->epoch = 1;
	r->next_id = 1; /* > id_hi: the first add reserves a block */

	if (!r->memory && stat(path, &st) < 0) {
		if (errno != ENOENT || !r->o.create) {
			ss_err_set(err,
				   errno == ENOENT ? SS_ERR_INPUT
						   : SS_ERR_RUNTIME,
				   "could not open registry '%s': %s", path,
				   strerror(errno));
			if (errno == ENOENT)
				ss_err_hint(
				    err,
				    "run 'shapesync-db init' to create it");
			goto fail;
		}
	} else if (!r->memory && !S_ISREG(st.st_mode)) {
		ss_err_set(err, SS_ERR_RUNTIME,
			   "could not open registry '%s': not a regular file",
			   path);
		goto fail;
	}
	if (ss_reg_open_conn(r, 1, r->o.create, &r->wdb, err) < 0)
		goto fail;
	if (ss_reg_migrate(r, r->wdb, err) < 0)
		goto fail;
	r->w_idle_since = ss_mono_us();
	rc = ss_thread_start(&r->flusher, NULL, ss_reg_flusher_main, r);
	if (rc != 0) {
		ss_err_set(err, SS_ERR_RUNTIME,
			   "could not start the registry flusher: %s",
			   strerror(rc));
		goto fail;
	}
	r->flusher_started = 1;
	*out = r;
	return 0;
fail:
	ss_registry_close(r, NULL);
	return -1;
}

int ss_registry_open_existing(const char *path,
			      const struct ss_registry_opts *opts,
			      struct ss_registry **out, struct ss_err *err)
{
	struct stat st;

	if ((!opts || !opts->create) && strcmp(path, ":memory:") &&
	    stat(path, &st) < 0 && errno == ENOENT) {
		ss_err_set(err, SS_ERR_RUNTIME, "registry '%s' does not exist",
			   path);
		ss_err_hint(
		    err,
		    "run 'shapesync-db init' first, or check --registry and "
		    "$SHAPESYNC_REGISTRY");
		return -1;
	}
	if (ss_registry_open(path, opts, out, err) < 0) {
		/* A missing file is the operator's setup, not bad data. */
		if (err->code == SS_ERR_INPUT)
			err->code = SS_ERR_RUNTIME;
		return -1;
	}
	return 0;
}

int ss_registry_close(struct ss_registry *r, struct ss_err *err)
{
	int rc = 0;
	int i;

	if (!r)
		return 0;
	if (r->flusher_started) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_broadcast(&r->wake);
		pthread_cond_broadcast(&r->space);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->flusher, NULL);
		/* The flusher drains the queue before it stops; what is left
		 * is what could not be written. */
		if (r->qhead) {
			rc = ss_err_set(
			    err, SS_ERR_RUNTIME,
			    "could not flush the registry '%s': %s", r->path,
			    r->last_error[0] ? r->last_error : "unknown error");
		}
	}
	release_ids(r);
	while (r->qhead) {
		struct entry *e = r->qhead;

		ss_reg_dequeue(r, e);
		ss_reg_entry_free(r, e);
	}
	for (i = 0; i < r->nidle; i++)
		ss_reg_rconn_free(r->idle[i]);
	free(r->idle);
	sqlite3_finalize(r->memconn.by_id);
	sqlite3_finalize(r->memconn.by_handle);
	sqlite3_finalize(r->memconn.by_def);
	if (r->wdb)
		sqlite3_close(r->wdb);
	free(r->t_id.b);
	free(r->t_handle.b);
	free(r->t_def.b);
	free(r->batch);
	pthread_mutex_destroy(&r->wlock);
	pthread_mutex_destroy(&r->plock);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->idlock);
	pthread_cond_destroy(&r->pcond);
	pthread_cond_destroy(&r->wake);
	pthread_cond_destroy(&r->space);
	pthread_cond_destroy(&r->done);
	free(r->path);
	free(r);
	return rc;
}

const char *ss_registry_path(const struct ss_registry *r)
{
	return r->path;
}

/* ------------------------------------------------------ listing and logs */

int ss_registry_foreach(struct ss_registry *r, ss_registry_cb cb, void *ctx,
			struct ss_err *err)
{
	struct ss_buf sql = SS_BUF_INIT;
	struct rconn *c;
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (ss_registry_flush(r, err) < 0)
		return -1;
	c = ss_reg_rconn_get(r, err);
	if (!c)
		return -1;
	ss_buf_addf(&sql, "SELECT %s FROM shapes ORDER BY id", ss_reg_rec_cols);
	if (sqlite3_prepare_v2(ss_reg_rconn_db(r, c), sql.buf, -1, &st, NULL) !=
	    SQLITE_OK) {
		ret = ss_reg_sql_fail(err, ss_reg_rconn_db(r, c),
				      "could not read", r->path);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ss_shape_rec rec;

		row_to_rec(st, &rec);
		ret = cb(&rec, ctx);
		ss_shape_rec_release(&rec);
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = ss_reg_sql_fail(err, ss_reg_rconn_db(r, c),
				      "could not read", r->path);
out:
	sqlite3_finalize(st);
	ss_reg_rconn_put(r, c);
	ss_buf_release(&sql);
	return ret;
}

int ss_registry_count(struct ss_registry *r, int64_t *count, struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	int64_t n, delta;

	if (!c)
		return -1;
	n = ss_reg_query_int(ss_reg_rconn_db(r, c),
			     "SELECT count(*) FROM shapes", -1);
	ss_reg_rconn_put(r, c);
	if (n < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not count shapes in registry '%s'",
				  r->path);
	pthread_mutex_lock(&r->mu);
	delta = r->delta_count;
	pthread_mutex_unlock(&r->mu);
	*count = n + delta;
	return 0;
}

int ss_registry_data_version(struct ss_registry *r, int64_t *version,
			     struct ss_err *err)
{
	/* PRAGMA data_version is per connection and changes only for
	 * commits by *other* connections: ask the write connection (always
	 * the same one while open) and mix in this process's own commits. */
	sqlite3 *db = ss_reg_wconn_get(r, err);
	int64_t dv, local;

	if (!db)
		return -1;
	dv = ss_reg_query_int(db, "PRAGMA data_version", -1);
	ss_reg_wconn_put(r);
	if (dv < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not read registry '%s'", r->path);
	pthread_mutex_lock(&r->mu);
	local = r->n_flushes + r->n_local_commits;
	pthread_mutex_unlock(&r->mu);
	*version = dv * 1000003 + local;
	return 0;
}

/*
 * Run a query whose rows are (seq, id, handle, added) and pass each to cb;
 * ?1, if the query has it, is bound to `since`. With last non-NULL, it
 * follows the seq of each row passed. Returns cb's non-zero value, 0, or
 * -1 on a SQLite error.
 */
static int stream_changes(struct ss_registry *r, sqlite3 *db, const char *sql,
			  uint64_t since, ss_registry_change_cb cb, void *ctx,
			  uint64_t *last, struct ss_err *err)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return ss_reg_sql_fail(err, db, "could not read", r->path);
	if (sqlite3_bind_parameter_count(st))
		sqlite3_bind_int64(st, 1, (int64_t)since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);

		ret =
		    cb(seq, sqlite3_column_int64(st, 1), ss_reg_col_text(st, 2),
		       sqlite3_column_int(st, 3), ctx);
		if (last)
			*last = seq;
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = ss_reg_sql_fail(err, db, "could not read", r->path);
	sqlite3_finalize(st);
	return ret;
}

int ss_registry_changes(struct ss_registry *r, uint64_t since,
			ss_registry_change_cb cb, void *ctx, uint64_t *last,
			struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	sqlite3 *db;
	int ret = 0;

	if (!c)
		return -1;
	db = ss_reg_rconn_db(r, c);
	*last = since;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = ss_reg_sql_fail(err, db, "could not read", r->path);
		goto out;
	}
	if ((uint64_t)ss_reg_query_int(
		db, "SELECT value FROM progress WHERE key = 'changes_trimmed'",
		0) > since) {
		ret = 1;
		goto out;
	}
	ret = stream_changes(
	    r, db,
	    "SELECT seq, shape_id, handle, added FROM shape_changes"
	    " WHERE seq > ?1 ORDER BY seq",
	    since, cb, ctx, last, err);
out:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	ss_reg_rconn_put(r, c);
	return ret;
}

int ss_registry_load_handles(struct ss_registry *r, ss_registry_change_cb cb,
			     void *ctx, uint64_t *last, struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	sqlite3 *db;
	int ret = 0;

	if (!c)
		return -1;
	db = ss_reg_rconn_db(r, c);
	/* One read transaction: the listing and the log position agree. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = ss_reg_sql_fail(err, db, "could not read", r->path);
		goto out;
	}
	*last = (uint64_t)ss_reg_query_int(
	    db, "SELECT max(seq) FROM shape_changes", 0);
	{
		uint64_t trimmed = (uint64_t)ss_reg_query_int(
		    db,
		    "SELECT value FROM progress WHERE key = 'changes_trimmed'",
		    0);

		if (trimmed > *last)
			*last = trimmed;
	}
	if (!cb)
		goto out; /* only the log position was asked for */
	/* Every live shape, as "added" rows with no log position. */
	ret = stream_changes(r, db,
			     "SELECT 0, id, handle, 1 FROM shapes ORDER BY id",
			     0, cb, ctx, NULL, err);
out:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	ss_reg_rconn_put(r, c);
	return ret;
}
