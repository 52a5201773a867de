/*
 * pg.h — PostgreSQL connections for shapesync: opening ordinary and
 * replication connections with the display settings shapesync renders
 * values under, checked queries, identifier and literal quoting,
 * advisory locks, logical replication slots, and the streaming
 * replication protocol's copy messages (XLogData, keepalive, standby
 * status update). A thin layer over libpq; the PGconn stays reachable.
 */
#ifndef SS_PG_H
#define SS_PG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "lsn.h"
#include "stream.h"
#include "util.h"

/*
 * The session settings every value is rendered under, the same for the
 * replication stream and the snapshot queries, so that the text of a
 * value never depends on which side produced it (Electric's choice).
 */
#define SS_PG_DISPLAY_SETTINGS                                                 \
	"-c bytea_output=hex -c DateStyle=ISO,\\ DMY -c TimeZone=UTC "         \
	"-c extra_float_digits=1 -c IntervalStyle=iso_8601"

/* The same as SET commands, one string (ss_pg_set_display runs it). */
#define SS_PG_DISPLAY_SET_SQL                                                  \
	"SET bytea_output = hex; SET DateStyle = 'ISO, DMY'; "                 \
	"SET TimeZone = 'UTC'; SET extra_float_digits = 1; "                   \
	"SET IntervalStyle = iso_8601"

struct ss_pg;

/* ss_pg_open flags. */
#define SS_PG_REPLICATION 1 /* a logical walsender (replication=database) */
#define SS_PG_DISPLAY 2	    /* apply SS_PG_DISPLAY_SETTINGS */
#define SS_PG_APPNAME                                                          \
	4 /* appname is application_name, overriding the                       \
	     user's (else only its fallback) */
#define SS_PG_TERSE                                                            \
	8 /* errors in one line: "<what>: <the first line                      \
	     of libpq's message>" ("ERROR:  ..." included),                    \
	     no detail nor hint: the form serve's logs and                     \
	     HTTP bodies have always carried */

/* Options of ss_pg_connect. */
struct ss_pg_opts {
	unsigned flags;	       /* SS_PG_... above */
	const char *appname;   /* NULL: "shapesync" */
	int connect_timeout_s; /* > 0: libpq's connect_timeout; else the
				  user's */
	/* > 0: the session's statement_timeout (a statement running
	 * longer, or waiting for a lock longer, fails); else the server's */
	int statement_timeout_ms;
};

/*
 * Connect. `conninfo` is a libpq connection string or URI; NULL or ""
 * means libpq's defaults (PG* variables). Settings of ours override the
 * same keywords in conninfo (replication is "database" or "false"); the display
 * settings are appended to the user's `options` (from conninfo, else
 * $PGOPTIONS). client_encoding is always UTF8 (frames are UTF-8). `appname`
 * becomes the fallback_application_name. On success *out is *new* (free with
 * ss_pg_close); on failure -1 with SS_ERR_RUNTIME "could not connect to
 * PostgreSQL: <libpq's message>" (one line; the rest goes to detail).
 */
int ss_pg_open(const char *conninfo, unsigned flags, const char *appname,
	       struct ss_pg **out, struct ss_err *err);
/* ss_pg_open with every option of struct ss_pg_opts. */
int ss_pg_connect(const char *conninfo, const struct ss_pg_opts *o,
		  struct ss_pg **out, struct ss_err *err);
/* Close the connection; NULL is a no-op. */
void ss_pg_close(struct ss_pg *pg);
/* The libpq connection (*borrowed* until ss_pg_close). */
PGconn *ss_pg_conn(struct ss_pg *pg);

/*
 * Run `sql` with `nparams` text parameters ($1...; NULL for no params and
 * the simple query protocol, which a walsender requires). Succeeds on
 * PGRES_COMMAND_OK and PGRES_TUPLES_OK; *res (if res is non-NULL) is
 * *new*: PQclear it. On failure returns -1 with SS_ERR_RUNTIME
 * "<what>: <server message>" (detail and hint from the server) and, if
 * sqlstate is non-NULL, the five-character SQLSTATE there ("" if none).
 */
int ss_pg_exec(struct ss_pg *pg, const char *what, const char *sql, int nparams,
	       const char *const *params, PGresult **res, char sqlstate[6],
	       struct ss_err *err);

/*
 * The error of a failed result `r` (may be NULL: the connection's error),
 * in the connection's form (see SS_PG_TERSE), with SQLSTATE in sqlstate
 * when non-NULL. Does not clear r. Always returns -1. For callers that
 * run a query themselves (single-row mode).
 */
int ss_pg_fail(struct ss_pg *pg, const char *what, const PGresult *r,
	       char sqlstate[6], struct ss_err *err);

/* SET the display settings (SS_PG_DISPLAY_SET_SQL) in this session or
 * transaction: for snapshot transactions, which must not depend on how
 * the connection was opened. */
int ss_pg_set_display(struct ss_pg *pg, struct ss_err *err);

/* Append `ident` quoted as an SQL identifier (PQescapeIdentifier). */
void ss_pg_add_ident(struct ss_pg *pg, struct ss_buf *b, const char *ident);
/* Append "schema"."table". */
void ss_pg_add_qualified(struct ss_pg *pg, struct ss_buf *b, const char *schema,
			 const char *table);

/* Append `s` (len bytes) as an SQL string literal (PQescapeLiteral).
 * -1 with err (SS_ERR_RUNTIME) when libpq refuses it (invalid encoding). */
int ss_pg_add_literal(struct ss_pg *pg, struct ss_buf *b, const char *s,
		      size_t len, struct ss_err *err);

/* Is `name` a valid replication slot name (1-63 of [a-z0-9_], as
 * PostgreSQL requires)? 1 or 0. */
int ss_pg_slot_name_valid(const char *name);

/*
 * Take a session-level advisory lock named by `key` without waiting
 * (pg_try_advisory_lock on hashtext). *got is 1 if taken, 0 if another
 * session holds it. The lock lasts as long as the connection.
 */
int ss_pg_try_lock(struct ss_pg *pg, const char *key, int *got,
		   struct ss_err *err);

/*
 * End whoever holds the slot: the backend holding the advisory lock named
 * by `key` (see ss_pg_try_lock: a shapesync-replicate whose machine went
 * away can leave it behind) and the backend streaming from `slot`, with
 * pg_terminate_backend (superuser, or pg_signal_backend over their role).
 * *ended counts the backends told to end; waits up to 5 s for them to
 * let go of both. A holder that reconnects may take the lock again: the
 * caller retries ss_pg_try_lock and, if it lost the race, takes over
 * again.
 */
int ss_pg_take_over(struct ss_pg *pg, const char *key, const char *slot,
		    int *ended, struct ss_err *err);

/*
 * Look the slot up in pg_replication_slots: *exists, and if it does its
 * confirmed_flush_lsn (0 if none) and *lost (may be NULL): 1 if the
 * server invalidated it (wal_status 'lost': WAL it needed is gone). A slot
 * of another plugin, of another database, or a physical slot is
 * SS_ERR_RUNTIME with a hint.
 */
int ss_pg_slot_info(struct ss_pg *pg, const char *slot, int *exists,
		    ss_lsn *confirmed, int *lost, struct ss_err *err);

/*
 * The slot's WAL gauges, through a regular connection: *retained gets
 * pg_current_wal_lsn() - restart_lsn (bytes the slot keeps the server
 * from removing), *flush_lag pg_current_wal_lsn() - confirmed_flush_lsn,
 * *wal the current WAL position. Returns 1 with them, 0 if the slot does
 * not exist or the server cannot say (a standby), -1 on error
 * (SS_ERR_RUNTIME).
 */
int ss_pg_slot_wal(struct ss_pg *pg, const char *slot, int64_t *wal,
		   int64_t *retained, int64_t *flush_lag, struct ss_err *err);

/*
 * Who the server is: IDENTIFY_SYSTEM on the replication connection `repl`
 * (system identifier, timeline, database name; *xlogpos the WAL flush
 * position) and the database's oid through `admin`. Fills those fields
 * of *id (slot and slot_lsn are left alone). Errors: SS_ERR_RUNTIME.
 */
int ss_pg_identify_system(struct ss_pg *repl, struct ss_pg *admin,
			  struct ss_stream_id *id, ss_lsn *xlogpos,
			  struct ss_err *err);

/* Told while a slot creation waits: how long so far (s), and what for. */
typedef void (*ss_pg_wait_cb)(int64_t seconds, const char *what, void *ctx);

/*
 * On a replication connection: CREATE_REPLICATION_SLOT slot [TEMPORARY]
 * LOGICAL pgoutput NOEXPORT_SNAPSHOT (a temporary slot is dropped with the
 * connection, or at an error). *created is 0 if it already existed;
 * *consistent (may be NULL) gets the new slot's consistent point. The
 * server makes the slot only once the transactions running now have
 * ended: with `admin` and `cb` (both may be NULL), cb is told after 2 s,
 * then every 10 s, which transactions it waits for (pid, xid, how long
 * open, application, query), from pg_stat_activity on `admin`.
 */
int ss_pg_slot_create(struct ss_pg *repl, const char *slot, int temporary,
		      int *created, ss_lsn *consistent, struct ss_pg *admin,
		      ss_pg_wait_cb cb, void *ctx, struct ss_err *err);

/* pg_drop_replication_slot; a missing slot is SS_ERR_INPUT
 * "replication slot '<slot>' does not exist". */
int ss_pg_slot_drop(struct ss_pg *pg, const char *slot, struct ss_err *err);

/* The server's next 64-bit transaction id, without taking one:
 * pg_snapshot_xmax(pg_current_snapshot()). Seeds ss_pgo_xid_extend. */
int ss_pg_next_xid(struct ss_pg *pg, uint64_t *out, struct ss_err *err);

/* wal_sender_timeout in milliseconds (0: disabled). */
int ss_pg_wal_sender_timeout(struct ss_pg *pg, int64_t *ms, struct ss_err *err);

/*
 * START_REPLICATION SLOT slot LOGICAL start (proto_version '1',
 * publication_names 'pub') on a replication connection; on success the
 * connection is in COPY BOTH mode.
 */
int ss_pg_start_replication(struct ss_pg *repl, const char *slot,
			    const char *pub, ss_lsn start, struct ss_err *err);

/* ---- The streaming protocol ------------------------------------------ */

/* A message from the walsender, decoded from one CopyData payload. */
struct ss_pg_copymsg {
	char kind;	      /* 'w' XLogData, 'k' primary keepalive */
	ss_lsn data_start;    /* w */
	ss_lsn wal_end;	      /* w k: the server's position */
	int64_t send_time_us; /* w k: Unix microseconds */
	int reply;	      /* k: the server asks for a status update now */
	const char *data;     /* w: the payload (*borrowed* from buf) */
	size_t len;
};

/* Decode a CopyData payload. 0, or -1 with SS_ERR_INPUT for a short or
 * unknown message. */
int ss_pg_copymsg_parse(const char *buf, size_t len, struct ss_pg_copymsg *m,
			struct ss_err *err);

/*
 * Build the 34-byte standby status update ('r'): written, flushed and
 * applied positions, the clock (Unix microseconds), the reply flag.
 * Returns the length written to out.
 */
size_t ss_pg_status_build(char out[34], ss_lsn written, ss_lsn flushed,
			  ss_lsn applied, int64_t now_us, int reply);

/* Send a standby status update and flush it. SS_ERR_RUNTIME on failure. */
int ss_pg_send_status(struct ss_pg *repl, ss_lsn written, ss_lsn flushed,
		      int reply, struct ss_err *err);

/*
 * Read the next CopyData message without blocking. Returns 1 with *buf
 * (*new*: PQfreemem) and *len, 0 when nothing is buffered (poll the
 * socket, then call ss_pg_consume), or -1 with err: SS_ERR_RUNTIME
 * "replication stream ended: ..." when the server ended the stream or
 * the connection failed.
 */
int ss_pg_copy_read(struct ss_pg *repl, char **buf, size_t *len,
		    struct ss_err *err);
/* Read what the socket holds into libpq's buffer (after poll). */
int ss_pg_consume(struct ss_pg *repl, struct ss_err *err);
/* The socket to poll. */
int ss_pg_socket(struct ss_pg *pg);
/* End the copy (orderly stop): PQputCopyEnd, then read and discard
 * until the server ends it too, for at most timeout_ms (the walsender
 * first finishes the transaction it is sending; closing the connection
 * after the timeout ends the stream just as well, with a server log
 * line). */
void ss_pg_copy_end(struct ss_pg *repl, int timeout_ms);

#endif
