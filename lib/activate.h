/*
 * activate.h — route's step of the creation protocol (DESIGN.md "Creating
 * a shape", step 2): shapes picked up from the registry wait as *pending*
 * and become routed only between transactions, at the stream position
 * reached; each one's active mark is then published in the registry,
 * where serve waits for it before taking the snapshot.
 *
 * The activator follows the registry with a cursor (registry_cursor.h),
 * adds and removes shapes of a router (route.h), and is told where the
 * frames are: begin, commit, progress and stream frames. A shape becomes
 * active only when no transaction is open and the frames are of the
 * registry's current stream: after replicate begins a new stream the
 * shapes registered with it wait for its `stream` frame, so that a mark is
 * never a position of the old stream.
 *
 * Not thread-safe: one owner thread. The registry and the router must
 * outlive the activator.
 */
#ifndef SS_ACTIVATE_H
#define SS_ACTIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "lsn.h"
#include "registry.h"
#include "route.h"
#include "util.h"

struct ss_activate;

/* What the activator tells its owner; any member may be NULL. */
struct ss_activate_ops {
	/* A registry row that cannot be used (e.g. a definition that does
	 * not parse): the shape is skipped. msg is borrowed for the call. */
	void (*warn)(const char *msg, void *ctx);
	/* n shapes are routed from `position` on. */
	void (*activated)(size_t n, ss_lsn position, void *ctx);
};

/* A new activator over reg and router (both borrowed), reporting to ops
 * (copied; may be NULL) with ctx. Reads nothing until ss_activate_start.
 * *new*: free with ss_activate_free (NULL is a no-op). */
struct ss_activate *ss_activate_new(struct ss_registry *reg,
				    struct ss_router *router,
				    const struct ss_activate_ops *ops,
				    void *ctx);
void ss_activate_free(struct ss_activate *a);

/*
 * Start: the frames are taken to be of the registry's current stream, at
 * position 0 and between transactions; every live shape is loaded and
 * activated. Shapes the registry already marks active keep their mark.
 * Returns 0, or -1 with err (registry or router failure).
 */
int ss_activate_start(struct ss_activate *a, struct ss_err *err);

/*
 * Follow the registry: pick up shapes added (pending) and drop shapes
 * removed (from the router at once), then activate the pending ones if
 * the frames allow it. Cheap when nothing was committed. After the
 * change log was trimmed past the activator, routed shapes that are no
 * longer in the registry are dropped. Returns 0 or -1 with err.
 */
int ss_activate_refresh(struct ss_activate *a, struct ss_err *err);

/* Frames. begin: a transaction is open. progress: the stream reached
 * lsn between transactions. commit: the transaction ended at lsn (passed
 * through already), and pending shapes are activated. */
void ss_activate_begin(struct ss_activate *a);
void ss_activate_progress(struct ss_activate *a, ss_lsn lsn);
int ss_activate_commit(struct ss_activate *a, ss_lsn lsn, struct ss_err *err);

/*
 * A stream frame: stream `stream` begins (or goes on) at lsn. A new one
 * ends any open transaction (its commit never comes), sets the position
 * to lsn, drops the shapes the registry removed with the old stream and
 * activates the pending ones at lsn. The same stream again is a no-op.
 */
int ss_activate_stream(struct ss_activate *a, int64_t stream, ss_lsn lsn,
		       struct ss_err *err);

/* Last commit passed through (or progress, or a stream's start). */
ss_lsn ss_activate_position(const struct ss_activate *a);
/* 1 between a begin and its commit. */
int ss_activate_in_txn(const struct ss_activate *a);
/* Shapes waiting to be activated. */
size_t ss_activate_pending(const struct ss_activate *a);
/* Active marks written to the registry so far. */
uint64_t ss_activate_marks(const struct ss_activate *a);

#endif
