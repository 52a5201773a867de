/*
 * shape.h — a shape definition (table, where, params, columns, replica,
 * log mode), its canonical form, stable hash and handles.
 *
 * Two requests name the same shape iff their canonical forms are equal.
 * The canonical form is a compact JSON object with a fixed key order:
 *   {"schema":"public","table":"items","where":"...","params":["1"],
 *    "columns":["id","title"],"replica":"default","log":"full"}
 * and, for a shape with move_out=delete only, a last member
 * "move_out":"delete" (so that every other shape keeps its form).
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
/* How a subquery shape tells its clients that rows left it because a
 * value left a subquery: Electric's move-out event (the default), or a
 * delete message per row (the `move_out=delete` parameter, for clients
 * that ignore move-out events, such as @electric-sql/client's Shape). */
enum ss_move_out { SS_MOVE_OUT_EVENT = 0, SS_MOVE_OUT_DELETE = 1 };

/* Longest identifier PostgreSQL keeps (NAMEDATALEN - 1). */
#define SS_IDENT_MAX 63
/* A handle is "<hash>-<microseconds>": at most 10 + 1 + 20 chars. */
#define SS_HANDLE_MAX 40

/* A shape definition. Every string is owned by the struct (*new*, freed by
 * ss_shape_release). */
struct ss_shape {
	char *schema; /* never NULL after parse; "public" by default */
	char *table;
	char *where;   /* NULL: no where clause */
	char **params; /* $1..$n values as text */
	size_t nparams;
	char **columns; /* NULL/0: all columns; else sorted, unique */
	size_t ncolumns;
	enum ss_replica replica;
	enum ss_log_mode log_mode;
	enum ss_move_out move_out;
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
 * Details: "letter" is an ASCII letter or any non-ASCII character; only
 * ASCII is downcased (PostgreSQL in UTF-8); the 63 counts bytes; an
 * unterminated quote fails as an unquoted identifier ("foo"."bar -> special
 * characters: "bar); inside quotes any odd run of '"' is "Invalid
 * identifier with unescaped quote: ..."; text that is not valid UTF-8 is
 * "Invalid identifier, not valid UTF-8". NULL text is treated as "". On
 * success s->schema and s->table are replaced; on error s is unchanged.
 */
int ss_shape_parse_table(struct ss_shape *s, const char *text,
			 struct ss_err *err);

/*
 * Parse the `columns` parameter: comma-separated identifiers, unquoted
 * downcased, quoted kept ("" -> "). An empty item is
 * "Invalid zero-length delimited identifier". The result is sorted and
 * deduplicated into s->columns. A comma splits iff an even number of '"'
 * follows it (Electric's regex), which only matters for unbalanced quotes.
 * Each item follows the identifier rules of ss_shape_parse_table. On error
 * s is unchanged.
 */
int ss_shape_parse_columns(struct ss_shape *s, const char *text,
			   struct ss_err *err);

/* Set the where text (trimmed of ASCII whitespace; NULL or blank clears
 * it). The text is copied. The where text and params must be valid UTF-8
 * (check hostile input with ss_utf8_valid) or the canonical form is
 * not valid JSON. */
void ss_shape_set_where(struct ss_shape *s, const char *where);
/* Append a parameter value ($1, $2, ... in call order); copied, NULL is "". */
void ss_shape_add_param(struct ss_shape *s, const char *value);
/* "default" | "full"; else SS_ERR_INPUT "is invalid". NULL (parameter
 * absent) sets the default. */
int ss_shape_parse_replica(struct ss_shape *s, const char *text,
			   struct ss_err *err);
/* "full" | "changes_only"; else SS_ERR_INPUT "is invalid". NULL (parameter
 * absent) sets the default. */
int ss_shape_parse_log_mode(struct ss_shape *s, const char *text,
			    struct ss_err *err);

/* "event" | "delete"; else SS_ERR_INPUT "is invalid". NULL (parameter
 * absent) sets the default (event). */
int ss_shape_parse_move_out(struct ss_shape *s, const char *text,
			    struct ss_err *err);

/* Append the canonical JSON form to out. A NULL schema or table (a shape
 * never parsed) is written as null, which from_canonical rejects. */
void ss_shape_canonical(const struct ss_shape *s, struct ss_buf *out);
/*
 * Parse a canonical form back (as stored in the registry or an export).
 * s must be initialised; on error it is left released. Strict: an object
 * with exactly the seven keys (no duplicates, no others; an eighth,
 * "move_out", only as "delete"), the right types,
 * no NUL in strings, schema/table/columns 1..63 bytes, columns sorted,
 * unique and non-empty (else null), where null or trimmed and non-empty,
 * so that canonical(from_canonical(x)) == x for every canonical x. Key
 * order and whitespace are not checked. Errors are SS_ERR_INPUT.
 */
int ss_shape_from_canonical(struct ss_shape *s, const char *json,
			    struct ss_err *err);

/* Stable 32-bit hash of a canonical form (the first part of a handle):
 * ss_hash64 folded as hi ^ lo. Pinned by tests/unit/test-shape.c; changing
 * it changes every handle minted from now on. */
uint32_t ss_shape_hash_canonical(const char *canonical, size_t len);

/* Write "<hash>-<us>" into out (at least SS_HANDLE_MAX bytes); a negative
 * us is written as 0. */
void ss_shape_format_handle(uint32_t hash, int64_t us, char *out, size_t outsz);
/* Is `text` a well-formed handle? Exactly "<1..10 digits>-<1..20 digits>",
 * no leading zeros (each handle has one spelling), hash <= UINT32_MAX,
 * nothing else. Safe on hostile input (HTTP, file names). Returns 1 or 0;
 * on 1 and if hash is non-NULL, stores its hash part there. */
int ss_shape_handle_valid(const char *text, uint32_t *hash);

/* Quote an identifier for display the way PostgreSQL does ("a""b"); it is
 * always quoted, which is always correct. */
void ss_shape_quote_ident(struct ss_buf *out, const char *ident);

#endif
