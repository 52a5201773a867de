/*
 * registry_progress.c — the pipeline's progress in the registry: the
 * durable LSN, partition sets, table removal, issued ids, streams,
 * stats and the stages' heartbeats.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "lsn.h"
#include "registry_int.h"

/* ----------------------------------------------------------- durable LSN */

int ss_registry_set_durable_lsn(struct ss_registry *r, uint64_t lsn,
				int64_t stream, struct ss_err *err)
{
	sqlite3 *db = ss_reg_wconn_get(r, err);
	sqlite3_stmt *st;
	int rc;

	if (!db)
		return -1;
	/* Never move backwards: a restarted store replays from older LSNs.
	 * Only for the current stream: positions of an older one mean
	 * nothing in the new one (another server's WAL, say). */
	if (sqlite3_prepare_v2(
		db,
		"UPDATE progress SET value = max(value, ?1)"
		" WHERE key = 'durable_lsn' AND ?2 ="
		" (SELECT value FROM progress WHERE key = 'stream')",
		-1, &st, NULL) != SQLITE_OK) {
		ss_reg_sql_fail(err, db, "could not write", r->path);
		ss_reg_wconn_put(r);
		return -1;
	}
	sqlite3_bind_int64(st, 1, (int64_t)lsn);
	sqlite3_bind_int64(st, 2, stream);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ss_reg_sql_fail(err, db, "could not write", r->path);
		ss_reg_wconn_put(r);
		return -1;
	}
	rc = sqlite3_changes(db) > 0;
	ss_reg_wconn_put(r);
	return rc;
}

/* -------------------------------------------------------- partition sets */

int ss_registry_partitions_get(struct ss_registry *r, uint32_t oid,
			       struct ss_buf *leaves, int *found,
			       struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	ss_buf_reset(leaves);
	if (!c)
		return -1;
	db = ss_reg_rconn_db(r, c);
	if (sqlite3_prepare_v2(
		db, "SELECT leaves FROM partition_sets WHERE oid = ?1", -1, &st,
		NULL) != SQLITE_OK) {
		ss_reg_sql_fail(err, db, "could not read", r->path);
		ss_reg_rconn_put(r, c);
		return -1;
	}
	sqlite3_bind_int64(st, 1, oid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = 1;
		ss_buf_adds(leaves, (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	ss_reg_rconn_put(r, c);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not read the partitions "
				  "of %u from '%s'",
				  oid, r->path);
	return 0;
}

int ss_registry_partitions_set(struct ss_registry *r, uint32_t oid,
			       const char *leaves, struct ss_err *err)
{
	sqlite3 *db = ss_reg_wconn_get(r, err);
	sqlite3_stmt *st;
	int rc;

	if (!db)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO partition_sets VALUES (?1, ?2)"
			       " ON CONFLICT (oid) DO UPDATE SET leaves = ?2",
			       -1, &st, NULL) != SQLITE_OK) {
		ss_reg_sql_fail(err, db, "could not write", r->path);
		ss_reg_wconn_put(r);
		return -1;
	}
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_text(st, 2, leaves, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		ss_reg_sql_fail(err, db, "could not write", r->path);
	ss_reg_wconn_put(r);
	return rc == SQLITE_DONE ? 0 : -1;
}

int ss_registry_remove_table(struct ss_registry *r, const char *schema,
			     const char *table, int64_t *removed,
			     struct ss_err *err)
{
	static const char *const sql[] = {
	    "INSERT INTO shape_changes (shape_id, handle, added)"
	    " SELECT id, handle, 0 FROM shapes"
	    " WHERE schema_name = ?1 AND table_name = ?2 ORDER BY id",
	    ("DELETE FROM shape_relations WHERE shape_id IN (SELECT id FROM"
	     " shapes WHERE schema_name = ?1 AND table_name = ?2)"),
	    "DELETE FROM shapes WHERE schema_name = ?1 AND table_name = ?2",
	};
	sqlite3 *db;
	size_t i;

	*removed = 0;
	if (ss_registry_flush(r, err) < 0)
		return -1;
	db = ss_reg_wconn_get(r, err);
	if (!db)
		return -1;
	if (ss_reg_exec(db, "BEGIN IMMEDIATE", err, r->path) < 0) {
		ss_reg_wconn_put(r);
		return -1;
	}
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st;
		int rc;

		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) !=
		    SQLITE_OK) {
			ss_reg_sql_fail(err, db, "could not write", r->path);
			goto fail;
		}
		sqlite3_bind_text(st, 1, schema, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			ss_reg_sql_fail(err, db, "could not write", r->path);
			goto fail;
		}
		if (i == 0)
			*removed = sqlite3_changes(db);
	}
	if (ss_reg_exec(db, "COMMIT", err, r->path) < 0)
		goto fail;
	ss_reg_wconn_put(r);
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	ss_reg_wconn_put(r);
	return -1;
}

/* ------------------------------------------------------------ issued ids */

int ss_registry_id_issued(struct ss_registry *r, int64_t id, int *issued,
			  struct ss_err *err)
{
	struct rconn *c;
	int64_t hi;

	/* Ids this process handed out may not be committed yet. */
	pthread_mutex_lock(&r->idlock);
	hi = r->next_id - 1;
	pthread_mutex_unlock(&r->idlock);
	if (id >= 1 && id <= hi) {
		*issued = 1;
		return 0;
	}
	c = ss_reg_rconn_get(r, err);
	if (!c)
		return -1;
	hi = ss_reg_query_int(
	    ss_reg_rconn_db(r, c),
	    "SELECT max((SELECT value FROM progress"
	    " WHERE key = 'id_reserved'), coalesce((SELECT max(seq)"
	    " FROM sqlite_sequence WHERE name = 'shapes'), 0))",
	    -1);
	ss_reg_rconn_put(r, c);
	if (hi < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not read the reserved "
				  "ids from '%s'",
				  r->path);
	*issued = id >= 1 && id <= hi;
	return 0;
}

/* ---------------------------------------------------------------- streams */

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src ? (const char *)src : "");
}

int ss_registry_stream_get(struct ss_registry *r, int64_t *stream,
			   struct ss_stream_id *id, int *has_id,
			   struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	if (!c)
		return -1;
	db = ss_reg_rconn_db(r, c);
	if (sqlite3_prepare_v2(db,
			       "SELECT p.value, s.system_id, s.timeline,"
			       " s.db_oid, s.db_name, s.slot, s.slot_lsn"
			       " FROM progress p LEFT JOIN streams s"
			       " ON s.stream = p.value WHERE p.key = 'stream'",
			       -1, &st, NULL) != SQLITE_OK) {
		ss_reg_sql_fail(err, db, "could not read", r->path);
		ss_reg_rconn_put(r, c);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			ss_err_set(err, SS_ERR_RUNTIME,
				   "registry '%s' has no "
				   "stream number",
				   r->path);
		else
			ss_reg_sql_fail(err, db, "could not read", r->path);
		sqlite3_finalize(st);
		ss_reg_rconn_put(r, c);
		return -1;
	}
	*stream = sqlite3_column_int64(st, 0);
	if (has_id)
		*has_id = sqlite3_column_type(st, 1) != SQLITE_NULL;
	if (id) {
		memset(id, 0, sizeof(*id));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
			copy_text(id->system_id, sizeof(id->system_id),
				  sqlite3_column_text(st, 1));
			id->timeline = (uint32_t)sqlite3_column_int64(st, 2);
			id->db_oid = (uint32_t)sqlite3_column_int64(st, 3);
			copy_text(id->db_name, sizeof(id->db_name),
				  sqlite3_column_text(st, 4));
			copy_text(id->slot, sizeof(id->slot),
				  sqlite3_column_text(st, 5));
			id->slot_lsn = (uint64_t)sqlite3_column_int64(st, 6);
		}
	}
	sqlite3_finalize(st);
	ss_reg_rconn_put(r, c);
	return 0;
}

int ss_registry_stream_start(struct ss_registry *r,
			     const struct ss_stream_id *id, const char *reason,
			     int invalidate, uint64_t start_lsn,
			     int64_t *stream, int64_t *invalidated,
			     struct ss_err *err)
{
	static const char *const wipe =
	    /* Removals go to the change log like any other, so that
	     * every follower (route, store, serve) drops the shapes. */
	    "INSERT INTO shape_changes (shape_id, handle, added)"
	    " SELECT id, handle, 0 FROM shapes ORDER BY id;"
	    "DELETE FROM shape_relations;"
	    "DELETE FROM shapes;";
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int64_t n = 0, next;

	/* Pending writes of this process go first: a shape it added is
	 * then invalidated with the others. */
	if (ss_registry_flush(r, err) < 0)
		return -1;
	db = ss_reg_wconn_get(r, err);
	if (!db)
		return -1;
	if (ss_reg_exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto out;
	if (invalidate) {
		n = ss_reg_query_int(db, "SELECT count(*) FROM shapes", 0);
		if (ss_reg_exec(db, wipe, err, r->path) < 0)
			goto fail;
	}
	next = ss_reg_query_int(
		   db, "SELECT value FROM progress WHERE key = 'stream'", 0) +
	       1;
	if (sqlite3_prepare_v2(
		db,
		"INSERT INTO streams (stream, system_id, timeline,"
		" db_oid, db_name, slot, slot_lsn, started_us, reason,"
		" invalidated) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
		-1, &st, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_int64(st, 1, next);
	sqlite3_bind_text(st, 2, id->system_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id->timeline);
	sqlite3_bind_int64(st, 4, id->db_oid);
	sqlite3_bind_text(st, 5, id->db_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, id->slot, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (int64_t)id->slot_lsn);
	sqlite3_bind_int64(st, 8, ss_now_us());
	sqlite3_bind_text(st, 9, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, n);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(st);
	st = NULL;
	/* A new lineage starts with nothing durable in it. */
	if (sqlite3_prepare_v2(
		db,
		invalidate
		    ? "UPDATE progress SET value = CASE key"
		      " WHEN 'stream' THEN ?1 ELSE ?2 END"
		      " WHERE key IN ('stream', 'durable_lsn')"
		    : "UPDATE progress SET value = ?1 WHERE key = 'stream'",
		-1, &st, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_int64(st, 1, next);
	if (invalidate)
		sqlite3_bind_int64(st, 2, (int64_t)start_lsn);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(st);
	st = NULL;
	if (ss_reg_exec(db, "COMMIT", err, r->path) < 0)
		goto fail;
	ss_reg_wconn_put(r);
	*stream = next;
	if (invalidated)
		*invalidated = n;
	return 0;
sqlfail:
	ss_reg_sql_fail(err, db, "could not write", r->path);
fail:
	sqlite3_finalize(st);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	ss_reg_wconn_put(r);
	return -1;
}

int ss_registry_get_durable_lsn(struct ss_registry *r, uint64_t *lsn,
				struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	int64_t v;

	if (!c)
		return -1;
	v = ss_reg_query_int(
	    ss_reg_rconn_db(r, c),
	    "SELECT value FROM progress WHERE key = 'durable_lsn'", -1);
	ss_reg_rconn_put(r, c);
	if (v == -1)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not read the durable LSN from '%s'",
				  r->path);
	*lsn = (uint64_t)v;
	return 0;
}

/* ----------------------------------------------------------------- stats */

static int64_t file_size(const char *path, const char *suffix)
{
	struct ss_buf p = SS_BUF_INIT;
	struct stat st;
	int64_t n = 0;

	ss_buf_addf(&p, "%s%s", path, suffix);
	if (stat(p.buf, &st) == 0)
		n = (int64_t)st.st_size;
	ss_buf_release(&p);
	return n;
}

int ss_registry_stats(struct ss_registry *r, struct ss_registry_stats *st,
		      struct ss_err *err)
{
	/* Connection gauges first: counting shapes opens a connection. */
	ss_registry_connections(r, st);
	if (ss_registry_count(r, &st->shapes, err) < 0 ||
	    ss_registry_get_durable_lsn(r, &st->durable_lsn, err) < 0 ||
	    ss_registry_stream_get(r, &st->stream, NULL, NULL, err) < 0)
		return -1;
	pthread_mutex_lock(&r->mu);
	st->pending_writes = r->count;
	st->buffer_capacity = r->o.buffer_capacity;
	st->flushes = r->n_flushes;
	st->flushed_ops = r->n_flushed_ops;
	st->flush_errors = r->n_flush_errors;
	st->writer_waits = r->n_writer_waits;
	st->touches_dropped = r->n_touch_dropped;
	st->conflicts = r->n_conflicts;
	pthread_mutex_unlock(&r->mu);
	pthread_mutex_lock(&r->idlock);
	st->next_id = r->next_id;
	pthread_mutex_unlock(&r->idlock);
	st->schema_version = SS_REGISTRY_SCHEMA_VERSION;
	{
		struct rconn *c = ss_reg_rconn_get(r, err);

		if (!c)
			return -1;
		st->next_block = ss_reg_query_int(
		    ss_reg_rconn_db(r, c),
		    "SELECT max((SELECT value"
		    " FROM progress WHERE key = 'id_reserved'),"
		    " coalesce((SELECT max(seq) FROM sqlite_sequence"
		    " WHERE name = 'shapes'), 0)) + 1",
		    0);
		ss_reg_rconn_put(r, c);
	}
	if (!r->memory) {
		st->db_bytes = file_size(r->path, "");
		st->wal_bytes = file_size(r->path, "-wal");
	}
	return 0;
}

void ss_registry_connections(struct ss_registry *r,
			     struct ss_registry_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&r->plock);
	st->read_connections = r->nopen;
	pthread_mutex_unlock(&r->plock);
	pthread_mutex_lock(&r->wlock);
	st->write_connection = r->wdb != NULL;
	pthread_mutex_unlock(&r->wlock);
}

int ss_registry_count_active(struct ss_registry *r, int64_t *count,
			     struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	int64_t n;

	if (!c)
		return -1;
	n = ss_reg_query_int(
	    ss_reg_rconn_db(r, c),
	    "SELECT count(*) FROM shapes WHERE active_lsn IS NOT NULL", -1);
	ss_reg_rconn_put(r, c);
	if (n < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not count the active "
				  "shapes of '%s'",
				  r->path);
	*count = n;
	return 0;
}

int ss_registry_last_use(struct ss_registry *r, int64_t *last_us,
			 struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	int64_t n;

	if (!c)
		return -1;
	n = ss_reg_query_int(ss_reg_rconn_db(r, c),
			     "SELECT max(coalesce(max(last_read_us), 0),"
			     " coalesce(max(created_us), 0)) FROM shapes",
			     -1);
	ss_reg_rconn_put(r, c);
	if (n < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not read when the shapes "
				  "of '%s' were last used",
				  r->path);
	*last_us = n;
	return 0;
}

/* ------------------------------------------------------------ heartbeats */

int ss_registry_heartbeat_put(struct ss_registry *r,
			      const struct ss_heartbeat *hb, struct ss_err *err)
{
	struct ss_buf counters = SS_BUF_INIT, lag = SS_BUF_INIT;
	sqlite3 *db = ss_reg_wconn_get(r, err);
	sqlite3_stmt *st;
	int i, rc;

	if (!db)
		return -1;
	for (i = 0; i < SS_HB_COUNTERS; i++)
		ss_buf_addf(&counters, "%s%" PRId64, i ? " " : "",
			    hb->counters[i]);
	ss_lag_hist_format(&hb->lag, &lag);
	if (sqlite3_prepare_v2(
		db,
		"INSERT OR REPLACE INTO heartbeats (stage, pid,"
		" state, detail, received_lsn, flushed_lsn, wal_lsn,"
		" retained_wal, flush_lag, rss, connections, counters,"
		" receive_lag, updated_us) VALUES (?1,?2,?3,?4,?5,?6,?7,"
		"?8,?9,?10,?11,?12,?13,?14)",
		-1, &st, NULL) != SQLITE_OK) {
		rc = ss_reg_sql_fail(err, db, "could not write", r->path);
		goto out;
	}
	sqlite3_bind_text(st, 1, hb->stage, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, hb->pid);
	sqlite3_bind_text(st, 3, hb->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, hb->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)hb->received_lsn);
	sqlite3_bind_int64(st, 6, (int64_t)hb->flushed_lsn);
	sqlite3_bind_int64(st, 7, hb->wal_lsn);
	sqlite3_bind_int64(st, 8, hb->retained_wal);
	sqlite3_bind_int64(st, 9, hb->flush_lag);
	sqlite3_bind_int64(st, 10, hb->rss_bytes);
	sqlite3_bind_int64(st, 11, hb->registry_connections);
	sqlite3_bind_text(st, 12, counters.buf, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, lag.buf, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, hb->updated_us);
	rc = sqlite3_step(st) == SQLITE_DONE
		 ? 0
		 : ss_reg_sql_fail(err, db, "could not write", r->path);
	sqlite3_finalize(st);
out:
	ss_reg_wconn_put(r);
	ss_buf_release(&counters);
	ss_buf_release(&lag);
	return rc;
}

int ss_registry_heartbeats(struct ss_registry *r, struct ss_heartbeat **out,
			   size_t *n, struct ss_err *err)
{
	struct rconn *c = ss_reg_rconn_get(r, err);
	struct ss_heartbeat *v = NULL;
	size_t k = 0, alloc = 0;
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*n = 0;
	if (!c)
		return -1;
	db = ss_reg_rconn_db(r, c);
	if (sqlite3_prepare_v2(
		db,
		"SELECT stage, pid, state, detail, received_lsn,"
		" flushed_lsn, wal_lsn, retained_wal, flush_lag, rss,"
		" connections, counters, receive_lag, updated_us"
		" FROM heartbeats ORDER BY stage",
		-1, &st, NULL) != SQLITE_OK) {
		ss_reg_sql_fail(err, db, "could not read", r->path);
		ss_reg_rconn_put(r, c);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ss_heartbeat *h;
		const char *p;
		char *end;
		int i;

		if (k == alloc) {
			alloc = alloc ? alloc * 2 : 4;
			v = ss_xrealloc(v, alloc * sizeof(*v));
		}
		h = &v[k++];
		ss_heartbeat_init(h, (const char *)sqlite3_column_text(st, 0));
		h->pid = sqlite3_column_int64(st, 1);
		copy_text(h->state, sizeof(h->state),
			  sqlite3_column_text(st, 2));
		copy_text(h->detail, sizeof(h->detail),
			  sqlite3_column_text(st, 3));
		h->received_lsn = (uint64_t)sqlite3_column_int64(st, 4);
		h->flushed_lsn = (uint64_t)sqlite3_column_int64(st, 5);
		h->wal_lsn = sqlite3_column_int64(st, 6);
		h->retained_wal = sqlite3_column_int64(st, 7);
		h->flush_lag = sqlite3_column_int64(st, 8);
		h->rss_bytes = sqlite3_column_int64(st, 9);
		h->registry_connections = sqlite3_column_int64(st, 10);
		p = (const char *)sqlite3_column_text(st, 11);
		for (i = 0; p && i < SS_HB_COUNTERS; i++) {
			h->counters[i] = strtoll(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
		p = (const char *)sqlite3_column_text(st, 12);
		ss_lag_hist_parse(&h->lag, p ? p : "");
		h->updated_us = sqlite3_column_int64(st, 13);
	}
	if (rc != SQLITE_DONE) {
		ss_reg_sql_fail(err, db, "could not read", r->path);
		free(v);
		v = NULL;
		k = 0;
	}
	sqlite3_finalize(st);
	ss_reg_rconn_put(r, c);
	*out = v;
	*n = k;
	return rc == SQLITE_DONE ? 0 : -1;
}
