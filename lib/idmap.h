/*
 * idmap.h — the shape id map: compact integer ids <-> string handles.
 *
 * Ids are what crosses the pipes, handles what crosses HTTP and disk. The
 * map is a dense array indexed by id (id -> handle) and an open-addressing
 * hash table (handle -> id); both lookups are O(1). Handles live in an
 * arena. The map is filled from the registry and kept in step with it by
 * a registry cursor (registry_cursor.h); ids come from the registry, so a
 * refresh never changes the id of a shape that stays.
 *
 * Not thread-safe: one owner thread, or external locking.
 */
#ifndef SS_IDMAP_H
#define SS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ss_idmap;
struct ss_registry;

/* A new, empty map (*new*, free with ss_idmap_free; NULL is a no-op). */
struct ss_idmap *ss_idmap_new(void);
void ss_idmap_free(struct ss_idmap *map);

/* Insert id <-> handle. Returns 0, or -1 with SS_ERR_INPUT if the id or
 * the handle is already mapped to something else (re-adding the same pair
 * is a no-op). */
int ss_idmap_put(struct ss_idmap *map, int64_t id, const char *handle,
		 struct ss_err *err);
/* Remove by id; returns 1 if it was there. */
int ss_idmap_remove(struct ss_idmap *map, int64_t id);

/* Lookups: the handle is borrowed (valid until the id is removed or the
 * map freed); NULL / -1 when absent. */
const char *ss_idmap_handle(const struct ss_idmap *map, int64_t id);
int64_t ss_idmap_id(const struct ss_idmap *map, const char *handle);
size_t ss_idmap_count(const struct ss_idmap *map);

/*
 * Bring the map up to date with the registry through its cursor: cheap
 * when nothing changed (one PRAGMA data_version), otherwise applies the
 * change log since the last refresh, or reloads in full if the log was
 * trimmed. The map follows one registry: given another, it starts over.
 * *changed (may be NULL) is set to the number of ids added or removed.
 */
int ss_idmap_refresh(struct ss_idmap *map, struct ss_registry *reg,
		     size_t *changed, struct ss_err *err);

/* Bytes the map uses beyond the handle strings themselves (array, hash
 * table, bookkeeping), and the bytes of handle storage. */
size_t ss_idmap_overhead_bytes(const struct ss_idmap *map);
size_t ss_idmap_string_bytes(const struct ss_idmap *map);

#endif
