/*
 * shapereq.h — a /v1/shape request's query arguments to a validated shape
 * request, or the exact answer Electric gives for invalid ones (400 with
 * its per-field messages, 401 for a wrong secret, 503 when the catalog
 * cannot be asked). Pure: the only outside call is the catalog callback
 * that describes the table; no HTTP, no globals.
 *
 * In serve's order: ss_shapereq_check_bytes over the raw pairs (NUL bytes
 * and invalid UTF-8), ss_shapereq_args_collect, then ss_shapereq_validate.
 * ss_shapereq_render turns a validated request back into pairs that
 * validate to the same request (the fuzz target's invariant).
 */
#ifndef SS_SHAPEREQ_H
#define SS_SHAPEREQ_H

#include <stddef.h>

#include "offset.h"
#include "pgq.h"
#include "shape.h"
#include "util.h"
#include "where.h"

/* One query argument as the HTTP layer decoded it. key and value need not
 * end at their lengths (a decoded %00 cuts the C string short: the lengths
 * tell); value is NULL for an argument without '='. */
struct ss_shapereq_kv {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};

/* The arguments a shape request reads, the last of a name winning (as
 * Plug does). Pointers are *borrowed* from the pairs they were collected
 * from; an argument without '=' reads as "". */
struct ss_shapereq_args {
	const char *table, *offset, *handle, *live, *live_sse, *exp_sse,
	    *cursor;
	const char *where, *columns, *queryable, *replica, *log, *secret,
	    *api_secret;
	const char *params_plain, *compaction, *move_out;
	const char *sub_where, *sub_params, *sub_limit, *sub_offset, *sub_order;
	const char *pv[101]; /* params[1..100] */
	int params_bad_key, params_max;
	int params_given;
};

/* A validated request. Fields are *new* (ss_shapereq_release frees them),
 * but for table, which the catalog callback filled. */
struct ss_shapereq {
	struct ss_shape def;	   /* table, columns, where (canonical,
				      parameters substituted), replica, log */
	struct ss_buf canon;	   /* ss_shape_canonical(def): its identity */
	struct ss_pgq_table table; /* the catalog's description */
	size_t *sel;		   /* selected columns: indexes into
				      table.cols, in table order */
	size_t nsel;
	char *queryable; /* queryable_columns: 1 per table column
			    it allows; NULL: all */
	struct ss_offset off;
	char *handle; /* NULL: none (or offset -1 / now) */
	int live, sse;
	int compaction; /* experimental_compaction=true (not part of the
			   shape's identity: every shape is compacted by
			   the same policy, see shapesync-db(1) compact) */
	char *cursor;	/* NULL: none */
	/* subset snapshot fields (reference 1.9), checked by the subset
	 * code; NULL when absent */
	int subset;
	char *sub_where, *sub_order, *sub_params_json, *sub_limit, *sub_offset;
	/* A subquery shape (opts->subqueries): the shape of each of its
	 * subqueries, in dependency order, validated as a shape of its own
	 * (def: the subquery's table, where and select list; table; sel),
	 * and the JSON array of the tables its clause is compiled against,
	 * its own first (the "tables" of lib/subq's deps). */
	struct ss_shapereq *inner;
	size_t ninner;
	char *deps_tables;
};

/*
 * How to describe a table: 1 found (t filled, *new*), 0 no such table,
 * -1 the catalog could not be asked (err).
 */
typedef int (*ss_shapereq_describe_fn)(void *ctx, const char *schema,
				       const char *name, struct ss_pgq_table *t,
				       struct ss_err *err);

struct ss_shapereq_opts {
	const char *secret; /* API secret; NULL: none required */
	const struct ss_where_limits *limits; /* NULL: lib/where's defaults */
	ss_shapereq_describe_fn describe;
	void *describe_ctx;
	/* Check only the shape's definition, as if offset were -1 (what
	 * DELETE /v1/shape needs): offset, handle and live as given are
	 * ignored. */
	int definition_only;
	/* Accept subquery shapes (else Electric's "Subqueries are not
	 * supported"), filling inner and deps_tables. */
	int subqueries;
};

/* The answer to an invalid request: status (400, 401 or 503), its JSON
 * body, and retry_after (a static string; NULL: none). */
struct ss_shapereq_error {
	unsigned status;
	const char *retry_after;
	struct ss_buf body;
};

void ss_shapereq_init(struct ss_shapereq *q);
void ss_shapereq_release(struct ss_shapereq *q);
void ss_shapereq_error_init(struct ss_shapereq_error *e);
void ss_shapereq_error_release(struct ss_shapereq_error *e);

/*
 * The first pair whose key or value holds a NUL byte or (but for the
 * value of `table`, which has its own wording) is not UTF-8: 400 naming
 * it, with e filled. 0 when every pair is clean.
 */
unsigned ss_shapereq_check_bytes(const struct ss_shapereq_kv *kv, size_t n,
				 struct ss_shapereq_error *e);

/* Fill a from pairs kv[0..n) (a zeroed first; last of a name wins;
 * params[N] keys checked for 1..100 without leading zeros). */
void ss_shapereq_args_collect(const struct ss_shapereq_kv *kv, size_t n,
			      struct ss_shapereq_args *a);

/*
 * 1 when the arguments carry the secret (secret= or api_secret=, the
 * first if both), or when no secret is required (secret NULL). The one
 * secret check: ss_shapereq_validate calls it, DELETE calls it first.
 */
int ss_shapereq_authorized(const struct ss_shapereq_args *a,
			   const char *secret);

/* The 401 body for a request without the secret. */
#define SS_SHAPEREQ_UNAUTHORIZED                                               \
	"{\"message\":\"Unauthorized - Invalid API secret\"}"

/*
 * Validate the arguments into q (initialised by the caller with
 * ss_shapereq_init; filled even on failure, release it either way).
 * Returns 0 when valid, else the HTTP status with e filled: 401 without
 * the secret, 400 with Electric's per-field messages (every parameter
 * error at once, then the first error of the definition), 503 with
 * retry-after 1 when the catalog failed.
 */
unsigned ss_shapereq_validate(const struct ss_shapereq_args *a,
			      const struct ss_shapereq_opts *o,
			      struct ss_shapereq *q,
			      struct ss_shapereq_error *e);

/*
 * The columns a where clause of q may name (queryable_columns hides the
 * others), for ss_where_compile: *new* array (free() it, not its
 * strings, which q->table owns); *n its length.
 */
struct ss_where_column *ss_shapereq_where_columns(const struct ss_shapereq *q,
						  size_t *n);

/*
 * A subquery shape's plan (lib/dnf.h), for rows serve selects itself
 * (subsets): q->def.where (canonical, its parameters substituted)
 * compiled against every column of q->table, with the tables its
 * subqueries name as validation described them (q->inner) and the
 * limits of stored clauses; the same clause, columns and tables lib/create
 * compiles from the registry's deps for the shape's snapshot. The fields
 * are *new* (ss_shapereq_plan_release, also after an error); w and dnf
 * borrow cols.
 */
struct ss_dnf;
struct ss_shapereq_plan {
	struct ss_where_column *cols;
	struct ss_where *w;
	struct ss_dnf *dnf;
};

/* Build q's plan into p. 0, or -1 with err: SS_ERR_INPUT when q is not
 * a subquery shape (no inner requests) or its clause does not compile. */
int ss_shapereq_plan(const struct ss_shapereq *q, struct ss_shapereq_plan *p,
		     struct ss_err *err);
void ss_shapereq_plan_release(struct ss_shapereq_plan *p);

/*
 * Append q as query pairs "k=v&k=v" (values not percent-encoded: a
 * value may hold '&' or '='; out_kv gets the pairs themselves, pointing
 * into *out's storage) that validate to a request equal to q: canonical
 * table and columns, the canonical where, offset, handle, live, cursor,
 * replica, log, move_out (when delete), queryable_columns, the subset
 * fields and the secret.
 * *out_kv is *new* (free() it); *nkv its length.
 */
void ss_shapereq_render(const struct ss_shapereq *q, const char *secret,
			struct ss_buf *out, struct ss_shapereq_kv **out_kv,
			size_t *nkv);

/*
 * Append a one-line summary of q to out, the same for equal requests
 * (the table test's expected output): canon, then " offset=.. handle=..
 * live=.. sse=.. cursor=.. select=a,b" and queryable and subset fields
 * when present.
 */
void ss_shapereq_describe(const struct ss_shapereq *q, struct ss_buf *out);

#endif
