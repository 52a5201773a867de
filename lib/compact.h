/*
 * compact.h — folding a shape's change messages into the rows they leave,
 * the heart of log compaction (issue 16): an insert sets its key's row, an
 * update merges its value (the columns it carries) into the row, a delete
 * removes it; the two halves of a key change are a delete and an insert.
 * What is left comes out as snapshot-style insert messages, one per key,
 * in the order the keys were (last) inserted.
 *
 * Memory stays bounded whatever the number of rows: the rows live in a
 * scratch SQLite file (a bounded page cache, no journal, no sync), which
 * ss_compact_close removes.
 */
#ifndef SS_COMPACT_H
#define SS_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ss_compact;

/*
 * Start a fold whose scratch file is `path` (replaced if it exists: a
 * scratch file left by a killed run is garbage). *out is *new*: free with
 * ss_compact_close. Errors: SS_ERR_RUNTIME (the file).
 */
int ss_compact_open(const char *path, struct ss_compact **out,
		    struct ss_err *err);

/* Remove the scratch file and free c; NULL is a no-op. */
void ss_compact_close(struct ss_compact *c);

/*
 * Fold one entry: a change message as the log and the snapshot chunks
 * hold it (the leading ',' and trailing newline of an entry may be
 * there). Returns 0 when folded, 1 for a control message (snapshot-end
 * and the like: not folded, the caller keeps what it needs) or a move-in
 * event (its rows are inserts of their own), -1 with err:
 * SS_ERR_INPUT for an entry that is neither ("entry is not a change
 * message: ..."), SS_ERR_RUNTIME for the scratch file.
 */
int ss_compact_add(struct ss_compact *c, const char *json, size_t len,
		   struct ss_err *err);

/*
 * Call cb for each row left, in the order their keys were last inserted,
 * with an insert message
 *   {"key":..,"value":{..},"headers":{"operation":"insert",
 *    "relation":[s,t]}}
 * (one line, no newline; *borrowed* for the call). cb returns 0 to go
 * on, -1 (with err set) to stop; ss_compact_each then returns -1.
 */
int ss_compact_each(struct ss_compact *c,
		    int (*cb)(const char *json, size_t len, void *ctx,
			      struct ss_err *err),
		    void *ctx, struct ss_err *err);

/* Counters: entries folded, and rows left now. */
uint64_t ss_compact_folded(const struct ss_compact *c);
uint64_t ss_compact_rows(const struct ss_compact *c);

/* ---------------------------------------------------------- a shape */

struct ss_compact_opts {
	uint64_t keep_chunks; /* newest closed log chunks not folded (2);
				 0: all, the open chunk's committed
				 entries too */
	uint64_t chunk_bytes; /* of the new base's chunk files
				 (SS_LOG_CHUNK_BYTES_DEFAULT) */
	int64_t grace_s;      /* a superseded generation, and log below it,
				 stay readable this long (3600) */
	int64_t now;	      /* Unix seconds; 0: the clock */
};
void ss_compact_opts_init(struct ss_compact_opts *o);

/*
 * The rows of the shape in directory dir as they were once every change
 * at or below `lsn` was applied: its newest base (the snapshot, or a
 * compaction's generation) folded with its log up to lsn, in a scratch
 * SQLite file at `scratch` (removed after). cb gets each row as
 * ss_compact_each gives it. Route builds a subquery's view with it from
 * the inner shape's files (docs/subqueries.md). Returns 0, or -1 with
 * err: SS_ERR_RUNTIME when the snapshot is not complete, the shape is
 * compacted past lsn, or a file cannot be read; SS_ERR_INPUT for a
 * damaged entry; cb's error.
 */
int ss_compact_rows_at(const char *dir, uint64_t lsn, const char *scratch,
		       int (*cb)(const char *json, size_t len, void *ctx,
				 struct ss_err *err),
		       void *ctx, struct ss_err *err);

struct ss_compact_result {
	int compacted;	     /* a new generation was made */
	const char *skipped; /* else why not (static text) */
	uint64_t gen;	     /* the newest generation after the run */
	uint64_t folded;     /* entries read (base rows and log entries) */
	uint64_t rows;	     /* rows of the new base */
	uint64_t dropped;    /* older generations removed */
	uint64_t punched;    /* log bytes given back to the file system */
};

/*
 * Compact the shape in `dir` (lib/base.h has the layout): fold the newest
 * base and the log after it up to the end of the closed chunk before the
 * newest keep_chunks ones (keep_chunks 0: up to the last committed entry)
 * into base.<gen+1>, and make it the newest
 * generation (one atomic rename of the record). Then give back what no
 * reader may need any more: generations superseded at least grace_s ago
 * (their files, and the record's `reclaimed` moves to the oldest kept
 * generation's end) and, once a `reclaimed` offset is itself grace_s old,
 * the log bytes below it (punched as a hole: offsets and the index stay).
 *
 * Safe while store appends and serve reads: only committed entries are
 * read (closed chunks, or with keep_chunks 0 the open one up to the
 * committed end store never rewrites), a reader sees the old record or the new
 * one, files in use stay readable after they are unlinked. kill -9 at any point
 * leaves a shape that reads as before or as after; what it leaves behind (a
 * partial base.<gen+1>, the files of a generation the record no longer
 * lists) is removed by the next run. One run per shape at a time (a lock file,
 * compact.lock): a second is skipped. Nothing to do (the snapshot is not
 * complete, too few closed chunks, nothing new past the newest base) is
 * res->skipped, not an error.
 */
int ss_compact_shape(const char *dir, const struct ss_compact_opts *o,
		     struct ss_compact_result *res, struct ss_err *err);

/*
 * Check what compaction leaves in the shape in `dir` against what readers
 * rely on: the base record reads; each generation it lists after the
 * snapshot has its chunk files, the last one ending with a control line
 * (the snapshot-end); the newest generation's end is not past the log's
 * last committed entry; `punched` is not past `reclaimed`. Files of a run
 * that did not finish (a base.<gen> the record does not list, scratch
 * files) are no problem: the next run removes them.
 * Returns 0 when sound, 1 with the first problem appended to *problem
 * (one line, no newline), -1 with err when a file cannot be read.
 */
int ss_compact_check(const char *dir, struct ss_buf *problem,
		     struct ss_err *err);

/* What a fresh client of a shape reads now: its newest base (bytes and
 * rows) and the log after it. */
struct ss_compact_size {
	uint64_t gen;
	uint64_t base_bytes, base_rows; /* rows: change messages */
	uint64_t tail_bytes, tail_entries;
	int snapshot_done; /* 0: nothing to compact yet */
};

/* Measure the shape in `dir` (reads the base's chunk files to count their
 * rows, and the log's head and index). */
int ss_compact_measure(const char *dir, struct ss_compact_size *sz,
		       struct ss_err *err);

/*
 * The policy: is a compaction due? When the log after the base holds at
 * least min_bytes and a fresh client reads more than ratio times the
 * base (base + tail > ratio * base; an empty base counts as min_bytes).
 */
int ss_compact_due(const struct ss_compact_size *sz, double ratio,
		   uint64_t min_bytes);

/* ------------------------------------------------- the shapes of a pipeline */

struct ss_registry;
struct ss_shape_rec;

struct ss_compact_policy {
	int measure_only;   /* report the sizes, compact nothing */
	int force;	    /* compact whatever the sizes */
	double min_ratio;   /* ss_compact_due's ratio (4) */
	uint64_t min_bytes; /* and minimum (1 MiB) */
};
void ss_compact_policy_init(struct ss_compact_policy *p);

/* One shape's outcome: its sizes before, and the run's result, or the
 * error that stopped it (err->code set; the others go on); it is the
 * n-th (from 1) of total. */
typedef void (*ss_compact_report_cb)(const struct ss_shape_rec *rec,
				     const struct ss_compact_size *before,
				     const struct ss_compact_result *res,
				     const struct ss_err *err, size_t n,
				     size_t total, void *ctx);

/*
 * Append a one-line account of a shape's outcome (no newline):
 *   shape ID (HANDLE): generation G: R rows from N entries (B bytes of
 *   base and log before)[; D older generation(s) dropped][; P log bytes
 *   given back]
 * or "shape ID (HANDLE): skipped: REASON[; ...]", or the error.
 */
/*
 * Append a shape's sizes (no newline): what a fresh client reads, its
 * newest base and the log after it, and their ratio ((base + log) /
 * base, "-" for an empty base):
 *   shape ID (HANDLE): generation G: base B bytes, R rows; log after it
 *   E entries, T bytes; ratio X.X
 * or with json one object: {"id":..,"handle":..,"generation":..,
 * "base_bytes":..,"base_rows":..,"log_entries":..,"log_bytes":..,
 * "ratio":X.X|null}.
 */
void ss_compact_size_line(const struct ss_shape_rec *rec,
			  const struct ss_compact_size *sz, int json,
			  struct ss_buf *out);

void ss_compact_describe(const struct ss_shape_rec *rec,
			 const struct ss_compact_size *before,
			 const struct ss_compact_result *res,
			 const struct ss_err *err, struct ss_buf *out);

/*
 * Compact the shapes of registry `reg` whose snapshot is complete (`ids`:
 * only those, nids of them; nids 0: all) in data dir `datadir`, each when
 * the policy says so (res->skipped otherwise), calling cb for each shape
 * looked at, in id order. The registry is only read (the list is taken
 * first, the work done outside its transaction). Returns the number of
 * shapes that failed, or -1 with err when the registry cannot be read.
 */
int ss_compact_shapes(struct ss_registry *reg, const char *datadir,
		      const int64_t *ids, size_t nids,
		      const struct ss_compact_opts *o,
		      const struct ss_compact_policy *p,
		      ss_compact_report_cb cb, void *ctx, struct ss_err *err);

#endif
