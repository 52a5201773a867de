/*
 * movein.c — lib/movein.h: route's move-ins, their queries, the splice
 * and the state file that makes them crash-safe.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datadir.h"
#include "frame.h"
#include "log.h"
#include "message.h"
#include "movein.h"
#include "pg.h"
#include "pgq.h"
#include "shape.h"
#include "tablecache.h"

/* How long a query waits for the transactions that moved its values to
 * be visible to new snapshots (they are committed: route read them). */
#define VISIBLE_WAIT_US (10 * 1000000LL)

/* The outer tables' descriptions are kept this long (and dropped at
 * every relation frame: ss_movein_forget_tables), at most this many. */
#define DESCRIBE_TTL_US (60 * 1000000LL)
#define DESCRIBE_MAX 256

/* One move-in as the state file records it: a value of dependency dep
 * of outer shape `outer`, moved by transaction xid (commit LSN lsn);
 * carrier: the commit LSN of the transaction its lines are written into
 * (0: not written yet). number: lib/subq's, 0 until pending in route. */
struct rec {
	int64_t outer;
	char *handle;
	size_t dep;
	char **vals;
	size_t nvals;
	uint64_t number, xid;
	ss_lsn lsn, carrier;
	int out; /* a move-out as deletes (move_out=delete) */
	/* cancelled (its value moved back before its lines were written)
	 * by the transaction committed at this LSN; 0: not. Kept until that
	 * transaction is durable: a restart before then loads the views
	 * with the move made and not undone, and must make the move
	 * pending again so that the shape routes as it did until the
	 * cancel comes again. */
	ss_lsn cancelled;
	/* restored with its lines in the shape's log (or none, `empty`)
	 * before its transaction comes again: that transaction's move makes
	 * it pending again, with no query, until its carrier (recount) */
	int done;
	/* the carrier's last change's pos when the lines went in after its
	 * changes, else -1 */
	int64_t after;
	/* restored with its lines in the log of the shape of a nested
	 * subquery while the carrier is routed again: the view of that
	 * shape counts them again there (recount) */
	int recount;
	/* its carrier got no line: a move-out as deletes whose query found
	 * no row (the shape's log cannot tell whether the carrier was
	 * written; a restart settles it there, as the first run did) */
	int empty;
};

/* How many lines each shape has in the transaction at hand, for one
 * placement (before its changes, or after them): the offsets of a
 * shape's own move-ins and of the move-out events its nested subqueries
 * cause share one numbering. */
struct lineno {
	int64_t id;
	uint64_t next;
};

/* A move-in in flight: its query is done, its lines wait for the splice. */
struct job {
	int64_t outer;
	struct ss_subq_movein plan;
	struct ss_pg_snapshot snap; /* xip owned */
	FILE *rows;		    /* one line per row */
	uint64_t nrows;
	unsigned reruns;
	int64_t first_us; /* when its first query ran (ss_mono_us) */
	/* pg_current_wal_insert_lsn() with the snapshot: a transaction the
	 * snapshot sees ends at or below it */
	ss_lsn insert_lsn;
};

/* An outer shape whose own snapshot is behind the stream: a transaction
 * it does not see has been seen (ss_movein_add). */
struct past {
	int64_t *ids; /* ascending */
	size_t n, alloc;
};

struct ss_movein {
	struct ss_movein_cfg cfg;
	char *conninfo, *state_path, *datadir;
	struct past past;
	struct ss_pgq_pool *pool;
	/* the tables' descriptions (a catalog query of several ms each
	 * time), asked on conn, the connection of the query in hand */
	struct ss_tablecache *tables;
	void *conn;
	struct rec *recs;
	size_t nrecs, arecs;
	struct job **jobs;
	size_t njobs, ajobs;
	struct lineno *lines; /* for lines_lsn and lines_after */
	size_t nlines, alines;
	ss_lsn lines_lsn;
	int64_t lines_after;
	int dirty; /* recs differ from the state file */
	/* The transactions routed while a move was pending, since the last
	 * query whose snapshot saw them all: they were routed with the
	 * moves not made, so the next query's snapshot must see them too
	 * (a commit is in the WAL, where route reads it, a moment before
	 * snapshots see it). */
	struct {
		uint64_t *xids;
		size_t n, alloc;
	} routed;
	/* a transaction the query in hand must see too, or 0 (the one a
	 * splice would have gone into: ss_movein_begin) */
	uint64_t must_see;
	struct ss_movein_stats st;
};

/* ------------------------------------------------------------ records */

static void rec_free(struct rec *r)
{
	size_t i;

	free(r->handle);
	for (i = 0; i < r->nvals; i++)
		free(r->vals[i]);
	free(r->vals);
}

static void rec_drop(struct ss_movein *m, size_t i)
{
	rec_free(&m->recs[i]);
	memmove(m->recs + i, m->recs + i + 1,
		(m->nrecs - i - 1) * sizeof(*m->recs));
	m->nrecs--;
	m->dirty = 1;
}

static struct rec *rec_new(struct ss_movein *m)
{
	struct rec *r;

	SS_GROW(m->recs, m->arecs, m->nrecs + 1);
	r = &m->recs[m->nrecs++];
	memset(r, 0, sizeof(*r));
	r->after = -1;
	m->dirty = 1;
	return r;
}

/* The next line number of shape id in transaction lsn, placed before
 * its changes (after < 0) or after them; advanced by one. */
static uint64_t lineno(struct ss_movein *m, int64_t id, ss_lsn lsn,
		       int64_t after)
{
	size_t i;

	if (m->lines_lsn != lsn || (m->lines_after < 0) != (after < 0)) {
		m->nlines = 0;
		m->lines_lsn = lsn;
		m->lines_after = after;
	}
	for (i = 0; i < m->nlines && m->lines[i].id != id; i++)
		;
	if (i == m->nlines) {
		SS_GROW(m->lines, m->alines, m->nlines + 1);
		m->lines[m->nlines].id = id;
		m->lines[m->nlines++].next = 0;
	}
	return m->lines[i].next++;
}

/* Forget every record of outer shape id. */
static void recs_drop_outer(struct ss_movein *m, int64_t id)
{
	size_t i = 0;

	while (i < m->nrecs)
		if (m->recs[i].outer == id)
			rec_drop(m, i);
		else
			i++;
}

static int in_plan(const struct ss_subq_movein *p, const struct rec *r)
{
	size_t i;

	if (r->outer != p->outer || !r->number)
		return 0;
	for (i = 0; i < p->nnumbers; i++)
		if (p->numbers[i] == r->number)
			return 1;
	return 0;
}

static void lsn_json(json_t *o, const char *key, ss_lsn lsn)
{
	char b[SS_LSN_STRMAX];

	json_object_set_new(o, key, json_string(ss_lsn_format(lsn, b)));
}

/* Write the records, if they changed (a cancelled move stays until the
 * cancel is durable: struct rec). */
static int persist(struct ss_movein *m, struct ss_err *err)
{
	json_t *root, *arr;
	char *text;
	size_t i, k;
	int rc;

	if (!m->dirty)
		return 0;
	if (!m->nrecs) {
		if (unlink(m->state_path) < 0 && errno != ENOENT)
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "could not remove '%s': %s",
					  m->state_path, strerror(errno));
		m->dirty = 0;
		return 0;
	}
	root = json_object();
	arr = json_array();
	for (i = 0; i < m->nrecs; i++) {
		const struct rec *r = &m->recs[i];
		json_t *o = json_object(), *v = json_array();

		json_object_set_new(o, "shape", json_integer(r->outer));
		json_object_set_new(o, "handle", json_string(r->handle));
		json_object_set_new(o, "dep", json_integer((json_int_t)r->dep));
		for (k = 0; k < r->nvals; k++)
			json_array_append_new(v, r->vals[k]
						     ? json_string(r->vals[k])
						     : json_null());
		json_object_set_new(o, "value", v);
		json_object_set_new(o, "xid", json_integer((json_int_t)r->xid));
		if (r->out)
			json_object_set_new(o, "out", json_true());
		lsn_json(o, "lsn", r->lsn);
		if (r->carrier)
			lsn_json(o, "carrier", r->carrier);
		if (r->carrier && r->after >= 0)
			json_object_set_new(o, "after",
					    json_integer((json_int_t)r->after));
		if (r->carrier && r->empty)
			json_object_set_new(o, "empty", json_true());
		if (r->cancelled)
			lsn_json(o, "cancelled", r->cancelled);
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "moveins", arr);
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "out of memory writing '%s'", m->state_path);
	rc = ss_write_file_atomic(m->state_path, text, strlen(text), err);
	free(text);
	if (rc == 0)
		m->dirty = 0;
	return rc;
}

static int bad_state(struct ss_movein *m, struct ss_err *err, const char *what)
{
	return ss_err_set(err, SS_ERR_INPUT, "'%s' is not a move-in state: %s",
			  m->state_path, what);
}

static int parse_lsn(json_t *v, ss_lsn *out)
{
	struct ss_err e = SS_ERR_INIT;

	return json_is_string(v) &&
		       ss_lsn_parse(json_string_value(v), out, &e) == 0
		   ? 0
		   : -1;
}

static int load(struct ss_movein *m, struct ss_err *err)
{
	json_error_t je;
	json_t *root, *arr, *o;
	size_t i, k;
	int rc = -1;

	root = json_load_file(m->state_path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (access(m->state_path, F_OK) < 0 && errno == ENOENT)
			return 0;
		return ss_err_set(err, SS_ERR_INPUT, "could not read '%s': %s",
				  m->state_path, je.text);
	}
	arr = json_object_get(root, "moveins");
	if (!json_is_array(arr)) {
		bad_state(m, err, "no \"moveins\" array");
		goto out;
	}
	json_array_foreach(arr, i, o)
	{
		json_t *v = json_object_get(o, "value"), *e;
		struct rec *r;

		if (!json_is_integer(json_object_get(o, "shape")) ||
		    !json_is_string(json_object_get(o, "handle")) ||
		    !json_is_integer(json_object_get(o, "dep")) ||
		    json_integer_value(json_object_get(o, "dep")) < 0 ||
		    !json_is_integer(json_object_get(o, "xid")) ||
		    !json_is_array(v) || !json_array_size(v) ||
		    json_array_size(v) > SS_SUBQ_COLUMNS_MAX) {
			bad_state(m, err, "a move-in without its members");
			goto out;
		}
		/* only written as true; read as anything else, a move-out's
		 * deletes would be restored as a move-in, and lost */
		if (json_object_get(o, "out") &&
		    !json_is_boolean(json_object_get(o, "out"))) {
			bad_state(m, err, "\"out\" is not a boolean");
			goto out;
		}
		r = rec_new(m);
		r->outer = json_integer_value(json_object_get(o, "shape"));
		r->handle =
		    ss_xstrdup(json_string_value(json_object_get(o, "handle")));
		r->dep = (size_t)json_integer_value(json_object_get(o, "dep"));
		r->xid =
		    (uint64_t)json_integer_value(json_object_get(o, "xid"));
		r->out = json_is_true(json_object_get(o, "out"));
		r->vals = ss_xcalloc(json_array_size(v), sizeof(*r->vals));
		r->nvals = json_array_size(v);
		json_array_foreach(v, k, e)
		{
			if (!json_is_string(e) && !json_is_null(e)) {
				bad_state(m, err, "a value is not a string");
				goto out;
			}
			if (json_is_string(e))
				r->vals[k] = ss_xstrdup(json_string_value(e));
		}
		if (parse_lsn(json_object_get(o, "lsn"), &r->lsn) < 0 ||
		    (json_object_get(o, "carrier") &&
		     parse_lsn(json_object_get(o, "carrier"), &r->carrier) <
			 0)) {
			bad_state(m, err, "an LSN is not one");
			goto out;
		}
		if (json_object_get(o, "cancelled") &&
		    parse_lsn(json_object_get(o, "cancelled"), &r->cancelled) <
			0) {
			bad_state(m, err, "an LSN is not one");
			goto out;
		}
		if (json_object_get(o, "empty")) {
			if (!json_is_boolean(json_object_get(o, "empty"))) {
				bad_state(m, err,
					  "\"empty\" is not true or "
					  "false");
				goto out;
			}
			r->empty = json_is_true(json_object_get(o, "empty"));
		}
		if (json_object_get(o, "after")) {
			json_t *a = json_object_get(o, "after");

			if (!json_is_integer(a) || json_integer_value(a) < 0) {
				bad_state(m, err,
					  "\"after\" is not a position");
				goto out;
			}
			r->after = (int64_t)json_integer_value(a);
		}
	}
	m->dirty = 0;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* --------------------------------------------------------------- jobs */

static void job_free(struct job *j)
{
	if (!j)
		return;
	ss_subq_movein_release(&j->plan);
	free(j->snap.xip);
	if (j->rows)
		fclose(j->rows);
	free(j);
}

static struct job *job_of(const struct ss_movein *m, int64_t id, size_t *at)
{
	size_t i;

	for (i = 0; i < m->njobs; i++)
		if (m->jobs[i]->outer == id) {
			if (at)
				*at = i;
			return m->jobs[i];
		}
	return NULL;
}

static void job_drop(struct ss_movein *m, size_t i)
{
	job_free(m->jobs[i]);
	memmove(m->jobs + i, m->jobs + i + 1,
		(m->njobs - i - 1) * sizeof(*m->jobs));
	m->njobs--;
}

/* The shape cannot follow: its clients refetch. */
static void fail_outer(struct ss_movein *m, int64_t id, const char *why)
{
	size_t at;

	m->st.failed++;
	if (job_of(m, id, &at))
		job_drop(m, at);
	recs_drop_outer(m, id);
	m->cfg.invalidate(m->cfg.ctx, id, why);
}

static int on_snapshot(void *ctx, const struct ss_pg_snapshot *snap,
		       struct ss_err *err)
{
	struct job *j = ctx;

	(void)err;
	free(j->snap.xip);
	j->snap = *snap;
	j->snap.xip = NULL;
	if (snap->nxip) {
		j->snap.xip = ss_xmalloc(snap->nxip * sizeof(*snap->xip));
		memcpy(j->snap.xip, snap->xip, snap->nxip * sizeof(*snap->xip));
	}
	return 0;
}

static int on_row(void *ctx, const char *json, size_t len, struct ss_err *err)
{
	struct job *j = ctx;

	if (fwrite(json, 1, len, j->rows) != len || putc('\n', j->rows) == EOF)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not write a move-in's rows: %s",
				  strerror(errno));
	j->nrows++;
	return 0;
}

/* 1 if the snapshot sees every transaction that moved j's values, and
 * every one routed since they moved (m->routed, m->must_see). */
static int sees_moves(const struct ss_movein *m, const struct job *j)
{
	size_t i;

	for (i = 0; i < m->nrecs; i++)
		if (in_plan(&j->plan, &m->recs[i]) &&
		    !ss_pg_snapshot_sees(&j->snap, m->recs[i].xid))
			return 0;
	for (i = 0; i < m->routed.n; i++)
		if (!ss_pg_snapshot_sees(&j->snap, m->routed.xids[i]))
			return 0;
	return !m->must_see || ss_pg_snapshot_sees(&j->snap, m->must_see);
}

/* The columns of the shape's definition, as indexes into t's columns
 * (*new* array); for a delete (pk_only) with replica default, those of
 * the primary key alone, as a delete carries them. */
static size_t *selected(const struct ss_shape *def,
			const struct ss_pgq_table *t, int pk_only, size_t *n)
{
	size_t *sel = ss_xcalloc(t->ncols + 1, sizeof(*sel)), i, k;

	*n = 0;
	for (i = 0; i < t->ncols; i++) {
		/* (every column PostgreSQL replicates, as the snapshot) */
		int want = !def->columns && !t->cols[i].generated;

		for (k = 0; !want && k < def->ncolumns; k++)
			want = !strcmp(def->columns[k], t->cols[i].name);
		if (want && pk_only && def->replica != SS_REPLICA_FULL) {
			for (k = 0; k < t->npk && t->pk[k] != i; k++)
				;
			want = k < t->npk;
		}
		if (want)
			sel[(*n)++] = i;
	}
	return sel;
}

/* The tablecache's describe function: ask on the connection in hand. */
static int describe(void *ctx, const char *schema, const char *name,
		    struct ss_pgq_table *t, struct ss_err *err)
{
	struct ss_movein *m = ctx;

	return ss_pgq_describe(m->conn, schema, name, t, err);
}

/*
 * Run j's query (its plan is set): rows into a new temporary file, the
 * snapshot and the WAL insert position with it. -1 with err when it
 * cannot be done.
 */
static int query(struct ss_movein *m, struct job *j, struct ss_err *err)
{
	struct ss_shape_rec rec;
	struct ss_shape def;
	struct ss_pgq_table t;
	struct ss_pgq_subset q;
	struct ss_pgq_snapshot_cb cb = {on_snapshot, on_row, j};
	size_t *sel = NULL, nsel = 0;
	int64_t until = ss_mono_us() + VISIBLE_WAIT_US;
	int have_t = 0, rc = -1;
	void *conn = NULL;

	ss_shape_rec_init(&rec);
	ss_shape_init(&def);
	memset(&t, 0, sizeof(t));
	if (!m->pool) {
		m->pool = ss_pgq_pool_new(m->conninfo, 1, 10);
		ss_pgq_pool_set_statement_timeout(m->pool,
						  m->cfg.query_timeout_ms);
	}
	rc = ss_registry_get_by_id(m->cfg.reg, j->outer, &rec, err);
	if (rc == 0)
		ss_err_set(err, SS_ERR_RUNTIME, "the shape is gone");
	if (rc <= 0 || ss_shape_from_canonical(&def, rec.definition, err) < 0)
		goto fail;
	if (!(conn = ss_pgq_get(m->pool, err)))
		goto fail;
	if (!m->tables)
		m->tables = ss_tablecache_new(describe, m, DESCRIBE_TTL_US,
					      DESCRIBE_MAX);
	m->conn = conn;
	rc = ss_tablecache_describe(m->tables, def.schema, def.table, &t, err);
	m->conn = NULL;
	if (rc == 0)
		ss_err_set(err, SS_ERR_RUNTIME, "its table is gone");
	if (rc <= 0)
		goto fail;
	have_t = 1;
	rc = -1; /* until the rows are in and the snapshot sees the moves */
	sel = selected(&def, &t, j->plan.out, &nsel);
	memset(&q, 0, sizeof(q));
	q.where = j->plan.where.buf;
	/* the rows that leave, as deletes; those that enter, as inserts
	 * marked is_move_in */
	q.operation = j->plan.out ? "delete" : NULL;
	q.headers = j->plan.out ? NULL : ",\"is_move_in\":true";
	q.dnf = j->plan.dnf;
	q.tag_handle = j->plan.handle;
	q.ac_sql = j->plan.ac.buf;
	q.nparams = (int)j->plan.nparams;
	q.insert_lsn = &j->insert_lsn;
	q.params = ss_xcalloc(j->plan.nparams + 1, sizeof(*q.params));
	for (size_t i = 0; i < j->plan.nparams; i++)
		((const char **)q.params)[i] = j->plan.params[i].buf;
	for (;;) {
		if (j->rows)
			fclose(j->rows);
		j->nrows = 0;
		if (!(j->rows = tmpfile())) {
			ss_err_set(err, SS_ERR_RUNTIME,
				   "could not make a temporary file: %s",
				   strerror(errno));
			break;
		}
		if (ss_pgq_subset(conn, &t, sel, nsel, NULL, &q, 1, &cb, err) <
		    0)
			break;
		m->st.queries++;
		if (sees_moves(m, j)) {
			/* later snapshots see them too */
			m->routed.n = 0;
			rc = 0;
			break;
		}
		/* Committed (route read it), not yet visible: the moment
		 * between a commit's WAL flush and its proc array exit,
		 * which a busy machine can stretch to milliseconds. */
		if (ss_mono_us() > until) {
			ss_err_set(err, SS_ERR_RUNTIME,
				   "a committed transaction stays invisible "
				   "to new snapshots");
			break;
		}
		usleep(2000);
	}
	free((void *)q.params);
fail:
	if (conn)
		ss_pgq_put(m->pool, conn);
	if (have_t)
		ss_pgq_table_release(&t);
	free(sel);
	ss_shape_release(&def);
	ss_shape_rec_release(&rec);
	return rc;
}

/*
 * Commit a marker transaction: a transaction that no move-in's snapshot
 * taken so far sees, so that each finds its splice (ss_movein_begin).
 * A failure invalidates the shapes waiting for one.
 */
static void marker(struct ss_movein *m)
{
	static const char *const text[1] = {"move-in"};
	struct ss_err err = SS_ERR_INIT;
	PGresult *res;
	void *conn;
	char why[600];

	if (!m->njobs)
		return;
	conn = ss_pgq_get(m->pool, &err);
	if (conn &&
	    ss_pg_exec(conn, "could not write a move-in marker",
		       "SELECT pg_catalog.pg_logical_emit_message(true, "
		       "'" SS_MOVEIN_MARK_PREFIX "', $1)",
		       1, text, &res, NULL, &err) == 0) {
		PQclear(res);
		ss_pgq_put(m->pool, conn);
		return;
	}
	if (conn)
		ss_pgq_put(m->pool, conn);
	snprintf(why, sizeof(why), "its move-in cannot be placed: %s", err.msg);
	while (m->njobs)
		fail_outer(m, m->jobs[0]->outer, why);
}

/*
 * Start (or restart) the move-in of outer shape id: plan and query.
 * j is the shape's job when it has one (restarted), else NULL. Returns
 * the job in flight, or NULL (nothing pending, or the shape failed).
 */
static struct job *start(struct ss_movein *m, int64_t id, struct job *j)
{
	struct ss_err err = SS_ERR_INIT;
	char why[600];
	int rc;

	if (!j) {
		j = ss_xcalloc(1, sizeof(*j));
		j->outer = id;
		j->first_us = ss_mono_us();
		SS_GROW(m->jobs, m->ajobs, m->njobs + 1);
		m->jobs[m->njobs++] = j;
	}
	ss_subq_movein_release(&j->plan);
	rc = ss_subq_movein_next(m->cfg.subq, id, &j->plan, &err);
	if (rc <= 0) {
		size_t at = 0;

		if (job_of(m, id, &at))
			job_drop(m, at);
		if (rc < 0) {
			snprintf(why, sizeof(why),
				 "its move-in cannot be planned: %s", err.msg);
			fail_outer(m, id, why);
		}
		return NULL;
	}
	if (!m->conninfo) {
		fail_outer(m, id,
			   "a value moved into one of its subqueries, and "
			   "route has no --db to query the rows that enter");
		return NULL;
	}
	if (query(m, j, &err) < 0) {
		snprintf(why, sizeof(why), "its move-in query failed: %s",
			 err.msg);
		fail_outer(m, id, why);
		return NULL;
	}
	return j;
}

/* Write one line of shape id into transaction xid/lsn, placed before its
 * changes (after < 0) or after them, numbered after the shape's lines
 * there (lineno). */
static void put_line(struct ss_movein *m, uint64_t xid, ss_lsn lsn,
		     int64_t after, int64_t id, const char *line, size_t len)
{
	json_t *f = ss_frame_new_movein(xid, lsn, lineno(m, id, lsn, after), id,
					after, line, len);

	m->cfg.write(m->cfg.ctx, f);
	json_decref(f);
}

/*
 * Nested subqueries (docs/subqueries.md): shape id's lines of a move,
 * written into transaction xid/lsn, when id is itself the shape of a
 * subquery (made with move_out=delete and replica=full, so each row that
 * enters or leaves it is a line with its whole row). The view of id
 * follows each row line as a change of the shape: its values that come
 * or go become moves of the shapes that depend on it, appended to moves.
 * names: the view's columns (ss_subq_inner_columns). A line that cannot
 * be counted invalidates those shapes (a move of theirs it would be).
 */
static void view_line(struct ss_movein *m, int64_t id, const char *const *names,
		      size_t ncols, const char *line, size_t len, uint64_t xid,
		      ss_lsn lsn, struct ss_subq_moves *moves)
{
	json_t *o = json_loadb(line, len, 0, NULL), *val, *v;
	const char *op, **vals = ss_xcalloc(ncols + 1, sizeof(*vals));
	struct ss_err err = SS_ERR_INIT;
	enum ss_frame_op fop;
	size_t i;
	int rc = 0;

	op = json_string_value(
	    json_object_get(json_object_get(o, "headers"), "operation"));
	val = json_object_get(o, "value");
	if (!o || !op) {
		if (!o)
			rc = ss_err_set(&err, SS_ERR_INPUT, "a line not JSON");
		goto out; /* an event or a control line */
	}
	if (!strcmp(op, "insert"))
		fop = SS_FRAME_OP_INSERT;
	else if (!strcmp(op, "delete"))
		fop = SS_FRAME_OP_DELETE;
	else {
		rc = ss_err_set(&err, SS_ERR_INPUT, "a move's line is an %s",
				op);
		goto out;
	}
	for (i = 0; i < ncols && rc == 0; i++) {
		v = json_object_get(val, names[i]);
		if (json_is_string(v))
			vals[i] = json_string_value(v);
		else if (!json_is_null(v))
			rc = ss_err_set(&err, SS_ERR_INPUT,
					"a move's line lacks column %s",
					names[i]);
	}
	if (rc == 0)
		rc = ss_subq_inner(m->cfg.subq, id, fop,
				   fop == SS_FRAME_OP_INSERT ? vals : NULL,
				   fop == SS_FRAME_OP_DELETE ? vals : NULL, xid,
				   lsn, moves, &err);
out:
	if (rc < 0)
		ss_subq_invalidate_users(
		    m->cfg.subq, id, moves,
		    "a move of its own: %s (xid %" PRIu64
		    ", transaction %" PRIX32 "/%" PRIX32 ")",
		    err.msg, xid, (uint32_t)(lsn >> 32), (uint32_t)lsn);
	free(vals);
	json_decref(o);
}

/*
 * What the moves of a nested subquery's lines (view_line) do, at the
 * place of those lines: a move-out event is a line of its shape there
 * (one per shape, the patterns of all its values), a move-in or a
 * move-out as deletes is pending from this transaction like any other.
 */
static void nested_moves(struct ss_movein *m, struct ss_subq_moves *moves,
			 uint64_t xid, ss_lsn lsn, int64_t after)
{
	struct ss_buf b = SS_BUF_INIT;
	size_t i, k;

	for (i = 0; i < moves->n; i++) {
		const struct ss_subq_move *mv = &moves->v[i];
		int first = 1;

		if (mv->kind != SS_SUBQ_MOVE_OUT)
			continue;
		for (k = 0; k < i && first; k++)
			first = moves->v[k].kind != SS_SUBQ_MOVE_OUT ||
				moves->v[k].outer != mv->outer;
		if (!first)
			continue;
		ss_buf_reset(&b);
		ss_buf_adds(&b, "{\"headers\":{\"event\":\"move-out\","
				"\"patterns\":[");
		for (k = i; k < moves->n; k++) {
			const struct ss_subq_move *o = &moves->v[k];

			if (o->kind != SS_SUBQ_MOVE_OUT ||
			    o->outer != mv->outer || o->text.len < 2)
				continue;
			if (b.buf[b.len - 1] != '[')
				ss_buf_addc(&b, ',');
			/* the pattern objects, without the brackets */
			ss_buf_add(&b, o->text.buf + 1, o->text.len - 2);
		}
		ss_buf_addf(&b, "],\"txids\":[%" PRIu64 "]}}",
			    xid & 0xFFFFFFFFu);
		put_line(m, xid, lsn, after, mv->outer, b.buf, b.len);
	}
	ss_buf_release(&b);
	for (i = 0; i < moves->n; i++) {
		const struct ss_subq_move *mv = &moves->v[i];

		if (mv->kind == SS_SUBQ_INVALIDATE)
			fail_outer(m, mv->outer, mv->text.buf);
		else if (mv->kind == SS_SUBQ_MOVE_IN ||
			 mv->kind == SS_SUBQ_MOVE_OUT_ROWS)
			ss_movein_add(m, mv, xid, lsn);
	}
}

/* Write j's lines into the transaction xid/lsn (before its changes, or
 * with after >= 0 after them), numbered after the shape's lines there,
 * and make its values count. */
static int splice(struct ss_movein *m, struct job *j, uint64_t xid, ss_lsn lsn,
		  int64_t after, struct ss_err *err)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_subq_moves moves;
	const char *const *names, *const *types;
	size_t ncols = 0;
	int nested;
	uint64_t *txids = NULL;
	size_t i, k, ntx = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	/* Recorded first: once a line is written, a restart must not
	 * query this move-in again unless this transaction is lost. */
	for (i = 0; i < m->nrecs; i++)
		if (in_plan(&j->plan, &m->recs[i])) {
			uint64_t t = m->recs[i].xid & 0xFFFFFFFFu;

			m->recs[i].carrier = lsn;
			m->recs[i].after = after;
			m->recs[i].empty = j->plan.out && !j->nrows;
			m->dirty = 1;
			for (k = 0; k < ntx && txids[k] != t; k++)
				;
			if (k == ntx) {
				txids = ss_xrealloc(txids,
						    (ntx + 1) * sizeof(*txids));
				txids[ntx++] = t;
			}
		}
	if (persist(m, err) < 0) {
		free(txids);
		return -1;
	}
	/* ascending, as Electric sorts them */
	for (i = 1; i < ntx; i++)
		for (k = i; k > 0 && txids[k - 1] > txids[k]; k--) {
			uint64_t t = txids[k];

			txids[k] = txids[k - 1];
			txids[k - 1] = t;
		}
	/* A move-out as deletes is its deletes alone: its clients do not
	 * read events. */
	if (!j->plan.out) {
		ss_buf_adds(&b, "{\"headers\":{\"event\":\"move-in\","
				"\"patterns\":");
		ss_buf_add(&b, j->plan.patterns.buf, j->plan.patterns.len);
		ss_buf_adds(&b, ",\"txids\":[");
		for (i = 0; i < ntx; i++)
			ss_buf_addf(&b, "%s%" PRIu64, i ? "," : "", txids[i]);
		ss_buf_adds(&b, "]}}");
		put_line(m, xid, lsn, after, j->outer, b.buf, b.len);
	}
	free(txids);
	nested = ss_subq_inner_columns(m->cfg.subq, j->outer, &names, &types,
				       &ncols);
	ss_subq_moves_init(&moves);
	rewind(j->rows);
	while ((len = getline(&line, &cap, j->rows)) > 0) {
		if (line[len - 1] == '\n')
			len--;
		put_line(m, xid, lsn, after, j->outer, line, (size_t)len);
		if (nested)
			view_line(m, j->outer, names, ncols, line, (size_t)len,
				  xid, lsn, &moves);
	}
	free(line);
	if (j->nrows && !j->plan.out) {
		ss_buf_reset(&b);
		ss_message_snapshot_end(&b, j->snap.xmin, j->snap.xmax,
					j->snap.xip, j->snap.nxip);
		put_line(m, xid, lsn, after, j->outer, b.buf, b.len);
	}
	ss_buf_release(&b);
	for (i = 0; i < j->plan.nnumbers; i++)
		ss_subq_settle(m->cfg.subq, j->outer, j->plan.numbers[i]);
	nested_moves(m, &moves, xid, lsn, after);
	ss_subq_moves_release(&moves);
	m->st.written++;
	m->st.rows += j->nrows;
	return 0;
}

/* ---------------------------------------------------------------- API */

struct ss_movein *ss_movein_new(const struct ss_movein_cfg *cfg,
				struct ss_err *err)
{
	struct ss_movein *m = ss_xcalloc(1, sizeof(*m));

	m->cfg = *cfg;
	m->conninfo = cfg->conninfo ? ss_xstrdup(cfg->conninfo) : NULL;
	m->state_path = ss_xstrdup(cfg->state_path);
	m->datadir = cfg->datadir ? ss_xstrdup(cfg->datadir) : NULL;
	m->cfg.datadir = m->datadir;
	m->cfg.conninfo = m->conninfo;
	m->cfg.state_path = m->state_path;
	if (load(m, err) < 0) {
		ss_movein_free(m);
		return NULL;
	}
	return m;
}

void ss_movein_free(struct ss_movein *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->njobs; i++)
		job_free(m->jobs[i]);
	free(m->jobs);
	for (i = 0; i < m->nrecs; i++)
		rec_free(&m->recs[i]);
	free(m->recs);
	if (m->pool)
		ss_pgq_pool_close(m->pool);
	ss_tablecache_free(m->tables);
	free(m->conninfo);
	free(m->state_path);
	free(m->datadir);
	free(m->past.ids);
	free(m->lines);
	free(m->routed.xids);
	free(m);
}

/* The commit LSN of the last transaction in the log of shape `handle`
 * (0: none, or no log). */
static uint64_t log_last_tx(const struct ss_movein *m, const char *handle)
{
	struct ss_buf dir = SS_BUF_INIT;
	struct ss_log_reader *lr = NULL;
	struct ss_log_head head;
	struct ss_err err = SS_ERR_INIT;
	uint64_t tx = 0;

	if (!m->datadir || !ss_shape_handle_valid(handle, NULL))
		return 0;
	ss_datadir_shape_path(&dir, m->datadir, handle);
	if (ss_log_reader_open(dir.buf, &lr, &err) == 0) {
		ss_log_reader_head(lr, &head);
		tx = head.last_tx;
		ss_log_reader_close(lr);
	}
	ss_buf_release(&dir);
	return tx;
}

/* Trace record r with what happened to it (cfg.trace). */
static void trace_rec(const struct ss_movein *m, const struct rec *r,
		      const char *what)
{
	struct ss_buf b = SS_BUF_INIT;
	size_t i;

	if (!m->cfg.trace)
		return;
	ss_buf_addf(&b, "move %s of shape %" PRId64 " (dependency %zu, value",
		    r->out ? "out" : "in", r->outer, r->dep);
	for (i = 0; i < r->nvals; i++)
		ss_buf_addf(&b, "%s%.40s", i ? ", " : " ",
			    r->vals[i] ? r->vals[i] : "NULL");
	ss_buf_addf(&b,
		    "; xid %" PRIu64 " at %" PRIX32 "/%" PRIX32
		    ", carrier %" PRIX32 "/%" PRIX32 "): %s",
		    r->xid, (uint32_t)(r->lsn >> 32), (uint32_t)r->lsn,
		    (uint32_t)(r->carrier >> 32), (uint32_t)r->carrier, what);
	m->cfg.trace(m->cfg.ctx, b.buf);
	ss_buf_release(&b);
}

int ss_movein_restore(struct ss_movein *m, ss_lsn durable, struct ss_err *err)
{
	size_t i = 0;
	int n = 0;

	while (i < m->nrecs) {
		struct rec *r = &m->recs[i];
		const char *h = ss_subq_handle(m->cfg.subq, r->outer);
		struct ss_err e = SS_ERR_INIT;
		int rc = 0;

		if (!h || strcmp(h, r->handle)) {
			trace_rec(m, r, "dropped, its shape is gone");
			rec_drop(m, i); /* gone */
			continue;
		}
		if (r->carrier && durable > r->carrier) {
			/* Written, and durable: done (as ss_movein_run would
			 * have dropped it). Whether the shape's log holds the
			 * carrier says nothing here: a move out as deletes
			 * whose query found no row wrote no line. */
			trace_rec(m, r, "dropped, durable");
			rec_drop(m, i);
			continue;
		}
		if (r->carrier &&
		    (r->empty || r->carrier <= log_last_tx(m, h))) {
			/*
			 * Its lines are in the shape's log (store commits a
			 * log before it records the durable position), or it
			 * has none, and its carrier is not durable (above):
			 * it settles at its carrier when that comes again,
			 * as it did (an empty one whose carrier never reached
			 * store too: the first run's routing after it did
			 * not either). Its lines are counted again there,
			 * into the view of whatever shape depends on it by
			 * then (one may be activated while route catches up,
			 * its view loaded without them: ss_viewload_run).
			 */
			r->recount = 1;
			r->number = 0;
			/*
			 * The view of a nested subquery's shape follows
			 * route's routing, not the shape's log: from E to
			 * the carrier the move must be pending again as it
			 * was, so that the changes routed meanwhile move the
			 * view as they did; it settles when its lines are
			 * counted again at the carrier (recount).
			 */
			if (durable <= r->lsn) {
				trace_rec(m, r,
					  "recount at the carrier, pending "
					  "again when routed");
				r->done = 1; /* pending again when routed */
				i++;
				continue;
			}
			/* its transaction durable: pending again now, below */
		} else if (r->cancelled && durable > r->cancelled) {
			trace_rec(m, r, "dropped, its cancel is durable");
			rec_drop(m, i); /* the views hold the cancel */
			continue;
		}
		/* pending again, until the cancel comes again */
		r->cancelled = 0;
		if (durable <= r->lsn && !r->recount) {
			/* its transaction comes again, and moves again */
			trace_rec(m, r, "dropped, its transaction comes again");
			rec_drop(m, i);
			continue;
		}
		rc = ss_subq_pend(m->cfg.subq, r->outer, r->dep,
				  (const char *const *)r->vals, r->nvals,
				  r->out, &r->number, &e);
		if (rc < 0) {
			char why[600];

			snprintf(why, sizeof(why),
				 "its recorded move-in cannot be restored: %s",
				 e.msg);
			trace_rec(m, r, why);
			fail_outer(m, r->outer, why);
			i = 0; /* fail_outer dropped records */
			continue;
		}
		if (r->recount) { /* settles at its carrier (recount) */
			trace_rec(m, r,
				  "recount at the carrier, pending again");
			i++;
			continue;
		}
		if (rc == 0) { /* the value moved back since */
			trace_rec(m, r, "dropped, its value moved back since");
			rec_drop(m, i);
			continue;
		}
		trace_rec(m, r, "pending again, queried anew");
		r->carrier = 0;
		m->dirty = 1;
		n++;
		i++;
	}
	if (persist(m, err) < 0)
		return -1;
	return n;
}

static size_t past_find(const struct past *p, int64_t id, int *found)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < p->n && p->ids[lo] == id;
	return lo;
}

/*
 * What outer shape id's own snapshot says of transaction xid: 1 it sees
 * it (store drops the transaction for the shape, whose rows already hold
 * the move), 0 it does not, -1 it is gone, or still not recorded after
 * the wait below (it may or may not: the shape cannot follow). Once a
 * transaction far enough past its xmax was seen (ss_pg_snapshot_past),
 * every later one is past it: no registry read.
 *
 * A shape is active in route before serve records its snapshot (the
 * creation protocol), and serve records it right after it sees route's
 * mark: a move in between waits for it, polling the registry, at most
 * the move-in query's timeout (60 s without one), and routes nothing
 * meanwhile, since the changes after the move depend on the answer.
 * Failing at once gave a fresh shape a 409 whenever a value moved within
 * its first milliseconds.
 */
static int outer_sees(struct ss_movein *m, int64_t id, uint64_t xid)
{
	struct ss_shape_rec rec;
	struct ss_err err = SS_ERR_INIT;
	int64_t wait_us = m->cfg.query_timeout_ms > 0
			      ? (int64_t)m->cfg.query_timeout_ms * 1000
			      : (int64_t)60 * 1000000;
	int64_t until = ss_mono_us() + wait_us;
	useconds_t nap = 1000;
	size_t at;
	int found, rc;

	at = past_find(&m->past, id, &found);
	if (found)
		return 0;
	ss_shape_rec_init(&rec);
	for (;;) {
		if (ss_registry_get_by_id(m->cfg.reg, id, &rec, &err) <= 0) {
			ss_shape_rec_release(&rec);
			return -1;
		}
		if (rec.snapshot_state != SS_SNAPSHOT_PENDING)
			break;
		if (ss_mono_us() >= until) {
			ss_shape_rec_release(&rec);
			return -1;
		}
		ss_shape_rec_release(&rec);
		ss_shape_rec_init(&rec);
		m->st.snapshot_waits++;
		usleep(nap);
		if (nap < 32000)
			nap *= 2;
	}
	rc = ss_pg_snapshot_sees(&rec.snapshot, xid);
	if (!rc && ss_pg_snapshot_past(&rec.snapshot, xid)) {
		SS_GROW(m->past.ids, m->past.alloc, m->past.n + 1);
		memmove(m->past.ids + at + 1, m->past.ids + at,
			(m->past.n - at) * sizeof(*m->past.ids));
		m->past.ids[at] = id;
		m->past.n++;
	}
	ss_shape_rec_release(&rec);
	return rc;
}

static int same_vals(const struct rec *r, const struct ss_subq_move *mv)
{
	size_t i;

	if (r->nvals != mv->nvals ||
	    r->out != (mv->kind == SS_SUBQ_MOVE_OUT_ROWS))
		return 0;
	for (i = 0; i < r->nvals; i++)
		if ((!r->vals[i]) != (!mv->vals[i]) ||
		    (r->vals[i] && strcmp(r->vals[i], mv->vals[i])))
			return 0;
	return 1;
}

void ss_movein_add(struct ss_movein *m, const struct ss_subq_move *mv,
		   uint64_t xid, ss_lsn lsn)
{
	const char *h = ss_subq_handle(m->cfg.subq, mv->outer);
	struct rec *r;
	size_t i;
	int sees;

	/* Routed again after a restart, with its lines in the log (or
	 * none): pending until they are counted again at the carrier, as it
	 * was, with no query. */
	for (i = 0; i < m->nrecs; i++) {
		r = &m->recs[i];
		if (r->done && r->outer == mv->outer && r->dep == mv->dep &&
		    r->lsn == lsn && same_vals(r, mv)) {
			r->number = mv->number;
			r->done = 0;
			return;
		}
	}
	sees = outer_sees(m, mv->outer, xid);
	if (sees == 1) {
		/* the shape's snapshot holds the rows already */
		ss_subq_settle(m->cfg.subq, mv->outer, mv->number);
		return;
	}
	if (sees < 0) {
		fail_outer(m, mv->outer,
			   "a value moved into one of its subqueries, and its "
			   "snapshot was not recorded in time");
		return;
	}
	r = rec_new(m);
	r->outer = mv->outer;
	r->handle = ss_xstrdup(h ? h : "");
	r->dep = mv->dep;
	r->nvals = mv->nvals;
	r->vals = ss_xcalloc(mv->nvals + 1, sizeof(*r->vals));
	for (i = 0; i < mv->nvals; i++)
		r->vals[i] = mv->vals[i] ? ss_xstrdup(mv->vals[i]) : NULL;
	r->number = mv->number;
	r->xid = xid;
	r->lsn = lsn;
	r->out = mv->kind == SS_SUBQ_MOVE_OUT_ROWS;
}

/* 1 if shape id has a move whose lines wait to be counted again
 * (recount): no query of its moves starts before that, since the move
 * is pending again only to be settled there. */
static int awaiting_recount(const struct ss_movein *m, int64_t id)
{
	size_t i;

	for (i = 0; i < m->nrecs; i++)
		if (m->recs[i].outer == id && m->recs[i].recount)
			return 1;
	return 0;
}

int ss_movein_run(struct ss_movein *m, struct ss_err *err)
{
	int64_t *ids;
	size_t n, i;
	int carriers = 0, started = 0;

	if (!m->nrecs && !m->dirty)
		return 0; /* every pending move-in has a record */
	for (i = 0; i < m->nrecs; i++)
		carriers |=
		    m->recs[i].carrier != 0 || m->recs[i].cancelled != 0;
	if (carriers) {
		uint64_t durable;

		if (ss_registry_get_durable_lsn(m->cfg.reg, &durable, err) < 0)
			return -1;
		i = 0;
		while (i < m->nrecs)
			if ((m->recs[i].carrier &&
			     durable > m->recs[i].carrier) ||
			    (m->recs[i].cancelled &&
			     durable > m->recs[i].cancelled))
				rec_drop(m, i);
			else
				i++;
	}
	n = ss_subq_pending_outers(m->cfg.subq, &ids);
	for (i = 0; i < n && m->njobs < SS_MOVEIN_MAX_JOBS; i++)
		if (!job_of(m, ids[i], NULL) && !awaiting_recount(m, ids[i]) &&
		    start(m, ids[i], NULL))
			started = 1;
	free(ids);
	if (started)
		marker(m);
	return m->dirty ? persist(m, err) : 0;
}

struct recount_ctx {
	struct ss_movein *m;
	int64_t id;
	const char *const *names;
	size_t ncols;
	uint64_t xid;
	ss_lsn lsn;
	struct ss_subq_moves *moves;
};

static int recount_entry(const struct ss_offset *off, const char *entry,
			 size_t len, void *ctx, struct ss_err *err)
{
	struct recount_ctx *c = ctx;

	(void)off, (void)err;
	/* ",<json>\n" */
	if (len >= 2)
		view_line(c->m, c->id, c->names, c->ncols, entry + 1, len - 2,
			  c->xid, c->lsn, c->moves);
	return 0;
}

/*
 * Transaction xid/lsn comes again after a restart, and carries lines of
 * shapes of nested subqueries that their logs hold but their views were
 * loaded without (ss_movein_restore): count them now, as when they were
 * written (placed before the changes, after < 0, or after them), so that
 * the shapes that depend on them move again exactly as then.
 */
static void recount(struct ss_movein *m, uint64_t xid, ss_lsn lsn, int after)
{
	size_t i = 0, k;

	while (i < m->nrecs) {
		struct rec *r = &m->recs[i];
		const char *const *names, *const *types;
		struct ss_subq_moves moves;
		struct recount_ctx c;
		struct ss_buf dir = SS_BUF_INIT;
		struct ss_log_reader *lr = NULL;
		struct ss_offset from, upto;
		struct ss_err err = SS_ERR_INIT;
		uint64_t *settle = NULL;
		size_t ncols, nsettle = 0;
		int64_t id = r->outer, place = r->after;
		int ok;

		if (!r->recount || r->carrier != lsn || (place >= 0) != after) {
			i++;
			continue;
		}
		trace_rec(m, r, "its lines counted again");
		/* once per shape and carrier; its moves settle there */
		for (k = i; k < m->nrecs; k++)
			if (m->recs[k].outer == id &&
			    m->recs[k].carrier == lsn &&
			    (m->recs[k].after >= 0) == after) {
				m->recs[k].recount = 0;
				if (m->recs[k].number) {
					settle = ss_xrealloc(
					    settle,
					    (nsettle + 1) * sizeof(*settle));
					settle[nsettle++] = m->recs[k].number;
					m->recs[k].number = 0;
				}
			}
		ok = ss_subq_inner_columns(m->cfg.subq, id, &names, &types,
					   &ncols) &&
		     m->datadir && ss_shape_handle_valid(r->handle, NULL);
		if (place < 0) {
			from = ss_offset_make(lsn - 2, SS_OFFSET_INF);
			upto = ss_offset_make(lsn - 1, SS_OFFSET_INF);
		} else {
			from =
			    ss_offset_make(lsn, 4 * ((uint64_t)place + 1) - 1);
			upto = ss_offset_make(lsn, SS_OFFSET_INF);
		}
		ss_subq_moves_init(&moves);
		c.m = m;
		c.id = id;
		c.names = names;
		c.ncols = ncols;
		c.xid = xid;
		c.lsn = lsn;
		c.moves = &moves;
		if (ok)
			ss_datadir_shape_path(&dir, m->datadir, r->handle);
		if (ok && (ss_log_reader_open(dir.buf, &lr, &err) < 0 ||
			   ss_log_reader_each(lr, &from, &upto, recount_entry,
					      &c, &err) < 0)) {
			/* as a line that cannot be followed */
			ss_subq_moves_reset(&moves);
			ss_subq_invalidate_users(
			    m->cfg.subq, id, &moves,
			    "its lines, which cannot be read again: %s",
			    err.msg);
		} else {
			/* as splice: the lines, then the moves settle,
			 * then what they did to the shapes above */
			for (k = 0; k < nsettle; k++)
				ss_subq_settle(m->cfg.subq, id, settle[k]);
		}
		nested_moves(m, &moves, xid, lsn, place);
		free(settle);
		ss_log_reader_close(lr);
		ss_buf_release(&dir);
		ss_subq_moves_release(&moves);
		i = 0; /* fail_outer and nested_moves change the records */
	}
}

/* 1 if a recorded move has no lines written yet (its shape routes as if
 * it had not moved). */
static int moves_pending(const struct ss_movein *m)
{
	size_t i;

	for (i = 0; i < m->nrecs; i++)
		if (!m->recs[i].carrier && !m->recs[i].cancelled)
			return 1;
	return m->njobs > 0;
}

int ss_movein_commit(struct ss_movein *m, uint64_t xid, ss_lsn lsn,
		     ss_lsn end_lsn, int64_t last_pos, struct ss_err *err)
{
	int64_t *ids;
	size_t n, i;
	int waiting = 0;

	if (!m->nrecs && !m->dirty) {
		m->routed.n = 0;
		return 0; /* every pending move-in has a record */
	}
	if (moves_pending(m)) {
		/* routed with the moves not made: a query from now on
		 * must see it */
		SS_GROW(m->routed.xids, m->routed.alloc, m->routed.n + 1);
		m->routed.xids[m->routed.n++] = xid;
	} else {
		m->routed.n = 0;
	}
	/* the moves this transaction cancelled (lib/subq: a value moving
	 * back before its lines were written) */
	for (i = 0; i < m->nrecs; i++) {
		struct rec *r = &m->recs[i];

		if (!r->carrier && r->number && !r->cancelled &&
		    !ss_subq_is_pending(m->cfg.subq, r->outer, r->number)) {
			r->cancelled = lsn;
			r->number = 0;
			m->dirty = 1;
		}
	}
	recount(m, xid, lsn, 1);
	if (persist(m, err) < 0)
		return -1;
	n = ss_subq_pending_outers(m->cfg.subq, &ids);
	for (i = 0; i < n; i++) {
		struct job *j;
		size_t at;

		while (m->njobs < SS_MOVEIN_MAX_JOBS &&
		       !job_of(m, ids[i], NULL) &&
		       !awaiting_recount(m, ids[i]) &&
		       (j = start(m, ids[i], NULL)) != NULL) {
			if (j->insert_lsn > end_lsn) {
				/* commits may follow that its snapshot
				 * sees: spliced where one does not */
				waiting = 1;
				break;
			}
			/* Nothing was written after this transaction when
			 * the snapshot was taken: its lines go in here,
			 * after its changes. */
			/* (a transaction without changes: after 0, above
			 * the lines a splice before its changes wrote) */
			if (splice(m, j, xid, lsn, last_pos < 0 ? 0 : last_pos,
				   err) < 0) {
				free(ids);
				return -1;
			}
			if (job_of(m, ids[i], &at))
				job_drop(m, at);
		}
	}
	free(ids);
	if (waiting)
		marker(m);
	return m->dirty ? persist(m, err) : 0;
}

int ss_movein_begin(struct ss_movein *m, uint64_t xid, ss_lsn lsn,
		    struct ss_err *err)
{
	size_t i = 0;

	recount(m, xid, lsn, 0);
	while (i < m->njobs) {
		struct job *j = m->jobs[i];
		int64_t id = j->outer;

		if (ss_pg_snapshot_sees(&j->snap, xid)) {
			i++; /* before the splice */
			continue;
		}
		if (!ss_subq_is_outer(m->cfg.subq, id)) {
			recs_drop_outer(m, id);
			job_drop(m, i);
			continue;
		}
		if (ss_subq_gen(m->cfg.subq, id) != j->plan.gen ||
		    lsn < j->insert_lsn) {
			/* What the shape sees moved since the query: its
			 * rows may be stale. Or this transaction's commit
			 * was in the WAL when the snapshot was taken, which
			 * did not see it yet: a transaction after it may be
			 * one the snapshot sees, which must come before the
			 * splice (commits become visible in another order
			 * than the WAL's). Again, from here, with a
			 * snapshot that sees this one. */
			m->st.reruns++;
			if (++j->reruns > SS_MOVEIN_RERUNS &&
			    ss_mono_us() - j->first_us >
				(m->cfg.query_timeout_ms > 0
				     ? (int64_t)m->cfg.query_timeout_ms
				     : (int64_t)60000) *
				    1000) {
				fail_outer(m, id,
					   "its subqueries kept moving while "
					   "a move-in was queried");
				continue;
			}
			m->must_see = xid;
			j = start(m, id, j);
			m->must_see = 0;
			if (!j)
				continue; /* dropped (i is the next one) */
			marker(m);
			continue; /* this transaction, again */
		}
		if (splice(m, j, xid, lsn, -1, err) < 0)
			return -1;
		/* a splice may drop other shapes' jobs (a nested
		 * subquery's moves): look j up again, and start over */
		if (job_of(m, id, &i))
			job_drop(m, i);
		i = 0;
	}
	return 0;
}

void ss_movein_forget_tables(struct ss_movein *m)
{
	ss_tablecache_free(m->tables);
	m->tables = NULL;
}

void ss_movein_idle(struct ss_movein *m, int64_t now_us)
{
	if (m->pool && !m->njobs)
		ss_pgq_pool_expire(m->pool, SS_MOVEIN_IDLE_US, now_us);
}

void ss_movein_stats(const struct ss_movein *m, struct ss_movein_stats *st)
{
	*st = m->st;
	st->in_flight = m->njobs;
	st->recorded = m->nrecs;
}
