/*
 * shapereq.c — a /v1/shape request's query arguments to a validated shape
 * request or Electric's exact error answer (reference 1.4; see
 * shapereq.h). Messages are Electric's, word for word.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "shapereq.h"
#include "subq.h"
#include "tablecache.h"
#include "dnf.h"

void ss_shapereq_init(struct ss_shapereq *q)
{
	memset(q, 0, sizeof(*q));
	ss_shape_init(&q->def);
	ss_buf_init(&q->canon);
}

void ss_shapereq_release(struct ss_shapereq *q)
{
	size_t i;

	for (i = 0; i < q->ninner; i++)
		ss_shapereq_release(&q->inner[i]);
	free(q->inner);
	free(q->deps_tables);
	ss_shape_release(&q->def);
	ss_buf_release(&q->canon);
	ss_pgq_table_release(&q->table);
	free(q->sel);
	free(q->queryable);
	free(q->handle);
	free(q->cursor);
	free(q->sub_where);
	free(q->sub_order);
	free(q->sub_params_json);
	free(q->sub_limit);
	free(q->sub_offset);
	ss_shapereq_init(q);
}

void ss_shapereq_error_init(struct ss_shapereq_error *e)
{
	e->status = 0;
	e->retry_after = NULL;
	ss_buf_init(&e->body);
}

void ss_shapereq_error_release(struct ss_shapereq_error *e)
{
	ss_buf_release(&e->body);
	ss_shapereq_error_init(e);
}

/* ------------------------------------------------------------ arguments */

unsigned ss_shapereq_check_bytes(const struct ss_shapereq_kv *kv, size_t n,
				 struct ss_shapereq_error *e)
{
	struct ss_http_field_err fe;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *key = kv[i].key, *value = kv[i].value, *msg;

		if (strlen(key) != kv[i].key_len ||
		    (value && strlen(value) != kv[i].value_len))
			msg =
			    "invalid byte sequence for encoding \"UTF8\": 0x00";
		else if (!ss_utf8_valid(key, kv[i].key_len) ||
			 (value && strcmp(key, "table") && /* its own wording */
			  !ss_utf8_valid(value, kv[i].value_len)))
			msg = "invalid byte sequence for encoding \"UTF8\"";
		else
			continue;
		memset(&fe, 0, sizeof(fe));
		snprintf(fe.field, sizeof(fe.field), "%s", key);
		snprintf(fe.msg, sizeof(fe.msg), "%s", msg);
		ss_buf_reset(&e->body);
		ss_http_invalid_body(&e->body, &fe, 1);
		e->retry_after = NULL;
		return e->status = 400;
	}
	return 0;
}

static void collect_one(struct ss_shapereq_args *a, const char *key,
			const char *value)
{
	static const struct {
		const char *name;
		size_t off;
	} names[] = {
#define A(n, f) {n, offsetof(struct ss_shapereq_args, f)}
	    A("table", table),
	    A("offset", offset),
	    A("handle", handle),
	    A("live", live),
	    A("live_sse", live_sse),
	    A("experimental_live_sse", exp_sse),
	    A("cursor", cursor),
	    A("where", where),
	    A("columns", columns),
	    A("queryable_columns", queryable),
	    A("replica", replica),
	    A("log", log),
	    A("secret", secret),
	    A("api_secret", api_secret),
	    A("params", params_plain),
	    A("experimental_compaction", compaction),
	    A("move_out", move_out),
	    A("subset__where", sub_where),
	    A("subset__params", sub_params),
	    A("subset__limit", sub_limit),
	    A("subset__offset", sub_offset),
	    A("subset__order_by", sub_order),
#undef A
	};
	size_t i;

	if (!value)
		value = "";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(key, names[i].name)) {
			*(const char **)((char *)a + names[i].off) = value;
			return;
		}
	if (!strncmp(key, "params[", 7)) {
		const char *p = key + 7;
		size_t n = strspn(p, "0123456789");
		long v;

		a->params_given = 1;
		if (n == 0 || n > 3 || strcmp(p + n, "]") || *p == '0') {
			a->params_bad_key = 1;
			return;
		}
		v = strtol(p, NULL, 10);
		if (v < 1 || v > 100) {
			a->params_bad_key = 1;
			return;
		}
		a->pv[v] = value;
		if (v > a->params_max)
			a->params_max = (int)v;
	}
}

void ss_shapereq_args_collect(const struct ss_shapereq_kv *kv, size_t n,
			      struct ss_shapereq_args *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < n; i++)
		collect_one(a, kv[i].key, kv[i].value);
}

int ss_shapereq_authorized(const struct ss_shapereq_args *a, const char *secret)
{
	const char *s = a->secret ? a->secret : a->api_secret;

	return !secret || (s && !strcmp(s, secret));
}

/* ------------------------------------------------------------ validation */

static int is_true_param(const char *v)
{
	/* ServeShapePlug: present and not "false" means true. */
	return v && strcmp(v, "false") != 0;
}

/*
 * queryable_columns (Electric's server-side allow-list, set by a proxy):
 * the columns that `columns`, `where` and the subset parameters may name;
 * the others are as if the table did not have them. It must name existing
 * columns and include the key. Without `columns`, the shape selects them.
 */
static int queryable_columns(struct ss_shapereq *r, const char *text,
			     struct ss_http_errors *c)
{
	const struct ss_pgq_table *t = &r->table;
	struct ss_shape q;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf bad = SS_BUF_INIT, missing = SS_BUF_INIT;
	size_t i;
	int rc = 0;

	ss_shape_init(&q);
	if (ss_shape_parse_columns(&q, text, &err) < 0 || !q.columns) {
		ss_http_errors_add(
		    c, "queryable_columns", "%s",
		    err.msg[0] ? err.msg
			       : "Invalid zero-length delimited identifier");
		ss_shape_release(&q);
		return -1;
	}
	r->queryable = ss_xcalloc(t->ncols + 1, 1);
	for (i = 0; i < q.ncolumns; i++) {
		long k = ss_pgq_table_column(t, q.columns[i]);

		if (k >= 0) {
			r->queryable[k] = 1;
			continue;
		}
		if (bad.len)
			ss_buf_adds(&bad, ", ");
		ss_buf_adds(&bad, q.columns[i]);
	}
	for (i = 0; i < t->npk; i++)
		if (!r->queryable[t->pk[i]]) {
			if (missing.len)
				ss_buf_adds(&missing, ", ");
			ss_buf_adds(&missing, t->cols[t->pk[i]].name);
		}
	if (bad.len) {
		ss_http_errors_add(c, "queryable_columns",
				   "The following columns could not be "
				   "found: %s",
				   bad.buf);
		rc = -1;
	} else if (missing.len) {
		ss_http_errors_add(
		    c, "queryable_columns",
		    "The list of queryable columns must "
		    "include all primary key columns, missing: %s",
		    missing.buf);
		rc = -1;
	}
	ss_buf_release(&bad);
	ss_buf_release(&missing);
	ss_shape_release(&q);
	return rc;
}

struct ss_where_column *ss_shapereq_where_columns(const struct ss_shapereq *r,
						  size_t *n)
{
	struct ss_where_column *cols =
	    ss_xcalloc(r->table.ncols + 1, sizeof(*cols));
	size_t k;

	*n = 0;
	for (k = 0; k < r->table.ncols; k++) {
		if (r->queryable && !r->queryable[k])
			continue;
		cols[*n].name = r->table.cols[k].name;
		cols[*n].type = r->table.cols[k].type;
		cols[*n].is_enum = r->table.cols[k].is_enum;
		++*n;
	}
	return cols;
}

/* Selected columns: the requested ones plus the key, in table order, or
 * every column that PostgreSQL replicates. */
static int select_columns(struct ss_shapereq *r, struct ss_http_errors *c)
{
	const struct ss_pgq_table *t = &r->table;
	char *want = ss_xcalloc(t->ncols + 1, 1);
	struct ss_buf missing = SS_BUF_INIT, bad = SS_BUF_INIT;
	size_t i;
	int rc = 0;

	if (!r->def.columns) {
		for (i = 0; i < t->ncols; i++)
			want[i] = !t->cols[i].generated &&
				  (!r->queryable || r->queryable[i]);
	} else {
		for (i = 0; i < r->def.ncolumns; i++) {
			long k = ss_pgq_table_column(t, r->def.columns[i]);

			if (k >= 0 && r->queryable && !r->queryable[k])
				k = -1; /* hidden by queryable_columns */
			if (k < 0) {
				if (bad.len)
					ss_buf_adds(&bad, ", ");
				ss_buf_adds(&bad, r->def.columns[i]);
				continue;
			}
			want[k] = 1;
		}
		if (bad.len) {
			ss_http_errors_add(
			    c, "columns",
			    "The following columns could not be found: %s",
			    bad.buf);
			rc = -1;
		}
		for (i = 0; !rc && i < t->npk; i++)
			if (!want[t->pk[i]]) {
				if (missing.len)
					ss_buf_adds(&missing, ", ");
				ss_buf_adds(&missing, t->cols[t->pk[i]].name);
			}
		if (missing.len) {
			ss_http_errors_add(
			    c, "columns",
			    "The list of columns must include all primary "
			    "key columns, missing: %s",
			    missing.buf);
			rc = -1;
		}
	}
	free(r->sel);
	r->sel = ss_xcalloc(t->ncols + 1, sizeof(*r->sel));
	r->nsel = 0;
	for (i = 0; i < t->ncols; i++)
		if (want[i])
			r->sel[r->nsel++] = i;
	free(want);
	ss_buf_release(&missing);
	ss_buf_release(&bad);
	return rc;
}

/* "Table "s"."t" <what>" for the table errors. */
static void table_err(struct ss_http_errors *c, const struct ss_shape *def,
		      const char *what)
{
	struct ss_buf q = SS_BUF_INIT;

	ss_shape_quote_ident(&q, def->schema);
	ss_buf_addc(&q, '.');
	ss_shape_quote_ident(&q, def->table);
	ss_http_errors_add(c, "table", "Table %s %s", q.buf, what);
	ss_buf_release(&q);
}

/* The tables subqueries name, described through the request's catalog
 * lookup and kept until the clause is compiled. */
struct sublookup {
	const struct ss_shapereq_opts *o;
	struct ss_pgq_table *tabs;
	struct ss_where_column **cols;
	size_t n;
	int unavailable; /* the catalog could not be asked */
};

static int sub_describe(void *ctx, const char *schema, const char *name,
			const struct ss_where_column **cols, size_t *ncols,
			struct ss_err *err)
{
	struct sublookup *l = ctx;
	struct ss_pgq_table t;
	struct ss_where_column *wc;
	size_t k;
	int i;

	memset(&t, 0, sizeof(t));
	i = l->o->describe(l->o->describe_ctx, schema, name, &t, err);
	if (i < 0)
		l->unavailable = 1;
	if (i <= 0)
		return i;
	wc = ss_xcalloc(t.ncols + 1, sizeof(*wc));
	for (k = 0; k < t.ncols; k++) {
		wc[k].name = t.cols[k].name;
		wc[k].type = t.cols[k].type;
		wc[k].is_enum = t.cols[k].is_enum;
	}
	l->tabs = ss_xrealloc(l->tabs, (l->n + 1) * sizeof(*l->tabs));
	l->cols = ss_xrealloc(l->cols, (l->n + 1) * sizeof(*l->cols));
	l->tabs[l->n] = t;
	l->cols[l->n] = wc;
	*cols = wc;
	*ncols = t.ncols;
	l->n++;
	return 1;
}

static void sublookup_release(struct sublookup *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		ss_pgq_table_release(&l->tabs[i]);
		free(l->cols[i]);
	}
	free(l->tabs);
	free(l->cols);
}

/* Every column of t for lib/where: *new* array (free() it), the strings
 * t's. */
static struct ss_where_column *table_columns(const struct ss_pgq_table *t)
{
	struct ss_where_column *cols = ss_xcalloc(t->ncols + 1, sizeof(*cols));
	size_t k;

	for (k = 0; k < t->ncols; k++) {
		cols[k].name = t->cols[k].name;
		cols[k].type = t->cols[k].type;
		cols[k].is_enum = t->cols[k].is_enum;
	}
	return cols;
}

/* One table of a subquery shape's deps, every column. */
static void deps_table(struct ss_buf *b, const struct ss_pgq_table *t)
{
	struct ss_where_column *cols = table_columns(t);

	ss_subq_table_json(b, t->schema, t->name, cols, t->ncols);
	free(cols);
}

/* The shape that follows dependency `dep` (its table described as t):
 * the subquery's table, where and select list. */
static void inner_request(struct ss_shapereq *in,
			  const struct ss_where_dep *dep,
			  const struct ss_pgq_table *t)
{
	size_t i, k;

	ss_shapereq_init(in);
	in->def.schema = ss_xstrdup(dep->schema);
	in->def.table = ss_xstrdup(dep->table);
	if (dep->where)
		ss_shape_set_where(&in->def, dep->where);
	in->def.columns = ss_xcalloc(dep->ncols, sizeof(char *));
	for (i = 0; i < dep->ncols; i++)
		in->def.columns[i] = ss_xstrdup(dep->cols[i]);
	in->def.ncolumns = dep->ncols;
	ss_tablecache_copy(&in->table, t);
	in->sel = ss_xcalloc(t->ncols + 1, sizeof(*in->sel));
	for (k = 0; k < t->ncols; k++)
		for (i = 0; i < dep->ncols; i++)
			if (!strcmp(t->cols[k].name, dep->cols[i])) {
				in->sel[in->nsel++] = k;
				break;
			}
	ss_shape_canonical(&in->def, &in->canon);
}

/* How deep subqueries may nest: the outer shape's own is level 1. */
#define NEST_MAX 4

static void subquery_request(struct ss_shapereq *r, const struct ss_where *w,
			     const struct sublookup *sl, int level,
			     struct ss_http_errors *c);

/*
 * A dependency whose subquery has subqueries of its own (nesting): its
 * shape is a subquery shape too, made with move_out=delete and
 * replica=full, so that every change of its rows, moves included, is a
 * line with the whole row: route's view of it follows those lines
 * (docs/subqueries.md, "Nested subqueries"). Compiles the inner clause
 * against its table (in->table) and builds in's own inner shapes.
 * 0, or -1 with the error collected in c.
 */
static int nested_request(struct ss_shapereq *in, const struct sublookup *up,
			  int level, struct ss_http_errors *c)
{
	struct sublookup sl;
	struct ss_where_tables t = {sub_describe, &sl};
	struct ss_where_column *cols;
	struct ss_where_opts o;
	struct ss_where_limits lim;
	struct ss_where *iw = NULL;
	struct ss_err err = SS_ERR_INIT;
	int rc = 0;

	if (!in->def.where)
		return 0;
	memset(&sl, 0, sizeof(sl));
	sl.o = up->o;
	memset(&o, 0, sizeof(o));
	ss_where_limits_stored(&lim);
	o.limits = &lim;
	o.tables = &t;
	cols = table_columns(&in->table);
	if (ss_where_compile_opts(in->def.where, cols, in->table.ncols, NULL, 0,
				  &o, &iw, &err) < 0) {
		ss_http_errors_add(c, "where", "%s", err.msg);
		rc = -1;
	} else if (ss_where_ndeps(iw) > 0) {
		if (level >= NEST_MAX) {
			ss_http_errors_add(c, "where",
					   "subqueries are nested more than "
					   "%d levels deep",
					   NEST_MAX);
			rc = -1;
		} else {
			in->def.move_out = SS_MOVE_OUT_DELETE;
			in->def.replica = SS_REPLICA_FULL;
			subquery_request(in, iw, &sl, level + 1, c);
			ss_buf_reset(&in->canon);
			ss_shape_canonical(&in->def, &in->canon);
			rc = c->n ? -1 : 0;
		}
	}
	ss_where_free(iw);
	free(cols);
	sublookup_release(&sl);
	return rc;
}

/* A subquery shape's inner requests and deps tables, from its clause
 * and the tables its subqueries named (sl); level: how deep r is. An
 * error (a nested clause) is collected in c. */
static void subquery_request(struct ss_shapereq *r, const struct ss_where *w,
			     const struct sublookup *sl, int level,
			     struct ss_http_errors *c)
{
	struct ss_buf b = SS_BUF_INIT;
	size_t d, j;

	r->ninner = ss_where_ndeps(w);
	r->inner = ss_xcalloc(r->ninner, sizeof(*r->inner));
	for (d = 0; d < r->ninner; d++) {
		const struct ss_where_dep *dep = ss_where_dep_at(w, d);

		for (j = 0; j < sl->n; j++)
			if (!strcmp(sl->tabs[j].schema, dep->schema) &&
			    !strcmp(sl->tabs[j].name, dep->table))
				break;
		/* compile described every table it named */
		inner_request(&r->inner[d], dep, &sl->tabs[j < sl->n ? j : 0]);
		nested_request(&r->inner[d], sl, level, c);
	}
	ss_buf_addc(&b, '[');
	deps_table(&b, &r->table);
	for (j = 0; j < sl->n; j++) {
		size_t k;
		int seen = !strcmp(sl->tabs[j].schema, r->table.schema) &&
			   !strcmp(sl->tabs[j].name, r->table.name);

		for (k = 0; k < j && !seen; k++)
			seen =
			    !strcmp(sl->tabs[k].schema, sl->tabs[j].schema) &&
			    !strcmp(sl->tabs[k].name, sl->tabs[j].name);
		if (seen)
			continue;
		ss_buf_addc(&b, ',');
		deps_table(&b, &sl->tabs[j]);
	}
	ss_buf_addc(&b, ']');
	r->deps_tables = ss_buf_detach(&b, NULL);
}

/* Compile the where clause with the params; 0, -1 with the error
 * collected, or -2 when the catalog could not be asked about a table a
 * subquery names. */
static int check_where(const struct ss_shapereq_args *a,
		       const struct ss_shapereq_opts *o, struct ss_shapereq *r,
		       struct ss_http_errors *c)
{
	struct ss_where_limits deflim;
	struct ss_err err = SS_ERR_INIT;
	struct ss_where_column *cols;
	struct ss_where *w = NULL;
	struct ss_where_opts wo;
	struct sublookup sl;
	struct ss_where_tables tables = {sub_describe, &sl};
	struct ss_dnf *dnf = NULL;
	const char *field = "where";
	const char **pv;
	size_t k;
	int i;

	if (!ss_utf8_valid(a->where, strlen(a->where))) {
		ss_http_errors_add(
		    c, "where", "invalid byte sequence for encoding \"UTF8\"");
		return -1;
	}
	pv = ss_xcalloc((size_t)a->params_max + 1, sizeof(*pv));
	for (i = 1; i <= a->params_max; i++) {
		if (!ss_utf8_valid(a->pv[i], strlen(a->pv[i]))) {
			free(pv);
			ss_http_errors_add(
			    c, "params",
			    "invalid byte sequence for encoding \"UTF8\"");
			return -1;
		}
		pv[i - 1] = a->pv[i];
	}
	if (!o->limits)
		ss_where_limits_default(&deflim);
	cols = ss_shapereq_where_columns(r, &k);
	memset(&wo, 0, sizeof(wo));
	memset(&sl, 0, sizeof(sl));
	sl.o = o;
	wo.limits = o->limits ? o->limits : &deflim;
	wo.tables = &tables;
	wo.err_field = &field;
	i = ss_where_compile_opts(a->where, cols, k, pv, (size_t)a->params_max,
				  &wo, &w, &err);
	if (i == 0 && ss_where_ndeps(w) > 0 &&
	    ss_dnf_build(w, cols, k, &dnf, &err) < 0) {
		ss_where_free(w);
		w = NULL;
		i = -1;
	}
	ss_dnf_free(dnf);
	free(cols);
	free(pv);
	if (i == 0 && ss_where_ndeps(w) > 0 && o->subqueries &&
	    !r->compaction && !sl.unavailable) {
		subquery_request(r, w, &sl, 1, c);
		if (c->n) {
			ss_where_free(w);
			sublookup_release(&sl);
			return -1;
		}
	}
	sublookup_release(&sl);
	if (sl.unavailable)
		return -2;
	if (i < 0) {
		/* Electric's wording for a missing parameter value. */
		char *np = strstr(err.msg, "there is no parameter $");

		if (np) {
			char num[16];

			snprintf(num, sizeof(num), "%.10s", np + 23);
			num[strspn(num, "0123456789")] = '\0';
			snprintf(np, sizeof(err.msg) - (size_t)(np - err.msg),
				 "parameter $%s was not provided", num);
		}
		ss_http_errors_add(c, field, "%s", err.msg);
		return -1;
	}
	if (ss_where_ndeps(w) > 0 && !r->ninner) {
		ss_where_free(w);
		if (r->compaction) {
			ss_http_errors_add(c, "experimental_compaction",
					   "can't be enabled for shapes with "
					   "subqueries");
			return -1;
		}
		/* Electric's answer while its subqueries were behind a
		 * feature flag: the pipeline does not route them yet. */
		ss_http_errors_add(c, "where", "Subqueries are not supported");
		return -1;
	}
	/* Identity is the canonical text with the parameters substituted,
	 * as Electric's comparable (reference 2.1). */
	ss_shape_set_where(&r->def, ss_where_canonical_text(w));
	ss_where_free(w);
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? ss_xstrdup(s) : NULL;
}

unsigned ss_shapereq_validate(const struct ss_shapereq_args *a,
			      const struct ss_shapereq_opts *o,
			      struct ss_shapereq *r,
			      struct ss_shapereq_error *e)
{
	struct ss_http_errors c = {NULL, 0, 0};
	struct ss_err err = SS_ERR_INIT;
	const char *handle = a->handle, *offset = a->offset;
	int i, have_offset = 0;

	if (!ss_shapereq_authorized(a, o->secret)) {
		ss_buf_reset(&e->body);
		ss_buf_adds(&e->body, SS_SHAPEREQ_UNAUTHORIZED);
		e->retry_after = NULL;
		return e->status = 401;
	}
	if (o->definition_only)
		offset = "-1";
	if (ss_shape_parse_replica(&r->def, a->replica, &err) < 0)
		ss_http_errors_add(&c, "replica", "is invalid");
	if (ss_shape_parse_log_mode(&r->def, a->log, &err) < 0)
		ss_http_errors_add(&c, "log", "is invalid");
	if (ss_shape_parse_move_out(&r->def, a->move_out, &err) < 0)
		ss_http_errors_add(&c, "move_out", "is invalid");
	/* A boolean as Ecto casts one from a query string. */
	if (a->compaction &&
	    (!strcmp(a->compaction, "true") || !strcmp(a->compaction, "1")))
		r->compaction = 1;
	else if (a->compaction && strcmp(a->compaction, "false") &&
		 strcmp(a->compaction, "0"))
		ss_http_errors_add(&c, "experimental_compaction", "is invalid");
	if (!offset || !*offset) {
		ss_http_errors_add(&c, "offset", "can't be blank");
	} else if (ss_offset_parse(offset, SS_OFFSET_ALLOW_NOW, &r->off, &err) <
		   0) {
		ss_http_errors_add(&c, "offset", "has invalid format");
	} else {
		have_offset = 1;
	}
	if (a->params_plain && !a->params_given)
		ss_http_errors_add(&c, "params", "is invalid");
	r->live = is_true_param(a->live);
	r->sse = a->live_sse ? is_true_param(a->live_sse)
			     : (a->exp_sse && !strcmp(a->exp_sse, "true"));
	if (have_offset) {
		if (r->off.kind != SS_OFFSET_NORMAL)
			handle = NULL; /* dropped with -1 and now */
		else if (!handle || !*handle)
			ss_http_errors_add(&c, "handle",
					   "can't be blank when offset != -1");
		if (r->live && r->off.kind == SS_OFFSET_BEFORE_ALL)
			ss_http_errors_add(&c, "live",
					   "can't be true when offset == -1");
		if (r->live && r->off.kind == SS_OFFSET_NOW)
			ss_http_errors_add(
			    &c, "live", "can't be true when offset is 'now'");
	}
	if (r->sse && !r->live)
		ss_http_errors_add(&c, "live_sse",
				   "can't be true unless live is also true");
	if (a->params_bad_key) {
		ss_http_errors_add(&c, "params",
				   "Parameters can only use numbers as keys");
	} else {
		for (i = 1; i <= a->params_max; i++)
			if (!a->pv[i]) {
				ss_http_errors_add(
				    &c, "params",
				    "Parameters must be numbered sequentially, "
				    "starting from 1");
				break;
			}
	}
	if (c.n)
		goto invalid;
	if (!a->table || !*a->table) {
		ss_http_errors_add(&c, "table", "can't be blank");
		goto invalid;
	}

	/* The shape itself: table, columns, where (Shape.new). */
	if (ss_shape_parse_table(&r->def, a->table, &err) < 0) {
		ss_http_errors_add(&c, "table", "%s", err.msg);
		goto invalid;
	}
	if (a->columns &&
	    ss_shape_parse_columns(&r->def, a->columns, &err) < 0) {
		ss_http_errors_add(&c, "columns", "%s", err.msg);
		goto invalid;
	}
	if (a->columns && !r->def.columns) {
		ss_http_errors_add(&c, "columns",
				   "Invalid zero-length delimited identifier");
		goto invalid;
	}
	i = o->describe(o->describe_ctx, r->def.schema, r->def.table, &r->table,
			&err);
	if (i < 0) {
	unavailable:
		ss_buf_reset(&e->body);
		ss_http_message_body(&e->body,
				     "Cannot connect to the database to verify "
				     "the shape. Please try again later.");
		e->retry_after = "1";
		free(c.e);
		return e->status = 503;
	}
	if (i == 0) {
		table_err(&c, &r->def,
			  "does not exist. If the table name contains "
			  "capitals or special characters you must quote it.");
		goto invalid;
	}
	if (r->table.system) {
		/* A permanent error: no retry will publish a catalog. */
		table_err(&c, &r->def,
			  "is a system catalog, which logical "
			  "replication cannot follow");
		goto invalid;
	}
	if (a->queryable && queryable_columns(r, a->queryable, &c) < 0)
		goto invalid;
	/* Without columns the shape selects the queryable ones: the same
	 * definition, and the same shape, as asking for them. */
	if (a->queryable && !r->def.columns &&
	    ss_shape_parse_columns(&r->def, a->queryable, &err) < 0) {
		ss_http_errors_add(&c, "queryable_columns", "%s", err.msg);
		goto invalid;
	}
	if (select_columns(r, &c) < 0)
		goto invalid;
	if (a->where && *a->where) {
		i = check_where(a, o, r, &c);
		if (i == -2)
			goto unavailable;
		if (i < 0)
			goto invalid;
	}
	/* Only a subquery shape has move-outs: for the others move_out
	 * changes nothing, so it is not part of their identity. */
	if (!r->ninner)
		r->def.move_out = SS_MOVE_OUT_EVENT;
	ss_shape_canonical(&r->def, &r->canon);
	if (a->sub_where || a->sub_params || a->sub_limit || a->sub_offset ||
	    a->sub_order) {
		r->subset = 1;
		r->sub_where = dup_or_null(a->sub_where);
		r->sub_order = dup_or_null(a->sub_order);
		r->sub_params_json = dup_or_null(a->sub_params);
		r->sub_limit = dup_or_null(a->sub_limit);
		r->sub_offset = dup_or_null(a->sub_offset);
	}
	r->handle = dup_or_null(handle);
	r->cursor = dup_or_null(a->cursor);
	free(c.e);
	return 0;
invalid:
	ss_buf_reset(&e->body);
	ss_http_invalid_body(&e->body, c.e, c.n);
	e->retry_after = NULL;
	free(c.e);
	return e->status = 400;
}

/* ------------------------------------------------------------ the plan */

/* The tables a plan's clause names: the request's own and its inner
 * requests', as validation described them (tcols[0] the own table's,
 * tcols[1 + i] inner request i's). */
struct plan_tables {
	const struct ss_shapereq *q;
	struct ss_where_column **tcols;
};

static int plan_describe(void *ctx, const char *schema, const char *name,
			 const struct ss_where_column **cols, size_t *ncols,
			 struct ss_err *err)
{
	struct plan_tables *l = ctx;
	size_t i;

	(void)err;
	for (i = 0; i <= l->q->ninner; i++) {
		const struct ss_pgq_table *t =
		    i ? &l->q->inner[i - 1].table : &l->q->table;

		if (!t->schema || strcmp(t->schema, schema) ||
		    strcmp(t->name, name))
			continue;
		*cols = l->tcols[i];
		*ncols = t->ncols;
		return 1;
	}
	return 0;
}

int ss_shapereq_plan(const struct ss_shapereq *q, struct ss_shapereq_plan *p,
		     struct ss_err *err)
{
	struct plan_tables l;
	struct ss_where_tables t = {plan_describe, &l};
	struct ss_where_limits lim;
	struct ss_where_opts o;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!q->ninner || !q->def.where)
		return ss_err_set(err, SS_ERR_INPUT,
				  "not a subquery shape: no plan");
	l.q = q;
	l.tcols = ss_xcalloc(q->ninner + 1, sizeof(*l.tcols));
	for (i = 0; i <= q->ninner; i++)
		l.tcols[i] =
		    table_columns(i ? &q->inner[i - 1].table : &q->table);
	/* The outer columns stay: the plan's positions name them. */
	p->cols = l.tcols[0];
	memset(&o, 0, sizeof(o));
	ss_where_limits_stored(&lim);
	o.limits = &lim;
	o.tables = &t;
	rc = ss_where_compile_opts(q->def.where, p->cols, q->table.ncols, NULL,
				   0, &o, &p->w, err);
	if (rc == 0)
		rc = ss_dnf_build(p->w, p->cols, q->table.ncols, &p->dnf, err);
	for (i = 1; i <= q->ninner; i++)
		free(l.tcols[i]);
	free(l.tcols);
	return rc < 0 ? -1 : 0;
}

void ss_shapereq_plan_release(struct ss_shapereq_plan *p)
{
	ss_dnf_free(p->dnf);
	ss_where_free(p->w);
	free(p->cols);
	memset(p, 0, sizeof(*p));
}

/* ------------------------------------------------------------ rendering */

static void add_pair(struct ss_buf *out, const char *key, const char *value)
{
	if (out->len)
		ss_buf_addc(out, '\0');
	ss_buf_adds(out, key);
	ss_buf_addc(out, '\0');
	ss_buf_adds(out, value);
}

/* The names of the columns where keep[k] (keep NULL: sel), quoted and
 * comma separated. */
static void column_list(const struct ss_shapereq *q, const char *keep,
			struct ss_buf *b)
{
	size_t k;

	for (k = 0; k < q->table.ncols; k++) {
		if (!keep[k])
			continue;
		if (b->len)
			ss_buf_addc(b, ',');
		ss_shape_quote_ident(b, q->table.cols[k].name);
	}
}

void ss_shapereq_render(const struct ss_shapereq *q, const char *secret,
			struct ss_buf *out, struct ss_shapereq_kv **out_kv,
			size_t *nkv)
{
	struct ss_buf b = SS_BUF_INIT, pairs = SS_BUF_INIT;
	char off[SS_OFFSET_STRMAX];
	size_t i, n = 0, pos;

	ss_shape_quote_ident(&b, q->def.schema);
	ss_buf_addc(&b, '.');
	ss_shape_quote_ident(&b, q->def.table);
	add_pair(&pairs, "table", b.buf);
	if (q->def.columns) {
		ss_buf_reset(&b);
		for (i = 0; i < q->def.ncolumns; i++) {
			if (i)
				ss_buf_addc(&b, ',');
			ss_shape_quote_ident(&b, q->def.columns[i]);
		}
		add_pair(&pairs, "columns", b.buf);
	}
	if (q->queryable) {
		ss_buf_reset(&b);
		column_list(q, q->queryable, &b);
		add_pair(&pairs, "queryable_columns", b.buf);
	}
	if (q->def.where)
		add_pair(&pairs, "where", q->def.where);
	add_pair(&pairs, "offset", ss_offset_format(&q->off, off));
	if (q->handle)
		add_pair(&pairs, "handle", q->handle);
	if (q->live)
		add_pair(&pairs, "live", "true");
	if (q->compaction)
		add_pair(&pairs, "experimental_compaction", "true");
	if (q->sse)
		add_pair(&pairs, "live_sse", "true");
	if (q->cursor)
		add_pair(&pairs, "cursor", q->cursor);
	add_pair(&pairs, "replica",
		 q->def.replica == SS_REPLICA_FULL ? "full" : "default");
	add_pair(&pairs, "log",
		 q->def.log_mode == SS_LOG_FULL ? "full" : "changes_only");
	if (q->def.move_out == SS_MOVE_OUT_DELETE)
		add_pair(&pairs, "move_out", "delete");
	if (q->sub_where)
		add_pair(&pairs, "subset__where", q->sub_where);
	if (q->sub_order)
		add_pair(&pairs, "subset__order_by", q->sub_order);
	if (q->sub_params_json)
		add_pair(&pairs, "subset__params", q->sub_params_json);
	if (q->sub_limit)
		add_pair(&pairs, "subset__limit", q->sub_limit);
	if (q->sub_offset)
		add_pair(&pairs, "subset__offset", q->sub_offset);
	if (secret)
		add_pair(&pairs, "secret", secret);
	ss_buf_release(&b);

	/* The pairs are "k\0v\0k\0v": point into out's copy. */
	ss_buf_reset(out);
	ss_buf_add(out, pairs.buf, pairs.len);
	ss_buf_release(&pairs);
	for (pos = 0; pos <= out->len; pos += strlen(out->buf + pos) + 1)
		n++;
	*nkv = n / 2;
	*out_kv = ss_xcalloc(*nkv + 1, sizeof(**out_kv));
	for (i = 0, pos = 0; i < *nkv; i++) {
		struct ss_shapereq_kv *kv = &(*out_kv)[i];

		kv->key = out->buf + pos;
		kv->key_len = strlen(kv->key);
		pos += kv->key_len + 1;
		kv->value = out->buf + pos;
		kv->value_len = strlen(kv->value);
		pos += kv->value_len + 1;
	}
}

void ss_shapereq_describe(const struct ss_shapereq *q, struct ss_buf *out)
{
	char off[SS_OFFSET_STRMAX];
	struct ss_buf b = SS_BUF_INIT;
	size_t i;

	ss_buf_add(out, q->canon.buf, q->canon.len);
	ss_buf_addf(out, " offset=%s", ss_offset_format(&q->off, off));
	if (q->handle)
		ss_buf_addf(out, " handle=%s", q->handle);
	ss_buf_addf(out, " live=%d sse=%d", q->live, q->sse);
	if (q->compaction)
		ss_buf_adds(out, " compaction");
	if (q->cursor)
		ss_buf_addf(out, " cursor=%s", q->cursor);
	ss_buf_adds(out, " select=");
	for (i = 0; i < q->nsel; i++) {
		if (i)
			ss_buf_addc(out, ',');
		ss_buf_adds(out, q->table.cols[q->sel[i]].name);
	}
	if (q->queryable) {
		column_list(q, q->queryable, &b);
		ss_buf_addf(out, " queryable=%s", b.buf);
	}
	if (q->subset) {
		ss_buf_adds(out, " subset");
		if (q->sub_where)
			ss_buf_addf(out, " where=%s", q->sub_where);
		if (q->sub_order)
			ss_buf_addf(out, " order_by=%s", q->sub_order);
		if (q->sub_params_json)
			ss_buf_addf(out, " params=%s", q->sub_params_json);
		if (q->sub_limit)
			ss_buf_addf(out, " limit=%s", q->sub_limit);
		if (q->sub_offset)
			ss_buf_addf(out, " offset=%s", q->sub_offset);
	}
	ss_buf_release(&b);
}
