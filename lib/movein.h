/*
 * movein.h — route's move-ins of subquery shapes (docs/subqueries.md,
 * "Move-in"): a value that enters an outer shape's subquery (or leaves a
 * NOT IN one) brings rows into the shape that no change of its table
 * says; a query finds them and their lines are spliced into the stream
 * where that query's snapshot stands.
 *
 * For outer shape X with pending move-ins (lib/subq holds them: X sees
 * the values as not moved yet):
 *   1. at the commit of the transaction T that moved them
 *      (ss_movein_commit), one REPEATABLE READ query selects the rows that
 *      enter X, computed against route's views as X sees them and with
 *      the moves made, each as the line a client gets (an insert with
 *      "is_move_in", its tags and active_conditions), into a temporary
 *      file; its snapshot S must see T. Then a marker transaction
 *      (pg_logical_emit_message(true, 'shapesync', ...)) is committed, so
 *      that a transaction S does not see always follows.
 *   2. transactions S sees are routed as before (X still without the
 *      values: their effect is in the query's rows); at the begin of the
 *      first transaction J that S does not see (ss_movein_begin), the
 *      move-in is written into J, before its changes, as movein frames:
 *      the move-in event, the rows, and a snapshot-end with S when
 *      there were rows; then the values count for X (ss_subq_settle).
 *      When nothing was written to the WAL after T when S was taken, no
 *      transaction S sees can follow T: the move-in is written into T
 *      itself, after its changes, and no marker is needed (the common
 *      case of one parent row flipping on a quiet database: one trip).
 *   3. if what X sees of its dependencies moved between the query and
 *      the splice (ss_subq_gen), the rows may be stale: the query runs
 *      again (from J on). A value flipping back and forth faster than
 *      a query makes this happen again and again: X is invalidated once
 *      its query has run again more than SS_MOVEIN_RERUNS times and
 *      for longer than the query timeout (60 s without one) since the
 *      first, not at a count alone, which a busy server reaches
 *      without any livelock. The query also runs again at J when J's
 *      commit LSN is below the WAL insert position read with S:
 *      commits become visible in another order than the WAL's, so S
 *      may see a transaction after J, whose effect would then be in the
 *      rows and routed again after the splice. The new snapshot must
 *      see J. Every snapshot must also see each transaction route
 *      passed while a move was pending (routed with it not made).
 *
 * A move-in for an outer shape whose own snapshot already sees T is
 * settled at once (the snapshot holds the rows; store drops T for it);
 * one before its snapshot is recorded waits for it (outer_sees).
 *
 * Crash safety. Before the commit frame of T reaches store
 * (ss_movein_prepare_commit), the move-ins are recorded in a state file
 * (written whole, fsync'd, renamed); a move-in whose lines are being
 * written records J there first. After a restart (ss_movein_restore, with
 * the views loaded at store's durable position E): a record whose J is
 * durable (E > J) is done, also when J holds no line of the shape (a
 * move-out as deletes with no row writes none); one whose J is in the
 * shape's log (its head's last transaction, which store commits before
 * it records E) but not durable settles when J comes again, and so does
 * one whose J got no line (recorded "empty") and is not durable; one whose T is
 * not durable and whose lines are not written is forgotten, since T
 * comes again and moves the value again; the others become pending
 * again and are queried anew.
 * So a move-in is written once, whatever stage is killed when.
 *
 * A query that fails (PostgreSQL down, the table gone) invalidates X:
 * its clients refetch (a 409, never a gap).
 *
 * Not thread-safe: one owner (route's main thread).
 */
#ifndef SS_MOVEIN_H
#define SS_MOVEIN_H

#include <jansson.h>
#include <stdint.h>

#include "lsn.h"
#include "registry.h"
#include "subq.h"
#include "util.h"

#define SS_MOVEIN_RERUNS 8
/* Move-ins queried and waiting for their splice at most (each holds a
 * temporary file); the others wait for the next round. */
#define SS_MOVEIN_MAX_JOBS 64

/* The prefix of the marker messages (lib/decode ignores transactional
 * ones: only their transaction matters). */
#define SS_MOVEIN_MARK_PREFIX "shapesync"

struct ss_movein_cfg {
	struct ss_subq *subq;	 /* borrowed: the views and pending moves */
	struct ss_registry *reg; /* borrowed: definitions, durable LSN */
	/* PostgreSQL, for the queries (copied); NULL: move-ins cannot be
	 * followed and invalidate their shapes */
	const char *conninfo;
	/* > 0: a move-in query running (or waiting for a lock) longer
	 * fails, and its shape is invalidated: route does not wait for
	 * ever; 0: the server's statement_timeout */
	int query_timeout_ms;
	const char *state_path; /* the state file (copied) */
	const char *datadir;	/* store's, for the shapes' logs (copied) */
	/* route's output: write one frame (borrowed for the call) */
	void (*write)(void *ctx, json_t *frame);
	/* a shape that cannot follow its move-ins */
	void (*invalidate)(void *ctx, int64_t outer, const char *reason);
	/* optional (NULL: none): what a restart decided for each recorded
	 * move, and each recount, one line each, for route's --verbose */
	void (*trace)(void *ctx, const char *what);
	void *ctx;
};

struct ss_movein;

/*
 * *new* (ss_movein_free), with the state file read (a missing file is an
 * empty one). NULL with err: the file cannot be read or is not ours
 * (SS_ERR_RUNTIME / SS_ERR_INPUT, naming it).
 */
struct ss_movein *ss_movein_new(const struct ss_movein_cfg *cfg,
				struct ss_err *err);
void ss_movein_free(struct ss_movein *m);

/*
 * After route's views are loaded at store's durable position `durable`
 * (an end: every commit below it is durable): the recorded move-ins as
 * above. Returns how many are pending again, or -1 with err.
 */
int ss_movein_restore(struct ss_movein *m, ss_lsn durable, struct ss_err *err);

/* A SS_SUBQ_MOVE_IN move of transaction xid, which commits at lsn. */
void ss_movein_add(struct ss_movein *m, const struct ss_subq_move *mv,
		   uint64_t xid, ss_lsn lsn);

/*
 * Before the commit frame of transaction xid (commit LSN lsn, ending at
 * end_lsn, its last change at pos last_pos, or -1) is written: record
 * the move-ins added since the last call, then query the next move-in
 * of every shape that has pending ones and none in flight. One whose
 * snapshot was taken before anything was written after this transaction
 * (pg_current_wal_insert_lsn() <= end_lsn: no commit it sees can follow)
 * is written into this transaction at once, after its changes; the
 * others wait for their splice, and a marker transaction is committed.
 * A failed query invalidates its shape; -1 with err only when the state
 * file cannot be written.
 */
int ss_movein_commit(struct ss_movein *m, uint64_t xid, ss_lsn lsn,
		     ss_lsn end_lsn, int64_t last_pos, struct ss_err *err);

/*
 * Between transactions (after a commit frame, or at start): query the
 * next move-in of every shape that has pending ones and none in flight
 * (then commit a marker), and drop the records whose lines are durable. A
 * failed query invalidates its shape; returns -1 with err only when the state
 * file cannot be written.
 */
int ss_movein_run(struct ss_movein *m, struct ss_err *err);

/*
 * After the begin frame of transaction xid (commit LSN lsn) is written:
 * splice every move-in whose snapshot does not see it (above). -1 with
 * err when the state file cannot be written.
 */
int ss_movein_begin(struct ss_movein *m, uint64_t xid, ss_lsn lsn,
		    struct ss_err *err);

/* A relation frame went by (a table's columns may have changed): the
 * tables' descriptions the queries use (kept up to a minute, so that a
 * move-in does not wait for the catalog each time) are asked again. */
void ss_movein_forget_tables(struct ss_movein *m);

/* While route waits for input (now_us: ss_mono_us()): close the query
 * connection once unused for SS_MOVEIN_IDLE_US, so that PostgreSQL sees
 * none from route while nothing moves (a serverless one scales to zero). */
#define SS_MOVEIN_IDLE_US (60 * 1000000LL)
void ss_movein_idle(struct ss_movein *m, int64_t now_us);

/* Queries done, move-ins written, queries run again, recorded move-ins. */
struct ss_movein_stats {
	uint64_t queries, written, rows, reruns, failed;
	/* registry polls while a move waited for a fresh shape's snapshot */
	uint64_t snapshot_waits;
	size_t in_flight, recorded;
};
void ss_movein_stats(const struct ss_movein *m, struct ss_movein_stats *st);

#endif
