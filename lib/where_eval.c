/*
 * where_eval.c — lib/where's evaluator: one row's value of a checked tree,
 * with three-valued logic, LIKE, array operators and the work budget.
 * The folder (where_fold.c) uses it for constant subtrees.
 */
#include <math.h>

#include "where_int.h"

/* ------------------------------------------------------------------ */
/* Evaluation */

static int cmp_result(int opc, int c)
{
	switch (opc) {
	case NOP_EQ:
		return c == 0;
	case NOP_NE:
		return c != 0;
	case NOP_LT:
		return c < 0;
	case NOP_LE:
		return c <= 0;
	case NOP_GT:
		return c > 0;
	case NOP_GE:
		return c >= 0;
	}
	return 0;
}

/* LIKE matching, after PostgreSQL's MatchText: backslash escapes,
 * '_' one character, '%' any run; ABORT (-1) prunes the search. */
static int like_match(struct arena *a, const char *t, size_t tlen,
		      const char *p, size_t plen, struct ss_err *err,
		      int *failed)
{
#define NEXTCHAR(s, l)                                                         \
	do {                                                                   \
		(s)++, (l)--;                                                  \
		while ((l) > 0 && ((unsigned char)*(s)&0xc0) == 0x80)          \
			(s)++, (l)--;                                          \
	} while (0)
	if (plen == 1 && *p == '%')
		return 1;
	while (tlen > 0 && plen > 0) {
		if (*p == '\\') {
			p++, plen--;
			if (plen == 0) {
				*failed = 1;
				ss_err_set(err, SS_ERR_INPUT,
					   "LIKE pattern must not end with "
					   "escape character");
				return 0;
			}
			if (*p != *t)
				return 0;
		} else if (*p == '%') {
			char first;

			p++, plen--;
			while (plen > 0) {
				if (*p == '%') {
					p++, plen--;
				} else if (*p == '_') {
					if (tlen == 0)
						return -1;
					NEXTCHAR(t, tlen);
					p++, plen--;
				} else {
					break;
				}
			}
			if (plen == 0)
				return 1;
			if (*p == '\\') {
				if (plen < 2) {
					*failed = 1;
					ss_err_set(err, SS_ERR_INPUT,
						   "LIKE pattern must not end "
						   "with escape character");
					return 0;
				}
				first = p[1];
			} else {
				first = *p;
			}
			while (tlen > 0) {
				/* Each % retries the rest of the pattern at
				 * every text position: the cost is up to
				 * text length times pattern length. */
				if (ss_w_arena_charge(a, plen, err) < 0) {
					*failed = 1;
					return 0;
				}
				if (*t == first) {
					int m = like_match(a, t, tlen, p, plen,
							   err, failed);

					if (*failed)
						return 0;
					if (m != 0)
						return m;
				}
				NEXTCHAR(t, tlen);
			}
			return -1;
		} else if (*p == '_') {
			NEXTCHAR(t, tlen);
			p++, plen--;
			continue;
		} else if (*p != *t) {
			return 0;
		}
		t++, tlen--;
		p++, plen--;
	}
	if (tlen > 0)
		return 0;
	while (plen > 0 && *p == '%')
		p++, plen--;
	if (plen == 0)
		return 1;
	return -1;
#undef NEXTCHAR
}

/* Rewrite a pattern with a custom ESCAPE into backslash form
 * (like_escape). */
static int like_escape(const struct wval *pat, const struct wval *esc,
		       struct ss_buf *out, struct ss_err *err)
{
	const char *p = pat->u.s.p, *e = esc->u.s.p;
	size_t plen = pat->u.s.len, elen = esc->u.s.len, i, clen;
	int after = 0;

	if (elen == 0) {
		for (i = 0; i < plen; i++) {
			if (p[i] == '\\')
				ss_buf_addc(out, '\\');
			ss_buf_addc(out, p[i]);
		}
		return 0;
	}
	clen = 1;
	while (clen < elen && ((unsigned char)e[clen] & 0xc0) == 0x80)
		clen++;
	if (clen != elen) {
		ss_err_set(err, SS_ERR_INPUT, "invalid escape string");
		ss_err_hint(err,
			    "Escape string must be empty or one character.");
		return -1;
	}
	i = 0;
	while (i < plen) {
		size_t n = 1;

		while (i + n < plen && ((unsigned char)p[i + n] & 0xc0) == 0x80)
			n++;
		if (n == clen && memcmp(p + i, e, clen) == 0 && !after) {
			ss_buf_addc(out, '\\');
			after = 1;
		} else if (p[i] == '\\') {
			ss_buf_addc(out, '\\');
			if (!after)
				ss_buf_addc(out, '\\');
			after = 0;
		} else {
			ss_buf_add(out, p + i, n);
			after = 0;
		}
		i += n;
	}
	return 0;
}

static void ascii_lower(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + 32);
}

static int eval_like(struct ectx *e, const struct ss_where_node *n,
		     struct wval *out)
{
	struct wval s, p, esc;
	struct ss_buf pb = SS_BUF_INIT;
	char *ts, *ps;
	size_t tl, pl;
	int m, failed = 0;
	int ci = n->opc == NOP_ILIKE || n->opc == NOP_NILIKE;
	int neg = n->opc == NOP_NLIKE || n->opc == NOP_NILIKE;

	if (ss_w_eval(e, n->args[0], &s) < 0 ||
	    ss_w_eval(e, n->args[1], &p) < 0)
		return -1;
	memset(&esc, 0, sizeof(esc));
	if (n->nargs == 3 && ss_w_eval(e, n->args[2], &esc) < 0)
		return -1;
	if (s.isnull || p.isnull || (n->nargs == 3 && esc.isnull)) {
		set_tv(out, -1);
		return 0;
	}
	if (n->nargs == 3) {
		if (like_escape(&p, &esc, &pb, e->err) < 0) {
			ss_buf_release(&pb);
			return -1;
		}
	} else {
		ss_buf_add(&pb, p.u.s.p, p.u.s.len);
	}
	tl = s.u.s.len;
	ts = ss_w_arena_strndup(e->a, s.u.s.p, tl);
	pl = pb.len;
	ps = ss_w_arena_strndup(e->a, pb.buf, pl);
	ss_buf_release(&pb);
	if (ci) {
		ascii_lower(ts, tl);
		ascii_lower(ps, pl);
	}
	m = like_match(e->a, ts, tl, ps, pl, e->err, &failed);
	if (failed)
		return -1;
	set_tv(out, (m == 1) != neg);
	return 0;
}

static int arr_has(const struct wtype *et, const struct warr *a,
		   const struct wval *v)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!a->e[i].isnull && ss_w_val_cmp(et, &a->e[i], v) == 0)
			return 1;
	return 0;
}

/* a @> b: every element of b is in a (a NULL element in b never is). */
static int arr_contains(const struct wtype *et, const struct warr *a,
			const struct warr *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->e[i].isnull || !arr_has(et, a, &b->e[i]))
			return 0;
	return 1;
}

static int arr_overlap(const struct wtype *et, const struct warr *a,
		       const struct warr *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (!b->e[i].isnull && arr_has(et, a, &b->e[i]))
			return 1;
	return 0;
}

static int eval_array(struct ectx *e, const struct ss_where_node *n,
		      struct wval *out)
{
	struct warr *r = ss_w_arena_alloc(e->a, sizeof(*r));
	size_t i;

	memset(out, 0, sizeof(*out));
	out->u.a = r;
	if (n->nargs == 0)
		return 0;
	if (!n->otype.array) {
		r->ndim = 1;
		r->dims[0] = (int)n->nargs;
		r->lbs[0] = 1;
		r->n = n->nargs;
		r->e = ss_w_arena_alloc(e->a, n->nargs * sizeof(struct wval));
		for (i = 0; i < n->nargs; i++)
			if (ss_w_eval(e, n->args[i], &r->e[i]) < 0)
				return -1;
		return 0;
	}
	/* sub-arrays: all must have the same dimensions */
	{
		struct wval *subs =
		    ss_w_arena_alloc(e->a, n->nargs * sizeof(*subs));
		const struct warr *first = NULL;
		size_t total = 0, k = 0;
		int d;

		for (i = 0; i < n->nargs; i++) {
			if (ss_w_eval(e, n->args[i], &subs[i]) < 0)
				return -1;
			if (subs[i].isnull)
				continue;
			if (!first) {
				first = subs[i].u.a;
			} else {
				const struct warr *s = subs[i].u.a;
				int same = s->ndim == first->ndim;

				for (d = 0; same && d < s->ndim; d++)
					same = s->dims[d] == first->dims[d] &&
					       s->lbs[d] == first->lbs[d];
				if (!same)
					return ss_err_set(
					    e->err, SS_ERR_INPUT,
					    "multidimensional arrays must "
					    "have array expressions with "
					    "matching dimensions");
			}
			total += subs[i].u.a->n;
		}
		if (!first || first->ndim == 0)
			return 0;
		if (first->ndim + 1 > WARR_MAXDIM)
			return ss_err_set(e->err, SS_ERR_INPUT,
					  "number of array dimensions exceeds "
					  "the maximum allowed (6)");
		r->ndim = first->ndim + 1;
		r->dims[0] = 0;
		r->lbs[0] = 1;
		for (d = 0; d < first->ndim; d++) {
			r->dims[d + 1] = first->dims[d];
			r->lbs[d + 1] = first->lbs[d];
		}
		r->e = ss_w_arena_alloc(e->a, (total ? total : 1) *
						  sizeof(struct wval));
		for (i = 0; i < n->nargs; i++) {
			if (subs[i].isnull)
				continue;
			memcpy(r->e + k, subs[i].u.a->e,
			       subs[i].u.a->n * sizeof(struct wval));
			k += subs[i].u.a->n;
			r->dims[0]++;
		}
		r->n = k;
		return 0;
	}
}

/*
 * Array ||, as array_cat / array_append / array_prepend: not strict (a
 * NULL array is an empty one), element lists joined along the first
 * dimension, whose other dimensions and bounds must agree.
 */
static int eval_array_concat(struct ectx *e, const struct ss_where_node *n,
			     struct wval *out)
{
	struct wval a, b;
	const struct warr *x, *y;
	struct warr *r;
	int d;

	if (ss_w_eval(e, n->args[0], &a) < 0 ||
	    ss_w_eval(e, n->args[1], &b) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	if (n->flags & (NF_APPEND | NF_PREPEND)) {
		const struct wval *arr = (n->flags & NF_APPEND) ? &a : &b;
		const struct wval *el = (n->flags & NF_APPEND) ? &b : &a;
		const struct warr *s = arr->isnull ? NULL : arr->u.a;

		if (s && s->ndim > 1)
			return ss_err_set(e->err, SS_ERR_INPUT,
					  "argument must be empty or "
					  "one-dimensional array");
		r = ss_w_arena_alloc(e->a, sizeof(*r));
		r->ndim = 1;
		r->lbs[0] = s && s->ndim == 1 ? s->lbs[0] : 1;
		r->n = (s ? s->n : 0) + 1;
		r->dims[0] = (int)r->n;
		r->e = ss_w_arena_alloc(e->a, r->n * sizeof(struct wval));
		if (n->flags & NF_APPEND) {
			if (s)
				memcpy(r->e, s->e, s->n * sizeof(struct wval));
			r->e[r->n - 1] = *el;
		} else {
			r->e[0] = *el;
			if (s)
				memcpy(r->e + 1, s->e,
				       s->n * sizeof(struct wval));
		}
		out->u.a = r;
		return 0;
	}
	if (a.isnull || b.isnull) {
		*out = a.isnull ? b : a;
		return 0;
	}
	x = a.u.a;
	y = b.u.a;
	if (x->ndim == 0 || x->n == 0) {
		*out = b;
		return 0;
	}
	if (y->ndim == 0 || y->n == 0) {
		*out = a;
		return 0;
	}
	r = ss_w_arena_alloc(e->a, sizeof(*r));
	if (x->ndim == y->ndim) {
		*r = *x;
		r->dims[0] = x->dims[0] + y->dims[0];
		for (d = 1; d < x->ndim; d++)
			if (x->dims[d] != y->dims[d] || x->lbs[d] != y->lbs[d])
				goto incompatible;
	} else if (x->ndim == y->ndim - 1 || x->ndim == y->ndim + 1) {
		const struct warr *hi = x->ndim > y->ndim ? x : y;
		const struct warr *lo = x->ndim > y->ndim ? y : x;

		*r = *hi;
		r->dims[0] += 1;
		for (d = 0; d < lo->ndim; d++)
			if (lo->dims[d] != hi->dims[d + 1] ||
			    lo->lbs[d] != hi->lbs[d + 1])
				goto incompatible;
	} else {
		goto incompatible;
	}
	r->n = x->n + y->n;
	r->e = ss_w_arena_alloc(e->a, r->n * sizeof(struct wval));
	memcpy(r->e, x->e, x->n * sizeof(struct wval));
	memcpy(r->e + x->n, y->e, y->n * sizeof(struct wval));
	out->u.a = r;
	return 0;
incompatible:
	return ss_err_set(e->err, SS_ERR_INPUT,
			  "cannot concatenate incompatible arrays");
}

static int eval_col(struct ectx *e, const struct ss_where_node *n,
		    struct wval *out)
{
	size_t i = (size_t)n->col;

	if (!e->values) {
		/* cannot happen: folding never evaluates columns */
		return ss_err_set(e->err, SS_ERR_RUNTIME,
				  "column evaluated without a row");
	}
	if (!e->colstate[i]) {
		const char *s = e->values[i];

		memset(&e->colcache[i], 0, sizeof(e->colcache[i]));
		if (!s)
			e->colcache[i].isnull = 1;
		else if (ss_w_val_in(e->a, &e->w->coltypes[i], s, strlen(s),
				     &e->colcache[i], e->err) < 0)
			return -1;
		e->colstate[i] = 1;
	}
	*out = e->colcache[i];
	return 0;
}

/* One comparison of BETWEEN: x (cast to type t) op bound, 3-valued. */
int ss_w_between_cmp(struct ectx *e, const struct ss_where_node *n,
		     const struct wval *x, const struct ss_where_node *bn,
		     const struct wtype *t, int ge, int *res)
{
	struct wval xb, bv;

	if (ss_w_eval(e, bn, &bv) < 0)
		return -1;
	if (x->isnull || bv.isnull) {
		*res = -1;
		return 0;
	}
	if (ss_w_val_cast(e->a, &n->args[0]->type, t, x, &xb, e->err) < 0)
		return -1;
	*res = ge ? ss_w_val_cmp(t, &xb, &bv) >= 0
		  : ss_w_val_cmp(t, &xb, &bv) <= 0;
	return 0;
}

#define AND3(a, b) ((a) == 0 || (b) == 0 ? 0 : ((a) < 0 || (b) < 0 ? -1 : 1))
#define OR3(a, b) ((a) == 1 || (b) == 1 ? 1 : ((a) < 0 || (b) < 0 ? -1 : 0))
#define NOT3(a) ((a) < 0 ? -1 : !(a))

/*
 * PostgreSQL rewrites x BETWEEN a AND b into x >= a AND x <= b (and
 * NOT BETWEEN into x < a OR x > b, SYMMETRIC into an OR of both orders),
 * so a bound is only evaluated when the AND/OR has not already decided.
 */
static int eval_between(struct ectx *e, const struct ss_where_node *n,
			struct wval *out)
{
	struct wval x;
	int neg = (n->flags & NF_NOT) != 0, r1, r2, res;
	const struct ss_where_node *lo = n->args[1], *hi = n->args[2];

	if (ss_w_eval(e, n->args[0], &x) < 0)
		return -1;
	/* first conjunct: x >= lo (NOT: x < lo) */
	if (ss_w_between_cmp(e, n, &x, lo, &n->otype, 1, &r1) < 0)
		return -1;
	if (neg ? NOT3(r1) == 1 : r1 == 0) {
		res = neg ? 1 : 0;
	} else {
		if (ss_w_between_cmp(e, n, &x, hi, &n->otype2, 0, &r2) < 0)
			return -1;
		res = neg ? OR3(NOT3(r1), NOT3(r2)) : AND3(r1, r2);
	}
	if (n->flags & NF_SYMMETRIC) {
		int r3, r4, res2;

		/* second disjunct: x >= hi AND x <= lo (or its negation) */
		if (!neg && res == 1)
			goto done;
		if (neg && res == 0)
			goto done;
		if (ss_w_between_cmp(e, n, &x, hi, &n->otype2, 1, &r3) < 0)
			return -1;
		if (neg ? NOT3(r3) == 1 : r3 == 0) {
			res2 = neg ? 1 : 0;
		} else {
			if (ss_w_between_cmp(e, n, &x, lo, &n->otype, 0, &r4) <
			    0)
				return -1;
			res2 = neg ? OR3(NOT3(r3), NOT3(r4)) : AND3(r3, r4);
		}
		res = neg ? AND3(res, res2) : OR3(res, res2);
	}
done:
	set_tv(out, res);
	return 0;
}

/* ~ @ |/ ||/ on a non-null value. */
static int eval_prefix(struct ectx *e, const struct ss_where_node *n,
		       const struct wval *a, struct wval *out)
{
	enum wt t = n->type.base;

	switch (n->opc) {
	case NOP_BNOT:
		out->u.i = ~a->u.i;
		return 0;
	case NOP_ABS:
		if ((ss_w_is_int(t) && a->u.i < 0) ||
		    (t == WT_NUMERIC && ss_w_num_is_negative(a->u.n)))
			return ss_w_val_arith(e->a, OP_NEG, &n->type, a, NULL,
					      NULL, &n->type, out, e->err);
		if (t == WT_FLOAT4 || t == WT_FLOAT8)
			out->u.f = fabs(a->u.f);
		else
			*out = *a;
		return 0;
	case NOP_SQRT:
		if (a->u.f < 0)
			return ss_err_set(e->err, SS_ERR_INPUT,
					  "cannot take square root of a "
					  "negative number");
		out->u.f = sqrt(a->u.f);
		return 0;
	case NOP_CBRT:
		out->u.f = cbrt(a->u.f);
		return 0;
	}
	return ss_err_set(e->err, SS_ERR_INPUT, "unsupported operator");
}

/* One node; ss_w_eval() below wraps it with the cost check. */
static int eval_node(struct ectx *e, const struct ss_where_node *n,
		     struct wval *out)
{
	struct wval a, b;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	switch (n->kind) {
	case SS_WHERE_CONST:
		*out = n->val;
		return 0;
	case SS_WHERE_COLUMN:
		return eval_col(e, n, out);
	case SS_WHERE_AND:
	case SS_WHERE_OR: {
		int stop = n->kind == SS_WHERE_OR, seen_null = 0;

		for (i = 0; i < n->nargs; i++) {
			if (ss_w_eval(e, n->args[i], &a) < 0)
				return -1;
			r = tv(&a);
			if (r == stop) {
				set_tv(out, stop);
				return 0;
			}
			if (r < 0)
				seen_null = 1;
		}
		set_tv(out, seen_null ? -1 : !stop);
		return 0;
	}
	case SS_WHERE_NOT:
		if (ss_w_eval(e, n->args[0], &a) < 0)
			return -1;
		set_tv(out, NOT3(tv(&a)));
		return 0;
	case SS_WHERE_TEST:
		if (ss_w_eval(e, n->args[0], &a) < 0)
			return -1;
		switch (n->opc) {
		case TEST_NULL:
			r = a.isnull;
			break;
		case TEST_TRUE:
			r = tv(&a) == 1;
			break;
		case TEST_FALSE:
			r = tv(&a) == 0;
			break;
		default:
			r = a.isnull;
			break;
		}
		if (n->opc == TEST_NULL && !a.isnull && n->args[0]->type.array)
			r = 0;
		set_tv(out, (n->flags & NF_NOT) ? !r : r);
		return 0;
	case SS_WHERE_DISTINCT:
		if (ss_w_eval(e, n->args[0], &a) < 0 ||
		    ss_w_eval(e, n->args[1], &b) < 0)
			return -1;
		if (a.isnull || b.isnull)
			r = a.isnull != b.isnull;
		else
			r = ss_w_val_cmp(&n->otype, &a, &b) != 0;
		set_tv(out, (n->flags & NF_NOT) ? !r : r);
		return 0;
	case SS_WHERE_IN: {
		int seen_null = 0, found = 0;
		const struct wtype *lt = &n->args[0]->type;

		if (ss_w_eval(e, n->args[0], &a) < 0)
			return -1;
		for (i = 1; i < n->nargs && !found; i++) {
			const struct ss_where_node *item = n->args[i];
			struct wtype ct =
			    (item->flags & NF_INGROUP) ? n->otype : item->type;
			struct wval ac, bc;

			if (ss_w_eval(e, item, &b) < 0)
				return -1;
			if (a.isnull || b.isnull) {
				seen_null = 1;
				continue;
			}
			ct.typmod = -1;
			if (ss_w_val_cast(e->a, lt, &ct, &a, &ac, e->err) < 0 ||
			    ss_w_val_cast(e->a, &item->type, &ct, &b, &bc,
					  e->err) < 0)
				return -1;
			if (ss_w_val_cmp(&ct, &ac, &bc) == 0)
				found = 1;
		}
		r = found ? 1 : seen_null ? -1 : 0;
		set_tv(out, (n->flags & NF_NOT) ? NOT3(r) : r);
		return 0;
	}
	case SS_WHERE_ANY:
	case SS_WHERE_ALL: {
		int any = n->kind == SS_WHERE_ANY, seen_null = 0;
		const struct warr *arr;

		if (ss_w_eval(e, n->args[0], &a) < 0 ||
		    ss_w_eval(e, n->args[1], &b) < 0)
			return -1;
		if (b.isnull) {
			set_tv(out, -1);
			return 0;
		}
		arr = b.u.a;
		if (arr->n == 0) {
			set_tv(out, !any);
			return 0;
		}
		for (i = 0; i < arr->n; i++) {
			if (a.isnull || arr->e[i].isnull) {
				seen_null = 1;
				continue;
			}
			r = cmp_result(n->opc,
				       ss_w_val_cmp(&n->otype, &a, &arr->e[i]));
			if (any && r) {
				set_tv(out, 1);
				return 0;
			}
			if (!any && !r) {
				set_tv(out, 0);
				return 0;
			}
		}
		set_tv(out, seen_null ? -1 : !any);
		return 0;
	}
	case SS_WHERE_BETWEEN:
		return eval_between(e, n, out);
	case SS_WHERE_CAST:
		if (ss_w_eval(e, n->args[0], &a) < 0)
			return -1;
		if (a.isnull) {
			out->isnull = 1;
			return 0;
		}
		if (n->args[0]->kind == SS_WHERE_ARRAY &&
		    n->args[0]->nargs == 0) {
			*out = a;
			return 0;
		}
		return ss_w_val_cast(e->a, &n->args[0]->type, &n->type, &a, out,
				     e->err);
	case SS_WHERE_OP:
		if (n->opc >= NOP_LIKE && n->opc <= NOP_NILIKE)
			return eval_like(e, n, out);
		if (n->flags & (NF_ARRCAT | NF_APPEND | NF_PREPEND))
			return eval_array_concat(e, n, out);
		if (ss_w_eval(e, n->args[0], &a) < 0)
			return -1;
		if (n->nargs == 1) {
			if (a.isnull) {
				out->isnull = 1;
				return 0;
			}
			if (n->opc == NOP_ADD) {
				*out = a;
				return 0;
			}
			if (n->opc >= NOP_BNOT && n->opc <= NOP_CBRT)
				return eval_prefix(e, n, &a, out);
			return ss_w_val_arith(e->a, OP_NEG, &n->args[0]->type,
					      &a, NULL, NULL, &n->type, out,
					      e->err);
		}
		if (ss_w_eval(e, n->args[1], &b) < 0)
			return -1;
		if (a.isnull || b.isnull) {
			out->isnull = 1;
			return 0;
		}
		if (is_cmp_op(n->opc)) {
			set_tv(out, cmp_result(n->opc, ss_w_val_cmp(&n->otype,
								    &a, &b)));
			return 0;
		}
		switch (n->opc) {
		case NOP_ADD:
		case NOP_SUB:
		case NOP_MUL:
		case NOP_DIV:
		case NOP_MOD:
		case NOP_POW: {
			static const enum wop map[] = {
			    [NOP_ADD] = OP_ADD, [NOP_SUB] = OP_SUB,
			    [NOP_MUL] = OP_MUL, [NOP_DIV] = OP_DIV,
			    [NOP_MOD] = OP_MOD, [NOP_POW] = OP_POW,
			};

			return ss_w_val_arith(
			    e->a, map[n->opc], &n->args[0]->type, &a,
			    &n->args[1]->type, &b, &n->type, out, e->err);
		}
		case NOP_BAND:
			out->u.i = a.u.i & b.u.i;
			return 0;
		case NOP_BOR:
			out->u.i = a.u.i | b.u.i;
			return 0;
		case NOP_BXOR:
			out->u.i = a.u.i ^ b.u.i;
			return 0;
		case NOP_CONCAT: {
			char *p =
			    ss_w_arena_alloc(e->a, a.u.s.len + b.u.s.len + 1);

			memcpy(p, a.u.s.p, a.u.s.len);
			memcpy(p + a.u.s.len, b.u.s.p, b.u.s.len);
			out->u.s.p = p;
			out->u.s.len = a.u.s.len + b.u.s.len;
			return 0;
		}
		case NOP_CONTAINS:
		case NOP_CONTAINED:
		case NOP_OVERLAP: {
			struct wtype et = n->otype;

			et.array = 0;
			/* a comparison per pair of elements */
			if (ss_w_arena_charge(e->a,
					      (uint64_t)a.u.a->n * b.u.a->n,
					      e->err) < 0)
				return -1;
			if (n->opc == NOP_CONTAINS)
				r = arr_contains(&et, a.u.a, b.u.a);
			else if (n->opc == NOP_CONTAINED)
				r = arr_contains(&et, b.u.a, a.u.a);
			else
				r = arr_overlap(&et, a.u.a, b.u.a);
			set_tv(out, r);
			return 0;
		}
		}
		return ss_err_set(e->err, SS_ERR_INPUT, "unsupported operator");
	case SS_WHERE_FUNC:
		switch (n->opc) {
		case FN_LOWER:
		case FN_UPPER: {
			char *p;
			size_t k;

			if (ss_w_eval(e, n->args[0], &a) < 0)
				return -1;
			if (a.isnull) {
				out->isnull = 1;
				return 0;
			}
			p = ss_w_arena_strndup(e->a, a.u.s.p, a.u.s.len);
			for (k = 0; k < a.u.s.len; k++) {
				if (n->opc == FN_LOWER && p[k] >= 'A' &&
				    p[k] <= 'Z')
					p[k] = (char)(p[k] + 32);
				else if (n->opc == FN_UPPER && p[k] >= 'a' &&
					 p[k] <= 'z')
					p[k] = (char)(p[k] - 32);
			}
			out->u.s.p = p;
			out->u.s.len = a.u.s.len;
			return 0;
		}
		case FN_CONCAT: {
			struct ss_buf sb = SS_BUF_INIT;

			for (i = 0; i < n->nargs; i++) {
				if (ss_w_eval(e, n->args[i], &a) < 0) {
					ss_buf_release(&sb);
					return -1;
				}
				if (!a.isnull)
					ss_w_val_out(&n->args[i]->type, &a,
						     &sb);
			}
			out->u.s.p = ss_w_arena_strndup(e->a, sb.buf, sb.len);
			out->u.s.len = sb.len;
			ss_buf_release(&sb);
			return 0;
		}
		case FN_ARRAY_CAT:
		case FN_ARRAY_APPEND:
		case FN_ARRAY_PREPEND:
			return eval_array_concat(e, n, out);
		case FN_ARRAY_NDIMS:
			if (ss_w_eval(e, n->args[0], &a) < 0)
				return -1;
			if (a.isnull || a.u.a->ndim == 0 || a.u.a->n == 0)
				out->isnull = 1;
			else
				out->u.i = a.u.a->ndim;
			return 0;
		case FN_JUSTIFY_DAYS:
		case FN_JUSTIFY_HOURS:
		case FN_JUSTIFY_INTERVAL:
			if (ss_w_eval(e, n->args[0], &a) < 0)
				return -1;
			if (a.isnull) {
				out->isnull = 1;
				return 0;
			}
			return ss_w_interval_justify(
			    &a.u.iv, n->opc != FN_JUSTIFY_HOURS,
			    n->opc != FN_JUSTIFY_DAYS, &out->u.iv, e->err);
		case FN_TIMEZONE:
			if (ss_w_eval(e, n->args[0], &a) < 0 ||
			    ss_w_eval(e, n->args[1], &b) < 0)
				return -1;
			if (a.isnull || b.isnull) {
				out->isnull = 1;
				return 0;
			}
			return ss_w_val_timezone(
			    &a, n->args[0]->type.base == WT_INTERVAL, b.u.i,
			    n->args[1]->type.base == WT_TIMESTAMP, &out->u.i,
			    e->err);
		case FN_COALESCE:
			for (i = 0; i < n->nargs; i++) {
				if (ss_w_eval(e, n->args[i], &a) < 0)
					return -1;
				if (!a.isnull) {
					*out = a;
					return 0;
				}
			}
			out->isnull = 1;
			return 0;
		default: {
			int have = 0;

			for (i = 0; i < n->nargs; i++) {
				if (ss_w_eval(e, n->args[i], &a) < 0)
					return -1;
				if (a.isnull)
					continue;
				if (!have ||
				    (n->opc == FN_GREATEST
					 ? ss_w_val_cmp(&n->type, &a, out) > 0
					 : ss_w_val_cmp(&n->type, &a, out) < 0))
					*out = a;
				have = 1;
			}
			if (!have)
				out->isnull = 1;
			return 0;
		}
		}
	case SS_WHERE_SUBLINK: {
		const char *vals[16];
		const char **v = vals;

		if (!e->member)
			return ss_err_set(e->err, SS_ERR_INPUT,
					  "a subquery cannot be evaluated "
					  "here");
		if (n->nargs > sizeof(vals) / sizeof(vals[0]))
			v = ss_w_arena_alloc(e->a, n->nargs * sizeof(*v));
		for (i = 0; i < n->nargs; i++)
			v[i] = e->values[n->args[i]->col];
		if (e->member(e->member_ctx, n->sub->dep, v, n->nargs, &r,
			      e->err) < 0)
			return -1;
		set_tv(out, (n->flags & NF_NOT) ? NOT3(r) : r);
		return 0;
	}
	case SS_WHERE_ARRAY:
		return eval_array(e, n, out);
	case SS_WHERE_SUBSCRIPT: {
		const struct warr *arr;
		int64_t ix;

		if (ss_w_eval(e, n->args[0], &a) < 0 ||
		    ss_w_eval(e, n->args[1], &b) < 0)
			return -1;
		if (a.isnull || b.isnull) {
			out->isnull = 1;
			return 0;
		}
		arr = a.u.a;
		ix = b.u.i;
		if (arr->ndim != 1 || ix < arr->lbs[0] ||
		    ix >= (int64_t)arr->lbs[0] + arr->dims[0]) {
			out->isnull = 1;
			return 0;
		}
		*out = arr->e[ix - arr->lbs[0]];
		return 0;
	}
	}
	return ss_err_set(e->err, SS_ERR_INPUT, "unsupported expression");
}

/* Every node evaluated counts one unit and whatever it allocated counts
 * its bytes, so a clause that builds ever larger values (t || t || ...)
 * stops at its budget, not when memory runs out. */
int ss_w_eval(struct ectx *e, const struct ss_where_node *n, struct wval *out)
{
	if (eval_node(e, n, out) < 0)
		return -1;
	return ss_w_arena_charge(e->a, 1, e->err);
}
