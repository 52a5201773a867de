/*
 * dnf.h — a where clause with subqueries as Electric's DNF plan, and what
 * every row message of such a shape carries (Electric's wire format for
 * subquery shapes; ../reference: electric-subqueries.md section 3).
 *
 * The clause (as compiled and folded by lib/where) is turned into an OR of
 * ANDs: NOT is pushed down to the leaves (De Morgan), AND is distributed
 * over OR. Each leaf of each disjunct is a *position*, numbered disjunct
 * by disjunct, left to right; a leaf repeated in two disjuncts takes two
 * positions. A position is a subquery test (`x IN (SELECT ...)`, which
 * dependency, its left-side columns) or a plain predicate, and has a
 * polarity (negated under an odd number of NOTs).
 *
 * For a row:
 *   - active_conditions[p] is 1 iff position p, with its polarity, is TRUE
 *     (SQL's three-valued logic: a NULL is not TRUE, and a negated leaf is
 *     TRUE only when the leaf is FALSE); the row is in the shape iff some
 *     disjunct has all its positions TRUE, which is exactly when the
 *     clause is TRUE.
 *   - tags: one string per disjunct, always all of them, in order; each
 *     has one "/"-separated slot per position: "" for a position outside
 *     the disjunct, "1" for a plain predicate, and for a subquery test the
 *     lowercase hex md5 of stack_id, the shape's handle and the row's
 *     left-side values: "v:<text>" or "NULL" for one column, and
 *     "<col>:" before each for a row (a, b).
 * A move of dependency values carries the same hashes, computed from the
 * inner row's values (ss_dnf_value_hash), so clients match patterns to
 * tags.
 */
#ifndef SS_DNF_H
#define SS_DNF_H

#include "util.h"
#include "where.h"

#define SS_DNF_MAX_DISJUNCTS 100

struct ss_dnf;

struct ss_dnf_pos {
	size_t disjunct;
	int negated;
	/* The dependency (ss_where_dep_at) of a subquery test, or -1 for a
	 * plain predicate. */
	long dep;
	/* A subquery test's left side: column indexes and names (as given
	 * to compile), in the order written. */
	size_t ncols;
	const size_t *cols;
	const char *const *names;
};

/*
 * Build the plan of clause w, compiled against cols[0..ncols) (the same
 * columns). Return 0 with *out *new* (ss_dnf_free), or -1 with err
 * (SS_ERR_INPUT), worded as Electric:
 *   "WHERE clause too complex for DNF decomposition (N disjuncts exceeds
 *     limit of 100)",
 *   "a subquery dependency cannot be used with both positive and negative
 *     polarity in the same filter".
 */
int ss_dnf_build(const struct ss_where *w, const struct ss_where_column *cols,
		 size_t ncols, struct ss_dnf **out, struct ss_err *err);
void ss_dnf_free(struct ss_dnf *d);

size_t ss_dnf_ndisjuncts(const struct ss_dnf *d);
size_t ss_dnf_npositions(const struct ss_dnf *d);
/* Position p (borrowed), or NULL when out of range. */
const struct ss_dnf_pos *ss_dnf_pos(const struct ss_dnf *d, size_t p);
/* The positions of dependency `dep`, ascending (borrowed): their count. */
size_t ss_dnf_dep_positions(const struct ss_dnf *d, size_t dep,
			    const size_t **pos);
/* 1 if dependency `dep` is tested negated (NOT IN), else 0. */
int ss_dnf_dep_negated(const struct ss_dnf *d, size_t dep);

/*
 * Evaluate one row (values as for ss_where_eval, membership through
 * `member`): ac[0..npositions) gets each position's truth (1 or 0) and
 * *included whether the row is in the shape. Return 0, or -1 with err
 * (an evaluation error of a plain predicate, or member's).
 */
int ss_dnf_eval(const struct ss_dnf *d, const char *const *values,
		ss_where_member_fn member, void *ctx, unsigned char *ac,
		int *included, struct ss_err *err);

/* The hash of position p (a subquery test) for a row of the table. */
void ss_dnf_row_hash(const struct ss_dnf *d, size_t p,
		     const char *const *values, const char *stack_id,
		     const char *handle, char hex[33]);
/* The same hash for a value of the position's dependency: vals[i] is
 * the select list's column i (paired with the left side's column i). */
void ss_dnf_value_hash(const struct ss_dnf *d, size_t p,
		       const char *const *vals, const char *stack_id,
		       const char *handle, char hex[33]);

/* Append the row's tags as a JSON array: ["<h>/","/1"]. */
void ss_dnf_tags_json(const struct ss_dnf *d, const char *const *values,
		      const char *stack_id, const char *handle,
		      struct ss_buf *out);
/* Append ac[0..npositions) as a JSON array: [true,false]. */
void ss_dnf_ac_json(const struct ss_dnf *d, const unsigned char *ac,
		    struct ss_buf *out);

/*
 * The same two arrays computed by PostgreSQL, for snapshot and subset
 * rows: SQL expressions over the table's columns (in a SELECT from the
 * shape's table) appended to `tags` and `ac`, each giving the JSON text
 * ss_dnf_tags_json and ss_dnf_ac_json give for the row, byte for byte;
 * subquery positions test the real subquery. stack_lit and handle_lit
 * are SQL string literals (quoted by the caller, e.g. with libpq); names
 * and constants are rendered by lib/where, as the where clause is.
 */
void ss_dnf_sql(const struct ss_dnf *d, const char *stack_lit,
		const char *handle_lit, struct ss_buf *tags, struct ss_buf *ac);
/* (ac may be NULL: the tags only.) */

/*
 * The WHERE of a move-in query (reference 4.2): the rows that enter the
 * shape when the result of dependency `dep` goes from one set to another,
 * every other dependency unchanged:
 *   D_after AND NOT (D_before_impacted OR D_unaffected)
 * D_after is the disjuncts holding `dep` with its positions tested
 * against the new set, D_before_impacted the same against the old one,
 * D_unaffected the other disjuncts. Every subquery position is tested
 * against a set passed as parameters, never the subquery itself (route's
 * views, not what PostgreSQL holds now): dependency k's current set is
 * the text arrays $first[k] .. $first[k]+ncols-1 (ss_view_arrays), the
 * new set of `dep` $after .. $after+ncols-1, each cast to its column's
 * type; `lhs = ANY($n::t[])` for one column, `(a, b) IN (SELECT * FROM
 * unnest($n::t1[], $m::t2[]))` for a row, with SQL's NULL semantics.
 * `w` is the clause the plan was built from. Appends to out.
 */
void ss_dnf_movein_sql(const struct ss_dnf *d, const struct ss_where *w,
		       size_t dep, const int *first, int after,
		       struct ss_buf *out);

/*
 * The active_conditions of a move-in row (ss_dnf_sql's ac) with every
 * subquery position tested against the sets after the move, parameters
 * as for ss_dnf_movein_sql: dependency `dep` against $after.., the
 * others against $first[k]... Appends to ac.
 */
void ss_dnf_movein_ac_sql(const struct ss_dnf *d, const struct ss_where *w,
			  size_t dep, const int *first, int after,
			  struct ss_buf *ac);

#endif
