/*
 * view.h — the current result of one subquery, as route keeps it for the
 * shapes that depend on it (docs/subqueries.md): for each value of the
 * select list, how many rows of the inner shape hold it. A value whose
 * count goes from 0 to 1 has moved in, from 1 to 0 has moved out.
 *
 * Values are compared as PostgreSQL's `=` compares them
 * (ss_where_value_key: numeric 1.50 equals 1.5, bpchar ignores trailing
 * blanks, ...); the text each value was first counted with is kept, for
 * the queries that send a view to PostgreSQL. Rows with a NULL in any column
 * are kept apart: they never equal anything, but they make `IN` unknown rather
 * than false.
 *
 * Memory: one hash entry per distinct value (its key and a count), and one
 * per distinct row with a NULL.
 */
#ifndef SS_VIEW_H
#define SS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ss_view;

/*
 * A view of rows of ncols (>= 1) columns of the given types (canonical
 * names, as ss_where_dep's types; borrowed for the call). A type that
 * ss_where_value_key does not know (enums, arrays) is compared by its
 * text. Returns *new* (free with ss_view_free).
 */
struct ss_view *ss_view_new(size_t ncols, const char *const *types);
void ss_view_free(struct ss_view *v);

/*
 * Count one row in (delta 1) or out (delta -1): vals[0..ncols) are
 * PostgreSQL text or NULL. *moved is 1 when the value moved in (its
 * count went 0 -> 1), -1 when it moved out (1 -> 0), else 0; for a row
 * with a NULL it says the same of that exact row among the NULL rows.
 * Returns 0, or -1 with err (SS_ERR_INPUT) when a value is not valid for
 * its type, or a row taken out was never counted in (the view no longer
 * follows its shape: the caller invalidates).
 */
int ss_view_add(struct ss_view *v, const char *const *vals, int delta,
		int *moved, struct ss_err *err);

/* Rows counted, distinct values (without NULLs), rows with a NULL. */
uint64_t ss_view_rows(const struct ss_view *v);
size_t ss_view_values(const struct ss_view *v);
uint64_t ss_view_null_rows(const struct ss_view *v);

/*
 * SQL's `(vals) IN (the view)`: *res 1 when a row equals vals, else -1
 * (unknown) when some row might (a NULL on either side where the other
 * parts are equal), else 0. The ss_where_member_fn contract for one
 * dependency: 0, or -1 with err when a value is not valid for its type.
 * One lookup for a value without NULLs and no NULL rows; a left side
 * with a NULL part (or NULL rows in the view) is decided by a scan of
 * the distinct values (of the NULL rows).
 */
int ss_view_member(const struct ss_view *v, const char *const *vals, size_t n,
		   int *res, struct ss_err *err);

/*
 * The view as PostgreSQL array literals, one per column, for queries
 * that test membership with `= ANY($n::type[])` (move-in queries): into
 * cols[0..ncols), each reset first: '{"7","8",NULL}'. Every distinct row
 * is in, those with a NULL too (they make IN unknown, as in SQL); row k
 * of every array is one row of the view.
 */
void ss_view_arrays(const struct ss_view *v, struct ss_buf *cols);

/*
 * The same arrays for the rows of v that are not in `minus`, and the rows
 * of `plus` that are not in v (either may be NULL; both have v's columns
 * and types, so that equal values have equal keys): a view as one outer
 * shape sees it while some of its moves wait (lib/subq).
 */
void ss_view_arrays_adjusted(const struct ss_view *v,
			     const struct ss_view *minus,
			     const struct ss_view *plus, struct ss_buf *cols);

/* Call fn for each distinct value without NULLs (vals: the text the
 * value was first counted with) until it returns non-zero, which is
 * returned. */
int ss_view_each(const struct ss_view *v,
		 int (*fn)(void *ctx, const char *const *vals), void *ctx);

#endif
