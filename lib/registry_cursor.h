/*
 * registry_cursor.h — one program's view of the registry's changes: which
 * shapes were added and removed since it last looked.
 *
 * Every program that follows the registry (route, store, replicate, the id
 * map) does it through a cursor: "data_version changed -> changes since
 * seq -> full reload if the change log was trimmed past seq". The cursor
 * holds the last seen data_version and change-log seq; a poll is one
 * PRAGMA when nothing changed, else one read of the change log, and
 * reports what it finds to the caller's callbacks.
 *
 * Trimming is handled one way. When the change log no longer reaches back
 * to the cursor's seq (ss_registry_opts.changes_keep), removals in between
 * are lost: the cursor calls ops->reload, then (unless the cursor was made
 * with SS_REGISTRY_CURSOR_NO_LIST) reports every live shape through
 * ops->added, and the poll returns SS_REGISTRY_CURSOR_RELOADED. The caller
 * drops what it holds and was not listed again (or re-checks it).
 *
 * Not thread-safe: one owner thread. The registry must outlive the cursor.
 */
#ifndef SS_REGISTRY_CURSOR_H
#define SS_REGISTRY_CURSOR_H

#include <stdint.h>

#include "registry.h"
#include "util.h"

struct ss_registry_cursor;

/*
 * What a cursor reports; any member may be NULL. Each returns 0 to go on,
 * or -1 with err set to stop the poll (which then returns -1).
 *
 * added: a shape was added, or is listed by the first poll or a reload.
 *   handle is borrowed for the call. rec is the shape's full record
 *   (borrowed for the call) with SS_REGISTRY_CURSOR_RECORDS, else NULL.
 *   A shape may be reported more than once (a listing and the change log
 *   can overlap): callers must treat a repeated add as a no-op. During a
 *   listing the cursor may be inside a registry read: do not call the
 *   registry from added.
 * removed: a shape was removed. handle borrowed, NULL if not known. A
 *   removal may name a shape the caller never saw.
 * reload: the change log was trimmed past the cursor (see above).
 */
struct ss_registry_cursor_ops {
	int (*added)(int64_t id, const char *handle,
		     const struct ss_shape_rec *rec, void *ctx,
		     struct ss_err *err);
	int (*removed)(int64_t id, const char *handle, void *ctx,
		       struct ss_err *err);
	int (*reload)(void *ctx, struct ss_err *err);
};

/* Flags of ss_registry_cursor_new. */
#define SS_REGISTRY_CURSOR_RECORDS 1 /* pass added the full record */
#define SS_REGISTRY_CURSOR_NO_LIST                                             \
	2 /* never list live shapes: the first poll                            \
	     only takes the log position, a reload                             \
	     only calls ops->reload */

/* What ss_registry_cursor_poll returns besides -1. */
#define SS_REGISTRY_CURSOR_SAME 0 /* nothing committed since the last poll */
#define SS_REGISTRY_CURSOR_CHANGED                                             \
	1 /* something was committed; changes reported */
#define SS_REGISTRY_CURSOR_RELOADED                                            \
	2 /* the first poll, or a reload after trimming */

/*
 * A new cursor over `reg` (borrowed) that reports to ops (copied; NULL or
 * all members NULL: the cursor only watches data_version, and a poll says
 * whether anything was committed) with ctx. Reads nothing: the first poll
 * lists the live shapes (or, with NO_LIST, takes the log position) and
 * returns SS_REGISTRY_CURSOR_RELOADED without calling ops->reload.
 * *new*: free with ss_registry_cursor_free (NULL is a no-op).
 */
struct ss_registry_cursor *
ss_registry_cursor_new(struct ss_registry *reg, int flags,
		       const struct ss_registry_cursor_ops *ops, void *ctx);
void ss_registry_cursor_free(struct ss_registry_cursor *cur);

/*
 * Bring the caller up to date. data_version is read first, so a commit
 * that lands during the poll is seen now or makes the next poll look
 * again. Unless `force`, returns SS_REGISTRY_CURSOR_SAME at once when
 * data_version has not moved. Adds and removes are reported in log order
 * after the log is read (not from inside the read), with records read
 * then (an add whose shape is gone by then is not reported: its removal
 * follows). Returns SAME, CHANGED or RELOADED, or -1 with err (then the
 * next poll looks again).
 */
int ss_registry_cursor_poll(struct ss_registry_cursor *cur, int force,
			    struct ss_err *err);

/* Make the next poll look even if data_version has not moved (e.g. after
 * a stream frame, when removals are known to be in the log). NULL is a
 * no-op. */
void ss_registry_cursor_invalidate(struct ss_registry_cursor *cur);

/* The change-log position the cursor has reached (0 before the first
 * poll). */
uint64_t ss_registry_cursor_seq(const struct ss_registry_cursor *cur);

#endif
