/*
 * activate.c — pending shapes and their activation for route (see
 * activate.h): the registry followed through a cursor, a pending list
 * with an id set, and the active marks.
 */
#include <stdlib.h>
#include <string.h>

#include "activate.h"
#include "subq.h"
#include "registry_cursor.h"
#include "shape.h"

/* A shape seen in the registry but not yet routed. */
struct pending {
	int64_t id;
	struct ss_shape def;
	int was_active;	     /* the registry already has its mark */
	char *handle, *deps; /* a subquery shape's (else deps NULL) */
	int wait;	     /* its inner shapes are not ready: stays pending */
};

static void pending_release(struct pending *p)
{
	ss_shape_release(&p->def);
	free(p->handle);
	free(p->deps);
	p->handle = p->deps = NULL;
}

struct ss_activate {
	struct ss_registry *reg;
	struct ss_router *router;
	struct ss_registry_cursor *cursor;
	struct ss_activate_ops ops;
	void *ctx;
	struct pending *pending;
	size_t npending, pending_alloc;
	/* The ids in pending, as an open-addressing set (0 is never an
	 * id): a full load adds every shape, so a scan per add would be
	 * quadratic. */
	int64_t *set;
	size_t set_size, set_n;
	/* Ids listed by a reload, to drop routed shapes that were not. */
	int64_t *seen;
	size_t nseen, seen_alloc;
	int reloading;
	int in_txn;
	ss_lsn position;    /* last commit passed through, or progress */
	int64_t stream;	    /* the stream of the frames passing through */
	int64_t reg_stream; /* the registry's current stream */
	uint64_t marks;
};

/* ---- the pending id set ----------------------------------------------- */

static size_t set_slot(const struct ss_activate *a, int64_t id)
{
	return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 20) &
	       (a->set_size - 1);
}

static int set_has(const struct ss_activate *a, int64_t id)
{
	size_t i;

	if (!a->set_n)
		return 0;
	for (i = set_slot(a, id); a->set[i]; i = (i + 1) & (a->set_size - 1))
		if (a->set[i] == id)
			return 1;
	return 0;
}

static void set_put(struct ss_activate *a, int64_t id)
{
	size_t i;

	if ((a->set_n + 1) * 2 > a->set_size) {
		int64_t *old = a->set;
		size_t oldsize = a->set_size;

		a->set_size = oldsize ? oldsize * 2 : 64;
		a->set = ss_xcalloc(a->set_size, sizeof(*a->set));
		a->set_n = 0;
		for (i = 0; i < oldsize; i++)
			if (old[i])
				set_put(a, old[i]);
		free(old);
	}
	for (i = set_slot(a, id); a->set[i]; i = (i + 1) & (a->set_size - 1))
		;
	a->set[i] = id;
	a->set_n++;
}

/* Rebuild the set from the pending list (after removals and activation). */
static void set_rebuild(struct ss_activate *a)
{
	size_t i;

	if (a->set_size)
		memset(a->set, 0, a->set_size * sizeof(*a->set));
	a->set_n = 0;
	for (i = 0; i < a->npending; i++)
		set_put(a, a->pending[i].id);
}

/* ---- pending shapes ----------------------------------------------------- */

static void pending_add(struct ss_activate *a, int64_t id,
			const struct ss_shape_rec *rec)
{
	struct ss_err err = SS_ERR_INIT;
	struct pending *p;

	if (ss_router_has(a->router, id) || set_has(a, id))
		return;
	SS_GROW(a->pending, a->pending_alloc, a->npending + 1);
	p = &a->pending[a->npending];
	memset(p, 0, sizeof(*p));
	ss_shape_init(&p->def);
	if (ss_shape_from_canonical(&p->def, rec->definition, &err) < 0) {
		/* A registry row we cannot read is not ours to fix; skip it
		 * loudly rather than stop the pipeline. */
		char msg[sizeof(err.msg) + 64];

		pending_release(p);
		snprintf(msg, sizeof(msg),
			 "shape %lld: bad definition in the registry: %s",
			 (long long)id, err.msg);
		if (a->ops.warn)
			a->ops.warn(msg, a->ctx);
		return;
	}
	p->id = id;
	p->was_active = rec->active;
	if (rec->deps) {
		p->handle = ss_xstrdup(rec->handle);
		p->deps = ss_xstrdup(rec->deps);
	}
	a->npending++;
	set_put(a, id);
}

static void pending_remove(struct ss_activate *a, int64_t id)
{
	size_t i;

	for (i = 0; i < a->npending; i++)
		if (a->pending[i].id == id) {
			pending_release(&a->pending[i]);
			a->pending[i] = a->pending[--a->npending];
			set_rebuild(a);
			return;
		}
}

/*
 * A subquery shape is routed only once the snapshots of its inner shapes
 * are complete: its views are read from their files (lib/viewload). Until
 * then it stays pending (serve waits for its mark meanwhile). Returns 1
 * when ready, 0 not yet, -1 with err.
 */
static int inners_ready(struct ss_activate *a, const struct pending *p,
			struct ss_err *err)
{
	struct ss_subq_deps d;
	struct ss_err e2 = SS_ERR_INIT;
	size_t i;
	int rc = 1;

	if (!p->deps)
		return 1;
	/* Bad deps: the router invalidates the shape when it is added. */
	if (ss_subq_deps_parse(p->deps, &d, &e2) < 0)
		return 1;
	for (i = 0; i < d.ninner && rc == 1; i++) {
		struct ss_shape_rec rec;
		int got;

		ss_shape_rec_init(&rec);
		got = ss_registry_get_by_id(a->reg, d.inner[i], &rec, err);
		if (got < 0)
			rc = -1;
		else if (!got || rec.snapshot_state != SS_SNAPSHOT_COMPLETE ||
			 !ss_router_has(a->router, d.inner[i]))
			rc = 0;
		ss_shape_rec_release(&rec);
	}
	ss_subq_deps_release(&d);
	return rc;
}

/*
 * Route the pending shapes from now on and publish their marks: position
 * is the last commit passed through (or progress), so every transaction
 * after it will be tagged. Only between transactions.
 */
static int activate_pending(struct ss_activate *a, struct ss_err *err)
{
	size_t i, n = a->npending, marked = 0;
	int rc = 0;

	/* A new stream was begun and its frames are not here yet: a mark
	 * now would be a position of the old one. */
	if (!a->npending || a->in_txn || a->reg_stream > a->stream)
		return 0;
	for (i = 0; i < a->npending && rc == 0; i++) {
		struct pending *p = &a->pending[i];
		int ready = inners_ready(a, p, err);

		if (ready < 0) {
			rc = -1;
			break;
		}
		if (!ready) {
			p->wait = 1;
			continue;
		}
		p->wait = 0;
		rc = p->deps ? ss_router_add_subquery(a->router, p->id, &p->def,
						      p->handle, p->deps, err)
			     : ss_router_add(a->router, p->id, &p->def, err);
		if (rc == 0 && !p->was_active) {
			if (ss_registry_mark_active(a->reg, p->id, a->position,
						    err) < 0)
				rc = -1;
			else
				marked++;
		}
	}
	if (rc < 0) {
		/* Those before the failure are routed; the rest stay pending
		 * (adding one again is a no-op for the router). */
		return -1;
	}
	{
		size_t kept = 0;

		for (i = 0; i < n; i++) {
			if (a->pending[i].wait)
				a->pending[kept++] = a->pending[i];
			else
				pending_release(&a->pending[i]);
		}
		a->npending = kept;
		n -= kept;
	}
	set_rebuild(a);
	if (n && a->ops.activated)
		a->ops.activated(n, a->position, a->ctx);
	if (marked) {
		/* serve, another process, waits for the mark: publish it. */
		if (ss_registry_flush(a->reg, err) < 0)
			return -1;
		a->marks += marked;
	}
	return 0;
}

/* ---- following the registry -------------------------------------------- */

static int on_added(int64_t id, const char *handle,
		    const struct ss_shape_rec *rec, void *ctx,
		    struct ss_err *err)
{
	struct ss_activate *a = ctx;

	(void)handle, (void)err;
	if (a->reloading) {
		SS_GROW(a->seen, a->seen_alloc, a->nseen + 1);
		a->seen[a->nseen++] = id;
	}
	pending_add(a, id, rec);
	return 0;
}

static int on_removed(int64_t id, const char *handle, void *ctx,
		      struct ss_err *err)
{
	struct ss_activate *a = ctx;

	(void)handle, (void)err;
	ss_router_remove(a->router, id);
	pending_remove(a, id);
	return 0;
}

static int on_reload(void *ctx, struct ss_err *err)
{
	struct ss_activate *a = ctx;

	(void)err;
	a->reloading = 1;
	a->nseen = 0;
	return 0;
}

static int cmp_id(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

/* After a reload: routed shapes no longer listed were removed while the
 * change log was trimmed. */
static void drop_unlisted(struct ss_activate *a)
{
	int64_t *ids;
	size_t n, i;

	if (a->nseen > 1)
		qsort(a->seen, a->nseen, sizeof(*a->seen), cmp_id);
	n = ss_router_ids(a->router, &ids);
	for (i = 0; i < n; i++)
		if (!a->nseen || !bsearch(&ids[i], a->seen, a->nseen,
					  sizeof(*a->seen), cmp_id))
			ss_router_remove(a->router, ids[i]);
	free(ids);
	a->nseen = 0;
}

struct ss_activate *ss_activate_new(struct ss_registry *reg,
				    struct ss_router *router,
				    const struct ss_activate_ops *ops,
				    void *ctx)
{
	static const struct ss_registry_cursor_ops cops = {on_added, on_removed,
							   on_reload};
	struct ss_activate *a = ss_xcalloc(1, sizeof(*a));

	a->reg = reg;
	a->router = router;
	if (ops)
		a->ops = *ops;
	a->ctx = ctx;
	a->cursor =
	    ss_registry_cursor_new(reg, SS_REGISTRY_CURSOR_RECORDS, &cops, a);
	return a;
}

void ss_activate_free(struct ss_activate *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->npending; i++)
		pending_release(&a->pending[i]);
	free(a->pending);
	free(a->set);
	free(a->seen);
	ss_registry_cursor_free(a->cursor);
	free(a);
}

static int refresh(struct ss_activate *a, int force, struct ss_err *err)
{
	int rc = ss_registry_cursor_poll(a->cursor, force, err);

	if (rc < 0) {
		a->reloading = 0;
		return -1;
	}
	if (rc != SS_REGISTRY_CURSOR_SAME) {
		/* The stream after the changes: a new stream's removals and
		 * the shapes registered with it are never taken for the old
		 * stream's. */
		if (ss_registry_stream_get(a->reg, &a->reg_stream, NULL, NULL,
					   err) < 0)
			return -1;
		if (a->reloading)
			drop_unlisted(a);
		a->reloading = 0;
	}
	return activate_pending(a, err);
}

int ss_activate_start(struct ss_activate *a, struct ss_err *err)
{
	if (ss_registry_stream_get(a->reg, &a->stream, NULL, NULL, err) < 0)
		return -1;
	a->reg_stream = a->stream;
	a->in_txn = 0;
	a->position = 0;
	return refresh(a, 1, err);
}

int ss_activate_refresh(struct ss_activate *a, struct ss_err *err)
{
	return refresh(a, 0, err);
}

void ss_activate_begin(struct ss_activate *a)
{
	a->in_txn = 1;
}

void ss_activate_progress(struct ss_activate *a, ss_lsn lsn)
{
	if (lsn > a->position)
		a->position = lsn;
}

int ss_activate_commit(struct ss_activate *a, ss_lsn lsn, struct ss_err *err)
{
	a->in_txn = 0;
	if (lsn > a->position)
		a->position = lsn;
	return activate_pending(a, err);
}

int ss_activate_stream(struct ss_activate *a, int64_t stream, ss_lsn lsn,
		       struct ss_err *err)
{
	if (stream == a->stream)
		return 0;
	/* replicate removed every shape with the old stream: drop them
	 * before anything of the new one routes, then activate at its
	 * start. */
	a->in_txn = 0;
	a->stream = stream;
	a->position = lsn;
	return refresh(a, 1, err);
}

ss_lsn ss_activate_position(const struct ss_activate *a)
{
	return a->position;
}

int ss_activate_in_txn(const struct ss_activate *a)
{
	return a->in_txn;
}

size_t ss_activate_pending(const struct ss_activate *a)
{
	return a->npending;
}

uint64_t ss_activate_marks(const struct ss_activate *a)
{
	return a->marks;
}
