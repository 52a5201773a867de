/*
 * route.h — the router: the shapes of each table, compiled against the
 * table's columns, with indexes that find the shapes a row belongs to
 * without looking at every shape. shapesync-route feeds it shapes from
 * the registry and rows from change frames; it says which shapes each
 * change belongs to and, for updates, which of them see a move.
 *
 * Indexes (per table): `col = c` and `col IN (c, ...)` in one hash table
 * keyed by (index, equality key of the value, as ss_where_value_key makes
 * it), whose slots are cache lines that hold a short key and, for a value
 * with one shape, that shape's id and how to decide it (so a lookup reads
 * one line); `col @> '{...}'` (and `'{...}' <@ col`) by one element of the
 * constant in the same hash table, looked up with every element of the
 * row's array; `col LIKE 'p%'` and `col ILIKE 'p%'` (a text or varchar
 * column, a literal prefix p without '_' or backslash) by p in the same
 * hash table (lowered as ILIKE folds: ASCII letters), looked up with the
 * row value's first L bytes for each length L some prefix of that column
 * has, so the cost follows the number of distinct prefix lengths, not of
 * shapes; ranges (`col > c`, `>=`, `<`, `<=`, BETWEEN) of numeric
 * columns in a sorted array with a max-tree, so a value finds the ranges
 * that hold it in O(log n + matches). An indexable clause may be one
 * conjunct of an AND; the shapes an index finds are then evaluated in
 * full. Every other clause is evaluated for every row of its table.
 *
 * Not thread-safe: one owner thread.
 */
#ifndef SS_ROUTE_H
#define SS_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "shape.h"
#include "util.h"

struct ss_router;
struct ss_subq;

/*
 * Called when shapes can no longer be routed: their table's schema
 * changed, or their where clause does not compile against the table's
 * columns. `ids` ascending, `reason` one line; both borrowed for the call.
 * The shapes stay known to the router (ss_router_has) but are never
 * matched again until removed and added back.
 */
typedef void (*ss_router_invalidate_cb)(uint32_t oid, const int64_t *ids,
					size_t n, const char *reason,
					void *ctx);

/* A new, empty router (*new*, free with ss_router_free; NULL is a no-op).
 * cb may be NULL. */
struct ss_router *ss_router_new(ss_router_invalidate_cb cb, void *ctx);
void ss_router_free(struct ss_router *r);

/*
 * Add shape `id` with definition `def` (copied). If the table's relation
 * is known the where clause is compiled now (a failure invalidates the
 * shape through the callback), else when the relation arrives. Returns 0,
 * or -1 with SS_ERR_INPUT if the id is already there.
 */
int ss_router_add(struct ss_router *r, int64_t id, const struct ss_shape *def,
		  struct ss_err *err);
/*
 * Subquery shapes (docs/subqueries.md). The router evaluates them with the
 * views of `q` (borrowed; must outlive the router), where each is
 * registered at once: ss_router_add_subquery compiles the clause against
 * the columns its deps give for the shape's own table, with their inner
 * tables (ss_subq_deps_describe), and adds it to q; when the table's
 * relation frame comes, the clause is compiled against its columns and
 * bound to q again. A deps text that does not parse, a clause that does
 * not compile or a plan q refuses invalidates the shape (the callback).
 * Removing or invalidating an inner shape invalidates its outer shapes:
 * their views would no longer follow it.
 */
void ss_router_set_subq(struct ss_router *r, struct ss_subq *q);
int ss_router_add_subquery(struct ss_router *r, int64_t id,
			   const struct ss_shape *def, const char *handle,
			   const char *deps, struct ss_err *err);
/* Invalidate shape id (through the callback, with its outer shapes if it
 * is an inner one): 1 if it was routed and not invalidated, else 0. */
int ss_router_invalidate(struct ss_router *r, int64_t id, const char *reason);
/* Invalidate the outer shapes of inner shape id, whose view no longer
 * follows it: each one's reason is "shape <id>, a subquery of shape
 * <outer>, <what>". */
void ss_router_invalidate_outers(struct ss_router *r, int64_t id,
				 const char *what);
/* 1 if shape id is a subquery shape that is not invalidated. */
int ss_router_is_subquery(const struct ss_router *r, int64_t id);

/* Remove a shape; returns 1 if it was there, else 0. */
int ss_router_remove(struct ss_router *r, int64_t id);
/* 1 if the shape was added and not removed (invalidated ones included). */
int ss_router_has(const struct ss_router *r, int64_t id);
/* Every known shape id, ascending: sets *ids to a *new* array (free()). */
size_t ss_router_ids(const struct ss_router *r, int64_t **ids);
/* Number of shapes known. */
size_t ss_router_count(const struct ss_router *r);

/*
 * A relation frame. The first one for an oid makes its columns known and
 * compiles the table's shapes. A later one that differs invalidates the
 * shapes it affects (all of the table's shapes when the table was
 * renamed; else those that select all columns, or select, filter on or
 * key by a column that was dropped, renamed or changed type, typmod,
 * key flag or key_index) and recompiles the others. A partition's frame
 * names its ancestors ("ancestors"): from then on its changes are matched
 * against the shapes on those tables too (each described by a relation
 * frame of its own), with the row's values taken by column name. A change
 * of the ancestors alone changes no shape. Returns 0.
 */
int ss_router_relation(struct ss_router *r, const struct ss_frame *rel,
		       struct ss_err *err);

/*
 * The columns of table `oid` that some shape reads: sets *idx to a
 * *borrowed* array of column positions (relation order), ascending, and
 * *names to the matching *borrowed* column names; returns how many (0
 * when the table is unknown or has no shapes that read a column). Valid
 * until the next call that changes the router. *ncols is the relation's
 * column count (size the value arrays of ss_router_match with it). For a
 * partition, the columns the shapes on its ancestors read are included,
 * in its own positions.
 */
size_t ss_router_columns(const struct ss_router *r, uint32_t oid,
			 const size_t **idx, const char *const **names,
			 size_t *ncols);
/* The columns of the last relation frame for `oid` (*borrowed*, valid
 * until the next relation frame), or NULL if none came. */
const struct ss_frame_column *
ss_router_relation_columns(const struct ss_router *r, uint32_t oid,
			   size_t *ncols);
/*
 * A change's row `vals` (relation `oid`'s columns, in its relation
 * frame's order) in the layout of the table shape `id` is on: vals itself
 * when that is oid's table; when oid is a partition and the shape is on
 * one of its ancestors, the row in the ancestor's column order (columns
 * matched by name, as matching does; one the partition lacks is NULL)
 * in *buf, grown as needed (*alloc its size; the caller frees *buf).
 * NULL when the shape is unknown, on neither, or vals is NULL.
 */
const char *const *ss_router_row_layout(struct ss_router *r, uint32_t oid,
					int64_t id, const char *const *vals,
					const char ***buf, size_t *alloc);
/* 1 if table `oid`, or an ancestor of it, has a shape that can match
 * (cheap pre-check). */
int ss_router_table_routed(const struct ss_router *r, uint32_t oid);

/* The result of a match: ids ascending, ops[i] the operation shape
 * ids[i] sees. Owned by the router, valid until the next match. */
struct ss_route_match {
	const int64_t *ids;
	const enum ss_frame_op *ops;
	size_t n;
	size_t moves;  /* entries whose op differs from the change's */
	size_t errors; /* shapes whose evaluation failed (counted as no match;
			  see last_error) */
	char last_error[256];
};

/*
 * Match a change to table `oid`: `newv` / `oldv` are the new and old rows
 * as arrays of ncols values in relation order (NULL entry: SQL NULL;
 * only the positions ss_router_columns lists are read), NULL for the row
 * the op does not carry. Insert matches the new row, delete the old one,
 * update both: in both -> update, new only -> insert, old only -> delete.
 * A partition's change also matches the shapes on its ancestors.
 */
void ss_router_match(struct ss_router *r, uint32_t oid, enum ss_frame_op op,
		     const char *const *newv, const char *const *oldv,
		     struct ss_route_match *out);

/* A truncate of `oids`: every routed shape on those tables and on their
 * ancestors, ascending (ops are SS_FRAME_OP_NONE). */
void ss_router_truncate(struct ss_router *r, const uint32_t *oids, size_t noids,
			struct ss_route_match *out);

/*
 * The fast path for reading change frames, with lib/frame's scanner
 * (ss_frame_scan_head): a line written exactly as writers write it
 * (shapesync-frames(5): compact, keys in order, no "shapes" yet), for a
 * table whose relation frame came, whose row objects name the relation's
 * columns in order with strings that need no unescaping, is decoded
 * without building any JSON: returns 1 and
 * fills *out, with newv / oldv pointing at arrays of the relation's
 * column count that hold the columns ss_router_columns lists (NULL entry:
 * SQL NULL), stored in *out (see below). Returns 0 for every
 * other line, valid or not: the caller then parses it with
 * ss_frame_parse, which is strict. A line this accepts is one
 * ss_frame_parse accepts, with the same fields.
 */
struct ss_route_scan {
	enum ss_frame_op op;
	uint32_t oid;
	uint64_t xid, pos;
	ss_lsn lsn;
	const char *const *newv; /* NULL for a delete */
	const char *const *oldv; /* NULL for an insert */

	/* Private: the values' storage, and prefetch state. */
	struct ss_buf scratch_;
	const char **newv_, **oldv_;
	size_t vals_alloc_;
	uint64_t ph_[4];
	const void *pe_[4];
	const void *pi_[4];
	const char *pv_[4];
	size_t pl_[4];
	size_t nph_;
};
#define SS_ROUTE_SCAN_INIT                                                     \
	{                                                                      \
		.scratch_ = SS_BUF_INIT                                        \
	}
/* Free a scan's storage; it is then empty and reusable. */
void ss_route_scan_release(struct ss_route_scan *sc);
/*
 * Scan one line into *out (initialised with SS_ROUTE_SCAN_INIT; the values
 * it points at live in *out until it is scanned into again or released).
 */
int ss_router_scan_change(struct ss_router *r, const char *line, size_t len,
			  struct ss_route_scan *out);

/*
 * Memory prefetch for a batch of scanned changes, to hide the cache misses
 * of large indexes: call with stage 0 on every change of the batch (hashes
 * the keys, prefetches hash slots), then 1 on every change (prefetches
 * what a slot points to, when its shapes are not decided in the slot),
 * then 2 (prefetches the first shapes of those), then match them in
 * order. Only a hint: matching is the same without it.
 */
void ss_router_prefetch(struct ss_router *r, struct ss_route_scan *sc,
			int stage);

/*
 * ss_router_match of a scanned change (sc->oid, op, newv, oldv), with the
 * same result: the index keys stage 0 of ss_router_prefetch computed for
 * sc are used rather than computed again. The router must not have
 * changed since that stage.
 */
void ss_router_match_scan(struct ss_router *r, const struct ss_route_scan *sc,
			  struct ss_route_match *out);

struct ss_router_stats {
	size_t shapes;	   /* known */
	size_t compiled;   /* compiled and routed */
	size_t eq_indexed; /* by = or IN */
	size_t contain_indexed;
	size_t range_indexed;
	size_t prefix_indexed; /* by LIKE / ILIKE 'p%' */
	size_t subq_indexed;   /* by a subquery's view (lib/subq) */
	size_t unindexed;      /* evaluated for every row */
	size_t invalid;
};
void ss_router_stats(const struct ss_router *r, struct ss_router_stats *st);

/* How shape `id` is routed: "eq", "eq+eval", "contain", "range",
 * "prefix", "prefix+eval", "subquery" (by its view), "all", "eval",
 * "invalid", "pending" (relation unknown) or NULL if unknown. */
const char *ss_router_shape_kind(const struct ss_router *r, int64_t id);

#endif
