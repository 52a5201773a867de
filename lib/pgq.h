/*
 * pgq.h — what serve asks of PostgreSQL, over lib/pg: a small connection
 * pool, Electric's electric-schema header of a table lib/catalog
 * describes, and the initial snapshot of a shape streamed row by row as
 * wire-ready JSON rendered by PostgreSQL itself. The table description
 * (lib/catalog) and the publication (lib/publication) keep compatible
 * ss_pgq_ names here for serve's code.
 *
 * User text never reaches SQL: names go through PQescapeIdentifier, values
 * through parameters or PQescapeLiteral, and the where clause is lib/where's
 * canonical rendering (parameters already substituted as quoted literals).
 */
#ifndef SS_PGQ_H
#define SS_PGQ_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "registry.h"
#include "shape.h"
#include "util.h"

/* ------------------------------------------------------------- pool */

struct ss_pgq_pool;

/*
 * Make a pool of at most `max` connections to `conninfo` (a libpq URI or
 * key=value string, copied). Connections open lazily and every one gets
 * Electric's display settings (DateStyle, TimeZone, IntervalStyle,
 * bytea_output, extra_float_digits). *new*: free with ss_pgq_pool_close().
 */
struct ss_pgq_pool *ss_pgq_pool_new(const char *conninfo, int max,
				    int connect_timeout_s);
void ss_pgq_pool_close(struct ss_pgq_pool *p);
/* Its connections fail a statement that runs (or waits for a lock)
 * longer than ms (> 0; 0: the server's statement_timeout). Set before the
 * pool is first used. */
void ss_pgq_pool_set_statement_timeout(struct ss_pgq_pool *p, int ms);

/* A connection (*borrowed* from the pool until ss_pgq_put): waits while
 * `max` are out. NULL with err (SS_ERR_RUNTIME) when PostgreSQL cannot be
 * reached. The returned pointer is a struct ss_pg * (lib/pg.h), which
 * every ss_pgq_ function taking `void *conn` expects. */
void *ss_pgq_get(struct ss_pgq_pool *p, struct ss_err *err);
/* Give a connection back; one that is broken or inside a transaction is
 * closed instead of kept. */
void ss_pgq_put(struct ss_pgq_pool *p, void *conn);
/* Close the connections that have waited unused in the pool for at least
 * idle_us (at monotonic time now_us), so that PostgreSQL sees none while
 * nothing is asked of it (a serverless one can then scale to zero).
 * Returns how many were closed. */
int ss_pgq_pool_expire(struct ss_pgq_pool *p, int64_t idle_us, int64_t now_us);
/* Connections open now: out plus waiting in the pool. */
int ss_pgq_pool_open(struct ss_pgq_pool *p);

/* ------------------------------------------------------------- catalog */

/*
 * The table a shape is on, as lib/catalog describes it: struct
 * ss_pgq_table is struct ss_catalog_table (and ss_pgq_column
 * ss_catalog_column), and the functions below are thin compatible names
 * for serve's code over lib/catalog and lib/publication, which own them.
 */
#define ss_pgq_column ss_catalog_column
#define ss_pgq_table ss_catalog_table

/* ss_catalog_table_release. */
void ss_pgq_table_release(struct ss_pgq_table *t);

/* ss_catalog_describe (lib/catalog.h). */
int ss_pgq_describe(void *conn, const char *schema, const char *name,
		    struct ss_pgq_table *t, struct ss_err *err);

/* ss_catalog_column. */
long ss_pgq_table_column(const struct ss_pgq_table *t, const char *name);

/*
 * Append the electric-schema header value for the selected columns
 * (`sel` of `nsel` column indexes) to out: a JSON object keyed by column
 * name, sorted byte-wise, as reference 1.6 describes.
 */
void ss_pgq_schema_json(const struct ss_pgq_table *t, const size_t *sel,
			size_t nsel, struct ss_buf *out);

/* ------------------------------------------------------------- publication */

/* ss_publication_check (lib/publication.h). */
int ss_pgq_check_published(void *conn, const char *pub,
			   const struct ss_pgq_table *t, struct ss_err *err);

/* ss_publication_ensure (lib/publication.h). */
int ss_pgq_ensure_published(void *conn, const char *pub,
			    const struct ss_pgq_table *t, struct ss_err *err);

/*
 * The creation protocol's last wait before a snapshot (DESIGN.md
 * "Creating a shape"; call it after route's active mark): until every
 * transaction that holds a write lock on table schema.table (or on a
 * partition under it) now has ended, each until its virtual transaction
 * ends. It blocks nobody: writers that start later wait for nothing.
 *
 * Two kinds of writer are in neither the snapshot nor the log without
 * it. One committed in the WAL before the mark (route passed it) whose
 * backend has not yet left the proc array: PostgreSQL makes commits
 * visible in another order than the WAL's, and a snapshot taken in that
 * moment misses it. It still holds its locks then; they go after it is
 * visible. And one that wrote to the table before the table joined the
 * publication: those changes are not published. A writer that starts
 * after this call commits after the mark, so route passes it to the log.
 *
 * A prepared transaction (two-phase commit) is waited for too, until its
 * COMMIT PREPARED (or ROLLBACK PREPARED) has made it visible.
 *
 * The table is `oid` when not 0, else schema.table (quoted here).
 * Returns 0, or -1 with err: "postgresql: ..." (SS_ERR_RUNTIME), also
 * when a writer still runs at deadline_us (ss_mono_us), or "stopping"
 * when *stopping (may be NULL) is set while it waits.
 */
int ss_pgq_wait_writers(void *conn, uint32_t oid, const char *schema,
			const char *table, int64_t deadline_us,
			const atomic_int *stopping, struct ss_err *err);

/* ss_catalog_partition_sets (lib/catalog.h). */
int ss_pgq_partition_sets(void *conn, uint32_t oid,
			  int (*cb)(uint32_t oid, const char *schema,
				    const char *name, const char *leaves,
				    void *ctx),
			  void *ctx, struct ss_err *err);

/* ------------------------------------------------------------- snapshot */

/* Called for the pg snapshot (before any row), then once per row (a
 * complete JSON change message, *borrowed* for the call). Non-zero stops
 * the query with that error. */
struct ss_pgq_snapshot_cb {
	int (*snapshot)(void *ctx, const struct ss_pg_snapshot *snap,
			struct ss_err *err);
	int (*row)(void *ctx, const char *json, size_t len, struct ss_err *err);
	void *ctx;
};

/*
 * Take the initial snapshot of a shape: BEGIN ISOLATION LEVEL REPEATABLE
 * READ READ ONLY, the display SETs, pg_current_snapshot() (passed to
 * cb->snapshot before any row is read), then the rows of `sel` columns
 * filtered by `where` (canonical SQL or NULL), each encoded in C as
 * Electric's insert message (lib/message) and passed to cb->row; streamed
 * (COPY ... TO STDOUT, or single-row mode for a query with parameters)
 * so memory does not grow with the table; with rows = 0 (log mode
 * changes_only) no row is read. Commits at the end, rolls back on error.
 * Errors: SS_ERR_RUNTIME (PostgreSQL), or what a callback returned.
 */
int ss_pgq_snapshot(void *conn, const struct ss_pgq_table *t, const size_t *sel,
		    size_t nsel, const char *where, int rows,
		    const struct ss_pgq_snapshot_cb *cb, struct ss_err *err);

/*
 * A subset snapshot (reference 1.9): the shape's rows that also satisfy
 * `where` (canonical SQL or NULL), in the order and window of `tail`
 * (" ORDER BY ... LIMIT n OFFSET m", built from checked input, or NULL),
 * each row's headers extended with `headers` (",\"snapshot_mark\":N").
 * *lsn gets pg_current_wal_lsn() of the transaction when lsn is set.
 * Same transaction and callbacks as ss_pgq_snapshot.
 */
struct ss_dnf;
struct ss_pgq_subset {
	const char *where, *tail, *headers;
	/* the rows' operation; NULL: "insert" (a move-out's rows as
	 * deletes: "delete") */
	const char *operation;
	uint64_t *lsn;
	/* A subquery shape: its plan (each row's headers get its tags and
	 * active_conditions, computed by PostgreSQL with ss_dnf_sql) and
	 * the handle its tags hash; NULL for other shapes. */
	const struct ss_dnf *dnf;
	const char *tag_handle;
	/* A move-in query: the active_conditions SQL to use rather than
	 * the plan's (ss_dnf_movein_ac_sql), and the text parameters $1..
	 * that it and `where` use; NULL and 0 otherwise. */
	const char *ac_sql;
	const char *const *params;
	int nparams;
	/* When set: pg_current_wal_insert_lsn() in the snapshot's
	 * transaction (every commit the snapshot sees ends at or below it) */
	uint64_t *insert_lsn;
};
int ss_pgq_subset(void *conn, const struct ss_pgq_table *t, const size_t *sel,
		  size_t nsel, const char *where, const struct ss_pgq_subset *q,
		  int rows, const struct ss_pgq_snapshot_cb *cb,
		  struct ss_err *err);

/* Parse pg_current_snapshot()'s text "xmin:xmax:xip,xip". *new* xip
 * array in snap (free(snap->xip)). */
int ss_pgq_parse_snapshot(const char *text, struct ss_pg_snapshot *snap,
			  struct ss_err *err);

/* The current WAL position (pg_current_wal_lsn()). */
int ss_pgq_current_lsn(void *conn, uint64_t *lsn, struct ss_err *err);

#endif
