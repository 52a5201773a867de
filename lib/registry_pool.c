/*
 * registry_pool.c — the registry's SQLite connections: the write
 * connection, the read pool that opens lazily and closes idle
 * connections (never for an in-memory database), and error helpers.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "lsn.h"
#include "registry_int.h"

/* ----------------------------------------------------- SQLite connections */

int ss_reg_sql_fail(struct ss_err *err, sqlite3 *db, const char *what,
		    const char *path)
{
	int code = db ? sqlite3_errcode(db) : SQLITE_ERROR;

	ss_err_set(err, SS_ERR_RUNTIME, "%s registry '%s': %s", what, path,
		   db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		ss_err_hint(err,
			    "the file is damaged or not a shapesync registry; "
			    "restore it from an export or move it away");
	return -1;
}

int ss_reg_exec(sqlite3 *db, const char *sql, struct ss_err *err,
		const char *path)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ss_err_set(err, SS_ERR_RUNTIME, "registry '%s': %s", path,
			   msg ? msg : sqlite3_errmsg(db));
		if (sqlite3_errcode(db) == SQLITE_NOTADB ||
		    sqlite3_errcode(db) == SQLITE_CORRUPT)
			ss_err_hint(
			    err,
			    "the file is damaged or not a shapesync registry; "
			    "restore it from an export or move it away");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int ss_reg_open_conn(struct ss_registry *r, int write, int create,
		     sqlite3 **out, struct ss_err *err)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
	struct ss_buf sql = SS_BUF_INIT;
	sqlite3 *db = NULL;

	flags |= write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(r->path, &db, flags, NULL) != SQLITE_OK) {
		ss_reg_sql_fail(err, db, "could not open", r->path);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, r->o.busy_timeout_ms);
	ss_buf_addf(&sql, "PRAGMA synchronous=%s; PRAGMA cache_size=-4096;",
		    r->o.synchronous_full ? "FULL" : "NORMAL");
	if (ss_reg_exec(db, sql.buf, err, r->path) < 0) {
		ss_buf_release(&sql);
		sqlite3_close(db);
		return -1;
	}
	ss_buf_release(&sql);
	*out = db;
	return 0;
}

int64_t ss_reg_query_int(sqlite3 *db, const char *sql, int64_t dflt)
{
	sqlite3_stmt *st;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return dflt;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Lock and return the write connection, opening it if needed. */
sqlite3 *ss_reg_wconn_get(struct ss_registry *r, struct ss_err *err)
{
	pthread_mutex_lock(&r->wlock);
	if (!r->wdb && ss_reg_open_conn(r, 1, 0, &r->wdb, err) < 0) {
		pthread_mutex_unlock(&r->wlock);
		return NULL;
	}
	return r->wdb;
}

void ss_reg_wconn_put(struct ss_registry *r)
{
	r->w_idle_since = ss_mono_us();
	pthread_mutex_unlock(&r->wlock);
}

const char ss_reg_rec_cols[] =
    "id, handle, definition, hash, schema_name, table_name, snapshot_state,"
    " snapshot_xmin, snapshot_xmax, snapshot_xip, created_us, last_read_us,"
    " active_lsn, (SELECT group_concat(oid) FROM"
    " (SELECT oid FROM shape_relations WHERE shape_id = shapes.id ORDER BY oid)),"
    " deps";

void ss_reg_rconn_free(struct rconn *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->by_id);
	sqlite3_finalize(c->by_handle);
	sqlite3_finalize(c->by_def);
	sqlite3_close(c->db);
	free(c);
}

int ss_reg_rconn_prepare(struct ss_registry *r, struct rconn *c,
			 struct ss_err *err)
{
	struct ss_buf sql = SS_BUF_INIT;
	const char *where[3] = {"id = ?1", "handle = ?1", "definition = ?1"};
	sqlite3_stmt **st[3] = {&c->by_id, &c->by_handle, &c->by_def};
	int i;

	for (i = 0; i < 3; i++) {
		ss_buf_reset(&sql);
		ss_buf_addf(&sql, "SELECT %s FROM shapes WHERE %s",
			    ss_reg_rec_cols, where[i]);
		if (sqlite3_prepare_v3(c->db, sql.buf, -1,
				       SQLITE_PREPARE_PERSISTENT, st[i],
				       NULL) != SQLITE_OK) {
			ss_buf_release(&sql);
			return ss_reg_sql_fail(err, c->db, "could not read",
					       r->path);
		}
	}
	ss_buf_release(&sql);
	return 0;
}

/*
 * Check out a read connection. An in-memory registry has one connection:
 * the write connection, returned locked. Otherwise take an idle one, open
 * a new one while under read_pool_max, or wait.
 */
struct rconn *ss_reg_rconn_get(struct ss_registry *r, struct ss_err *err)
{
	struct rconn *c;

	if (r->memory) {
		pthread_mutex_lock(&r->wlock);
		return &r->memconn;
	}
	pthread_mutex_lock(&r->plock);
	while (!r->nidle && r->nopen >= r->o.read_pool_max)
		pthread_cond_wait(&r->pcond, &r->plock);
	if (r->nidle) {
		c = r->idle[--r->nidle];
		pthread_mutex_unlock(&r->plock);
		return c;
	}
	r->nopen++;
	pthread_mutex_unlock(&r->plock);
	c = ss_xcalloc(1, sizeof(*c));
	if (ss_reg_open_conn(r, 0, 0, &c->db, err) < 0 ||
	    ss_reg_rconn_prepare(r, c, err) < 0) {
		ss_reg_rconn_free(c);
		pthread_mutex_lock(&r->plock);
		r->nopen--;
		pthread_cond_signal(&r->pcond);
		pthread_mutex_unlock(&r->plock);
		return NULL;
	}
	return c;
}

void ss_reg_rconn_put(struct ss_registry *r, struct rconn *c)
{
	if (r->memory) {
		pthread_mutex_unlock(&r->wlock);
		return;
	}
	pthread_mutex_lock(&r->plock);
	c->idle_since = ss_mono_us();
	r->idle[r->nidle++] = c;
	pthread_cond_signal(&r->pcond);
	pthread_mutex_unlock(&r->plock);
}

/* The database handle of a checked-out connection. */
sqlite3 *ss_reg_rconn_db(struct ss_registry *r, struct rconn *c)
{
	return r->memory ? r->wdb : c->db;
}

/* Close connections idle longer than the timeout (scale to zero). */
void ss_reg_reap_idle(struct ss_registry *r)
{
	int64_t cutoff = ss_mono_us() - (int64_t)r->o.idle_timeout_ms * 1000;
	int i, j;

	if (r->memory)
		return;
	pthread_mutex_lock(&r->plock);
	for (i = j = 0; i < r->nidle; i++) {
		if (r->idle[i]->idle_since < cutoff) {
			ss_reg_rconn_free(r->idle[i]);
			r->nopen--;
		} else {
			r->idle[j++] = r->idle[i];
		}
	}
	r->nidle = j;
	pthread_mutex_unlock(&r->plock);
	if (pthread_mutex_trylock(&r->wlock) == 0) {
		if (r->wdb && r->w_idle_since < cutoff) {
			sqlite3_close(r->wdb);
			r->wdb = NULL;
		}
		pthread_mutex_unlock(&r->wlock);
	}
}
