/*
 * shape.h — a shape definition (table, where, params, columns, replica,
 * log mode), its canonical form, stable hash and handles.
 *
 * Two requests name the same shape iff their canonical forms are equal.
 * The canonical form is a compact JSON object with a fixed key order:
 *   {"schema":"public","table":"items","where":"...","params":["1"],
 *    "columns":["id","title"],"replica":"default","log":"full"}
 * `where` is null when absent, `columns` is null for "all columns", and
 * columns are sorted byte-wise and deduplicated. The where text is stored as
 * given (trimmed); callers that have lib/where canonicalise it first so that
 * `a=1` and `(a = 1)` become one shape.
 */
#ifndef SS_SHAPE_H
#define SS_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum ss_replica { SS_REPLICA_DEFAULT = 0, SS_REPLICA_FULL = 1 };
enum ss_log_mode { SS_LOG_FULL = 0, SS_LOG_CHANGES_ONLY = 1 };

/* Longest identifier PostgreSQL keeps (NAMEDATALEN - 1). */
#define SS_IDENT_MAX 63
/* A handle is "<hash>-<microseconds>": at most 10 + 1 + 20 chars. */
#define SS_HANDLE_MAX 40

/* A shape definition. Every string is owned by the struct (*new*, freed by
 * ss_shape_release). */
struct ss_shape {
	char *schema;        /* never NULL after parse; "public" by default */
	char *table;
	char *where;         /* NULL: no where clause */
	char **params;       /* $1..$n values as text */
	size_t nparams;
	char **columns;      /* NULL/0: all columns; else sorted, unique */
	size_t ncolumns;
	enum ss_replica replica;
	enum ss_log_mode log_mode;
};

void ss_shape_init(struct ss_shape *s);
void ss_shape_release(struct ss_shape *s);

/*
 * Parse the `table` parameter with Electric's identifier rules: split on a
 * '.' outside quotes into at most schema.table; unquoted parts are
 * downcased and must match [letter_][letter digit _ $]*; quoted parts
 * unescape "" to "; at most 63 bytes; schema defaults to "public".
 * Errors (SS_ERR_INPUT) use Electric's wording, e.g.
 * "Invalid unquoted identifier contains special characters: a-b".
 */
int ss_shape_parse_table(struct ss_shape *s, const char *text, struct ss_err *err);

/*
 * Parse the `columns` parameter: comma-separated identifiers, unquoted
 * downcased, quoted kept ("" -> "). An empty item is
 * "Invalid zero-length delimited identifier". The result is sorted and
 * deduplicated into s->columns.
 */
int ss_shape_parse_columns(struct ss_shape *s, const char *text, struct ss_err *err);

/* Set the where text (trimmed; NULL or blank clears it). */
void ss_shape_set_where(struct ss_shape *s, const char *where);
/* Append a parameter value ($1, $2, ... in call order). */
void ss_shape_add_param(struct ss_shape *s, const char *value);
/* "default" | "full"; else SS_ERR_INPUT "is invalid". */
int ss_shape_parse_replica(struct ss_shape *s, const char *text, struct ss_err *err);
/* "full" | "changes_only"; else SS_ERR_INPUT "is invalid". */
int ss_shape_parse_log_mode(struct ss_shape *s, const char *text, struct ss_err *err);

/* Append the canonical JSON form to out. */
void ss_shape_canonical(const struct ss_shape *s, struct ss_buf *out);
/* Parse a canonical form back (as stored in the registry or an export).
 * s must be initialised; on error it is left released. */
int ss_shape_from_canonical(struct ss_shape *s, const char *json, struct ss_err *err);

/* Stable 32-bit hash of a canonical form (the first part of a handle). */
uint32_t ss_shape_hash_canonical(const char *canonical, size_t len);

/* Write "<hash>-<us>" into out (at least SS_HANDLE_MAX bytes). */
void ss_shape_format_handle(uint32_t hash, int64_t us, char *out, size_t outsz);
/* Is `text` a well-formed handle ("<digits>-<digits>", not too long)? On
 * success and if hash is non-NULL, store its hash part there. */
int ss_shape_handle_valid(const char *text, uint32_t *hash);

/* Quote an identifier for display the way PostgreSQL does ("a""b"). */
void ss_shape_quote_ident(struct ss_buf *out, const char *ident);

#endif
