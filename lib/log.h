/*
 * log.h — the per-shape log on disk: an append-only file of wire-ready
 * JSON entries, an index from offset to byte position, chunk boundaries,
 * and a head record that says how much of it is committed. store writes
 * it, serve reads it, db checks and compacts it. shapesync-datadir(5)
 * describes the files byte by byte.
 *
 * A shape directory holds:
 *   log      entries, each ",<json>\n"; the body of a response for the
 *            entries in bytes [a, b) is "[" + log[a+1, b) + "]": a byte
 *            range and two brackets, no re-encoding.
 *   index    one 24-byte record per entry: offset tx, offset op, byte
 *            position of the entry's ',' in log (all big-endian uint64).
 *   chunks   one 24-byte record per closed chunk: the offset of its last
 *            entry and the byte position where it ends.
 *   head     64 bytes: committed bytes, entries, chunks, the last
 *            committed offset, flags, checksum. Rewritten (pwrite) at
 *            every commit: readers see a transaction only once its head
 *            is written. Everything past head is an uncommitted tail that
 *            recovery truncates.
 *
 * Offsets are Electric's (lib/offset.h): tx = the commit LSN, op = 2 * the
 * change's position in its transaction (+1 for the insert half of a key
 * change). They strictly increase through a log.
 */
#ifndef SS_LOG_H
#define SS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "offset.h"
#include "util.h"

/* Default chunk size: a chunk closes after the entry that makes it reach
 * this many bytes (Electric: 10 MiB). */
#define SS_LOG_CHUNK_BYTES_DEFAULT ((uint64_t)10 << 20)

/* head flags */
#define SS_LOG_FILTER_DONE                                                     \
	1u /* snapshot filtering is over (xid >= xmax seen) */

/* The committed state of a log, as its head records it. */
struct ss_log_head {
	uint64_t bytes;	       /* committed length of log */
	uint64_t entries;      /* committed index records */
	uint64_t chunks;       /* committed chunk records */
	struct ss_offset last; /* last committed entry's offset, or
				  ss_offset_before_all when empty; a commit
				  that wrote nothing keeps the previous */
	uint64_t last_tx;      /* commit LSN of the last transaction
				  committed for this shape, even if it wrote
				  no entry (idempotent restarts) */
	uint32_t flags;	       /* SS_LOG_FILTER_DONE ... */
};

/* ------------------------------------------------------------- writer */

struct ss_log_writer;

/*
 * A write budget: a bound on the memory that the write buffers of the
 * writers sharing it hold together. A writer that needs more than the
 * budget has left first flushes every writer of the budget that holds a
 * buffer (their entries go to their files, still uncommitted), then
 * buffers again; an entry that does not fit an empty budget is written at
 * once. The writers sharing a budget must belong to one owner (no
 * locking) and must be closed before it is freed.
 */
struct ss_log_budget;

/* A budget of `limit` bytes. *new*: free with ss_log_budget_free(). */
struct ss_log_budget *ss_log_budget_new(uint64_t limit);
/* Free; NULL is a no-op. Every writer using it must be closed already. */
void ss_log_budget_free(struct ss_log_budget *b);
/* Bytes the writers of the budget hold in their buffers now (allocated
 * sizes), at most its limit. */
uint64_t ss_log_budget_used(const struct ss_log_budget *b);

struct ss_log_opts {
	uint64_t chunk_bytes;	      /* SS_LOG_CHUNK_BYTES_DEFAULT */
	size_t buffer_bytes;	      /* write buffer of this writer: 0 (the
					 default) writes each entry at once */
	struct ss_log_budget *budget; /* shared bound on buffers (borrowed;
					 must outlive the writer), or NULL */
};
void ss_log_opts_init(struct ss_log_opts *o);

/*
 * Open the log in `dir` for appending, creating the directory and files
 * if needed. Recovery: the files are cut back to what head says is
 * committed (an uncommitted tail from a crash disappears). *out is *new*;
 * free with ss_log_writer_close(). Errors: SS_ERR_RUNTIME (I/O), or
 * SS_ERR_INPUT when the files are damaged beyond the head (a head whose
 * checksum fails, or files shorter than head says).
 */
int ss_log_writer_open(const char *dir, const struct ss_log_opts *opts,
		       struct ss_log_writer **out, struct ss_err *err);

/* Close; NULL is a no-op. Uncommitted entries are not kept. */
void ss_log_writer_close(struct ss_log_writer *w);

/*
 * Create the log's files in dir (which must exist), empty, where they are
 * not there: an empty log, as ss_log_writer_open makes it. Files that are
 * there are not touched, so it may run beside a writer. serve calls it
 * when it makes a shape, so that store's first commit to the shape opens
 * its files instead of creating them: one transaction can be the first
 * for thousands of shapes, and creating a file is the slowest of store's
 * system calls. Returns 0, or -1 with SS_ERR_RUNTIME.
 */
int ss_log_create(const char *dir, struct ss_err *err);

/*
 * Park w: close its files, keeping everything else (its entries not yet
 * committed stay in the files, in its write buffer and in w). Until
 * ss_log_writer_unpark, w holds no file descriptor between calls: a call
 * that must write or read its files (a flush, a commit, a rollback, a
 * sync, an entry written at once, a flush by the budget) opens them and
 * closes them again before it returns (no recovery: nothing is cut off),
 * and an entry that goes into the buffer opens nothing. For an owner that
 * must bound its open files while one transaction touches more logs than
 * it may keep open (store): a parked log costs opening its files once
 * per flush, not once per entry. A call on a parked writer whose files
 * went away fails with SS_ERR_RUNTIME "log '<dir>' lost its files while
 * parked".
 */
void ss_log_writer_park(struct ss_log_writer *w);
/* End parking: the next call that needs the files opens them and keeps
 * them open. */
void ss_log_writer_unpark(struct ss_log_writer *w);
/* 1 if w is parked (holds no file descriptor). */
int ss_log_writer_parked(const struct ss_log_writer *w);

/* The committed state (what readers see). */
void ss_log_writer_head(const struct ss_log_writer *w, struct ss_log_head *h);

/*
 * Append one entry with offset `off` (must be greater than every entry so
 * far, committed or not) and JSON text `json` (len bytes, one line, no
 * newline). Closes the chunk when it reaches chunk_bytes. Not visible to
 * readers before ss_log_commit.
 *
 * Without a buffer (buffer_bytes 0) the entry and its index record are
 * written at once (two system calls). With one, the entry's bytes and its
 * index (and chunk) records are copied into w's buffer, which goes to the
 * files in one write per file when it would pass buffer_bytes, when the
 * budget runs out (any writer of the budget may then flush w), and at
 * ss_log_commit and ss_log_flush. An entry larger
 * than buffer_bytes is written at once. Either way memory does not grow
 * with a transaction: it is bounded by buffer_bytes and the budget.
 * Errors: SS_ERR_INPUT for an offset out of order, SS_ERR_RUNTIME for I/O
 * (including a failed flush of another writer of the budget, whose
 * directory the message names).
 */
int ss_log_append(struct ss_log_writer *w, const struct ss_offset *off,
		  const char *json, size_t len, struct ss_err *err);

/*
 * Commit: publish everything appended so far by flushing the buffer, then
 * rewriting head (no fsync: see ss_log_sync). Readers trust only head, so
 * they never see an entry before all of its bytes and records are in the
 * files. `tx` is the commit LSN of the transaction; it becomes
 * head.last_tx even if nothing was appended.
 */
int ss_log_commit(struct ss_log_writer *w, uint64_t tx, struct ss_err *err);

/*
 * Write what w buffers to its files now (one write per file: log, then
 * index, then chunks), still uncommitted, and free the buffer. Nothing to
 * write costs nothing. On error the buffer
 * is kept: a later flush or commit writes it again at the same positions.
 */
int ss_log_flush(struct ss_log_writer *w, struct ss_err *err);

/* Bytes of memory w's buffer holds now (allocated sizes; 0 after a
 * flush). */
uint64_t ss_log_buffered_bytes(const struct ss_log_writer *w);

/* Drop what was appended since the last commit (buffered or written). */
int ss_log_rollback(struct ss_log_writer *w, struct ss_err *err);

/* Set head flags (written with the next commit). */
void ss_log_set_flags(struct ss_log_writer *w, uint32_t flags);

/* Make the committed state durable: fdatasync log, index, chunks, then
 * head, in that order, so a durable head never points past durable data. */
int ss_log_sync(struct ss_log_writer *w, struct ss_err *err);

/* Bytes appended but not committed (for tests and stats). */
uint64_t ss_log_pending_bytes(const struct ss_log_writer *w);

/* ------------------------------------------------------------- reader */

struct ss_log_reader;

/*
 * Open the log in `dir` read-only. A directory without log files is an
 * empty log (store has not written yet). *out is *new*; free with
 * ss_log_reader_close().
 *
 * Damage: the reader never answers with bytes outside the committed log.
 * Open and refresh fail with SS_ERR_INPUT "log '<dir>' is damaged: its
 * files are shorter than its head says"; the lookups below fail with
 * SS_ERR_INPUT "log '<dir>' is damaged: index record N is out of place"
 * (or "chunks record N") for a record they read whose offset is not one
 * lib/offset can produce, whose byte position is past the committed
 * bytes, or that is out of order with the record after it or with the
 * offset searched for. A search over records whose offsets were altered
 * but stay in order can still land on the wrong entry: db check reads
 * them all.
 */
int ss_log_reader_open(const char *dir, struct ss_log_reader **out,
		       struct ss_err *err);
void ss_log_reader_close(struct ss_log_reader *r);

/* Re-read head (cheap: one pread). *changed (may be NULL) is set when the
 * committed state moved. Opens files that appeared since open. */
int ss_log_reader_refresh(struct ss_log_reader *r, int *changed,
			  struct ss_err *err);
void ss_log_reader_head(const struct ss_log_reader *r, struct ss_log_head *h);

/*
 * The end of the chunk that holds the first committed entry after
 * `after`: the offset of the closed chunk's last entry (*closed = 1), or,
 * if that entry is in the open chunk, the last committed offset
 * (*closed = 0). If there is no entry after `after`, the last committed
 * offset (*closed = 0). Binary search over the chunk records.
 */
int ss_log_reader_chunk_end(struct ss_log_reader *r,
			    const struct ss_offset *after,
			    struct ss_offset *end, int *closed,
			    struct ss_err *err);

/*
 * The committed entries with after < offset <= upto, as a byte range
 * [*start, *end) of the log file (start at the first entry's ','), and
 * their number. An empty range has *start == *end. Binary search over the
 * index.
 */
int ss_log_reader_range(struct ss_log_reader *r, const struct ss_offset *after,
			const struct ss_offset *upto, uint64_t *start,
			uint64_t *end, uint64_t *count, struct ss_err *err);

/* The index of the first committed entry with offset > after (entries
 * count if none). */
int ss_log_reader_find(struct ss_log_reader *r, const struct ss_offset *after,
		       uint64_t *index, struct ss_err *err);

/* Committed entry i (< head.entries): its offset, the byte position of its
 * ',' and its length in bytes (comma and newline included). */
int ss_log_reader_entry(struct ss_log_reader *r, uint64_t i,
			struct ss_offset *off, uint64_t *pos, uint64_t *len,
			struct ss_err *err);

/* The log file's descriptor, for sendfile(2) of a range (*borrowed*: valid
 * until close); -1 while the log file does not exist yet. */
int ss_log_reader_fd(const struct ss_log_reader *r);

/* Read `len` bytes at `pos` of the log into buf (for tests and callers
 * that cannot sendfile). */
int ss_log_reader_pread(struct ss_log_reader *r, void *buf, size_t len,
			uint64_t pos, struct ss_err *err);

/*
 * Call cb for each committed entry with after < offset <= upto (upto NULL:
 * to the end), in order, with its offset and its bytes as the log holds
 * them (",<json>\n"; *borrowed* for the call). cb returns 0 to go on, -1
 * (err set) to stop: the result then is -1.
 */
int ss_log_reader_each(struct ss_log_reader *r, const struct ss_offset *after,
		       const struct ss_offset *upto,
		       int (*cb)(const struct ss_offset *off, const char *entry,
				 size_t len, void *ctx, struct ss_err *err),
		       void *ctx, struct ss_err *err);

/*
 * Call cb with the end offset of each closed chunk after `after`, in
 * order, at most max of them (0: all); cb returns 0 to go on, -1 to stop.
 */
int ss_log_reader_each_chunk(struct ss_log_reader *r,
			     const struct ss_offset *after, uint64_t max,
			     int (*cb)(const struct ss_offset *end, void *ctx,
				       struct ss_err *err),
			     void *ctx, struct ss_err *err);

#endif
