/*
 * publication.h — the one owner of shapesync's publication DDL: CREATE
 * PUBLICATION, ALTER PUBLICATION ... ADD TABLE, ALTER TABLE ... REPLICA
 * IDENTITY FULL (on partitions too), and checking that a table is
 * published. replicate keeps the publication in step with the registry's
 * tables (create, add_table, partitions_full, partition_sets); serve makes
 * sure a new shape's table is published (ensure, or check under
 * ELECTRIC_MANUAL_TABLE_PUBLISHING). Each statement is built in one place
 * (publication.c); both sides send exactly the same SQL. Errors come in
 * the connection's form (lib/pg.h, SS_PG_TERSE).
 */
#ifndef SS_PUBLICATION_H
#define SS_PUBLICATION_H

#include <stdint.h>

#include "catalog.h"
#include "pg.h"
#include "util.h"

/* ---- replicate: the publication of the registry's tables ------------- */

/* CREATE PUBLICATION name (empty) unless it exists; *created says which.
 * Errors: "could not look up the publication: ...", "could not create
 * the publication: ..." (one made meanwhile by another is no error). */
int ss_publication_create(struct ss_pg *pg, const char *pub, int *created,
			  struct ss_err *err);

/*
 * Make sure schema.table is in the publication and has REPLICA IDENTITY
 * FULL: ALTER PUBLICATION ... ADD TABLE, then ALTER TABLE ... REPLICA
 * IDENTITY FULL (in that order, as Electric does, to avoid deadlocks),
 * each only when needed. *changed (may be NULL) is set to 1 if anything
 * was altered. A missing table is SS_ERR_INPUT "table \"s\".\"t\" does not
 * exist"; other failures SS_ERR_RUNTIME. Waits at most 5 s for locks.
 */
int ss_publication_add_table(struct ss_pg *pg, const char *pub,
			     const char *schema, const char *table,
			     int *changed, struct ss_err *err);

/*
 * Every partitioned table under a table of publication `pub` (the roots
 * and partitioned partitions), with its leaves: cb as
 * ss_catalog_partition_cb says. A non-zero return of cb stops and is
 * returned.
 */
int ss_publication_partition_sets(struct ss_pg *pg, const char *pub,
				  ss_catalog_partition_cb cb, void *ctx,
				  struct ss_err *err);

/*
 * A partitioned table's leaves went from `before` to `now` (lists as
 * above): does that change its rows with nothing in the WAL? *spoils is 1
 * when a leaf left (DETACH or DROP took its rows) or one joined holding
 * rows (ATTACH of a filled table; an empty new partition gets its rows
 * through the WAL). `why` says which, for a log line.
 */
int ss_publication_partitions_changed(struct ss_pg *pg, const char *before,
				      const char *now, int *spoils,
				      struct ss_buf *why, struct ss_err *err);

/*
 * Give REPLICA IDENTITY FULL to every partition the publication publishes
 * that lacks it: PostgreSQL publishes the partitions of a published
 * partitioned table, also those attached or created later, but a
 * partition keeps its own replica identity (ALTER TABLE on the parent
 * does not recurse, and a new partition starts with the default). Does
 * nothing, with one query, unless the publication holds a partitioned
 * table. *changed (may be NULL) is the number of tables altered. A table
 * that cannot be altered (a lock held for more than 5 s) is skipped:
 * *failed (may be NULL) counts them, and the last failure is in
 * `warn` (may be NULL). Returns -1 (SS_ERR_RUNTIME) only when the
 * catalog could not be read or the connection was lost.
 */
int ss_publication_partitions_full(struct ss_pg *pg, const char *pub,
				   int *changed, int *failed,
				   struct ss_err *warn, struct ss_err *err);

/*
 * Follow the partitions of the publication's partitioned tables in the
 * registry: compare each one's leaves now with those the registry
 * recorded, and when they changed in a way the WAL does not show
 * (ss_publication_partitions_changed), remove every shape on the table
 * (their clients refetch a snapshot that has the rows as they are now)
 * and tell spoiled(schema, name, why, removed, ctx) when some were
 * (strings *borrowed* for the call; may be NULL). Then record the leaves
 * now. Stops at the first failure (PostgreSQL or the registry).
 */
struct ss_registry;
int ss_publication_follow_partitions(
    struct ss_pg *pg, const char *pub, struct ss_registry *reg,
    void (*spoiled)(const char *schema, const char *name, const char *why,
		    int64_t removed, void *ctx),
    void *ctx, struct ss_err *err);

/* ---- serve: a new shape's table -------------------------------------- */

/*
 * Make sure publication `pub` exists (created empty if missing), holds
 * table t, and t has REPLICA IDENTITY FULL, and so has every partition
 * under it when it is partitioned (PostgreSQL publishes a partitioned
 * table's changes under its partitions, with their replica identity).
 * Idempotent; safe against a concurrent creator of the same publication.
 * A transaction that wrote to the table before it joined the publication
 * may still be running: its changes before that are not published, so
 * the creation protocol waits for it (ss_pgq_wait_writers, after route's
 * mark) before the snapshot. Errors: "postgresql: ..." (SS_ERR_RUNTIME).
 */
int ss_publication_ensure(struct ss_pg *pg, const char *pub,
			  const struct ss_catalog_table *t, struct ss_err *err);

/*
 * Check, altering nothing (ELECTRIC_MANUAL_TABLE_PUBLISHING), that
 * publication `pub` holds the table and the table has REPLICA IDENTITY
 * FULL. Returns 0, or -1 with err: SS_ERR_INPUT and Electric's words
 * ("Database table \"s\".\"t\" is missing from the publication \"p\" and
 * the ELECTRIC_MANUAL_TABLE_PUBLISHING setting prevents shapesync from
 * adding it", "... does not have its replica identity set to FULL") when
 * it is not so, SS_ERR_RUNTIME when PostgreSQL failed.
 */
int ss_publication_check(struct ss_pg *pg, const char *pub,
			 const struct ss_catalog_table *t, struct ss_err *err);

#endif
