/*
 * registry_stats.h — the figures `shapesync-db stats` prints: the
 * registry's (shapes, positions, sizes, its connections and write
 * buffer), the data dir's (shape directories, strays, trash) and what the
 * running stages last said of themselves (their heartbeats), as
 * "key: value" lines or one JSON object.
 */
#ifndef SS_REGISTRY_STATS_H
#define SS_REGISTRY_STATS_H

#include <stdint.h>

#include "registry.h"
#include "util.h"

/*
 * Append the stats of `reg` and of the data dir `data_dir` to out: one
 * "key: value\n" line each (values cleaned of control characters), or
 * with `json` one object and a newline. `registry_path` is shown as the
 * registry's name; `now_us` (wall clock) gives the heartbeats' ages.
 * Keys, in order: registry, data_dir, shapes, schema_version,
 * durable_lsn, stream, db_bytes, wal_bytes, next_id, pending_writes,
 * buffer_capacity, read_connections, write_connection, flushes,
 * flushed_ops, flush_errors, writer_waits, touches_dropped, conflicts,
 * shape_dirs, stray_entries, trash_entries, then per stage
 * stage_<name>_{state,pid,registry_connections,age_ms}. Returns 0, or -1
 * with err (out unchanged).
 */
int ss_registry_stats_report(struct ss_registry *reg, const char *registry_path,
			     const char *data_dir, int json, int64_t now_us,
			     struct ss_buf *out, struct ss_err *err);

#endif
