/*
 * subq.h — route's half of subquery shapes (docs/subqueries.md): the
 * views of the inner shapes that outer shapes depend on, each outer
 * shape's DNF plan, and what a change means for them:
 *   - for a change of an outer shape's table: the membership answers its
 *     clause is evaluated with, and the meta of the change for that shape
 *     (tags, active_conditions, removed_tags, as Electric sends them);
 *   - for a change of an inner shape: the view follows it, and each value
 *     that enters or leaves the view becomes a move of the outer shapes
 *     that depend on it (a move-out now; a move-in waits for its query).
 *
 * An outer shape's dependency d is an inner shape whose rows are the
 * subquery's select list; one inner shape serves every outer shape with
 * the same subquery, and its view is freed with its last outer shape.
 *
 * Pending move-ins. A value that moves into an outer shape's dependency
 * (or out of a negated one) needs a query before its rows can be sent
 * (step 8 of docs/subqueries.md). Until that query's rows are written,
 * the outer shape evaluates its changes as if the value had not moved:
 * ss_subq_inner returns the move-in with a number, and
 * ss_subq_settle(number) makes the value count for that shape.
 *
 * Move-outs as deletes. An outer shape made with move_out=delete
 * (ss_subq_set_deletes) learns of rows leaving through a delete per row
 * rather than a move-out event, so a move-out needs a query too (the
 * mirror of the move-in's): it is pending like a move-in, the shape
 * evaluating its changes as if the value had not left until its rows are
 * written. A value that moves back before then cancels its pending move
 * (the shape never saw it move).
 *
 * Not thread-safe: one owner (route's main thread).
 */
#ifndef SS_SUBQ_H
#define SS_SUBQ_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "lsn.h"
#include "registry.h"
#include "route.h"
#include "util.h"
#include "where.h"

/*
 * What a subquery shape depends on, as the registry keeps it
 * (struct ss_shape_rec's deps): the inner shape of each dependency, and
 * the inner tables' columns as serve described them when it validated the
 * clause, so that route compiles the clause without PostgreSQL:
 *   {"inner":[12,13],"tables":[{"schema":"public","table":"projects",
 *    "columns":[["id","int4"],["kind","mood","enum"]]}]}
 */
struct ss_subq_table {
	char *schema, *table;
	struct ss_where_column *cols; /* names and types owned here */
	size_t ncols;
};
struct ss_subq_deps {
	int64_t *inner;
	size_t ninner;
	struct ss_subq_table *tables;
	size_t ntables;
};

#define SS_SUBQ_DEPS_MAX 100	 /* dependencies, and tables */
#define SS_SUBQ_COLUMNS_MAX 1600 /* columns of a table (PostgreSQL's) */

/*
 * Parse deps JSON into *d (*new* storage: ss_subq_deps_release). Returns
 * 0, or -1 with err (SS_ERR_INPUT) for anything but the form above: ids
 * above 0, non-empty names and types, at most SS_SUBQ_DEPS_MAX inner ids
 * and tables and SS_SUBQ_COLUMNS_MAX columns each, no table twice.
 */
int ss_subq_deps_parse(const char *json, struct ss_subq_deps *d,
		       struct ss_err *err);
void ss_subq_deps_release(struct ss_subq_deps *d);
/* Append one table of deps: {"schema":..,"table":..,"columns":[..]}. */
void ss_subq_table_json(struct ss_buf *out, const char *schema,
			const char *table, const struct ss_where_column *cols,
			size_t ncols);
/* Append d's canonical JSON (the form above, compact, in d's order). */
void ss_subq_deps_json(const struct ss_subq_deps *d, struct ss_buf *out);
/* A struct ss_where_tables describe callback over d (ctx: the deps). */
int ss_subq_deps_describe(void *ctx, const char *schema, const char *name,
			  const struct ss_where_column **cols, size_t *ncols,
			  struct ss_err *err);

struct ss_subq;

/* The stack id tags hash first: Electric's default ELECTRIC_DATABASE_ID.
 * serve (snapshot rows) and route (replication rows, moves) must agree. */
#define SS_SUBQ_STACK_ID "single_stack"

/* stack_id: the string tags hash first (Electric's ELECTRIC_DATABASE_ID,
 * "single_stack"), copied. *new*: free with ss_subq_free (NULL: no-op). */
struct ss_subq *ss_subq_new(const char *stack_id);
void ss_subq_free(struct ss_subq *q);

/*
 * Add outer shape `id`, with handle `handle` (copied), whose clause `w`
 * (*stolen*, also on error) was compiled against cols[0..ncols) (the
 * columns the caller's rows are arrays of). inner[d] is the inner shape
 * of dependency d, for d < ss_where_ndeps(w). Returns 0, or -1 with err:
 * SS_ERR_INPUT when id is there already, the clause has no subquery, an
 * inner shape serves dependencies with other columns, or the DNF plan
 * cannot be built (Electric's messages, lib/dnf.h).
 */
int ss_subq_add(struct ss_subq *q, int64_t id, const char *handle,
		struct ss_where *w, const struct ss_where_column *cols,
		size_t ncols, const int64_t *inner, struct ss_err *err);

/*
 * Bind outer shape id to its clause compiled again (w *stolen*, also on
 * error) against other columns: the table's relation frame, where rows
 * will come from. The views and pending move-ins stay. Returns 0, or -1
 * with err (SS_ERR_INPUT) when id is not here or the clause's
 * dependencies or plan differ from the first one (the caller
 * invalidates the shape).
 */
int ss_subq_rebind(struct ss_subq *q, int64_t id, struct ss_where *w,
		   const struct ss_where_column *cols, size_t ncols,
		   struct ss_err *err);

/* Outer shape id's move-outs are deletes per row (move_out=delete): its
 * moves out are pending moves with queries (SS_SUBQ_MOVE_OUT_ROWS), not
 * events. Set it right after ss_subq_add. 0, or -1 with err
 * (SS_ERR_INPUT) when id is not an outer shape here. */
int ss_subq_set_deletes(struct ss_subq *q, int64_t id, struct ss_err *err);

/* Remove outer shape id (and the views only it used): 1 if it was there. */
int ss_subq_remove(struct ss_subq *q, int64_t id);

/* 1 if q has an outer shape (a cheap test before each change). */
int ss_subq_active(const struct ss_subq *q);
/* 1 if id is an outer shape here. */
int ss_subq_is_outer(const struct ss_subq *q, int64_t id);

/*
 * If id is an inner shape of some outer shape here: its view's columns
 * (the select list: names and types, *borrowed* until the shape's last
 * outer shape is removed) and 1; else 0.
 */
int ss_subq_inner_columns(const struct ss_subq *q, int64_t id,
			  const char *const **names, const char *const **types,
			  size_t *ncols);

/*
 * Loading views. A view made for a new inner shape is empty and
 * *unloaded*: its changes are ignored until ss_subq_loaded says at which
 * stream position its rows were read (from the inner shape's files, with
 * ss_subq_load_message) and with which snapshot the inner shape was made.
 * The position is an end: the rows hold every transaction whose commit
 * LSN is below `lsn` (a commit frame's end_lsn, a progress LSN, store's
 * durable LSN), and none at or after it. From then on a change of the
 * inner shape moves the view only when its transaction's commit LSN is
 * at or after `lsn` and it is not visible in `snap`: exactly the changes
 * store writes to the inner shape's log after those rows.
 */
/* The inner shapes whose views are not loaded, ascending (*new* array,
 * free()): their count. */
size_t ss_subq_unloaded(const struct ss_subq *q, int64_t **ids);
/* Mark inner shape id's view loaded up to (not including) lsn (snap
 * copied). 0, or -1 with err when id is no inner shape. */
int ss_subq_loaded(struct ss_subq *q, int64_t id, ss_lsn lsn,
		   const struct ss_pg_snapshot *snap, struct ss_err *err);

/*
 * Count rows of inner shape `id` into its view without moving anything:
 * for building a view from the inner shape's log (vals as for
 * ss_subq_inner). Returns 0, or -1 with err as ss_view_add.
 */
int ss_subq_load(struct ss_subq *q, int64_t id, const char *const *vals,
		 int delta, struct ss_err *err);

/*
 * Count one row of inner shape id, given as a message whose "value"
 * object holds the select list's columns (a row of ss_compact_rows_at),
 * into its view: ss_subq_load of those values. Returns 0, or -1 with err
 * (SS_ERR_INPUT: not JSON, no value object, a column missing or not a
 * string or null, or ss_subq_load's errors).
 */
int ss_subq_load_message(struct ss_subq *q, int64_t id, const char *json,
			 size_t len, struct ss_err *err);

/*
 * The membership callback to evaluate outer shape id's clause with
 * (ss_where_eval_member): fn and its ctx (borrowed until the shape is
 * removed). 0 if id is not an outer shape here.
 */
int ss_subq_member_fn(struct ss_subq *q, int64_t id, ss_where_member_fn *fn,
		      void **ctx);

/*
 * The meta of a change that outer shape id sees as `op` (insert: new row,
 * delete: old row, update: both; rows as arrays of the add's columns,
 * NULL entries SQL NULL): appends
 * {"tags":[...],"active_conditions":[...]} and for an update
 * "removed_tags" (the old row's tags the new row has not) to out. The
 * rows are evaluated against the current views, as the clause was.
 * Returns 0, or -1 with err (an evaluation error), or SS_ERR_INPUT when
 * id is not an outer shape.
 */
int ss_subq_meta(struct ss_subq *q, int64_t id, enum ss_frame_op op,
		 const char *const *newv, const char *const *oldv,
		 struct ss_buf *out, struct ss_err *err);

/* What an inner change does to one outer shape. */
enum ss_subq_move_kind {
	SS_SUBQ_MOVE_OUT,   /* write the move-out event now */
	SS_SUBQ_MOVE_IN,    /* run the move-in query, then settle */
	SS_SUBQ_INVALIDATE, /* the shape cannot follow: 409 */
	/* move_out=delete: run the query of the rows that leave (their
	 * deletes), then settle, as a move-in */
	SS_SUBQ_MOVE_OUT_ROWS,
};

struct ss_subq_move {
	enum ss_subq_move_kind kind;
	int64_t outer;
	size_t dep;	 /* the dependency that moved */
	uint64_t number; /* move-in, out-rows: what ss_subq_settle takes */
	/* move-out / move-in: the patterns, a JSON array
	 * [{"pos":N,"value":"<md5>"},...]; invalidate: the reason */
	struct ss_buf text;
	/* move-in, out-rows: the value that moved (the select list's
	 * columns, NULL entries SQL NULL), *new* with the move */
	char **vals;
	size_t nvals;
};

/* The moves of one inner change, by outer id then dependency. */
struct ss_subq_moves {
	struct ss_subq_move *v;
	size_t n, alloc;
};
void ss_subq_moves_init(struct ss_subq_moves *m);
void ss_subq_moves_reset(struct ss_subq_moves *m);
void ss_subq_moves_release(struct ss_subq_moves *m);

/*
 * A change of inner shape id that route decided is `op` for it: insert
 * (newv entered the shape), delete (oldv left it), update (in before and
 * after), in the transaction `xid` that commits at `lsn`. newv / oldv are
 * the select list's values (ss_subq_inner_columns order), NULL for the row
 * the op does not carry. Unless the view ignores the change (not loaded,
 * or a transaction its rows already hold: see above), it follows, and
 * every value whose count went 0 -> 1 or 1 -> 0 is appended to `out` as
 * moves of the outer shapes depending on it (their patterns computed
 * with each one's handle); a row with a NULL entering or leaving the
 * view of a NOT IN invalidates those shapes. Returns 0 (also when id is
 * no inner shape here: nothing moves), or -1 with err (SS_ERR_INPUT: a
 * value not valid for its type, or a row leaving that never entered;
 * the caller invalidates the outer shapes).
 */
int ss_subq_inner(struct ss_subq *q, int64_t id, enum ss_frame_op op,
		  const char *const *newv, const char *const *oldv,
		  uint64_t xid, ss_lsn lsn, struct ss_subq_moves *out,
		  struct ss_err *err);

/*
 * What one routed change does to subquery shapes, from route's match:
 *
 * ss_subq_match_inner feeds the inner shapes among m->ids (as m->ops
 * says each sees the change) to ss_subq_inner, with their select lists
 * taken by name from the rows (newv / oldv: values in the order of the
 * relation's columns cols[0..ncols), NULL entries SQL NULL, as route
 * reads them). A view that cannot follow (a bad value, a row leaving
 * that never entered) becomes SS_SUBQ_INVALIDATE moves of its outer
 * shapes rather than an error. Returns 0.
 *
 * ss_subq_match_meta appends, for the outer shapes among m->ids, the
 * change frame's "meta" object {"<id>":{...},...} (nothing when there is
 * none). When layout is not NULL, each shape's rows are what
 * layout(ctx, id, row, old) gives for the change's new (old 0) and old
 * (old 1) row: the row in the layout of the table shape id is on (a
 * partition's change matches the shapes on its ancestors too); NULL
 * layout: the rows as given. Returns 0, or -1 with *bad the id of a shape
 * whose row cannot be evaluated and err (out is then reset).
 *
 * ss_subq_moves_frame: the move frame of the move-outs among moves (one
 * entry per outer shape, its patterns merged, ids ascending), or NULL
 * when there is none (*new*).
 */
int ss_subq_match_inner(struct ss_subq *q, const struct ss_route_match *m,
			const struct ss_frame_column *cols, size_t ncols,
			const char *const *newv, const char *const *oldv,
			uint64_t xid, ss_lsn lsn, struct ss_subq_moves *out);
typedef const char *const *(*ss_subq_layout_fn)(void *ctx, int64_t id,
						const char *const *row,
						int old);
int ss_subq_match_meta(struct ss_subq *q, const struct ss_route_match *m,
		       const char *const *newv, const char *const *oldv,
		       ss_subq_layout_fn layout, void *ctx, struct ss_buf *out,
		       int64_t *bad, struct ss_err *err);
json_t *ss_subq_moves_frame(const struct ss_subq_moves *moves, uint64_t xid,
			    ss_lsn lsn, uint64_t pos);

/* The outer shapes of inner shape id (ascending; *new* array, free()):
 * their count. */
size_t ss_subq_outers_of(const struct ss_subq *q, int64_t id, int64_t **out);

/* When the view of inner shape id cannot follow it: one
 * SS_SUBQ_INVALIDATE move into out for each outer shape using it, with
 * the reason "the view of shape <id>, a subquery of shape <outer>,
 * cannot follow " and then fmt. */
void ss_subq_invalidate_users(const struct ss_subq *q, int64_t id,
			      struct ss_subq_moves *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Make move-in `number` of outer shape id count: from now on that shape
 * sees the value as moved. 1 if it was pending, else 0. */
int ss_subq_settle(struct ss_subq *q, int64_t id, uint64_t number);

/*
 * The routing index (docs/subqueries.md, "Views"): an outer shape every
 * disjunct of whose clause tests one column positively against one
 * dependency (`col IN (SELECT c ...) AND ...`) can only hold a row whose
 * col is in that view, so it is filed under each value of the view
 * (updated as values move; pending move-ins included: a superset).
 *
 * ss_subq_index_of: 1 with that column's name and the view's type
 * (borrowed until the shape is removed) if shape id is so indexed, else
 * 0. ss_subq_index_lookup: the outer shapes filed under `value` of column
 * col keyed as `type`, as their cookies (ss_subq_set_cookie; NULL for a
 * shape without one), *borrowed* until the next call: their count; 0 for
 * NULL. Candidates, but exact[i] says that shape i holds the row: its
 * clause is the indexed test alone and no move-in of it is pending (the
 * value is in the view as it sees it). The others' clauses decide.
 */
int ss_subq_index_of(const struct ss_subq *q, int64_t id, const char **col,
		     const char **type);
size_t ss_subq_index_lookup(struct ss_subq *q, const char *col,
			    const char *type, const char *value,
			    void *const **cookies, const unsigned char **exact);
/* The caller's pointer for outer shape id (the router's shape), what
 * ss_subq_index_lookup answers with; NULL to clear. */
void ss_subq_set_cookie(struct ss_subq *q, int64_t id, void *cookie);

/*
 * Move-ins (docs/subqueries.md, "Move-in"). What an outer shape sees of
 * its dependencies changes with every move (ss_subq_gen counts them); a
 * move-in's query is only good while that count stays.
 */
uint64_t ss_subq_gen(const struct ss_subq *q, int64_t id);

/* 1 if move-in `number` of outer shape id is pending (not settled, not
 * cancelled by a move-out of its value), else 0. */
int ss_subq_is_pending(const struct ss_subq *q, int64_t id, uint64_t number);

/* Outer shape id's handle (borrowed until it is removed), or NULL. */
const char *ss_subq_handle(const struct ss_subq *q, int64_t id);

/* The outer shapes with pending move-ins, ascending (*new* array,
 * free()): their count. */
size_t ss_subq_pending_outers(const struct ss_subq *q, int64_t **ids);

/*
 * Make vals (dependency dep's select list) a pending move-in (out 0) or
 * move-out as deletes (out 1) of outer shape id again: after a restart,
 * for a move whose rows were never written (the loaded view has it
 * moved, the shape does not see it yet). Returns 1 with *number set; 0
 * when the move no longer holds (a move-in's value left the view of a
 * positive dependency, or is back in a negated one's; a move-out's the
 * other way; a value with a NULL; a move-out of a shape without
 * move_out=delete); -1 with err (SS_ERR_INPUT) for no such shape or
 * dependency, or a value not valid for its type.
 */
int ss_subq_pend(struct ss_subq *q, int64_t id, size_t dep,
		 const char *const *vals, size_t n, int out, uint64_t *number,
		 struct ss_err *err);

/*
 * The query of outer shape id's next move-in: every pending move-in of
 * the dependency of its oldest one, as one query (reference 4.2):
 *   SELECT ... WHERE <where>, each row's active_conditions <ac>
 * or, when its oldest pending move is a move-out as deletes (out 1),
 * every pending move-out of that dependency: the rows that leave,
 *   D_before AND NOT (D_after OR D_unaffected),
 * with the text arrays params[0..nparams) as $1.. (ss_dnf_movein_sql:
 * every dependency as the shape sees it now, then `dep` with the moves
 * made). patterns: the move-in event's JSON array; values: the values
 * that move, a JSON array of arrays (strings and nulls); numbers: what
 * ss_subq_settle takes once the rows are written; gen: ss_subq_gen now.
 * handle and dnf are borrowed until the shape is removed.
 * Returns 1, 0 when the shape has no pending move-in (or is not here),
 * -1 with err. Release with ss_subq_movein_release (also after 0).
 */
struct ss_dnf;
struct ss_subq_movein {
	int64_t outer;
	size_t dep;
	int out; /* the rows leave (deletes), rather than enter */
	uint64_t gen;
	uint64_t *numbers;
	size_t nnumbers;
	struct ss_buf where, ac, patterns, values;
	struct ss_buf *params;
	size_t nparams;
	const char *handle;
	const struct ss_dnf *dnf;
};
int ss_subq_movein_next(struct ss_subq *q, int64_t id,
			struct ss_subq_movein *mi, struct ss_err *err);
void ss_subq_movein_release(struct ss_subq_movein *mi);

#endif
