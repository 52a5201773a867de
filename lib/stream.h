/*
 * stream.h — the identity of the replication stream that the shape logs
 * were built from, and the decision whether a new session continues it.
 *
 * A shape's log is only right if every change since its snapshot reached
 * it. That holds while replicate reads one slot, on one database, of one
 * cluster history. When the slot is gone (dropped, invalidated, never
 * made), or the server is another one (system identifier), another
 * database, another history (timeline, or WAL behind what the logs hold),
 * or the slot moved past what store made durable, changes were lost and
 * every shape must be invalidated: clients then get 409 must-refetch and
 * start again from a new snapshot, never a log with a hole.
 *
 * The registry numbers the streams (1, 2, ...): each decision that breaks
 * the lineage starts a new one (ss_registry_stream_start).
 */
#ifndef SS_STREAM_H
#define SS_STREAM_H

#include <stdint.h>

#include "lsn.h"
#include "util.h"

/* What a session found, and what the registry recorded when the stream
 * began. Transparent value type; strings are fixed buffers (a system
 * identifier is a decimal uint64, names are PostgreSQL identifiers). */
struct ss_stream_id {
	char system_id[24]; /* IDENTIFY_SYSTEM systemid */
	uint32_t timeline;  /* IDENTIFY_SYSTEM timeline */
	uint32_t db_oid;    /* pg_database.oid of the database */
	char db_name[64];   /* its name, for messages */
	char slot[64];	    /* the replication slot's name */
	ss_lsn slot_lsn;    /* the slot's confirmed position when the
			       stream began (its creation point if we
			       created it) */
};

/* The facts of one session, besides its identity. */
struct ss_stream_session {
	struct ss_stream_id id;
	int slot_created;      /* the slot did not exist: made anew */
	int slot_lost;	       /* it existed but was invalidated (wal_status
				  lost) and was dropped to be made anew */
	ss_lsn slot_confirmed; /* the slot's confirmed_flush_lsn now */
	ss_lsn server_lsn;     /* the server's WAL flush position now */
	ss_lsn durable;	       /* the registry's durable LSN */
	int64_t shapes;	       /* shapes in the registry whose snapshot was
				  begun: they hold data a gap would spoil
				  (a shape still waiting for its snapshot
				  loses nothing) */
};

enum ss_stream_verdict {
	SS_STREAM_SAME = 0, /* the recorded stream continues */
	SS_STREAM_FIRST,    /* nothing recorded and nothing to lose:
			       record this stream, keep the shapes */
	SS_STREAM_NEW,	    /* lineage broken: invalidate every shape and
			       start a new stream */
};

/*
 * Decide. `recorded` is the registry's current stream identity, or NULL
 * if none was ever recorded (a new registry, or one from before streams
 * were recorded). On SS_STREAM_NEW (and FIRST) `reason` gets one line for
 * logs and operators, e.g. "replication slot 'shapesync' was missing and
 * was created anew at 0/1A2B3C8: changes written while it was gone are
 * not in the shape logs". Pure: no I/O.
 */
enum ss_stream_verdict ss_stream_decide(const struct ss_stream_id *recorded,
					const struct ss_stream_session *now,
					struct ss_buf *reason);

/* Name of a verdict ("same", "first", "new"). */
const char *ss_stream_verdict_name(enum ss_stream_verdict v);

/* ---- replicate's session ------------------------------------------- */

struct ss_pg;
struct ss_registry;

/*
 * Check a replication session against the registry: identify the server
 * (IDENTIFY_SYSTEM on `repl`, the database's oid through `admin`), read
 * the durable LSN and the recorded stream, ss_stream_decide, and unless
 * the stream continues, begin one in the registry (SS_STREAM_NEW removes
 * every shape and moves the durable LSN to `confirmed`). `created`,
 * `lost`: what happened to slot `slot`; `confirmed`: its position now.
 * Fills *stream (the registry's stream number), `reason` (the line for
 * the log on SS_STREAM_NEW, else empty) and *invalidated (shapes
 * removed). Returns the verdict, or -1 with err; *fatal is set to 1 when
 * the registry failed (reconnecting cannot help).
 */
int ss_stream_check(struct ss_registry *reg, struct ss_pg *repl,
		    struct ss_pg *admin, const char *slot, int created,
		    int lost, ss_lsn confirmed, int64_t *stream,
		    struct ss_buf *reason, int64_t *invalidated, int *fatal,
		    struct ss_err *err);

/*
 * What the slot may be acknowledged up to: the durable LSN (or, with
 * `ack_received`, what was written out), never past what was written out
 * (`emitted`), never behind where the slot already stood
 * (`slot_confirmed`) nor behind the highest position already reported
 * (`max_flush`). Pure.
 */
ss_lsn ss_stream_ack_target(ss_lsn durable, ss_lsn emitted,
			    ss_lsn slot_confirmed, ss_lsn max_flush,
			    int ack_received);

/* ---- replicate's idle timeout (--idle-timeout) ----------------------- */

/*
 * A shape read or created (the registry's latest use moving) counts as
 * activity, as WAL data does. Once neither was seen for the timeout,
 * between transactions and with everything written out, replicate ends
 * its session asleep: nothing is lost, the slot keeps the WAL until the
 * next session. The registry is asked only once the timeout ran out, not
 * on every poll: a read since then restarts it. Transparent value type;
 * times in microseconds.
 */
struct ss_stream_idle {
	int64_t timeout_us; /* 0: never idle */
	int64_t active_us;  /* the last activity (monotonic clock) */
	int64_t last_use;   /* the registry's latest use seen (wall clock) */
};

/* 1 if the timeout ran out at `now` (monotonic) since the last activity,
 * 0 if not or without a timeout. Pure. */
int ss_stream_idle_due(const struct ss_stream_idle *idle, int64_t now);

/*
 * The registry's latest use is `use` (wall clock), looked at when the
 * monotonic clock said `now` and the wall clock `wall`. If it is newer
 * than the last seen, it becomes the last activity (moved onto the
 * monotonic clock, never into the future) and 1 is returned; else 0.
 * Pure.
 */
int ss_stream_idle_use(struct ss_stream_idle *idle, int64_t use, int64_t now,
		       int64_t wall);

#endif
