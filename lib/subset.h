/*
 * subset.h — subset snapshots (Electric 1.x's subset__* parameters and
 * POST bodies): the fields from a POST body, their checks (params JSON,
 * limit, offset, order_by, where) with Electric's 400 bodies, and the
 * query and its {"metadata":..,"data":[..]} answer. The ORDER BY list and
 * the where clause are read and rendered by lib/where
 * (ss_where_order_by, ss_where_compile_limited) over the table's
 * queryable columns: only their canonical text goes into the query.
 */
#ifndef SS_SUBSET_H
#define SS_SUBSET_H

#include <jansson.h>
#include <stdint.h>

#include "pgq.h"
#include "shapereq.h"
#include "util.h"
#include "where.h"

/*
 * The subset fields of a POST body (top-level keys or a nested "subset"
 * object: where, order_by, limit, offset, params; strings as they are,
 * other values as compact JSON) into q's sub_* fields, setting q->subset
 * when any is present. An empty body is no fields. Returns 0, or 400
 * with Electric's body in errbody (invalid JSON, not an object).
 */
unsigned ss_subset_from_body(const char *body, size_t len,
			     struct ss_shapereq *q, struct ss_buf *errbody);

/* A checked subset request. */
struct ss_subset {
	struct ss_where *where; /* compiled subset__where, or NULL */
	struct ss_buf tail;	/* " ORDER BY .. LIMIT n OFFSET m" */
	json_t *params;
	const char **pv;
	size_t npv;
	/* A subquery shape's plan (its rows' tags and active_conditions);
	 * all NULL for other shapes. */
	struct ss_shapereq_plan plan;
};

void ss_subset_release(struct ss_subset *s);

/*
 * Check q's subset fields (limits for the where clause and the ORDER BY
 * list; NULL: defaults) into s (released by the caller either way), and
 * for a subquery shape (q->ninner) build its plan (ss_shapereq_plan).
 * Returns 0, or 400 with Electric's body {"message":"Invalid
 * request","errors":{"subset":{..}}} in errbody, or 500 with
 * {"message":..} when the shape's own clause gives no plan (it was
 * validated with the same tables: not the request's fault).
 */
unsigned ss_subset_prepare(const struct ss_shapereq *q,
			   const struct ss_where_limits *lim,
			   struct ss_subset *s, struct ss_buf *errbody);

/*
 * Run the subset query of q and s on conn (a pooled connection) and
 * append the answer body to out: {"metadata":{"xmin","xmax","xip_list",
 * "database_lsn","snapshot_mark"},"data":[rows]}, each row carrying the
 * snapshot mark. The rows are the shape's (its where, a subquery's the
 * real subquery, evaluated by PostgreSQL in the subset's snapshot) that
 * satisfy subset__where. A subquery shape's rows also carry
 * "active_conditions" and "tags" after the mark, computed by PostgreSQL
 * as for the shape's snapshot rows (ss_dnf_sql), the tags hashing
 * `handle`, the shape's (the request's may be absent or old). 0, or -1
 * with err (PostgreSQL failed; out unchanged).
 */
int ss_subset_run(void *conn, const struct ss_shapereq *q,
		  const struct ss_subset *s, const char *handle, uint32_t mark,
		  struct ss_buf *out, struct ss_err *err);

#endif
