/*
 * where_fold.c — lib/where's constant folder: eval_const_expressions'
 * rules (AND/OR short-cuts, strict operators on NULL, IN lists decided
 * by a constant) replace constant subtrees after type checking.
 */
#include "where_int.h"

static const struct wtype T_BOOL = {WT_BOOL, 0, -1, NULL, NULL, 0};

static struct ss_where_node *mk_constnode(struct arena *a,
					  const struct ss_where_node *like,
					  const struct wval *v)
{
	struct ss_where_node *c = ss_w_node(a, SS_WHERE_CONST, like->loc, 0);

	c->type = like->type;
	c->val = *v;
	c->analyzed = 1;
	c->flags = like->flags & NF_INGROUP; /* its role in an IN list */
	return c;
}

static struct ss_where_node *mk_bool(struct arena *a,
				     const struct ss_where_node *like, int t)
{
	struct wval v;

	set_tv(&v, t);
	{
		struct ss_where_node *c = mk_constnode(a, like, &v);

		c->type = T_BOOL;
		return c;
	}
}

static int is_const(const struct ss_where_node *n)
{
	return n->kind == SS_WHERE_CONST;
}

static int is_null_const(const struct ss_where_node *n)
{
	return n->kind == SS_WHERE_CONST && n->val.isnull;
}

/* Operators that return NULL on any NULL input (PostgreSQL folds them to
 * NULL as soon as one input is a NULL constant). */
static int strict(const struct ss_where_node *n)
{
	switch (n->kind) {
	case SS_WHERE_OP:
		/* array_cat, array_append, array_prepend take NULLs */
		return !(n->flags & (NF_ARRCAT | NF_APPEND | NF_PREPEND));
	case SS_WHERE_CAST:
	case SS_WHERE_SUBSCRIPT:
		return 1;
	case SS_WHERE_FUNC:
		return n->opc == FN_LOWER || n->opc == FN_UPPER ||
		       n->opc == FN_TIMEZONE || n->opc == FN_ARRAY_NDIMS ||
		       n->opc == FN_JUSTIFY_DAYS ||
		       n->opc == FN_JUSTIFY_HOURS ||
		       n->opc == FN_JUSTIFY_INTERVAL;
	default:
		return 0;
	}
}

/*
 * Whether PostgreSQL would fold this node when its inputs are constant:
 * only immutable functions are evaluated at plan time. The date/time
 * input and output functions, the timestamptz conversions and arithmetic
 * (they read the TimeZone setting), array and enum I/O and concat() are
 * stable, so a constant use of them is left for each row (which matters
 * when it fails and an AND/OR would have skipped it).
 */
static int stable_io(enum wt t)
{
	return t == WT_DATE || t == WT_TIME || t == WT_TIMESTAMP ||
	       t == WT_TIMESTAMPTZ || t == WT_INTERVAL || t == WT_ENUM;
}

static int foldable(const struct ss_where_node *n)
{
	if (n->kind == SS_WHERE_FUNC)
		return n->opc != FN_CONCAT;
	if (n->kind == SS_WHERE_CAST) {
		const struct wtype *f = &n->args[0]->type, *t = &n->type;

		if (is_unknown(f))
			return 1;
		if (ss_w_is_text(t->base) && !t->array &&
		    (f->array || stable_io(f->base)) &&
		    !(f->base == WT_TIME && !f->array))
			return 0;
		if (ss_w_is_text(f->base) && !f->array &&
		    (t->array || stable_io(t->base)))
			return 0;
		if ((f->base == WT_TIMESTAMPTZ) !=
			(t->base == WT_TIMESTAMPTZ) &&
		    (f->base == WT_TIMESTAMPTZ || f->base == WT_DATE ||
		     f->base == WT_TIMESTAMP))
			return 0;
		return 1;
	}
	if (n->kind == SS_WHERE_OP && n->nargs == 2 &&
	    (n->opc == NOP_ADD || n->opc == NOP_SUB) &&
	    n->type.base == WT_TIMESTAMPTZ)
		return 0;
	return 1;
}

/* Evaluate lhs IN (items...) for constant arguments; 1 when that already
 * decides the whole IN (an equal item: true for IN, false for NOT IN). */
static int in_decides(struct arena *a, const struct ss_where_node *n,
		      struct ss_where_node **items, size_t nitems, int *res,
		      struct ss_err *err)
{
	struct ss_where_node tmp = *n;
	struct ectx e;
	struct wval v;

	tmp.args = items;
	tmp.nargs = nitems;
	memset(&e, 0, sizeof(e));
	e.a = a;
	e.err = err;
	if (ss_w_eval(&e, &tmp, &v) < 0)
		return -1;
	*res = v.isnull ? -1 : v.u.b;
	return !v.isnull && v.u.b == !(n->flags & NF_NOT);
}

/*
 * IN at plan time, in the order PostgreSQL simplifies its rewrite: the
 * "= ANY (array)" of the constant items first, then each "lhs = item" of
 * the OR (AND for NOT IN). An item that decides the whole makes it a
 * constant, and the items after it are never folded (so cannot fail).
 */
static struct ss_where_node *fold_in(struct arena *a, struct ss_where_node *n,
				     struct ss_err *err)
{
	struct ss_where_node **items =
	    ss_w_arena_alloc(a, n->nargs * sizeof(*items));
	size_t i, k;
	int res, all_const, all_null;

	if (!(n->args[0] = ss_w_fold(a, n->args[0], err)))
		return NULL;
	items[0] = n->args[0];
	if (n->flags & NF_INGROUP) {
		int group_const = 1;

		for (i = 1, k = 1; i < n->nargs; i++) {
			if (!(n->args[i]->flags & NF_INGROUP))
				continue;
			if (!(n->args[i] = ss_w_fold(a, n->args[i], err)))
				return NULL;
			if (!is_const(n->args[i]))
				group_const = 0;
			items[k++] = n->args[i];
		}
		if (group_const && is_const(n->args[0])) {
			int d = in_decides(a, n, items, k, &res, err);

			if (d < 0)
				return NULL;
			if (d)
				return mk_bool(a, n, res);
		}
	}
	for (i = 1; i < n->nargs; i++) {
		if (n->args[i]->flags & NF_INGROUP)
			continue;
		if (!(n->args[i] = ss_w_fold(a, n->args[i], err)))
			return NULL;
		if (is_const(n->args[0]) && is_const(n->args[i])) {
			int d;

			items[1] = n->args[i];
			d = in_decides(a, n, items, 2, &res, err);
			if (d < 0)
				return NULL;
			if (d)
				return mk_bool(a, n, res);
		}
	}
	all_const = 1;
	for (i = 0; i < n->nargs; i++)
		if (!is_const(n->args[i]))
			all_const = 0;
	if (all_const) {
		if (in_decides(a, n, n->args, n->nargs, &res, err) < 0)
			return NULL;
		return mk_bool(a, n, res);
	}
	if (!(n->flags & NF_INGROUP)) {
		/* every comparison has a NULL constant side: all NULL */
		all_null = is_null_const(n->args[0]);
		for (i = 1; i < n->nargs && !all_null; i++)
			if (!is_null_const(n->args[i]))
				break;
		if (all_null || i == n->nargs)
			return mk_bool(a, n, -1);
	}
	return n;
}

/*
 * BETWEEN at plan time: PostgreSQL has already rewritten it into ANDs and
 * ORs of comparisons, and folds every comparison whose sides are constant
 * (or NULL), then the AND/OR around them. So "0.5 BETWEEN 1 AND col" is
 * false however col turns out. Four-valued here: 1, 0, -1 (NULL) and
 * 2 (not constant).
 */
#define AND4(x, y)                                                             \
	((x) == 0 || (y) == 0	? 0                                            \
	 : (x) == 2 || (y) == 2 ? 2                                            \
	 : (x) < 0 || (y) < 0	? -1                                           \
				: 1)
#define OR4(x, y)                                                              \
	((x) == 1 || (y) == 1	? 1                                            \
	 : (x) == 2 || (y) == 2 ? 2                                            \
	 : (x) < 0 || (y) < 0	? -1                                           \
				: 0)
#define NOT4(x) ((x) == 2 ? 2 : (x) < 0 ? -1 : !(x))

static int fold_cmp(struct ectx *e, const struct ss_where_node *n,
		    const struct ss_where_node *bound, const struct wtype *t,
		    int ge, int neg, int *res)
{
	const struct ss_where_node *x = n->args[0];

	if (is_null_const(x) || is_null_const(bound)) {
		*res = -1;
		return 0;
	}
	if (!is_const(x) || !is_const(bound)) {
		*res = 2;
		return 0;
	}
	if (ss_w_between_cmp(e, n, &x->val, bound, t, ge, res) < 0)
		return -1;
	if (neg)
		*res = NOT4(*res);
	return 0;
}

/*
 * One conjunct pair x >= lo AND x <= hi (negated: x < lo OR x > hi). Like
 * PostgreSQL's simplification of the rewritten AND/OR, a bound is only
 * folded once the comparison before it has not already decided the pair,
 * so "-2.5 NOT BETWEEN -1 AND <something failing>" folds to true.
 */
static int fold_pair(struct ectx *e, struct ss_where_node *n, size_t lo,
		     const struct wtype *lt, size_t hi, const struct wtype *ht,
		     int neg, int *res)
{
	int r1, r2;

	if (!(n->args[lo] = ss_w_fold(e->a, n->args[lo], e->err)))
		return -1;
	if (fold_cmp(e, n, n->args[lo], lt, 1, neg, &r1) < 0)
		return -1;
	if (neg ? r1 == 1 : r1 == 0) {
		*res = r1;
		return 1; /* decided; hi may be left unfolded */
	}
	if (!(n->args[hi] = ss_w_fold(e->a, n->args[hi], e->err)))
		return -1;
	if (fold_cmp(e, n, n->args[hi], ht, 0, neg, &r2) < 0)
		return -1;
	*res = neg ? OR4(r1, r2) : AND4(r1, r2);
	return 0;
}

static struct ss_where_node *
fold_between(struct arena *a, struct ss_where_node *n, struct ss_err *err)
{
	int neg = (n->flags & NF_NOT) != 0, r, r2, rc;
	struct ectx e;

	memset(&e, 0, sizeof(e));
	e.a = a;
	e.err = err;
	if (!(n->args[0] = ss_w_fold(a, n->args[0], err)))
		return NULL;
	rc = fold_pair(&e, n, 1, &n->otype, 2, &n->otype2, neg, &r);
	if (rc < 0)
		return NULL;
	if (n->flags & NF_SYMMETRIC) {
		if (neg ? r == 0 : r == 1)
			return mk_bool(a, n, r);
		if (fold_pair(&e, n, 2, &n->otype2, 1, &n->otype, neg, &r2) < 0)
			return NULL;
		r = neg ? AND4(r, r2) : OR4(r, r2);
	}
	if (r != 2)
		return mk_bool(a, n, r);
	/* kept for evaluation: every bound must be folded by now */
	if (!(n->args[2] = ss_w_fold(a, n->args[2], err)))
		return NULL;
	return n;
}

struct ss_where_node *ss_w_fold(struct arena *a, struct ss_where_node *n,
				struct ss_err *err)
{
	size_t i, k;
	int all_const = 1;

	if (n->kind == SS_WHERE_CONST || n->kind == SS_WHERE_COLUMN)
		return n;
	if (n->kind == SS_WHERE_AND || n->kind == SS_WHERE_OR) {
		int stop = n->kind == SS_WHERE_OR, have_null = 0;

		for (i = 0, k = 0; i < n->nargs; i++) {
			struct ss_where_node *f = ss_w_fold(a, n->args[i], err);

			if (!f)
				return NULL;
			if (is_const(f)) {
				int t = tv(&f->val);

				if (t == stop)
					return mk_bool(a, n, stop);
				if (t < 0)
					have_null = 1;
				continue;
			}
			n->args[k++] = f;
		}
		if (have_null) {
			if (k == 0)
				return mk_bool(a, n, -1);
			n->args[k++] = mk_bool(a, n, -1);
		}
		if (k == 0)
			return mk_bool(a, n, !stop);
		if (k == 1)
			return n->args[0];
		n->nargs = k;
		return n;
	}
	if (n->kind == SS_WHERE_BETWEEN)
		return fold_between(a, n, err);
	if (n->kind == SS_WHERE_IN)
		return fold_in(a, n, err);
	if (n->kind == SS_WHERE_FUNC && n->opc == FN_COALESCE) {
		for (i = 0, k = 0; i < n->nargs; i++) {
			struct ss_where_node *f = ss_w_fold(a, n->args[i], err);

			if (!f)
				return NULL;
			if (is_null_const(f))
				continue;
			n->args[k++] = f;
			if (is_const(f))
				break; /* later arguments are never reached */
		}
		if (k == 0) {
			struct wval v;

			memset(&v, 0, sizeof(v));
			v.isnull = 1;
			return mk_constnode(a, n, &v);
		}
		if (is_const(n->args[0]))
			return n->args[0];
		n->nargs = k;
		return n;
	}
	for (i = 0; i < n->nargs; i++) {
		n->args[i] = ss_w_fold(a, n->args[i], err);
		if (!n->args[i])
			return NULL;
		if (!is_const(n->args[i]))
			all_const = 0;
	}
	if (strict(n)) {
		for (i = 0; i < n->nargs; i++) {
			if (is_null_const(n->args[i])) {
				struct wval v;

				memset(&v, 0, sizeof(v));
				v.isnull = 1;
				return mk_constnode(a, n, &v);
			}
		}
	}
	if (all_const && foldable(n)) {
		struct ectx e;
		struct wval v;

		memset(&e, 0, sizeof(e));
		e.a = a;
		e.err = err;
		if (ss_w_eval(&e, n, &v) < 0)
			return NULL;
		return mk_constnode(a, n, &v);
	}
	return n;
}
