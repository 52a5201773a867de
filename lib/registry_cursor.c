/*
 * registry_cursor.c — following the registry's change log for one program
 * (see registry_cursor.h): data_version, then the changes since the last
 * seq, then a full listing when the log was trimmed past it.
 */
#include <stdlib.h>
#include <string.h>

#include "registry_cursor.h"

struct ss_registry_cursor {
	struct ss_registry *reg;
	struct ss_registry_cursor_ops ops;
	void *ctx;
	int flags;
	int started;  /* the first poll took a position */
	int stale;    /* look at the next poll whatever the version */
	uint64_t seq; /* change-log position reached */
	int64_t data_version;
};

/* One change-log row, kept until the read is over. */
struct change {
	int64_t id;
	char *handle;
	int added;
};

struct changes {
	struct change *v;
	size_t n, alloc;
};

struct ss_registry_cursor *
ss_registry_cursor_new(struct ss_registry *reg, int flags,
		       const struct ss_registry_cursor_ops *ops, void *ctx)
{
	struct ss_registry_cursor *cur = ss_xcalloc(1, sizeof(*cur));

	cur->reg = reg;
	if (ops)
		cur->ops = *ops;
	cur->ctx = ctx;
	cur->flags = flags;
	cur->data_version = -1;
	return cur;
}

void ss_registry_cursor_free(struct ss_registry_cursor *cur)
{
	free(cur);
}

void ss_registry_cursor_invalidate(struct ss_registry_cursor *cur)
{
	if (cur)
		cur->stale = 1;
}

uint64_t ss_registry_cursor_seq(const struct ss_registry_cursor *cur)
{
	return cur->seq;
}

/* Does the caller want to hear about shapes at all? */
static int follows(const struct ss_registry_cursor *cur)
{
	return cur->ops.added || cur->ops.removed || cur->ops.reload;
}

static int collect(uint64_t seq, int64_t id, const char *handle, int added,
		   void *p)
{
	struct changes *c = p;

	(void)seq;
	SS_GROW(c->v, c->alloc, c->n + 1);
	c->v[c->n].id = id;
	c->v[c->n].handle = handle ? ss_xstrdup(handle) : NULL;
	c->v[c->n++].added = added;
	return 0;
}

static void changes_release(struct changes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].handle);
	free(c->v);
}

struct list_ctx {
	struct ss_registry_cursor *cur;
	struct ss_err *err;
};

static int list_handle(uint64_t seq, int64_t id, const char *handle, int added,
		       void *p)
{
	struct list_ctx *l = p;

	(void)seq, (void)added;
	return l->cur->ops.added(id, handle, NULL, l->cur->ctx, l->err) < 0 ? -1
									    : 0;
}

static int list_record(const struct ss_shape_rec *rec, void *p)
{
	struct list_ctx *l = p;

	return l->cur->ops.added(rec->id, rec->handle, rec, l->cur->ctx,
				 l->err) < 0
		   ? -1
		   : 0;
}

/*
 * Take the log position and, unless NO_LIST, report every live shape.
 * Handles come with the position in one read transaction; records are
 * listed after the position is taken, so a shape added in between is
 * reported twice, never missed.
 */
static int list_all(struct ss_registry_cursor *cur, struct ss_err *err)
{
	struct list_ctx l = {cur, err};
	int rc;

	if (!cur->ops.added || (cur->flags & SS_REGISTRY_CURSOR_NO_LIST))
		return ss_registry_load_handles(cur->reg, NULL, NULL, &cur->seq,
						err);
	if (!(cur->flags & SS_REGISTRY_CURSOR_RECORDS)) {
		rc = ss_registry_load_handles(cur->reg, list_handle, &l,
					      &cur->seq, err);
		return rc ? -1 : 0;
	}
	if (ss_registry_load_handles(cur->reg, NULL, NULL, &cur->seq, err) < 0)
		return -1;
	rc = ss_registry_foreach(cur->reg, list_record, &l, err);
	return rc ? -1 : 0;
}

/* Report the rows of the change log read by the poll, in order. */
static int report(struct ss_registry_cursor *cur, const struct changes *c,
		  struct ss_err *err)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct change *ch = &c->v[i];
		struct ss_shape_rec rec;
		int rc;

		if (!ch->added) {
			if (cur->ops.removed &&
			    cur->ops.removed(ch->id, ch->handle, cur->ctx,
					     err) < 0)
				return -1;
			continue;
		}
		if (!cur->ops.added)
			continue;
		if (!(cur->flags & SS_REGISTRY_CURSOR_RECORDS)) {
			if (cur->ops.added(ch->id, ch->handle, NULL, cur->ctx,
					   err) < 0)
				return -1;
			continue;
		}
		ss_shape_rec_init(&rec);
		rc = ss_registry_get_by_id(cur->reg, ch->id, &rec, err);
		if (rc == 1)
			rc = cur->ops.added(rec.id, rec.handle, &rec, cur->ctx,
					    err);
		ss_shape_rec_release(&rec);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int poll_once(struct ss_registry_cursor *cur, struct ss_err *err)
{
	struct changes c = {NULL, 0, 0};
	uint64_t before = cur->seq;
	int rc;

	if (!follows(cur))
		return cur->started ? SS_REGISTRY_CURSOR_CHANGED
				    : SS_REGISTRY_CURSOR_RELOADED;
	if (!cur->started) {
		if (list_all(cur, err) < 0) {
			cur->seq = 0;
			return -1;
		}
		cur->started = 1;
		return SS_REGISTRY_CURSOR_RELOADED;
	}
	rc = ss_registry_changes(cur->reg, cur->seq, collect, &c, &cur->seq,
				 err);
	if (rc == 0)
		rc = report(cur, &c, err) < 0 ? -1 : SS_REGISTRY_CURSOR_CHANGED;
	else if (rc == 1) {
		/* Trimmed past us: removals in between are lost. Without a
		 * listing the position is taken before the caller re-checks,
		 * so a removal after the re-check is in the log. */
		if (!cur->ops.added ||
		    (cur->flags & SS_REGISTRY_CURSOR_NO_LIST)) {
			rc = list_all(cur, err);
			if (rc == 0 && cur->ops.reload)
				rc = cur->ops.reload(cur->ctx, err);
		} else {
			rc = cur->ops.reload ? cur->ops.reload(cur->ctx, err)
					     : 0;
			if (rc == 0)
				rc = list_all(cur, err);
		}
		if (rc == 0)
			rc = SS_REGISTRY_CURSOR_RELOADED;
	}
	changes_release(&c);
	if (rc < 0) {
		/* Report again from where this poll began: adds and removes
		 * are idempotent for the caller. */
		cur->seq = before;
		return -1;
	}
	return rc;
}

int ss_registry_cursor_poll(struct ss_registry_cursor *cur, int force,
			    struct ss_err *err)
{
	int64_t dv;
	int rc;

	/* The version first: a commit that lands after this is either seen
	 * below or moves the version for the next poll. */
	if (ss_registry_data_version(cur->reg, &dv, err) < 0)
		return -1;
	if (!force && !cur->stale && cur->started && dv == cur->data_version)
		return SS_REGISTRY_CURSOR_SAME;
	rc = poll_once(cur, err);
	if (rc < 0) {
		cur->stale = 1;
		return -1;
	}
	cur->started = 1;
	cur->stale = 0;
	cur->data_version = dv;
	return rc;
}
