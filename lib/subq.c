/*
 * subq.c — route's half of subquery shapes: inner shapes' views, outer
 * shapes' plans, membership with pending move-ins, the meta of outer
 * changes and the moves of inner changes (subq.h, docs/subqueries.md).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dnf.h"
#include "subq.h"
#include "view.h"

struct outer;

struct user {
	struct outer *o;
	size_t dep;
};

struct inner {
	int64_t id;
	struct ss_view *view;
	size_t ncols;
	char **names, **types;
	struct user *users; /* ascending by outer id, then dep */
	size_t nusers, ausers;
	int loaded;
	ss_lsn loaded_lsn;	    /* its rows hold every commit before it */
	struct ss_pg_snapshot snap; /* xip owned */
};

/* A move not yet settled: a move-in, or with move_out=delete a
 * move-out (out). Until then the shape sees the value as not moved: a
 * value that is in the view but must not count yet is hidden, one that
 * left the view but must still count is kept (keep). */
struct pend {
	uint64_t number;
	size_t dep;
	char **vals;
	size_t nvals;
	int out, keep;
};

struct outer {
	int64_t id;
	char *handle;
	struct ss_where *w;
	struct ss_dnf *dnf;
	size_t ndeps;
	struct inner **inner; /* per dependency */
	/* per dependency, NULL until used: the pending values hidden from
	 * the view, and those kept in it (struct pend) */
	struct ss_view **hide, **keep;
	int deletes; /* move_out=delete: move-outs are queried too */
	struct pend *pend;
	size_t npend, apend;
	unsigned char *ac_old, *ac_new; /* npositions each */
	/* bumped by every move that can make a move-in's rows stale */
	uint64_t gen;
	size_t nsubpos; /* subquery positions of the plan */
	/* The routing index (ss_subq_index_lookup): the dependency every
	 * disjunct tests positively on one column, and that column; -1 and
	 * NULL when there is none. */
	long idx_dep;
	char *idx_col;
	void *cookie;  /* the caller's (ss_subq_set_cookie) */
	int idx_exact; /* the clause is the indexed test alone */
	struct ss_subq *q;
};

/* One key of the routing index: the outer shapes filed under it. */
struct vbucket {
	struct vbucket *next;
	uint64_t hash;
	char *key;
	size_t klen;
	struct outer **os;
	size_t n, alloc;
};

struct ss_subq {
	char *stack_id;
	/* the routing index: (column, type, value key) -> outer shapes */
	struct vbucket **vb;
	size_t nvb, nkeys;
	struct ss_buf vkey, vpart;
	void **cookies; /* ss_subq_index_lookup's answer */
	unsigned char *exact;
	size_t acookies, aexact;
	struct outer **outers; /* ascending by id */
	size_t nouters, aouters;
	struct inner **inners; /* ascending by id */
	size_t ninners, ainners;
	uint64_t next_number;
};

/* ------------------------------------------------------------ the deps */

void ss_subq_deps_release(struct ss_subq_deps *d)
{
	size_t t, c;

	for (t = 0; t < d->ntables; t++) {
		for (c = 0; c < d->tables[t].ncols; c++) {
			free((char *)d->tables[t].cols[c].name);
			free((char *)d->tables[t].cols[c].type);
		}
		free(d->tables[t].cols);
		free(d->tables[t].schema);
		free(d->tables[t].table);
	}
	free(d->tables);
	free(d->inner);
	memset(d, 0, sizeof(*d));
}

static const char *nonempty(json_t *v)
{
	const char *s = json_string_value(v);

	return s && *s && strlen(s) <= 1024 ? s : NULL;
}

static int parse_table(json_t *t, struct ss_subq_table *out, struct ss_err *err)
{
	json_t *cols = json_object_get(t, "columns");
	const char *schema = nonempty(json_object_get(t, "schema")),
		   *table = nonempty(json_object_get(t, "table"));
	size_t c, n;

	if (!json_is_object(t) || !schema || !table || !json_is_array(cols) ||
	    json_object_size(t) != 3)
		return ss_err_set(err, SS_ERR_INPUT,
				  "a table of deps must be {\"schema\":..,"
				  "\"table\":..,\"columns\":[..]}");
	n = json_array_size(cols);
	if (!n || n > SS_SUBQ_COLUMNS_MAX)
		return ss_err_set(err, SS_ERR_INPUT,
				  "a table of deps has 1 to %d columns",
				  SS_SUBQ_COLUMNS_MAX);
	out->schema = ss_xstrdup(schema);
	out->table = ss_xstrdup(table);
	out->cols = ss_xcalloc(n, sizeof(*out->cols));
	for (c = 0; c < n; c++) {
		json_t *col = json_array_get(cols, c);
		const char *name = nonempty(json_array_get(col, 0)),
			   *type = nonempty(json_array_get(col, 1)),
			   *flag = json_string_value(json_array_get(col, 2));
		size_t len = json_array_size(col);

		if (!json_is_array(col) || !name || !type ||
		    (len != 2 && !(len == 3 && flag && !strcmp(flag, "enum"))))
			return ss_err_set(
			    err, SS_ERR_INPUT,
			    "a column of deps must be "
			    "[name,type] or [name,type,\"enum\"]");
		out->cols[c].name = ss_xstrdup(name);
		out->cols[c].type = ss_xstrdup(type);
		out->cols[c].is_enum = len == 3;
		out->ncols++;
	}
	return 0;
}

int ss_subq_deps_parse(const char *json, struct ss_subq_deps *d,
		       struct ss_err *err)
{
	json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, NULL), *inner,
	       *tables;
	size_t i, j;

	memset(d, 0, sizeof(*d));
	inner = json_object_get(o, "inner");
	tables = json_object_get(o, "tables");
	if (!json_is_object(o) || !json_is_array(inner) ||
	    !json_is_array(tables) || json_object_size(o) != 2) {
		ss_err_set(err, SS_ERR_INPUT,
			   "deps must be {\"inner\":[..],\"tables\":[..]}");
		goto fail;
	}
	if (!json_array_size(inner) ||
	    json_array_size(inner) > SS_SUBQ_DEPS_MAX ||
	    !json_array_size(tables) ||
	    json_array_size(tables) > SS_SUBQ_DEPS_MAX) {
		ss_err_set(err, SS_ERR_INPUT,
			   "deps have 1 to %d inner shapes and tables",
			   SS_SUBQ_DEPS_MAX);
		goto fail;
	}
	d->inner = ss_xcalloc(json_array_size(inner), sizeof(*d->inner));
	for (i = 0; i < json_array_size(inner); i++) {
		json_t *v = json_array_get(inner, i);

		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			ss_err_set(err, SS_ERR_INPUT,
				   "the inner shapes of deps are ids");
			goto fail;
		}
		/* one shape per distinct subquery */
		for (j = 0; j < d->ninner; j++)
			if (d->inner[j] == json_integer_value(v)) {
				ss_err_set(err, SS_ERR_INPUT,
					   "deps name inner shape %" PRId64
					   " twice",
					   d->inner[j]);
				goto fail;
			}
		d->inner[d->ninner++] = json_integer_value(v);
	}
	d->tables = ss_xcalloc(json_array_size(tables), sizeof(*d->tables));
	for (i = 0; i < json_array_size(tables); i++) {
		struct ss_subq_table *t = &d->tables[d->ntables++];

		if (parse_table(json_array_get(tables, i), t, err) < 0)
			goto fail;
		for (j = 0; j < i; j++)
			if (!strcmp(d->tables[j].schema, t->schema) &&
			    !strcmp(d->tables[j].table, t->table)) {
				ss_err_set(err, SS_ERR_INPUT,
					   "deps describe table %s.%s twice",
					   t->schema, t->table);
				goto fail;
			}
	}
	json_decref(o);
	return 0;
fail:
	json_decref(o);
	ss_subq_deps_release(d);
	return -1;
}

void ss_subq_table_json(struct ss_buf *out, const char *schema,
			const char *table, const struct ss_where_column *cols,
			size_t ncols)
{
	size_t c;

	ss_buf_adds(out, "{\"schema\":");
	ss_buf_add_json_string(out, schema, strlen(schema));
	ss_buf_adds(out, ",\"table\":");
	ss_buf_add_json_string(out, table, strlen(table));
	ss_buf_adds(out, ",\"columns\":[");
	for (c = 0; c < ncols; c++) {
		ss_buf_adds(out, c ? ",[" : "[");
		ss_buf_add_json_string(out, cols[c].name, strlen(cols[c].name));
		ss_buf_addc(out, ',');
		ss_buf_add_json_string(out, cols[c].type, strlen(cols[c].type));
		if (cols[c].is_enum)
			ss_buf_adds(out, ",\"enum\"");
		ss_buf_addc(out, ']');
	}
	ss_buf_adds(out, "]}");
}

void ss_subq_deps_json(const struct ss_subq_deps *d, struct ss_buf *out)
{
	size_t i;

	ss_buf_adds(out, "{\"inner\":[");
	for (i = 0; i < d->ninner; i++)
		ss_buf_addf(out, "%s%" PRId64, i ? "," : "", d->inner[i]);
	ss_buf_adds(out, "],\"tables\":[");
	for (i = 0; i < d->ntables; i++) {
		if (i)
			ss_buf_addc(out, ',');
		ss_subq_table_json(out, d->tables[i].schema, d->tables[i].table,
				   d->tables[i].cols, d->tables[i].ncols);
	}
	ss_buf_adds(out, "]}");
}

int ss_subq_deps_describe(void *ctx, const char *schema, const char *name,
			  const struct ss_where_column **cols, size_t *ncols,
			  struct ss_err *err)
{
	const struct ss_subq_deps *d = ctx;
	size_t i;

	(void)err;
	for (i = 0; i < d->ntables; i++)
		if (!strcmp(d->tables[i].schema, schema) &&
		    !strcmp(d->tables[i].table, name)) {
			*cols = d->tables[i].cols;
			*ncols = d->tables[i].ncols;
			return 1;
		}
	return 0;
}

/* ------------------------------------------------------- route's state */

struct ss_subq *ss_subq_new(const char *stack_id)
{
	struct ss_subq *q = ss_xcalloc(1, sizeof(*q));

	q->stack_id = ss_xstrdup(stack_id);
	return q;
}

/* Index of id in a sorted array of pointers to structs that start with
 * their int64_t id, or where it would go (*found 0). */
static size_t find(void *const *arr, size_t n, int64_t id, int *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t mid_id = *(const int64_t *)arr[mid];

		if (mid_id == id) {
			*found = 1;
			return mid;
		}
		if (mid_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static struct outer *outer_get(const struct ss_subq *q, int64_t id)
{
	int found;
	size_t i = find((void *const *)q->outers, q->nouters, id, &found);

	return found ? q->outers[i] : NULL;
}

static struct inner *inner_get(const struct ss_subq *q, int64_t id)
{
	int found;
	size_t i = find((void *const *)q->inners, q->ninners, id, &found);

	return found ? q->inners[i] : NULL;
}

static void insert_at(void ***arr, size_t *n, size_t *alloc, size_t at, void *p)
{
	if (*n == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 8;
		*arr = ss_xrealloc(*arr, *alloc * sizeof(**arr));
	}
	memmove(*arr + at + 1, *arr + at, (*n - at) * sizeof(**arr));
	(*arr)[at] = p;
	(*n)++;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **strv_copy(const char *const *v, size_t n)
{
	char **c = ss_xcalloc(n ? n : 1, sizeof(*c));
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = v[i] ? ss_xstrdup(v[i]) : NULL;
	return c;
}

static void inner_free(struct inner *in)
{
	ss_view_free(in->view);
	free(in->snap.xip);
	strv_free(in->names, in->ncols);
	strv_free(in->types, in->ncols);
	free(in->users);
	free(in);
}

static void outer_free(struct outer *o)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < o->npend; i++)
		strv_free(o->pend[i].vals, o->pend[i].nvals);
	free(o->pend);
	for (i = 0; o->hide && i < o->ndeps; i++)
		ss_view_free(o->hide[i]);
	for (i = 0; o->keep && i < o->ndeps; i++)
		ss_view_free(o->keep[i]);
	free(o->hide);
	free(o->keep);
	free(o->inner);
	free(o->ac_old);
	free(o->ac_new);
	ss_dnf_free(o->dnf);
	ss_where_free(o->w);
	free(o->handle);
	free(o->idx_col);
	free(o);
}

/* ---- the routing index ------------------------------------------------ */

/* The key of value `text` of an index column: "<col>\0<type>\0" and the
 * value as the view compares it (PostgreSQL's equality), into q->vkey.
 * -1 when the text is no value of its type (nothing can match it). */
static int vkey(struct ss_subq *q, const char *col, const char *type,
		const char *text)
{
	struct ss_err err = SS_ERR_INIT;

	ss_buf_reset(&q->vkey);
	ss_buf_add(&q->vkey, col, strlen(col) + 1);
	ss_buf_add(&q->vkey, type, strlen(type) + 1);
	ss_buf_reset(&q->vpart);
	if (ss_where_value_key(type, text, &q->vpart, &err) < 0) {
		if (strncmp(err.msg, "unsupported type", 16))
			return -1;
		ss_buf_reset(&q->vpart);
		ss_buf_adds(&q->vpart, text); /* compared by its text */
	}
	ss_buf_add(&q->vkey, q->vpart.buf, q->vpart.len);
	return 0;
}

static struct vbucket **vfind(struct ss_subq *q, uint64_t h)
{
	struct vbucket **p;

	if (!q->nvb)
		return NULL;
	for (p = &q->vb[h & (q->nvb - 1)]; *p; p = &(*p)->next)
		if ((*p)->hash == h && (*p)->klen == q->vkey.len &&
		    !memcmp((*p)->key, q->vkey.buf, q->vkey.len))
			return p;
	return NULL;
}

static void vgrow(struct ss_subq *q)
{
	size_t nb = q->nvb ? q->nvb * 2 : 64, i;
	struct vbucket **b = ss_xcalloc(nb, sizeof(*b)), *e, *next;

	for (i = 0; i < q->nvb; i++)
		for (e = q->vb[i]; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	free(q->vb);
	q->vb = b;
	q->nvb = nb;
}

/* File (add 1) or unfile (add 0) outer shape o under q->vkey. */
static void vfile(struct ss_subq *q, struct outer *o, int add)
{
	uint64_t h = ss_hash64(q->vkey.buf, q->vkey.len);
	struct vbucket **p = vfind(q, h), *e;
	size_t i;

	if (!add) {
		if (!p)
			return;
		e = *p;
		for (i = 0; i < e->n && e->os[i] != o; i++)
			;
		if (i == e->n)
			return;
		e->os[i] = e->os[--e->n];
		if (e->n)
			return;
		*p = e->next;
		free(e->key);
		free(e->os);
		free(e);
		q->nkeys--;
		return;
	}
	if (!p) {
		if (q->nkeys >= q->nvb)
			vgrow(q);
		e = ss_xcalloc(1, sizeof(*e));
		e->hash = h;
		e->key = ss_xmalloc(q->vkey.len);
		memcpy(e->key, q->vkey.buf, q->vkey.len);
		e->klen = q->vkey.len;
		e->next = q->vb[h & (q->nvb - 1)];
		q->vb[h & (q->nvb - 1)] = e;
		q->nkeys++;
	} else {
		e = *p;
	}
	SS_GROW(e->os, e->alloc, e->n + 1);
	e->os[e->n++] = o;
}

/* 1 if o keeps value vals of dependency dep (a pending move-out: filed
 * under it while it is not in the view). */
static int kept(const struct outer *o, size_t dep, const char *const *vals)
{
	struct ss_err err = SS_ERR_INIT;
	int res;

	return o->keep[dep] && ss_view_rows(o->keep[dep]) &&
	       ss_view_member(o->keep[dep], vals, o->inner[dep]->ncols, &res,
			      &err) == 0 &&
	       res == 1;
}

/* Value vals of inner shape in moved into (add 1) or out of (0) its
 * view: the outer shapes indexed by it follow (not for a value one of
 * them keeps, filed while it is kept). */
static void vmove(struct ss_subq *q, struct inner *in, const char *const *vals,
		  int add)
{
	size_t u;

	if (in->ncols != 1 || !vals[0])
		return;
	for (u = 0; u < in->nusers; u++) {
		struct outer *o = in->users[u].o;

		if (o->idx_dep < 0 || (size_t)o->idx_dep != in->users[u].dep ||
		    kept(o, in->users[u].dep, vals) ||
		    vkey(q, o->idx_col, in->types[0], vals[0]) < 0)
			continue;
		vfile(q, o, add);
	}
}

struct vfile_ctx {
	struct ss_subq *q;
	struct outer *o;
	const char *type;
	int add;
};

static int vfile_value(void *ctx, const char *const *vals)
{
	struct vfile_ctx *c = ctx;

	if (vkey(c->q, c->o->idx_col, c->type, vals[0]) == 0)
		vfile(c->q, c->o, c->add);
	return 0;
}

/* Its value keeps o filed (pending move-outs): unfile it unless it is in
 * the view too. */
static int vfile_kept(void *ctx, const char *const *vals)
{
	struct vfile_ctx *c = ctx;
	struct ss_err err = SS_ERR_INIT;
	int res;

	if (ss_view_member(c->o->inner[c->o->idx_dep]->view, vals, 1, &res,
			   &err) == 0 &&
	    res != 1)
		vfile_value(ctx, vals);
	return 0;
}

/* File (add 1) or unfile (0) outer o under every value of its index
 * dependency's view (and, to unfile, those it keeps). */
static void vfile_outer(struct ss_subq *q, struct outer *o, int add)
{
	struct inner *in;
	struct vfile_ctx c;

	if (o->idx_dep < 0)
		return;
	in = o->inner[o->idx_dep];
	c.q = q;
	c.o = o;
	c.type = in->types[0];
	c.add = add;
	ss_view_each(in->view, vfile_value, &c);
	if (!add && o->keep[o->idx_dep])
		ss_view_each(o->keep[o->idx_dep], vfile_kept, &c);
}

/* The dependency every disjunct of d tests positively with one column
 * (the same one each time), or -1; its column's name in *col. */
static long index_dep(const struct ss_dnf *d, const struct ss_where *w,
		      const char **col)
{
	size_t ndeps = ss_where_ndeps(w), dep, nd = ss_dnf_ndisjuncts(d),
	       np = ss_dnf_npositions(d), p, i;

	for (dep = 0; dep < ndeps; dep++) {
		const char *name = NULL;
		int ok = !ss_dnf_dep_negated(d, dep);

		for (i = 0; ok && i < nd; i++) {
			int has = 0;

			for (p = 0; p < np; p++) {
				const struct ss_dnf_pos *ps = ss_dnf_pos(d, p);

				if (ps->disjunct != i || ps->dep < 0 ||
				    (size_t)ps->dep != dep || ps->negated ||
				    ps->ncols != 1)
					continue;
				if (!name)
					name = ps->names[0];
				if (!strcmp(name, ps->names[0]))
					has = 1;
			}
			ok = has;
		}
		if (ok && name) {
			*col = name;
			return (long)dep;
		}
	}
	return -1;
}

size_t ss_subq_index_lookup(struct ss_subq *q, const char *col,
			    const char *type, const char *value,
			    void *const **cookies, const unsigned char **exact)
{
	struct vbucket **p;
	size_t i;

	if (!value || vkey(q, col, type, value) < 0)
		return 0;
	p = vfind(q, ss_hash64(q->vkey.buf, q->vkey.len));
	if (!p)
		return 0;
	SS_GROW(q->cookies, q->acookies, (*p)->n);
	SS_GROW(q->exact, q->aexact, (*p)->n);
	for (i = 0; i < (*p)->n; i++) {
		const struct outer *o = (*p)->os[i];

		q->cookies[i] = o->cookie;
		/* filed under a value its view holds; without pending
		 * move-ins the shape sees the view as it is */
		q->exact[i] = (unsigned char)(o->idx_exact && !o->npend);
	}
	*cookies = q->cookies;
	*exact = q->exact;
	return (*p)->n;
}

void ss_subq_set_cookie(struct ss_subq *q, int64_t id, void *cookie)
{
	struct outer *o = outer_get(q, id);

	if (o)
		o->cookie = cookie;
}

int ss_subq_index_of(const struct ss_subq *q, int64_t id, const char **col,
		     const char **type)
{
	const struct outer *o = outer_get(q, id);

	if (!o || o->idx_dep < 0)
		return 0;
	*col = o->idx_col;
	*type = o->inner[o->idx_dep]->types[0];
	return 1;
}

void ss_subq_free(struct ss_subq *q)
{
	size_t i;
	struct vbucket *e, *next;

	if (q)
		for (i = 0; i < q->nvb; i++)
			for (e = q->vb[i]; e; e = next) {
				next = e->next;
				free(e->key);
				free(e->os);
				free(e);
			}
	if (q) {
		free(q->vb);
		free(q->cookies);
		free(q->exact);
		ss_buf_release(&q->vkey);
		ss_buf_release(&q->vpart);
	}

	if (!q)
		return;
	for (i = 0; i < q->nouters; i++)
		outer_free(q->outers[i]);
	for (i = 0; i < q->ninners; i++)
		inner_free(q->inners[i]);
	free(q->outers);
	free(q->inners);
	free(q->stack_id);
	free(q);
}

/* The inner shape `id` for dependency dep of w, made if new; NULL with
 * err when it exists with other columns. */
static struct inner *inner_for(struct ss_subq *q, int64_t id,
			       const struct ss_where_dep *dep,
			       struct ss_err *err)
{
	int found;
	size_t i = find((void *const *)q->inners, q->ninners, id, &found), c;
	struct inner *in;

	if (found) {
		in = q->inners[i];
		if (in->ncols != dep->ncols)
			goto other;
		for (c = 0; c < in->ncols; c++)
			if (strcmp(in->names[c], dep->cols[c]) ||
			    strcmp(in->types[c], dep->types[c]))
				goto other;
		return in;
	}
	in = ss_xcalloc(1, sizeof(*in));
	in->id = id;
	in->ncols = dep->ncols;
	in->names = strv_copy(dep->cols, dep->ncols);
	in->types = strv_copy(dep->types, dep->ncols);
	in->view = ss_view_new(dep->ncols, dep->types);
	insert_at((void ***)&q->inners, &q->ninners, &q->ainners, i, in);
	return in;
other:
	ss_err_set(err, SS_ERR_INPUT,
		   "inner shape %" PRId64 " serves a subquery with other "
		   "columns (%s)",
		   id, dep->select);
	return NULL;
}

static void user_add(struct inner *in, struct outer *o, size_t dep)
{
	size_t i = in->nusers;

	if (in->nusers == in->ausers) {
		in->ausers = in->ausers ? in->ausers * 2 : 4;
		in->users =
		    ss_xrealloc(in->users, in->ausers * sizeof(*in->users));
	}
	while (i > 0 && (in->users[i - 1].o->id > o->id ||
			 (in->users[i - 1].o->id == o->id &&
			  in->users[i - 1].dep > dep))) {
		in->users[i] = in->users[i - 1];
		i--;
	}
	in->users[i].o = o;
	in->users[i].dep = dep;
	in->nusers++;
}

/* Drop o's uses of in; free in (and unlist it) when none is left. */
static void user_del(struct ss_subq *q, struct inner *in, struct outer *o)
{
	size_t i, n = 0;
	int found;

	for (i = 0; i < in->nusers; i++)
		if (in->users[i].o != o)
			in->users[n++] = in->users[i];
	in->nusers = n;
	if (n)
		return;
	i = find((void *const *)q->inners, q->ninners, in->id, &found);
	if (found) {
		memmove(q->inners + i, q->inners + i + 1,
			(q->ninners - i - 1) * sizeof(*q->inners));
		q->ninners--;
	}
	inner_free(in);
}

/* The distinct subquery tests of a plan: positions of the same
 * dependency with the same left side are one test (their truth is the
 * same for every row). */
static size_t distinct_tests(const struct ss_dnf *d)
{
	size_t np = ss_dnf_npositions(d), p, q, n = 0;

	for (p = 0; p < np; p++) {
		const struct ss_dnf_pos *a = ss_dnf_pos(d, p);
		int seen = 0;

		if (a->dep < 0)
			continue;
		for (q = 0; q < p && !seen; q++) {
			const struct ss_dnf_pos *b = ss_dnf_pos(d, q);

			seen = b->dep == a->dep && b->ncols == a->ncols &&
			       b->negated == a->negated &&
			       !memcmp(b->cols, a->cols,
				       a->ncols * sizeof(*a->cols));
		}
		n += !seen;
	}
	return n;
}

int ss_subq_add(struct ss_subq *q, int64_t id, const char *handle,
		struct ss_where *w, const struct ss_where_column *cols,
		size_t ncols, const int64_t *inner, struct ss_err *err)
{
	struct outer *o;
	size_t at, d, np;
	int found;

	at = find((void *const *)q->outers, q->nouters, id, &found);
	if (found) {
		ss_where_free(w);
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " is already routed", id);
	}
	if (!ss_where_ndeps(w)) {
		ss_where_free(w);
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " has no subquery", id);
	}
	o = ss_xcalloc(1, sizeof(*o));
	o->id = id;
	o->q = q;
	o->w = w;
	o->handle = ss_xstrdup(handle);
	o->ndeps = ss_where_ndeps(w);
	o->inner = ss_xcalloc(o->ndeps, sizeof(*o->inner));
	o->hide = ss_xcalloc(o->ndeps, sizeof(*o->hide));
	o->keep = ss_xcalloc(o->ndeps, sizeof(*o->keep));
	if (ss_dnf_build(w, cols, ncols, &o->dnf, err) < 0)
		goto fail;
	np = ss_dnf_npositions(o->dnf);
	o->ac_old = ss_xcalloc(np ? np : 1, 1);
	o->ac_new = ss_xcalloc(np ? np : 1, 1);
	o->nsubpos = distinct_tests(o->dnf);
	{
		const char *col = NULL;

		o->idx_dep = index_dep(o->dnf, w, &col);
		o->idx_col = col ? ss_xstrdup(col) : NULL;
		o->idx_exact = o->idx_dep >= 0 &&
			       ss_dnf_npositions(o->dnf) == 1 &&
			       ss_dnf_ndisjuncts(o->dnf) == 1;
	}
	for (d = 0; d < o->ndeps; d++) {
		o->inner[d] =
		    inner_for(q, inner[d], ss_where_dep_at(w, d), err);
		if (!o->inner[d])
			goto fail;
		user_add(o->inner[d], o, d);
	}
	insert_at((void ***)&q->outers, &q->nouters, &q->aouters, at, o);
	vfile_outer(q, o, 1);
	return 0;
fail:
	/* Each inner once (user_del may free it). */
	for (d = 0; d < o->ndeps; d++) {
		size_t e;
		int seen = 0;

		for (e = 0; e < d; e++)
			seen |= o->inner[e] == o->inner[d];
		if (o->inner[d] && !seen)
			user_del(q, o->inner[d], o);
	}
	outer_free(o);
	return -1;
}

int ss_subq_rebind(struct ss_subq *q, int64_t id, struct ss_where *w,
		   const struct ss_where_column *cols, size_t ncols,
		   struct ss_err *err)
{
	struct outer *o = outer_get(q, id);
	struct ss_dnf *dnf = NULL;
	size_t d, c, np;

	if (!o) {
		ss_where_free(w);
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " is no subquery shape", id);
	}
	if (ss_where_ndeps(w) != o->ndeps)
		goto differ;
	for (d = 0; d < o->ndeps; d++) {
		const struct ss_where_dep *dep = ss_where_dep_at(w, d);
		const struct inner *in = o->inner[d];

		if (dep->ncols != in->ncols)
			goto differ;
		for (c = 0; c < in->ncols; c++)
			if (strcmp(dep->cols[c], in->names[c]) ||
			    strcmp(dep->types[c], in->types[c]))
				goto differ;
	}
	if (ss_dnf_build(w, cols, ncols, &dnf, err) < 0) {
		ss_where_free(w);
		return -1;
	}
	np = ss_dnf_npositions(dnf);
	if (np != ss_dnf_npositions(o->dnf))
		goto differ;
	for (d = 0; d < o->ndeps; d++)
		if (ss_dnf_dep_negated(dnf, d) != ss_dnf_dep_negated(o->dnf, d))
			goto differ;
	ss_dnf_free(o->dnf);
	ss_where_free(o->w);
	o->dnf = dnf;
	o->w = w;
	return 0;
differ:
	ss_dnf_free(dnf);
	ss_where_free(w);
	return ss_err_set(err, SS_ERR_INPUT,
			  "the clause of shape %" PRId64 " compiles to other "
			  "subqueries against its table's columns",
			  id);
}

int ss_subq_set_deletes(struct ss_subq *q, int64_t id, struct ss_err *err)
{
	struct outer *o = outer_get(q, id);

	if (!o)
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " is no subquery shape", id);
	o->deletes = 1;
	return 0;
}

int ss_subq_remove(struct ss_subq *q, int64_t id)
{
	int found;
	size_t i = find((void *const *)q->outers, q->nouters, id, &found), d;
	struct outer *o;

	if (!found)
		return 0;
	o = q->outers[i];
	vfile_outer(q, o, 0);
	memmove(q->outers + i, q->outers + i + 1,
		(q->nouters - i - 1) * sizeof(*q->outers));
	q->nouters--;
	/* Each inner once, even when o depends on it twice. */
	for (d = 0; d < o->ndeps; d++) {
		size_t e;
		int seen = 0;

		for (e = 0; e < d; e++)
			seen |= o->inner[e] == o->inner[d];
		if (!seen)
			user_del(q, o->inner[d], o);
	}
	outer_free(o);
	return 1;
}

int ss_subq_active(const struct ss_subq *q)
{
	return q && q->nouters > 0;
}

int ss_subq_is_outer(const struct ss_subq *q, int64_t id)
{
	return outer_get(q, id) != NULL;
}

int ss_subq_inner_columns(const struct ss_subq *q, int64_t id,
			  const char *const **names, const char *const **types,
			  size_t *ncols)
{
	struct inner *in = inner_get(q, id);

	if (!in)
		return 0;
	*names = (const char *const *)in->names;
	*types = (const char *const *)in->types;
	*ncols = in->ncols;
	return 1;
}

size_t ss_subq_unloaded(const struct ss_subq *q, int64_t **ids)
{
	size_t i, n = 0;

	*ids = ss_xmalloc((q->ninners ? q->ninners : 1) * sizeof(**ids));
	for (i = 0; i < q->ninners; i++)
		if (!q->inners[i]->loaded)
			(*ids)[n++] = q->inners[i]->id;
	return n;
}

int ss_subq_loaded(struct ss_subq *q, int64_t id, ss_lsn lsn,
		   const struct ss_pg_snapshot *snap, struct ss_err *err)
{
	struct inner *in = inner_get(q, id);

	if (!in)
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " is no inner shape", id);
	free(in->snap.xip);
	in->snap = *snap;
	in->snap.xip = NULL;
	if (snap->nxip) {
		in->snap.xip = ss_xmalloc(snap->nxip * sizeof(*snap->xip));
		memcpy(in->snap.xip, snap->xip,
		       snap->nxip * sizeof(*snap->xip));
	}
	in->loaded = 1;
	in->loaded_lsn = lsn;
	return 0;
}

int ss_subq_load(struct ss_subq *q, int64_t id, const char *const *vals,
		 int delta, struct ss_err *err)
{
	struct inner *in = inner_get(q, id);
	int moved;

	if (!in)
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " is no inner shape", id);
	if (ss_view_add(in->view, vals, delta, &moved, err) < 0)
		return -1;
	if (moved)
		vmove(q, in, vals, moved == 1);
	return 0;
}

int ss_subq_load_message(struct ss_subq *q, int64_t id, const char *json,
			 size_t len, struct ss_err *err)
{
	struct inner *in = inner_get(q, id);
	json_t *m, *value;
	const char **vals;
	size_t c;
	int rc = -1;

	if (!in)
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " is no inner shape", id);
	m = json_loadb(json, len, 0, NULL);
	value = json_object_get(m, "value");
	if (!json_is_object(value)) {
		json_decref(m);
		return ss_err_set(
		    err, SS_ERR_INPUT,
		    "a row of shape %" PRId64 " has no value object", id);
	}
	vals = ss_xcalloc(in->ncols, sizeof(*vals));
	for (c = 0; c < in->ncols; c++) {
		json_t *v = json_object_get(value, in->names[c]);

		if (!v || (!json_is_string(v) && !json_is_null(v))) {
			ss_err_set(err, SS_ERR_INPUT,
				   "a row of shape %" PRId64
				   " has no text or null for column '%s'",
				   id, in->names[c]);
			goto out;
		}
		vals[c] = json_string_value(v);
	}
	rc = ss_subq_load(q, id, vals, 1, err);
out:
	free(vals);
	json_decref(m);
	return rc;
}

/* SQL's three-valued OR of two membership answers (1, 0, -1 unknown). */
static int or3(int a, int b)
{
	if (a == 1 || b == 1)
		return 1;
	return a == -1 || b == -1 ? -1 : 0;
}

static int has_null(const char *const *vals, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!vals[i])
			return 1;
	return 0;
}

/* A left side with a NULL part against the values of o's view of dep
 * that o does not hide: might_value says whether one value might equal
 * it (equal on every part the left side has). */
struct might_ctx {
	const struct outer *o;
	size_t dep, n;
	const char *const *lhs;
	struct ss_buf *lkeys; /* the left side's parts' keys, n */
	struct ss_buf key;
};

/* The equality key of a value of type `type` into *key (its text when
 * the type has no key function, as the view compares it). */
static void part_key(const char *type, const char *text, struct ss_buf *key)
{
	struct ss_err err = SS_ERR_INIT;

	ss_buf_reset(key);
	if (ss_where_value_key(type, text, key, &err) < 0) {
		ss_buf_reset(key);
		ss_buf_adds(key, text);
	}
}

static int might_value(void *ctx, const char *const *vals)
{
	struct might_ctx *c = ctx;
	const struct inner *in = c->o->inner[c->dep];
	struct ss_err err = SS_ERR_INIT;
	size_t i;
	int res;

	for (i = 0; i < c->n; i++) {
		if (!c->lhs[i])
			continue;
		part_key(in->types[i], vals[i], &c->key);
		if (c->key.len != c->lkeys[i].len ||
		    memcmp(c->key.buf, c->lkeys[i].buf, c->key.len))
			return 0;
	}
	/* a hidden value does not count */
	return !(ss_view_member(c->o->hide[c->dep], vals, c->n, &res, &err) ==
		     0 &&
		 res == 1);
}

static int might_unhidden(const struct outer *o, size_t dep,
			  const char *const *vals, size_t n)
{
	const struct inner *in = o->inner[dep];
	struct might_ctx c;
	size_t i;
	int r;

	/* one column: the left side is NULL, so any value might */
	if (n == 1)
		return ss_view_values(in->view) > ss_view_values(o->hide[dep]);
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.dep = dep;
	c.n = n;
	c.lhs = vals;
	c.lkeys = ss_xcalloc(n, sizeof(*c.lkeys));
	for (i = 0; i < n; i++)
		if (vals[i])
			part_key(in->types[i], vals[i], &c.lkeys[i]);
	r = ss_view_each(in->view, might_value, &c);
	for (i = 0; i < n; i++)
		ss_buf_release(&c.lkeys[i]);
	free(c.lkeys);
	ss_buf_release(&c.key);
	return r != 0;
}

/*
 * Membership for outer o, dependency dep: the view, with o's pending
 * moves undone. A hidden value entered the view but does not count yet
 * (a positive dependency's move-in, a negated one's move-out as
 * deletes): not a member (unknown when the view has NULLs, as SQL's IN);
 * a kept one left the view but still counts (a negated dependency's
 * move-in, a positive one's move-out as deletes): the view plus them.
 */
static int member(void *ctx, size_t dep, const char *const *vals, size_t n,
		  int *res, struct ss_err *err)
{
	struct outer *o = ctx;
	const struct ss_view *v;
	int pr;

	if (dep >= o->ndeps)
		return ss_err_set(err, SS_ERR_INPUT, "no dependency %zu", dep);
	v = o->inner[dep]->view;
	if (ss_view_member(v, vals, n, res, err) < 0)
		return -1;
	if (o->hide[dep] && ss_view_rows(o->hide[dep])) {
		if (ss_view_member(o->hide[dep], vals, n, &pr, err) < 0)
			return -1;
		if (pr == 1)
			*res = ss_view_null_rows(v) ? -1 : 0;
		else if (*res == -1 && has_null(vals, n) &&
			 !ss_view_null_rows(v))
			/* unknown for a value that may equal one of the
			 * view's: only if one not hidden may */
			*res = might_unhidden(o, dep, vals, n) ? -1 : 0;
	}
	if (o->keep[dep] && ss_view_rows(o->keep[dep])) {
		if (ss_view_member(o->keep[dep], vals, n, &pr, err) < 0)
			return -1;
		*res = or3(*res, pr);
	}
	return 0;
}

int ss_subq_member_fn(struct ss_subq *q, int64_t id, ss_where_member_fn *fn,
		      void **ctx)
{
	struct outer *o = outer_get(q, id);

	if (!o)
		return 0;
	*fn = member;
	*ctx = o;
	return 1;
}

/* removed_tags: the strings of JSON array `old` that `new_` lacks. */
static void removed_tags(const char *old, const char *new_, struct ss_buf *out)
{
	json_t *a = json_loads(old, 0, NULL), *b = json_loads(new_, 0, NULL);
	size_t i, j, n = 0;

	ss_buf_adds(out, "[");
	for (i = 0; i < json_array_size(a); i++) {
		const char *t = json_string_value(json_array_get(a, i));
		int keep = t != NULL;

		for (j = 0; keep && j < json_array_size(b); j++) {
			const char *u = json_string_value(json_array_get(b, j));

			if (u && !strcmp(t, u))
				keep = 0;
		}
		/* A tag repeated in the old row is removed once. */
		for (j = 0; keep && j < i; j++) {
			const char *u = json_string_value(json_array_get(a, j));

			if (u && !strcmp(t, u))
				keep = 0;
		}
		if (!keep)
			continue;
		if (n++)
			ss_buf_addc(out, ',');
		ss_buf_add_json_string(out, t, strlen(t));
	}
	ss_buf_adds(out, "]");
	json_decref(a);
	json_decref(b);
}

int ss_subq_meta(struct ss_subq *q, int64_t id, enum ss_frame_op op,
		 const char *const *newv, const char *const *oldv,
		 struct ss_buf *out, struct ss_err *err)
{
	struct outer *o = outer_get(q, id);
	struct ss_buf tn = SS_BUF_INIT, to = SS_BUF_INIT;
	const char *const *row;
	unsigned char *ac;
	int incl;

	if (!o)
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " is no subquery shape", id);
	row = op == SS_FRAME_OP_DELETE ? oldv : newv;
	ac = op == SS_FRAME_OP_DELETE ? o->ac_old : o->ac_new;
	if (!row)
		return ss_err_set(err, SS_ERR_INPUT, "no row for the meta");
	if (ss_dnf_eval(o->dnf, row, member, o, ac, &incl, err) < 0)
		return -1;
	ss_dnf_tags_json(o->dnf, row, q->stack_id, o->handle, &tn);
	ss_buf_adds(out, "{\"tags\":");
	ss_buf_add(out, tn.buf, tn.len);
	ss_buf_adds(out, ",\"active_conditions\":");
	ss_dnf_ac_json(o->dnf, ac, out);
	if (op == SS_FRAME_OP_UPDATE && oldv) {
		ss_dnf_tags_json(o->dnf, oldv, q->stack_id, o->handle, &to);
		ss_buf_adds(out, ",\"removed_tags\":");
		removed_tags(to.buf, tn.buf, out);
	}
	ss_buf_addc(out, '}');
	ss_buf_release(&tn);
	ss_buf_release(&to);
	return 0;
}

void ss_subq_moves_init(struct ss_subq_moves *m)
{
	memset(m, 0, sizeof(*m));
}

void ss_subq_moves_reset(struct ss_subq_moves *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		ss_buf_release(&m->v[i].text);
		strv_free(m->v[i].vals, m->v[i].nvals);
	}
	m->n = 0;
}

void ss_subq_moves_release(struct ss_subq_moves *m)
{
	ss_subq_moves_reset(m);
	free(m->v);
	ss_subq_moves_init(m);
}

static struct ss_subq_move *move_new(struct ss_subq_moves *m,
				     enum ss_subq_move_kind kind, int64_t outer,
				     size_t dep)
{
	struct ss_subq_move *mv;

	if (m->n == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 8;
		m->v = ss_xrealloc(m->v, m->alloc * sizeof(*m->v));
	}
	mv = &m->v[m->n++];
	memset(mv, 0, sizeof(*mv));
	mv->kind = kind;
	mv->outer = outer;
	mv->dep = dep;
	return mv;
}

/* Append the pattern {"pos":p,"value":hash of vals} for every position of
 * dependency dep to the JSON array in b (without its brackets). */
static void patterns_add(struct outer *o, size_t dep, const char *const *vals,
			 struct ss_buf *b)
{
	const size_t *pos;
	size_t np = ss_dnf_dep_positions(o->dnf, dep, &pos), i;
	char hex[33];

	for (i = 0; i < np; i++) {
		ss_dnf_value_hash(o->dnf, pos[i], vals, o->q->stack_id,
				  o->handle, hex);
		if (b->len > 1)
			ss_buf_addc(b, ',');
		ss_buf_addf(b, "{\"pos\":%zu,\"value\":\"%s\"}", pos[i], hex);
	}
}

/*
 * The patterns of a NOT IN position when vals joins its subquery: every
 * left side equal to vals on its non-NULL parts turns unknown, so the
 * value itself and each variant with some parts NULL (for one column:
 * the value and NULL, which only a NULL left side while the subquery was
 * empty was in the shape with).
 */
static void negated_patterns(struct outer *o, size_t dep,
			     const char *const *vals, size_t n,
			     struct ss_buf *b)
{
	const char *var[16];
	unsigned long mask, nvar;
	size_t i;

	/* A composite of more than 16 columns: only the value (the
	 * variants would be too many to send). */
	if (n > 16) {
		patterns_add(o, dep, vals, b);
		return;
	}
	nvar = 1ul << n;
	for (mask = 0; mask < nvar; mask++) {
		int skip = 0;

		for (i = 0; i < n; i++) {
			var[i] = (mask >> i) & 1 ? NULL : vals[i];
			/* A part NULL already: its variants repeat. */
			skip |= ((mask >> i) & 1) && !vals[i];
		}
		if (!skip)
			patterns_add(o, dep, var, b);
	}
}

/* A kept value of o's index dependency files o under it (add 1) while it
 * is kept, and no longer once it is not (0), unless it is in the view. */
static void pend_file(struct outer *o, const struct pend *p, int add)
{
	struct inner *in = o->inner[p->dep];
	struct ss_err err = SS_ERR_INIT;
	int res;

	if (!p->keep || o->idx_dep < 0 || (size_t)o->idx_dep != p->dep ||
	    in->ncols != 1 || !p->vals[0])
		return;
	if (!add &&
	    ss_view_member(in->view, (const char *const *)p->vals, 1, &res,
			   &err) == 0 &&
	    res == 1)
		return;
	if (vkey(o->q, o->idx_col, in->types[0], p->vals[0]) == 0)
		vfile(o->q, o, add);
}

/* Make vals a pending move of o's dependency dep: a move-in, or (out) a
 * move-out as deletes. */
static int pend_add(struct outer *o, size_t dep, const char *const *vals,
		    size_t n, uint64_t number, int out, struct ss_err *err)
{
	struct inner *in = o->inner[dep];
	int keep = out != ss_dnf_dep_negated(o->dnf, dep), moved;
	struct ss_view **v = keep ? &o->keep[dep] : &o->hide[dep];

	if (!*v)
		*v = ss_view_new(in->ncols, (const char *const *)in->types);
	if (ss_view_add(*v, vals, 1, &moved, err) < 0)
		return -1;
	if (o->npend == o->apend) {
		o->apend = o->apend ? o->apend * 2 : 4;
		o->pend = ss_xrealloc(o->pend, o->apend * sizeof(*o->pend));
	}
	o->pend[o->npend].number = number;
	o->pend[o->npend].dep = dep;
	o->pend[o->npend].vals = strv_copy(vals, n);
	o->pend[o->npend].nvals = n;
	o->pend[o->npend].out = out;
	o->pend[o->npend].keep = keep;
	pend_file(o, &o->pend[o->npend], 1);
	o->npend++;
	return 0;
}

/* Drop pending entry i of o. */
static void pend_drop(struct outer *o, size_t i)
{
	struct pend *p = &o->pend[i];
	struct ss_err err = SS_ERR_INIT;
	int moved;

	ss_view_add(p->keep ? o->keep[p->dep] : o->hide[p->dep],
		    (const char *const *)p->vals, -1, &moved, &err);
	pend_file(o, p, 0);
	strv_free(p->vals, p->nvals);
	memmove(o->pend + i, o->pend + i + 1,
		(o->npend - i - 1) * sizeof(*o->pend));
	o->npend--;
}

/*
 * A move-out of vals for (o, dep) drops the pending move-ins of the same
 * value: the value left again before its rows were sent, so none of them
 * may count any more.
 */
static int pend_cancel(struct outer *o, size_t dep, const char *const *vals,
		       size_t n)
{
	struct ss_view *one;
	struct ss_err err = SS_ERR_INIT;
	size_t i = 0;
	int moved, res, dropped = 0;

	if (!o->npend)
		return 0;
	one = ss_view_new(n, (const char *const *)o->inner[dep]->types);
	if (ss_view_add(one, vals, 1, &moved, &err) < 0) {
		ss_view_free(one);
		return 0;
	}
	while (i < o->npend) {
		if (o->pend[i].dep == dep &&
		    ss_view_member(one, (const char *const *)o->pend[i].vals, n,
				   &res, &err) == 0 &&
		    res == 1) {
			pend_drop(o, i);
			dropped++;
		} else {
			i++;
		}
	}
	ss_view_free(one);
	return dropped;
}

/* What a value entering (in 1) or leaving (in 0) in's view means for each
 * outer shape depending on it. */
static int transition(struct ss_subq *q, struct inner *in,
		      const char *const *vals, int in_,
		      struct ss_subq_moves *out, struct ss_err *err)
{
	size_t u, n = in->ncols;
	int nul = has_null(vals, n);

	for (u = 0; u < in->nusers; u++) {
		struct outer *o = in->users[u].o;
		size_t dep = in->users[u].dep;
		int neg = ss_dnf_dep_negated(o->dnf, dep);
		struct ss_subq_move *mv;

		if (nul) {
			/* Positive: a row with a NULL makes nothing TRUE.
			 * NOT IN: it makes rows unknown that no pattern
			 * names. */
			if (!neg)
				continue;
			mv = move_new(out, SS_SUBQ_INVALIDATE, o->id, dep);
			ss_buf_addf(&mv->text,
				    "a row with a NULL %s the subquery of a "
				    "NOT IN of shape %" PRId64,
				    in_ ? "entered" : "left", o->id);
			continue;
		}
		if (o->deletes && pend_cancel(o, dep, vals, n)) {
			/* The value moves back before the shape saw it
			 * move: the query in flight may hold its rows. */
			o->gen++;
			continue;
		}
		if (in_ != neg || o->deletes) {
			/* Positive in, or NOT IN out: a move-in; the
			 * other way with move_out=delete, a move-out
			 * whose rows are queried too. */
			int mout = in_ == neg;

			mv = move_new(
			    out, mout ? SS_SUBQ_MOVE_OUT_ROWS : SS_SUBQ_MOVE_IN,
			    o->id, dep);
			mv->number = ++q->next_number;
			mv->vals = strv_copy(vals, n);
			mv->nvals = n;
			ss_buf_adds(&mv->text, "[");
			if (neg && mout)
				negated_patterns(o, dep, vals, n, &mv->text);
			else
				patterns_add(o, dep, vals, &mv->text);
			ss_buf_adds(&mv->text, "]");
			if (pend_add(o, dep, vals, n, mv->number, mout, err) <
			    0)
				return -1;
			continue;
		}
		mv = move_new(out, SS_SUBQ_MOVE_OUT, o->id, dep);
		ss_buf_adds(&mv->text, "[");
		if (neg)
			negated_patterns(o, dep, vals, n, &mv->text);
		else
			patterns_add(o, dep, vals, &mv->text);
		ss_buf_adds(&mv->text, "]");
		/* A move-in's rows hold the truth of every subquery position
		 * as it was when they were queried: a move-out makes them
		 * stale when a row can have another such position, or when
		 * it cancels one of the values queried. */
		if (pend_cancel(o, dep, vals, n) || o->nsubpos > 1)
			o->gen++;
	}
	return 0;
}

int ss_subq_inner(struct ss_subq *q, int64_t id, enum ss_frame_op op,
		  const char *const *newv, const char *const *oldv,
		  uint64_t xid, ss_lsn lsn, struct ss_subq_moves *out,
		  struct ss_err *err)
{
	struct inner *in = inner_get(q, id);
	int mv_new = 0, mv_old = 0;

	/* What the view's rows hold already, or will never hold. */
	if (!in || !in->loaded || lsn < in->loaded_lsn ||
	    ss_pg_snapshot_sees(&in->snap, xid))
		return 0;
	if (op == SS_FRAME_OP_INSERT || op == SS_FRAME_OP_DELETE ||
	    op == SS_FRAME_OP_UPDATE) {
		if (op != SS_FRAME_OP_DELETE && !newv)
			return ss_err_set(
			    err, SS_ERR_INPUT,
			    "an inner change without its new row");
		if (op != SS_FRAME_OP_INSERT && !oldv)
			return ss_err_set(
			    err, SS_ERR_INPUT,
			    "an inner change without its old row");
	} else {
		return 0;
	}
	/* The new row first: an update that keeps its value counts
	 * 1 -> 2 -> 1 and moves nothing. */
	if (op != SS_FRAME_OP_DELETE &&
	    ss_view_add(in->view, newv, 1, &mv_new, err) < 0)
		return -1;
	if (op != SS_FRAME_OP_INSERT &&
	    ss_view_add(in->view, oldv, -1, &mv_old, err) < 0)
		return -1;
	if (mv_new == 1)
		vmove(q, in, newv, 1);
	if (mv_old == -1)
		vmove(q, in, oldv, 0);
	if (mv_new == 1 && transition(q, in, newv, 1, out, err) < 0)
		return -1;
	if (mv_old == -1 && transition(q, in, oldv, 0, out, err) < 0)
		return -1;
	return 0;
}

/* The values of an inner shape's select list from a row (by name). */
static int pick_values(const struct inner *in,
		       const struct ss_frame_column *cols, size_t ncols,
		       const char *const *row, const char **vals)
{
	size_t i, c;

	for (i = 0; i < in->ncols; i++) {
		for (c = 0; c < ncols; c++)
			if (!strcmp(cols[c].name, in->names[i]))
				break;
		if (c == ncols)
			return -1;
		vals[i] = row[c];
	}
	return 0;
}

int ss_subq_match_inner(struct ss_subq *q, const struct ss_route_match *m,
			const struct ss_frame_column *cols, size_t ncols,
			const char *const *newv, const char *const *oldv,
			uint64_t xid, ss_lsn lsn, struct ss_subq_moves *out)
{
	const char **nv = NULL, **ov = NULL;
	size_t i, nalloc = 0;

	for (i = 0; i < m->n; i++) {
		struct inner *in = inner_get(q, m->ids[i]);
		enum ss_frame_op op = m->ops[i];
		struct ss_err err = SS_ERR_INIT;
		int bad = 0;

		if (!in)
			continue;
		if (in->ncols > nalloc) {
			nalloc = in->ncols;
			nv = ss_xrealloc(nv, nalloc * sizeof(*nv));
			ov = ss_xrealloc(ov, nalloc * sizeof(*ov));
		}
		if (op != SS_FRAME_OP_DELETE)
			bad |= !newv || pick_values(in, cols, ncols, newv, nv);
		if (op != SS_FRAME_OP_INSERT)
			bad |= !oldv || pick_values(in, cols, ncols, oldv, ov);
		if (bad)
			ss_err_set(&err, SS_ERR_INPUT,
				   "its change lacks the subquery's columns");
		if (bad || ss_subq_inner(q, in->id, op,
					 op == SS_FRAME_OP_DELETE
					     ? NULL
					     : (const char *const *)nv,
					 op == SS_FRAME_OP_INSERT
					     ? NULL
					     : (const char *const *)ov,
					 xid, lsn, out, &err) < 0)
			ss_subq_invalidate_users(
			    q, in->id, out,
			    "it: %s (xid %" PRIu64 ", transaction %" PRIX32
			    "/%" PRIX32 ")",
			    err.msg, xid, (uint32_t)(lsn >> 32), (uint32_t)lsn);
	}
	free(nv);
	free(ov);
	return 0;
}

int ss_subq_match_meta(struct ss_subq *q, const struct ss_route_match *m,
		       const char *const *newv, const char *const *oldv,
		       ss_subq_layout_fn layout, void *ctx, struct ss_buf *out,
		       int64_t *bad, struct ss_err *err)
{
	size_t i, n = 0;

	for (i = 0; i < m->n; i++) {
		int64_t id = m->ids[i];
		enum ss_frame_op op = m->ops[i];
		const char *const *nv = newv, *const *ov = oldv;

		if (!outer_get(q, id))
			continue;
		if (layout) {
			nv = op != SS_FRAME_OP_DELETE ? layout(ctx, id, newv, 0)
						      : NULL;
			ov = op != SS_FRAME_OP_INSERT ? layout(ctx, id, oldv, 1)
						      : NULL;
		}
		ss_buf_addf(out, "%s\"%" PRId64 "\":", n++ ? "," : "{", id);
		if (ss_subq_meta(q, id, op, nv, ov, out, err) < 0) {
			*bad = id;
			ss_buf_reset(out);
			return -1;
		}
	}
	if (n)
		ss_buf_addc(out, '}');
	return 0;
}

json_t *ss_subq_moves_frame(const struct ss_subq_moves *moves, uint64_t xid,
			    ss_lsn lsn, uint64_t pos)
{
	int64_t *ids = NULL;
	json_t **pats = NULL, *f;
	size_t i, k, n = 0;

	for (i = 0; i < moves->n; i++) {
		const struct ss_subq_move *mv = &moves->v[i];
		json_t *p;

		if (mv->kind != SS_SUBQ_MOVE_OUT)
			continue;
		p = json_loads(mv->text.buf, 0, NULL);
		for (k = 0; k < n && ids[k] != mv->outer; k++)
			;
		if (k == n) {
			ids = ss_xrealloc(ids, (n + 1) * sizeof(*ids));
			pats = ss_xrealloc(pats, (n + 1) * sizeof(*pats));
			/* ascending: insert in place */
			for (k = n; k > 0 && ids[k - 1] > mv->outer; k--) {
				ids[k] = ids[k - 1];
				pats[k] = pats[k - 1];
			}
			ids[k] = mv->outer;
			pats[k] = json_array();
			n++;
		}
		json_array_extend(pats[k], p);
		json_decref(p);
	}
	if (!n)
		return NULL;
	f = ss_frame_new_move(xid, lsn, pos, "move-out", ids, n);
	for (k = 0; k < n; k++)
		ss_frame_set_patterns(f, ids[k], pats[k]);
	free(ids);
	free(pats);
	return f;
}

size_t ss_subq_outers_of(const struct ss_subq *q, int64_t id, int64_t **out)
{
	struct inner *in = inner_get(q, id);
	size_t i, n = 0;

	*out = NULL;
	if (!in)
		return 0;
	*out = ss_xmalloc((in->nusers ? in->nusers : 1) * sizeof(**out));
	for (i = 0; i < in->nusers; i++)
		if (!n || (*out)[n - 1] != in->users[i].o->id)
			(*out)[n++] = in->users[i].o->id;
	return n;
}

void ss_subq_invalidate_users(const struct ss_subq *q, int64_t id,
			      struct ss_subq_moves *out, const char *fmt, ...)
{
	int64_t *os;
	size_t n = ss_subq_outers_of(q, id, &os), i;
	struct ss_buf why = SS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	ss_buf_vaddf(&why, fmt, ap);
	va_end(ap);
	for (i = 0; i < n; i++)
		ss_buf_addf(&move_new(out, SS_SUBQ_INVALIDATE, os[i], 0)->text,
			    "the view of shape %" PRId64
			    ", a subquery of shape %" PRId64
			    ", cannot follow %s",
			    id, os[i], why.len ? why.buf : "");
	ss_buf_release(&why);
	free(os);
}

int ss_subq_settle(struct ss_subq *q, int64_t id, uint64_t number)
{
	struct outer *o = outer_get(q, id);
	size_t i;

	if (!o)
		return 0;
	for (i = 0; i < o->npend; i++)
		if (o->pend[i].number == number) {
			pend_drop(o, i);
			return 1;
		}
	return 0;
}

uint64_t ss_subq_gen(const struct ss_subq *q, int64_t id)
{
	const struct outer *o = outer_get(q, id);

	return o ? o->gen : 0;
}

size_t ss_subq_pending_outers(const struct ss_subq *q, int64_t **ids)
{
	size_t i, n = 0;

	*ids = ss_xmalloc((q->nouters ? q->nouters : 1) * sizeof(**ids));
	for (i = 0; i < q->nouters; i++)
		if (q->outers[i]->npend)
			(*ids)[n++] = q->outers[i]->id;
	return n;
}

int ss_subq_pend(struct ss_subq *q, int64_t id, size_t dep,
		 const char *const *vals, size_t n, int out, uint64_t *number,
		 struct ss_err *err)
{
	struct outer *o = outer_get(q, id);
	int res, neg;

	if (!o || dep >= o->ndeps || n != o->inner[dep]->ncols)
		return ss_err_set(err, SS_ERR_INPUT,
				  "shape %" PRId64 " has no dependency %zu "
				  "of %zu columns",
				  id, dep, n);
	if (has_null(vals, n))
		return 0;
	if (ss_view_member(o->inner[dep]->view, vals, n, &res, err) < 0)
		return -1;
	neg = ss_dnf_dep_negated(o->dnf, dep);
	/* A move-in that still holds: a positive dependency's value is in
	 * the view, a negated one's is not; a move-out the other way. */
	if (out && !o->deletes)
		return 0;
	if (((res == 1) == neg) != out)
		return 0;
	if (pend_add(o, dep, vals, n, ++q->next_number, out, err) < 0)
		return -1;
	o->gen++;
	*number = q->next_number;
	return 1;
}

void ss_subq_movein_release(struct ss_subq_movein *mi)
{
	size_t i;

	free(mi->numbers);
	for (i = 0; i < mi->nparams; i++)
		ss_buf_release(&mi->params[i]);
	free(mi->params);
	ss_buf_release(&mi->where);
	ss_buf_release(&mi->ac);
	ss_buf_release(&mi->patterns);
	ss_buf_release(&mi->values);
	memset(mi, 0, sizeof(*mi));
}

/* Into *v a view of dependency dep's pending values of o that are not
 * in the group (dep, out), hidden (keep 0) or kept (1); NULL when there
 * is none (*new*). 0, or -1 with err. */
static int rest_of(const struct outer *o, size_t dep, int out, int keep,
		   struct ss_view **res, struct ss_err *err)
{
	const struct inner *in = o->inner[dep];
	struct ss_view *v = NULL;
	size_t i;
	int moved;

	for (i = 0; i < o->npend; i++) {
		const struct pend *p = &o->pend[i];

		if (p->dep != dep || p->out == out || p->keep != keep)
			continue;
		if (!v)
			v = ss_view_new(in->ncols,
					(const char *const *)in->types);
		if (ss_view_add(v, (const char *const *)p->vals, 1, &moved,
				err) < 0) {
			ss_view_free(v);
			return -1;
		}
	}
	*res = v;
	return 0;
}

int ss_subq_movein_next(struct ss_subq *q, int64_t id,
			struct ss_subq_movein *mi, struct ss_err *err)
{
	struct outer *o = outer_get(q, id);
	struct ss_view *job, *hide_rest = NULL, *keep_rest = NULL;
	int *first;
	size_t i, k, dep, np = 0;
	int moved, out, rest = 0;

	memset(mi, 0, sizeof(*mi));
	if (!o || !o->npend)
		return 0;
	dep = o->pend[0].dep;
	out = o->pend[0].out;
	mi->outer = id;
	mi->dep = dep;
	mi->out = out;
	mi->gen = o->gen;
	mi->handle = o->handle;
	mi->dnf = o->dnf;
	job = ss_view_new(o->inner[dep]->ncols,
			  (const char *const *)o->inner[dep]->types);
	ss_buf_adds(&mi->patterns, "[");
	ss_buf_adds(&mi->values, "[");
	for (i = 0; i < o->npend; i++) {
		const struct pend *p = &o->pend[i];

		if (p->dep != dep)
			continue;
		if (p->out != out) {
			rest = 1;
			continue;
		}
		mi->numbers = ss_xrealloc(
		    mi->numbers, (mi->nnumbers + 1) * sizeof(*mi->numbers));
		mi->numbers[mi->nnumbers++] = p->number;
		if (ss_view_add(job, (const char *const *)p->vals, 1, &moved,
				err) < 0) {
			ss_view_free(job);
			ss_subq_movein_release(mi);
			return -1;
		}
		if (moved == 1)
			patterns_add(o, dep, (const char *const *)p->vals,
				     &mi->patterns);
		if (mi->values.len > 1)
			ss_buf_addc(&mi->values, ',');
		ss_buf_addc(&mi->values, '[');
		for (k = 0; k < p->nvals; k++) {
			if (k)
				ss_buf_addc(&mi->values, ',');
			if (p->vals[k])
				ss_buf_add_json_string(&mi->values, p->vals[k],
						       strlen(p->vals[k]));
			else
				ss_buf_adds(&mi->values, "null");
		}
		ss_buf_addc(&mi->values, ']');
	}
	ss_buf_adds(&mi->patterns, "]");
	ss_buf_adds(&mi->values, "]");
	ss_view_free(job);
	/* moves of the other way still pending: the set after this
	 * group's moves still lacks them */
	if (rest && (rest_of(o, dep, out, 0, &hide_rest, err) < 0 ||
		     rest_of(o, dep, out, 1, &keep_rest, err) < 0)) {
		ss_view_free(hide_rest);
		ss_subq_movein_release(mi);
		return -1;
	}
	/* $1..: every dependency as the shape sees it now (the view with
	 * its pending moves undone), then dependency dep with this group's
	 * moves made. */
	for (k = 0; k < o->ndeps; k++)
		np += o->inner[k]->ncols;
	np += o->inner[dep]->ncols;
	mi->params = ss_xcalloc(np, sizeof(*mi->params));
	mi->nparams = np;
	first = ss_xcalloc(o->ndeps, sizeof(*first));
	np = 0;
	for (k = 0; k < o->ndeps; k++) {
		first[k] = (int)np + 1;
		ss_view_arrays_adjusted(o->inner[k]->view, o->hide[k],
					o->keep[k], &mi->params[np]);
		np += o->inner[k]->ncols;
	}
	ss_view_arrays_adjusted(o->inner[dep]->view, hide_rest, keep_rest,
				&mi->params[np]);
	ss_view_free(hide_rest);
	ss_view_free(keep_rest);
	if (out) {
		/* The rows that leave: D_before AND NOT (D_after OR
		 * D_unaffected), the move-in's WHERE with the sets swapped. */
		int before = first[dep];

		first[dep] = (int)np + 1;
		ss_dnf_movein_sql(o->dnf, o->w, dep, first, before, &mi->where);
		first[dep] = before;
	} else {
		ss_dnf_movein_sql(o->dnf, o->w, dep, first, (int)np + 1,
				  &mi->where);
	}
	ss_dnf_movein_ac_sql(o->dnf, o->w, dep, first, (int)np + 1, &mi->ac);
	free(first);
	return 1;
}

int ss_subq_is_pending(const struct ss_subq *q, int64_t id, uint64_t number)
{
	const struct outer *o = outer_get(q, id);
	size_t i;

	for (i = 0; o && i < o->npend; i++)
		if (o->pend[i].number == number)
			return 1;
	return 0;
}

const char *ss_subq_handle(const struct ss_subq *q, int64_t id)
{
	const struct outer *o = outer_get(q, id);

	return o ? o->handle : NULL;
}
