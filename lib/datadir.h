/*
 * datadir.h — the layout of a shapesync data dir, shared by store (writer),
 * serve (reader) and db (check, vacuum):
 *
 *   <dir>/shapes/<h0h1>/<h2h3>/<handle>/   one directory per shape
 *   <dir>/trash/<handle>.<us>/             removed shapes, deleted later
 *
 * The two-level fan-out on the handle keeps directories small with a
 * million shapes. What lives inside a shape directory belongs to lib/log.
 */
#ifndef SS_DATADIR_H
#define SS_DATADIR_H

#include "util.h"

/* Append the directory of shape `handle` under `dir` to out. */
void ss_datadir_shape_path(struct ss_buf *out, const char *dir, const char *handle);

/* Create <dir>, <dir>/shapes and <dir>/trash if missing (mode 0755). */
int ss_datadir_init(const char *dir, struct ss_err *err);

/*
 * Call cb(handle, ctx) for every shape directory present under `dir`
 * (entries whose name is not a valid handle are reported with
 * is_handle = 0 so check can flag stray files). A non-zero return from cb
 * stops the walk and is returned. A missing <dir>/shapes is not an error.
 */
typedef int (*ss_datadir_cb)(const char *name, const char *path, int is_handle, void *ctx);
int ss_datadir_foreach_shape(const char *dir, ss_datadir_cb cb, void *ctx, struct ss_err *err);

/* Move a shape directory (or any path under dir) into <dir>/trash.
 * A missing source is not an error. */
int ss_datadir_trash(const char *dir, const char *path, struct ss_err *err);

/* Delete everything in <dir>/trash; *removed counts top-level entries. */
int ss_datadir_empty_trash(const char *dir, long *removed, struct ss_err *err);

#endif
