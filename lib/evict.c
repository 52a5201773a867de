/*
 * evict.c — LRU eviction of shapes above a limit (see evict.h).
 */
#include <string.h>

#include "datadir.h"
#include "evict.h"

struct lru {
	int64_t *ids, *times;
	char (*handles)[SS_HANDLE_MAX];
	size_t n, k;
};

/* Keep the k least recently read shapes (a bounded max-heap on time). */
static int lru_cb(const struct ss_shape_rec *rec, void *ctx)
{
	struct lru *l = ctx;
	int64_t t = rec->last_read_us ? rec->last_read_us : rec->created_us;
	size_t i, worst = 0;

	if (rec->snapshot_state != SS_SNAPSHOT_COMPLETE)
		return 0; /* being created: too new to evict */
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
	if (ss_registry_foreach(reg, lru_cb, &l, err) < 0)
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
	return rc < 0 ? -1 : n;
}
