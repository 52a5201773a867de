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

/* Append the directory of shape `handle` under `dir` to out:
 * "<dir>/shapes/<h[0:2]>/<h[2:4]>/<handle>". Trailing slashes of dir are
 * dropped. handle must pass ss_shape_handle_valid (the caller checks
 * hostile input first; this only builds the string). */
void ss_datadir_shape_path(struct ss_buf *out, const char *dir,
			   const char *handle);

/* Create <dir> (with missing parents, like mkdir -p), <dir>/shapes and
 * <dir>/trash if missing (mode 0755, less umask). Existing directories are
 * fine; an existing non-directory is an error. Errors: SS_ERR_RUNTIME
 * naming the path with strerror; SS_ERR_USAGE for an empty dir. */
int ss_datadir_init(const char *dir, struct ss_err *err);

/*
 * Call cb(name, path, is_handle, ctx) for every entry found under
 * <dir>/shapes. is_handle = 1: a real directory (not a symlink) at
 * shapes/<h[0:2]>/<h[2:4]>/<name> whose name is a valid handle with that
 * fan-out. Everything else is reported with is_handle = 0 so check can flag
 * it: stray files, symlinks, a handle in the wrong fan-out directory, and
 * fan-out-level entries that no handle maps to (those are not descended).
 * name is the entry's name, path its full path; both borrowed for the call.
 * Entries are visited sorted (strcmp) within each directory; each
 * directory is read whole before its entries are visited, so cb may trash
 * the entry it is given. Empty fan-out directories are not reported.
 * A non-zero return from cb stops the walk and is returned as is (err
 * untouched); walk errors return -1 with err (SS_ERR_RUNTIME). A missing
 * <dir>/shapes is not an error, nor is an entry that vanishes mid-walk.
 */
typedef int (*ss_datadir_cb)(const char *name, const char *path, int is_handle,
			     void *ctx);
int ss_datadir_foreach_shape(const char *dir, ss_datadir_cb cb, void *ctx,
			     struct ss_err *err);

/* Move a shape directory (or any path under dir) into
 * <dir>/trash/<basename>.<microseconds> with rename(2), so it must be on
 * the same filesystem (EXDEV is an error with a hint). Never replaces an
 * existing trash entry (the suffix is bumped instead). <dir>/trash is
 * created if missing. A missing source is not an error. "", "/", "." and
 * ".." as the last component are SS_ERR_USAGE; failures SS_ERR_RUNTIME. */
int ss_datadir_trash(const char *dir, const char *path, struct ss_err *err);

/* Delete everything in <dir>/trash; *removed (may be NULL) counts the
 * top-level entries removed, also when a later one fails. Symlinks are
 * removed, never followed. A missing trash is not an error. Stops at the
 * first failure: -1 with err (SS_ERR_RUNTIME) naming the path. */
int ss_datadir_empty_trash(const char *dir, long *removed, struct ss_err *err);

#endif
