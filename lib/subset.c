/*
 * subset.c — subset snapshots: POST body fields, their checks (ORDER BY
 * and where by lib/where), the query and its answer (see subset.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "subset.h"

unsigned ss_subset_from_body(const char *body, size_t len,
			     struct ss_shapereq *q, struct ss_buf *errbody)
{
	static const char *const keys[] = {"where",  "order_by", "limit",
					   "offset", "params",	 NULL};
	json_error_t je;
	json_t *root, *o, *v;
	int i;

	if (!len)
		return 0;
	root = json_loadb(body, len, 0, &je);
	if (!root) {
		ss_buf_adds(
		    errbody,
		    "{\"error\":\"Invalid JSON in request body\",\"details\":");
		ss_http_add_json_text(errbody, je.text);
		ss_buf_addc(errbody, '}');
		return 400;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		ss_buf_adds(
		    errbody,
		    "{\"error\":\"Request body must be a JSON object\"}");
		return 400;
	}
	o = json_object_get(root, "subset");
	if (!json_is_object(o))
		o = root;
	for (i = 0; keys[i]; i++) {
		char **dst = i == 0   ? &q->sub_where
			     : i == 1 ? &q->sub_order
			     : i == 2 ? &q->sub_limit
			     : i == 3 ? &q->sub_offset
				      : &q->sub_params_json;

		v = json_object_get(o, keys[i]);
		if (!v || json_is_null(v))
			continue;
		free(*dst);
		if (json_is_string(v))
			*dst = ss_xstrdup(json_string_value(v));
		else
			*dst = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		q->subset = 1;
	}
	json_decref(root);
	return 0;
}

void ss_subset_release(struct ss_subset *s)
{
	ss_where_free(s->where);
	ss_shapereq_plan_release(&s->plan);
	json_decref(s->params);
	free(s->pv);
	ss_buf_release(&s->tail);
	memset(s, 0, sizeof(*s));
}

/* params: a JSON object of $1..$n values; numbers and booleans as their
 * JSON text. */
static void subset_params(const struct ss_shapereq *q, struct ss_subset *s,
			  struct ss_http_errors *c)
{
	json_error_t je;
	size_t i;

	s->params = json_loads(q->sub_params_json, JSON_DECODE_ANY, &je);
	if (!s->params) {
		ss_http_errors_add(c, "params", "params must be valid JSON");
		return;
	}
	if (!json_is_object(s->params)) {
		ss_http_errors_add(c, "params", "params must be a JSON object");
		return;
	}
	s->npv = json_object_size(s->params);
	s->pv = ss_xcalloc(s->npv + 1, sizeof(*s->pv));
	for (i = 0; i < s->npv; i++) {
		char key[24];
		json_t *v;

		snprintf(key, sizeof(key), "%zu", i + 1);
		v = json_object_get(s->params, key);
		if (!v) {
			ss_http_errors_add(
			    c, "params",
			    "Parameters must be numbered sequentially, "
			    "starting from 1");
			break;
		}
		s->pv[i] = json_is_string(v) ? json_string_value(v)
			   : json_is_null(v) ? NULL
					     : "";
		if (!json_is_string(v) && !json_is_null(v)) {
			char *t = json_dumps(v, JSON_ENCODE_ANY);

			json_object_set_new(s->params, key,
					    json_string(t ? t : ""));
			free(t);
			s->pv[i] =
			    json_string_value(json_object_get(s->params, key));
		}
	}
}

/* subset__where over the shape's columns; a subquery in it is Electric's
 * "Subqueries are not allowed in subsets". */
static int compile_sub_where(const struct ss_shapereq *q,
			     const struct ss_where_column *cols, size_t ncols,
			     struct ss_subset *s,
			     const struct ss_where_limits *lim,
			     struct ss_err *err)
{
	struct ss_where_opts o;

	memset(&o, 0, sizeof(o));
	o.limits = lim;
	o.no_subquery_msg = "Subqueries are not allowed in subsets";
	return ss_where_compile_opts(q->sub_where, cols, ncols, s->pv, s->npv,
				     &o, &s->where, err);
}

unsigned ss_subset_prepare(const struct ss_shapereq *q,
			   const struct ss_where_limits *lim,
			   struct ss_subset *s, struct ss_buf *errbody)
{
	struct ss_http_errors c = {NULL, 0, 0};
	struct ss_err err = SS_ERR_INIT;
	struct ss_where_limits deflim;
	struct ss_buf order = SS_BUF_INIT;
	struct ss_where_column *cols;
	int64_t limit = -1, offset = -1;
	size_t i, ncols;

	memset(s, 0, sizeof(*s));
	ss_buf_init(&s->tail);
	if (q->sub_params_json)
		subset_params(q, s, &c);
	if (q->sub_limit &&
	    ss_parse_i64(q->sub_limit, 1, INT64_MAX, &limit, "limit", &err) < 0)
		ss_http_errors_add(&c, "limit", "must be greater than 0");
	if (q->sub_offset && ss_parse_i64(q->sub_offset, 0, INT64_MAX, &offset,
					  "offset", &err) < 0)
		ss_http_errors_add(&c, "offset",
				   "must be greater than or equal to 0");
	if ((q->sub_limit || q->sub_offset) && !q->sub_order)
		ss_http_errors_add(
		    &c, "order_by",
		    "order_by is required when limit or offset is present");
	/* ORDER BY and where see the same columns: the queryable ones. */
	cols = ss_shapereq_where_columns(q, &ncols);
	if (!lim)
		ss_where_limits_default(&deflim);
	if (q->sub_order && !ss_utf8_valid(q->sub_order, strlen(q->sub_order)))
		ss_http_errors_add(
		    &c, "order_by",
		    "invalid byte sequence for encoding \"UTF8\"");
	else if (q->sub_order &&
		 ss_where_order_by(q->sub_order, cols, ncols,
				   lim ? lim : &deflim, &order, &err) < 0)
		ss_http_errors_add(&c, "order_by", "%s", err.msg);
	if (!c.n && q->sub_where && *q->sub_where) {
		if (!ss_utf8_valid(q->sub_where, strlen(q->sub_where)))
			ss_http_errors_add(
			    &c, "where",
			    "invalid byte sequence for encoding \"UTF8\"");
		else if (compile_sub_where(q, cols, ncols, s,
					   lim ? lim : &deflim, &err) < 0)
			ss_http_errors_add(&c, "where", "%s", err.msg);
	}
	free(cols);
	if (c.n) {
		ss_http_errors_sort(c.e, c.n);
		ss_buf_adds(errbody,
			    "{\"message\":\"Invalid request\",\"errors\":"
			    "{\"subset\":{");
		for (i = 0; i < c.n; i++) {
			if (i)
				ss_buf_addc(errbody, ',');
			ss_http_add_json_text(errbody, c.e[i].field);
			ss_buf_addc(errbody, ':');
			ss_http_add_json_text(errbody, c.e[i].msg);
		}
		ss_buf_adds(errbody, "}}}");
		free(c.e);
		ss_buf_release(&order);
		return 400;
	}
	if (q->ninner && ss_shapereq_plan(q, &s->plan, &err) < 0) {
		ss_buf_adds(errbody, "{\"message\":");
		ss_http_add_json_text(errbody, err.msg);
		ss_buf_addc(errbody, '}');
		ss_buf_release(&order);
		return 500;
	}
	if (order.len)
		ss_buf_addf(&s->tail, " ORDER BY %s", order.buf);
	if (limit >= 0)
		ss_buf_addf(&s->tail, " LIMIT %" PRId64, limit);
	if (offset >= 0)
		ss_buf_addf(&s->tail, " OFFSET %" PRId64, offset);
	ss_buf_release(&order);
	return 0;
}

struct subset_out {
	struct ss_buf body;
	size_t rows;
	struct ss_pg_snapshot snap;
};

static int subset_snap(void *ctx, const struct ss_pg_snapshot *snap,
		       struct ss_err *err)
{
	struct subset_out *o = ctx;

	(void)err;
	o->snap.xmin = snap->xmin;
	o->snap.xmax = snap->xmax;
	o->snap.nxip = snap->nxip;
	o->snap.xip = ss_xcalloc(snap->nxip + 1, sizeof(uint64_t));
	if (snap->nxip)
		memcpy(o->snap.xip, snap->xip, snap->nxip * sizeof(uint64_t));
	return 0;
}

static int subset_row(void *ctx, const char *json, size_t len,
		      struct ss_err *err)
{
	struct subset_out *o = ctx;

	(void)err;
	if (o->rows++)
		ss_buf_addc(&o->body, ',');
	ss_buf_add(&o->body, json, len);
	return 0;
}

int ss_subset_run(void *conn, const struct ss_shapereq *q,
		  const struct ss_subset *s, const char *handle, uint32_t mark,
		  struct ss_buf *out, struct ss_err *err)
{
	struct ss_buf hdrs = SS_BUF_INIT;
	struct subset_out o;
	struct ss_pgq_subset pq;
	struct ss_pgq_snapshot_cb cb = {subset_snap, subset_row, &o};
	uint64_t lsn = 0;
	size_t i;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&pq, 0, sizeof(pq)); /* the struct grows: zero what is not set */
	ss_buf_init(&o.body);
	ss_buf_addf(&hdrs, ",\"snapshot_mark\":%" PRIu32, mark);
	pq.where = s->where ? ss_where_canonical_text(s->where) : NULL;
	pq.tail = s->tail.len ? s->tail.buf : NULL;
	pq.headers = hdrs.buf;
	pq.lsn = &lsn;
	pq.dnf = s->plan.dnf;
	pq.tag_handle = handle;
	ss_buf_adds(&o.body, "\"data\":[");
	rc = ss_pgq_subset(conn, &q->table, q->sel, q->nsel, q->def.where, &pq,
			   1, &cb, err);
	if (rc == 0) {
		ss_buf_addf(out,
			    "{\"metadata\":{\"xmin\":\"%" PRIu64
			    "\",\"xmax\":\"%" PRIu64 "\",\"xip_list\":[",
			    o.snap.xmin, o.snap.xmax);
		for (i = 0; i < o.snap.nxip; i++)
			ss_buf_addf(out, "%s\"%" PRIu64 "\"", i ? "," : "",
				    o.snap.xip[i]);
		ss_buf_addf(out,
			    "],\"database_lsn\":\"%" PRIu64
			    "\",\"snapshot_mark\":%" PRIu32 "},",
			    lsn, mark);
		ss_buf_add(out, o.body.buf, o.body.len);
		ss_buf_adds(out, "]}");
	}
	free(o.snap.xip);
	ss_buf_release(&o.body);
	ss_buf_release(&hdrs);
	return rc < 0 ? -1 : 0;
}
