/*
 * evict.c — LRU eviction of shapes above a limit (see evict.h).
 */
#include <stdlib.h>
#include <string.h>

#include "datadir.h"
#include "evict.h"
#include "subq.h"

struct lru {
	int64_t *ids, *times;
	char (*handles)[SS_HANDLE_MAX];
	size_t n, k;
	int64_t *inner; /* shapes subquery shapes depend on, ascending */
	size_t ninner, ainner;
};

/* The inner shapes of every subquery shape (their reads are their outer
 * shapes'; evicting one would invalidate those). */
static int inner_cb(const struct ss_shape_rec *rec, void *ctx)
{
	struct lru *l = ctx;
	struct ss_subq_deps d;
	struct ss_err err = SS_ERR_INIT;
	size_t i;

	if (!rec->deps || ss_subq_deps_parse(rec->deps, &d, &err) < 0)
		return 0;
	for (i = 0; i < d.ninner; i++) {
		SS_GROW(l->inner, l->ainner, l->ninner + 1);
		l->inner[l->ninner++] = d.inner[i];
	}
	ss_subq_deps_release(&d);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Keep the k least recently read shapes (a bounded max-heap on time). */
static int lru_cb(const struct ss_shape_rec *rec, void *ctx)
{
	struct lru *l = ctx;
	int64_t t = rec->last_read_us ? rec->last_read_us : rec->created_us;
	size_t i, worst = 0;

	if (rec->snapshot_state != SS_SNAPSHOT_COMPLETE)
		return 0; /* being created: too new to evict */
	if (l->ninner &&
	    bsearch(&rec->id, l->inner, l->ninner, sizeof(*l->inner), cmp_id))
		return 0; /* in use by a subquery shape: goes after it */
	if (l->n < l->k) {
		i = l->n++;
	} else {
		for (i = 1; i < l->n; i++)
			if (l->times[i] > l->times[worst])
				worst = i;
		if (t >= l->times[worst])
			return 0;
		i = worst;
	}
	l->ids[i] = rec->id;
	l->times[i] = t;
	snprintf(l->handles[i], SS_HANDLE_MAX, "%s", rec->handle);
	return 0;
}

int64_t ss_evict_once(struct ss_registry *reg, const char *data_dir,
		      int64_t max_shapes,
		      void (*removed)(void *ctx, const char *handle), void *ctx,
		      struct ss_err *err)
{
	struct ss_err e2 = SS_ERR_INIT;
	struct lru l;
	int64_t count = 0, n = 0;
	size_t i;
	int rc = 0;

	if (ss_registry_count(reg, &count, &e2) < 0 || count <= max_shapes)
		return 0;
	memset(&l, 0, sizeof(l));
	l.k = (size_t)(count - max_shapes);
	if (l.k > 10000)
		l.k = 10000;
	l.ids = ss_xcalloc(l.k, sizeof(*l.ids));
	l.times = ss_xcalloc(l.k, sizeof(*l.times));
	l.handles = ss_xcalloc(l.k, sizeof(*l.handles));
	if (ss_registry_foreach(reg, inner_cb, &l, err) < 0)
		rc = -1;
	if (l.ninner)
		qsort(l.inner, l.ninner, sizeof(*l.inner), cmp_id);
	if (rc == 0 && ss_registry_foreach(reg, lru_cb, &l, err) < 0)
		rc = -1;
	for (i = 0; i < l.n; i++) {
		struct ss_buf dir = SS_BUF_INIT;

		if (ss_registry_remove(reg, l.ids[i], &e2) == 1) {
			n++;
			ss_datadir_shape_path(&dir, data_dir, l.handles[i]);
			ss_datadir_trash(data_dir, dir.buf, &e2);
			if (removed)
				removed(ctx, l.handles[i]);
		}
		ss_buf_release(&dir);
	}
	ss_registry_flush(reg, &e2);
	free(l.ids);
	free(l.times);
	free(l.handles);
	free(l.inner);
	return rc < 0 ? -1 : n;
}
