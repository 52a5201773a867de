/*
 * registry_buffer.c — the registry's write buffer: entries indexed by
 * id, handle and definition, the FIFO of pending writes, the mutations
 * that fill it, and the flusher thread that commits batches (see the
 * write buffer in registry.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "lsn.h"
#include "registry_int.h"

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
	return which == BY_ID	    ? &e->next_id
	       : which == BY_HANDLE ? &e->next_handle
				    : &e->next_def;
}

static uint64_t key_hash(const struct entry *e, int which)
{
	return which == BY_ID	    ? hash_id(e->rec.id)
	       : which == BY_HANDLE ? hash_str(e->rec.handle)
				    : hash_str(e->rec.definition);
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
	for (pp = &t->b[key_hash(e, which) & t->mask]; *pp;
	     pp = link_of(*pp, which)) {
		if (*pp == e) {
			*pp = *link_of(e, which);
			t->n--;
			return;
		}
	}
}

struct entry *ss_reg_find_id(struct ss_registry *r, int64_t id)
{
	struct entry *e;

	if (!r->t_id.b)
		return NULL;
	for (e = r->t_id.b[hash_id(id) & r->t_id.mask]; e; e = e->next_id)
		if (e->rec.id == id)
			return e;
	return NULL;
}

struct entry *ss_reg_find_str(struct ss_registry *r, int which, const char *key)
{
	struct table *t = which == BY_HANDLE ? &r->t_handle : &r->t_def;
	struct entry *e;

	if (!t->b)
		return NULL;
	for (e = t->b[hash_str(key) & t->mask]; e; e = *link_of(e, which)) {
		const char *k =
		    which == BY_HANDLE ? e->rec.handle : e->rec.definition;

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
	r->qlen++;
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

void ss_reg_dequeue(struct ss_registry *r, struct entry *e);

static void enqueue_front(struct ss_registry *r, struct entry *e)
{
	ss_reg_dequeue(r, e);
	e->queued = 1;
	r->qlen++;
	e->qprev = NULL;
	e->qnext = r->qhead;
	if (r->qhead)
		r->qhead->qprev = e;
	else
		r->qtail = e;
	r->qhead = e;
	r->oldest_us = ss_mono_us();
	if ((e->dirty & ~(unsigned)F_TOUCH) && !r->urgent_us)
		r->urgent_us = r->oldest_us;
}

void ss_reg_dequeue(struct ss_registry *r, struct entry *e)
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
	r->qlen--;
	e->qnext = e->qprev = NULL;
	if (r->qhead == NULL)
		r->oldest_us = 0;
}

/* Mark e dirty with `flags` and queue it for the flusher. The flusher is
 * woken only when its next flush comes sooner than it sleeps for: the
 * queue was empty, a write (not a touch) made it urgent, or a batch is
 * full. Readers touch shapes at every answer; a wake-up each would cost
 * every answer a futex call and the flusher a turn. */
static void mark(struct ss_registry *r, struct entry *e, unsigned flags)
{
	int wake = r->qhead == NULL;

	e->dirty |= flags;
	e->epoch = r->epoch;
	enqueue(r, e);
	if (r->qhead == e)
		r->oldest_us = ss_mono_us();
	if ((flags & ~(unsigned)F_TOUCH) && !r->urgent_us) {
		r->urgent_us = ss_mono_us();
		wake = 1;
	}
	if (wake || r->qlen >= (size_t)r->o.flush_batch)
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

void ss_reg_entry_free(struct ss_registry *r, struct entry *e)
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

/* ------------------------------------------------------------- mutations */

int ss_registry_add(struct ss_registry *r, const struct ss_shape *def,
		    const uint32_t *oids, size_t noids,
		    struct ss_shape_rec *out, int *created, struct ss_err *err)
{
	return ss_registry_add_deps(r, def, oids, noids, NULL, out, created,
				    err);
}

int ss_registry_add_deps(struct ss_registry *r, const struct ss_shape *def,
			 const uint32_t *oids, size_t noids, const char *deps,
			 struct ss_shape_rec *out, int *created,
			 struct ss_err *err)
{
	struct ss_buf canon = SS_BUF_INIT;
	struct entry *e;
	int64_t id = 0;
	uint64_t retired;
	int rc;

	if (!def->table || !def->schema)
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape definition has no table");
	ss_shape_canonical(def, &canon);
	*created = 0;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		e = ss_reg_find_str(r, BY_DEF, canon.buf);
		if (e) {
			ss_shape_rec_copy(out, &e->rec);
			pthread_mutex_unlock(&r->mu);
			goto done;
		}
		retired = r->retired;
		pthread_mutex_unlock(&r->mu);

		/* Committed shapes: look in SQLite without holding the buffer.
		 */
		rc = ss_reg_lookup(r, KEY_DEF, 0, canon.buf, out, err);
		if (rc < 0)
			goto fail;
		if (rc > 0)
			goto done;
		if (!id && ss_reg_take_id(r, &id, err) < 0)
			goto fail;

		pthread_mutex_lock(&r->mu);
		wait_space(r);
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			ss_err_set(err, SS_ERR_RUNTIME,
				   "registry '%s' is closing", r->path);
			goto fail;
		}
		/* While we read SQLite (or waited), the same definition may
		 * have been buffered, or flushed and retired from the buffer:
		 * then our SQLite miss is stale and we look again. The id we
		 * took is simply not used (a gap, never a reuse). */
		if (ss_reg_find_str(r, BY_DEF, canon.buf) ||
		    r->retired != retired) {
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
			ss_shape_format_handle(hash, us, handle,
					       sizeof(handle));
			if (!ss_reg_find_str(r, BY_HANDLE, handle))
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
		ss_reg_set_oids(&e->rec, oids, noids);
		e->rec.deps = deps ? ss_xstrdup(deps) : NULL;
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
static struct entry *entry_for_write(struct ss_registry *r, int64_t id,
				     int wait, int *exists, struct ss_err *err)
{
	struct ss_shape_rec rec;
	struct entry *e;
	int rc;

	*exists = 0;
	pthread_mutex_lock(&r->mu);
	e = ss_reg_find_id(r, id);
	if (e) {
		if ((e->dirty | e->inflight) & F_REMOVE)
			return NULL;
		*exists = 1;
		return e;
	}
	pthread_mutex_unlock(&r->mu);
	ss_shape_rec_init(&rec);
	rc = ss_reg_sql_lookup(r, KEY_ID, id, NULL, &rec, err);
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
	e = ss_reg_find_id(r, id);
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
			     const struct ss_pg_snapshot *snap,
			     struct ss_err *err)
{
	int exists;
	struct entry *e;

	if (state < SS_SNAPSHOT_PENDING || state > SS_SNAPSHOT_COMPLETE)
		return ss_err_set(err, SS_ERR_INPUT,
				  "invalid snapshot state %d", state);
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
		rc = ss_reg_sql_lookup(r, KEY_ID, id, NULL, &cur, err);
		pthread_mutex_lock(&r->mu);
		if (rc < 0) {
			pthread_mutex_unlock(&r->mu);
			return -1;
		}
		/* The entry may have been flushed away while unlocked. */
		e = ss_reg_find_id(r, id);
		if (!e)
			e = entry_new(r, id);
		if (!((e->dirty | e->inflight) & F_SNAPSHOT))
			ss_reg_set_snapshot(&e->rec, &cur.snapshot);
		ss_shape_rec_release(&cur);
	}
	e->rec.snapshot_state = state;
	if (snap)
		ss_reg_set_snapshot(&e->rec, snap);
	mark(r, e, F_SNAPSHOT);
	pthread_mutex_unlock(&r->mu);
	return 1;
}

int ss_registry_set_oids(struct ss_registry *r, int64_t id,
			 const uint32_t *oids, size_t noids, struct ss_err *err)
{
	int exists;
	struct entry *e = entry_for_write(r, id, 1, &exists, err);

	if (!e) {
		pthread_mutex_unlock(&r->mu);
		return exists < 0 ? -1 : 0;
	}
	ss_reg_set_oids(&e->rec, oids, noids);
	mark(r, e, F_OIDS);
	pthread_mutex_unlock(&r->mu);
	return 1;
}

void ss_registry_touch(struct ss_registry *r, int64_t id)
{
	struct entry *e;

	pthread_mutex_lock(&r->mu);
	e = ss_reg_find_id(r, id);
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
	{
		/* The first touch after a quiet interval is written as soon
		 * as any write: it may be what wakes a sleeping replicate. */
		int64_t now = ss_mono_us();

		if (!r->touch_urgent_us ||
		    now - r->touch_urgent_us >=
			(int64_t)r->o.touch_interval_ms * 1000) {
			r->touch_urgent_us = now;
			if (!r->urgent_us) {
				r->urgent_us = now;
				pthread_cond_signal(&r->wake);
			}
		}
	}
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

static const char *const stmt_sql[] = {
    "INSERT INTO shapes (id, handle, definition, hash, schema_name, table_name,"
    " snapshot_state, snapshot_xmin, snapshot_xmax, snapshot_xip, created_us,"
    " last_read_us, active_lsn, deps)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"
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

int ss_reg_stmts_prepare(sqlite3 *db, struct stmts *s)
{
	sqlite3_stmt **all = (sqlite3_stmt **)s;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < sizeof(stmt_sql) / sizeof(stmt_sql[0]); i++)
		if (sqlite3_prepare_v2(db, stmt_sql[i], -1, &all[i], NULL) !=
		    SQLITE_OK)
			return -1;
	return 0;
}

void ss_reg_stmts_finalize(struct stmts *s)
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
	ss_reg_xip_to_text(&rec->snapshot, tmp);
	sqlite3_bind_int64(st, first, (int64_t)rec->snapshot.xmin);
	sqlite3_bind_int64(st, first + 1, (int64_t)rec->snapshot.xmax);
	sqlite3_bind_text(st, first + 2, tmp->buf, (int)tmp->len,
			  SQLITE_TRANSIENT);
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
int ss_reg_insert_rec(sqlite3 *db, struct stmts *s,
		      const struct ss_shape_rec *rec, struct ss_buf *tmp)
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
	if (rec->deps)
		sqlite3_bind_text(st, 14, rec->deps, -1, SQLITE_STATIC);
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
	int64_t max =
	    ss_reg_query_int(db, "SELECT max(seq) FROM shape_changes", 0);
	int64_t min =
	    ss_reg_query_int(db, "SELECT min(seq) FROM shape_changes", 0);
	char sql[256];

	if (max - min < 2 * (int64_t)keep)
		return 0;
	snprintf(sql, sizeof(sql),
		 "DELETE FROM shape_changes WHERE seq <= %" PRId64 ";"
		 "UPDATE progress SET value = %" PRId64
		 " WHERE key = 'changes_trimmed'",
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

	db = ss_reg_wconn_get(r, err);
	if (!db)
		return -1;
	if (ss_reg_stmts_prepare(db, &s) < 0 ||
	    ss_reg_exec(db, "BEGIN IMMEDIATE", err, r->path) < 0)
		goto fail;
	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < n; i++) {
			struct op *op = &ops[i];
			const struct ss_shape_rec *rec = &op->rec;

			/* Added and removed before any flush: nothing to write.
			 */
			if ((op->flags & (F_ADD | F_REMOVE)) ==
			    (F_ADD | F_REMOVE))
				continue;
			if (pass == 0 && (op->flags & F_REMOVE)) {
				sqlite3_bind_int64(s.log_del, 1, rec->id);
				sqlite3_bind_int64(s.del, 1, rec->id);
				sqlite3_bind_int64(s.del_rel, 1, rec->id);
				if (run(s.log_del) < 0 || run(s.del) < 0 ||
				    run(s.del_rel) < 0)
					goto sqlfail;
			} else if (pass == 1 && (op->flags & F_ADD)) {
				int rc = ss_reg_insert_rec(db, &s, rec, &tmp);

				if (rc < 0)
					goto sqlfail;
				conflict[i] = rc == 0;
			} else if (pass == 2 &&
				   !(op->flags & (F_ADD | F_REMOVE))) {
				if (op->flags & F_SNAPSHOT) {
					sqlite3_bind_int64(s.snap, 1, rec->id);
					sqlite3_bind_int(s.snap, 2,
							 rec->snapshot_state);
					bind_snapshot(s.snap, rec, 3, &tmp);
					if (run(s.snap) < 0)
						goto sqlfail;
				}
				if (op->flags & F_TOUCH) {
					sqlite3_bind_int64(s.touch, 1, rec->id);
					sqlite3_bind_int64(s.touch, 2,
							   rec->last_read_us);
					if (run(s.touch) < 0)
						goto sqlfail;
				}
				if (op->flags & F_ACTIVE) {
					sqlite3_bind_int64(s.active, 1,
							   rec->id);
					sqlite3_bind_int64(
					    s.active, 2,
					    (int64_t)rec->active_lsn);
					if (run(s.active) < 0)
						goto sqlfail;
				}
				if (op->flags & F_OIDS) {
					sqlite3_bind_int64(s.del_rel, 1,
							   rec->id);
					if (run(s.del_rel) < 0 ||
					    insert_relations(&s, rec) < 0)
						goto sqlfail;
				}
			}
		}
	}
	if (trim_changes(db, r->o.changes_keep) < 0 ||
	    ss_reg_exec(db, "COMMIT", err, r->path) < 0)
		goto sqlfail;
	ss_reg_stmts_finalize(&s);
	ss_buf_release(&tmp);
	ss_reg_wconn_put(r);
	return 0;
sqlfail:
	ss_reg_sql_fail(err, db, "could not write", r->path);
fail:
	if (!err->msg[0])
		ss_reg_sql_fail(err, db, "could not write", r->path);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	ss_reg_stmts_finalize(&s);
	ss_buf_release(&tmp);
	ss_reg_wconn_put(r);
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
		ss_reg_dequeue(r, e);
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
			ss_reg_dequeue(r, e);
			ss_reg_entry_free(r, e);
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
			ss_reg_entry_free(r, e);
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
		snprintf(r->last_error, sizeof(r->last_error), "%.250s",
			 err.msg);
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

void *ss_reg_flusher_main(void *arg)
{
	struct ss_registry *r = arg;
	int64_t last_reap = ss_mono_us();
	int64_t flush_us = (int64_t)r->o.flush_interval_ms * 1000;
	int64_t touch_us = (int64_t)r->o.touch_interval_ms * 1000;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		int64_t now = ss_mono_us(), due;
		int64_t pending = (int64_t)r->qlen;
		struct entry *e;
		struct timespec ts;

		/* Writes are committed flush_interval_ms after the first one
		 * was queued; touches alone wait touch_interval_ms. */
		if (r->qhead) {
			due = r->oldest_us + touch_us;
			if (r->urgent_us && r->urgent_us + flush_us < due)
				due = r->urgent_us + flush_us;
		} else {
			due = now + 1000000;
		}
		if (r->qhead && (r->stop || r->force ||
				 pending >= r->o.flush_batch || now >= due)) {
			flush_round(r);
			if (!r->qhead)
				r->force = 0;
			/* Still urgent only if a write other than a touch
			 * is left (it keeps its time: it is due). */
			for (e = r->qhead; e; e = e->qnext)
				if (e->dirty & ~(unsigned)F_TOUCH)
					break;
			if (!e)
				r->urgent_us = 0;
			continue;
		}
		if (r->stop)
			break;
		if (now - last_reap >= 1000000) {
			pthread_mutex_unlock(&r->mu);
			ss_reg_reap_idle(r);
			pthread_mutex_lock(&r->mu);
			last_reap = now;
			continue;
		}
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
