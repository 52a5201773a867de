/*
 * store.c — the store engine (see store.h): frames in, per-shape logs out,
 * with snapshot stitching, spilling, held "last" entries, group commit
 * and invalidation.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadir.h"
#include "log.h"
#include "message.h"
#include "offset.h"
#include "registry_cursor.h"
#include "shape.h"

/* ------------------------------------------------------------ int map */

/* A small open-addressing map from int64 keys (> 0) to pointers. */
struct imap {
	int64_t *keys;
	void **vals;
	size_t cap, n;
};

static size_t imap_slot(const struct imap *m, int64_t k)
{
	uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ULL;
	size_t i = (size_t)(h >> 17) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void *imap_get(const struct imap *m, int64_t k)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = imap_slot(m, k);
	return m->keys[i] ? m->vals[i] : NULL;
}

static void imap_put(struct imap *m, int64_t k, void *v);

static void imap_grow(struct imap *m)
{
	struct imap old = *m;
	size_t i;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = ss_xcalloc(m->cap, sizeof(*m->keys));
	m->vals = ss_xcalloc(m->cap, sizeof(*m->vals));
	m->n = 0;
	for (i = 0; i < old.cap; i++)
		if (old.keys[i])
			imap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

static void imap_put(struct imap *m, int64_t k, void *v)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		imap_grow(m);
	i = imap_slot(m, k);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = k;
	m->vals[i] = v;
}

static void imap_del(struct imap *m, int64_t k)
{
	size_t i, j;

	if (!m->cap)
		return;
	i = imap_slot(m, k);
	if (!m->keys[i])
		return;
	m->keys[i] = 0;
	m->n--;
	/* Re-insert the rest of the cluster (linear probing, no tombstones). */
	for (j = (i + 1) & (m->cap - 1); m->keys[j];
	     j = (j + 1) & (m->cap - 1)) {
		int64_t k2 = m->keys[j];
		void *v2 = m->vals[j];

		m->keys[j] = 0;
		m->n--;
		imap_put(m, k2, v2);
	}
}

static void imap_free(struct imap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------ state */

/* Removed ids remembered, so that their changes cost no registry look-up;
 * past this many the cache starts over. */
#define GONE_MAX 4096

struct rel {
	uint32_t oid;
	char *schema, *table;
	size_t ncols;
	char **names;
	size_t *pk;
	size_t npk;
	uint32_t *anc; /* a partition's ancestors */
	size_t nanc;
};

enum { UNDECIDED, APPLY, SKIP, SPILL };

struct shp {
	int64_t id;
	char *handle, *dir;
	char *schema, *table; /* the shape's table */
	char **columns;	      /* NULL: all */
	size_t ncolumns;
	int replica_full;
	/* snapshot */
	int snap_known;
	uint64_t xmin, xmax, *xip;
	size_t nxip;
	/* log */
	struct ss_log_writer *w;
	struct ss_log_head head; /* committed, cached (valid when loaded) */
	int head_loaded;
	int dirty;  /* committed but not synced */
	int parked; /* w holds no fd (ss_log_writer_park): not in nopen */
	struct shp *lru_prev, *lru_next;
	/* the transaction being applied */
	uint64_t txn; /* store's transaction counter at decision */
	int mode;
	int invalidated;
	struct ss_buf held; /* the newest message, not yet written */
	size_t held_last_at;
	struct ss_offset held_off;
	int has_held;
	struct shp *txn_next; /* shapes touched by this transaction */
	/* spill */
	FILE *spill;
	uint64_t spill_last; /* commit LSN of the last spilled txn */
	struct shp *spill_next;
	int on_spill_list;
};

struct ss_store {
	struct ss_registry *reg;
	struct ss_store_opts o;
	char *dir;
	struct imap shapes, rels;
	struct imap gone; /* ids known removed (a bounded cache) */
	struct shp *lru_head, *lru_tail; /* open writers, most recent first */
	int nopen;
	struct ss_log_budget *budget; /* the logs' write buffers, together */
	struct shp *spilling;
	/* transaction */
	int in_txn;
	uint64_t txn; /* counter */
	uint64_t xid, lsn, end_lsn;
	struct shp *touched;
	struct shp **order; /* commit(): the touched shapes by id */
	size_t order_alloc;
	/* group commit */
	struct shp **dirty;
	size_t ndirty, dirty_alloc;
	uint64_t pending_durable; /* LSN to record after the next sync */
	int dirty_closed;	  /* a dirty log was closed: use syncfs */
	int have_pending;
	int64_t first_unsynced_us;
	uint64_t bytes_since_sync;
	uint64_t durable;
	/* registry watch */
	struct ss_registry_cursor *cursor; /* removals from the registry */
	int64_t stream; /* the registry stream our frames are of */
	int64_t last_watch_us;
	/* scratch */
	struct ss_buf msg, key, key2, extra;
	struct ss_store_stats st;
	/* trash cleaner */
	pthread_t cleaner;
	pthread_mutex_t cmu;
	pthread_cond_t ccv;
	int cleaner_started, cleaner_stop;
};

void ss_store_opts_init(struct ss_store_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->dir = "./var/data";
	o->chunk_bytes = SS_LOG_CHUNK_BYTES_DEFAULT;
	o->sync_interval_us = 10000;
	o->sync_bytes = 4 << 20;
	o->max_open = 1024;
	o->write_buffer = SS_STORE_WRITE_BUFFER_DEFAULT;
}

/* ------------------------------------------------------------ relations */

static void rel_free(struct rel *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->ncols; i++)
		free(r->names[i]);
	free(r->names);
	free(r->pk);
	free(r->schema);
	free(r->table);
	free(r->anc);
	free(r);
}

static void relation(struct ss_store *s, const struct ss_frame *f)
{
	struct rel *r = ss_xcalloc(1, sizeof(*r)), *old;
	size_t i;

	r->oid = f->oid;
	r->schema = ss_xstrdup(f->schema);
	r->table = ss_xstrdup(f->table);
	if (f->nancestors) {
		r->nanc = f->nancestors;
		r->anc = ss_xmalloc(r->nanc * sizeof(*r->anc));
		memcpy(r->anc, f->ancestors, r->nanc * sizeof(*r->anc));
	}
	r->ncols = f->ncolumns;
	r->names = ss_xcalloc(r->ncols ? r->ncols : 1, sizeof(*r->names));
	r->pk = ss_xcalloc(r->ncols ? r->ncols : 1, sizeof(*r->pk));
	for (i = 0; i < r->ncols; i++) {
		r->names[i] = ss_xstrdup(f->columns[i].name);
		if (f->columns[i].pk)
			r->pk[r->npk++] = i;
	}
	/* Key order is the primary key's when the frame gives it (a key
	 * declared as (b, a) builds keys b first, as the snapshot does). */
	for (i = 0; i < r->ncols; i++)
		if (f->columns[i].key_index >= 0 &&
		    (size_t)f->columns[i].key_index < r->npk)
			r->pk[f->columns[i].key_index] = i;
	/* No primary key: every column is the key, in attnum order. */
	if (!r->npk)
		for (i = 0; i < r->ncols; i++)
			r->pk[r->npk++] = i;
	old = imap_get(&s->rels, r->oid);
	rel_free(old);
	imap_put(&s->rels, r->oid, r);
}

/* -------------------------------------------------------------- shapes */

static void lru_unlink(struct ss_store *s, struct shp *h)
{
	if (h->lru_prev)
		h->lru_prev->lru_next = h->lru_next;
	else if (s->lru_head == h)
		s->lru_head = h->lru_next;
	if (h->lru_next)
		h->lru_next->lru_prev = h->lru_prev;
	else if (s->lru_tail == h)
		s->lru_tail = h->lru_prev;
	h->lru_prev = h->lru_next = NULL;
}

static void lru_front(struct ss_store *s, struct shp *h)
{
	lru_unlink(s, h);
	h->lru_next = s->lru_head;
	if (s->lru_head)
		s->lru_head->lru_prev = h;
	s->lru_head = h;
	if (!s->lru_tail)
		s->lru_tail = h;
}

static int sync_shape(struct ss_store *s, struct shp *h, struct ss_err *err)
{
	if (s->o.no_sync)
		return 0;
	/* A parked log is synced by syncfs (parking sets dirty_closed). */
	if (h->w && !h->parked && ss_log_sync(h->w, err) < 0)
		return -1;
	if (h->spill &&
	    (fflush(h->spill) != 0 || fdatasync(fileno(h->spill)) < 0))
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not sync '%s/pending': %s", h->dir,
				  strerror(errno));
	return 0;
}

static void close_writer(struct ss_store *s, struct shp *h)
{
	if (!h->w)
		return;
	ss_log_writer_close(h->w);
	h->w = NULL;
	if (!h->parked) {
		lru_unlink(s, h);
		s->nopen--;
	}
	h->parked = 0;
}

/*
 * Make room for one more open log under max_open: close the least
 * recently used logs, except those the open transaction wrote to (their
 * entries are not committed); when only those are left, park them (their
 * files closed, their state and write buffer kept: lib/log), so that one
 * transaction over more shapes than max_open stays within the file
 * descriptors it may use. A parked log stays parked: its entries go to
 * its buffer, and lib/log opens its files only for the length of a flush
 * or of its commit (put_entry, commit), once per transaction rather than
 * once per entry as taking it back under max_open would.
 * No fsync here: a closed or parked dirty log is synced with the next
 * group commit through syncfs(2).
 */
static void make_room(struct ss_store *s, struct shp *keep)
{
	while (s->nopen >= s->o.max_open) {
		struct shp *v = s->lru_tail;

		while (v && (v == keep || (v->txn == s->txn && s->in_txn)))
			v = v->lru_prev;
		if (v) {
			if (v->dirty)
				s->dirty_closed = 1;
			close_writer(s, v);
			continue;
		}
		for (v = s->lru_tail; v && v == keep; v = v->lru_prev)
			;
		if (!v)
			break;
		s->dirty_closed = 1;
		ss_log_writer_park(v->w);
		v->parked = 1;
		lru_unlink(s, v);
		s->nopen--;
		s->st.parked++;
	}
}

/* Open the shape's log (or take a parked one back), making room under
 * max_open first. */
static int open_writer(struct ss_store *s, struct shp *h, struct ss_err *err)
{
	struct ss_log_opts lo;

	if (h->w) {
		if (h->parked) {
			/* lib/log opens its files on its next write */
			make_room(s, h);
			ss_log_writer_unpark(h->w);
			h->parked = 0;
			s->nopen++;
		}
		lru_front(s, h);
		return 0;
	}
	make_room(s, h);
	ss_log_opts_init(&lo);
	lo.chunk_bytes = s->o.chunk_bytes;
	/* A transaction's entries for a shape go to its files in one write
	 * per file at commit (or when this or the shared budget fills). */
	if (s->budget) {
		lo.buffer_bytes = s->o.write_buffer < SS_STORE_LOG_BUFFER
				      ? (size_t)s->o.write_buffer
				      : SS_STORE_LOG_BUFFER;
		lo.budget = s->budget;
	}
	if (ss_log_writer_open(h->dir, &lo, &h->w, err) < 0)
		return -1;
	ss_log_writer_head(h->w, &h->head);
	h->head_loaded = 1;
	s->nopen++;
	lru_front(s, h);
	return 0;
}

static void shape_free(struct ss_store *s, struct shp *h)
{
	size_t i;

	close_writer(s, h);
	if (h->spill)
		fclose(h->spill);
	for (i = 0; i < h->ncolumns; i++)
		free(h->columns[i]);
	free(h->columns);
	free(h->xip);
	free(h->handle);
	free(h->dir);
	free(h->schema);
	free(h->table);
	ss_buf_release(&h->held);
	free(h);
}

/*
 * A spill file left by an earlier run (a crash or a stop before the
 * snapshot was recorded): reopen it so its transactions are replayed, and
 * note the last one it holds so a replayed stream does not add it twice.
 */
static int adopt_spill(struct ss_store *s, struct shp *h, struct ss_err *err)
{
	struct ss_buf p = SS_BUF_INIT;
	char line[128];
	FILE *f;
	int fd;

	ss_buf_addf(&p, "%s/pending", h->dir);
	/* No O_CREAT: only a file that is there is adopted. */
	fd = open(p.buf, O_RDWR | O_APPEND | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "a+") : NULL;
	if (!f) {
		int rc = errno == ENOENT ? 0
					 : ss_err_set(err, SS_ERR_RUNTIME,
						      "could not open '%s': %s",
						      p.buf, strerror(errno));
		if (fd >= 0)
			close(fd);
		ss_buf_release(&p);
		return rc;
	}
	ss_buf_release(&p);
	rewind(f);
	/* Only short lines matter here: "C <lsn>". Long entry lines are
	 * read in pieces and never start a piece with "C ". */
	while (fgets(line, sizeof(line), f)) {
		uint64_t lsn;

		if (line[0] == 'C' && sscanf(line, "C %" SCNu64, &lsn) == 1)
			h->spill_last = lsn;
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;
	}
	if (fseek(f, 0, SEEK_END) < 0) {
		fclose(f);
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not read '%s/pending'", h->dir);
	}
	h->spill = f;
	h->spill_next = s->spilling;
	s->spilling = h;
	h->on_spill_list = 1;
	return 0;
}

/* Take the snapshot fields from a registry record; 1 if known now. */
static int take_snapshot(struct shp *h, const struct ss_shape_rec *rec)
{
	if (rec->snapshot_state < SS_SNAPSHOT_STARTED ||
	    rec->snapshot.xmax == 0)
		return 0;
	h->xmin = rec->snapshot.xmin;
	h->xmax = rec->snapshot.xmax;
	free(h->xip);
	h->xip = NULL;
	h->nxip = rec->snapshot.nxip;
	if (h->nxip) {
		h->xip = ss_xmalloc(h->nxip * sizeof(*h->xip));
		memcpy(h->xip, rec->snapshot.xip, h->nxip * sizeof(*h->xip));
	}
	h->snap_known = 1;
	return 1;
}

/* The state of shape `id`, loaded from the registry on first use. NULL
 * (and no error) if the shape does not exist. */
static struct shp *shape(struct ss_store *s, int64_t id, struct ss_err *err,
			 int *fail)
{
	struct shp *h = imap_get(&s->shapes, id);
	struct ss_shape_rec rec;
	struct ss_shape def;
	struct ss_buf p = SS_BUF_INIT;
	size_t i;
	int rc;

	*fail = 0;
	if (h)
		return h;
	if (imap_get(&s->gone, id))
		return NULL;
	ss_shape_rec_init(&rec);
	rc = ss_registry_get_by_id(s->reg, id, &rec, err);
	if (rc == 0) {
		int issued;

		/* Removed (its changes are skipped and counted), or never
		 * given by this registry: frames from somewhere else. */
		if (ss_registry_id_issued(s->reg, id, &issued, err) < 0) {
			*fail = 1;
			return NULL;
		}
		if (!issued) {
			ss_err_set(err, SS_ERR_INPUT,
				   "shape %" PRId64 " is not "
				   "in the registry and never was",
				   id);
			ss_err_hint(err, "were these frames routed against "
					 "another registry?");
			*fail = 1;
			return NULL;
		}
		if (s->gone.n >= GONE_MAX)
			imap_free(&s->gone);
		imap_put(&s->gone, id, s);
		s->st.removed_skips++;
		return NULL;
	}
	if (rc < 0) {
		*fail = 1;
		return NULL;
	}
	ss_shape_init(&def);
	if (ss_shape_from_canonical(&def, rec.definition, err) < 0) {
		ss_err_prefix(err, "shape %" PRId64, id);
		ss_shape_rec_release(&rec);
		*fail = 1;
		return NULL;
	}
	h = ss_xcalloc(1, sizeof(*h));
	h->id = id;
	h->handle = ss_xstrdup(rec.handle);
	ss_datadir_shape_path(&p, s->dir, rec.handle);
	h->dir = ss_buf_detach(&p, NULL);
	h->replica_full = def.replica == SS_REPLICA_FULL;
	h->schema = ss_xstrdup(def.schema ? def.schema : "public");
	h->table = ss_xstrdup(def.table ? def.table : "");
	if (def.columns) {
		h->ncolumns = def.ncolumns;
		h->columns = ss_xcalloc(def.ncolumns, sizeof(*h->columns));
		for (i = 0; i < def.ncolumns; i++)
			h->columns[i] = ss_xstrdup(def.columns[i]);
	}
	ss_buf_init(&h->held);
	take_snapshot(h, &rec);
	ss_shape_release(&def);
	ss_shape_rec_release(&rec);
	imap_put(&s->shapes, id, h);
	s->st.shapes = s->shapes.n;
	if (adopt_spill(s, h, err) < 0) {
		*fail = 1;
		imap_del(&s->shapes, id);
		shape_free(s, h);
		return NULL;
	}
	return h;
}

static int selected(const struct shp *h, const char *name)
{
	size_t i;

	if (!h->columns)
		return 1;
	for (i = 0; i < h->ncolumns; i++)
		if (!strcmp(h->columns[i], name))
			return 1;
	return 0;
}

/* ----------------------------------------------------------- snapshot */

/* Apply or skip a transaction with this xid, for a shape whose snapshot
 * is known; turns filtering off at the first xid far enough past xmax
 * (ss_pg_snapshot_past: one the snapshot sees can still follow one with
 * xid >= xmax that it does not). */
static int filter_decide(struct shp *h, uint64_t xid)
{
	struct ss_pg_snapshot snap = {h->xmin, h->xmax, h->xip, h->nxip};

	if (h->head.flags & SS_LOG_FILTER_DONE)
		return APPLY;
	if (ss_pg_snapshot_past(&snap, xid)) {
		h->head.flags |= SS_LOG_FILTER_DONE;
		if (h->w)
			ss_log_set_flags(h->w, h->head.flags);
		return APPLY;
	}
	return ss_pg_snapshot_sees(&snap, xid) ? SKIP : APPLY;
}

/* ------------------------------------------------------------ writing */

static int open_spill(struct ss_store *s, struct shp *h, struct ss_err *err)
{
	struct ss_buf p = SS_BUF_INIT;

	if (h->spill)
		return 0;
	/* The shape dir may not exist yet: opening the log creates it. */
	if (open_writer(s, h, err) < 0)
		return -1;
	ss_buf_addf(&p, "%s/pending", h->dir);
	h->spill = fopen(p.buf, "a+e");
	if (!h->spill) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not open '%s': %s",
			   p.buf, strerror(errno));
		ss_buf_release(&p);
		return -1;
	}
	ss_buf_release(&p);
	if (!h->on_spill_list) {
		h->spill_next = s->spilling;
		s->spilling = h;
		h->on_spill_list = 1;
	}
	return 0;
}

/* Write one finished message to the log or the spill file. */
static int put_entry(struct ss_store *s, struct shp *h,
		     const struct ss_offset *off, const char *json, size_t len,
		     struct ss_err *err)
{
	if (h->mode == SPILL) {
		if (fprintf(h->spill, "E %" PRIu64 " %" PRIu64 " ", off->tx,
			    off->op) < 0 ||
		    fwrite(json, 1, len, h->spill) != len ||
		    putc('\n', h->spill) == EOF)
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "could not write '%s/pending': %s",
					  h->dir, strerror(errno));
		s->st.spilled++;
		return 0;
	}
	/* A parked log buffers without its files (see make_room). */
	if ((!(h->w && h->parked) && open_writer(s, h, err) < 0) ||
	    ss_log_append(h->w, off, json, len, err) < 0)
		return -1;
	s->st.entries++;
	s->st.bytes += len + 2;
	s->bytes_since_sync += len + 2;
	return 0;
}

/* Write the held message, with ',"last":true' if it ends the txn. */
static int flush_held(struct ss_store *s, struct shp *h, int last,
		      struct ss_err *err)
{
	int rc;

	if (!h->has_held)
		return 0;
	if (last && h->held_last_at != SIZE_MAX) { /* not a control line */
		struct ss_buf b = SS_BUF_INIT;

		ss_buf_add(&b, h->held.buf, h->held_last_at);
		ss_buf_adds(&b, ",\"last\":true");
		ss_buf_add(&b, h->held.buf + h->held_last_at,
			   h->held.len - h->held_last_at);
		rc = put_entry(s, h, &h->held_off, b.buf, b.len, err);
		ss_buf_release(&b);
	} else {
		rc = put_entry(s, h, &h->held_off, h->held.buf, h->held.len,
			       err);
	}
	h->has_held = 0;
	ss_buf_reset(&h->held);
	return rc;
}

/* Hold s->msg as the shape's newest message, writing the previous one. */
static int emit(struct ss_store *s, struct shp *h, struct ss_offset off,
		size_t last_at, struct ss_err *err)
{
	if (flush_held(s, h, 0, err) < 0)
		return -1;
	ss_buf_reset(&h->held);
	ss_buf_add(&h->held, s->msg.buf, s->msg.len);
	h->held_last_at = last_at;
	h->held_off = off;
	h->has_held = 1;
	return 0;
}

/* ------------------------------------------------------------ changes */

static void row_values(const struct rel *r, json_t *row, const char **vals)
{
	ss_frame_row_values(row, (const char *const *)r->names, NULL, r->ncols,
			    vals);
}

/* An array of strings or booleans (a checked "meta" member) as compact
 * JSON, `more` (NULL: none) appended inside it. */
static void add_array(struct ss_buf *out, json_t *v, json_t *more)
{
	size_t i, n = 0;
	json_t *parts[2] = {v, more};
	int k;

	ss_buf_addc(out, '[');
	for (k = 0; k < 2; k++)
		for (i = 0; parts[k] && i < json_array_size(parts[k]); i++) {
			json_t *e = json_array_get(parts[k], i);

			if (n++)
				ss_buf_addc(out, ',');
			if (json_is_string(e))
				ss_buf_add_json_string(out,
						       json_string_value(e),
						       json_string_length(e));
			else
				ss_buf_adds(out,
					    json_is_true(e) ? "true" : "false");
		}
	ss_buf_addc(out, ']');
}

/*
 * The headers route gives a subquery shape's change (its "meta"), as
 * Electric sends them (reference 3.2-3.4): tags and active_conditions on
 * every message, removed_tags on updates only; the delete half of a key
 * change (`key_delete`) carries the new tags followed by the removed
 * ones.
 */
static void meta_headers(struct ss_buf *out, json_t *meta, enum ss_frame_op op,
			 int key_delete)
{
	json_t *tags = json_object_get(meta, "tags");
	json_t *removed = json_object_get(meta, "removed_tags");

	ss_buf_reset(out);
	ss_buf_adds(out, ",\"tags\":");
	add_array(out, tags, key_delete ? removed : NULL);
	ss_buf_adds(out, ",\"active_conditions\":");
	add_array(out, json_object_get(meta, "active_conditions"), NULL);
	if (op == SS_FRAME_OP_UPDATE && !key_delete) {
		ss_buf_adds(out, ",\"removed_tags\":");
		add_array(out, removed, NULL);
	}
}

static void make_key(struct ss_buf *out, const struct rel *r, const char **vals)
{
	const char *pkv[64], **pk = pkv;
	size_t i;

	if (r->npk > 64)
		pk = ss_xcalloc(r->npk, sizeof(*pk));
	for (i = 0; i < r->npk; i++)
		pk[i] = vals[r->pk[i]];
	ss_buf_reset(out);
	ss_message_key(out, r->schema, r->table, pk, r->npk);
	if (pk != pkv)
		free(pk);
}

static int streq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Decide what this transaction does for shape h (once per transaction). */
static int decide(struct ss_store *s, struct shp *h, struct ss_err *err)
{
	if (h->txn == s->txn)
		return 0;
	h->txn = s->txn;
	h->invalidated = 0;
	h->has_held = 0;
	h->txn_next = s->touched;
	s->touched = h;
	if (!h->head_loaded && open_writer(s, h, err) < 0)
		return -1;
	/* Replayed after a restart: already committed (or spilled). */
	if (s->lsn <= h->head.last_tx ||
	    (h->spill_last && s->lsn <= h->spill_last)) {
		h->mode = SKIP;
		s->st.skipped++;
		return 0;
	}
	if (!h->snap_known && !h->spill) {
		/* Maybe recorded since we loaded the shape. */
		struct ss_shape_rec rec;
		int rc;

		ss_shape_rec_init(&rec);
		rc = ss_registry_get_by_id(s->reg, h->id, &rec, err);
		if (rc < 0)
			return -1;
		if (rc > 0)
			take_snapshot(h, &rec);
		ss_shape_rec_release(&rec);
	}
	if (!h->snap_known || h->spill) {
		/* Spill, also once the snapshot is known but older spilled
		 * transactions have not been replayed yet: order matters. */
		h->mode = SPILL;
		if (open_spill(s, h, err) < 0)
			return -1;
		if (fprintf(h->spill, "B %" PRIu64 " %" PRIu64 "\n", s->xid,
			    s->lsn) < 0)
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "could not write '%s/pending': %s",
					  h->dir, strerror(errno));
		return 0;
	}
	h->mode = filter_decide(h, s->xid);
	if (h->mode == SKIP)
		s->st.skipped++;
	return 0;
}

/* One ancestor of a partition, as a change of the partition shows it. */
struct anc_view {
	struct rel *r;	       /* NULL: no relation frame for it */
	const char **nv, **ov; /* the rows by its columns (NULL until used) */
	struct ss_message_rel mr;
};

/* 1 if shape h is on table r. */
static int rel_is(const struct rel *r, const struct shp *h)
{
	return !strcmp(r->table, h->table) && !strcmp(r->schema, h->schema);
}

static void rel_view(struct ss_message_rel *mr, const struct rel *r,
		     unsigned char *sel)
{
	mr->schema = r->schema;
	mr->table = r->table;
	mr->ncols = r->ncols;
	mr->names = (const char *const *)r->names;
	mr->selected = sel;
	mr->pk = r->pk;
	mr->npk = r->npk;
}

/*
 * A move-out of subquery shapes (docs/subqueries.md): for each, the
 * control line {"headers":{"event":"move-out","patterns":[..],
 * "txids":[xid]}} at slot 0 of the position of the change that caused
 * it. A control line is never marked "last".
 */
static int move_event(struct ss_store *s, const struct ss_frame *f,
		      struct ss_err *err)
{
	size_t k, i;

	for (k = 0; k < f->nshapes; k++) {
		json_t *pats = f->shape_patterns[k];
		struct ss_offset off;
		struct shp *h;
		int fail;

		if (ss_offset_for_subquery(s->lsn, f->pos, 0, &off, err) < 0)
			return -1;
		h = shape(s, f->shapes[k], err, &fail);
		if (!h) {
			if (fail)
				return -1;
			continue; /* removed meanwhile */
		}
		if (decide(s, h, err) < 0)
			return -1;
		if (h->mode == SKIP || h->invalidated)
			continue;
		ss_buf_reset(&s->msg);
		ss_buf_adds(&s->msg, "{\"headers\":{\"event\":");
		ss_buf_add_json_string(&s->msg, f->event, strlen(f->event));
		ss_buf_adds(&s->msg, ",\"patterns\":[");
		for (i = 0; i < json_array_size(pats); i++) {
			json_t *p = json_array_get(pats, i);
			json_t *v = json_object_get(p, "value");

			ss_buf_addf(
			    &s->msg,
			    "%s{\"pos\":%" PRId64 ",\"value\":", i ? "," : "",
			    (int64_t)json_integer_value(
				json_object_get(p, "pos")));
			ss_buf_add_json_string(&s->msg, json_string_value(v),
					       json_string_length(v));
			ss_buf_addc(&s->msg, '}');
		}
		ss_buf_addf(&s->msg, "],\"txids\":[%" PRIu64 "]}}",
			    s->xid & 0xFFFFFFFFu);
		if (emit(s, h, off, SIZE_MAX, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * One line of a subquery shape's move-in (man shapesync-frames: movein):
 * written after the begin of the transaction that carries it, at offset
 * (lsn - 1)_pos, above every entry of the transactions before and below
 * every entry of this one; or after its changes ("after": the last one's
 * pos), at lsn_(4 (after + 1) + pos).
 */
static int movein_line(struct ss_store *s, const struct ss_frame *f,
		       struct ss_err *err)
{
	struct ss_offset off;
	struct shp *h;
	int fail;

	if (ss_offset_for_movein(s->lsn, f->has_after ? (int64_t)f->after : -1,
				 f->pos, &off, err) < 0) {
		ss_err_prefix(err, "movein frame: ");
		return -1;
	}
	h = shape(s, f->shapes[0], err, &fail);
	if (!h)
		return fail ? -1 : 0; /* removed meanwhile */
	if (decide(s, h, err) < 0)
		return -1;
	if (h->mode == SKIP || h->invalidated)
		return 0;
	ss_buf_reset(&s->msg);
	ss_buf_add(&s->msg, f->message, f->message_len);
	return emit(s, h, off, SIZE_MAX, err);
}

static int change(struct ss_store *s, const struct ss_frame *f,
		  struct ss_err *err)
{
	struct rel *r = imap_get(&s->rels, f->oid);
	const char **nv = NULL, **ov = NULL;
	unsigned char *sel = NULL, *inc = NULL, *oinc = NULL;
	struct ss_message_rel mr;
	struct anc_view *av = NULL;
	size_t k, i, maxcols;
	int rc = -1;

	if (!r)
		return ss_err_set(err, SS_ERR_INPUT,
				  "change to relation %" PRIu32
				  " before its relation frame",
				  f->oid);
	/* A partition's change is also a change of its ancestors, for the
	 * shapes on them: their rows, keys and "relation" are the
	 * ancestor's, as in the ancestor's snapshot. */
	maxcols = r->ncols;
	if (r->nanc) {
		av = ss_xcalloc(r->nanc, sizeof(*av));
		for (i = 0; i < r->nanc; i++) {
			av[i].r = imap_get(&s->rels, r->anc[i]);
			if (av[i].r && av[i].r->ncols > maxcols)
				maxcols = av[i].r->ncols;
		}
	}
	nv = ss_xcalloc(r->ncols + 1, sizeof(*nv));
	ov = ss_xcalloc(r->ncols + 1, sizeof(*ov));
	sel = ss_xcalloc(maxcols + 1, 1);
	inc = ss_xcalloc(maxcols + 1, 1);
	oinc = ss_xcalloc(maxcols + 1, 1);
	row_values(r, f->new_row, nv);
	row_values(r, f->old_row, ov);
	rel_view(&mr, r, sel);

	for (k = 0; k < f->nshapes; k++) {
		struct shp *h;
		int fail;
		enum ss_frame_op op = f->shape_ops ? f->shape_ops[k] : f->op;
		struct ss_message_hdr hdr;
		struct ss_offset off;
		size_t last_at;
		struct rel *rr;
		const char **nvv, **ovv;
		struct ss_message_rel *mrr;
		json_t *meta = f->shape_meta ? f->shape_meta[k] : NULL;

		/* A subquery shape's change takes slot 1 of its position
		 * (control lines go before it). */
		if ((meta
			 ? ss_offset_for_subquery(s->lsn, f->pos, 1, &off, err)
			 : ss_offset_for_change(s->lsn, f->pos, &off, err)) < 0)
			goto out;

		h = shape(s, f->shapes[k], err, &fail);
		if (!h) {
			if (fail)
				goto out;
			continue; /* removed meanwhile */
		}
		if (decide(s, h, err) < 0)
			goto out;
		if (h->mode == SKIP || h->invalidated)
			continue;
		rr = r;
		nvv = nv;
		ovv = ov;
		mrr = &mr;
		if (r->nanc && !rel_is(r, h)) {
			for (i = 0; i < r->nanc; i++)
				if (av[i].r && rel_is(av[i].r, h))
					break;
			/* Route tags a change for the shapes on its table or
			 * an ancestor; anything else keeps the table's. */
			if (i < r->nanc) {
				struct anc_view *a = &av[i];

				if (!a->nv) {
					a->nv = ss_xcalloc(a->r->ncols + 1,
							   sizeof(*a->nv));
					a->ov = ss_xcalloc(a->r->ncols + 1,
							   sizeof(*a->ov));
					row_values(a->r, f->new_row, a->nv);
					row_values(a->r, f->old_row, a->ov);
					rel_view(&a->mr, a->r, sel);
				}
				rr = a->r;
				nvv = a->nv;
				ovv = a->ov;
				mrr = &a->mr;
			}
		}
		for (i = 0; i < rr->ncols; i++) {
			sel[i] = (unsigned char)selected(h, rr->names[i]);
			inc[i] = 0;
			oinc[i] = 0;
		}
		for (i = 0; i < rr->npk; i++)
			sel[rr->pk[i]] = 1;
		memset(&hdr, 0, sizeof(hdr));
		hdr.lsn = s->lsn;
		hdr.op_position = off.op;
		hdr.txid = s->xid & 0xFFFFFFFFu;
		ss_buf_reset(&s->msg);
		if (meta)
			meta_headers(&s->extra, meta, op, 0);
		hdr.extra = meta ? s->extra.buf : NULL;

		if (op == SS_FRAME_OP_INSERT) {
			/* An insert, or an update that moved the row in. */
			make_key(&s->key, rr, nvv);
			hdr.operation = "insert";
			last_at =
			    ss_message_change(&s->msg, mrr, s->key.buf, &hdr,
					      nvv, NULL, NULL, NULL);
		} else if (op == SS_FRAME_OP_DELETE) {
			/* A delete, or an update that moved the row out. */
			const char **row = f->old_row ? ovv : nvv;

			make_key(&s->key, rr, row);
			hdr.operation = "delete";
			if (!h->replica_full)
				for (i = 0; i < rr->npk; i++)
					inc[rr->pk[i]] = 1;
			last_at = ss_message_change(
			    &s->msg, mrr, s->key.buf, &hdr, row,
			    h->replica_full ? NULL : inc, NULL, NULL);
		} else {
			int changed = 0;

			make_key(&s->key, rr, ovv);
			make_key(&s->key2, rr, nvv);
			if (strcmp(s->key.buf, s->key2.buf)) {
				/* Key change: delete of the old key at op,
				 * insert of the new one at op + 1. */
				hdr.operation = "delete";
				hdr.key_change_to = s->key2.buf;
				if (meta) { /* tags: new and removed */
					meta_headers(&s->extra, meta,
						     SS_FRAME_OP_DELETE, 1);
					hdr.extra = s->extra.buf;
				}
				if (!h->replica_full)
					for (i = 0; i < rr->npk; i++)
						inc[rr->pk[i]] = 1;
				last_at = ss_message_change(
				    &s->msg, mrr, s->key.buf, &hdr, ovv,
				    h->replica_full ? NULL : inc, NULL, NULL);
				if (emit(s, h, off, last_at, err) < 0)
					goto out;
				ss_buf_reset(&s->msg);
				memset(&hdr, 0, sizeof(hdr));
				hdr.lsn = s->lsn;
				hdr.op_position = off.op + 1;
				hdr.txid = s->xid & 0xFFFFFFFFu;
				hdr.operation = "insert";
				hdr.key_change_from = s->key.buf;
				off.op++;
				if (meta) {
					meta_headers(&s->extra, meta,
						     SS_FRAME_OP_INSERT, 0);
					hdr.extra = s->extra.buf;
				}
				last_at = ss_message_change(
				    &s->msg, mrr, s->key2.buf, &hdr, nvv, NULL,
				    NULL, NULL);
			} else {
				for (i = 0; i < rr->ncols; i++) {
					if (sel[i] && !streq(nvv[i], ovv[i])) {
						inc[i] = 1;
						oinc[i] = 1;
						changed = 1;
					}
				}
				/* Nothing this shape shows changed: not
				 * sent, but to a subquery shape, whose
				 * active_conditions may have. */
				if (!changed && !meta)
					continue;
				hdr.operation = "update";
				if (h->replica_full) {
					last_at = ss_message_change(
					    &s->msg, mrr, s->key2.buf, &hdr,
					    nvv, NULL, ovv, oinc);
				} else {
					for (i = 0; i < rr->npk; i++)
						inc[rr->pk[i]] = 1;
					last_at = ss_message_change(
					    &s->msg, mrr, s->key2.buf, &hdr,
					    nvv, inc, NULL, NULL);
				}
			}
		}
		if (emit(s, h, off, last_at, err) < 0)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; av && i < r->nanc; i++) {
		free(av[i].nv);
		free(av[i].ov);
	}
	free(av);
	free(nv);
	free(ov);
	free(sel);
	free(inc);
	free(oinc);
	return rc;
}

/* --------------------------------------------------------- invalidation */

/* Remove a shape: from the registry, its directory into the trash, and
 * from our state. Its clients get 409 and resync. */
static int invalidate(struct ss_store *s, struct shp *h, struct ss_err *err)
{
	int rc = ss_registry_remove(s->reg, h->id, err);

	if (rc < 0 || ss_registry_flush(s->reg, err) < 0)
		return -1;
	close_writer(s, h);
	if (h->spill) {
		fclose(h->spill);
		h->spill = NULL;
	}
	if (ss_datadir_trash(s->dir, h->dir, err) < 0)
		return -1;
	s->st.invalidated++;
	return 0;
}

static void forget(struct ss_store *s, struct shp *h)
{
	struct shp **pp;
	size_t i;

	for (pp = &s->spilling; *pp; pp = &(*pp)->spill_next)
		if (*pp == h) {
			*pp = h->spill_next;
			break;
		}
	for (pp = &s->touched; *pp; pp = &(*pp)->txn_next)
		if (*pp == h) {
			*pp = h->txn_next;
			break;
		}
	for (i = 0; i < s->ndirty; i++)
		if (s->dirty[i] == h)
			s->dirty[i] = s->dirty[--s->ndirty];
	imap_del(&s->shapes, h->id);
	shape_free(s, h);
	s->st.shapes = s->shapes.n;
}

static int invalidate_ids(struct ss_store *s, const int64_t *ids, size_t n,
			  int now, struct ss_err *err)
{
	size_t k;

	for (k = 0; k < n; k++) {
		int fail;
		struct shp *h = shape(s, ids[k], err, &fail);

		if (!h) {
			if (fail)
				return -1;
			continue;
		}
		if (!now && s->in_txn) {
			/* Truncate inside a transaction: drop what this txn
			 * wrote for the shape and remove it at commit. */
			if (decide(s, h, err) < 0)
				return -1;
			if (h->mode == SKIP)
				continue;
			h->invalidated = 1;
			h->has_held = 0;
			continue;
		}
		if (invalidate(s, h, err) < 0)
			return -1;
		forget(s, h);
	}
	return 0;
}

/* ---------------------------------------------------------- group commit */

/* One syncfs(2) of the data dir's filesystem: cheaper than thousands of
 * fdatasync calls, and the only way to sync logs already closed. */
static int sync_fs(struct ss_store *s, struct ss_err *err)
{
	size_t i;
	int fd;

	for (i = 0; i < s->ndirty; i++)
		if (s->dirty[i]->spill && fflush(s->dirty[i]->spill) != 0)
			return ss_err_set(err, SS_ERR_RUNTIME,
					  "could not write '%s/pending': %s",
					  s->dirty[i]->dir, strerror(errno));
	fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not sync '%s': %s",
			   s->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int do_sync(struct ss_store *s, struct ss_err *err)
{
	size_t i;

	if (!s->o.no_sync && (s->dirty_closed || s->ndirty > 4)) {
		if (sync_fs(s, err) < 0)
			return -1;
		for (i = 0; i < s->ndirty; i++)
			s->dirty[i]->dirty = 0;
	}
	for (i = 0; i < s->ndirty; i++) {
		if (s->dirty[i]->dirty && sync_shape(s, s->dirty[i], err) < 0)
			return -1;
		s->dirty[i]->dirty = 0;
	}
	s->dirty_closed = 0;
	s->ndirty = 0;
	if (s->have_pending) {
		if (ss_registry_set_durable_lsn(s->reg, s->pending_durable,
						s->stream, err) < 0)
			return -1;
		s->durable = s->pending_durable;
		s->have_pending = 0;
	}
	s->st.syncs++;
	s->bytes_since_sync = 0;
	s->first_unsynced_us = 0;
	return 0;
}

static void mark_dirty(struct ss_store *s, struct shp *h)
{
	if (h->dirty)
		return;
	h->dirty = 1;
	SS_GROW(s->dirty, s->dirty_alloc, s->ndirty + 1);
	s->dirty[s->ndirty++] = h;
}

static void pending_durable(struct ss_store *s, uint64_t lsn)
{
	if (!s->have_pending || lsn > s->pending_durable)
		s->pending_durable = lsn;
	s->have_pending = 1;
	if (!s->first_unsynced_us)
		s->first_unsynced_us = ss_mono_us();
}

static int by_id(const void *a, const void *b)
{
	int64_t x = (*(struct shp *const *)a)->id;
	int64_t y = (*(struct shp *const *)b)->id;

	return (x > y) - (x < y);
}

/*
 * The shapes the transaction touched, in the order commit() commits
 * them: by id. A subquery's shape is registered before the shapes that
 * use it (serve creates the inner shapes first, and ids only grow), so
 * a kill inside the loop leaves the transaction in an inner shape's log
 * whenever it is in an outer one's. Route's restart relies on that: it
 * reads an inner shape's moves back from its log (docs/subqueries.md,
 * "Restart"), and an outer log holding lines that its inner log lacks
 * would make it query the move again and move the outer shape twice.
 */
static size_t commit_order(struct ss_store *s)
{
	struct shp *h;
	size_t n = 0;

	for (h = s->touched; h; h = h->txn_next) {
		if (n == s->order_alloc) {
			s->order_alloc =
			    s->order_alloc ? 2 * s->order_alloc : 64;
			s->order = ss_xrealloc(s->order, s->order_alloc *
							     sizeof(*s->order));
		}
		s->order[n++] = h;
	}
	if (n > 1)
		qsort(s->order, n, sizeof(*s->order), by_id);
	return n;
}

static int commit(struct ss_store *s, const struct ss_frame *f,
		  struct ss_err *err)
{
	struct shp *h;
	size_t i, n = commit_order(s);

	s->touched = NULL;
	for (i = 0; i < n; i++) {
		h = s->order[i];
		h->txn_next = NULL;
		if (h->invalidated) {
			if (invalidate(s, h, err) < 0)
				return -1;
			forget(s, h);
			continue;
		}
		if (h->mode == SKIP)
			continue;
		if (flush_held(s, h, 1, err) < 0)
			return -1;
		if (h->mode == SPILL) {
			if (fprintf(h->spill, "C %" PRIu64 "\n", s->lsn) < 0)
				return ss_err_set(
				    err, SS_ERR_RUNTIME,
				    "could not write '%s/pending'", h->dir);
			h->spill_last = s->lsn;
		} else {
			/* A parked log commits parked; only syncfs(2) then
			 * syncs it (sync_shape skips it). */
			if (h->w && h->parked)
				s->dirty_closed = 1;
			else if (open_writer(s, h, err) < 0)
				return -1;
			if (ss_log_commit(h->w, s->lsn, err) < 0)
				return -1;
			ss_log_writer_head(h->w, &h->head);
		}
		mark_dirty(s, h);
	}
	s->touched = NULL;
	s->in_txn = 0;
	s->st.transactions++;
	pending_durable(s, f->end_lsn ? f->end_lsn : f->lsn);
	if (s->o.sync_every_commit || s->bytes_since_sync >= s->o.sync_bytes)
		return do_sync(s, err);
	return 0;
}

/* ------------------------------------------------------------- spill */

/* Replay a shape's spilled transactions now that its snapshot is known. */
static int replay(struct ss_store *s, struct shp *h, struct ss_err *err)
{
	struct ss_buf line = SS_BUF_INIT;
	uint64_t xid = 0, lsn = 0;
	int in = 0, mode = SKIP, c;
	struct ss_buf p = SS_BUF_INIT;

	if (fflush(h->spill) != 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not write '%s/pending'", h->dir);
	rewind(h->spill);
	if (open_writer(s, h, err) < 0)
		return -1;
	for (;;) {
		ss_buf_reset(&line);
		while ((c = getc(h->spill)) != EOF && c != '\n')
			ss_buf_addc(&line, (char)c);
		if (c == EOF)
			break; /* a line without newline: an interrupted write
				*/
		if (line.buf[0] == 'B') {
			if (sscanf(line.buf, "B %" SCNu64 " %" SCNu64, &xid,
				   &lsn) != 2)
				goto bad;
			in = 1;
			mode = lsn <= h->head.last_tx ? SKIP
						      : filter_decide(h, xid);
			if (mode == SKIP)
				s->st.skipped++;
		} else if (line.buf[0] == 'E' && in) {
			uint64_t tx, op;
			int n = 0;
			struct ss_offset off;

			if (sscanf(line.buf, "E %" SCNu64 " %" SCNu64 " %n",
				   &tx, &op, &n) != 2 ||
			    !n)
				goto bad;
			if (mode != APPLY)
				continue;
			off = ss_offset_make(tx, op);
			if (ss_log_append(h->w, &off, line.buf + n,
					  line.len - (size_t)n, err) < 0)
				goto fail;
			s->st.entries++;
		} else if (line.buf[0] == 'C' && in) {
			if (mode == APPLY && ss_log_commit(h->w, lsn, err) < 0)
				goto fail;
			in = 0;
		} else {
			goto bad;
		}
	}
	/* A transaction begun but never committed in the spill is dropped. */
	if (ss_log_rollback(h->w, err) < 0)
		goto fail;
	ss_log_writer_head(h->w, &h->head);
	fclose(h->spill);
	h->spill = NULL;
	h->spill_last = 0;
	mark_dirty(s, h);
	/* The log must be durable before the spill file goes away. */
	if (sync_shape(s, h, err) < 0)
		goto fail;
	ss_buf_addf(&p, "%s/pending", h->dir);
	if (unlink(p.buf) < 0 && errno != ENOENT) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not remove '%s': %s",
			   p.buf, strerror(errno));
		goto fail;
	}
	ss_buf_release(&p);
	ss_buf_release(&line);
	return 0;
bad:
	ss_err_set(err, SS_ERR_INPUT, "'%s/pending' is damaged", h->dir);
fail:
	ss_buf_release(&p);
	ss_buf_release(&line);
	return -1;
}

static int replay_ready(struct ss_store *s, struct ss_err *err)
{
	struct shp **pp = &s->spilling;

	while (*pp) {
		struct shp *h = *pp;
		struct ss_shape_rec rec;
		int rc;

		if (!h->snap_known) {
			ss_shape_rec_init(&rec);
			rc = ss_registry_get_by_id(s->reg, h->id, &rec, err);
			if (rc < 0)
				return -1;
			if (rc > 0)
				take_snapshot(h, &rec);
			ss_shape_rec_release(&rec);
		}
		if (!h->snap_known || !h->spill) {
			pp = &h->spill_next;
			continue;
		}
		if (replay(s, h, err) < 0)
			return -1;
		*pp = h->spill_next;
		h->on_spill_list = 0;
	}
	return 0;
}

/* Shapes spilled before a restart: find their pending files lazily when
 * the shape is first used (decide() opens the spill in append mode), and
 * here for shapes not touched since. */
static int scan_spills(struct ss_store *s, struct ss_err *err);
/* ------------------------------------------------------------ registry */

/* A shape removed from the registry (registry cursor). */
static int on_removed(int64_t id, const char *handle, void *p,
		      struct ss_err *err)
{
	struct ss_store *s = p;
	struct shp *h;

	(void)err;
	h = imap_get(&s->shapes, id);
	if (h)
		forget(s, h);
	/* Whoever removed it (shapesync-db rm, replicate starting a new
	 * stream), its data goes to the trash; a missing one is fine. */
	if (handle && ss_shape_handle_valid(handle, NULL)) {
		struct ss_buf path = SS_BUF_INIT;
		struct ss_err e = SS_ERR_INIT;

		ss_datadir_shape_path(&path, s->dir, handle);
		ss_datadir_trash(s->dir, path.buf, &e);
		ss_buf_release(&path);
	}
	return 0;
}

/* The change log was trimmed past us: re-check every shape we hold. */
static int on_reload(void *p, struct ss_err *err)
{
	struct ss_store *s = p;
	size_t i;
	int rc;

	for (i = 0; i < s->shapes.cap; i++) {
		struct shp *h = s->shapes.keys[i] ? s->shapes.vals[i] : NULL;
		struct ss_shape_rec rec;

		if (!h)
			continue;
		ss_shape_rec_init(&rec);
		rc = ss_registry_get_by_id(s->reg, h->id, &rec, err);
		ss_shape_rec_release(&rec);
		if (rc < 0)
			return -1;
		if (rc == 0 && !(s->in_txn && h->txn == s->txn)) {
			forget(s, h);
			i = (size_t)-1; /* the map changed: start over */
		}
	}
	return 0;
}

static const struct ss_registry_cursor_ops cursor_ops = {NULL, on_removed,
							 on_reload};

static int watch_registry(struct ss_store *s, struct ss_err *err);

/*
 * A stream frame: replicate says which registry stream the frames that
 * follow belong to. The same stream goes on; a new one means replicate
 * found the old lineage broken and removed every shape with it: drop what
 * is left of them here, an open transaction included (its commit will
 * never come), and record durable progress for the new stream from now
 * on. A stream older than ours, or one the registry does not know, is
 * input from somewhere else.
 */
static int stream_frame(struct ss_store *s, const struct ss_frame *f,
			struct ss_err *err)
{
	int64_t current;
	size_t i;

	if (f->stream == s->stream)
		return 0;
	if (f->stream < s->stream)
		return ss_err_set(
		    err, SS_ERR_INPUT,
		    "stream frame: stream %" PRId64
		    " is older than the registry's stream %" PRId64,
		    f->stream, s->stream);
	if (ss_registry_stream_get(s->reg, &current, NULL, NULL, err) < 0)
		return -1;
	if (f->stream > current)
		return ss_err_set(
		    err, SS_ERR_INPUT,
		    "stream frame: stream %" PRId64
		    " is not in the registry (its stream is %" PRId64 ")",
		    f->stream, current);
	for (i = 0; i < s->shapes.cap; i++)
		if (s->shapes.keys[i]) {
			forget(s, s->shapes.vals[i]);
			i = (size_t)-1; /* the map changed: start over */
		}
	s->in_txn = 0;
	s->touched = NULL;
	s->have_pending = 0;
	s->stream = f->stream;
	s->st.streams++;
	/* The removals are in the change log: trash their data now. */
	ss_registry_cursor_invalidate(s->cursor);
	return watch_registry(s, err);
}

static int watch_registry(struct ss_store *s, struct ss_err *err)
{
	return ss_registry_cursor_poll(s->cursor, 0, err) < 0 ? -1 : 0;
}

struct scan_ctx {
	struct ss_store *s;
	struct ss_err *err;
	int failed;
};

static int scan_one(const char *name, const char *path, int is_handle, void *p)
{
	struct scan_ctx *c = p;
	struct ss_buf f = SS_BUF_INIT;
	struct ss_shape_rec rec;
	struct stat st;
	int rc, fail;

	if (!is_handle)
		return 0;
	ss_buf_addf(&f, "%s/pending", path);
	rc = stat(f.buf, &st);
	ss_buf_release(&f);
	if (rc < 0)
		return 0;
	ss_shape_rec_init(&rec);
	rc = ss_registry_get_by_handle(c->s->reg, name, &rec, c->err);
	if (rc > 0 && !shape(c->s, rec.id, c->err, &fail) && fail)
		rc = -1;
	ss_shape_rec_release(&rec);
	if (rc < 0) {
		c->failed = 1;
		return 1;
	}
	return 0;
}

/* At start-up: adopt every spill file an earlier run left behind. */
static int scan_spills(struct ss_store *s, struct ss_err *err)
{
	struct scan_ctx c = {s, err, 0};

	if (ss_datadir_foreach_shape(s->dir, scan_one, &c, err) < 0 || c.failed)
		return -1;
	return 0;
}

/* ------------------------------------------------------------- frames */

int ss_store_frame(struct ss_store *s, const struct ss_frame *f,
		   struct ss_err *err)
{
	switch (f->type) {
	case SS_FRAME_BEGIN:
		if (replay_ready(s, err) < 0)
			return -1;
		s->in_txn = 1;
		s->txn++;
		s->xid = f->xid;
		s->lsn = f->lsn;
		s->touched = NULL;
		return 0;
	case SS_FRAME_RELATION:
		relation(s, f);
		return 0;
	case SS_FRAME_CHANGE:
		if (!f->has_shapes || !f->nshapes)
			return 0;
		return change(s, f, err);
	case SS_FRAME_TRUNCATE:
		if (!f->has_shapes)
			return 0;
		return invalidate_ids(s, f->shapes, f->nshapes, 0, err);
	case SS_FRAME_MOVE:
		return move_event(s, f, err);
	case SS_FRAME_MOVEIN:
		return movein_line(s, f, err);
	case SS_FRAME_COMMIT:
		return commit(s, f, err);
	case SS_FRAME_INVALIDATE:
		if (!f->has_shapes)
			return 0;
		return invalidate_ids(s, f->shapes, f->nshapes, 1, err);
	case SS_FRAME_PROGRESS:
		/* Nothing relevant up to here: durable once what came before
		 * is. */
		pending_durable(s, f->lsn);
		return 0;
	case SS_FRAME_STREAM:
		return stream_frame(s, f, err);
	case SS_FRAME_MARK:
		/* route's; nothing for store */
		return 0;
	default:
		return ss_err_set(err, SS_ERR_INPUT, "unexpected frame");
	}
}

int ss_store_poll(struct ss_store *s, int idle, struct ss_err *err)
{
	int64_t now = ss_mono_us();

	if (!s->in_txn) {
		if (now - s->last_watch_us >= 20000) {
			s->last_watch_us = now;
			if (watch_registry(s, err) < 0 ||
			    replay_ready(s, err) < 0)
				return -1;
		}
	}
	if ((s->have_pending || s->ndirty) &&
	    (idle || now - s->first_unsynced_us >= s->o.sync_interval_us))
		return do_sync(s, err);
	return 0;
}

int64_t ss_store_deadline(const struct ss_store *s)
{
	int64_t d = s->last_watch_us + 20000;

	if ((s->have_pending || s->ndirty) && s->first_unsynced_us &&
	    s->first_unsynced_us + s->o.sync_interval_us < d)
		d = s->first_unsynced_us + s->o.sync_interval_us;
	return d;
}

int ss_store_in_txn(const struct ss_store *s)
{
	return s->in_txn;
}

void ss_store_stats(const struct ss_store *s, struct ss_store_stats *st)
{
	*st = s->st;
	st->open_logs = (uint64_t)s->nopen;
	st->durable_lsn = s->durable;
}

/* ------------------------------------------------------ trash cleaner */

static void *cleaner_main(void *p)
{
	struct ss_store *s = p;

	pthread_mutex_lock(&s->cmu);
	while (!s->cleaner_stop) {
		struct timespec ts;
		struct ss_err err = SS_ERR_INIT;
		long removed;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		pthread_cond_timedwait(&s->ccv, &s->cmu, &ts);
		if (s->cleaner_stop)
			break;
		pthread_mutex_unlock(&s->cmu);
		ss_datadir_empty_trash(s->dir, &removed, &err);
		pthread_mutex_lock(&s->cmu);
	}
	pthread_mutex_unlock(&s->cmu);
	return NULL;
}

/* ------------------------------------------------------------ lifecycle */

int ss_store_open(struct ss_registry *reg, const struct ss_store_opts *opts,
		  struct ss_store **out, struct ss_err *err)
{
	struct ss_store *s = ss_xcalloc(1, sizeof(*s));

	s->reg = reg;
	if (opts)
		s->o = *opts;
	else
		ss_store_opts_init(&s->o);
	if (s->o.max_open < 1)
		s->o.max_open = 1;
	if (s->o.write_buffer)
		s->budget = ss_log_budget_new(s->o.write_buffer);
	s->dir = ss_xstrdup(s->o.dir);
	ss_buf_init(&s->msg);
	ss_buf_init(&s->key);
	ss_buf_init(&s->key2);
	pthread_mutex_init(&s->cmu, NULL);
	pthread_cond_init(&s->ccv, NULL);
	if (ss_datadir_init(s->dir, err) < 0)
		goto fail;
	/* Start from the registry's change log as it is now: shapes removed
	 * before we started are simply not found when first used. */
	s->cursor = ss_registry_cursor_new(reg, SS_REGISTRY_CURSOR_NO_LIST,
					   &cursor_ops, s);
	if (ss_registry_cursor_poll(s->cursor, 0, err) < 0 ||
	    ss_registry_get_durable_lsn(reg, &s->durable, err) < 0 ||
	    ss_registry_stream_get(reg, &s->stream, NULL, NULL, err) < 0 ||
	    scan_spills(s, err) < 0)
		goto fail;
	if (ss_thread_start(&s->cleaner, NULL, cleaner_main, s) == 0)
		s->cleaner_started = 1;
	*out = s;
	return 0;
fail:
	ss_store_close(s, NULL);
	return -1;
}

int ss_store_close(struct ss_store *s, struct ss_err *err)
{
	int rc = 0;
	size_t i;

	if (!s)
		return 0;
	/* What is committed is synced; an open transaction's appended bytes
	 * may be synced with it, but no head names them. */
	if (s->have_pending || s->ndirty)
		rc = do_sync(s, err);
	if (s->cleaner_started) {
		pthread_mutex_lock(&s->cmu);
		s->cleaner_stop = 1;
		pthread_cond_signal(&s->ccv);
		pthread_mutex_unlock(&s->cmu);
		pthread_join(s->cleaner, NULL);
	}
	for (i = 0; i < s->shapes.cap; i++)
		if (s->shapes.keys[i])
			shape_free(s, s->shapes.vals[i]);
	for (i = 0; i < s->rels.cap; i++)
		if (s->rels.keys[i])
			rel_free(s->rels.vals[i]);
	imap_free(&s->shapes);
	ss_log_budget_free(s->budget); /* after the writers using it */
	imap_free(&s->rels);
	imap_free(&s->gone);
	free(s->dirty);
	free(s->order);
	ss_buf_release(&s->msg);
	ss_buf_release(&s->key);
	ss_buf_release(&s->key2);
	ss_buf_release(&s->extra);
	pthread_mutex_destroy(&s->cmu);
	pthread_cond_destroy(&s->ccv);
	free(s->dir);
	ss_registry_cursor_free(s->cursor);
	free(s);
	return rc;
}
