/*
 * create.c — the creation protocol of DESIGN.md and get-or-create (see
 * create.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "create.h"
#include "datadir.h"
#include "dnf.h"
#include "log.h"
#include "message.h"
#include "snapshot.h"
#include "subq.h"
#include "tablecache.h"

struct ss_create {
	struct ss_create_cfg cfg;
	/* Serialises get-or-create with the in-process creation table, so
	 * that a request that finds a pending shape also finds its
	 * creation. */
	pthread_mutex_t create_mu;
	/* the creations' share of the pool (creation_conn) */
	pthread_mutex_t slot_mu;
	pthread_cond_t slot_cond;
	int slots_free;
	atomic_llong starts; /* creation threads started (test hook) */
};

static void warn(struct ss_create *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(struct ss_create *c, const char *fmt, ...)
{
	struct ss_buf b = SS_BUF_INIT;
	va_list ap;

	if (!c->cfg.warn)
		return;
	va_start(ap, fmt);
	ss_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	c->cfg.warn(c->cfg.warn_ctx, b.buf);
	ss_buf_release(&b);
}

struct ss_create *ss_create_new(const struct ss_create_cfg *cfg)
{
	struct ss_create *c = ss_xcalloc(1, sizeof(*c));

	c->cfg = *cfg;
	pthread_mutex_init(&c->create_mu, NULL);
	pthread_mutex_init(&c->slot_mu, NULL);
	pthread_cond_init(&c->slot_cond, NULL);
	c->slots_free = -1;
	return c;
}

void ss_create_free(struct ss_create *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->create_mu);
	pthread_mutex_destroy(&c->slot_mu);
	pthread_cond_destroy(&c->slot_cond);
	free(c);
}

struct creation {
	struct ss_create *c;
	int config_err; /* failed on the database's setup */
	struct ss_live_shape *sh;
	struct ss_shape def;
	struct ss_pgq_table table;
	size_t *sel;
	size_t nsel;
	char *dir;
	struct ss_snapshot_writer *w;
	uint64_t chunk_fill;
	int64_t id;
	struct ss_pg_snapshot snap;
	char *deps; /* a subquery shape's (registry deps), else NULL */
};

static void creation_progress(struct creation *cr, uint64_t ready, int done)
{
	struct ss_live *live = cr->c->cfg.live;
	struct ss_live_shape *s = cr->sh;

	ss_live_lock(live);
	s->chunks_ready = ready;
	s->done = done;
	ss_live_event_locked(live, s);
	ss_live_unlock(live);
}

static int on_snapshot(void *ctx, const struct ss_pg_snapshot *snap,
		       struct ss_err *err)
{
	struct creation *cr = ctx;

	/* Recorded and flushed before any row is read: store filters the
	 * transactions the snapshot holds (DESIGN.md step 4). */
	if (ss_registry_set_snapshot(cr->c->cfg.reg, cr->id,
				     SS_SNAPSHOT_STARTED, snap, err) < 0 ||
	    ss_registry_flush(cr->c->cfg.reg, err) < 0)
		return -1;
	cr->snap.xmin = snap->xmin;
	cr->snap.xmax = snap->xmax;
	cr->snap.nxip = snap->nxip;
	cr->snap.xip = ss_xcalloc(snap->nxip + 1, sizeof(uint64_t));
	if (snap->nxip) /* xip is NULL when nothing was in progress */
		memcpy(cr->snap.xip, snap->xip, snap->nxip * sizeof(uint64_t));
	return 0;
}

static int on_row(void *ctx, const char *json, size_t len, struct ss_err *err)
{
	struct creation *cr = ctx;

	if (atomic_load(cr->c->cfg.stopping))
		return ss_err_set(err, SS_ERR_RUNTIME, "shutting down");
	if (ss_snapshot_add(cr->w, json, len, err) < 0)
		return -1;
	/* Mirror the writer's chunking rule so waiting readers of a chunk
	 * are woken as soon as it is complete. */
	cr->chunk_fill += len + 1;
	if (cr->chunk_fill >= cr->c->cfg.chunk_bytes) {
		cr->chunk_fill = 0;
		creation_progress(cr, cr->sh->chunks_ready + 1, 0);
	}
	return 0;
}

/* Record a partitioned table's leaves before its shape's snapshot, unless
 * recorded already: replicate compares later ones with them to find a
 * partition attached or detached after the snapshot. */
struct leaves_ctx {
	struct ss_registry *reg;
	struct ss_err *err;
};

static int record_leaves(uint32_t oid, const char *schema, const char *name,
			 const char *leaves, void *ctx)
{
	struct leaves_ctx *lc = ctx;
	struct ss_buf had = SS_BUF_INIT;
	int found, rc;

	(void)schema, (void)name;
	rc = ss_registry_partitions_get(lc->reg, oid, &had, &found, lc->err);
	if (rc == 0 && !found)
		rc = ss_registry_partitions_set(lc->reg, oid, leaves, lc->err);
	ss_buf_release(&had);
	return rc;
}

/*
 * Creations take at most this many of the pool's connections at once
 * (Electric's split of ELECTRIC_DB_POOL_SIZE into snapshot and admin
 * connections): the rest stay for describing tables, which request
 * threads do, so a thousand new shapes at once cannot stall every request.
 */

static void *creation_conn(struct ss_create *c, struct ss_err *err)
{
	void *conn;
	int admin = c->cfg.pool_size / 4;

	pthread_mutex_lock(&c->slot_mu);
	if (c->slots_free < 0) {
		admin = admin < 1 ? 1 : admin > 4 ? 4 : admin;
		c->slots_free = c->cfg.pool_size - admin > admin
				    ? c->cfg.pool_size - admin
				    : admin;
	}
	while (c->slots_free == 0)
		pthread_cond_wait(&c->slot_cond, &c->slot_mu);
	c->slots_free--;
	pthread_mutex_unlock(&c->slot_mu);
	conn = ss_pgq_get(c->cfg.pool, err);
	if (!conn) {
		pthread_mutex_lock(&c->slot_mu);
		c->slots_free++;
		pthread_cond_signal(&c->slot_cond);
		pthread_mutex_unlock(&c->slot_mu);
	}
	return conn;
}

static void creation_conn_put(struct ss_create *c, void *conn)
{
	if (!conn)
		return;
	ss_pgq_put(c->cfg.pool, conn);
	pthread_mutex_lock(&c->slot_mu);
	c->slots_free++;
	pthread_cond_signal(&c->slot_cond);
	pthread_mutex_unlock(&c->slot_mu);
}

/* While a subquery shape waits for route's mark (route activates it once
 * its inner shapes' snapshots are complete): 0, or -1 with err when one
 * of them is gone (its creation failed, or it was removed). */
static int inners_alive(struct creation *cr, struct ss_err *err)
{
	struct ss_subq_deps d;
	size_t i;
	int rc = 0;

	if (!cr->deps)
		return 0;
	if (ss_subq_deps_parse(cr->deps, &d, err) < 0)
		return -1;
	for (i = 0; i < d.ninner && rc == 0; i++) {
		struct ss_shape_rec rec;

		ss_shape_rec_init(&rec);
		rc = ss_registry_get_by_id(cr->c->cfg.reg, d.inner[i], &rec,
					   err);
		ss_shape_rec_release(&rec);
		if (rc == 0)
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"shape %" PRId64 ", one of its "
					"subqueries, is gone",
					d.inner[i]);
		else if (rc > 0)
			rc = 0;
	}
	ss_subq_deps_release(&d);
	return rc;
}

/* After route's mark: the transactions writing to the shape's table and
 * to the tables of its subqueries then have ended (ss_pgq_wait_writers),
 * so that the snapshot sees every one route passed before the mark. */
static int wait_writers(struct creation *cr, void *conn, struct ss_err *err)
{
	/* As long as a writer may run before the table joined the
	 * publication is allowed: 10 minutes for all of them. */
	int64_t deadline = ss_mono_us() + INT64_C(600000000);
	atomic_int *stopping = cr->c->cfg.stopping;
	struct ss_subq_deps d;
	size_t i;
	int rc;

	rc = ss_pgq_wait_writers(conn, cr->table.oid, NULL, NULL, deadline,
				 stopping, err);
	if (rc < 0 || !cr->deps)
		return rc;
	if (ss_subq_deps_parse(cr->deps, &d, err) < 0)
		return -1;
	for (i = 0; i < d.ntables && rc == 0; i++)
		rc = ss_pgq_wait_writers(conn, 0, d.tables[i].schema,
					 d.tables[i].table, deadline, stopping,
					 err);
	ss_subq_deps_release(&d);
	return rc;
}

/* A subquery shape's DNF plan, for the tags of its snapshot rows: its
 * clause compiled against its table with the tables of its deps. The
 * plan points into the clause *wp (*new*, ss_where_free after the plan)
 * and into *colsp (*new*, free() after the plan). */
static int subquery_plan(struct creation *cr, struct ss_dnf **out,
			 struct ss_where **wp, struct ss_where_column **colsp,
			 struct ss_err *err)
{
	struct ss_subq_deps d;
	struct ss_where_tables t = {ss_subq_deps_describe, &d};
	struct ss_where_limits lim;
	struct ss_where_opts o;
	struct ss_where_column *cols;
	struct ss_where *w = NULL;
	size_t i;
	int rc;

	if (ss_subq_deps_parse(cr->deps, &d, err) < 0)
		return -1;
	*colsp = cols = ss_xcalloc(cr->table.ncols + 1, sizeof(*cols));
	for (i = 0; i < cr->table.ncols; i++) {
		cols[i].name = cr->table.cols[i].name;
		cols[i].type = cr->table.cols[i].type;
		cols[i].is_enum = cr->table.cols[i].is_enum;
	}
	memset(&o, 0, sizeof(o));
	ss_where_limits_stored(&lim);
	o.limits = &lim;
	o.tables = &t;
	rc = ss_where_compile_opts(cr->def.where, cols, cr->table.ncols, NULL,
				   0, &o, &w, err);
	if (rc == 0)
		rc = ss_dnf_build(w, cols, cr->table.ncols, out, err);
	*wp = w;
	ss_subq_deps_release(&d);
	return rc;
}

/* DESIGN.md "Creating a shape": publication, route's mark, snapshot. */
static int create_shape(struct creation *cr, struct ss_err *err)
{
	struct ss_shape_rec rec;
	struct ss_buf end = SS_BUF_INIT;
	struct ss_pgq_snapshot_cb cb = {on_snapshot, on_row, cr};
	struct leaves_ctx lc = {cr->c->cfg.reg, err};
	struct ss_dnf *dnf = NULL;
	struct ss_where_column *pcols = NULL;
	struct ss_where *pw = NULL;
	int64_t deadline;
	uint64_t chunks;
	void *conn;
	int rc;

	conn = creation_conn(cr->c, err);
	if (!conn)
		return -1;
	rc = cr->c->cfg.manual_publishing
		 ? ss_pgq_check_published(conn, cr->c->cfg.publication,
					  &cr->table, err)
		 : ss_pgq_ensure_published(conn, cr->c->cfg.publication,
					   &cr->table, err);
	cr->config_err = rc < 0 && err->code == SS_ERR_INPUT;
	if (rc == 0 && cr->table.relkind == 'p')
		rc = ss_pgq_partition_sets(conn, cr->table.oid, record_leaves,
					   &lc, err);
	/* Not held while route is awaited: that may take the whole
	 * --active-timeout when route is slow or absent. */
	creation_conn_put(cr->c, conn);
	conn = NULL;
	if (rc < 0)
		goto out;
	if ((rc = ss_registry_flush(cr->c->cfg.reg, err)) < 0)
		goto out;
	deadline = ss_mono_us() + cr->c->cfg.active_timeout_ms * 1000;
	while (!cr->c->cfg.no_active_wait) {
		ss_shape_rec_init(&rec);
		rc = ss_registry_get_by_id(cr->c->cfg.reg, cr->id, &rec, err);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"shape removed while created");
			goto out;
		}
		rc = rec.active;
		ss_shape_rec_release(&rec);
		if (rc)
			break;
		if ((rc = inners_alive(cr, err)) < 0)
			goto out;
		if (ss_mono_us() > deadline ||
		    atomic_load(cr->c->cfg.stopping)) {
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"route did not pick the "
					"shape up in time");
			ss_err_hint(
			    err,
			    "is shapesync-route running on this registry?");
			goto out;
		}
		usleep(3000);
	}
	conn = creation_conn(cr->c, err);
	if (!conn) {
		rc = -1;
		goto out;
	}
	if ((rc = wait_writers(cr, conn, err)) < 0)
		goto out;
	rc = ss_snapshot_begin(cr->dir, cr->c->cfg.chunk_bytes, &cr->w, err);
	if (rc == 0)
		rc = ss_log_create(cr->dir, err);
	if (rc < 0)
		goto out;
	if (cr->deps) {
		struct ss_pgq_subset q;

		memset(&q, 0, sizeof(q));
		rc = subquery_plan(cr, &dnf, &pw, &pcols, err);
		q.dnf = dnf;
		q.tag_handle = cr->sh->handle;
		if (rc == 0)
			rc = ss_pgq_subset(
			    conn, &cr->table, cr->sel, cr->nsel, cr->def.where,
			    &q, cr->def.log_mode == SS_LOG_FULL, &cb, err);
	} else {
		rc = ss_pgq_snapshot(conn, &cr->table, cr->sel, cr->nsel,
				     cr->def.where,
				     cr->def.log_mode == SS_LOG_FULL, &cb, err);
	}
	if (rc < 0)
		goto out;
	ss_message_snapshot_end(&end, cr->snap.xmin, cr->snap.xmax,
				cr->snap.xip, cr->snap.nxip);
	rc = ss_snapshot_finish(cr->w, end.buf, end.len, &chunks, err);
	cr->w = NULL;
	if (rc < 0)
		goto out;
	rc = ss_registry_set_snapshot(cr->c->cfg.reg, cr->id,
				      SS_SNAPSHOT_COMPLETE, NULL, err);
	if (rc > 0)
		rc = 0;
	if (rc == 0)
		creation_progress(cr, chunks, 1);
out:
	ss_snapshot_abort(cr->w);
	cr->w = NULL;
	creation_conn_put(cr->c, conn);
	ss_buf_release(&end);
	ss_dnf_free(dnf);
	ss_where_free(pw);
	free(pcols);
	return rc < 0 ? -1 : 0;
}

/* The end of a creation, done (rc 0) or failed (rc -1, err): the shape's
 * requests wake, a failed shape leaves the registry and the data dir. */
static void creation_end(struct creation *cr, int rc, const struct ss_err *err)
{
	if (rc < 0) {
		struct ss_err e2 = SS_ERR_INIT;

		warn(cr->c, "could not create shape %s: %s", cr->sh->handle,
		     err->msg);
		ss_registry_remove(cr->c->cfg.reg, cr->id, &e2);
		ss_registry_flush(cr->c->cfg.reg, &e2);
		ss_datadir_trash(cr->c->cfg.data_dir, cr->dir, &e2);
		ss_live_lock(cr->c->cfg.live);
		cr->sh->failed = 1;
		/* A setup the operator must change: say what, as Electric does.
		 */
		cr->sh->fail_status = cr->config_err;
		snprintf(cr->sh->fail_msg, sizeof(cr->sh->fail_msg), "%.200s",
			 err->msg);
		ss_live_unlock(cr->c->cfg.live);
	} else {
		if (cr->c->cfg.created)
			atomic_fetch_add(cr->c->cfg.created, 1);
	}
	ss_live_lock(cr->c->cfg.live);
	cr->sh->creating = 0;
	ss_live_event_locked(cr->c->cfg.live, cr->sh);
	ss_live_put_locked(cr->c->cfg.live, cr->sh);
	ss_live_unlock(cr->c->cfg.live);
	ss_shape_release(&cr->def);
	ss_pgq_table_release(&cr->table);
	free(cr->sel);
	free(cr->dir);
	free(cr->snap.xip);
	free(cr->deps);
	free(cr);
}

static void *creation_main(void *arg)
{
	struct creation *cr = arg;
	struct ss_err err = SS_ERR_INIT;

	creation_end(cr, create_shape(cr, &err), &err);
	return NULL;
}

/*
 * Start a creation's thread: 0, or an errno value. The test hook
 * cfg.fail_thread_start = N (serve: $SHAPESYNC_TEST_FAIL_THREAD_START)
 * makes the Nth start fail with EAGAIN, to show that a request whose
 * thread cannot start gets a 503 and the server goes on.
 */
static int start_creation(struct creation *cr)
{
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	if (cr->c->cfg.fail_thread_start &&
	    atomic_fetch_add(&cr->c->starts, 1) + 1 ==
		cr->c->cfg.fail_thread_start)
		return EAGAIN;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = ss_thread_start(&th, &attr, creation_main, cr);
	pthread_attr_destroy(&attr);
	return rc;
}

/* Forget a shape left pending by an earlier serve. */
static void remove_unfinished(struct ss_create *c, int64_t id,
			      const char *handle, const char *dir,
			      struct ss_err *err)
{
	warn(c,
	     "removing shape %s: its creation did not finish (an earlier serve "
	     "stopped while creating it)",
	     handle);
	ss_registry_remove(c->cfg.reg, id, err);
	ss_datadir_trash(c->cfg.data_dir, dir, err);
}

/*
 * A subquery shape's deps: get or create the shape of each of its
 * subqueries first (their ids are known at once; route activates the
 * outer shape only once their snapshots are complete). *deps is *new*.
 */
static int inner_shapes(struct ss_create *c, const struct ss_shapereq *q,
			char **deps, struct ss_err *err)
{
	struct ss_buf b = SS_BUF_INIT;
	size_t i;

	ss_buf_adds(&b, "{\"inner\":[");
	for (i = 0; i < q->ninner; i++) {
		struct ss_create_shape in;
		int rc, tries = 0;

		ss_buf_init(&in.dir);
		do {
			in.sh = NULL;
			rc = ss_create_get(c, &q->inner[i], &in, err);
			if (in.sh)
				ss_live_put(c->cfg.live, in.sh);
		} while (rc == 0 && ++tries < 3);
		ss_buf_release(&in.dir);
		if (rc <= 0) {
			ss_buf_release(&b);
			return rc < 0 ? -1
				      : ss_err_set(err, SS_ERR_RUNTIME,
						   "the shape of a subquery "
						   "could not be created");
		}
		ss_buf_addf(&b, "%s%" PRId64, i ? "," : "", in.id);
	}
	ss_buf_addf(&b, "],\"tables\":%s}", q->deps_tables);
	*deps = ss_buf_detach(&b, NULL);
	return 0;
}

int ss_create_get(struct ss_create *c, const struct ss_shapereq *q,
		  struct ss_create_shape *out, struct ss_err *err)
{
	struct ss_live *live = c->cfg.live;
	struct ss_shape_rec rec;
	char *deps = NULL;
	int created = 0, rc;

	if (q->ninner && inner_shapes(c, q, &deps, err) < 0)
		return -1;
	ss_shape_rec_init(&rec);
	pthread_mutex_lock(&c->create_mu);
	rc = ss_registry_add_deps(c->cfg.reg, &q->def, &q->table.oid, 1, deps,
				  &rec, &created, err);
	if (rc < 0) {
		pthread_mutex_unlock(&c->create_mu);
		free(deps);
		return -1;
	}
	out->id = rec.id;
	snprintf(out->handle, sizeof(out->handle), "%s", rec.handle);
	ss_buf_reset(&out->dir);
	ss_datadir_shape_path(&out->dir, c->cfg.data_dir, rec.handle);
	ss_live_lock(live);
	out->sh = ss_live_get_locked(live, rec.handle, rec.id);
	ss_live_set_def_locked(out->sh, rec.definition);
	if (created) {
		struct creation *cr = ss_xcalloc(1, sizeof(*cr));
		size_t i;

		out->sh->creating = 1;
		ss_live_ref_locked(live, out->sh);
		cr->c = c;
		cr->sh = out->sh;
		cr->id = rec.id;
		ss_shape_init(&cr->def);
		ss_shape_set_where(&cr->def, q->def.where);
		cr->def.log_mode = q->def.log_mode;
		ss_tablecache_copy(&cr->table, &q->table);
		cr->sel = ss_xcalloc(q->nsel + 1, sizeof(*cr->sel));
		for (i = 0; i < q->nsel; i++)
			cr->sel[i] = q->sel[i];
		cr->nsel = q->nsel;
		cr->dir = ss_xstrdup(out->dir.buf);
		cr->deps = deps;
		deps = NULL;
		ss_live_unlock(live);
		rc = start_creation(cr);
		if (rc != 0) {
			/* The request goes on to find the creation failed: a
			 * 503, and the server keeps serving. */
			struct ss_err e = SS_ERR_INIT;

			ss_err_set(&e, SS_ERR_RUNTIME,
				   "could not start a thread: %s",
				   strerror(rc));
			creation_end(cr, -1, &e);
		}
		pthread_mutex_unlock(&c->create_mu);
		ss_shape_rec_release(&rec);
		return 1;
	}
	rc = 1;
	if (rec.snapshot_state != SS_SNAPSHOT_COMPLETE && !out->sh->creating &&
	    !out->sh->failed) {
		/* Pending in the registry but no creation here: it died
		 * with an earlier serve. Remove it; the client retries. */
		rc = 0;
	}
	ss_live_unlock(live);
	pthread_mutex_unlock(&c->create_mu);
	if (rc == 0)
		remove_unfinished(c, rec.id, rec.handle, out->dir.buf, err);
	ss_shape_rec_release(&rec);
	free(deps);
	return rc;
}

/* Shapes whose creation died with an earlier serve can never finish. */
static int stale_cb(const struct ss_shape_rec *rec, void *ctx)
{
	struct ss_buf *ids = ctx;

	if (rec->snapshot_state != SS_SNAPSHOT_COMPLETE)
		ss_buf_addf(ids, "%" PRId64 " %s\n", rec->id, rec->handle);
	return 0;
}

int ss_create_remove_stale(struct ss_create *c, struct ss_err *err)
{
	struct ss_buf ids = SS_BUF_INIT;
	struct ss_err e2 = SS_ERR_INIT;
	char *line, *save = NULL;

	if (ss_registry_foreach(c->cfg.reg, stale_cb, &ids, err) < 0) {
		ss_buf_release(&ids);
		return -1;
	}
	for (line = strtok_r(ids.buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int64_t id = strtoll(line, NULL, 10);
		const char *h = strchr(line, ' ');
		struct ss_buf dir = SS_BUF_INIT;

		if (!h)
			continue;
		ss_datadir_shape_path(&dir, c->cfg.data_dir, h + 1);
		remove_unfinished(c, id, h + 1, dir.buf, &e2);
		ss_buf_release(&dir);
	}
	ss_buf_release(&ids);
	return ss_registry_flush(c->cfg.reg, err) < 0 ? -1 : 0;
}
