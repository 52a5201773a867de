/*
 * view.c — lib/view.h: a counted multiset of a subquery's values, in two
 * chained hash tables (values without NULLs; rows with a NULL part).
 */
#include <string.h>

#include "view.h"
#include "where.h"

#define NULLPART 0xffffffffu

struct ventry {
	struct ventry *next;
	uint64_t hash, count;
	size_t keylen;
	char *key;    /* per column: 4-byte length (NULLPART: NULL), bytes */
	char **texts; /* per column: the first row's text, or NULL */
};

struct vtable {
	struct ventry **b;
	size_t nb, n;
};

struct ss_view {
	size_t ncols;
	char **types;
	unsigned char *raw; /* per column: compare the text itself */
	struct vtable vals, nulls;
	uint64_t rows, null_rows;
	struct ss_buf key, part; /* scratch */
};

static void table_free(struct vtable *t, size_t ncols)
{
	size_t i, k;

	for (i = 0; i < t->nb; i++) {
		struct ventry *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			for (k = 0; k < ncols; k++)
				free(e->texts[k]);
			free(e->texts);
			free(e->key);
			free(e);
		}
	}
	free(t->b);
}

void ss_view_free(struct ss_view *v)
{
	size_t k;

	if (!v)
		return;
	table_free(&v->vals, v->ncols);
	table_free(&v->nulls, v->ncols);
	for (k = 0; k < v->ncols; k++)
		free(v->types[k]);
	free(v->types);
	free(v->raw);
	ss_buf_release(&v->key);
	ss_buf_release(&v->part);
	free(v);
}

struct ss_view *ss_view_new(size_t ncols, const char *const *types)
{
	struct ss_view *v;
	size_t k;

	if (ncols == 0)
		ncols = 1; /* never: a select list has a column */
	v = ss_xcalloc(1, sizeof(*v));
	v->ncols = ncols;
	v->types = ss_xcalloc(ncols, sizeof(*v->types));
	for (k = 0; k < ncols; k++)
		v->types[k] = ss_xstrdup(types[k]);
	/* A type without an equality key (enums, arrays) compares its
	 * text: an enum's labels are distinct, arrays of the types with a
	 * canonical output compare alike. */
	v->raw = ss_xcalloc(ncols, sizeof(*v->raw));
	for (k = 0; k < ncols; k++) {
		struct ss_err e2 = SS_ERR_INIT;

		ss_buf_reset(&v->part);
		v->raw[k] =
		    ss_where_value_key(types[k], "0", &v->part, &e2) < 0 &&
		    !strncmp(e2.msg, "unsupported type", 16);
	}
	return v;
}

/* The row's key into v->key; *has_null when a part is NULL. */
static int make_key(struct ss_view *v, const char *const *vals, int *has_null,
		    struct ss_err *err)
{
	size_t k;

	ss_buf_reset(&v->key);
	*has_null = 0;
	for (k = 0; k < v->ncols; k++) {
		uint32_t len;

		if (!vals[k]) {
			len = NULLPART;
			*has_null = 1;
			ss_buf_add(&v->key, &len, sizeof(len));
			continue;
		}
		ss_buf_reset(&v->part);
		if (v->raw[k])
			ss_buf_adds(&v->part, vals[k]);
		else if (ss_where_value_key(v->types[k], vals[k], &v->part,
					    err) < 0)
			return -1;
		len = (uint32_t)v->part.len;
		ss_buf_add(&v->key, &len, sizeof(len));
		ss_buf_add(&v->key, v->part.buf, v->part.len);
	}
	return 0;
}

static struct ventry **find(struct vtable *t, uint64_t h, const char *key,
			    size_t len)
{
	struct ventry **p;

	if (!t->nb)
		return NULL;
	for (p = &t->b[h & (t->nb - 1)]; *p; p = &(*p)->next)
		if ((*p)->hash == h && (*p)->keylen == len &&
		    !memcmp((*p)->key, key, len))
			return p;
	return NULL;
}

static void grow(struct vtable *t)
{
	size_t nb = t->nb ? 2 * t->nb : 16, i;
	struct ventry **b = ss_xcalloc(nb, sizeof(*b));

	for (i = 0; i < t->nb; i++) {
		struct ventry *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

/* The error of a row leaving that never entered, with its values (each
 * cut at 40 bytes) so that the row can be found in the logs. */
static int left_unknown(const struct ss_view *v, const char *const *vals,
			struct ss_err *err)
{
	struct ss_buf b = SS_BUF_INIT;
	size_t k;

	for (k = 0; k < v->ncols; k++) {
		if (k)
			ss_buf_adds(&b, ", ");
		if (!vals[k])
			ss_buf_adds(&b, "NULL");
		else
			ss_buf_addf(&b, "'%.40s'", vals[k]);
	}
	ss_err_set(err, SS_ERR_INPUT,
		   "a row left the view that was never in it (%.200s)",
		   b.len ? b.buf : "");
	ss_buf_release(&b);
	return -1;
}

int ss_view_add(struct ss_view *v, const char *const *vals, int delta,
		int *moved, struct ss_err *err)
{
	int has_null;
	struct vtable *t;
	struct ventry **p, *e;
	uint64_t h;
	size_t k;

	*moved = 0;
	if (make_key(v, vals, &has_null, err) < 0)
		return -1;
	t = has_null ? &v->nulls : &v->vals;
	h = ss_hash64(v->key.buf, v->key.len);
	p = find(t, h, v->key.buf, v->key.len);
	if (delta < 0) {
		if (!p)
			return left_unknown(v, vals, err);
		e = *p;
		v->rows--;
		if (has_null)
			v->null_rows--;
		if (--e->count > 0)
			return 0;
		*p = e->next;
		t->n--;
		for (k = 0; k < v->ncols; k++)
			free(e->texts[k]);
		free(e->texts);
		free(e->key);
		free(e);
		*moved = -1;
		return 0;
	}
	v->rows++;
	if (has_null)
		v->null_rows++;
	if (p) {
		(*p)->count++;
		return 0;
	}
	if (t->n >= t->nb)
		grow(t);
	e = ss_xcalloc(1, sizeof(*e));
	e->hash = h;
	e->count = 1;
	e->keylen = v->key.len;
	e->key = ss_xmalloc(v->key.len ? v->key.len : 1);
	memcpy(e->key, v->key.buf, v->key.len);
	e->texts = ss_xcalloc(v->ncols, sizeof(*e->texts));
	for (k = 0; k < v->ncols; k++)
		e->texts[k] = vals[k] ? ss_xstrdup(vals[k]) : NULL;
	e->next = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = e;
	t->n++;
	*moved = 1;
	return 0;
}

uint64_t ss_view_rows(const struct ss_view *v)
{
	return v->rows;
}

size_t ss_view_values(const struct ss_view *v)
{
	return v->vals.n;
}

uint64_t ss_view_null_rows(const struct ss_view *v)
{
	return v->null_rows;
}

/* Could key a (the probe) equal key b under SQL: no part where both are
 * non-NULL differs. */
static int might_equal(const char *a, size_t alen, const char *b, size_t blen,
		       size_t ncols)
{
	size_t k, i = 0, j = 0;

	for (k = 0; k < ncols; k++) {
		uint32_t la, lb;

		if (i + 4 > alen || j + 4 > blen)
			return 0;
		memcpy(&la, a + i, 4);
		memcpy(&lb, b + j, 4);
		i += 4;
		j += 4;
		if (la != NULLPART && lb != NULLPART &&
		    (la != lb || memcmp(a + i, b + j, la)))
			return 0;
		if (la != NULLPART)
			i += la;
		if (lb != NULLPART)
			j += lb;
	}
	return 1;
}

static int scan_might(const struct vtable *t, const struct ss_buf *key,
		      size_t ncols)
{
	size_t i;

	for (i = 0; i < t->nb; i++) {
		const struct ventry *e;

		for (e = t->b[i]; e; e = e->next)
			if (might_equal(key->buf, key->len, e->key, e->keylen,
					ncols))
				return 1;
	}
	return 0;
}

int ss_view_member(const struct ss_view *v, const char *const *vals, size_t n,
		   int *res, struct ss_err *err)
{
	struct ss_view *mv = (struct ss_view *)v; /* scratch buffers only */
	int has_null;
	uint64_t h;

	if (n != v->ncols)
		return ss_err_set(err, SS_ERR_INPUT,
				  "%zu values for a view of %zu columns", n,
				  v->ncols);
	if (make_key(mv, vals, &has_null, err) < 0)
		return -1;
	if (!has_null) {
		h = ss_hash64(v->key.buf, v->key.len);
		if (find(&mv->vals, h, v->key.buf, v->key.len)) {
			*res = 1;
			return 0;
		}
		*res = scan_might(&v->nulls, &v->key, v->ncols) ? -1 : 0;
		return 0;
	}
	*res = (scan_might(&v->vals, &v->key, v->ncols) ||
		scan_might(&v->nulls, &v->key, v->ncols))
		   ? -1
		   : 0;
	return 0;
}

/* One array element: quoted, with " and \ escaped; NULL bare. */
static void array_elem(struct ss_buf *b, const char *s)
{
	if (b->len > 1)
		ss_buf_addc(b, ',');
	if (!s) {
		ss_buf_adds(b, "NULL");
		return;
	}
	ss_buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			ss_buf_addc(b, '\\');
		ss_buf_addc(b, *s);
	}
	ss_buf_addc(b, '"');
}

void ss_view_arrays(const struct ss_view *v, struct ss_buf *cols)
{
	const struct vtable *tabs[2] = {&v->vals, &v->nulls};
	size_t t, i, k;

	for (k = 0; k < v->ncols; k++) {
		ss_buf_reset(&cols[k]);
		ss_buf_addc(&cols[k], '{');
	}
	for (t = 0; t < 2; t++)
		for (i = 0; i < tabs[t]->nb; i++) {
			const struct ventry *e;

			for (e = tabs[t]->b[i]; e; e = e->next)
				for (k = 0; k < v->ncols; k++)
					array_elem(&cols[k], e->texts[k]);
		}
	for (k = 0; k < v->ncols; k++)
		ss_buf_addc(&cols[k], '}');
}

/* 1 if e's row is in view o (NULL: no) as an exact row: its value has a
 * count there (a row with a NULL: the same row among o's NULL rows). */
static int entry_in(const struct ss_view *o, const struct ventry *e, int nul)
{
	const struct vtable *t;
	const struct ventry *f;

	if (!o)
		return 0;
	t = nul ? &o->nulls : &o->vals;
	if (!t->nb)
		return 0;
	for (f = t->b[e->hash & (t->nb - 1)]; f; f = f->next)
		if (f->hash == e->hash && f->keylen == e->keylen &&
		    !memcmp(f->key, e->key, e->keylen))
			return f->count > 0;
	return 0;
}

void ss_view_arrays_adjusted(const struct ss_view *v,
			     const struct ss_view *minus,
			     const struct ss_view *plus, struct ss_buf *cols)
{
	const struct ss_view *src[2] = {v, plus};
	size_t s, t, i, k;

	for (k = 0; k < v->ncols; k++) {
		ss_buf_reset(&cols[k]);
		ss_buf_addc(&cols[k], '{');
	}
	for (s = 0; s < 2; s++) {
		if (!src[s])
			continue;
		for (t = 0; t < 2; t++) {
			const struct vtable *tab =
			    t ? &src[s]->nulls : &src[s]->vals;

			for (i = 0; i < tab->nb; i++) {
				const struct ventry *e;

				for (e = tab->b[i]; e; e = e->next) {
					if (!e->count)
						continue;
					/* v's rows less minus's; plus's
					 * rows not in v already */
					if (s == 0 ? entry_in(minus, e, (int)t)
						   : entry_in(v, e, (int)t))
						continue;
					for (k = 0; k < v->ncols; k++)
						array_elem(&cols[k],
							   e->texts[k]);
				}
			}
		}
	}
	for (k = 0; k < v->ncols; k++)
		ss_buf_addc(&cols[k], '}');
}

int ss_view_each(const struct ss_view *v,
		 int (*fn)(void *ctx, const char *const *vals), void *ctx)
{
	size_t i;

	for (i = 0; i < v->vals.nb; i++) {
		const struct ventry *e;

		for (e = v->vals.b[i]; e; e = e->next) {
			int r = fn(ctx, (const char *const *)e->texts);

			if (r)
				return r;
		}
	}
	return 0;
}
