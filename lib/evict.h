/*
 * evict.h — LRU eviction (ELECTRIC_MAX_SHAPES): above max_shapes, remove
 * the shapes read least recently (last read, else created), never one
 * whose snapshot is not complete (being created: too new to evict), nor
 * one a subquery shape depends on (it goes once they are gone), at most
 * 10000 per pass. Their directories go to the data dir's trash.
 */
#ifndef SS_EVICT_H
#define SS_EVICT_H

#include <stdint.h>

#include "registry.h"
#include "util.h"

/*
 * One pass over reg. removed(ctx, handle) is called for each shape
 * removed (serve wakes its waiting requests). Returns the number of shapes
 * removed, or -1 with err when listing the registry failed (the shapes
 * found before the failure are still removed).
 */
int64_t ss_evict_once(struct ss_registry *reg, const char *data_dir,
		      int64_t max_shapes,
		      void (*removed)(void *ctx, const char *handle), void *ctx,
		      struct ss_err *err);

#endif
