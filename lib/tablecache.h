/*
 * tablecache.h — a short-lived cache of catalog lookups for serve: each
 * request needs its table's columns and types to check the shape; a
 * change of schema invalidates shapes anyway, so a second of staleness is
 * harmless. Thread-safe. Misses go to a describe function with
 * lib/shapereq's signature, and the cache is one too
 * (ss_tablecache_describe), so it slots in as shapereq's catalog.
 */
#ifndef SS_TABLECACHE_H
#define SS_TABLECACHE_H

#include <stdint.h>

#include "shapereq.h"

struct ss_tablecache;

/* *new* (ss_tablecache_free): answers cached for ttl_us, at most max
 * entries (then the cache starts over); misses asked of describe(ctx). */
struct ss_tablecache *ss_tablecache_new(ss_shapereq_describe_fn describe,
					void *ctx, int64_t ttl_us, size_t max);

/* NULL is a no-op. */
void ss_tablecache_free(struct ss_tablecache *c);

/*
 * Describe schema.name through the cache (cache: a struct ss_tablecache):
 * 1 found (t filled, *new*), 0 no such table (both cached), -1 the
 * describe function failed (err; not cached).
 */
int ss_tablecache_describe(void *cache, const char *schema, const char *name,
			   struct ss_pgq_table *t, struct ss_err *err);

/* Copy a table description: dst is *new* (ss_pgq_table_release). */
void ss_tablecache_copy(struct ss_pgq_table *dst,
			const struct ss_pgq_table *src);

#endif
