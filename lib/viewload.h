/*
 * viewload.h — route's loading of subquery views (docs/subqueries.md):
 * each view lib/subq holds unloaded is read from its inner shape's files
 * (snapshot or compacted base, then log) as they stood at a stream
 * position, once store has made that position durable, and marked loaded
 * there with the inner shape's snapshot.
 *
 * Route calls it when shapes are activated: at start with the durable
 * position itself (the stream resumes after it), later with the
 * activation position, which store reaches within a sync interval
 * (route flushes its output first, through the waiting callback).
 */
#ifndef SS_VIEWLOAD_H
#define SS_VIEWLOAD_H

#include <stdint.h>

#include "lsn.h"
#include "registry.h"
#include "subq.h"
#include "util.h"

struct ss_viewload_ops {
	/* The view of inner shape `inner` cannot be loaded: `why` (one
	 * line, borrowed for the call). Its outer shapes must be
	 * invalidated (the caller does; lib/subq then drops the view). */
	void (*failed)(int64_t inner, const char *why, void *ctx);
	/* Called before each wait for store (every few milliseconds):
	 * flush what route wrote; nonzero gives up (stopping). */
	int (*waiting)(void *ctx);
};

/*
 * Load every unloaded view of q as of the end position `lsn` (the rows
 * of every transaction whose commit LSN is below it: route passes the
 * end_lsn of the last commit it passed, or a progress LSN; 0: store's
 * durable position, without waiting). Waits at most timeout_ms for
 * store's durable LSN to reach lsn; views that cannot be loaded (the wait timed
 * out or was given up, the inner shape is gone or its snapshot is not complete,
 * its files are damaged or compacted past lsn) are reported through
 * ops->failed. The scratch file is "<datadir>/route-view.scratch". Returns the
 * number of views loaded, or -1 with err when the registry cannot be read.
 */
int ss_viewload_run(struct ss_subq *q, struct ss_registry *reg,
		    const char *datadir, ss_lsn lsn, int64_t timeout_ms,
		    const struct ss_viewload_ops *ops, void *ctx,
		    struct ss_err *err);

#endif
