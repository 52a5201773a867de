/*
 * registry.c — the SQLite shape registry: schema and migrations, the write
 * buffer and its flusher thread, the lazily opened read pool, id blocks and
 * the change log. The contract is in registry.h; this file explains how.
 */
#include "registry.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "lsn.h"

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
	unsigned dirty;       /* writes waiting for the flusher */
	unsigned inflight;    /* writes the flusher is committing now */
	int known;
	int queued;           /* on the FIFO */
	uint64_t epoch;       /* flush epoch of the latest write */
	struct entry *next_id, *next_handle, *next_def;
	struct entry *qnext, *qprev;
};

/* A chained hash table over entries; `which` picks the key and link. */
struct table {
	struct entry **b;
	size_t mask, n;
};

enum { BY_ID, BY_HANDLE, BY_DEF };

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
	struct rconn memconn;     /* :memory: only: statements on wdb */

	/* Write buffer. */
	pthread_mutex_t mu;
	pthread_cond_t wake;      /* flusher: work to do */
	pthread_cond_t space;     /* writers: room in the buffer */
	pthread_cond_t done;      /* ss_registry_flush: a round finished */
	struct table t_id, t_handle, t_def;
	struct entry *qhead, *qtail;
	struct entry **batch;     /* entries the flusher is committing */
	size_t nbatch;
	int64_t count;            /* entries in the buffer */
	int64_t oldest_us;        /* when the FIFO head was queued */
	uint64_t epoch;
	int force;
	int stop;
	uint64_t retired;         /* bumps when flushed entries leave the buffer */
	int64_t last_us;          /* last handle timestamp minted */
	char last_error[256];
	pthread_t flusher;
	int flusher_started;

	/* Id block. */
	pthread_mutex_t idlock;
	int64_t next_id, id_hi;

	/* Stats (under mu). */
	int64_t n_flushes, n_flushed_ops, n_flush_errors, n_writer_waits,
		n_touch_dropped, n_conflicts;
	int64_t delta_count;      /* adds - removes still in the buffer */
	int64_t n_local_commits;  /* imports committed by this process */
};

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
	ss_shape_rec_init(rec);
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
	dst->oids = NULL;
	if (src->noids) {
		dst->oids = ss_xmalloc(src->noids * sizeof(*src->oids));
		memcpy(dst->oids, src->oids, src->noids * sizeof(*src->oids));
	}
	dst->snapshot.xip = NULL;
	if (src->snapshot.nxip) {
		dst->snapshot.xip = ss_xmalloc(src->snapshot.nxip * sizeof(uint64_t));
		memcpy(dst->snapshot.xip, src->snapshot.xip,
		       src->snapshot.nxip * sizeof(uint64_t));
	}
}

static void set_oids(struct ss_shape_rec *rec, const uint32_t *oids, size_t n)
{
	free(rec->oids);
	rec->oids = NULL;
	rec->noids = n;
	if (n) {
		rec->oids = ss_xmalloc(n * sizeof(*oids));
		memcpy(rec->oids, oids, n * sizeof(*oids));
	}
}

static void set_snapshot(struct ss_shape_rec *rec, const struct ss_pg_snapshot *s)
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
	case SS_SNAPSHOT_PENDING: return "pending";
	case SS_SNAPSHOT_STARTED: return "started";
	case SS_SNAPSHOT_COMPLETE: return "complete";
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
static void xip_to_text(const struct ss_pg_snapshot *s, struct ss_buf *out)
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

/* ----------------------------------------------------------- hash tables */

static uint64_t hash_str(const char *s)
{
	return ss_hash64(s, strlen(s));
}

static uint64_t hash_id(int64_t id)
{
	uint64_t x = (uint64_t)id;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static struct entry **link_of(struct entry *e, int which)
{
	return which == BY_ID ? &e->next_id :
	       which == BY_HANDLE ? &e->next_handle : &e->next_def;
}

static uint64_t key_hash(const struct entry *e, int which)
{
	return which == BY_ID ? hash_id(e->rec.id) :
	       which == BY_HANDLE ? hash_str(e->rec.handle) :
	       hash_str(e->rec.definition);
}

static void table_grow(struct table *t, int which)
{
	size_t nsize = t->b ? (t->mask + 1) * 2 : 64, i;
	struct entry **nb = ss_xcalloc(nsize, sizeof(*nb));

	for (i = 0; t->b && i <= t->mask; i++) {
		struct entry *e = t->b[i];

		while (e) {
			struct entry *next = *link_of(e, which);
			size_t h = key_hash(e, which) & (nsize - 1);

			*link_of(e, which) = nb[h];
			nb[h] = e;
			e = next;
		}
	}
	free(t->b);
	t->b = nb;
	t->mask = nsize - 1;
}

static void table_put(struct table *t, int which, struct entry *e)
{
	size_t h;

	if (!t->b || t->n >= t->mask + 1)
		table_grow(t, which);
	h = key_hash(e, which) & t->mask;
	*link_of(e, which) = t->b[h];
	t->b[h] = e;
	t->n++;
}

static void table_del(struct table *t, int which, struct entry *e)
{
	struct entry **pp;

	if (!t->b)
		return;
	for (pp = &t->b[key_hash(e, which) & t->mask]; *pp; pp = link_of(*pp, which)) {
		if (*pp == e) {
			*pp = *link_of(e, which);
			t->n--;
			return;
		}
	}
}

static struct entry *find_id(struct ss_registry *r, int64_t id)
{
	struct entry *e;

	if (!r->t_id.b)
		return NULL;
	for (e = r->t_id.b[hash_id(id) & r->t_id.mask]; e; e = e->next_id)
		if (e->rec.id == id)
			return e;
	return NULL;
}

static struct entry *find_str(struct ss_registry *r, int which, const char *key)
{
	struct table *t = which == BY_HANDLE ? &r->t_handle : &r->t_def;
	struct entry *e;

	if (!t->b)
		return NULL;
	for (e = t->b[hash_str(key) & t->mask]; e; e = *link_of(e, which)) {
		const char *k = which == BY_HANDLE ? e->rec.handle : e->rec.definition;

		if (!strcmp(k, key))
			return e;
	}
	return NULL;
}

/* ------------------------------------------------------------ FIFO queue */

static void enqueue(struct ss_registry *r, struct entry *e)
{
	if (e->queued)
		return;
	e->queued = 1;
	e->qnext = NULL;
	e->qprev = r->qtail;
	if (r->qtail)
		r->qtail->qnext = e;
	else {
		r->qhead = e;
		r->oldest_us = ss_mono_us();
	}
	r->qtail = e;
}

static void dequeue(struct ss_registry *r, struct entry *e);

static void enqueue_front(struct ss_registry *r, struct entry *e)
{
	dequeue(r, e);
	e->queued = 1;
	e->qprev = NULL;
	e->qnext = r->qhead;
	if (r->qhead)
		r->qhead->qprev = e;
	else
		r->qtail = e;
	r->qhead = e;
	r->oldest_us = ss_mono_us();
}

static void dequeue(struct ss_registry *r, struct entry *e)
{
	if (!e->queued)
		return;
	if (e->qprev)
		e->qprev->qnext = e->qnext;
	else
		r->qhead = e->qnext;
	if (e->qnext)
		e->qnext->qprev = e->qprev;
	else
		r->qtail = e->qprev;
	e->queued = 0;
	e->qnext = e->qprev = NULL;
	if (r->qhead == NULL)
		r->oldest_us = 0;
}

/* Mark e dirty with `flags` and queue it for the flusher. */
static void mark(struct ss_registry *r, struct entry *e, unsigned flags)
{
	e->dirty |= flags;
	e->epoch = r->epoch;
	enqueue(r, e);
	if (r->qhead == e)
		r->oldest_us = ss_mono_us();
	pthread_cond_signal(&r->wake);
}

static struct entry *entry_new(struct ss_registry *r, int64_t id)
{
	struct entry *e = ss_xcalloc(1, sizeof(*e));

	e->rec.id = id;
	table_put(&r->t_id, BY_ID, e);
	r->count++;
	return e;
}

static void entry_free(struct ss_registry *r, struct entry *e)
{
	table_del(&r->t_id, BY_ID, e);
	if (e->known && !(e->dirty & F_REMOVE) && !(e->inflight & F_REMOVE)) {
		table_del(&r->t_handle, BY_HANDLE, e);
		table_del(&r->t_def, BY_DEF, e);
	}
	ss_shape_rec_release(&e->rec);
	free(e);
	r->count--;
	pthread_cond_broadcast(&r->space);
}

/* Wait for room for one more entry. Returns with r->mu held. */
static void wait_space(struct ss_registry *r)
{
	if (r->count < r->o.buffer_capacity)
		return;
	r->n_writer_waits++;
	while (r->count >= r->o.buffer_capacity && !r->stop) {
		r->force = 1;
		pthread_cond_signal(&r->wake);
		pthread_cond_wait(&r->space, &r->mu);
	}
}

/* ----------------------------------------------------- SQLite connections */

static int sql_fail(struct ss_err *err, sqlite3 *db, const char *what, const char *path)
{
	int code = db ? sqlite3_errcode(db) : SQLITE_ERROR;

	ss_err_set(err, SS_ERR_RUNTIME, "%s registry '%s': %s", what, path,
		   db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		ss_err_hint(err, "the file is damaged or not a shapesync registry; "
			    "restore it from an export or move it away");
	return -1;
}

static int exec(sqlite3 *db, const char *sql, struct ss_err *err, const char *path)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ss_err_set(err, SS_ERR_RUNTIME, "registry '%s': %s", path,
			   msg ? msg : sqlite3_errmsg(db));
		if (sqlite3_errcode(db) == SQLITE_NOTADB || sqlite3_errcode(db) == SQLITE_CORRUPT)
			ss_err_hint(err, "the file is damaged or not a shapesync registry; "
				    "restore it from an export or move it away");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int open_conn(struct ss_registry *r, int write, int create, sqlite3 **out,
		     struct ss_err *err)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
	struct ss_buf sql = SS_BUF_INIT;
	sqlite3 *db = NULL;

	flags |= write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(r->path, &db, flags, NULL) != SQLITE_OK) {
		sql_fail(err, db, "could not open", r->path);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, r->o.busy_timeout_ms);
	ss_buf_addf(&sql, "PRAGMA synchronous=%s; PRAGMA cache_size=-4096;",
		    r->o.synchronous_full ? "FULL" : "NORMAL");
	if (exec(db, sql.buf, err, r->path) < 0) {
		ss_buf_release(&sql);
		sqlite3_close(db);
		return -1;
	}
	ss_buf_release(&sql);
	*out = db;
	return 0;
}

static int64_t query_int(sqlite3 *db, const char *sql, int64_t dflt)
{
	sqlite3_stmt *st;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return dflt;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

#define SS_STR_(x) #x
#define SS_STR(x) SS_STR_(x)

/* Each step moves the schema from version i to i+1. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE shapes ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" handle TEXT NOT NULL UNIQUE,"
	" definition TEXT NOT NULL UNIQUE,"
	" hash INTEGER NOT NULL,"
	" schema_name TEXT NOT NULL,"
	" table_name TEXT NOT NULL,"
	" snapshot_state INTEGER NOT NULL DEFAULT 0"
	"  CHECK (snapshot_state BETWEEN 0 AND 2),"
	" snapshot_xmin INTEGER, snapshot_xmax INTEGER, snapshot_xip TEXT,"
	" created_us INTEGER NOT NULL,"
	" last_read_us INTEGER,"
	" active_lsn INTEGER"
	") STRICT;"
	"CREATE INDEX shapes_by_table ON shapes (schema_name, table_name);"
	"CREATE TABLE shape_relations ("
	" shape_id INTEGER NOT NULL, oid INTEGER NOT NULL,"
	" PRIMARY KEY (shape_id, oid)) STRICT, WITHOUT ROWID;"
	"CREATE INDEX shape_relations_by_oid ON shape_relations (oid, shape_id);"
	"CREATE TABLE shape_changes ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" shape_id INTEGER NOT NULL, handle TEXT NOT NULL,"
	" added INTEGER NOT NULL) STRICT;"
	"CREATE TABLE progress (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
	" STRICT, WITHOUT ROWID;"
	"INSERT INTO progress VALUES ('durable_lsn', 0), ('id_reserved', 0),"
	" ('changes_trimmed', 0);",
	/* 1 -> 2: the replication streams the logs were built from */
	"CREATE TABLE streams ("
	" stream INTEGER PRIMARY KEY,"
	" system_id TEXT NOT NULL, timeline INTEGER NOT NULL,"
	" db_oid INTEGER NOT NULL, db_name TEXT NOT NULL,"
	" slot TEXT NOT NULL, slot_lsn INTEGER NOT NULL,"
	" started_us INTEGER NOT NULL, reason TEXT NOT NULL,"
	" invalidated INTEGER NOT NULL) STRICT;"
	"INSERT INTO progress VALUES ('stream', 0);",
	/* 2 -> 3: the stages' heartbeats (health.h) */
	"CREATE TABLE heartbeats ("
	" stage TEXT PRIMARY KEY, pid INTEGER NOT NULL,"
	" state TEXT NOT NULL, detail TEXT NOT NULL,"
	" received_lsn INTEGER NOT NULL, flushed_lsn INTEGER NOT NULL,"
	" wal_lsn INTEGER NOT NULL, retained_wal INTEGER NOT NULL,"
	" flush_lag INTEGER NOT NULL, rss INTEGER NOT NULL,"
	" connections INTEGER NOT NULL, counters TEXT NOT NULL,"
	" receive_lag TEXT NOT NULL, updated_us INTEGER NOT NULL)"
	" STRICT, WITHOUT ROWID;",
	/* 3 -> 4: the partitions of published partitioned tables */
	("CREATE TABLE partition_sets (oid INTEGER PRIMARY KEY,"
	 " leaves TEXT NOT NULL) STRICT;"),
};

static int migrate(struct ss_registry *r, sqlite3 *db, struct ss_err *err)
{
	int64_t version, appid, objects;
	size_t i, target = sizeof(migrations) / sizeof(migrations[0]);
	struct ss_buf sql = SS_BUF_INIT;

	/* The first read is where SQLite notices a file that is not a
	 * database: check it explicitly for a clear message. */
	if (exec(db, "SELECT count(*) FROM sqlite_schema", err, r->path) < 0)
		return -1;
	version = query_int(db, "PRAGMA user_version", 0);
	appid = query_int(db, "PRAGMA application_id", 0);
	objects = query_int(db, "SELECT count(*) FROM sqlite_schema", 0);
	if ((appid != APPLICATION_ID && objects > 0) || (appid == 0 && version > 0))
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "'%s' is a SQLite database but not a shapesync registry",
				  r->path);
	if (version > (int64_t)target)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "registry '%s' has schema version %" PRId64
				  ", newer than this shapesync understands (%zu)",
				  r->path, version, target);
	/* Before anything writes (journal_mode does): an empty file is not
	 * turned into a registry unless asked to create one. */
	if (version == 0 && objects == 0 && !r->o.create && !r->memory)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "'%s' is an empty file, not a shapesync registry", r->path);
	if (!r->memory && exec(db, "PRAGMA journal_mode=WAL", err, r->path) < 0)
		return -1;
	if (version == (int64_t)target)
		return 0;
	if (exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		return -1;
	/* Re-read under the lock: another process may have migrated. */
	version = query_int(db, "PRAGMA user_version", 0);
	for (i = (size_t)version; i < target; i++) {
		if (exec(db, migrations[i], err, r->path) < 0)
			goto fail;
	}
	ss_buf_addf(&sql, "PRAGMA user_version=%zu; PRAGMA application_id=%d;",
		    target, APPLICATION_ID);
	if (exec(db, sql.buf, err, r->path) < 0)
		goto fail;
	ss_buf_release(&sql);
	return exec(db, "COMMIT", err, r->path);
fail:
	ss_buf_release(&sql);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	ss_err_prefix(err, "migration failed");
	return -1;
}

/* Lock and return the write connection, opening it if needed. */
static sqlite3 *wconn_get(struct ss_registry *r, struct ss_err *err)
{
	pthread_mutex_lock(&r->wlock);
	if (!r->wdb && open_conn(r, 1, 0, &r->wdb, err) < 0) {
		pthread_mutex_unlock(&r->wlock);
		return NULL;
	}
	return r->wdb;
}

static void wconn_put(struct ss_registry *r)
{
	r->w_idle_since = ss_mono_us();
	pthread_mutex_unlock(&r->wlock);
}

static const char rec_cols[] =
	"id, handle, definition, hash, schema_name, table_name, snapshot_state,"
	" snapshot_xmin, snapshot_xmax, snapshot_xip, created_us, last_read_us,"
	" active_lsn, (SELECT group_concat(oid) FROM"
	" (SELECT oid FROM shape_relations WHERE shape_id = shapes.id ORDER BY oid))";

static void rconn_free(struct rconn *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->by_id);
	sqlite3_finalize(c->by_handle);
	sqlite3_finalize(c->by_def);
	sqlite3_close(c->db);
	free(c);
}

static int rconn_prepare(struct ss_registry *r, struct rconn *c, struct ss_err *err)
{
	struct ss_buf sql = SS_BUF_INIT;
	const char *where[3] = { "id = ?1", "handle = ?1", "definition = ?1" };
	sqlite3_stmt **st[3] = { &c->by_id, &c->by_handle, &c->by_def };
	int i;

	for (i = 0; i < 3; i++) {
		ss_buf_reset(&sql);
		ss_buf_addf(&sql, "SELECT %s FROM shapes WHERE %s", rec_cols, where[i]);
		if (sqlite3_prepare_v3(c->db, sql.buf, -1, SQLITE_PREPARE_PERSISTENT,
				       st[i], NULL) != SQLITE_OK) {
			ss_buf_release(&sql);
			return sql_fail(err, c->db, "could not read", r->path);
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
static struct rconn *rconn_get(struct ss_registry *r, struct ss_err *err)
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
	if (open_conn(r, 0, 0, &c->db, err) < 0 || rconn_prepare(r, c, err) < 0) {
		rconn_free(c);
		pthread_mutex_lock(&r->plock);
		r->nopen--;
		pthread_cond_signal(&r->pcond);
		pthread_mutex_unlock(&r->plock);
		return NULL;
	}
	return c;
}

static void rconn_put(struct ss_registry *r, struct rconn *c)
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
static sqlite3 *rconn_db(struct ss_registry *r, struct rconn *c)
{
	return r->memory ? r->wdb : c->db;
}

/* Close connections idle longer than the timeout (scale to zero). */
static void reap_idle(struct ss_registry *r)
{
	int64_t cutoff = ss_mono_us() - (int64_t)r->o.idle_timeout_ms * 1000;
	int i, j;

	if (r->memory)
		return;
	pthread_mutex_lock(&r->plock);
	for (i = j = 0; i < r->nidle; i++) {
		if (r->idle[i]->idle_since < cutoff) {
			rconn_free(r->idle[i]);
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

/* ------------------------------------------------------- reading records */

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void row_to_rec(sqlite3_stmt *st, struct ss_shape_rec *rec)
{
	const char *oids = col_text(st, 13), *xip = col_text(st, 9);
	size_t alloc = 0;

	ss_shape_rec_init(rec);
	rec->id = sqlite3_column_int64(st, 0);
	rec->handle = ss_xstrdup(col_text(st, 1));
	rec->definition = ss_xstrdup(col_text(st, 2));
	rec->hash = (uint32_t)sqlite3_column_int64(st, 3);
	rec->schema_name = ss_xstrdup(col_text(st, 4));
	rec->table_name = ss_xstrdup(col_text(st, 5));
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
		set_snapshot(rec, &e->rec.snapshot);
	}
	if (f & F_TOUCH)
		rec->last_read_us = e->rec.last_read_us;
	if (f & F_ACTIVE) {
		rec->active = 1;
		rec->active_lsn = e->rec.active_lsn;
	}
	if (f & F_OIDS)
		set_oids(rec, e->rec.oids, e->rec.noids);
}

enum { KEY_ID, KEY_HANDLE, KEY_DEF };

/* Read one shape from SQLite by key. 1 found, 0 not, -1 error. */
static int sql_lookup(struct ss_registry *r, int key, int64_t id, const char *s,
		      struct ss_shape_rec *out, struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	sqlite3_stmt *st;
	int rc, found = 0;

	if (!c)
		return -1;
	if (r->memory && !c->db) {
		/* The in-memory connection is the write connection; prepare
		 * its statements once, under wlock. */
		c->db = r->wdb;
		if (rconn_prepare(r, c, err) < 0) {
			c->db = NULL;
			rconn_put(r, c);
			return -1;
		}
	}
	st = key == KEY_ID ? c->by_id : key == KEY_HANDLE ? c->by_handle : c->by_def;
	if (key == KEY_ID)
		sqlite3_bind_int64(st, 1, id);
	else
		sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_to_rec(st, out);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		sql_fail(err, rconn_db(r, c), "could not read", r->path);
		found = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	rconn_put(r, c);
	return found;
}

/*
 * The read path: buffer first (known entries are authoritative), then
 * SQLite, then the buffer again for removals and overlays that may have
 * arrived while we read.
 */
static int lookup(struct ss_registry *r, int key, int64_t id, const char *s,
		  struct ss_shape_rec *out, struct ss_err *err)
{
	struct entry *e;
	int rc;

	pthread_mutex_lock(&r->mu);
	e = key == KEY_ID ? find_id(r, id) :
	    find_str(r, key == KEY_HANDLE ? BY_HANDLE : BY_DEF, s);
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

	rc = sql_lookup(r, key, id, s, out, err);
	if (rc <= 0)
		return rc;
	pthread_mutex_lock(&r->mu);
	e = find_id(r, out->id);
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

int ss_registry_get_by_id(struct ss_registry *r, int64_t id, struct ss_shape_rec *out,
			  struct ss_err *err)
{
	return lookup(r, KEY_ID, id, NULL, out, err);
}

int ss_registry_get_by_handle(struct ss_registry *r, const char *handle,
			      struct ss_shape_rec *out, struct ss_err *err)
{
	return lookup(r, KEY_HANDLE, 0, handle, out, err);
}

int ss_registry_get_by_definition(struct ss_registry *r, const struct ss_shape *def,
				  struct ss_shape_rec *out, struct ss_err *err)
{
	struct ss_buf canon = SS_BUF_INIT;
	int rc;

	ss_shape_canonical(def, &canon);
	rc = lookup(r, KEY_DEF, 0, canon.buf, out, err);
	ss_buf_release(&canon);
	return rc;
}

/* -------------------------------------------------------------- id blocks */

/* Reserve the next block of ids durably. Called with idlock held. */
static int reserve_ids(struct ss_registry *r, struct ss_err *err)
{
	sqlite3 *db = wconn_get(r, err);
	int64_t reserved, seq, base;
	struct ss_buf sql = SS_BUF_INIT;

	if (!db)
		return -1;
	if (exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto out;
	reserved = query_int(db, "SELECT value FROM progress WHERE key = 'id_reserved'", 0);
	seq = query_int(db, "SELECT max(seq) FROM sqlite_sequence WHERE name = 'shapes'", 0);
	base = reserved > seq ? reserved : seq;
	ss_buf_addf(&sql, "UPDATE progress SET value = %" PRId64
		    " WHERE key = 'id_reserved'; COMMIT;", base + r->o.id_block);
	if (exec(db, sql.buf, err, r->path) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	r->next_id = base + 1;
	r->id_hi = base + r->o.id_block;
	ss_buf_release(&sql);
	wconn_put(r);
	return 0;
out:
	ss_buf_release(&sql);
	wconn_put(r);
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
	db = wconn_get(r, &err);
	if (!db)
		return;
	snprintf(sql, sizeof(sql), "UPDATE progress SET value = %" PRId64
		 " WHERE key = 'id_reserved' AND value = %" PRId64, r->next_id - 1, r->id_hi);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	wconn_put(r);
}

static int take_id(struct ss_registry *r, int64_t *id, struct ss_err *err)
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

/* ------------------------------------------------------------- mutations */

int ss_registry_add(struct ss_registry *r, const struct ss_shape *def,
		    const uint32_t *oids, size_t noids, struct ss_shape_rec *out,
		    int *created, struct ss_err *err)
{
	struct ss_buf canon = SS_BUF_INIT;
	struct entry *e;
	int64_t id = 0;
	uint64_t retired;
	int rc;

	if (!def->table || !def->schema)
		return ss_err_set(err, SS_ERR_INPUT, "shape definition has no table");
	ss_shape_canonical(def, &canon);
	*created = 0;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		e = find_str(r, BY_DEF, canon.buf);
		if (e) {
			ss_shape_rec_copy(out, &e->rec);
			pthread_mutex_unlock(&r->mu);
			goto done;
		}
		retired = r->retired;
		pthread_mutex_unlock(&r->mu);

		/* Committed shapes: look in SQLite without holding the buffer. */
		rc = lookup(r, KEY_DEF, 0, canon.buf, out, err);
		if (rc < 0)
			goto fail;
		if (rc > 0)
			goto done;
		if (!id && take_id(r, &id, err) < 0)
			goto fail;

		pthread_mutex_lock(&r->mu);
		wait_space(r);
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			ss_err_set(err, SS_ERR_RUNTIME, "registry '%s' is closing", r->path);
			goto fail;
		}
		/* While we read SQLite (or waited), the same definition may have
		 * been buffered, or flushed and retired from the buffer: then our
		 * SQLite miss is stale and we look again. The id we took is
		 * simply not used (a gap, never a reuse). */
		if (find_str(r, BY_DEF, canon.buf) || r->retired != retired) {
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		break;
	}
	{
		char handle[SS_HANDLE_MAX];
		uint32_t hash = ss_shape_hash_canonical(canon.buf, canon.len);
		int64_t us = ss_now_us();

		if (us <= r->last_us)
			us = r->last_us + 1;
		for (;;) {
			ss_shape_format_handle(hash, us, handle, sizeof(handle));
			if (!find_str(r, BY_HANDLE, handle))
				break;
			us++;
		}
		r->last_us = us;
		e = entry_new(r, id);
		e->known = 1;
		e->rec.handle = ss_xstrdup(handle);
		e->rec.definition = ss_buf_detach(&canon, NULL);
		e->rec.hash = hash;
		e->rec.schema_name = ss_xstrdup(def->schema);
		e->rec.table_name = ss_xstrdup(def->table);
		e->rec.created_us = ss_now_us();
		set_oids(&e->rec, oids, noids);
		table_put(&r->t_handle, BY_HANDLE, e);
		table_put(&r->t_def, BY_DEF, e);
		r->delta_count++;
		mark(r, e, F_ADD);
		ss_shape_rec_copy(out, &e->rec);
		*created = 1;
	}
	pthread_mutex_unlock(&r->mu);
done:
	ss_buf_release(&canon);
	return 0;
fail:
	ss_buf_release(&canon);
	return -1;
}

/*
 * Find or make the entry that carries writes for shape `id`. Returns NULL
 * (with mu held) when the shape does not exist or is being removed. May
 * read SQLite to confirm the shape exists; `wait` says whether to apply
 * backpressure when a new entry is needed.
 */
static struct entry *entry_for_write(struct ss_registry *r, int64_t id, int wait,
				     int *exists, struct ss_err *err)
{
	struct ss_shape_rec rec;
	struct entry *e;
	int rc;

	*exists = 0;
	pthread_mutex_lock(&r->mu);
	e = find_id(r, id);
	if (e) {
		if ((e->dirty | e->inflight) & F_REMOVE)
			return NULL;
		*exists = 1;
		return e;
	}
	pthread_mutex_unlock(&r->mu);
	ss_shape_rec_init(&rec);
	rc = sql_lookup(r, KEY_ID, id, NULL, &rec, err);
	ss_shape_rec_release(&rec);
	pthread_mutex_lock(&r->mu);
	if (rc < 0) {
		*exists = -1;
		return NULL;
	}
	if (rc == 0)
		return NULL;
	if (wait)
		wait_space(r);
	else if (r->count >= r->o.buffer_capacity)
		return NULL;
	/* Re-check: another thread may have made an entry meanwhile. */
	e = find_id(r, id);
	if (e) {
		if ((e->dirty | e->inflight) & F_REMOVE)
			return NULL;
	} else {
		e = entry_new(r, id);
	}
	*exists = 1;
	return e;
}

int ss_registry_remove(struct ss_registry *r, int64_t id, struct ss_err *err)
{
	int exists;
	struct entry *e = entry_for_write(r, id, 1, &exists, err);

	if (!e) {
		pthread_mutex_unlock(&r->mu);
		return exists < 0 ? -1 : 0;
	}
	if (e->known && !((e->dirty | e->inflight) & F_REMOVE)) {
		/* The definition is free again at once; the handle keeps its
		 * tombstone until the removal is committed. */
		table_del(&r->t_def, BY_DEF, e);
		table_del(&r->t_handle, BY_HANDLE, e);
	}
	r->delta_count--;
	mark(r, e, F_REMOVE);
	pthread_mutex_unlock(&r->mu);
	return 1;
}

int ss_registry_set_snapshot(struct ss_registry *r, int64_t id, int state,
			     const struct ss_pg_snapshot *snap, struct ss_err *err)
{
	int exists;
	struct entry *e;

	if (state < SS_SNAPSHOT_PENDING || state > SS_SNAPSHOT_COMPLETE)
		return ss_err_set(err, SS_ERR_INPUT, "invalid snapshot state %d", state);
	e = entry_for_write(r, id, 1, &exists, err);
	if (!e) {
		pthread_mutex_unlock(&r->mu);
		return exists < 0 ? -1 : 0;
	}
	if (!e->known && !((e->dirty | e->inflight) & F_SNAPSHOT) && !snap) {
		/* Partial entry with no snapshot yet: keep the stored one. */
		struct ss_shape_rec cur;
		int rc;

		pthread_mutex_unlock(&r->mu);
		ss_shape_rec_init(&cur);
		rc = sql_lookup(r, KEY_ID, id, NULL, &cur, err);
		pthread_mutex_lock(&r->mu);
		if (rc < 0) {
			pthread_mutex_unlock(&r->mu);
			return -1;
		}
		/* The entry may have been flushed away while unlocked. */
		e = find_id(r, id);
		if (!e)
			e = entry_new(r, id);
		if (!((e->dirty | e->inflight) & F_SNAPSHOT))
			set_snapshot(&e->rec, &cur.snapshot);
		ss_shape_rec_release(&cur);
	}
	e->rec.snapshot_state = state;
	if (snap)
		set_snapshot(&e->rec, snap);
	mark(r, e, F_SNAPSHOT);
	pthread_mutex_unlock(&r->mu);
	return 1;
}

int ss_registry_set_oids(struct ss_registry *r, int64_t id, const uint32_t *oids,
			 size_t noids, struct ss_err *err)
{
	int exists;
	struct entry *e = entry_for_write(r, id, 1, &exists, err);

	if (!e) {
		pthread_mutex_unlock(&r->mu);
		return exists < 0 ? -1 : 0;
	}
	set_oids(&e->rec, oids, noids);
	mark(r, e, F_OIDS);
	pthread_mutex_unlock(&r->mu);
	return 1;
}

void ss_registry_touch(struct ss_registry *r, int64_t id)
{
	struct entry *e;

	pthread_mutex_lock(&r->mu);
	e = find_id(r, id);
	if (!e) {
		/* A touch never waits and never reads SQLite: an unknown id
		 * gets an entry only if there is room. If the shape does not
		 * exist the UPDATE simply matches nothing. */
		if (r->count >= r->o.buffer_capacity) {
			r->n_touch_dropped++;
			pthread_mutex_unlock(&r->mu);
			return;
		}
		e = entry_new(r, id);
	} else if ((e->dirty | e->inflight) & F_REMOVE) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	e->rec.last_read_us = ss_now_us();
	mark(r, e, F_TOUCH);
	pthread_mutex_unlock(&r->mu);
}

int ss_registry_mark_active(struct ss_registry *r, int64_t id, uint64_t lsn,
			    struct ss_err *err)
{
	int exists;
	struct entry *e = entry_for_write(r, id, 1, &exists, err);

	if (!e) {
		pthread_mutex_unlock(&r->mu);
		return exists < 0 ? -1 : 0;
	}
	e->rec.active = 1;
	e->rec.active_lsn = lsn;
	mark(r, e, F_ACTIVE);
	pthread_mutex_unlock(&r->mu);
	return 1;
}

/* ----------------------------------------------------------------- flush */

/* What one entry asks the flusher to write, copied out under mu. */
struct op {
	unsigned flags;
	int known;
	struct ss_shape_rec rec;
};

struct stmts {
	sqlite3_stmt *ins, *ins_rel, *del, *del_rel, *log_add, *log_del,
		*snap, *touch, *active;
};

static const char *const stmt_sql[] = {
	"INSERT INTO shapes (id, handle, definition, hash, schema_name, table_name,"
	" snapshot_state, snapshot_xmin, snapshot_xmax, snapshot_xip, created_us,"
	" last_read_us, active_lsn) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"
	" ON CONFLICT DO NOTHING",
	"INSERT OR IGNORE INTO shape_relations (shape_id, oid) VALUES (?1, ?2)",
	"DELETE FROM shapes WHERE id = ?1",
	"DELETE FROM shape_relations WHERE shape_id = ?1",
	"INSERT INTO shape_changes (shape_id, handle, added) VALUES (?1, ?2, 1)",
	"INSERT INTO shape_changes (shape_id, handle, added)"
	" SELECT id, handle, 0 FROM shapes WHERE id = ?1",
	"UPDATE shapes SET snapshot_state = ?2, snapshot_xmin = ?3,"
	" snapshot_xmax = ?4, snapshot_xip = ?5 WHERE id = ?1",
	"UPDATE shapes SET last_read_us = ?2 WHERE id = ?1 AND"
	" (last_read_us IS NULL OR last_read_us < ?2)",
	"UPDATE shapes SET active_lsn = ?2 WHERE id = ?1",
};

static int stmts_prepare(sqlite3 *db, struct stmts *s)
{
	sqlite3_stmt **all = (sqlite3_stmt **)s;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < sizeof(stmt_sql) / sizeof(stmt_sql[0]); i++)
		if (sqlite3_prepare_v2(db, stmt_sql[i], -1, &all[i], NULL) != SQLITE_OK)
			return -1;
	return 0;
}

static void stmts_finalize(struct stmts *s)
{
	sqlite3_stmt **all = (sqlite3_stmt **)s;
	size_t i;

	for (i = 0; i < sizeof(stmt_sql) / sizeof(stmt_sql[0]); i++)
		sqlite3_finalize(all[i]);
}

static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void bind_snapshot(sqlite3_stmt *st, const struct ss_shape_rec *rec,
			  int first, struct ss_buf *tmp)
{
	if (rec->snapshot_state == SS_SNAPSHOT_PENDING && !rec->snapshot.xmax) {
		sqlite3_bind_null(st, first);
		sqlite3_bind_null(st, first + 1);
		sqlite3_bind_null(st, first + 2);
		return;
	}
	ss_buf_reset(tmp);
	xip_to_text(&rec->snapshot, tmp);
	sqlite3_bind_int64(st, first, (int64_t)rec->snapshot.xmin);
	sqlite3_bind_int64(st, first + 1, (int64_t)rec->snapshot.xmax);
	sqlite3_bind_text(st, first + 2, tmp->buf, (int)tmp->len, SQLITE_TRANSIENT);
}

static int insert_relations(struct stmts *s, const struct ss_shape_rec *rec)
{
	size_t i;

	for (i = 0; i < rec->noids; i++) {
		sqlite3_bind_int64(s->ins_rel, 1, rec->id);
		sqlite3_bind_int64(s->ins_rel, 2, rec->oids[i]);
		if (run(s->ins_rel) < 0)
			return -1;
	}
	return 0;
}

/* Insert one whole record (a buffered add, or an import line). Returns 1
 * if inserted, 0 if it conflicted with an existing row, -1 on error. */
static int insert_rec(sqlite3 *db, struct stmts *s, const struct ss_shape_rec *rec,
		      struct ss_buf *tmp)
{
	sqlite3_stmt *st = s->ins;

	sqlite3_bind_int64(st, 1, rec->id);
	sqlite3_bind_text(st, 2, rec->handle, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rec->definition, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, rec->hash);
	sqlite3_bind_text(st, 5, rec->schema_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, rec->table_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, rec->snapshot_state);
	bind_snapshot(st, rec, 8, tmp);
	sqlite3_bind_int64(st, 11, rec->created_us);
	if (rec->last_read_us)
		sqlite3_bind_int64(st, 12, rec->last_read_us);
	if (rec->active)
		sqlite3_bind_int64(st, 13, (int64_t)rec->active_lsn);
	if (run(st) < 0)
		return -1;
	if (sqlite3_changes(db) == 0)
		return 0;
	if (insert_relations(s, rec) < 0)
		return -1;
	sqlite3_bind_int64(s->log_add, 1, rec->id);
	sqlite3_bind_text(s->log_add, 2, rec->handle, -1, SQLITE_STATIC);
	return run(s->log_add) < 0 ? -1 : 1;
}

/* Keep the change log bounded; readers behind the trim point reload. */
static int trim_changes(sqlite3 *db, int keep)
{
	int64_t max = query_int(db, "SELECT max(seq) FROM shape_changes", 0);
	int64_t min = query_int(db, "SELECT min(seq) FROM shape_changes", 0);
	char sql[256];

	if (max - min < 2 * (int64_t)keep)
		return 0;
	snprintf(sql, sizeof(sql),
		 "DELETE FROM shape_changes WHERE seq <= %" PRId64 ";"
		 "UPDATE progress SET value = %" PRId64 " WHERE key = 'changes_trimmed'",
		 max - keep, max - keep);
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/*
 * Write one batch in a single transaction. Removes go first so that a
 * definition freed by a remove can be re-added in the same batch. Sets
 * conflict[i] for adds another process beat us to.
 */
static int write_batch(struct ss_registry *r, struct op *ops, size_t n,
		       int *conflict, struct ss_err *err)
{
	struct ss_buf tmp = SS_BUF_INIT;
	struct stmts s;
	sqlite3 *db;
	size_t i;
	int pass;

	db = wconn_get(r, err);
	if (!db)
		return -1;
	if (stmts_prepare(db, &s) < 0 || exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto fail;
	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < n; i++) {
			struct op *op = &ops[i];
			const struct ss_shape_rec *rec = &op->rec;

			/* Added and removed before any flush: nothing to write. */
			if ((op->flags & (F_ADD | F_REMOVE)) == (F_ADD | F_REMOVE))
				continue;
			if (pass == 0 && (op->flags & F_REMOVE)) {
				sqlite3_bind_int64(s.log_del, 1, rec->id);
				sqlite3_bind_int64(s.del, 1, rec->id);
				sqlite3_bind_int64(s.del_rel, 1, rec->id);
				if (run(s.log_del) < 0 || run(s.del) < 0 || run(s.del_rel) < 0)
					goto sqlfail;
			} else if (pass == 1 && (op->flags & F_ADD)) {
				int rc = insert_rec(db, &s, rec, &tmp);

				if (rc < 0)
					goto sqlfail;
				conflict[i] = rc == 0;
			} else if (pass == 2 && !(op->flags & (F_ADD | F_REMOVE))) {
				if (op->flags & F_SNAPSHOT) {
					sqlite3_bind_int64(s.snap, 1, rec->id);
					sqlite3_bind_int(s.snap, 2, rec->snapshot_state);
					bind_snapshot(s.snap, rec, 3, &tmp);
					if (run(s.snap) < 0)
						goto sqlfail;
				}
				if (op->flags & F_TOUCH) {
					sqlite3_bind_int64(s.touch, 1, rec->id);
					sqlite3_bind_int64(s.touch, 2, rec->last_read_us);
					if (run(s.touch) < 0)
						goto sqlfail;
				}
				if (op->flags & F_ACTIVE) {
					sqlite3_bind_int64(s.active, 1, rec->id);
					sqlite3_bind_int64(s.active, 2, (int64_t)rec->active_lsn);
					if (run(s.active) < 0)
						goto sqlfail;
				}
				if (op->flags & F_OIDS) {
					sqlite3_bind_int64(s.del_rel, 1, rec->id);
					if (run(s.del_rel) < 0 || insert_relations(&s, rec) < 0)
						goto sqlfail;
				}
			}
		}
	}
	if (trim_changes(db, r->o.changes_keep) < 0 || exec(db, "COMMIT", err, r->path) < 0)
		goto sqlfail;
	stmts_finalize(&s);
	ss_buf_release(&tmp);
	wconn_put(r);
	return 0;
sqlfail:
	sql_fail(err, db, "could not write", r->path);
fail:
	if (!err->msg[0])
		sql_fail(err, db, "could not write", r->path);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	stmts_finalize(&s);
	ss_buf_release(&tmp);
	wconn_put(r);
	return -1;
}

/* One flush round: take up to flush_batch entries off the FIFO, write
 * them without holding mu, then retire or requeue them. Called with mu
 * held; returns with mu held. */
static void flush_round(struct ss_registry *r)
{
	struct ss_err err = SS_ERR_INIT;
	struct op *ops;
	int *conflict;
	size_t n = 0, i;
	struct entry *e;
	int ok;

	for (e = r->qhead; e && n < (size_t)r->o.flush_batch; e = e->qnext)
		n++;
	if (!n)
		return;
	ops = ss_xcalloc(n, sizeof(*ops));
	conflict = ss_xcalloc(n, sizeof(*conflict));
	r->batch = ss_xrealloc(r->batch, n * sizeof(*r->batch));
	for (i = 0; i < n; i++) {
		e = r->qhead;
		dequeue(r, e);
		e->inflight = e->dirty;
		e->dirty = 0;
		ops[i].flags = e->inflight;
		ops[i].known = e->known;
		ss_shape_rec_copy(&ops[i].rec, &e->rec);
		r->batch[i] = e;
	}
	r->nbatch = n;
	if (r->qhead)
		r->oldest_us = ss_mono_us();
	pthread_mutex_unlock(&r->mu);

	ok = write_batch(r, ops, n, conflict, &err) == 0;

	pthread_mutex_lock(&r->mu);
	if (!ok) {
		/* Put the batch back at the head, in its order: a remove must
		 * stay ahead of a later add of the same definition. */
		for (i = n; i-- > 0;) {
			e = r->batch[i];
			e->dirty |= e->inflight;
			e->inflight = 0;
			enqueue_front(r, e);
		}
	}
	for (i = 0; ok && i < n; i++) {
		e = r->batch[i];
		if (conflict[i] && e->known) {
			/* Another process registered this definition first:
			 * our handle never became real. */
			r->n_conflicts++;
			r->delta_count--;
			table_del(&r->t_handle, BY_HANDLE, e);
			table_del(&r->t_def, BY_DEF, e);
			e->dirty = e->inflight = 0;
			e->known = 0;
			dequeue(r, e);
			entry_free(r, e);
			continue;
		}
		if (ops[i].flags & F_ADD)
			r->delta_count--;
		if (ops[i].flags & F_REMOVE)
			r->delta_count++;
		e->inflight = 0;
		if (e->dirty) {
			/* Written to again while we were committing. */
			if (ops[i].flags & F_ADD)
				e->dirty &= ~(unsigned)F_ADD;
			enqueue(r, e);
		} else {
			entry_free(r, e);
		}
	}
	r->nbatch = 0;
	if (ok) {
		r->n_flushes++;
		r->n_flushed_ops += (int64_t)n;
		r->retired++;
		r->last_error[0] = '\0';
	} else {
		r->n_flush_errors++;
		snprintf(r->last_error, sizeof(r->last_error), "%.250s", err.msg);
	}
	pthread_cond_broadcast(&r->done);
	for (i = 0; i < n; i++)
		ss_shape_rec_release(&ops[i].rec);
	free(ops);
	free(conflict);
	if (!ok) {
		/* Back off before retrying a failing database. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->wake, &r->mu, &ts);
	}
}

static void *flusher_main(void *arg)
{
	struct ss_registry *r = arg;
	int64_t last_reap = ss_mono_us();

	pthread_mutex_lock(&r->mu);
	for (;;) {
		int64_t now = ss_mono_us(), due;
		int64_t pending = 0;
		struct entry *e;
		struct timespec ts;

		for (e = r->qhead; e && pending < r->o.flush_batch; e = e->qnext)
			pending++;
		if (r->qhead && (r->stop || r->force || pending >= r->o.flush_batch ||
				 now - r->oldest_us >= (int64_t)r->o.flush_interval_ms * 1000)) {
			flush_round(r);
			if (!r->qhead)
				r->force = 0;
			continue;
		}
		if (r->stop)
			break;
		if (now - last_reap >= 1000000) {
			pthread_mutex_unlock(&r->mu);
			reap_idle(r);
			pthread_mutex_lock(&r->mu);
			last_reap = now;
			continue;
		}
		due = r->qhead ? r->oldest_us + (int64_t)r->o.flush_interval_ms * 1000
			       : now + 1000000;
		clock_gettime(CLOCK_REALTIME, &ts);
		{
			int64_t wait_us = due - now;

			if (wait_us < 100)
				wait_us = 100;
			ts.tv_sec += wait_us / 1000000;
			ts.tv_nsec += (wait_us % 1000000) * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
		}
		pthread_cond_timedwait(&r->wake, &r->mu, &ts);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Are writes of flush epoch <= target still buffered? Called under mu. */
static int pending_upto(struct ss_registry *r, uint64_t target)
{
	struct entry *e;
	size_t i;

	for (e = r->qhead; e; e = e->qnext)
		if (e->epoch <= target)
			return 1;
	for (i = 0; i < r->nbatch; i++)
		if (r->batch[i]->epoch <= target)
			return 1;
	return 0;
}

int ss_registry_flush(struct ss_registry *r, struct ss_err *err)
{
	uint64_t target;
	int64_t errors;

	pthread_mutex_lock(&r->mu);
	target = r->epoch++;
	errors = r->n_flush_errors;
	while (pending_upto(r, target)) {
		r->force = 1;
		pthread_cond_signal(&r->wake);
		pthread_cond_wait(&r->done, &r->mu);
		if (r->n_flush_errors > errors) {
			ss_err_set(err, SS_ERR_RUNTIME, "%s", r->last_error);
			pthread_mutex_unlock(&r->mu);
			return -1;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return 0;
}

/* ------------------------------------------------------------ open/close */

void ss_registry_opts_init(struct ss_registry_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->flush_interval_ms = 5;
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
			ss_err_set(err, errno == ENOENT ? SS_ERR_INPUT : SS_ERR_RUNTIME,
				   "could not open registry '%s': %s", path, strerror(errno));
			if (errno == ENOENT)
				ss_err_hint(err, "run 'shapesync-db init' to create it");
			goto fail;
		}
	} else if (!r->memory && !S_ISREG(st.st_mode)) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not open registry '%s': not a regular file",
			   path);
		goto fail;
	}
	if (open_conn(r, 1, r->o.create, &r->wdb, err) < 0)
		goto fail;
	if (migrate(r, r->wdb, err) < 0)
		goto fail;
	r->w_idle_since = ss_mono_us();
	rc = ss_thread_start(&r->flusher, NULL, flusher_main, r);
	if (rc != 0) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not start the registry flusher: %s",
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
			rc = ss_err_set(err, SS_ERR_RUNTIME,
					"could not flush the registry '%s': %s", r->path,
					r->last_error[0] ? r->last_error : "unknown error");
		}
	}
	release_ids(r);
	while (r->qhead) {
		struct entry *e = r->qhead;

		dequeue(r, e);
		entry_free(r, e);
	}
	for (i = 0; i < r->nidle; i++)
		rconn_free(r->idle[i]);
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
	c = rconn_get(r, err);
	if (!c)
		return -1;
	ss_buf_addf(&sql, "SELECT %s FROM shapes ORDER BY id", rec_cols);
	if (sqlite3_prepare_v2(rconn_db(r, c), sql.buf, -1, &st, NULL) != SQLITE_OK) {
		ret = sql_fail(err, rconn_db(r, c), "could not read", r->path);
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
		ret = sql_fail(err, rconn_db(r, c), "could not read", r->path);
out:
	sqlite3_finalize(st);
	rconn_put(r, c);
	ss_buf_release(&sql);
	return ret;
}

int ss_registry_count(struct ss_registry *r, int64_t *count, struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	int64_t n, delta;

	if (!c)
		return -1;
	n = query_int(rconn_db(r, c), "SELECT count(*) FROM shapes", -1);
	rconn_put(r, c);
	if (n < 0)
		return ss_err_set(err, SS_ERR_RUNTIME, "could not count shapes in registry '%s'",
				  r->path);
	pthread_mutex_lock(&r->mu);
	delta = r->delta_count;
	pthread_mutex_unlock(&r->mu);
	*count = n + delta;
	return 0;
}

int ss_registry_data_version(struct ss_registry *r, int64_t *version, struct ss_err *err)
{
	/* PRAGMA data_version is per connection and changes only for
	 * commits by *other* connections: ask the write connection (always
	 * the same one while open) and mix in this process's own commits. */
	sqlite3 *db = wconn_get(r, err);
	int64_t dv, local;

	if (!db)
		return -1;
	dv = query_int(db, "PRAGMA data_version", -1);
	wconn_put(r);
	if (dv < 0)
		return ss_err_set(err, SS_ERR_RUNTIME, "could not read registry '%s'", r->path);
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
static int stream_changes(struct ss_registry *r, sqlite3 *db, const char *sql, uint64_t since,
			  ss_registry_change_cb cb, void *ctx, uint64_t *last, struct ss_err *err)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return sql_fail(err, db, "could not read", r->path);
	if (sqlite3_bind_parameter_count(st))
		sqlite3_bind_int64(st, 1, (int64_t)since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);

		ret = cb(seq, sqlite3_column_int64(st, 1), col_text(st, 2),
			 sqlite3_column_int(st, 3), ctx);
		if (last)
			*last = seq;
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sql_fail(err, db, "could not read", r->path);
	sqlite3_finalize(st);
	return ret;
}

int ss_registry_changes(struct ss_registry *r, uint64_t since, ss_registry_change_cb cb,
			void *ctx, uint64_t *last, struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	sqlite3 *db;
	int ret = 0;

	if (!c)
		return -1;
	db = rconn_db(r, c);
	*last = since;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = sql_fail(err, db, "could not read", r->path);
		goto out;
	}
	if ((uint64_t)query_int(db, "SELECT value FROM progress WHERE key = 'changes_trimmed'",
				0) > since) {
		ret = 1;
		goto out;
	}
	ret = stream_changes(r, db, "SELECT seq, shape_id, handle, added FROM shape_changes"
			     " WHERE seq > ?1 ORDER BY seq", since, cb, ctx, last, err);
out:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	rconn_put(r, c);
	return ret;
}

int ss_registry_load_handles(struct ss_registry *r, ss_registry_change_cb cb, void *ctx,
			     uint64_t *last, struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	sqlite3 *db;
	int ret = 0;

	if (!c)
		return -1;
	db = rconn_db(r, c);
	/* One read transaction: the listing and the log position agree. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = sql_fail(err, db, "could not read", r->path);
		goto out;
	}
	*last = (uint64_t)query_int(db, "SELECT max(seq) FROM shape_changes", 0);
	{
		uint64_t trimmed = (uint64_t)query_int(
			db, "SELECT value FROM progress WHERE key = 'changes_trimmed'", 0);

		if (trimmed > *last)
			*last = trimmed;
	}
	if (!cb)
		goto out; /* only the log position was asked for */
	/* Every live shape, as "added" rows with no log position. */
	ret = stream_changes(r, db, "SELECT 0, id, handle, 1 FROM shapes ORDER BY id", 0, cb,
			     ctx, NULL, err);
out:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	rconn_put(r, c);
	return ret;
}

/* ----------------------------------------------------------- durable LSN */

int ss_registry_set_durable_lsn(struct ss_registry *r, uint64_t lsn, int64_t stream,
				struct ss_err *err)
{
	sqlite3 *db = wconn_get(r, err);
	sqlite3_stmt *st;
	int rc;

	if (!db)
		return -1;
	/* Never move backwards: a restarted store replays from older LSNs.
	 * Only for the current stream: positions of an older one mean
	 * nothing in the new one (another server's WAL, say). */
	if (sqlite3_prepare_v2(db, "UPDATE progress SET value = max(value, ?1)"
			       " WHERE key = 'durable_lsn' AND ?2 ="
			       " (SELECT value FROM progress WHERE key = 'stream')",
			       -1, &st, NULL) != SQLITE_OK) {
		sql_fail(err, db, "could not write", r->path);
		wconn_put(r);
		return -1;
	}
	sqlite3_bind_int64(st, 1, (int64_t)lsn);
	sqlite3_bind_int64(st, 2, stream);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sql_fail(err, db, "could not write", r->path);
		wconn_put(r);
		return -1;
	}
	rc = sqlite3_changes(db) > 0;
	wconn_put(r);
	return rc;
}

/* -------------------------------------------------------- partition sets */

int ss_registry_partitions_get(struct ss_registry *r, uint32_t oid,
			       struct ss_buf *leaves, int *found, struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	ss_buf_reset(leaves);
	if (!c)
		return -1;
	db = rconn_db(r, c);
	if (sqlite3_prepare_v2(db, "SELECT leaves FROM partition_sets WHERE oid = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		sql_fail(err, db, "could not read", r->path);
		rconn_put(r, c);
		return -1;
	}
	sqlite3_bind_int64(st, 1, oid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = 1;
		ss_buf_adds(leaves, (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	rconn_put(r, c);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ss_err_set(err, SS_ERR_RUNTIME, "could not read the partitions "
				  "of %u from '%s'", oid, r->path);
	return 0;
}

int ss_registry_partitions_set(struct ss_registry *r, uint32_t oid,
			       const char *leaves, struct ss_err *err)
{
	sqlite3 *db = wconn_get(r, err);
	sqlite3_stmt *st;
	int rc;

	if (!db)
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT INTO partition_sets VALUES (?1, ?2)"
			       " ON CONFLICT (oid) DO UPDATE SET leaves = ?2",
			       -1, &st, NULL) != SQLITE_OK) {
		sql_fail(err, db, "could not write", r->path);
		wconn_put(r);
		return -1;
	}
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_text(st, 2, leaves, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		sql_fail(err, db, "could not write", r->path);
	wconn_put(r);
	return rc == SQLITE_DONE ? 0 : -1;
}

int ss_registry_remove_table(struct ss_registry *r, const char *schema,
			     const char *table, int64_t *removed, struct ss_err *err)
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
	db = wconn_get(r, err);
	if (!db)
		return -1;
	if (exec(db, "BEGIN IMMEDIATE", err, r->path) < 0) {
		wconn_put(r);
		return -1;
	}
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st;
		int rc;

		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK) {
			sql_fail(err, db, "could not write", r->path);
			goto fail;
		}
		sqlite3_bind_text(st, 1, schema, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			sql_fail(err, db, "could not write", r->path);
			goto fail;
		}
		if (i == 0)
			*removed = sqlite3_changes(db);
	}
	if (exec(db, "COMMIT", err, r->path) < 0)
		goto fail;
	wconn_put(r);
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	wconn_put(r);
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
	c = rconn_get(r, err);
	if (!c)
		return -1;
	hi = query_int(rconn_db(r, c), "SELECT max((SELECT value FROM progress"
		       " WHERE key = 'id_reserved'), coalesce((SELECT max(seq)"
		       " FROM sqlite_sequence WHERE name = 'shapes'), 0))", -1);
	rconn_put(r, c);
	if (hi < 0)
		return ss_err_set(err, SS_ERR_RUNTIME, "could not read the reserved "
				  "ids from '%s'", r->path);
	*issued = id >= 1 && id <= hi;
	return 0;
}

/* ---------------------------------------------------------------- streams */

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src ? (const char *)src : "");
}

int ss_registry_stream_get(struct ss_registry *r, int64_t *stream,
			   struct ss_stream_id *id, int *has_id, struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	if (!c)
		return -1;
	db = rconn_db(r, c);
	if (sqlite3_prepare_v2(db, "SELECT p.value, s.system_id, s.timeline,"
			       " s.db_oid, s.db_name, s.slot, s.slot_lsn"
			       " FROM progress p LEFT JOIN streams s"
			       " ON s.stream = p.value WHERE p.key = 'stream'",
			       -1, &st, NULL) != SQLITE_OK) {
		sql_fail(err, db, "could not read", r->path);
		rconn_put(r, c);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			ss_err_set(err, SS_ERR_RUNTIME, "registry '%s' has no "
				   "stream number", r->path);
		else
			sql_fail(err, db, "could not read", r->path);
		sqlite3_finalize(st);
		rconn_put(r, c);
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
	rconn_put(r, c);
	return 0;
}

int ss_registry_stream_start(struct ss_registry *r, const struct ss_stream_id *id,
			     const char *reason, int invalidate, uint64_t start_lsn,
			     int64_t *stream, int64_t *invalidated, struct ss_err *err)
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
	db = wconn_get(r, err);
	if (!db)
		return -1;
	if (exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto out;
	if (invalidate) {
		n = query_int(db, "SELECT count(*) FROM shapes", 0);
		if (exec(db, wipe, err, r->path) < 0)
			goto fail;
	}
	next = query_int(db, "SELECT value FROM progress WHERE key = 'stream'", 0) + 1;
	if (sqlite3_prepare_v2(db, "INSERT INTO streams (stream, system_id, timeline,"
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
	if (sqlite3_prepare_v2(db, invalidate ?
			       "UPDATE progress SET value = CASE key"
			       " WHEN 'stream' THEN ?1 ELSE ?2 END"
			       " WHERE key IN ('stream', 'durable_lsn')" :
			       "UPDATE progress SET value = ?1 WHERE key = 'stream'",
			       -1, &st, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_int64(st, 1, next);
	if (invalidate)
		sqlite3_bind_int64(st, 2, (int64_t)start_lsn);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(st);
	st = NULL;
	if (exec(db, "COMMIT", err, r->path) < 0)
		goto fail;
	wconn_put(r);
	*stream = next;
	if (invalidated)
		*invalidated = n;
	return 0;
sqlfail:
	sql_fail(err, db, "could not write", r->path);
fail:
	sqlite3_finalize(st);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	wconn_put(r);
	return -1;
}

int ss_registry_get_durable_lsn(struct ss_registry *r, uint64_t *lsn, struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	int64_t v;

	if (!c)
		return -1;
	v = query_int(rconn_db(r, c), "SELECT value FROM progress WHERE key = 'durable_lsn'", -1);
	rconn_put(r, c);
	if (v == -1)
		return ss_err_set(err, SS_ERR_RUNTIME, "could not read the durable LSN from '%s'",
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

int ss_registry_stats(struct ss_registry *r, struct ss_registry_stats *st, struct ss_err *err)
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
		struct rconn *c = rconn_get(r, err);

		if (!c)
			return -1;
		st->next_block = query_int(rconn_db(r, c), "SELECT max((SELECT value"
					   " FROM progress WHERE key = 'id_reserved'),"
					   " coalesce((SELECT max(seq) FROM sqlite_sequence"
					   " WHERE name = 'shapes'), 0)) + 1", 0);
		rconn_put(r, c);
	}
	if (!r->memory) {
		st->db_bytes = file_size(r->path, "");
		st->wal_bytes = file_size(r->path, "-wal");
	}
	return 0;
}

void ss_registry_connections(struct ss_registry *r, struct ss_registry_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&r->plock);
	st->read_connections = r->nopen;
	pthread_mutex_unlock(&r->plock);
	pthread_mutex_lock(&r->wlock);
	st->write_connection = r->wdb != NULL;
	pthread_mutex_unlock(&r->wlock);
}

int ss_registry_count_active(struct ss_registry *r, int64_t *count, struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	int64_t n;

	if (!c)
		return -1;
	n = query_int(rconn_db(r, c),
		      "SELECT count(*) FROM shapes WHERE active_lsn IS NOT NULL", -1);
	rconn_put(r, c);
	if (n < 0)
		return ss_err_set(err, SS_ERR_RUNTIME, "could not count the active "
				  "shapes of '%s'", r->path);
	*count = n;
	return 0;
}

int ss_registry_last_use(struct ss_registry *r, int64_t *last_us, struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	int64_t n;

	if (!c)
		return -1;
	n = query_int(rconn_db(r, c),
		      "SELECT max(coalesce(max(last_read_us), 0), coalesce(max(created_us), 0))"
		      " FROM shapes", -1);
	rconn_put(r, c);
	if (n < 0)
		return ss_err_set(err, SS_ERR_RUNTIME, "could not read when the shapes "
				  "of '%s' were last used", r->path);
	*last_us = n;
	return 0;
}

/* ------------------------------------------------------------ heartbeats */

int ss_registry_heartbeat_put(struct ss_registry *r, const struct ss_heartbeat *hb,
			      struct ss_err *err)
{
	struct ss_buf counters = SS_BUF_INIT, lag = SS_BUF_INIT;
	sqlite3 *db = wconn_get(r, err);
	sqlite3_stmt *st;
	int i, rc;

	if (!db)
		return -1;
	for (i = 0; i < SS_HB_COUNTERS; i++)
		ss_buf_addf(&counters, "%s%" PRId64, i ? " " : "", hb->counters[i]);
	ss_lag_hist_format(&hb->lag, &lag);
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO heartbeats (stage, pid,"
			       " state, detail, received_lsn, flushed_lsn, wal_lsn,"
			       " retained_wal, flush_lag, rss, connections, counters,"
			       " receive_lag, updated_us) VALUES (?1,?2,?3,?4,?5,?6,?7,"
			       "?8,?9,?10,?11,?12,?13,?14)", -1, &st, NULL) != SQLITE_OK) {
		rc = sql_fail(err, db, "could not write", r->path);
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
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 :
		sql_fail(err, db, "could not write", r->path);
	sqlite3_finalize(st);
out:
	wconn_put(r);
	ss_buf_release(&counters);
	ss_buf_release(&lag);
	return rc;
}

int ss_registry_heartbeats(struct ss_registry *r, struct ss_heartbeat **out, size_t *n,
			   struct ss_err *err)
{
	struct rconn *c = rconn_get(r, err);
	struct ss_heartbeat *v = NULL;
	size_t k = 0, alloc = 0;
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*n = 0;
	if (!c)
		return -1;
	db = rconn_db(r, c);
	if (sqlite3_prepare_v2(db, "SELECT stage, pid, state, detail, received_lsn,"
			       " flushed_lsn, wal_lsn, retained_wal, flush_lag, rss,"
			       " connections, counters, receive_lag, updated_us"
			       " FROM heartbeats ORDER BY stage", -1, &st, NULL) != SQLITE_OK) {
		sql_fail(err, db, "could not read", r->path);
		rconn_put(r, c);
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
		copy_text(h->state, sizeof(h->state), sqlite3_column_text(st, 2));
		copy_text(h->detail, sizeof(h->detail), sqlite3_column_text(st, 3));
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
		sql_fail(err, db, "could not read", r->path);
		free(v);
		v = NULL;
		k = 0;
	}
	sqlite3_finalize(st);
	rconn_put(r, c);
	*out = v;
	*n = k;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------------- check, vacuum */

struct finding_ctx {
	ss_registry_finding_cb cb;
	void *ctx;
	int n;
};

static void finding(struct finding_ctx *f, int repaired, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finding(struct finding_ctx *f, int repaired, const char *fmt, ...)
{
	struct ss_buf msg = SS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	ss_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	f->n++;
	if (f->cb)
		f->cb(msg.buf, repaired, f->ctx);
	ss_buf_release(&msg);
}

/* Run a query whose rows are findings; with repair, run `fix` after. */
static int check_query(sqlite3 *db, struct finding_ctx *f, int repair, const char *q,
		       const char *fmt, const char *fix, struct ss_err *err,
		       const char *path)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		return sql_fail(err, db, "could not check", path);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		finding(f, repair && fix, fmt, col_text(st, 0) ? col_text(st, 0) : "");
		found++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_fail(err, db, "could not check", path);
	if (found && repair && fix && exec(db, fix, err, path) < 0)
		return -1;
	return 0;
}

int ss_registry_check(struct ss_registry *r, int repair, ss_registry_finding_cb cb,
		      void *ctx, struct ss_err *err)
{
	struct finding_ctx f = { cb, ctx, 0 };
	sqlite3_stmt *st;
	sqlite3 *db;
	int rc, ok = 1;

	if (ss_registry_flush(r, err) < 0)
		return -1;
	db = wconn_get(r, err);
	if (!db)
		return -1;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
		sql_fail(err, db, "could not check", r->path);
		wconn_put(r);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *m = col_text(st, 0);

		if (m && strcmp(m, "ok")) {
			finding(&f, 0, "sqlite: %s", m);
			ok = 0;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sql_fail(err, db, "could not check", r->path);
		wconn_put(r);
		return -1;
	}
	if (!ok) {
		/* Our own checks mean nothing on a damaged file. */
		wconn_put(r);
		return f.n;
	}
	if (repair && exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto fail;
	if (check_query(db, &f, repair,
			"SELECT 'shape ' || shape_id || ' oid ' || oid FROM shape_relations"
			" WHERE shape_id NOT IN (SELECT id FROM shapes)",
			"relation row for a missing shape: %s",
			"DELETE FROM shape_relations WHERE shape_id NOT IN (SELECT id FROM shapes)",
			err, r->path) < 0)
		goto fail;
	if (check_query(db, &f, repair,
			"SELECT max(id) FROM shapes HAVING max(id) >"
			" (SELECT value FROM progress WHERE key = 'id_reserved')",
			"shape id %s is beyond the reserved ids",
			"UPDATE progress SET value = (SELECT max(id) FROM shapes)"
			" WHERE key = 'id_reserved'",
			err, r->path) < 0)
		goto fail;
	if (check_query(db, &f, repair,
			"SELECT key FROM (SELECT 'durable_lsn' AS key UNION ALL SELECT"
			" 'id_reserved' UNION ALL SELECT 'changes_trimmed' UNION ALL"
			" SELECT 'stream') WHERE key NOT IN (SELECT key FROM progress)",
			"progress row '%s' is missing",
			"INSERT OR IGNORE INTO progress VALUES ('durable_lsn', 0),"
			" ('id_reserved', (SELECT coalesce(max(id), 0) FROM shapes)),"
			" ('changes_trimmed', 0),"
			" ('stream', (SELECT coalesce(max(stream), 0) FROM streams))",
			err, r->path) < 0)
		goto fail;
	/* A started or complete snapshot must carry the PostgreSQL snapshot;
	 * repair returns such a shape to pending so it is snapshotted again. */
	if (check_query(db, &f, repair,
			"SELECT handle FROM shapes WHERE snapshot_state > 0 AND"
			" (snapshot_xmin IS NULL OR snapshot_xmax IS NULL OR"
			"  snapshot_xmin > snapshot_xmax)",
			"shape %s has a snapshot state without a valid snapshot",
			"UPDATE shapes SET snapshot_state = 0, snapshot_xmin = NULL,"
			" snapshot_xmax = NULL, snapshot_xip = NULL WHERE snapshot_state > 0 AND"
			" (snapshot_xmin IS NULL OR snapshot_xmax IS NULL OR"
			"  snapshot_xmin > snapshot_xmax)",
			err, r->path) < 0)
		goto fail;
	if (check_query(db, &f, 0,
			"SELECT 'version ' || (SELECT user_version FROM pragma_user_version)"
			" WHERE (SELECT user_version FROM pragma_user_version) != "
			SS_STR(SS_REGISTRY_SCHEMA_VERSION),
			"unexpected schema %s", NULL, err, r->path) < 0)
		goto fail;
	if (repair && exec(db, "COMMIT", err, r->path) < 0)
		goto fail;
	wconn_put(r);
	return f.n;
fail:
	if (repair)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	wconn_put(r);
	return -1;
}

int ss_registry_vacuum(struct ss_registry *r, struct ss_err *err)
{
	sqlite3 *db;
	int rc;

	if (ss_registry_flush(r, err) < 0)
		return -1;
	db = wconn_get(r, err);
	if (!db)
		return -1;
	rc = exec(db, "VACUUM; PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);", err,
		  r->path);
	wconn_put(r);
	return rc;
}

/* ------------------------------------------------------- export, import */

void ss_shape_rec_to_json(const struct ss_shape_rec *rec, struct ss_buf *out)
{
	char lsn[SS_LSN_STRMAX];
	size_t i;

	ss_buf_addf(out, "{\"id\":%" PRId64 ",\"handle\":", rec->id);
	ss_buf_add_json_string(out, rec->handle, strlen(rec->handle));
	/* The canonical definition is itself compact JSON: embed it. */
	ss_buf_addf(out, ",\"definition\":%s,\"hash\":%" PRIu32 ",\"oids\":[",
		    rec->definition, rec->hash);
	for (i = 0; i < rec->noids; i++)
		ss_buf_addf(out, "%s%" PRIu32, i ? "," : "", rec->oids[i]);
	ss_buf_addf(out, "],\"snapshot_state\":\"%s\"",
		    ss_snapshot_state_name(rec->snapshot_state));
	if (rec->snapshot_state != SS_SNAPSHOT_PENDING || rec->snapshot.xmax) {
		ss_buf_addf(out, ",\"xmin\":\"%" PRIu64 "\",\"xmax\":\"%" PRIu64 "\",\"xip\":[",
			    rec->snapshot.xmin, rec->snapshot.xmax);
		for (i = 0; i < rec->snapshot.nxip; i++)
			ss_buf_addf(out, "%s\"%" PRIu64 "\"", i ? "," : "", rec->snapshot.xip[i]);
		ss_buf_addc(out, ']');
	}
	ss_buf_addf(out, ",\"created\":\"%" PRId64 "\",\"last_read\":", rec->created_us);
	if (rec->last_read_us)
		ss_buf_addf(out, "\"%" PRId64 "\"", rec->last_read_us);
	else
		ss_buf_adds(out, "null");
	ss_buf_adds(out, ",\"active_lsn\":");
	if (rec->active) {
		ss_lsn_format(rec->active_lsn, lsn);
		ss_buf_addf(out, "\"%s\"", lsn);
	} else {
		ss_buf_adds(out, "null");
	}
	ss_buf_addc(out, '}');
}

struct ss_registry_import {
	struct ss_registry *reg;
	sqlite3 *db;
	struct stmts s;
	struct ss_buf tmp;
	int64_t n, max_id;
	int64_t reserved;         /* id_reserved when the import began */
};

int ss_registry_import_begin(struct ss_registry *r, struct ss_registry_import **out,
			     struct ss_err *err)
{
	struct ss_registry_import *imp;
	sqlite3 *db;

	if (ss_registry_flush(r, err) < 0)
		return -1;
	db = wconn_get(r, err);
	if (!db)
		return -1;
	imp = ss_xcalloc(1, sizeof(*imp));
	imp->reg = r;
	imp->db = db;
	ss_buf_init(&imp->tmp);
	if (stmts_prepare(db, &imp->s) < 0) {
		sql_fail(err, db, "could not write", r->path);
		goto fail;
	}
	if (exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto fail;
	imp->reserved = query_int(db, "SELECT value FROM progress WHERE key = 'id_reserved'", 0);
	*out = imp;
	return 0;
fail:
	stmts_finalize(&imp->s);
	free(imp);
	wconn_put(r);
	return -1;
}

/* Read a decimal uint64 from a JSON string (or integer) member. */
static int json_u64(json_t *obj, const char *key, int required, uint64_t *out,
		    struct ss_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			return ss_err_set(err, SS_ERR_INPUT, "missing field '%s'", key);
		*out = 0;
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return ss_parse_u64(json_string_value(v), UINT64_MAX, out, key, err);
	return ss_err_set(err, SS_ERR_INPUT, "field '%s' must be a decimal string", key);
}

static int parse_import(const char *line, struct ss_shape_rec *rec, struct ss_err *err)
{
	static const char *const known[] = {
		"id", "handle", "definition", "hash", "oids", "snapshot_state", "xmin",
		"xmax", "xip", "created", "last_read", "active_lsn", NULL };
	json_error_t jerr;
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *v;
	struct ss_shape shape;
	struct ss_buf canon = SS_BUF_INIT;
	const char *key;
	char *defjson = NULL;
	uint64_t u;
	size_t i;
	int state;

	ss_shape_init(&shape);
	if (!o)
		return ss_err_set(err, SS_ERR_INPUT, "invalid JSON: %s", jerr.text);
	if (!json_is_object(o)) {
		ss_err_set(err, SS_ERR_INPUT, "expected a JSON object");
		goto fail;
	}
	json_object_foreach(o, key, v) {
		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (!known[i]) {
			ss_err_set(err, SS_ERR_INPUT, "unknown field '%s'", key);
			goto fail;
		}
	}
	v = json_object_get(o, "id");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		ss_err_set(err, SS_ERR_INPUT, "field 'id' must be a positive integer");
		goto fail;
	}
	rec->id = json_integer_value(v);
	v = json_object_get(o, "handle");
	if (!json_is_string(v) || !ss_shape_handle_valid(json_string_value(v), NULL)) {
		ss_err_set(err, SS_ERR_INPUT, "field 'handle' must be a valid shape handle");
		goto fail;
	}
	rec->handle = ss_xstrdup(json_string_value(v));
	v = json_object_get(o, "definition");
	if (!json_is_object(v)) {
		ss_err_set(err, SS_ERR_INPUT, "field 'definition' must be an object");
		goto fail;
	}
	defjson = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!defjson || ss_shape_from_canonical(&shape, defjson, err) < 0) {
		ss_err_prefix(err, "field 'definition'");
		goto fail;
	}
	/* Store the canonical rendering, whatever spacing the line used. */
	ss_shape_canonical(&shape, &canon);
	rec->definition = ss_buf_detach(&canon, NULL);
	rec->hash = ss_shape_hash_canonical(rec->definition, strlen(rec->definition));
	rec->schema_name = ss_xstrdup(shape.schema);
	rec->table_name = ss_xstrdup(shape.table);
	if (json_u64(o, "hash", 0, &u, err) < 0)
		goto fail;
	if (json_object_get(o, "hash") && u != rec->hash) {
		ss_err_set(err, SS_ERR_INPUT, "field 'hash' does not match the definition");
		goto fail;
	}
	v = json_object_get(o, "oids");
	if (v && !json_is_array(v)) {
		ss_err_set(err, SS_ERR_INPUT, "field 'oids' must be an array");
		goto fail;
	}
	for (i = 0; v && i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);
		size_t alloc = rec->noids;

		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    json_integer_value(x) > UINT32_MAX) {
			ss_err_set(err, SS_ERR_INPUT, "field 'oids' must hold oids");
			goto fail;
		}
		SS_GROW(rec->oids, alloc, rec->noids + 1);
		rec->oids[rec->noids++] = (uint32_t)json_integer_value(x);
	}
	v = json_object_get(o, "snapshot_state");
	state = json_is_string(v) ? ss_snapshot_state_parse(json_string_value(v)) :
		v ? -1 : SS_SNAPSHOT_PENDING;
	if (state < 0) {
		ss_err_set(err, SS_ERR_INPUT,
			   "field 'snapshot_state' must be pending, started or complete");
		goto fail;
	}
	rec->snapshot_state = state;
	if (json_u64(o, "xmin", state != SS_SNAPSHOT_PENDING, &rec->snapshot.xmin, err) < 0 ||
	    json_u64(o, "xmax", state != SS_SNAPSHOT_PENDING, &rec->snapshot.xmax, err) < 0)
		goto fail;
	if (rec->snapshot.xmin > rec->snapshot.xmax) {
		ss_err_set(err, SS_ERR_INPUT, "xmin is greater than xmax");
		goto fail;
	}
	v = json_object_get(o, "xip");
	if (v && !json_is_array(v)) {
		ss_err_set(err, SS_ERR_INPUT, "field 'xip' must be an array");
		goto fail;
	}
	for (i = 0; v && i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);
		size_t alloc = rec->snapshot.nxip;

		SS_GROW(rec->snapshot.xip, alloc, rec->snapshot.nxip + 1);
		if (!json_is_string(x) ||
		    ss_parse_u64(json_string_value(x), UINT64_MAX,
				 &rec->snapshot.xip[rec->snapshot.nxip], "xip", err) < 0) {
			ss_err_set(err, SS_ERR_INPUT, "field 'xip' must hold decimal strings");
			goto fail;
		}
		rec->snapshot.nxip++;
	}
	if (json_u64(o, "created", 1, &u, err) < 0)
		goto fail;
	rec->created_us = (int64_t)u;
	if (json_u64(o, "last_read", 0, &u, err) < 0)
		goto fail;
	rec->last_read_us = (int64_t)u;
	v = json_object_get(o, "active_lsn");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    ss_lsn_parse(json_string_value(v), &rec->active_lsn, err) < 0) {
			ss_err_set(err, SS_ERR_INPUT, "field 'active_lsn' must be an LSN");
			goto fail;
		}
		rec->active = 1;
	}
	free(defjson);
	json_decref(o);
	ss_shape_release(&shape);
	return 0;
fail:
	free(defjson);
	json_decref(o);
	ss_shape_release(&shape);
	return -1;
}

int ss_registry_import_line(struct ss_registry_import *imp, const char *line,
			    struct ss_err *err)
{
	struct ss_shape_rec rec;
	int rc;

	ss_shape_rec_init(&rec);
	if (parse_import(line, &rec, err) < 0) {
		ss_shape_rec_release(&rec);
		return -1;
	}
	/* Ids at or below the reservation may be held, unused yet, by a
	 * running process: taking one would make that process's next add
	 * collide. Only ids above every reservation are free to import. */
	if (rec.id <= imp->reserved) {
		ss_err_set(err, SS_ERR_INPUT, "shape id %" PRId64 " is not above the ids already"
			   " reserved in this registry (%" PRId64 ")", rec.id, imp->reserved);
		ss_err_hint(err, "import into a new registry to keep the exported ids");
		ss_shape_rec_release(&rec);
		return -1;
	}
	rc = insert_rec(imp->db, &imp->s, &rec, &imp->tmp);
	if (rc == 0) {
		/* Name what collided, for the operator. */
		sqlite3_stmt *st;

		ss_err_set(err, SS_ERR_INPUT, "shape %" PRId64 " ('%s') conflicts with a registered"
			   " shape with the same id, handle or definition", rec.id, rec.handle);
		if (sqlite3_prepare_v2(imp->db, "SELECT id, handle FROM shapes WHERE id = ?1"
				       " OR handle = ?2 OR definition = ?3", -1, &st,
				       NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, rec.id);
			sqlite3_bind_text(st, 2, rec.handle, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, rec.definition, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				ss_err_detail(err, "registered: id %lld, handle '%s'",
					      (long long)sqlite3_column_int64(st, 0),
					      col_text(st, 1));
			sqlite3_finalize(st);
		}
	} else if (rc < 0) {
		sql_fail(err, imp->db, "could not write", imp->reg->path);
	} else {
		imp->n++;
		if (rec.id > imp->max_id)
			imp->max_id = rec.id;
	}
	ss_shape_rec_release(&rec);
	return rc > 0 ? 0 : -1;
}

int ss_registry_import_end(struct ss_registry_import *imp, int abort, int64_t *imported,
			   struct ss_err *err)
{
	struct ss_registry *r = imp->reg;
	struct ss_buf sql = SS_BUF_INIT;
	int rc = 0;

	if (imported)
		*imported = abort ? 0 : imp->n;
	if (abort) {
		sqlite3_exec(imp->db, "ROLLBACK", NULL, NULL, NULL);
	} else {
		/* Imported ids must never be handed out again. */
		ss_buf_addf(&sql, "UPDATE progress SET value = max(value, %" PRId64 ")"
			    " WHERE key = 'id_reserved'; COMMIT;", imp->max_id);
		rc = exec(imp->db, sql.buf, err, r->path);
		if (rc < 0) {
			sqlite3_exec(imp->db, "ROLLBACK", NULL, NULL, NULL);
			if (imported)
				*imported = 0;
		}
	}
	stmts_finalize(&imp->s);
	ss_buf_release(&imp->tmp);
	ss_buf_release(&sql);
	free(imp);
	wconn_put(r);
	/* Our id block may overlap what was just imported: take a new one. */
	if (!abort && rc == 0) {
		pthread_mutex_lock(&r->mu);
		r->n_local_commits++;
		pthread_mutex_unlock(&r->mu);
		pthread_mutex_lock(&r->idlock);
		r->next_id = r->id_hi + 1;
		pthread_mutex_unlock(&r->idlock);
	}
	return rc;
}
