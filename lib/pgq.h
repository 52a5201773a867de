/*
 * pgq.h — what serve asks of PostgreSQL through libpq: a small connection
 * pool, the catalog description of a table (columns, types, primary key,
 * Electric's electric-schema header), the publication and replica identity
 * a shape's table needs, and the initial snapshot of a shape streamed row
 * by row as wire-ready JSON rendered by PostgreSQL itself.
 *
 * User text never reaches SQL: names go through PQescapeIdentifier, values
 * through parameters or PQescapeLiteral, and the where clause is lib/where's
 * canonical rendering (parameters already substituted as quoted literals).
 */
#ifndef SS_PGQ_H
#define SS_PGQ_H

#include <stddef.h>
#include <stdint.h>

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

/* A connection (*borrowed* from the pool until ss_pgq_put): waits while
 * `max` are out. NULL with err (SS_ERR_RUNTIME) when PostgreSQL cannot be
 * reached. The returned pointer is a PGconn *. */
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

struct ss_pgq_column {
	char *name;
	char *type;          /* pg_type.typname ("int4", "_text", "bpchar") */
	char *elem_type;     /* arrays: the element's typname; else NULL */
	int dims;            /* arrays: dimensions (>= 1); else 0 */
	int typmod;          /* atttypmod, -1 if none */
	int not_null;
	int pk_index;        /* position in the primary key, -1 if not in it */
	int is_enum;
	int is_bpchar;       /* bpchar (padding kept in output) */
	int generated;       /* a generated column (not replicated by PG 15) */
};

/* A table as the catalog describes it. Owned strings; release with
 * ss_pgq_table_release(). */
struct ss_pgq_table {
	char *schema, *name;
	uint32_t oid;
	char relkind;
	char replident;
	int system;                 /* a system catalog (pg_catalog,
				       information_schema, TOAST): PostgreSQL
				       cannot publish it */
	struct ss_pgq_column *cols;  /* attnum order */
	size_t ncols;
	size_t *pk;                 /* indexes into cols, in key order; a table
				       without a primary key uses every column */
	size_t npk;
};

void ss_pgq_table_release(struct ss_pgq_table *t);

/*
 * Describe schema.name (exact, case-sensitive names). Return 1 and fill t
 * (*new*), 0 if there is no such table (or view-like relation we cannot
 * follow), -1 with err on a PostgreSQL failure (SS_ERR_RUNTIME).
 */
int ss_pgq_describe(void *conn, const char *schema, const char *name,
		   struct ss_pgq_table *t, struct ss_err *err);

/* Find a column by name; -1 if none. */
long ss_pgq_table_column(const struct ss_pgq_table *t, const char *name);

/*
 * Append the electric-schema header value for the selected columns
 * (`sel` of `nsel` column indexes) to out: a JSON object keyed by column
 * name, sorted byte-wise, as reference 1.6 describes.
 */
void ss_pgq_schema_json(const struct ss_pgq_table *t, const size_t *sel, size_t nsel,
		       struct ss_buf *out);

/* ------------------------------------------------------------- publication */

/*
 * Make sure publication `pub` exists (created empty if missing), holds
 * the table, and the table has REPLICA IDENTITY FULL, and so has every
 * partition under it when it is partitioned (PostgreSQL publishes a
 * partitioned table's changes under its partitions, with their replica
 * identity). Idempotent; safe against a concurrent creator of the same
 * publication.
 */
/*
 * Check, altering nothing (ELECTRIC_MANUAL_TABLE_PUBLISHING), that
 * publication `pub` holds the table and the table has REPLICA IDENTITY
 * FULL. Returns 0, or -1 with err: SS_ERR_INPUT and Electric's words
 * ("Database table \"s\".\"t\" is missing from the publication \"p\" and
 * the ELECTRIC_MANUAL_TABLE_PUBLISHING setting prevents shapesync from
 * adding it", "... does not have its replica identity set to FULL") when
 * it is not so, SS_ERR_RUNTIME when PostgreSQL failed.
 */
int ss_pgq_check_published(void *conn, const char *pub, const struct ss_pgq_table *t,
			   struct ss_err *err);

int ss_pgq_ensure_published(void *conn, const char *pub, const struct ss_pgq_table *t,
			   struct ss_err *err);

/*
 * Every partitioned table in the tree of partitioned table `oid` (itself
 * included), with its leaf partitions as ss_pg_partition_sets gives them:
 * cb(oid, schema, name, leaves, ctx). A non-zero cb return stops and is
 * returned; -1 with err on a PostgreSQL failure.
 */
int ss_pgq_partition_sets(void *conn, uint32_t oid,
			  int (*cb)(uint32_t oid, const char *schema, const char *name,
				    const char *leaves, void *ctx),
			  void *ctx, struct ss_err *err);

/* ------------------------------------------------------------- snapshot */

/* Called for the pg snapshot (before any row), then once per row (a
 * complete JSON change message, *borrowed* for the call). Non-zero stops
 * the query with that error. */
struct ss_pgq_snapshot_cb {
	int (*snapshot)(void *ctx, const struct ss_pg_snapshot *snap, struct ss_err *err);
	int (*row)(void *ctx, const char *json, size_t len, struct ss_err *err);
	void *ctx;
};

/*
 * Take the initial snapshot of a shape: BEGIN ISOLATION LEVEL REPEATABLE
 * READ READ ONLY, the display SETs, pg_current_snapshot() (passed to
 * cb->snapshot before any row is read), then the rows of `sel` columns
 * filtered by `where` (canonical SQL or NULL), streamed in single-row
 * mode so memory does not grow with the table; with rows = 0 (log mode
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
struct ss_pgq_subset {
	const char *where, *tail, *headers;
	uint64_t *lsn;
};
int ss_pgq_subset(void *conn, const struct ss_pgq_table *t, const size_t *sel,
		  size_t nsel, const char *where, const struct ss_pgq_subset *q,
		  int rows, const struct ss_pgq_snapshot_cb *cb, struct ss_err *err);

/* Parse pg_current_snapshot()'s text "xmin:xmax:xip,xip". *new* xip
 * array in snap (free(snap->xip)). */
int ss_pgq_parse_snapshot(const char *text, struct ss_pg_snapshot *snap,
			 struct ss_err *err);

/* The current WAL position (pg_current_wal_lsn()). */
int ss_pgq_current_lsn(void *conn, uint64_t *lsn, struct ss_err *err);

#endif
