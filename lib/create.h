/*
 * create.h — DESIGN.md's creation protocol and get-or-create, for serve:
 *
 *   1. register the definition (registry: id, handle) and make sure its
 *      table is in the publication with REPLICA IDENTITY FULL (or, with
 *      manual publishing, check that it is), recording a partitioned
 *      table's leaves;
 *   2. wait for route's active mark on the shape, then for the
 *      transactions writing to its tables at that moment to end
 *      (ss_pgq_wait_writers: commits become visible in another order
 *      than the WAL's);
 *   3. take the snapshot in a REPEATABLE READ transaction, its
 *      pg_current_snapshot() recorded in the registry before any row,
 *      rows written as snapshot chunks ending with snapshot-end;
 *
 * in a thread of its own per shape, waking the shape's waiting requests
 * (lib/live) as chunks complete. A creation that fails removes the shape
 * (registry and directory) and leaves the failure on its live entry.
 * Creations take at most a share of the PostgreSQL pool (Electric's split
 * of ELECTRIC_DB_POOL_SIZE), so that requests can still describe tables.
 *
 * The library prints nothing: warnings go to the warn callback.
 */
#ifndef SS_CREATE_H
#define SS_CREATE_H

#include <stdatomic.h>
#include <stdint.h>

#include "live.h"
#include "pgq.h"
#include "registry.h"
#include "shapereq.h"
#include "util.h"

struct ss_create_cfg {
	struct ss_registry *reg;  /* borrowed, for the creator's life */
	struct ss_pgq_pool *pool; /* borrowed */
	struct ss_live *live;	  /* borrowed */
	const char *data_dir, *publication;
	uint64_t chunk_bytes;	   /* snapshot chunk size */
	int pool_size;		   /* the pool's size (for the split) */
	int manual_publishing;	   /* check the publication, alter nothing */
	int no_active_wait;	   /* do not wait for route (tests) */
	int64_t active_timeout_ms; /* wait for route's mark at most */
	atomic_int *stopping;	   /* set: creations abort */
	atomic_llong *created;	   /* counts shapes created; may be NULL */
	/* "could not create shape ..." and "removing shape ...": one line,
	 * no trailing newline */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/* Test hook: the Nth creation thread start fails (0: none). */
	int64_t fail_thread_start;
};

struct ss_create;

/* *new* (ss_create_free); copies cfg (its pointers stay borrowed). */
struct ss_create *ss_create_new(const struct ss_create_cfg *cfg);

/* Free c; creations in flight must have ended (ss_live_any_creating).
 * NULL is a no-op. */
void ss_create_free(struct ss_create *c);

/* Where a request's shape is. */
struct ss_create_shape {
	int64_t id;
	char handle[SS_HANDLE_MAX];
	struct ss_buf dir;	  /* its directory in the data dir */
	struct ss_live_shape *sh; /* a reference (ss_live_put it); NULL
				     when get failed */
};

/*
 * Get or create the shape of q's definition (q validated by
 * lib/shapereq). Fills out (dir reset first). Returns 1 with out->sh
 * referenced: the shape exists, or its creation has started (or failed
 * at once: out->sh->failed); 0: the shape was left pending by an earlier
 * serve and is removed now (out->sh referenced: put it and try again);
 * -1 with err when the registry failed.
 */
int ss_create_get(struct ss_create *c, const struct ss_shapereq *q,
		  struct ss_create_shape *out, struct ss_err *err);

/*
 * At start: remove every shape whose creation did not finish (an earlier
 * serve stopped while creating it), warning for each. 0, or -1 with err
 * when the registry failed.
 */
int ss_create_remove_stale(struct ss_create *c, struct ss_err *err);

#endif
