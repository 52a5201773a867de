/*
 * registry_int.h — what the registry's source files share and nothing
 * else may use: the registry's struct, the write buffer's entries, the
 * read pool's connections and the helpers one file gives another. The
 * contract is registry.h; every name here is private to lib/registry*.c.
 */
#ifndef SS_REGISTRY_INT_H
#define SS_REGISTRY_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#include "registry.h"

/* 'SSYC': marks a SQLite file as a shapesync registry. */
#define APPLICATION_ID 0x53535943

/* Entry flags: which writes an entry carries. */
enum {
	F_ADD = 1,
	F_REMOVE = 2,
	F_SNAPSHOT = 4,
	F_TOUCH = 8,
	F_ACTIVE = 16,
	F_OIDS = 32,
};

/*
 * A buffered shape. `known` entries were added in this process and hold the
 * whole record; the others overlay a row that is in SQLite and hold only
 * the fields their flags name (and the id).
 */
struct entry {
	struct ss_shape_rec rec;
	unsigned dirty;	   /* writes waiting for the flusher */
	unsigned inflight; /* writes the flusher is committing now */
	int known;
	int queued;	/* on the FIFO */
	uint64_t epoch; /* flush epoch of the latest write */
	struct entry *next_id, *next_handle, *next_def;
	struct entry *qnext, *qprev;
};

/* A chained hash table over entries; `which` picks the key and link. */
struct table {
	struct entry **b;
	size_t mask, n;
};

enum { BY_ID, BY_HANDLE, BY_DEF };

/* What ss_reg_lookup and ss_reg_sql_lookup look a shape up by. */
enum { KEY_ID, KEY_HANDLE, KEY_DEF };

struct rconn {
	sqlite3 *db;
	sqlite3_stmt *by_id, *by_handle, *by_def;
	int64_t idle_since;
};

struct ss_registry {
	char *path;
	struct ss_registry_opts o;
	int memory;

	/* The write connection, also the only connection of a :memory: db. */
	pthread_mutex_t wlock;
	sqlite3 *wdb;
	int64_t w_idle_since;

	/* Read pool. */
	pthread_mutex_t plock;
	pthread_cond_t pcond;
	struct rconn **idle;
	int nidle, nopen;
	struct rconn memconn; /* :memory: only: statements on wdb */

	/* Write buffer. */
	pthread_mutex_t mu;
	pthread_cond_t wake;  /* flusher: work to do */
	pthread_cond_t space; /* writers: room in the buffer */
	pthread_cond_t done;  /* ss_registry_flush: a round finished */
	struct table t_id, t_handle, t_def;
	struct entry *qhead, *qtail;
	size_t qlen;	      /* entries queued */
	struct entry **batch; /* entries the flusher is committing */
	size_t nbatch;
	int64_t count;		 /* entries in the buffer */
	int64_t oldest_us;	 /* when the FIFO head was queued */
	int64_t urgent_us;	 /* since when a write other than a touch is
				    queued (0: only touches) */
	int64_t touch_urgent_us; /* the last touch written at once */
	uint64_t epoch;
	int force;
	int stop;
	uint64_t retired; /* bumps when flushed entries leave the buffer */
	int64_t last_us;  /* last handle timestamp minted */
	char last_error[256];
	pthread_t flusher;
	int flusher_started;

	/* Id block. */
	pthread_mutex_t idlock;
	int64_t next_id, id_hi;

	/* Stats (under mu). */
	int64_t n_flushes, n_flushed_ops, n_flush_errors, n_writer_waits,
	    n_touch_dropped, n_conflicts;
	int64_t delta_count;	 /* adds - removes still in the buffer */
	int64_t n_local_commits; /* imports committed by this process */
};

#define SS_STR_(x) #x
#define SS_STR(x) SS_STR_(x)

/* The flusher's prepared statements (registry_buffer.c); admin's import
 * inserts with them too. */
struct stmts {
	sqlite3_stmt *ins, *ins_rel, *del, *del_rel, *log_add, *log_del, *snap,
	    *touch, *active;
};

/* ---- connections (registry_pool.c) */

/* Run sql (no rows); -1 with err naming the registry at path. */
int ss_reg_exec(sqlite3 *db, const char *sql, struct ss_err *err,
		const char *path);
/* Open a connection (write or read-only, create if asked) with the
 * registry's pragmas. */
int ss_reg_open_conn(struct ss_registry *r, int write, int create,
		     sqlite3 **out, struct ss_err *err);
/* The first column of the first row of sql, or dflt (NULL, no row, error). */
int64_t ss_reg_query_int(sqlite3 *db, const char *sql, int64_t dflt);
/* The database handle of a checked-out read connection. */
sqlite3 *ss_reg_rconn_db(struct ss_registry *r, struct rconn *c);
/* Close a read connection and its statements (NULL: no-op). */
void ss_reg_rconn_free(struct rconn *c);
/* Check out a read connection (the locked write connection for
 * :memory:), opening one while under read_pool_max, else waiting. */
struct rconn *ss_reg_rconn_get(struct ss_registry *r, struct ss_err *err);
/* Prepare a read connection's lookup statements. */
int ss_reg_rconn_prepare(struct ss_registry *r, struct rconn *c,
			 struct ss_err *err);
/* Give a read connection back to the pool. */
void ss_reg_rconn_put(struct ss_registry *r, struct rconn *c);
/* Close connections idle longer than idle_timeout_ms. */
void ss_reg_reap_idle(struct ss_registry *r);
/* The columns row_to_rec reads, for SELECT ... FROM shapes. */
extern const char ss_reg_rec_cols[];
/* Set err from db's last error ("<what> registry '<path>': ..."), with
 * a hint for a damaged file; returns -1. */
int ss_reg_sql_fail(struct ss_err *err, sqlite3 *db, const char *what,
		    const char *path);
/* Lock and return the write connection, opening it if needed. */
sqlite3 *ss_reg_wconn_get(struct ss_registry *r, struct ss_err *err);
/* Unlock the write connection. */
void ss_reg_wconn_put(struct ss_registry *r);

/* ---- schema (registry_schema.c) */

/* Check that db is a registry of ours and migrate it to the current
 * schema version; sets WAL mode. */
int ss_reg_migrate(struct ss_registry *r, sqlite3 *db, struct ss_err *err);

/* ---- records and lookups (registry.c) */

/* Column i of a row as text (NULL for NULL). */
const char *ss_reg_col_text(sqlite3_stmt *st, int i);
/* Look a shape up by key (KEY_*): the buffer first, then SQLite with
 * the buffer overlaid. 1 found (out filled), 0 not, -1 error. */
int ss_reg_lookup(struct ss_registry *r, int key, int64_t id, const char *s,
		  struct ss_shape_rec *out, struct ss_err *err);
/* Replace rec's relation oids with a copy of oids. */
void ss_reg_set_oids(struct ss_shape_rec *rec, const uint32_t *oids, size_t n);
/* Replace rec's snapshot with a copy of s. */
void ss_reg_set_snapshot(struct ss_shape_rec *rec,
			 const struct ss_pg_snapshot *s);
/* Read one shape from SQLite by key. 1 found, 0 not, -1 error. */
int ss_reg_sql_lookup(struct ss_registry *r, int key, int64_t id, const char *s,
		      struct ss_shape_rec *out, struct ss_err *err);
/* The next id of the reserved block, reserving a new block if needed. */
int ss_reg_take_id(struct ss_registry *r, int64_t *id, struct ss_err *err);
/* The in-progress xids of s as comma-separated text. */
void ss_reg_xip_to_text(const struct ss_pg_snapshot *s, struct ss_buf *out);

/* ---- write buffer (registry_buffer.c) */

/* Take an entry off the FIFO of pending writes (under mu). */
void ss_reg_dequeue(struct ss_registry *r, struct entry *e);
/* Unlink an entry from the buffer's tables and free it (under mu). */
void ss_reg_entry_free(struct ss_registry *r, struct entry *e);
/* The buffered entry of id, or NULL (under mu). */
struct entry *ss_reg_find_id(struct ss_registry *r, int64_t id);
/* The buffered entry by handle or definition (BY_*), or NULL (under mu). */
struct entry *ss_reg_find_str(struct ss_registry *r, int which,
			      const char *key);
/* The flusher thread: commits batches until stop. */
void *ss_reg_flusher_main(void *arg);
/* Insert rec with its relations and its change-log row. */
int ss_reg_insert_rec(sqlite3 *db, struct stmts *s,
		      const struct ss_shape_rec *rec, struct ss_buf *tmp);
/* Finalize the statements of ss_reg_stmts_prepare. */
void ss_reg_stmts_finalize(struct stmts *s);
/* Prepare the flusher's statements on db; -1 on a SQLite error. */
int ss_reg_stmts_prepare(sqlite3 *db, struct stmts *s);

#endif
