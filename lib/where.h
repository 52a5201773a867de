/*
 * where.h — the shape `where` clause: a parser, type checker, constant
 * folder and evaluator for the SQL subset ElectricSQL supports, with
 * PostgreSQL 15 semantics (three-valued logic, unknown-literal typing,
 * implicit casts, plan-time folding, error wording), plus a canonical
 * rendering and a read-only view of the compiled tree that route uses to
 * find indexable conjuncts; and ORDER BY lists over the same language
 * (ss_where_order_by, lib/where_order.c).
 *
 * The subset:
 *   - constants (integers, decimals, 'strings', E'escapes', TRUE, FALSE,
 *     NULL, typed literals like date '2024-01-01'), columns, $n parameters;
 *   - AND OR NOT; = <> != < <= > >=; IS [NOT] NULL / TRUE / FALSE /
 *     UNKNOWN, ISNULL, NOTNULL; IS [NOT] DISTINCT FROM; [NOT] IN (list);
 *     [NOT] BETWEEN [SYMMETRIC]; [NOT] LIKE / ILIKE [ESCAPE e] and ~~ ~~*
 *     !~~ !~~*; op ANY|SOME|ALL (array) for the comparisons;
 *   - + - * / % and unary - +, ^ (float8), @ |/ ||/, integer & | # ~,
 *     with "integer out of range", "division by zero", float overflow and
 *     underflow as PostgreSQL reports them; text ||; date/timestamp/
 *     timestamptz/time/interval + and - (date +- int, date - date,
 *     timestamp +- interval, timestamp - timestamp, ...), interval * and /
 *     by a number;
 *   - lower upper concat like COALESCE GREATEST LEAST, timezone() and
 *     x AT TIME ZONE z for timestamp/timestamptz, justify_days
 *     justify_hours justify_interval, array_cat array_append
 *     array_prepend array_ndims;
 *   - x::type and CAST(x AS type) between the supported types, with
 *     varchar(n) / char(n) / numeric(p,s) / time(p) / timestamp(p) /
 *     interval(p) modifiers;
 *   - ARRAY[...] (nested too), '{...}' array literals, a[i], @> <@ &&,
 *     array || array / element;
 *   - types bool int2 int4 int8 float4 float8 numeric (exact decimal) text
 *     varchar bpchar uuid date time timestamp timestamptz interval, enums,
 *     and arrays of these (multi-dimensional too).
 * Anything else is rejected when compiling, never evaluated wrongly:
 * "At location N: <thing> is not supported in this context" for
 * subqueries, CASE, row expressions, aggregates, window functions, other
 * functions, slices, COLLATE, SIMILAR TO, and operators outside the list
 * (^ on numeric, << >>, regular expressions).
 *
 * Assumptions shared with the rest of shapesync: row values arrive as
 * PostgreSQL text output under DateStyle 'ISO, DMY', TimeZone 'UTC',
 * IntervalStyle 'iso_8601' (what replicate and serve set; interval input
 * in the 'postgres' style is accepted too), extra_float_digits=1; text
 * ordering is byte
 * order (the "C" collation, as Electric's is) and lower()/upper()/ILIKE
 * fold ASCII letters only (as PostgreSQL does under the C collation). Time
 * zones in literals are numeric offsets, common abbreviations (UTC, Z,
 * PST, CET, ...) or zone names from the system database
 * /usr/share/zoneinfo (Europe/Paris, case-insensitive), which Debian's
 * PostgreSQL uses too, with the zone's POSIX rule after its last listed
 * transition.
 */
#ifndef SS_WHERE_H
#define SS_WHERE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * A column the clause may reference. `name` is the column name as stored
 * in PostgreSQL (case-sensitive; unquoted references in the clause are
 * folded to lowercase first). `type` is a PostgreSQL type name: the
 * internal names ("int4", "text", "timestamptz", ...), the SQL spellings
 * ("integer", "character varying", "timestamp with time zone", ...), and
 * arrays as "_int4" or "int4[]"; modifiers such as "varchar(10)" are
 * ignored. A type that is not a built-in one is an enum type if `is_enum`
 * is set (a schema prefix "public.mood" is dropped; casts name the enum
 * as "mood"), otherwise referencing the column is an "unsupported type"
 * error.
 * Both strings are borrowed for the duration of ss_where_compile only.
 * Initialise with designated initializers ({.name = "id", .type = "int4"}):
 * the struct may grow.
 */
struct ss_where_column {
	const char *name;
	const char *type;
	int is_enum;
	/* Optional, for enum columns: the labels in their sort order
	 * (pg_enum.enumsortorder). With them, enum values are checked
	 * against the labels ("invalid input value for enum ...") and
	 * < <= > >= BETWEEN GREATEST LEAST work; without them only
	 * = <> IN and IS [NOT] DISTINCT FROM do. Borrowed during compile. */
	const char *const *enum_labels;
	size_t n_enum_labels;
};

/* A compiled clause. Opaque; immutable after compile, so one compiled
 * clause may be evaluated from several threads at once. */
struct ss_where;

/*
 * Compile `text` against the table's columns `cols[0..ncols)` with the
 * parameter values `params[0..nparams)` for $1..$n (text, typed by context
 * like PostgreSQL "unknown" literals; a NULL entry is SQL NULL).
 *
 * Return 0 and set *out to a *new* clause (free with ss_where_free), or -1
 * with *out NULL and err (code SS_ERR_INPUT) worded like Electric and
 * PostgreSQL:
 *   "At location 6: unknown reference foo",
 *   "At location 3: syntax error at or near \"=\"",
 *   "WHERE clause must return a boolean",
 *   "At location 8: unsupported type foo",
 *   "At location 0: function now is not supported in this context",
 *   or a runtime error ("division by zero") met while folding constants.
 * Locations are 0-based byte offsets into `text`. The default limits of
 * struct ss_where_limits apply.
 */
int ss_where_compile(const char *text, const struct ss_where_column *cols,
		     size_t ncols, const char *const *params, size_t nparams,
		     struct ss_where **out, struct ss_err *err);

/*
 * What one clause may cost, so that no shape can make compiling or
 * routing slow for the others. A zero field is no limit.
 *   max_length: bytes of where text ("where clause is too long (N bytes,
 *     the limit is M)");
 *   max_in: items in one IN list ("At location N: IN list has N items,
 *     the limit is M");
 *   max_cost: work units of one evaluation, and of compiling beyond what
 *     the text's size needs: a unit per byte allocated for values, per
 *     node evaluated, per limb product of numeric multiplication and
 *     division, per step of LIKE matching and per element pair of @> <@
 *     && ("where clause exceeds the cost limit of N", at compile or
 *     evaluation).
 * The nesting depth has a fixed limit of 500 levels ("At location 0:
 * expression is too deeply nested"), and numeric values PostgreSQL's
 * (131072 digits before the point, 16383 after: "value overflows numeric
 * format").
 */
struct ss_where_limits {
	size_t max_length;
	size_t max_in;
	uint64_t max_cost;
};
#define SS_WHERE_MAX_LENGTH 65536
#define SS_WHERE_MAX_IN 10000
#define SS_WHERE_MAX_COST 10000000

/* Fill *lim with the defaults above (ss_where_compile's limits). */
void ss_where_limits_default(struct ss_where_limits *lim);

/*
 * Fill *lim with the limits for compiling a clause that was accepted
 * before, from its stored canonical text (ss_where_canonical_text): no
 * length or IN-list limit, which applied to the client's text (the
 * canonical text adds parentheses and casts, and may be longer), and the
 * default cost (folding made it no dearer).
 */
void ss_where_limits_stored(struct ss_where_limits *lim);

/* ss_where_compile under ss_where_limits_stored: for a shape's stored
 * definition (route). */
int ss_where_compile_stored(const char *text,
			    const struct ss_where_column *cols, size_t ncols,
			    const char *const *params, size_t nparams,
			    struct ss_where **out, struct ss_err *err);

/* ss_where_compile under `limits` (NULL: the defaults). The clause keeps
 * max_cost as the budget of each ss_where_eval. */
int ss_where_compile_limited(const char *text,
			     const struct ss_where_column *cols, size_t ncols,
			     const char *const *params, size_t nparams,
			     const struct ss_where_limits *limits,
			     struct ss_where **out, struct ss_err *err);

/*
 * Subqueries: `lhs [NOT] IN (SELECT c1 [, c2...] FROM [schema.]table
 * [WHERE inner])`, as Electric accepts them. The left side is a column or
 * a row of columns `(a, b)`, of exactly the types of the select list
 * (no implicit casts); the select list is plain column names; one table,
 * no other clause; `inner` is a where clause over that table, with
 * subqueries of its own if it likes, and the outer clause's $n
 * parameters. Everything else gets Electric's messages:
 *   "At location N: only `value IN (SELECT ...)` sublinks are supported
 *     right now" (EXISTS, op ANY (SELECT ...), (SELECT ...), ARRAY(...)),
 *   "At location N: currently, left side of `IN (SELECT ...)` can only be
 *     a column reference or a list of column references",
 *   "At location N: left side of `IN (SELECT ...)` has type int4 but
 *     subquery returns int8[]" (a row: "row of (int4, text)"),
 *   "At location N: Expected a plain column reference" (N counted from
 *     the start of "SELECT 1 WHERE <clause>", as Electric does),
 *   "Expected a single table reference",
 *   "SELECT statement must not contain any clauses",
 *   and, with *err_field set to "table" or "columns" (Electric's field of
 *   the 400 body): "Table \"s\".\"t\" does not exist. If the table name
 *   contains capitals or special characters you must quote it.", "The
 *   following columns are not found on the table: c".
 */

/* How subqueries find their tables. */
struct ss_where_tables {
	/*
	 * Describe table schema.name (as written, unquoted names folded to
	 * lowercase, schema "public" when none is given): set *cols and
	 * *ncols (borrowed until compile returns) and return 1; return 0
	 * when there is no such table, or -1 with err when it cannot be
	 * looked up (err is passed on as compile's error).
	 */
	int (*describe)(void *ctx, const char *schema, const char *name,
			const struct ss_where_column **cols, size_t *ncols,
			struct ss_err *err);
	void *ctx;
};

/* Options of ss_where_compile_opts; zero-initialise, the struct may grow. */
struct ss_where_opts {
	const struct ss_where_limits *limits; /* NULL: the defaults */
	/* NULL: a subquery is "At location N: subquery is not supported in
	 * this context", as for ss_where_compile. */
	const struct ss_where_tables *tables;
	/* With tables NULL and this set: any subquery is this error,
	 * without a location ("Subqueries are not allowed in subsets"). */
	const char *no_subquery_msg;
	/* Out: set to the 400 body's field of an error that is not the
	 * where clause's ("table", "columns"), else left alone. */
	const char **err_field;
};

/* ss_where_compile with options (NULL: as ss_where_compile). */
int ss_where_compile_opts(const char *text, const struct ss_where_column *cols,
			  size_t ncols, const char *const *params,
			  size_t nparams, const struct ss_where_opts *opts,
			  struct ss_where **out, struct ss_err *err);

/*
 * The clause's subqueries (its "dependencies"), each once: equal
 * subqueries (the same canonical SELECT) share one, numbered in order of
 * first appearance in the text. Subqueries inside a subquery's own where
 * are that subquery's, not the clause's. Everything is borrowed from the
 * clause.
 */
struct ss_where_dep {
	const char *schema, *table;
	size_t ncols;
	const char *const *cols;  /* the select list, in its order */
	const char *const *types; /* their types, canonical spelling */
	const char *where;  /* the inner clause's canonical text, or NULL */
	const char *select; /* "SELECT c FROM s.t WHERE ...", canonical */
};
size_t ss_where_ndeps(const struct ss_where *w);
const struct ss_where_dep *ss_where_dep_at(const struct ss_where *w, size_t i);

/*
 * Membership of a row's left-side values in the current result of
 * dependency `dep`, with SQL's IN semantics: *res 1 when a row of the
 * result equals `vals` (vals[0..n) are PostgreSQL text or NULL), -1 (null)
 * when none does but one might (a NULL on either side), else 0. Return 0,
 * or -1 with err.
 */
typedef int (*ss_where_member_fn)(void *ctx, size_t dep,
				  const char *const *vals, size_t n, int *res,
				  struct ss_err *err);

/* ss_where_eval for a clause with subqueries: each SS_WHERE_SUBLINK asks
 * `member` (NOT IN is the three-valued NOT of its answer). A clause with
 * subqueries evaluated without it is an error. */
int ss_where_eval_member(const struct ss_where *w, const char *const *values,
			 ss_where_member_fn member, void *ctx, int *result,
			 struct ss_err *err);

/* Free a clause; NULL is a no-op. */
void ss_where_free(struct ss_where *w);

/*
 * Evaluate the clause for one row. `values[i]` is the text of column i (in
 * the order given to compile) or NULL for SQL NULL; only referenced columns
 * are read, so the others may be anything. Set *result to 1 (true),
 * 0 (false) or -1 (null) and return 0; a row is in the shape iff the
 * result is 1. Return -1 with err (SS_ERR_INPUT) on a PostgreSQL runtime
 * error such as "division by zero", "integer out of range" or a value that
 * does not parse as its column type, or when the clause exceeds its cost
 * limit.
 */
int ss_where_eval(const struct ss_where *w, const char *const *values,
		  int *result, struct ss_err *err);

/*
 * Append the canonical text of the clause to `out`: keywords upper case,
 * single spaces, every operand that is not atomic in parentheses,
 * identifiers quoted only when needed, type names in their internal
 * spelling (int4, timestamptz, varchar(3)), parameters replaced by typed
 * literals ('5'::int4). It is rendered from the clause as written (before
 * folding; implicit casts are not shown), so "a=1", "(a = 1)" and
 * "A  =  1" all give "a = 1", while "a = 1 + 1" stays "a = (1 + 1)". The
 * canonical text compiles to the same canonical text. It is shapesync's
 * own form, not byte-for-byte what Electric prints through libpg_query.
 */
void ss_where_canonical(const struct ss_where *w, struct ss_buf *out);
/* The same text, *borrowed* from w (valid until ss_where_free). */
const char *ss_where_canonical_text(const struct ss_where *w);

/*
 * Check an ORDER BY list and append its canonical text to `out`:
 *   item [ASC | DESC] [NULLS FIRST | NULLS LAST], ...
 * Each item is a column of cols[0..ncols) (quoted or not, as in a clause;
 * of any type, since PostgreSQL does the sorting) or an expression of the
 * clause language over them that the type checker accepts (lower(title),
 * a + b, n % 10 = 0, x::text, ...) and that reads a column: a constant
 * would be a select-list position, or sort nothing. There are no $n
 * parameters. The canonical text is each item as ss_where_canonical
 * renders it but with every column name quoted, then the keywords in
 * upper case: `"title" DESC NULLS LAST, lower("name")`; it is accepted
 * again (under ss_where_limits_stored: it may be longer than the text)
 * and renders to itself. Nothing of `text` reaches `out` but through the
 * parsed tree, so it may go into SQL as it is.
 * `limits` (NULL: the defaults): max_length bounds the text ("ORDER BY
 * list is too long (N bytes, the limit is M)"), max_in the IN lists,
 * max_cost the checking of the whole list ("ORDER BY list exceeds the
 * cost limit of N").
 * Returns 0, or -1 with err (SS_ERR_INPUT; out unchanged), the messages
 * without a location:
 *   "unknown reference x" (unquoted names are folded to lowercase),
 *   "syntax error at or near "DESC DESC"" (the rest of the list from
 *     the offending token, at most 100 bytes; at the end of the text:
 *     "syntax error at or near " and nothing after it),
 *   "unterminated quoted identifier",
 *   "ORDER BY item must reference a column",
 *   and what compiling a clause says of its expressions ("function now
 *   is not supported in this context", "subquery is not supported in
 *   this context", "operator does not exist: text + integer",
 *   "division by zero", ...).
 */
int ss_where_order_by(const char *text, const struct ss_where_column *cols,
		      size_t ncols, const struct ss_where_limits *limits,
		      struct ss_buf *out, struct ss_err *err);

/*
 * The columns the clause reads: sets *idx to a *borrowed* array of column
 * indexes (into the cols given to compile), ascending and unique, and
 * returns how many there are. Constant folding can drop references (as in
 * `a = 1 OR true`), so this lists the columns of the folded clause.
 */
size_t ss_where_columns_used(const struct ss_where *w, const size_t **idx);

/*
 * Read-only view of the folded, type-checked tree. Nodes are *borrowed*
 * from the clause and live until ss_where_free. Implicit casts that the
 * type checker inserted appear as SS_WHERE_CAST nodes with
 * ss_where_node_implicit() true. Constant subtrees are already folded, so
 * "id = 2 + 3" shows as OP "=" over COLUMN id and CONST 5 (int4); route
 * can index an OP "=" whose arguments are a COLUMN and a CONST of the same
 * type, IN lists of constants, ranges and @> with a constant array.
 */
struct ss_where_node;

enum ss_where_kind {
	/* A constant, possibly NULL: ss_where_node_const(). */
	SS_WHERE_CONST,
	/* A column reference: ss_where_node_column(). */
	SS_WHERE_COLUMN,
	/* n-ary AND / OR (n >= 2), and NOT (1 argument). */
	SS_WHERE_AND,
	SS_WHERE_OR,
	SS_WHERE_NOT,
	/* An operator with 2 arguments (3 for LIKE ... ESCAPE), or 1 for
	 * unary "-" "+" "~" "@" "|/" "||/". op is one of = <> < <= > >= + - *
	 * / % ^ & | # || @> <@ && ~~ ~~* !~~ !~~* (LIKE, ILIKE, NOT LIKE,
	 * NOT ILIKE); || of arrays is array_cat / array_append /
	 * array_prepend (not strict: NULL arrays are empty). For the
	 * comparisons both arguments have the same type (the type checker
	 * casts one side when the types differ). */
	SS_WHERE_OP,
	/* 1 argument; op is "IS NULL", "IS NOT NULL", "IS TRUE",
	 * "IS NOT TRUE", "IS FALSE", "IS NOT FALSE", "IS UNKNOWN" or
	 * "IS NOT UNKNOWN". */
	SS_WHERE_TEST,
	/* 2 arguments; op is "IS DISTINCT FROM" or "IS NOT DISTINCT FROM". */
	SS_WHERE_DISTINCT,
	/* Argument 0 IN (arguments 1..n); op "IN" or "NOT IN". Items are
	 * cast to the type they are compared at; argument 0 keeps its own
	 * type (PostgreSQL resolves each comparison separately). */
	SS_WHERE_IN,
	/* Argument 0 op ANY / ALL (argument 1, an array); op is the
	 * comparison. */
	SS_WHERE_ANY,
	SS_WHERE_ALL,
	/* Argument 0 BETWEEN argument 1 AND argument 2; op "BETWEEN",
	 * "NOT BETWEEN", "BETWEEN SYMMETRIC" or "NOT BETWEEN SYMMETRIC". */
	SS_WHERE_BETWEEN,
	/* 1 argument converted to ss_where_node_type(); implicit ones were
	 * inserted by the type checker (ss_where_node_implicit()). */
	SS_WHERE_CAST,
	/* op is the function name: "lower", "upper", "concat", "COALESCE",
	 * "GREATEST", "LEAST", "timezone" (also x AT TIME ZONE z: arguments
	 * z, x), "justify_days", "justify_hours", "justify_interval",
	 * "array_cat", "array_append", "array_prepend", "array_ndims". */
	SS_WHERE_FUNC,
	/* ARRAY[arguments...]. */
	SS_WHERE_ARRAY,
	/* Argument 0 (an array) subscripted by argument 1 (int4). */
	SS_WHERE_SUBSCRIPT,
	/* A subquery test `lhs IN (SELECT c... FROM t [WHERE ...])`, op
	 * "IN" or "NOT IN": the arguments are the left side's columns (one,
	 * or the items of a row `(a, b)`), each of the type of the select
	 * list's column at the same place; ss_where_node_dep() says which
	 * of the clause's subqueries it tests. Only in clauses compiled
	 * with struct ss_where_opts.tables. */
	SS_WHERE_SUBLINK,
};

/* The root of the folded tree; never NULL (a folded clause is a CONST). */
const struct ss_where_node *ss_where_root(const struct ss_where *w);
enum ss_where_kind ss_where_node_kind(const struct ss_where_node *n);
/* Operator, test or function name (see the kinds above), or "" if none. */
const char *ss_where_node_op(const struct ss_where_node *n);
size_t ss_where_node_nargs(const struct ss_where_node *n);
/* Argument i (0-based), or NULL when i is out of range. */
const struct ss_where_node *ss_where_node_arg(const struct ss_where_node *n,
					      size_t i);
/* The node's result type, canonical spelling ("int4", "text", "int4[]",
 * an enum's name, "unknown" for a NULL of no particular type). */
const char *ss_where_node_type(const struct ss_where_node *n);
/* The dependency a SS_WHERE_SUBLINK node tests, or -1 for other nodes. */
long ss_where_node_dep(const struct ss_where_node *n);
/* Column index of a SS_WHERE_COLUMN node, else -1. */
long ss_where_node_column(const struct ss_where_node *n);
/* 1 if the node is a cast the type checker inserted, else 0. */
int ss_where_node_implicit(const struct ss_where_node *n);
/*
 * For a SS_WHERE_CONST node: return 1 if it is NULL; else append the
 * value's PostgreSQL text output (the same text a column of that type would
 * carry) to `out` and return 0. Return -1 for a node of another kind.
 */
int ss_where_node_const(const struct ss_where_node *n, struct ss_buf *out);

/*
 * Equality key of a value: append to `key` a string such that two values
 * of type `type` are equal under PostgreSQL `=` iff their keys are equal
 * (numeric 1.50 and 1.5 give one key, bpchar ignores trailing spaces,
 * float -0 equals 0, NaN equals NaN, uuid case is folded). For hash
 * indexes in route. Return 0, or -1 with err when `text` is not a valid
 * value of the type or the type is not supported.
 */
int ss_where_value_key(const char *type, const char *text, struct ss_buf *key,
		       struct ss_err *err);

#endif
