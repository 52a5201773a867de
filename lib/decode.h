/*
 * decode.h — pgoutput to frames: what shapesync-replicate writes for each
 * message of the replication stream. Begin, commit, change, truncate and
 * progress frames, and a relation frame for each relation message (after
 * one for each partitioned table it is a partition of, with the primary
 * key and type names looked up in the catalog), each written once unless
 * it changes. A non-transactional logical message with the prefix
 * "shapesync" (SS_DECODE_MARK_PREFIX) becomes a mark frame. Keeps the
 * stream's position across a reconnect: a
 * transaction cut short is sent again from its begin and what was
 * already written of it is skipped; one written before is skipped whole.
 */
#ifndef SS_DECODE_H
#define SS_DECODE_H

#include <stdint.h>
#include <stdio.h>

#include "frame.h"
#include "health.h"
#include "lsn.h"
#include "pg.h"
#include "pgoutput.h"
#include "util.h"

/* The prefix of the logical messages that become mark frames. */
#define SS_DECODE_MARK_PREFIX "shapesync"

struct ss_decode {
	/* Set by the caller (ss_decode_init leaves them zero). */
	FILE *out;	       /* frames go here */
	const char *out_name;  /* for messages ("<stdout>") */
	struct ss_pg *catalog; /* *borrowed*: relation lookups */
	int have_endpos;
	ss_lsn endpos; /* stop before a commit at or after */

	/* The stream's position; the caller starts and resets them. */
	ss_lsn emitted;	  /* everything before is written out */
	ss_lsn written;	  /* the last commit end or progress
			     written, 0 if none yet */
	ss_lsn received;  /* the server's position we saw */
	uint64_t xid_ref; /* seeds 64-bit xids (ss_pgo_xid_extend) */

	/* Read by the caller after each call. */
	int done;	   /* endpos reached */
	int fatal;	   /* do not reconnect: output failed, or
			      the server resumed elsewhere */
	int flush;	   /* a commit or progress was written:
			      flush out (the caller owns how) */
	int new_partition; /* a partition without REPLICA IDENTITY
			      FULL showed up */
	int64_t transactions, changes;
	struct ss_lag_hist lag; /* receive lag of the commits written */

	/* The open transaction, as written out. */
	int in_txn;
	uint64_t xid;
	ss_lsn txn_lsn;
	uint64_t pos;	     /* next change's pos */
	uint64_t skip_below; /* resumed: pos already written */
	int resuming;	     /* reconnected inside in_txn */
	int skip_txn;	     /* a transaction already written */

	/* Private. */
	struct ss_pgo_cache *cache;
	struct ss_pgo_msg msg;
	struct ss_frame_col *newc, *oldc; /* change rows, reused */
	size_t newc_alloc, oldc_alloc;
	struct ss_buf line;    /* the change frame being built */
	struct ss_decode_rel { /* the last relation frame written
				  for each oid (compact JSON) */
		uint32_t oid;
		char *json;
	} * relsent;
	size_t nrelsent, relsent_alloc;
};

/* Zero d and make its caches; free with ss_decode_release. */
void ss_decode_init(struct ss_decode *d);
void ss_decode_release(struct ss_decode *d);

/* Load the built-in types' names from d->catalog once (pgoutput names
 * only the others). Errors: SS_ERR_RUNTIME. */
int ss_decode_load_types(struct ss_decode *d, struct ss_err *err);

/*
 * One pgoutput message (an XLogData payload): write its frames to d->out.
 * Errors: SS_ERR_INPUT for a message out of place or a row that cannot be
 * written (a missing TOAST value), SS_ERR_RUNTIME for a catalog lookup or
 * a resumed stream that does not continue; d->fatal when retrying cannot
 * help.
 */
int ss_decode_xlog(struct ss_decode *d, const char *data, size_t len,
		   struct ss_err *err);

/* A keepalive at `wal_end`: between transactions, everything before it
 * has been sent (the server decodes in order). */
void ss_decode_keepalive(struct ss_decode *d, ss_lsn wal_end);

/*
 * Between transactions, once what was written out is durable (`durable`
 * >= d->written, or `always`), write a progress frame that moves the
 * stream past WAL that held nothing for us. Returns 1 if written (then
 * the slot may be acknowledged further), 0 if not, -1 on a write error
 * (d->fatal).
 */
int ss_decode_progress(struct ss_decode *d, ss_lsn durable, int always,
		       struct ss_err *err);

/* Write a frame (stolen) to d->out; a write error sets d->fatal. */
int ss_decode_emit(struct ss_decode *d, json_t *frame, struct ss_err *err);

/* The connection was lost: a transaction cut short is resumed. */
void ss_decode_disconnected(struct ss_decode *d);

/* A new stream begins: nothing written before belongs to it. */
void ss_decode_restart(struct ss_decode *d);

#endif
