/*
 * where.h — the shape `where` clause: a parser, type checker, constant
 * folder and evaluator for the SQL subset ElectricSQL supports, with
 * PostgreSQL semantics (three-valued logic, implicit casts, error wording),
 * plus a canonical rendering and a read-only view of the compiled tree that
 * route uses to find indexable conjuncts.
 *
 * Assumptions shared with the rest of shapesync: row values arrive as
 * PostgreSQL text output under DateStyle 'ISO, DMY', TimeZone 'UTC',
 * IntervalStyle 'postgres', extra_float_digits=1; text ordering is byte
 * order (the "C" collation, as Electric does) and lower()/upper()/ILIKE
 * fold ASCII letters only.
 */
#ifndef SS_WHERE_H
#define SS_WHERE_H

#include <stddef.h>

#include "util.h"

/*
 * A column the clause may reference. `name` is the column name as stored
 * in PostgreSQL (case-sensitive; unquoted references in the clause are
 * folded to lowercase first). `type` is a PostgreSQL type name: the
 * internal names ("int4", "text", "timestamptz", ...), the SQL spellings
 * ("integer", "character varying", "timestamp with time zone", ...), and
 * arrays as "_int4" or "int4[]". A type that is not a built-in one is an
 * enum type if `is_enum` is set (enum values compare with = and <> only),
 * otherwise referencing the column is an "unsupported type" error.
 * Both strings are borrowed for the duration of ss_where_compile only.
 */
struct ss_where_column {
	const char *name;
	const char *type;
	int is_enum;
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
 * with err (code SS_ERR_INPUT) worded like Electric / PostgreSQL:
 *   "At location 6: unknown reference foo",
 *   "At location 3: syntax error at or near \"=\"",
 *   "WHERE clause must return a boolean",
 *   "At location 8: unsupported type foo",
 *   "At location 0: function now is not supported in this context",
 *   or a runtime error ("division by zero") met while folding constants.
 * Locations are 0-based byte offsets into `text`.
 */
int ss_where_compile(const char *text, const struct ss_where_column *cols,
		     size_t ncols, const char *const *params, size_t nparams,
		     struct ss_where **out, struct ss_err *err);

/* Free a clause; NULL is a no-op. */
void ss_where_free(struct ss_where *w);

/*
 * Evaluate the clause for one row. `values[i]` is the text of column i (in
 * the order given to compile) or NULL for SQL NULL; only referenced columns
 * are read, so the others may be anything. Set *result to 1 (true),
 * 0 (false) or -1 (null) and return 0; a row is in the shape iff the
 * result is 1. Return -1 with err (SS_ERR_INPUT) on a PostgreSQL runtime
 * error such as "division by zero", "integer out of range" or a value that
 * does not parse as its column type.
 */
int ss_where_eval(const struct ss_where *w, const char *const *values,
		  int *result, struct ss_err *err);

/*
 * Append the canonical text of the clause to `out`: keywords upper case,
 * single spaces, every operand that is not atomic in parentheses,
 * identifiers quoted only when needed, parameters replaced by typed
 * literals ('5'::int4). Clauses that differ only in spelling render
 * identically, and the canonical text compiles to the same canonical text.
 */
void ss_where_canonical(const struct ss_where *w, struct ss_buf *out);
/* The same text, *borrowed* from w (valid until ss_where_free). */
const char *ss_where_canonical_text(const struct ss_where *w);

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
 * ss_where_node_implicit() true.
 */
struct ss_where_node;

enum ss_where_kind {
	SS_WHERE_CONST,   /* a constant (possibly NULL) */
	SS_WHERE_COLUMN,  /* a column reference */
	SS_WHERE_AND,     /* n-ary AND, n >= 2 */
	SS_WHERE_OR,      /* n-ary OR, n >= 2 */
	SS_WHERE_NOT,     /* 1 arg */
	SS_WHERE_OP,      /* binary or unary operator; op: "=", "<>", "<", "<=",
			     ">", ">=", "+", "-", "*", "/", "%", "||", "@>",
			     "<@", "&&", "~~", "~~*", "!~~", "!~~*" */
	SS_WHERE_TEST,    /* 1 arg; op: "IS NULL", "IS NOT NULL", "IS TRUE",
			     "IS NOT TRUE", "IS FALSE", "IS NOT FALSE",
			     "IS UNKNOWN", "IS NOT UNKNOWN" */
	SS_WHERE_DISTINCT, /* 2 args; op "IS DISTINCT FROM" or
			      "IS NOT DISTINCT FROM" */
	SS_WHERE_IN,      /* arg 0 IN (args 1..n); op "IN" or "NOT IN" */
	SS_WHERE_ANY,     /* arg0 op ANY (arg1); op is the comparison */
	SS_WHERE_ALL,     /* arg0 op ALL (arg1) */
	SS_WHERE_BETWEEN, /* arg0 BETWEEN arg1 AND arg2; op "BETWEEN",
			     "NOT BETWEEN", "BETWEEN SYMMETRIC",
			     "NOT BETWEEN SYMMETRIC" */
	SS_WHERE_CAST,    /* 1 arg, to ss_where_node_type() */
	SS_WHERE_FUNC,    /* op: "lower", "upper", "concat", "coalesce",
			     "greatest", "least" */
	SS_WHERE_ARRAY,   /* ARRAY[args...] */
	SS_WHERE_SUBSCRIPT, /* arg0[arg1] */
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
