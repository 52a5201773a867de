/*
 * route_match.c — the router's matching: a change's rows against the
 * equality, containment and range indexes and the unindexed shapes of
 * its table and of the tables it is a partition of, the prefetch of a
 * batch, and the fast path that reads change frames with lib/frame's
 * scanner. See route.h; the structures are in route_int.h.
 */
#include "route_int.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>

/*
 * A row value of a column of kind nk as a double, only when it is in the
 * form PostgreSQL prints that type and surely a valid value of it (so that
 * a decision made on the double is the one PostgreSQL would make):
 * integers as [-]digits in the type's range; numeric and float8 as
 * [-]digits[.digits][e[+-]digits], "NaN", "Infinity" or "-Infinity",
 * with no overflow or underflow in the conversion. Anything else returns
 * -1 and the caller lets lib/where decide (and report).
 */
static int row_double(const char *s, int nk, double *out)
{
	const char *p = s;
	char *end;
	double d;
	int digits = 0, nonzero = 0;

	if (nk == NK_NUMERIC || nk == NK_FLOAT8) {
		if (!strcmp(s, "NaN") || !strcmp(s, "Infinity")) {
			*out = INFINITY;
			return 0;
		}
		if (!strcmp(s, "-Infinity")) {
			*out = -INFINITY;
			return 0;
		}
	}
	if (*p == '-')
		p++;
	for (; *p >= '0' && *p <= '9'; p++) {
		digits++;
		nonzero |= *p != '0';
	}
	if (nk == NK_INT2 || nk == NK_INT4 || nk == NK_INT8) {
		int64_t v = 0, max = nk == NK_INT2   ? 32767
				     : nk == NK_INT4 ? 2147483647
						     : INT64_MAX;

		if (*p || !digits || digits > 19)
			return -1;
		for (p = s + (*s == '-'); *p; p++) {
			if (v > (INT64_MAX - (*p - '0')) / 10)
				return -1;
			v = v * 10 + (*p - '0');
		}
		/* -max-1 is valid too, but rare: the evaluator decides. */
		if (v > max)
			return -1;
		*out = (double)(*s == '-' ? -v : v);
		return 0;
	}
	if (nk != NK_NUMERIC && nk != NK_FLOAT8)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			digits++;
			nonzero |= *p != '0';
		}
	}
	if (!digits)
		return -1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (*end || errno || isinf(d) || (nonzero && d == 0) ||
	    (d != 0 && fabs(d) < DBL_MIN))
		return -1;
	*out = d;
	return 0;
}

/* ---- matching ---------------------------------------------------------- */

/* Hits are recorded by id, so that a hit found in an index slot never
 * reads its shape; a shape found twice (old and new row, or two elements
 * of an array) is merged after sorting (merge_hits). */
static void hit_id(struct ss_router *r, int64_t id, int bit)
{
	if (r->nhits == r->hits_alloc)
		SS_GROW(r->hits, r->hits_alloc, r->nhits + 1);
	r->hits[r->nhits].id = id;
	r->hits[r->nhits++].mask = (unsigned)bit;
}

static void hit(struct ss_router *r, struct rshape *s, int bit)
{
	hit_id(r, s->id, bit);
}

static int cmp_hit(const void *a, const void *b)
{
	int64_t x = ((const struct hitrec *)a)->id;
	int64_t y = ((const struct hitrec *)b)->id;

	return x < y ? -1 : x > y;
}

/* Sort the hits by id and merge those of the same shape. */
static void merge_hits(struct ss_router *r)
{
	size_t i, n = 0;

	if (r->nhits < 2)
		return;
	sort_(r->hits, r->nhits, sizeof(*r->hits), cmp_hit);
	for (i = 1; i < r->nhits; i++) {
		if (r->hits[i].id == r->hits[n].id)
			r->hits[n].mask |= r->hits[i].mask;
		else
			r->hits[++n] = r->hits[i];
	}
	r->nhits = n + 1;
}

static void eval_full(struct ss_router *r, struct rshape *s,
		      const char *const *vals, int bit)
{
	struct ss_err err = SS_ERR_INIT;
	int res;

	if (!s->w && s->lazy &&
	    ss_where_compile_stored(s->def.where, s->g->wcols, s->g->ncols,
				    (const char *const *)s->def.params,
				    s->def.nparams, &s->w, &err) < 0) {
		r->cur->errors++;
		snprintf(r->cur->last_error, sizeof(r->cur->last_error),
			 "shape %" PRId64 ": %.200s", s->id, err.msg);
		return;
	}
	if (s->deps) {
		ss_where_member_fn fn = s->sq_fn;
		void *ctx = s->sq_ctx;

		if ((!fn && !ss_subq_member_fn(r->subq, s->id, &fn, &ctx)) ||
		    ss_where_eval_member(s->w, vals, fn, ctx, &res, &err) < 0) {
			r->cur->errors++;
			snprintf(r->cur->last_error, sizeof(r->cur->last_error),
				 "shape %" PRId64 ": %.200s", s->id,
				 err.msg[0] ? err.msg : "no views");
			return;
		}
	} else if (ss_where_eval(s->w, vals, &res, &err) < 0) {
		r->cur->errors++;
		snprintf(r->cur->last_error, sizeof(r->cur->last_error),
			 "shape %" PRId64 ": %.200s", s->id, err.msg);
		return;
	}
	if (res == 1)
		hit(r, s, bit);
}

enum { CHK_NO, CHK_YES, CHK_TIE, CHK_UNREAD };

/* A row against one range check: CHK_NO (out of range, or NULL: the AND
 * is not true), CHK_YES (inside), CHK_TIE (on a bound, where rounding to
 * double may decide wrongly) or CHK_UNREAD (a value row_double does not
 * read): lib/where decides the last two. */
static int check_row(const struct rcheck *c, const char *const *vals)
{
	const char *v = vals[c->col];
	double x;

	if (!v)
		return CHK_NO;
	if (row_double(v, c->nk, &x) < 0)
		return CHK_UNREAD;
	if ((c->has_lo && x < c->lo) || (c->has_hi && x > c->hi))
		return CHK_NO;
	if ((c->has_lo && x == c->lo) || (c->has_hi && x == c->hi))
		return CHK_TIE;
	return CHK_YES;
}

static void eval(struct ss_router *r, struct rshape *s, const char *const *vals,
		 int bit)
{
	if (s->exact || s->nowhere) {
		hit(r, s, bit);
		return;
	}
	if (s->use_checks) {
		size_t i;
		int tie = 0;

		for (i = 0; i < s->nchecks; i++) {
			int c = check_row(&s->checks[i], vals);

			if (c == CHK_NO)
				return;
			if (c == CHK_UNREAD) {
				tie = 1; /* let the evaluator decide */
				break;
			}
			if (c == CHK_TIE)
				tie = 1;
		}
		if (!tie) {
			hit(r, s, bit);
			return;
		}
	}
	eval_full(r, s, vals, bit);
}

/* The shapes of an index slot; one alone is decided from the slot. */
static void slot_match(struct ss_router *r, const struct eqslot *sl,
		       const char *const *vals, int bit)
{
	size_t i;

	if (!(sl->flags & SL_ONE)) {
		for (i = 0; i < sl->u.e->n; i++)
			eval(r, sl->u.e->v[i], vals, bit);
		return;
	}
	if (sl->flags & SL_EXACT) {
		hit_id(r, sl->id, bit);
	} else if (sl->flags & SL_CHECK) {
		int c = check_row(&sl->chk, vals);

		if (c == CHK_YES)
			hit_id(r, sl->id, bit);
		else if (c != CHK_NO)
			eval_full(r, sl->u.s, vals, bit);
	} else {
		eval(r, sl->u.s, vals, bit);
	}
}

static void eval_all(struct ss_router *r, struct rshape **v, size_t n,
		     const char *const *vals, int bit)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* The index could not narrow these down: evaluate in full. */
		if (v[i]->nowhere)
			hit(r, v[i], bit);
		else
			eval_full(r, v[i], vals, bit);
	}
}

static void eq_lookup(struct ss_router *r, struct eqidx *e, const char *key,
		      size_t len, const char *const *vals, int bit)
{
	size_t empty;
	const struct eqslot *sl =
	    eq_find(r, e->uid, key, len, eq_hash(e->uid, key, len), &empty);

	if (sl)
		slot_match(r, sl, vals, bit);
}

/* The same with the hash already known. */
static void eq_lookup_h(struct ss_router *r, struct eqidx *e, const char *key,
			size_t len, uint64_t h, const char *const *vals,
			int bit)
{
	size_t empty;
	const struct eqslot *sl = eq_find(r, e->uid, key, len, h, &empty);

	if (sl)
		slot_match(r, sl, vals, bit);
}

/*
 * Is v the canonical text of an integer (what PostgreSQL prints: no
 * leading zeros, no "-0", at most 18 characters) in the range of a column
 * of kind nk? Then it is its own equality key and the key function can be
 * skipped. One pass; sets *len.
 */
static int canonical_int(const char *v, int nk, size_t *len)
{
	const char *p = v + (*v == '-');
	uint64_t x = 0;
	uint64_t max = nk == NK_INT2   ? 32767
		       : nk == NK_INT4 ? 2147483647
		       : nk == NK_INT8 ? INT64_MAX
				       : 0;

	if (*p < '1' || *p > '9') {
		if (*v != '0' || v[1] || !max)
			return 0;
		*len = 1;
		return 1;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (p - v >= 18)
			return 0;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	/* -max-1 is valid too, but rare: the key function decides. */
	if (*p || x > max)
		return 0;
	*len = (size_t)(p - v);
	return 1;
}

/* The key a row value is looked up under when that needs no key function
 * (text, varchar, enums: the text; integer columns: canonical integers):
 * returns 1 and sets *len, else 0. */
static int quick_key(const struct eqidx *e, const char *v, size_t *len)
{
	if (e->quick == 1) {
		*len = strlen(v);
		return 1;
	}
	return e->quick == 2 && canonical_int(v, e->colnk, len);
}

/*
 * A row value against a prefix index: for each length L that some prefix
 * has, ascending and up to the value's length, the value's first L bytes
 * (ASCII letters lowered for ILIKE, as the evaluator lowers both sides)
 * are looked up as a key; the hash runs on over the value as L grows.
 * Cuts inside a UTF-8 character are harmless: the evaluator compares
 * bytes too, and a prefix that ends inside a character cannot equal one
 * that does not.
 */
static void match_prefix(struct ss_router *r, struct eqidx *e, const char *v,
			 const char *const *vals, int bit)
{
	size_t vlen, k, done = 0;
	uint64_t h = eq_hash_start(e->uid);
	const char *key = v;

	if (!e->nplens)
		return;
	vlen = strnlen(v, e->plens[e->nplens - 1]);
	if (e->prefix == 2) {
		char *f;

		ss_buf_reset(&r->fold);
		ss_buf_add(&r->fold, v, vlen);
		for (f = r->fold.buf, k = 0; k < vlen; k++)
			if (f[k] >= 'A' && f[k] <= 'Z')
				f[k] = (char)(f[k] + 32);
		key = r->fold.buf;
	}
	for (k = 0; k < e->nplens && e->plens[k] <= vlen; k++) {
		size_t len = e->plens[k], empty;
		const struct eqslot *sl;

		h = eq_hash_add(h, key + done, len - done);
		done = len;
		sl = eq_find(r, e->uid, key, len, eq_hash_end(h), &empty);
		if (sl)
			slot_match(r, sl, vals, bit);
	}
}

struct elemctx {
	struct ss_router *r;
	struct eqidx *e;
	struct keylist kl;
};

static void match_eq_keyed(struct ss_router *r, struct eqidx *e, const char *v,
			   const char *const *vals, int bit);

static void match_eq(struct ss_router *r, struct eqidx *e,
		     const char *const *vals, int bit)
{
	const char *v = vals[e->col];
	size_t i, len;

	if (!v || !e->n)
		return; /* NULL = x, NULL @> x, NULL LIKE x are never true */
	if (e->prefix) {
		match_prefix(r, e, v, vals, bit);
		return;
	}
	if (e->contain) {
		struct keylist kl;

		memset(&kl, 0, sizeof(kl));
		kl.type = e->type;
		kl.raw = e->raw;
		kl.key = &r->key;
		if (ss_route_array_elements(
			v, &r->tmp, ss_route_keylist_add_text, &kl) < 0 ||
		    kl.bad) {
			eval_all(r, e->members, e->n, vals, bit);
		} else {
			for (i = 0; i < kl.n; i++)
				eq_lookup(r, e, kl.keys[i], kl.lens[i], vals,
					  bit);
		}
		ss_route_keylist_free(&kl);
		return;
	}
	/* The prefetch stage may have keyed this value already. */
	if (r->hint) {
		const struct ss_route_scan *sc = r->hint;

		for (i = 0; i < sc->nph_; i++)
			if (sc->pi_[i] == e && sc->pv_[i] == v) {
				eq_lookup_h(r, e, v, sc->pl_[i], sc->ph_[i],
					    vals, bit);
				return;
			}
	}
	/* text and varchar compare byte for byte: the text is the key. */
	if (quick_key(e, v, &len)) {
		eq_lookup(r, e, v, len, vals, bit);
		return;
	}
	match_eq_keyed(r, e, v, vals, bit);
}

/* match_eq's slow path: the value's key made by ss_where_value_key (its
 * struct ss_err is kilobytes to initialise: not on every lookup). */
static void match_eq_keyed(struct ss_router *r, struct eqidx *e, const char *v,
			   const char *const *vals, int bit)
{
	struct ss_err err = SS_ERR_INIT;

	ss_buf_reset(&r->key);
	/* A value cast from the column's type must be a value of that type
	 * first (int4 '1.0' is an error, not numeric 1). */
	if ((e->coltype &&
	     (ss_where_value_key(e->coltype, v, &r->key, &err) < 0 ||
	      (ss_buf_reset(&r->key), 0))) ||
	    ss_where_value_key(e->type, v, &r->key, &err) < 0) {
		/* Not a value of the type: let each shape's clause decide
		 * (it reports the error), never drop silently. */
		eval_all(r, e->members, e->n, vals, bit);
		return;
	}
	eq_lookup(r, e, r->key.buf, r->key.len, vals, bit);
}

static int cmp_rentry(const void *a, const void *b)
{
	double x = ((const struct rentry *)a)->lo;
	double y = ((const struct rentry *)b)->lo;

	return x < y ? -1 : x > y;
}

static void range_build(struct rangeidx *ri)
{
	size_t i;

	free(ri->e);
	free(ri->maxhi);
	ri->ne = ri->n;
	ri->e = ss_xmalloc((ri->ne ? ri->ne : 1) * sizeof(*ri->e));
	for (i = 0; i < ri->n; i++) {
		ri->e[i].lo = ri->members[i]->lo;
		ri->e[i].hi = ri->members[i]->hi;
		ri->e[i].s = ri->members[i];
	}
	sort_(ri->e, ri->ne, sizeof(*ri->e), cmp_rentry);
	for (ri->size = 1; ri->size < ri->ne; ri->size *= 2)
		;
	ri->maxhi = ss_xmalloc(2 * ri->size * sizeof(double));
	for (i = 0; i < ri->size; i++)
		ri->maxhi[ri->size + i] = i < ri->ne ? ri->e[i].hi : -INFINITY;
	for (i = ri->size - 1; i >= 1; i--)
		ri->maxhi[i] = fmax(ri->maxhi[2 * i], ri->maxhi[2 * i + 1]);
	ri->dirty = 0;
}

/* Report every entry in [0, end) of subtree `node` whose hi >= x. */
static void range_walk(struct ss_router *r, struct rangeidx *ri, size_t node,
		       size_t nlo, size_t nhi, size_t end, double x,
		       const char *const *vals, int bit)
{
	if (nlo >= end || ri->maxhi[node] < x)
		return;
	if (node >= ri->size) {
		eval(r, ri->e[node - ri->size].s, vals, bit);
		return;
	}
	range_walk(r, ri, 2 * node, nlo, (nlo + nhi) / 2, end, x, vals, bit);
	range_walk(r, ri, 2 * node + 1, (nlo + nhi) / 2, nhi, end, x, vals,
		   bit);
}

static void match_range(struct ss_router *r, struct rangeidx *ri,
			const char *const *vals, int bit)
{
	const char *v = vals[ri->col];
	size_t lo = 0, hi;
	double x;

	if (!v || !ri->n)
		return; /* NULL compares as NULL: never true */
	if (row_double(v, ri->nk, &x) < 0) {
		eval_all(r, ri->members, ri->n, vals, bit);
		return;
	}
	if (ri->dirty)
		range_build(ri);
	/* The entries with lo <= x are a prefix; walk it for hi >= x. */
	hi = ri->ne;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ri->e[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	range_walk(r, ri, 1, 0, ri->size, lo, x, vals, bit);
}

/* The subquery shapes filed under the row's value in their view. */
static void match_subq(struct ss_router *r, struct group *g,
		       const struct sqprobe *sp, const char *const *vals,
		       int bit)
{
	void *const *cookies;
	const unsigned char *exact;
	size_t n, i;

	n = ss_subq_index_lookup(r->subq, g->cols[sp->col].name, sp->type,
				 vals[sp->col], &cookies, &exact);
	for (i = 0; i < n; i++) {
		struct rshape *s = cookies[i];

		if (!s || s->g != g || s->state != ST_LIVE ||
		    s->kind != K_SUBQ || s->sqp != sp)
			continue;
		if (exact[i])
			hit(r, s, bit);
		else
			eval(r, s, vals, bit);
	}
}

static void match_row(struct ss_router *r, struct group *g,
		      const char *const *vals, int bit)
{
	size_t i;

	for (i = 0; i < g->neqs; i++)
		match_eq(r, g->eqs[i], vals, bit);
	for (i = 0; i < g->nranges; i++)
		match_range(r, g->ranges[i], vals, bit);
	for (i = 0; i < g->nothers; i++)
		eval(r, g->others[i], vals, bit);
	for (i = 0; i < g->nsqps; i++)
		if (g->sqps[i]->refs)
			match_subq(r, g, g->sqps[i], vals, bit);
}

/* Partition g's row `vals` in the layout of its k-th ancestor: the
 * columns the ancestor's shapes read (ss_route_anc_update made them part of
 * g's), in r->arow. */
static const char *const *anc_row(struct ss_router *r, struct group *g,
				  size_t k, const char *const *vals)
{
	struct group *a = g->ancg[k];
	size_t j;

	if (a->ncols > r->arow_alloc) {
		r->arow = ss_xrealloc(r->arow, a->ncols * sizeof(*r->arow));
		r->arow_alloc = a->ncols;
	}
	for (j = 0; j < a->nused; j++) {
		size_t m = g->amap[k][a->used[j]];

		r->arow[a->used[j]] = m == SIZE_MAX ? NULL : vals[m];
	}
	return (const char *const *)r->arow;
}

static void out_reserve(struct ss_router *r, size_t n)
{
	if (n > r->out_alloc) {
		size_t a = r->out_alloc;

		SS_GROW(r->ids, a, n);
		r->ops = ss_xrealloc(r->ops, a * sizeof(*r->ops));
		r->out_alloc = a;
	}
}

void ss_router_match(struct ss_router *r, uint32_t oid, enum ss_frame_op op,
		     const char *const *newv, const char *const *oldv,
		     struct ss_route_match *out)
{
	struct group *g = group_by_oid(r, oid);
	size_t i, n = 0;

	out->n = 0;
	out->moves = 0;
	out->errors = 0;
	out->last_error[0] = '\0';
	out->ids = r->ids;
	out->ops = r->ops;
	if (!g)
		return;
	if (op != SS_FRAME_OP_INSERT && g->ri && g->ri != 'f')
		ss_route_lossy_old(r, g);
	if (g->nanc)
		ss_route_anc_update(r, g);
	if (!g->nlive && !g->anc_live)
		return;
	r->nhits = 0;
	r->cur = out;
	r->cur_op = op;
	if (g->nlive) {
		if (oldv && op != SS_FRAME_OP_INSERT)
			match_row(r, g, oldv, 1);
		if (newv && op != SS_FRAME_OP_DELETE)
			match_row(r, g, newv, 2);
	}
	for (i = 0; g->anc_live && i < g->nanc; i++) {
		struct group *a = g->ancg[i];

		if (!a || !a->nlive)
			continue;
		if (oldv && op != SS_FRAME_OP_INSERT)
			match_row(r, a, anc_row(r, g, i, oldv), 1);
		if (newv && op != SS_FRAME_OP_DELETE)
			match_row(r, a, anc_row(r, g, i, newv), 2);
	}
	if (!r->nhits)
		return;
	merge_hits(r);
	out_reserve(r, r->nhits);
	for (i = 0; i < r->nhits; i++) {
		const struct hitrec *h = &r->hits[i];
		enum ss_frame_op o = op;

		if (op == SS_FRAME_OP_UPDATE) {
			if (h->mask == 1)
				o = SS_FRAME_OP_DELETE;
			else if (h->mask == 2)
				o = SS_FRAME_OP_INSERT;
		}
		if (o != op)
			out->moves++;
		r->ids[n] = h->id;
		r->ops[n++] = o;
	}
	out->ids = r->ids;
	out->ops = r->ops;
	out->n = n;
}

void ss_router_match_scan(struct ss_router *r, const struct ss_route_scan *sc,
			  struct ss_route_match *out)
{
	r->hint = sc;
	ss_router_match(r, sc->oid, sc->op, sc->newv, sc->oldv, out);
	r->hint = NULL;
}

void ss_router_truncate(struct ss_router *r, const uint32_t *oids, size_t noids,
			struct ss_route_match *out)
{
	size_t i, j;

	r->nhits = 0;
	memset(out, 0, sizeof(*out));
	for (i = 0; i < noids; i++) {
		struct group *g = group_by_oid(r, oids[i]);
		size_t k;

		if (!g)
			continue;
		for (j = 0; j < g->nshapes; j++)
			if (g->shapes[j]->state == ST_LIVE)
				hit(r, g->shapes[j], 3);
		/* Truncating a partition empties part of its ancestors. */
		ss_route_anc_update(r, g);
		for (k = 0; k < g->nanc; k++) {
			struct group *a = g->ancg[k];

			for (j = 0; a && j < a->nshapes; j++)
				if (a->shapes[j]->state == ST_LIVE)
					hit(r, a->shapes[j], 3);
		}
	}
	merge_hits(r);
	out_reserve(r, r->nhits);
	for (i = 0; i < r->nhits; i++) {
		r->ids[i] = r->hits[i].id;
		r->ops[i] = SS_FRAME_OP_NONE;
	}
	out->ids = r->ids;
	out->ops = r->ops;
	out->n = r->nhits;
}

/* ---- the change-frame fast path (lib/frame's scanner) ------------------ */

static void put_values(struct ss_buf *scratch, const struct ss_frame_span *sp,
		       size_t *off, size_t nidx)
{
	size_t k;

	for (k = 0; k < nidx; k++) {
		if (sp[k].null) {
			off[k] = SIZE_MAX;
			continue;
		}
		off[k] = scratch->len;
		ss_buf_add(scratch, sp[k].p, sp[k].len);
		ss_buf_addc(scratch, '\0');
	}
}

int ss_router_scan_change(struct ss_router *r, const char *line, size_t len,
			  struct ss_route_scan *out)
{
	struct ss_frame_scan fs;
	struct ss_frame_layout l;
	size_t offn[SS_FRAME_SCAN_MAX], offo[SS_FRAME_SCAN_MAX], k, nidx, ncols;
	const size_t *idx;
	const char *const *names;
	const struct group *g;

	if (!ss_frame_scan_head(&fs, line, len))
		return 0;
	g = group_by_oid(r, fs.oid);
	nidx = ss_router_columns(r, fs.oid, &idx, &names, &ncols);
	if (!g || nidx > SS_FRAME_SCAN_MAX)
		return 0;
	l.cols = g->cols;
	l.ncols = g->ncols;
	l.namelen = g->namelen;
	l.plain = g->plain;
	l.idx = idx;
	l.nidx = nidx;
	if (!ss_frame_scan_rest(&fs, &l))
		return 0;
	out->op = fs.op;
	out->oid = fs.oid;
	out->xid = fs.xid;
	out->lsn = fs.lsn;
	out->pos = fs.pos;
	/* Copy the values only now: the scratch buffer may move. */
	if (ncols > out->vals_alloc_) {
		out->newv_ = ss_xrealloc(out->newv_, ncols * sizeof(char *));
		out->oldv_ = ss_xrealloc(out->oldv_, ncols * sizeof(char *));
		out->vals_alloc_ = ncols;
	}
	ss_buf_reset(&out->scratch_);
	if (fs.has_new)
		put_values(&out->scratch_, fs.newv, offn, nidx);
	if (fs.has_old)
		put_values(&out->scratch_, fs.oldv, offo, nidx);
	for (k = 0; k < nidx; k++) {
		if (fs.has_new)
			out->newv_[idx[k]] = offn[k] == SIZE_MAX
						 ? NULL
						 : out->scratch_.buf + offn[k];
		if (fs.has_old)
			out->oldv_[idx[k]] = offo[k] == SIZE_MAX
						 ? NULL
						 : out->scratch_.buf + offo[k];
	}
	out->newv = fs.has_new ? (const char *const *)out->newv_ : NULL;
	out->oldv = fs.has_old ? (const char *const *)out->oldv_ : NULL;
	out->nph_ = 0;
	return 1;
}

void ss_route_scan_release(struct ss_route_scan *sc)
{
	ss_buf_release(&sc->scratch_);
	free(sc->newv_);
	free(sc->oldv_);
	memset(sc, 0, sizeof(*sc));
	ss_buf_init(&sc->scratch_);
}

/* Stage 0 for a prefix index: the home slot of each of the value's
 * prefixes the index has a length for (hashed again when matching: a
 * few bytes each, where the slot is a miss). ILIKE's lowering is done
 * byte by byte, into the hash only. */
static void prefetch_prefix(const struct ss_router *r, const struct eqidx *e,
			    const char *v)
{
	uint64_t h = eq_hash_start(e->uid);
	size_t k, i = 0;

	for (k = 0; k < e->nplens && k < 8; k++) {
		for (; i < e->plens[k]; i++) {
			char c = v[i];

			if (!c)
				return;
			if (e->prefix == 2 && c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			h = eq_hash_add(h, &c, 1);
		}
		__builtin_prefetch(&r->eq[eq_hash_end(h) & (r->eq_size - 1)]);
	}
}

void ss_router_prefetch(struct ss_router *r, struct ss_route_scan *sc,
			int stage)
{
	struct group *g;
	size_t i, row;

	switch (stage) {
	case 0:
		sc->nph_ = 0;
		g = group_by_oid(r, sc->oid);
		if (!g || !g->nlive || !r->eq_size)
			return;
		for (i = 0; i < g->neqs; i++) {
			struct eqidx *e = g->eqs[i];

			if (e->prefix && e->n) {
				if (sc->newv && sc->newv[e->col])
					prefetch_prefix(r, e, sc->newv[e->col]);
				if (sc->oldv && sc->oldv[e->col])
					prefetch_prefix(r, e, sc->oldv[e->col]);
				continue;
			}
			if (e->contain || !e->n)
				continue;
			for (row = 0; row < 2; row++) {
				const char *const *vals =
				    row ? sc->oldv : sc->newv;
				const char *v;
				size_t len;
				uint64_t h;

				if (!vals || !(v = vals[e->col]) ||
				    sc->nph_ >= 4 || !quick_key(e, v, &len))
					continue;
				h = eq_hash(e->uid, v, len);
				/* Kept for ss_router_match_scan. */
				sc->pi_[sc->nph_] = e;
				sc->pv_[sc->nph_] = v;
				sc->pl_[sc->nph_] = len;
				sc->ph_[sc->nph_++] = h;
				__builtin_prefetch(
				    &r->eq[h & (r->eq_size - 1)]);
			}
		}
		return;
	case 1:
		/* The slot's line has had the batch's time to arrive: find
		 * the slot (by tag; only a hint) and fetch what matching will
		 * read beyond it, if anything. */
		for (i = 0; i < sc->nph_; i++) {
			uint64_t h = sc->ph_[i];
			size_t mask = r->eq_size - 1, j = (size_t)h & mask;

			sc->pe_[i] = NULL;
			for (; r->eq[j].flags; j = (j + 1) & mask) {
				const struct eqslot *sl = &r->eq[j];
				const char *e = (const char *)sl->u.e;

				if (sl->tag != (uint32_t)h)
					continue;
				if (!(sl->flags & SL_ONE)) {
					sc->pe_[i] = sl->u.e;
					__builtin_prefetch(e);
					__builtin_prefetch(e + 64);
				} else if (!(sl->flags &
					     (SL_EXACT | SL_CHECK))) {
					__builtin_prefetch(sl->u.s);
				}
				break;
			}
		}
		return;
	default:
		for (i = 0; i < sc->nph_; i++) {
			const struct eqent *e = sc->pe_[i];
			size_t k;

			/* Matching reads the first cache line of a shape. */
			for (k = 0; e && k < e->n && k < 2; k++)
				__builtin_prefetch(e->v[k]);
		}
		return;
	}
}
