/*
 * snapshot.h — a shape's initial snapshot on disk: numbered chunk files of
 * wire-ready rows, written by serve while it reads the PostgreSQL
 * snapshot, read by serve for offset=-1 and 0_N requests.
 *
 *   snapshot.<N>    chunk N (N from 0): entries ",<json>\n" like the log;
 *                   the last chunk ends with the snapshot-end control
 *                   entry. A chunk file exists only once complete: it is
 *                   written as snapshot.<N>.tmp and renamed. The chunks
 *                   are fsync'd before the last one is renamed (after a
 *                   machine crash, chunks without snapshot.done may be
 *                   damaged: no process completes that snapshot, so
 *                   serve treats the shape as gone).
 *   snapshot.done   exists once every chunk is there; holds the number of
 *                   chunks as decimal text.
 *
 * Chunk N is addressed by the virtual offset 0_N (the chunk before it ends
 * at 0_(N-1); offset=-1 asks for chunk 0). A chunk closes after the row
 * that makes it reach chunk_bytes, as in Electric (each row counts its
 * JSON length + 1).
 */
#ifndef SS_SNAPSHOT_H
#define SS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ss_snapshot_writer;

/*
 * Start writing the snapshot of the shape in `dir` (created if missing).
 * Any earlier partial snapshot files there are removed first. *out is
 * *new*: finish with ss_snapshot_finish() or drop with
 * ss_snapshot_abort().
 */
int ss_snapshot_begin(const char *dir, uint64_t chunk_bytes,
		      struct ss_snapshot_writer **out, struct ss_err *err);

/* Add one row (a complete JSON change message, one line, no newline). */
int ss_snapshot_add(struct ss_snapshot_writer *w, const char *json, size_t len,
		    struct ss_err *err);

/* Write the final entry (snapshot-end, as made by ss_message_snapshot_end),
 * close the last chunk and mark the snapshot done. Frees w. *chunks gets
 * the number of chunks (>= 1). */
int ss_snapshot_finish(struct ss_snapshot_writer *w, const char *end_json,
		       size_t len, uint64_t *chunks, struct ss_err *err);

/* Drop an unfinished snapshot: removes its files, frees w. NULL is a no-op. */
void ss_snapshot_abort(struct ss_snapshot_writer *w);

/*
 * What is on disk for the shape in `dir`: *ready = number of complete
 * chunk files (0.. when in progress), *done = 1 once snapshot.done exists
 * (then *ready is the total).
 */
int ss_snapshot_state(const char *dir, uint64_t *ready, int *done,
		      struct ss_err *err);

/* Remove the snapshot files in dir (snapshot.done, then every chunk file
 * and .tmp the directory lists, so that a removal cut short by a kill is
 * finished): a partial snapshot a previous attempt left, or a compacted
 * generation given back. */
void ss_snapshot_remove(const char *dir);

/* Append the path of chunk n to out. */
void ss_snapshot_chunk_path(struct ss_buf *out, const char *dir, uint64_t n);

#endif
