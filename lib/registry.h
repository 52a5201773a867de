/*
 * registry.h — the SQLite shape registry: schema and migrations, a write
 * buffer that batches mutations on a background thread, and a pool of read
 * connections that opens lazily and scales to zero.
 *
 * What it stores: one row per shape (compact id, handle, canonical
 * definition, hash, relation oids, snapshot state with the PostgreSQL
 * snapshot, created and last-read times, route's active mark) and the
 * pipeline's progress (the durable LSN store recorded) and each stage's
 * heartbeat (health.h).
 *
 * Ids. A shape's id is its row id in an AUTOINCREMENT table: never reused,
 * never changed. Ids are handed out from blocks reserved durably in the
 * registry (like a PostgreSQL sequence cache), so an add returns its id at
 * once without waiting for SQLite, and a crash leaves a gap, never a reuse.
 *
 * The write buffer. Adds, removes, snapshot updates, touches and active
 * marks go into an in-memory buffer indexed by handle, id and canonical
 * definition (hash tables; no scans). Reads in this process see buffered
 * state at once (read-your-writes; a removed shape reads as absent). A
 * background thread writes batches in one BEGIN IMMEDIATE transaction every
 * flush_interval_ms or when flush_batch entries are pending. The buffer
 * holds at most buffer_capacity shapes with pending writes; when it is full
 * a writer waits for the flusher (backpressure). Touches never wait: on a
 * full buffer a touch is dropped and counted. ss_registry_close() flushes.
 *
 * Crash guarantee. A crash (kill -9) loses at most the writes still in the
 * buffer; each flushed batch is atomic, so the registry is consistent after
 * any crash. Shapes whose add was lost may have left data directories
 * behind; `shapesync-db check --repair` removes them.
 *
 * Other processes see a flush within one flush interval. Several processes
 * may open one registry (WAL mode); one of them at a time should create
 * shapes (serve), the others read or make targeted updates.
 *
 * Thread safety: every function may be called from any thread.
 *
 * Where it lives: registry.c (records, lookups, ids, open/close, the
 * change log), registry_schema.c, registry_pool.c, registry_buffer.c,
 * registry_progress.c (durable LSN, streams, partitions, stats,
 * heartbeats) and registry_admin.c (check, vacuum, export, import, the
 * forms for people). A program follows the change log through a cursor
 * (registry_cursor.h); the id map (idmap.h) is built on one.
 */
#ifndef SS_REGISTRY_H
#define SS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "health.h"
#include "shape.h"
#include "stream.h"
#include "util.h"

struct ss_registry;

/* The schema version this code migrates to (PRAGMA user_version). */
#define SS_REGISTRY_SCHEMA_VERSION 5

struct ss_registry_opts {
	int create;	       /* create the file if missing (else error) */
	int flush_interval_ms; /* max time a write waits in the buffer: 5 */
	int touch_interval_ms; /* ... a last-read touch (ss_registry_touch):
				  1000 */
	int flush_batch;       /* entries per transaction: 512 */
	int buffer_capacity; /* max pending shapes before writers wait: 16384 */
	int read_pool_max;   /* read connections at most: 4 */
	int idle_timeout_ms; /* close connections idle this long: 30000 */
	int busy_timeout_ms; /* wait for a locked database: 5000 */
	int id_block;	     /* ids reserved per durable reservation: 1024 */
	int synchronous_full; /* PRAGMA synchronous=FULL (1, default) or NORMAL
				 (0) */
	int changes_keep;     /* change-log rows kept before trimming: 100000 */
};

/* Fill opts with the defaults above (create = 0). */
void ss_registry_opts_init(struct ss_registry_opts *opts);

/*
 * Open (and with opts->create, create) the registry at `path`, or ":memory:"
 * for a private in-memory registry (one connection, never closed). Checks
 * that the file is a SQLite database of ours, runs migrations, sets WAL.
 * opts may be NULL for defaults. Errors: SS_ERR_RUNTIME for I/O, a corrupt
 * or foreign file, or a schema newer than this code; SS_ERR_INPUT when the
 * file does not exist and create is 0.
 * On success *out is *new*: free with ss_registry_close().
 */
int ss_registry_open(const char *path, const struct ss_registry_opts *opts,
		     struct ss_registry **out, struct ss_err *err);

/*
 * Open the registry for a program: ss_registry_open, but a file that does
 * not exist (opts->create 0) is "registry '<path>' does not exist" with
 * the hint to run 'shapesync-db init' or check --registry and
 * $SHAPESYNC_REGISTRY, and every error is SS_ERR_RUNTIME (a setup
 * problem, not bad input). Every shapesync program opens its registry
 * with this.
 */
int ss_registry_open_existing(const char *path,
			      const struct ss_registry_opts *opts,
			      struct ss_registry **out, struct ss_err *err);

/* Flush the buffer, stop the flusher, close every connection. NULL is a
 * no-op. Returns -1 (with err) if the final flush failed; the registry is
 * freed either way. */
int ss_registry_close(struct ss_registry *reg, struct ss_err *err);

/* Block until every write buffered before the call is committed. */
int ss_registry_flush(struct ss_registry *reg, struct ss_err *err);

/* The path the registry was opened with (borrowed). */
const char *ss_registry_path(const struct ss_registry *reg);

enum ss_snapshot_state {
	SS_SNAPSHOT_PENDING = 0,  /* registered, no snapshot yet */
	SS_SNAPSHOT_STARTED = 1,  /* pg snapshot recorded, rows being written */
	SS_SNAPSHOT_COMPLETE = 2, /* snapshot-end written */
};

/* A PostgreSQL snapshot as pg_current_snapshot() reports it. */
struct ss_pg_snapshot {
	uint64_t xmin, xmax;
	uint64_t *xip; /* nxip in-progress xids, ascending */
	size_t nxip;
};

/* A transaction's xid as frames carry it (pgoutput's 32 bits, or 64)
 * extended to the 64-bit xid nearest s's xmax (within 2^31). */
uint64_t ss_pg_snapshot_xid64(const struct ss_pg_snapshot *s, uint64_t xid);
/* 1 if the transaction with this xid is visible in snapshot s (it had
 * committed when s was taken: xid < xmin, or xid < xmax and not in xip),
 * else 0. Commit order (the WAL's, the stream's) is not the order in
 * which commits become visible: a backend leaves the proc array a moment
 * after its commit record is flushed, and a busy machine can deschedule
 * it in between. So a transaction s sees can follow one it does not see
 * with xid >= xmax; ask each (ss_pg_snapshot_past). */
int ss_pg_snapshot_sees(const struct ss_pg_snapshot *s, uint64_t xid);

/* Transactions this many xids past a snapshot's xmax: every one s sees
 * has gone by in commit order (a commit stays invisible for at most the
 * moment above, and a snapshot is taken again while one waits for a
 * synchronous standby: lib/pgq), so a reader of the stream stops
 * asking ss_pg_snapshot_sees, whose 32-bit xids wrap in 2^31. */
#define SS_SNAPSHOT_PAST_XIDS ((uint64_t)1 << 24)

/* 1 if xid is SS_SNAPSHOT_PAST_XIDS or more past s's xmax. */
int ss_pg_snapshot_past(const struct ss_pg_snapshot *s, uint64_t xid);

/* One registered shape. Strings and arrays are owned by the record:
 * release with ss_shape_rec_release(). */
struct ss_shape_rec {
	int64_t id;
	char *handle;
	char *definition; /* canonical JSON (see shape.h) */
	uint32_t hash;
	char *schema_name, *table_name;
	uint32_t *oids; /* relation oids, 0 if not known yet */
	size_t noids;
	int snapshot_state; /* enum ss_snapshot_state */
	struct ss_pg_snapshot snapshot;
	int64_t created_us;   /* Unix microseconds */
	int64_t last_read_us; /* 0: never read */
	uint64_t active_lsn;  /* route's mark; meaningful if active */
	int active;
	/* A subquery shape's dependencies, JSON (NULL for other shapes):
	 * {"inner":[<id of dependency d's inner shape>,...],
	 *  "tables":[{"schema":s,"table":t,"columns":[[name,type],...]},...]}
	 * (the inner tables as serve described them, so that route
	 * compiles the clause without asking PostgreSQL) */
	char *deps;
};

void ss_shape_rec_init(struct ss_shape_rec *rec);
void ss_shape_rec_release(struct ss_shape_rec *rec);
/* Deep copy src into dst (dst is overwritten, not released first). */
void ss_shape_rec_copy(struct ss_shape_rec *dst,
		       const struct ss_shape_rec *src);

/*
 * Get or create the shape for `def`. If a live shape has the same canonical
 * definition (buffered or in SQLite) it is returned with *created = 0;
 * otherwise a new one is minted (id from the reserved block, handle
 * "<hash>-<now us>", made unique) with *created = 1. Concurrent callers
 * with the same definition get the same shape. oids may be NULL/0.
 * May wait while the buffer is full. out is filled (*new*, release it).
 */
int ss_registry_add(struct ss_registry *reg, const struct ss_shape *def,
		    const uint32_t *oids, size_t noids,
		    struct ss_shape_rec *out, int *created, struct ss_err *err);
/* ss_registry_add for a subquery shape: a new shape records `deps` (see
 * struct ss_shape_rec; copied; NULL: none); a shape found keeps its own. */
int ss_registry_add_deps(struct ss_registry *reg, const struct ss_shape *def,
			 const uint32_t *oids, size_t noids, const char *deps,
			 struct ss_shape_rec *out, int *created,
			 struct ss_err *err);

/* Look a shape up. Return 1 and fill out (*new*) if found, 0 if not (or
 * removed), -1 on error. */
int ss_registry_get_by_id(struct ss_registry *reg, int64_t id,
			  struct ss_shape_rec *out, struct ss_err *err);
int ss_registry_get_by_handle(struct ss_registry *reg, const char *handle,
			      struct ss_shape_rec *out, struct ss_err *err);
int ss_registry_get_by_definition(struct ss_registry *reg,
				  const struct ss_shape *def,
				  struct ss_shape_rec *out, struct ss_err *err);

/* Remove a shape. Return 1 if it was there, 0 if not, -1 on error. */
int ss_registry_remove(struct ss_registry *reg, int64_t id, struct ss_err *err);

/* Record snapshot progress. snap may be NULL to leave it unchanged.
 * Return 1 if the shape exists, 0 if not, -1 on error. */
int ss_registry_set_snapshot(struct ss_registry *reg, int64_t id, int state,
			     const struct ss_pg_snapshot *snap,
			     struct ss_err *err);

/* Set the relation oids (e.g. once serve has looked the table up). */
int ss_registry_set_oids(struct ss_registry *reg, int64_t id,
			 const uint32_t *oids, size_t noids,
			 struct ss_err *err);

/* Last-read touch: never blocks, never writes synchronously. A touch that
 * finds the buffer full is dropped and counted in the stats. Its time is
 * the touch's own. The first touch after touch_interval_ms without one
 * is committed like any write (it may be what wakes a sleeping
 * replicate); the touches after it wait up to touch_interval_ms, or go
 * with the next other write: readers are many, every commit is an fsync,
 * and a last read only orders evictions and replicate's idle timeout,
 * which count in seconds. */
void ss_registry_touch(struct ss_registry *reg, int64_t id);

/* Route's active mark (DESIGN.md step 2): the shape is being routed from
 * stream position `lsn` on. Buffered like other writes; call
 * ss_registry_flush() to publish it at once. */
int ss_registry_mark_active(struct ss_registry *reg, int64_t id, uint64_t lsn,
			    struct ss_err *err);

/*
 * Iterate over every live shape in id order, streaming from SQLite (the
 * buffer is flushed first). cb returns 0 to go on, non-zero to stop (that
 * value is returned). `rec` is borrowed for the duration of the call.
 */
typedef int (*ss_registry_cb)(const struct ss_shape_rec *rec, void *ctx);
int ss_registry_foreach(struct ss_registry *reg, ss_registry_cb cb, void *ctx,
			struct ss_err *err);

/* Number of live shapes, buffered adds and removes included. */
int ss_registry_count(struct ss_registry *reg, int64_t *count,
		      struct ss_err *err);

/*
 * The change log, for incremental refresh (idmap, route): every committed
 * add and remove gets a sequence number. ss_registry_changes() calls
 * cb(seq, id, handle, added) for each change with seq > since, in order,
 * and sets *last to the newest seq seen. If changes older than `since` were
 * trimmed away it returns 1 without calling cb: the caller must reload in
 * full. Only committed changes are reported (call ss_registry_flush in a
 * process that also writes). ss_registry_data_version() returns a number
 * that changes whenever another connection commits, so a poller can skip
 * the query when nothing happened.
 */
typedef int (*ss_registry_change_cb)(uint64_t seq, int64_t id,
				     const char *handle, int added, void *ctx);
int ss_registry_changes(struct ss_registry *reg, uint64_t since,
			ss_registry_change_cb cb, void *ctx, uint64_t *last,
			struct ss_err *err);
int ss_registry_data_version(struct ss_registry *reg, int64_t *version,
			     struct ss_err *err);

/* Full load for id maps: in one read transaction, call cb(0, id, handle, 1,
 * ctx) for every live committed shape in id order and set *last to the
 * change-log position the listing corresponds to. cb may be NULL to ask
 * for the position only. */
int ss_registry_load_handles(struct ss_registry *reg, ss_registry_change_cb cb,
			     void *ctx, uint64_t *last, struct ss_err *err);

/* Durable LSN: the highest LSN store has made durable. Written
 * synchronously (not buffered): replicate acknowledges from it. It is
 * written only while `stream` is the registry's current stream (see
 * below): returns 1 if written, 0 if the registry has moved on to
 * another stream (the caller's LSNs belong to an old one), -1 on error. */
int ss_registry_set_durable_lsn(struct ss_registry *reg, uint64_t lsn,
				int64_t stream, struct ss_err *err);
int ss_registry_get_durable_lsn(struct ss_registry *reg, uint64_t *lsn,
				struct ss_err *err);

/*
 * The leaf partitions of a partitioned table as replicate last saw them
 * (`leaves`: its own format, e.g. comma-separated oids), to notice a
 * partition attached or detached while nothing streamed. get: *found 0
 * if none was recorded (leaves then ""). set: insert or replace.
 */
int ss_registry_partitions_get(struct ss_registry *reg, uint32_t oid,
			       struct ss_buf *leaves, int *found,
			       struct ss_err *err);
int ss_registry_partitions_set(struct ss_registry *reg, uint32_t oid,
			       const char *leaves, struct ss_err *err);

/* Remove every shape on schema.table in one transaction (the removals go
 * to the change log, so followers drop them and their clients get 409);
 * *removed counts them. Buffered writes of this process go first. */
int ss_registry_remove_table(struct ss_registry *reg, const char *schema,
			     const char *table, int64_t *removed,
			     struct ss_err *err);

/* Was `id` ever handed out (reserved) by this registry? *issued is 1 for
 * a live shape, a removed one, or an id reserved and not used; 0 for an
 * id the registry never gave (e.g. frames routed against another
 * registry). */
int ss_registry_id_issued(struct ss_registry *reg, int64_t id, int *issued,
			  struct ss_err *err);

/*
 * Streams (see stream.h). The registry numbers the replication streams its
 * logs were built from: 0 until replicate first records one, then 1, 2,
 * ... ss_registry_stream_get() gives the current number and, when one
 * was recorded, its identity (*has_id = 1; id and has_id may be NULL).
 *
 * ss_registry_stream_start() begins stream number current + 1 with
 * identity `id` and `reason`, in one transaction. With `invalidate`, every
 * shape is removed in the same transaction (the removals go to the change
 * log, so followers drop them and clients get 409) and the durable LSN is
 * set to `start_lsn`, where the new stream starts; *invalidated gets the
 * number of shapes removed (may be NULL). Buffered writes of this process
 * are flushed first. *stream gets the new number.
 */
int ss_registry_stream_get(struct ss_registry *reg, int64_t *stream,
			   struct ss_stream_id *id, int *has_id,
			   struct ss_err *err);
int ss_registry_stream_start(struct ss_registry *reg,
			     const struct ss_stream_id *id, const char *reason,
			     int invalidate, uint64_t start_lsn,
			     int64_t *stream, int64_t *invalidated,
			     struct ss_err *err);

struct ss_registry_stats {
	int64_t shapes;		/* live shapes */
	int64_t pending_writes; /* shapes with buffered writes */
	int64_t buffer_capacity;
	int64_t read_connections; /* open read connections */
	int64_t write_connection; /* 1 if the write connection is open */
	int64_t flushes;	  /* committed batches */
	int64_t flushed_ops;	  /* writes committed by the flusher */
	int64_t flush_errors;
	int64_t writer_waits; /* writers that waited for a full buffer */
	int64_t touches_dropped;
	int64_t conflicts;  /* adds lost to another process's same definition */
	int64_t next_id;    /* next id this process would hand out */
	int64_t next_block; /* where the registry's next block of ids
			       starts: every id below was handed out
			       or is reserved by a running process */
	int64_t db_bytes, wal_bytes;
	int schema_version;
	uint64_t durable_lsn; /* as ss_registry_get_durable_lsn */
	int64_t stream;	      /* as ss_registry_stream_get */
};
int ss_registry_stats(struct ss_registry *reg, struct ss_registry_stats *st,
		      struct ss_err *err);

/* Only the connection gauges of the stats (read_connections,
 * write_connection; the rest zeroed): no query, never fails. */
void ss_registry_connections(struct ss_registry *reg,
			     struct ss_registry_stats *st);

/* Number of shapes route has marked active (committed ones). */
int ss_registry_count_active(struct ss_registry *reg, int64_t *count,
			     struct ss_err *err);

/*
 * When a shape was last used: the latest of every shape's last read
 * (ss_registry_touch, as committed by its writer's flusher) and creation,
 * in microseconds since the epoch; 0 when there is no shape. replicate's
 * idle timeout wakes on it moving.
 */
int ss_registry_last_use(struct ss_registry *reg, int64_t *last_us,
			 struct ss_err *err);

/*
 * Heartbeats (health.h): one row per stage, replaced by each write.
 * ss_registry_heartbeat_put writes hb synchronously (not buffered).
 * ss_registry_heartbeats reads every row, ordered by stage: *out is
 * *new* (free() it; NULL when *n is 0).
 */
int ss_registry_heartbeat_put(struct ss_registry *reg,
			      const struct ss_heartbeat *hb,
			      struct ss_err *err);
int ss_registry_heartbeats(struct ss_registry *reg, struct ss_heartbeat **out,
			   size_t *n, struct ss_err *err);

/*
 * Check the registry: SQLite's integrity_check, then our invariants
 * (relation rows without a shape, ids past the reservation, change log
 * gaps, snapshot fields out of range). Each finding is passed to cb as a
 * one-line message; with repair, what can be fixed is fixed in one
 * transaction and `repaired` is set for those findings. Returns the number
 * of findings, or -1 on error (e.g. the file is corrupt: SS_ERR_RUNTIME).
 */
typedef void (*ss_registry_finding_cb)(const char *msg, int repaired,
				       void *ctx);
int ss_registry_check(struct ss_registry *reg, int repair,
		      ss_registry_finding_cb cb, void *ctx, struct ss_err *err);

/*
 * Compare the registry with the data dir `dir` (datadir.h): shape
 * directories whose handle the registry does not have ("orphan data
 * directory: PATH"), entries that are no shape directory ("stray entry in
 * data directory: PATH"), definitions that do not parse, and complete
 * shapes without a directory ("missing data directory of complete shape
 * ID (HANDLE): PATH"). Findings go to cb as for ss_registry_check. With
 * repair, orphans and strays move to the data dir's trash and complete
 * shapes without data are removed from the registry (reported, as
 * repaired, after the removal is committed). Compare only with a sound
 * registry: a damaged one makes healthy data look orphaned. Returns the
 * number of findings, or -1 with err.
 */
int ss_registry_check_datadir(struct ss_registry *reg, const char *dir,
			      int repair, ss_registry_finding_cb cb, void *ctx,
			      struct ss_err *err);

/* What shapesync-db stats counts in a data dir: shape directories and
 * stray entries under <dir>/shapes, and the top-level entries of
 * <dir>/trash (none without a trash). Returns 0 or -1 with err. */
struct ss_datadir_counts {
	int64_t shape_dirs, stray_entries, trash_entries;
};
int ss_registry_datadir_counts(const char *dir, struct ss_datadir_counts *dc,
			       struct ss_err *err);

/* VACUUM and PRAGMA optimize. */
int ss_registry_vacuum(struct ss_registry *reg, struct ss_err *err);

/*
 * Export and import. A record's NDJSON form is one JSON object:
 *   {"id":1,"handle":"..","definition":{...},"hash":123,"oids":[16384],
 *    "snapshot_state":"complete","xmin":"..","xmax":"..","xip":[".."],
 *    "created":"<us>","last_read":"<us>"|null,"active_lsn":"0/0"|null}
 * ss_shape_rec_to_json appends one (no newline). Import is a transaction:
 * begin, add each line, then commit (all) or abort (nothing). A bad line
 * gives SS_ERR_INPUT with the reason; ids, handles and definitions must not
 * collide with existing shapes or each other.
 */
void ss_shape_rec_to_json(const struct ss_shape_rec *rec, struct ss_buf *out);
struct ss_registry_import;
int ss_registry_import_begin(struct ss_registry *reg,
			     struct ss_registry_import **imp,
			     struct ss_err *err);
int ss_registry_import_line(struct ss_registry_import *imp, const char *json,
			    struct ss_err *err);
/* Commit, or with abort != 0 roll back; frees imp either way. */
int ss_registry_import_end(struct ss_registry_import *imp, int abort,
			   int64_t *imported, struct ss_err *err);
/* Import every line of `in` (blank lines skipped) in one transaction.
 * A bad line aborts it: err is prefixed "<name>:<line>" and, without a
 * detail of its own, says "nothing was imported"; a read error is
 * "could not read '<name>': ...". */
int ss_registry_import_file(struct ss_registry *reg, FILE *in, const char *name,
			    int64_t *imported, struct ss_err *err);

/*
 * A record for people (shapesync-db show and ls): control characters
 * become spaces, identifiers are quoted only where PostgreSQL would not
 * read them back bare, times are UTC.
 *   ss_shape_rec_to_text: show's "key: value" lines.
 *   ss_shape_rec_table_header / ss_shape_rec_to_row: ls's table, the
 *   header and one row, with the id and table columns id_width and
 *   table_width wide (a subquery shape's row is followed by one line per
 *   subquery, "\_ subquery N: shape ID" under the ID column: the tree);
 * ss_shape_rec_measure widens both to fit rec (the table column at most 40).
 *   ss_shape_rec_table_name: "schema.table" as the others show it.
 * Each appends to b. A definition that does not parse shows as '?': the
 * whole form is still appended, and -1 returned with err ("shape N has
 * an unreadable definition: ..."); else 0.
 */
int ss_shape_rec_to_text(const struct ss_shape_rec *rec, struct ss_buf *b,
			 struct ss_err *err);
void ss_shape_rec_table_header(struct ss_buf *b, int id_width, int table_width);
int ss_shape_rec_to_row(const struct ss_shape_rec *rec, int id_width,
			int table_width, struct ss_buf *b, struct ss_err *err);
void ss_shape_rec_measure(const struct ss_shape_rec *rec, int *id_width,
			  int *table_width);
void ss_shape_rec_table_name(const struct ss_shape_rec *rec, struct ss_buf *b);

/* Names for snapshot states ("pending", "started", "complete") and back. */
const char *ss_snapshot_state_name(int state);
int ss_snapshot_state_parse(const char *name);

#endif
