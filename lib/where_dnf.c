/*
 * where_dnf.c — lib/dnf.h: a compiled where clause with subqueries as an
 * OR of ANDs of positions, each row's active_conditions and tags.
 */
#include "dnf.h"
#include "md5.h"
#include "where_int.h"

struct dlit {
	const struct ss_where_node *n;
	int negated;
};

/* A list of conjunctions, each a list of literals. */
struct conj {
	struct dlit *l;
	size_t n;
};
struct disj {
	struct conj *c;
	size_t n;
};

struct ss_dnf {
	struct ss_dnf_pos *pos;
	size_t npos, ndisj;
	const struct ss_where_node **leaf; /* per position */
	size_t *first, *width;		   /* per disjunct */
	size_t ndeps;
	size_t **deppos, *ndeppos; /* per dependency */
	int *depneg;		   /* per dependency: -1 unused, 0, 1 */
	const struct ss_where *w;
};

static void disj_free(struct disj *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->c[i].l);
	free(d->c);
	d->c = NULL;
	d->n = 0;
}

/* How many disjuncts n expands to (saturating), without building them. */
static uint64_t count(const struct ss_where_node *n, int neg)
{
	uint64_t r;
	size_t i;
	int product;

	if (n->kind == SS_WHERE_NOT)
		return count(n->args[0], !neg);
	if (n->kind != SS_WHERE_AND && n->kind != SS_WHERE_OR)
		return 1;
	product = (n->kind == SS_WHERE_AND) != neg;
	r = product ? 1 : 0;
	for (i = 0; i < n->nargs; i++) {
		uint64_t c = count(n->args[i], neg);

		if (product)
			r = (c && r > UINT64_MAX / c) ? UINT64_MAX : r * c;
		else
			r = r > UINT64_MAX - c ? UINT64_MAX : r + c;
	}
	return r;
}

static int not_in(const struct ss_where_node *n)
{
	return n->kind == SS_WHERE_SUBLINK && (n->flags & NF_NOT);
}

/* Expand n (under `neg` NOTs) into *out. The count was checked first. */
static void expand(const struct ss_where_node *n, int neg, struct disj *out)
{
	size_t i, a, b;

	if (n->kind == SS_WHERE_NOT) {
		expand(n->args[0], !neg, out);
		return;
	}
	if (n->kind != SS_WHERE_AND && n->kind != SS_WHERE_OR) {
		out->c = ss_xcalloc(1, sizeof(*out->c));
		out->c[0].l = ss_xcalloc(1, sizeof(struct dlit));
		out->c[0].l[0].n = n;
		/* x NOT IN (...) is NOT (x IN (...)) */
		out->c[0].l[0].negated = not_in(n) ? !neg : neg;
		out->c[0].n = 1;
		out->n = 1;
		return;
	}
	if ((n->kind == SS_WHERE_AND) != neg) { /* a product */
		expand(n->args[0], neg, out);
		for (i = 1; i < n->nargs; i++) {
			struct disj r = {0}, p = {0};

			expand(n->args[i], neg, &r);
			p.c = ss_xcalloc(out->n * r.n, sizeof(*p.c));
			for (a = 0; a < out->n; a++)
				for (b = 0; b < r.n; b++) {
					struct conj *c = &p.c[p.n++];

					c->n = out->c[a].n + r.c[b].n;
					c->l = ss_xcalloc(c->n, sizeof(*c->l));
					memcpy(c->l, out->c[a].l,
					       out->c[a].n * sizeof(*c->l));
					memcpy(c->l + out->c[a].n, r.c[b].l,
					       r.c[b].n * sizeof(*c->l));
				}
			disj_free(out);
			disj_free(&r);
			*out = p;
		}
		return;
	}
	for (i = 0; i < n->nargs; i++) { /* a sum */
		struct disj r = {0};

		expand(n->args[i], neg, &r);
		out->c = ss_xrealloc(out->c, (out->n + r.n) * sizeof(*out->c));
		memcpy(out->c + out->n, r.c, r.n * sizeof(*r.c));
		out->n += r.n;
		free(r.c);
	}
}

int ss_dnf_build(const struct ss_where *w, const struct ss_where_column *cols,
		 size_t ncols, struct ss_dnf **out, struct ss_err *err)
{
	struct disj dj = {0};
	struct ss_dnf *d;
	uint64_t nd = count(w->root, 0);
	size_t i, k, p;

	*out = NULL;
	if (nd > SS_DNF_MAX_DISJUNCTS)
		return ss_err_set(err, SS_ERR_INPUT,
				  "WHERE clause too complex for DNF "
				  "decomposition (%llu disjuncts exceeds limit "
				  "of %d)",
				  (unsigned long long)nd, SS_DNF_MAX_DISJUNCTS);
	expand(w->root, 0, &dj);
	d = ss_xcalloc(1, sizeof(*d));
	d->w = w;
	d->ndisj = dj.n;
	d->first = ss_xcalloc(dj.n, sizeof(*d->first));
	d->width = ss_xcalloc(dj.n, sizeof(*d->width));
	for (i = 0; i < dj.n; i++)
		d->npos += dj.c[i].n;
	d->pos = ss_xcalloc(d->npos, sizeof(*d->pos));
	d->leaf = ss_xcalloc(d->npos, sizeof(*d->leaf));
	d->ndeps = w->ndeps;
	d->deppos = ss_xcalloc(w->ndeps + 1, sizeof(*d->deppos));
	d->ndeppos = ss_xcalloc(w->ndeps + 1, sizeof(*d->ndeppos));
	d->depneg = ss_xcalloc(w->ndeps + 1, sizeof(*d->depneg));
	for (i = 0; i < w->ndeps; i++)
		d->depneg[i] = -1;
	for (i = 0, p = 0; i < dj.n; i++) {
		d->first[i] = p;
		d->width[i] = dj.c[i].n;
		for (k = 0; k < dj.c[i].n; k++, p++) {
			const struct ss_where_node *n = dj.c[i].l[k].n;
			struct ss_dnf_pos *ps = &d->pos[p];

			d->leaf[p] = n;
			ps->disjunct = i;
			ps->negated = dj.c[i].l[k].negated;
			ps->dep = ss_where_node_dep(n);
			if (ps->dep >= 0) {
				size_t j, dep = (size_t)ps->dep;
				size_t *c = ss_xcalloc(n->nargs, sizeof(*c));
				const char **nm =
				    ss_xcalloc(n->nargs, sizeof(*nm));

				for (j = 0; j < n->nargs; j++) {
					c[j] = (size_t)n->args[j]->col;
					nm[j] =
					    c[j] < ncols ? cols[c[j]].name : "";
				}
				ps->ncols = n->nargs;
				ps->cols = c;
				ps->names = nm;
				if (d->depneg[dep] >= 0 &&
				    d->depneg[dep] != ps->negated) {
					disj_free(&dj);
					ss_dnf_free(d);
					return ss_err_set(
					    err, SS_ERR_INPUT,
					    "a subquery dependency cannot be "
					    "used with both positive and "
					    "negative polarity in the same "
					    "filter");
				}
				d->depneg[dep] = ps->negated;
				d->deppos[dep] = ss_xrealloc(
				    d->deppos[dep],
				    (d->ndeppos[dep] + 1) * sizeof(size_t));
				d->deppos[dep][d->ndeppos[dep]++] = p;
			}
		}
	}
	disj_free(&dj);
	*out = d;
	return 0;
}

void ss_dnf_free(struct ss_dnf *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->npos; i++) {
		free((void *)d->pos[i].cols);
		free((void *)d->pos[i].names);
	}
	for (i = 0; i < d->ndeps; i++)
		free(d->deppos[i]);
	free(d->deppos);
	free(d->ndeppos);
	free(d->depneg);
	free(d->pos);
	free(d->leaf);
	free(d->first);
	free(d->width);
	free(d);
}

size_t ss_dnf_ndisjuncts(const struct ss_dnf *d)
{
	return d->ndisj;
}

size_t ss_dnf_npositions(const struct ss_dnf *d)
{
	return d->npos;
}

const struct ss_dnf_pos *ss_dnf_pos(const struct ss_dnf *d, size_t p)
{
	return p < d->npos ? &d->pos[p] : NULL;
}

size_t ss_dnf_dep_positions(const struct ss_dnf *d, size_t dep,
			    const size_t **pos)
{
	if (dep >= d->ndeps) {
		*pos = NULL;
		return 0;
	}
	*pos = d->deppos[dep];
	return d->ndeppos[dep];
}

int ss_dnf_dep_negated(const struct ss_dnf *d, size_t dep)
{
	return dep < d->ndeps && d->depneg[dep] == 1;
}

int ss_dnf_eval(const struct ss_dnf *d, const char *const *values,
		ss_where_member_fn member, void *ctx, unsigned char *ac,
		int *included, struct ss_err *err)
{
	size_t i, p;

	for (p = 0; p < d->npos; p++) {
		int r;

		if (ss_w_eval_row(d->w, d->leaf[p], values, member, ctx, &r,
				  err) < 0)
			return -1;
		if (not_in(d->leaf[p]) && r >= 0) /* the test itself */
			r = !r;
		ac[p] = d->pos[p].negated ? r == 0 : r == 1;
	}
	*included = 0;
	for (i = 0; i < d->ndisj && !*included; i++) {
		int all = 1;

		for (p = d->first[i]; p < d->first[i] + d->width[i]; p++)
			all = all && ac[p];
		*included = all;
	}
	return 0;
}

static void hash_part(struct ss_md5 *m, const char *name, const char *v,
		      int composite)
{
	if (composite) {
		ss_md5_update(m, name, strlen(name));
		ss_md5_update(m, ":", 1);
	}
	if (v) {
		ss_md5_update(m, "v:", 2);
		ss_md5_update(m, v, strlen(v));
	} else {
		ss_md5_update(m, "NULL", 4);
	}
}

void ss_dnf_value_hash(const struct ss_dnf *d, size_t p,
		       const char *const *vals, const char *stack_id,
		       const char *handle, char hex[33])
{
	const struct ss_dnf_pos *ps = &d->pos[p];
	struct ss_md5 m;
	size_t i;

	ss_md5_init(&m);
	ss_md5_update(&m, stack_id, strlen(stack_id));
	ss_md5_update(&m, handle, strlen(handle));
	for (i = 0; i < ps->ncols; i++)
		hash_part(&m, ps->names[i], vals[i], ps->ncols > 1);
	ss_md5_hex(&m, hex);
}

void ss_dnf_row_hash(const struct ss_dnf *d, size_t p,
		     const char *const *values, const char *stack_id,
		     const char *handle, char hex[33])
{
	const struct ss_dnf_pos *ps = &d->pos[p];
	const char *vals[16] = {0};
	const char **v = vals;
	size_t i;

	if (ps->ncols > sizeof(vals) / sizeof(vals[0]))
		v = ss_xcalloc(ps->ncols, sizeof(*v));
	for (i = 0; i < ps->ncols; i++)
		v[i] = values[ps->cols[i]];
	ss_dnf_value_hash(d, p, v, stack_id, handle, hex);
	if (v != vals)
		free(v);
}

void ss_dnf_tags_json(const struct ss_dnf *d, const char *const *values,
		      const char *stack_id, const char *handle,
		      struct ss_buf *out)
{
	char(*hashes)[33] = ss_xcalloc(d->npos ? d->npos : 1, 33);
	size_t i, p;

	for (p = 0; p < d->npos; p++)
		if (d->pos[p].dep >= 0)
			ss_dnf_row_hash(d, p, values, stack_id, handle,
					hashes[p]);
	ss_buf_addc(out, '[');
	for (i = 0; i < d->ndisj; i++) {
		ss_buf_adds(out, i ? ",\"" : "\"");
		for (p = 0; p < d->npos; p++) {
			if (p)
				ss_buf_addc(out, '/');
			if (d->pos[p].disjunct != i)
				continue;
			ss_buf_adds(out, d->pos[p].dep >= 0 ? hashes[p] : "1");
		}
		ss_buf_addc(out, '"');
	}
	ss_buf_addc(out, ']');
	free(hashes);
}

void ss_dnf_ac_json(const struct ss_dnf *d, const unsigned char *ac,
		    struct ss_buf *out)
{
	size_t p;

	ss_buf_addc(out, '[');
	for (p = 0; p < d->npos; p++) {
		if (p)
			ss_buf_addc(out, ',');
		ss_buf_adds(out, ac[p] ? "true" : "false");
	}
	ss_buf_addc(out, ']');
}

/* ---- the same in SQL ------------------------------------------------ */

/* A string literal of ours: standard_conforming_strings, quotes doubled
 * (as lib/where renders literals in a clause). */
static void sql_str(const char *s, struct ss_buf *out)
{
	ss_buf_addc(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			ss_buf_addc(out, '\'');
		ss_buf_addc(out, *s);
	}
	ss_buf_addc(out, '\'');
}

/* The text of a column as its output function writes it (what the row's
 * value holds), or "NULL": the part of the hash for one value. */
static void sql_ns(const char *col, struct ss_buf *out)
{
	ss_buf_adds(out, "CASE WHEN ");
	ss_w_render_ident(col, out);
	ss_buf_adds(out, " IS NULL THEN 'NULL' ELSE 'v:' || concat(");
	ss_w_render_ident(col, out);
	ss_buf_adds(out, ", '') END");
}

static void sql_hash(const struct ss_dnf *d, size_t p, const char *stack_lit,
		     const char *handle_lit, struct ss_buf *out)
{
	const struct ss_dnf_pos *ps = &d->pos[p];
	size_t i;

	ss_buf_addf(out, "md5(%s || %s", stack_lit, handle_lit);
	for (i = 0; i < ps->ncols; i++) {
		ss_buf_adds(out, " || ");
		if (ps->ncols > 1) {
			struct ss_buf name = SS_BUF_INIT;

			ss_buf_adds(&name, ps->names[i]);
			ss_buf_addc(&name, ':');
			sql_str(name.buf, out);
			ss_buf_adds(out, " || ");
			ss_buf_release(&name);
		}
		ss_buf_addc(out, '(');
		sql_ns(ps->names[i], out);
		ss_buf_addc(out, ')');
	}
	ss_buf_addc(out, ')');
}

/* Position p's truth: the leaf with its polarity, NULL as false. A
 * NOT IN leaf is rendered as its IN test (its polarity is the
 * position's). */
static void sql_cond(const struct ss_dnf *d, size_t p, struct ss_buf *out)
{
	const struct ss_where_node *n = d->leaf[p];
	struct ss_where_node tmp;

	if (not_in(n)) {
		tmp = *n;
		tmp.flags &= ~NF_NOT;
		tmp.op = "IN";
		n = &tmp;
	}
	ss_buf_adds(out, d->pos[p].negated ? "COALESCE(NOT (" : "COALESCE((");
	ss_w_render(n, out);
	ss_buf_adds(out, "), false)");
}

static void sql_set_test(const struct ss_dnf *d, const struct ss_where *w,
			 size_t p, int param, struct ss_buf *out);

/* The active_conditions expression; with w, subquery positions test the
 * sets passed as parameters (first[], dependency dep's at dep_param)
 * rather than the subqueries. */
static void sql_ac(const struct ss_dnf *d, const struct ss_where *w,
		   const int *first, size_t dep, int dep_param,
		   struct ss_buf *ac)
{
	size_t p;

	ss_buf_adds(ac, "('['");
	for (p = 0; p < d->npos; p++) {
		const struct ss_dnf_pos *ps = &d->pos[p];

		ss_buf_adds(ac, p ? " || ',' || " : " || ");
		ss_buf_adds(ac, "CASE WHEN ");
		if (!w || ps->dep < 0) {
			sql_cond(d, p, ac);
		} else {
			ss_buf_adds(ac, ps->negated ? "COALESCE(NOT ("
						    : "COALESCE((");
			sql_set_test(d, w, p,
				     (size_t)ps->dep == dep ? dep_param
							    : first[ps->dep],
				     ac);
			ss_buf_adds(ac, "), false)");
		}
		ss_buf_adds(ac, " THEN 'true' ELSE 'false' END");
	}
	ss_buf_adds(ac, " || ']')");
}

void ss_dnf_sql(const struct ss_dnf *d, const char *stack_lit,
		const char *handle_lit, struct ss_buf *tags, struct ss_buf *ac)
{
	size_t i, p;

	ss_buf_adds(tags, "('[' || ");
	for (i = 0; i < d->ndisj; i++) {
		ss_buf_adds(tags, i ? " || ',\"' || " : "'\"' || ");
		for (p = 0; p < d->npos; p++) {
			if (p)
				ss_buf_adds(tags, "'/' || ");
			if (d->pos[p].disjunct != i)
				continue;
			if (d->pos[p].dep >= 0)
				sql_hash(d, p, stack_lit, handle_lit, tags);
			else
				ss_buf_adds(tags, "'1'");
			ss_buf_adds(tags, " || ");
		}
		ss_buf_adds(tags, "'\"'");
	}
	ss_buf_adds(tags, " || ']')");
	if (ac)
		sql_ac(d, NULL, NULL, 0, 0, ac);
}

/* ---- move-in queries -------------------------------------------------- */

/* Position p's test against a set given as parameters from $param. */
static void sql_set_test(const struct ss_dnf *d, const struct ss_where *w,
			 size_t p, int param, struct ss_buf *out)
{
	const struct ss_dnf_pos *ps = &d->pos[p];
	const struct ss_where_dep *dep = ss_where_dep_at(w, (size_t)ps->dep);
	size_t i;

	if (ps->ncols == 1) {
		ss_w_render_ident(ps->names[0], out);
		ss_buf_addf(out, " = ANY($%d::%s[])", param, dep->types[0]);
		return;
	}
	ss_buf_addc(out, '(');
	for (i = 0; i < ps->ncols; i++) {
		if (i)
			ss_buf_adds(out, ", ");
		ss_w_render_ident(ps->names[i], out);
	}
	ss_buf_adds(out, ") IN (SELECT * FROM unnest(");
	for (i = 0; i < ps->ncols; i++)
		ss_buf_addf(out, "%s$%d::%s[]", i ? ", " : "", param + (int)i,
			    dep->types[i]);
	ss_buf_adds(out, "))");
}

/* Disjunct i, every position with its polarity, NULL as false; the
 * positions of `dep` against the set at $dep_param, the others' against
 * their current sets. */
static void sql_disjunct(const struct ss_dnf *d, const struct ss_where *w,
			 size_t i, size_t dep, const int *first, int dep_param,
			 struct ss_buf *out)
{
	size_t p;

	ss_buf_addc(out, '(');
	for (p = d->first[i]; p < d->first[i] + d->width[i]; p++) {
		const struct ss_dnf_pos *ps = &d->pos[p];

		if (p > d->first[i])
			ss_buf_adds(out, " AND ");
		if (ps->dep < 0) {
			sql_cond(d, p, out);
			continue;
		}
		ss_buf_adds(out, ps->negated ? "COALESCE(NOT (" : "COALESCE((");
		sql_set_test(
		    d, w, p,
		    (size_t)ps->dep == dep ? dep_param : first[ps->dep], out);
		ss_buf_adds(out, "), false)");
	}
	ss_buf_addc(out, ')');
}

static int has_dep(const struct ss_dnf *d, size_t i, size_t dep)
{
	size_t p;

	for (p = d->first[i]; p < d->first[i] + d->width[i]; p++)
		if (d->pos[p].dep >= 0 && (size_t)d->pos[p].dep == dep)
			return 1;
	return 0;
}

/* The OR of the disjuncts that hold `dep` (want 1) or not (want 0). */
static void sql_some(const struct ss_dnf *d, const struct ss_where *w,
		     size_t dep, int want, const int *first, int dep_param,
		     struct ss_buf *out)
{
	size_t i, n = 0;

	ss_buf_addc(out, '(');
	for (i = 0; i < d->ndisj; i++) {
		if (has_dep(d, i, dep) != want)
			continue;
		if (n++)
			ss_buf_adds(out, " OR ");
		sql_disjunct(d, w, i, dep, first, dep_param, out);
	}
	if (!n)
		ss_buf_adds(out, "false");
	ss_buf_addc(out, ')');
}

void ss_dnf_movein_sql(const struct ss_dnf *d, const struct ss_where *w,
		       size_t dep, const int *first, int after,
		       struct ss_buf *out)
{
	sql_some(d, w, dep, 1, first, after, out);
	ss_buf_adds(out, " AND NOT (");
	sql_some(d, w, dep, 1, first, first[dep], out);
	ss_buf_adds(out, " OR ");
	sql_some(d, w, dep, 0, first, first[dep], out);
	ss_buf_addc(out, ')');
}

void ss_dnf_movein_ac_sql(const struct ss_dnf *d, const struct ss_where *w,
			  size_t dep, const int *first, int after,
			  struct ss_buf *ac)
{
	sql_ac(d, w, first, dep, after, ac);
}
