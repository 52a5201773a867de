/*
 * store.h — the store engine: applies tagged frames to the per-shape logs.
 * It turns changes into Electric change messages per shape (columns,
 * replica mode, key changes), stitches each shape's log to its snapshot
 * (DESIGN.md step 4), streams transaction fragments to disk through
 * write buffers bounded by write_buffer (one write per log file per
 * transaction, not per entry), commits them so readers see whole
 * transactions only, and group-commits:
 * fsync of the touched logs, then the durable LSN in the registry.
 *
 * Per shape and transaction it decides once, at the first change:
 *   skip   the transaction is already in the log (restart replays it:
 *          commit LSN <= the log's last committed transaction), or it is
 *          visible in the shape's snapshot (xid < xmin, or xid < xmax and
 *          not in xip) while filtering is on;
 *   spill  the shape's snapshot is not recorded yet: the transaction's
 *          messages go to <shape dir>/pending on disk (memory stays
 *          bounded) and are replayed through the same filter once the
 *          snapshot is known;
 *   apply  everything else. The first transaction with xid >= xmax turns
 *          filtering off for good (persisted in the log head).
 *
 * A change for a shape the registry no longer has (removed while route
 * still tagged it) is skipped and counted (removed_skips); one for an id
 * the registry never handed out is bad input (SS_ERR_INPUT): the frames
 * were routed against another registry, and applying nothing while the
 * durable LSN moves on would lose them silently.
 *
 * Single-threaded: one owner calls everything.
 */
#ifndef SS_STORE_H
#define SS_STORE_H

#include <stdint.h>

#include "frame.h"
#include "registry.h"
#include "util.h"

struct ss_store;

struct ss_store_opts {
	const char *dir;	  /* data dir (borrowed) */
	uint64_t chunk_bytes;	  /* log chunk size: 10 MiB */
	int64_t sync_interval_us; /* group commit window: 10 ms */
	uint64_t sync_bytes;	  /* ... or this many bytes written: 4 MiB */
	int sync_every_commit;	  /* fsync per transaction (the slow peer) */
	int no_sync;		  /* never fsync (tests only: not crash-safe) */
	int max_open;		  /* open shape logs at most: 1024 */
	uint64_t write_buffer;	  /* memory for buffered log writes, all
				     shapes together: 32 MiB; 0: each
				     entry is written at once */
};

/* Default of write_buffer. Each shape's log buffers at most
 * SS_STORE_LOG_BUFFER of it (or all of it, if less). */
#define SS_STORE_WRITE_BUFFER_DEFAULT ((uint64_t)32 << 20)
#define SS_STORE_LOG_BUFFER ((size_t)256 << 10)

void ss_store_opts_init(struct ss_store_opts *o);

/* Open the engine over registry `reg` (borrowed; must outlive the store).
 * *out is *new*: free with ss_store_close(). */
int ss_store_open(struct ss_registry *reg, const struct ss_store_opts *opts,
		  struct ss_store **out, struct ss_err *err);

/*
 * Apply one frame. The stream must follow shapesync-frames(5) order (the
 * caller's reader checks it). A change of a partition is written, for a
 * shape on one of its ancestors, as a change of that ancestor: its key,
 * "relation" and column order are the ancestor's, as in the snapshot. Errors:
 * SS_ERR_INPUT when a frame cannot be applied (e.g. a change to a relation
 * never described), SS_ERR_RUNTIME for I/O and registry failures (the partial
 * transaction is not committed; restarting on the same input is safe).
 */
int ss_store_frame(struct ss_store *s, const struct ss_frame *f,
		   struct ss_err *err);

/*
 * Housekeeping between frames: pick up removed shapes and newly recorded
 * snapshots (replaying spilled transactions), and sync when the group
 * commit window has passed. `idle` says no input is waiting: then
 * everything committed is synced at once.
 */
int ss_store_poll(struct ss_store *s, int idle, struct ss_err *err);

/* Microseconds (monotonic clock) of the next deadline ss_store_poll
 * should run by, or 0 if none. */
int64_t ss_store_deadline(const struct ss_store *s);

/* 1 inside a transaction (between begin and commit). */
int ss_store_in_txn(const struct ss_store *s);

/* Sync what is committed, close every log. A transaction still open is
 * dropped (not committed). NULL is a no-op. Returns -1 if the final sync
 * failed (the store is freed either way). */
int ss_store_close(struct ss_store *s, struct ss_err *err);

struct ss_store_stats {
	uint64_t transactions, entries, bytes, syncs, skipped, spilled,
	    invalidated;
	uint64_t streams;	/* new streams begun (stream frames) */
	uint64_t removed_skips; /* changes for shapes already removed */
	uint64_t open_logs, shapes;
	uint64_t parked; /* logs of an open transaction parked to stay
			    under max_open (see shapesync-store --max-open) */
	uint64_t durable_lsn;
};
void ss_store_stats(const struct ss_store *s, struct ss_store_stats *st);

#endif
