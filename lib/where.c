/*
 * where.c — lib/where's public entry points and its middle: the type
 * checker (PostgreSQL's operator and unknown-literal resolution for the
 * supported subset), the constant folder (eval_const_expressions' rules:
 * AND/OR short-cuts, strict operators on NULL), and the row evaluator with
 * three-valued logic.
 */
#include <ctype.h>
#include <math.h>

#include "where_int.h"

struct ss_where {
	struct arena arena;
	struct ss_where_node *root;
	char *canon;
	size_t *used;
	size_t nused;
	size_t ncols;
	struct wtype *coltypes;
	uint64_t max_cost; /* each evaluation's budget; 0 none */
};

struct actx {
	struct arena *a;
	const struct ss_where_column *cols;
	size_t ncols;
	struct wtype *coltypes;
	int *colok;
	const char *const *params;
	size_t nparams;
	struct ss_err *err;
};

/* Evaluation state for one row (or for constant folding: no row). */
struct ectx {
	struct arena *a;
	const struct ss_where *w;
	const char *const *values;
	struct wval *colcache;
	unsigned char *colstate; /* 0 not parsed, 1 parsed */
	struct ss_err *err;
	int depth;
};

static const struct wtype T_BOOL = {WT_BOOL, 0, -1, NULL, NULL, 0};
static const struct wtype T_TEXT = {WT_TEXT, 0, -1, NULL, NULL, 0};
static const struct wtype T_INT4 = {WT_INT4, 0, -1, NULL, NULL, 0};

static int is_unknown(const struct wtype *t)
{
	return !t->array && (t->base == WT_UNKNOWN || t->base == WT_NULL);
}

static int aerr(struct actx *c, int loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int aerr(struct actx *c, int loc, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ss_err_set(c->err, SS_ERR_INPUT, "At location %d: %s", loc, buf);
}

static int op_missing(struct actx *c, int loc, const char *op,
		      const struct wtype *l, const struct wtype *r)
{
	struct ss_buf a = SS_BUF_INIT, b = SS_BUF_INIT;

	if (l)
		wtype_sqlname(l, &a);
	wtype_sqlname(r, &b);
	aerr(c, loc, "operator does not exist: %s%s%s %s", a.buf, l ? " " : "",
	     op, b.buf);
	ss_buf_release(&a);
	ss_buf_release(&b);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Type checking */

static struct ss_where_node *analyze(struct actx *c, struct ss_where_node *n);

/*
 * Coerce n to type t. Unknown literals and parameters take the type
 * directly (their text is read as a value of t, as PostgreSQL does);
 * typed expressions get a cast node, implicit unless `explicit`.
 */
static struct ss_where_node *coerce(struct actx *c, struct ss_where_node *n,
				    const struct wtype *t, int explicit)
{
	struct ss_where_node *cn;
	int kind;

	if (wtype_eq(&n->type, t) &&
	    (t->typmod < 0 || t->typmod == n->type.typmod))
		return n;
	if (n->kind == SS_WHERE_CONST && is_unknown(&n->type)) {
		n->type = *t;
		if (!n->val.isnull &&
		    wval_in(c->a, t, n->val.u.s.p, n->val.u.s.len, &n->val,
			    c->err) < 0)
			return NULL;
		return n;
	}
	if (n->kind == SS_WHERE_ARRAY && n->nargs == 0 && t->array) {
		n->type = *t;
		return n;
	}
	kind = wcast_kind(&n->type, t);
	if (kind == 0 || (kind == 1 && !explicit)) {
		struct ss_buf a = SS_BUF_INIT, b = SS_BUF_INIT;

		wtype_sqlname(&n->type, &a);
		wtype_sqlname(t, &b);
		aerr(c, n->loc, "cannot cast type %s to %s", a.buf, b.buf);
		ss_buf_release(&a);
		ss_buf_release(&b);
		return NULL;
	}
	cn = where_node(c->a, SS_WHERE_CAST, n->loc, 1);
	cn->args[0] = n;
	cn->type = *t;
	cn->flags = explicit ? 0 : NF_IMPLICIT;
	cn->analyzed = 1;
	return cn;
}

/* Forced coercion for operators that take any type as text (||, concat):
 * the value's text output, bpchar without its padding. */
static struct ss_where_node *to_text(struct actx *c, struct ss_where_node *n)
{
	struct ss_where_node *cn;

	if (n->type.base == WT_TEXT && !n->type.array)
		return n;
	if (is_unknown(&n->type))
		return coerce(c, n, &T_TEXT, 0);
	cn = where_node(c->a, SS_WHERE_CAST, n->loc, 1);
	cn->args[0] = n;
	cn->type = T_TEXT;
	cn->flags = NF_IMPLICIT;
	cn->analyzed = 1;
	return cn;
}

/*
 * The type two operands of a comparison-like operator meet at, following
 * PostgreSQL: an unknown side takes the other's type; numbers widen
 * (float4 with anything else goes to float8); text types meet at text;
 * date < timestamp < timestamptz. Returns -1 if they cannot meet.
 */
static int meet_mode(const struct wtype *l, const struct wtype *r,
		     struct wtype *out, int sel)
{
	if (is_unknown(l) && is_unknown(r)) {
		*out = T_TEXT;
		return 0;
	}
	if (is_unknown(l)) {
		*out = *r;
		out->typmod = -1;
		return 0;
	}
	if (is_unknown(r)) {
		*out = *l;
		out->typmod = -1;
		return 0;
	}
	if (l->array != r->array)
		return -1;
	*out = *l;
	out->typmod = -1;
	if (wtype_eq(l, r))
		return 0;
	if (l->array)
		return -1; /* anyarray operators need one element type */
	if (wt_is_numeric(l->base) && wt_is_numeric(r->base)) {
		enum wt w = l->base > r->base ? l->base : r->base;

		/* Operators: float4 with anything else is float8; a common
		 * type (select_common_type) is just the wider one. */
		if (w == WT_FLOAT4 && !sel)
			w = WT_FLOAT8;
		out->base = w;
		return 0;
	}
	if (wt_is_text(l->base) && wt_is_text(r->base)) {
		out->base = WT_TEXT;
		return 0;
	}
	{
		enum wt a = l->base, b = r->base;
		int da =
		    a == WT_DATE || a == WT_TIMESTAMP || a == WT_TIMESTAMPTZ;
		int db =
		    b == WT_DATE || b == WT_TIMESTAMP || b == WT_TIMESTAMPTZ;

		if (da && db) {
			out->base = a > b ? a : b;
			return 0;
		}
		/* time casts implicitly to interval (for operators; the
		 * two are different categories for a common type) */
		if (!sel && ((a == WT_TIME && b == WT_INTERVAL) ||
			     (a == WT_INTERVAL && b == WT_TIME))) {
			out->base = WT_INTERVAL;
			return 0;
		}
	}
	return -1;
}

static int meet(const struct wtype *l, const struct wtype *r, struct wtype *out)
{
	return meet_mode(l, r, out, 0);
}

static struct ss_where_node *
analyze_bool_arg(struct actx *c, struct ss_where_node *n, const char *what)
{
	n = analyze(c, n);
	if (!n)
		return NULL;
	if (is_unknown(&n->type))
		return coerce(c, n, &T_BOOL, 0);
	if (n->type.base != WT_BOOL || n->type.array) {
		struct ss_buf b = SS_BUF_INIT;

		wtype_sqlname(&n->type, &b);
		aerr(c, n->loc,
		     "argument of %s must be type boolean, not type %s", what,
		     b.buf);
		ss_buf_release(&b);
		return NULL;
	}
	return n;
}

/* Resolve a binary comparison's operand types; coerce both args. */
static int analyze_cmp(struct actx *c, struct ss_where_node *n,
		       struct ss_where_node **l, struct ss_where_node **r,
		       const char *opname, struct wtype *ot)
{
	if (meet(&(*l)->type, &(*r)->type, ot) < 0)
		return op_missing(c, n->loc, opname, &(*l)->type, &(*r)->type);
	if (ot->base == WT_ENUM && !ot->labels && strcmp(opname, "=") &&
	    strcmp(opname, "<>") && !ot->array)
		return aerr(c, n->loc,
			    "ordering operators on enum type %s are not "
			    "supported",
			    ot->ename);
	*l = coerce(c, *l, ot, 0);
	if (!*l)
		return -1;
	*r = coerce(c, *r, ot, 0);
	if (!*r)
		return -1;
	return 0;
}

static int is_cmp_op(int opc)
{
	return opc >= NOP_EQ && opc <= NOP_GE;
}

static struct ss_where_node *analyze_op(struct actx *c, struct ss_where_node *n)
{
	size_t i;

	for (i = 0; i < n->nargs; i++) {
		n->args[i] = analyze(c, n->args[i]);
		if (!n->args[i])
			return NULL;
	}
	if (n->opc == NOP_OTHER) {
		aerr(c, n->loc, "operator %s is not supported in this context",
		     n->op);
		return NULL;
	}
	if (n->nargs == 1 && n->opc >= NOP_BNOT && n->opc <= NOP_CBRT) {
		struct ss_where_node *a = n->args[0];
		enum wt b = a->type.array ? WT_UNKNOWN : a->type.base;
		static const struct wtype T_FLOAT8 = {WT_FLOAT8, 0,    -1,
						      NULL,	 NULL, 0};

		if (n->opc == NOP_SQRT || n->opc == NOP_CBRT) {
			/* float8 only: numbers and unknown cast to it */
			if (!is_unknown(&a->type) && !wt_is_numeric(b)) {
				op_missing(c, n->loc, n->op, NULL, &a->type);
				return NULL;
			}
			n->args[0] = coerce(c, a, &T_FLOAT8, 0);
			if (!n->args[0])
				return NULL;
			n->type = T_FLOAT8;
			return n;
		}
		if (is_unknown(&a->type)) {
			aerr(c, n->loc, "operator is not unique: %s unknown",
			     n->op);
			return NULL;
		}
		if (n->opc == NOP_BNOT ? !wt_is_int(b) : !wt_is_numeric(b)) {
			op_missing(c, n->loc, n->op, NULL, &a->type);
			return NULL;
		}
		n->type = a->type;
		n->type.typmod = -1;
		return n;
	}
	if (n->nargs == 1) {
		struct ss_where_node *a = n->args[0];
		struct wtype lc, rc, res;

		if (is_unknown(&a->type)) {
			aerr(c, n->loc, "operator is not unique: %s unknown",
			     n->op);
			return NULL;
		}
		if (warith_resolve(OP_NEG, &a->type, &a->type, &lc, &rc, &res) <
			0 ||
		    (n->opc == NOP_ADD && a->type.base == WT_INTERVAL)) {
			op_missing(c, n->loc, n->op, NULL, &a->type);
			return NULL;
		}
		n->type = res;
		return n;
	}
	if (is_cmp_op(n->opc)) {
		if (analyze_cmp(c, n, &n->args[0], &n->args[1], n->op,
				&n->otype) < 0)
			return NULL;
		n->type = T_BOOL;
		return n;
	}
	switch (n->opc) {
	case NOP_ADD:
	case NOP_SUB:
	case NOP_MUL:
	case NOP_DIV:
	case NOP_MOD:
	case NOP_POW: {
		static const enum wop map[] = {
		    [NOP_ADD] = OP_ADD, [NOP_SUB] = OP_SUB, [NOP_MUL] = OP_MUL,
		    [NOP_DIV] = OP_DIV, [NOP_MOD] = OP_MOD, [NOP_POW] = OP_POW,
		};
		enum wop op = map[n->opc];
		struct wtype lt = n->args[0]->type, rt = n->args[1]->type;
		struct wtype lc, rc, res;

		if (is_unknown(&lt) && is_unknown(&rt) && op == OP_POW) {
			/* only numeric candidates: float8 is preferred */
			lt.base = rt.base = WT_FLOAT8;
		} else if (is_unknown(&lt) && is_unknown(&rt)) {
			aerr(c, n->loc,
			     "operator is not unique: unknown %s unknown",
			     n->op);
			return NULL;
		}
		if (is_unknown(&lt) || is_unknown(&rt)) {
			/* The unknown side takes the other's type if that
			 * operator exists, else the one candidate left for
			 * date/time types (timestamp + interval). */
			struct wtype *u = is_unknown(&lt) ? &lt : &rt;
			const struct wtype *k = is_unknown(&lt) ? &rt : &lt;

			if (warith_resolve(op, k, k, &lc, &rc, &res) == 0) {
				*u = *k;
				u->typmod = -1;
			} else if (k->base == WT_INTERVAL &&
				   (op == OP_MUL || op == OP_DIV)) {
				/* interval * unknown: the factor is float8 */
				u->base = WT_FLOAT8;
				u->array = 0;
				u->typmod = -1;
			} else if ((k->base == WT_TIMESTAMP ||
				    k->base == WT_TIMESTAMPTZ ||
				    (k->base == WT_TIME && op == OP_SUB &&
				     0)) &&
				   (op == OP_ADD || op == OP_SUB)) {
				u->base = WT_INTERVAL;
				u->array = 0;
				u->typmod = -1;
			} else {
				/* date + unknown has several candidates
				 * (int4, interval, time); anything else has
				 * none left */
				struct ss_buf kb = SS_BUF_INIT;
				const char *what = k->base == WT_DATE
						       ? "is not unique"
						       : "does not exist";

				wtype_sqlname(k, &kb);
				if (is_unknown(&lt))
					aerr(c, n->loc,
					     "operator %s: unknown %s %s", what,
					     n->op, kb.buf);
				else
					aerr(c, n->loc,
					     "operator %s: %s %s unknown", what,
					     kb.buf, n->op);
				ss_buf_release(&kb);
				return NULL;
			}
		}
		if (warith_resolve(op, &lt, &rt, &lc, &rc, &res) < 0) {
			op_missing(c, n->loc, n->op, &n->args[0]->type,
				   &n->args[1]->type);
			return NULL;
		}
		if (op == OP_POW && res.base == WT_NUMERIC) {
			/* numeric_power needs arbitrary-precision exp/ln */
			aerr(c, n->loc,
			     "operator ^ on numeric is not supported in this "
			     "context");
			return NULL;
		}
		n->args[0] = coerce(c, n->args[0], &lc, 0);
		if (!n->args[0])
			return NULL;
		n->args[1] = coerce(c, n->args[1], &rc, 0);
		if (!n->args[1])
			return NULL;
		n->type = res;
		return n;
	}
	case NOP_BAND:
	case NOP_BOR:
	case NOP_BXOR: {
		/* integers only, the wider of the two */
		struct wtype lt = n->args[0]->type, rt = n->args[1]->type;
		struct wtype ot;

		if (is_unknown(&lt) && is_unknown(&rt)) {
			aerr(c, n->loc,
			     "operator is not unique: unknown %s unknown",
			     n->op);
			return NULL;
		}
		if (meet(&lt, &rt, &ot) < 0 || ot.array ||
		    !wt_is_int(ot.base)) {
			op_missing(c, n->loc, n->op, &lt, &rt);
			return NULL;
		}
		n->args[0] = coerce(c, n->args[0], &ot, 0);
		if (!n->args[0])
			return NULL;
		n->args[1] = coerce(c, n->args[1], &ot, 0);
		if (!n->args[1])
			return NULL;
		n->type = ot;
		return n;
	}
	case NOP_CONCAT: {
		struct wtype lt = n->args[0]->type, rt = n->args[1]->type;
		int ltext =
		    is_unknown(&lt) || (wt_is_text(lt.base) && !lt.array);
		int rtext =
		    is_unknown(&rt) || (wt_is_text(rt.base) && !rt.array);

		if (lt.array || rt.array) {
			/* array_cat / array_append / array_prepend over the
			 * common element type; an unknown side is an array */
			struct wtype le = lt, re = rt, et, at;

			le.array = re.array = 0;
			if (meet_mode(&le, &re, &et, 1) < 0) {
				op_missing(c, n->loc, "||", &lt, &rt);
				return NULL;
			}
			et.typmod = -1;
			at = et;
			at.array = 1;
			if (lt.array && (rt.array || is_unknown(&rt))) {
				n->flags |= NF_ARRCAT;
				n->args[0] = coerce(c, n->args[0], &at, 0);
				if (n->args[0])
					n->args[1] =
					    coerce(c, n->args[1], &at, 0);
			} else if (rt.array && is_unknown(&lt)) {
				n->flags |= NF_ARRCAT;
				n->args[0] = coerce(c, n->args[0], &at, 0);
				if (n->args[0])
					n->args[1] =
					    coerce(c, n->args[1], &at, 0);
			} else if (lt.array) {
				n->flags |= NF_APPEND;
				n->args[0] = coerce(c, n->args[0], &at, 0);
				if (n->args[0])
					n->args[1] =
					    coerce(c, n->args[1], &et, 0);
			} else {
				n->flags |= NF_PREPEND;
				n->args[0] = coerce(c, n->args[0], &et, 0);
				if (n->args[0])
					n->args[1] =
					    coerce(c, n->args[1], &at, 0);
			}
			if (!n->args[0] || !n->args[1])
				return NULL;
			n->type = at;
			return n;
		}
		if (!ltext && !rtext) {
			op_missing(c, n->loc, "||", &lt, &rt);
			return NULL;
		}
		n->args[0] = to_text(c, n->args[0]);
		if (!n->args[0])
			return NULL;
		n->args[1] = to_text(c, n->args[1]);
		if (!n->args[1])
			return NULL;
		n->type = T_TEXT;
		return n;
	}
	case NOP_CONTAINS:
	case NOP_CONTAINED:
	case NOP_OVERLAP: {
		struct wtype lt = n->args[0]->type, rt = n->args[1]->type;
		struct wtype ot;

		if (is_unknown(&lt) && is_unknown(&rt)) {
			aerr(c, n->loc,
			     "operator is not unique: unknown %s unknown",
			     n->op);
			return NULL;
		}
		if (meet(&lt, &rt, &ot) < 0 || !ot.array) {
			op_missing(c, n->loc, n->op, &lt, &rt);
			return NULL;
		}
		n->args[0] = coerce(c, n->args[0], &ot, 0);
		if (!n->args[0])
			return NULL;
		n->args[1] = coerce(c, n->args[1], &ot, 0);
		if (!n->args[1])
			return NULL;
		n->otype = ot;
		n->type = T_BOOL;
		return n;
	}
	case NOP_LIKE:
	case NOP_ILIKE:
	case NOP_NLIKE:
	case NOP_NILIKE: {
		struct wtype lt = n->args[0]->type;

		if (!is_unknown(&lt) && !(wt_is_text(lt.base) && !lt.array)) {
			op_missing(c, n->loc, n->op, &lt, &n->args[1]->type);
			return NULL;
		}
		if (is_unknown(&lt)) {
			n->args[0] = coerce(c, n->args[0], &T_TEXT, 0);
			if (!n->args[0])
				return NULL;
		}
		for (i = 1; i < n->nargs; i++) {
			struct wtype t = n->args[i]->type;

			if (!is_unknown(&t) &&
			    !(wt_is_text(t.base) && !t.array)) {
				op_missing(c, n->loc, n->op, &lt, &t);
				return NULL;
			}
			n->args[i] = to_text(c, n->args[i]);
			if (!n->args[i])
				return NULL;
		}
		n->type = T_BOOL;
		return n;
	}
	}
	aerr(c, n->loc, "operator %s is not supported in this context", n->op);
	return NULL;
}

/*
 * array_cat(a, b), array_append(a, e), array_prepend(e, a) and
 * array_ndims(a): the polymorphic "anycompatible" resolution (an unknown
 * array side takes the other side's array type, an unknown element the
 * element type), then the same evaluation as the || operator.
 */
static struct ss_where_node *analyze_array_func(struct actx *c,
						struct ss_where_node *n)
{
	static const struct wtype T_INT4_ = {WT_INT4, 0, -1, NULL, NULL, 0};
	int ai = n->opc == FN_ARRAY_PREPEND ? 1 : 0; /* the array argument */
	size_t want = n->opc == FN_ARRAY_NDIMS ? 1 : 2;
	struct wtype et, at, ot;
	int have = 0;
	size_t i;

	if (n->nargs != want) {
		aerr(c, n->loc, "function %s with %zu arguments does not exist",
		     n->op, n->nargs);
		return NULL;
	}
	for (i = 0; i < n->nargs; i++) {
		struct wtype t = n->args[i]->type;
		int is_arr_pos = n->opc == FN_ARRAY_CAT || (int)i == ai;

		if (is_unknown(&t))
			continue;
		if (is_arr_pos && !t.array) {
			struct ss_buf b = SS_BUF_INIT;

			wtype_sqlname(&t, &b);
			aerr(c, n->loc, "function %s(%s) does not exist", n->op,
			     b.buf);
			ss_buf_release(&b);
			return NULL;
		}
		t.array = 0;
		t.typmod = -1;
		if (have && meet_mode(&et, &t, &ot, 1) < 0) {
			aerr(c, n->loc,
			     "function %s arguments have incompatible types",
			     n->op);
			return NULL;
		}
		et = have ? ot : t;
		have = 1;
	}
	if (!have && n->opc == FN_ARRAY_NDIMS) {
		/* anyarray, unlike anycompatible, cannot start from unknown */
		aerr(c, n->loc,
		     "could not determine polymorphic type because input has "
		     "type unknown");
		return NULL;
	}
	if (!have)
		et = T_TEXT; /* anycompatible over unknowns only: text */
	at = et;
	at.array = 1;
	for (i = 0; i < n->nargs; i++) {
		int is_arr_pos = n->opc == FN_ARRAY_CAT || (int)i == ai;

		n->args[i] = coerce(c, n->args[i], is_arr_pos ? &at : &et, 0);
		if (!n->args[i])
			return NULL;
	}
	n->flags |= n->opc == FN_ARRAY_CAT	 ? NF_ARRCAT
		    : n->opc == FN_ARRAY_APPEND	 ? NF_APPEND
		    : n->opc == FN_ARRAY_PREPEND ? NF_PREPEND
						 : 0;
	n->type = n->opc == FN_ARRAY_NDIMS ? T_INT4_ : at;
	return n;
}

/* Common type of a list (IN lists, COALESCE, ARRAY[...]). */
static int common_type(struct actx *c, struct ss_where_node **args,
		       size_t nargs, const char *what, struct wtype *out)
{
	size_t i;
	struct wtype t;

	t.base = WT_UNKNOWN;
	t.array = 0;
	t.typmod = -1;
	t.ename = NULL;
	/* Like select_common_type: unknown inputs do not vote. */
	for (i = 0; i < nargs; i++) {
		struct wtype m;

		if (is_unknown(&args[i]->type))
			continue;
		if (meet_mode(&t, &args[i]->type, &m, 1) < 0) {
			struct ss_buf a = SS_BUF_INIT, b = SS_BUF_INIT;

			wtype_sqlname(&t, &a);
			wtype_sqlname(&args[i]->type, &b);
			aerr(c, args[i]->loc,
			     "%s types %s and %s cannot be matched", what,
			     a.buf, b.buf);
			ss_buf_release(&a);
			ss_buf_release(&b);
			return -1;
		}
		t = m;
	}
	if (is_unknown(&t))
		t = T_TEXT;
	t.typmod = -1;
	*out = t;
	return 0;
}

static int has_column(const struct ss_where_node *n)
{
	size_t i;

	if (n->kind == SS_WHERE_COLUMN)
		return 1;
	for (i = 0; i < n->nargs; i++)
		if (has_column(n->args[i]))
			return 1;
	return 0;
}

/* The type of an enum column named `name`, or NULL. */
static const struct wtype *lookup_enum(struct actx *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ncols; i++)
		if (c->colok[i] && c->coltypes[i].base == WT_ENUM &&
		    strcmp(c->coltypes[i].ename, name) == 0)
			return &c->coltypes[i];
	return NULL;
}

static struct ss_where_node *analyze_node(struct actx *c,
					  struct ss_where_node *n);

/* Constants are read here (1E130000 is 130001 digits from 8 bytes of
 * text): the budget is checked after every node. */
static struct ss_where_node *analyze(struct actx *c, struct ss_where_node *n)
{
	n = analyze_node(c, n);
	if (n && arena_charge(c->a, 1, c->err) < 0)
		return NULL;
	return n;
}

static struct ss_where_node *analyze_node(struct actx *c,
					  struct ss_where_node *n)
{
	size_t i;

	if (n->analyzed)
		return n;
	n->analyzed = 1;
	switch (n->kind) {
	case SS_WHERE_CONST:
		switch (n->lit) {
		case LIT_INT: {
			int64_t v;
			struct ss_err e2 = SS_ERR_INIT;

			if (ss_parse_i64(n->text, INT64_MIN, INT64_MAX, &v,
					 "int", &e2) == 0) {
				n->type.base =
				    (v >= INT32_MIN && v <= INT32_MAX)
					? WT_INT4
					: WT_INT8;
				n->val.u.i = v;
				return n;
			}
			/* too big for int8: a numeric */
		}
		/* FALLTHROUGH */
		case LIT_NUM:
			n->type.base = WT_NUMERIC;
			if (wval_in(c->a, &n->type, n->text, n->textlen,
				    &n->val, c->err) < 0)
				return NULL;
			return n;
		case LIT_STR:
			n->type.base = WT_UNKNOWN;
			n->val.u.s.p = n->text;
			n->val.u.s.len = n->textlen;
			return n;
		case LIT_BOOL:
			n->type = T_BOOL;
			n->val.u.b = n->text[0] == 't';
			return n;
		case LIT_NULL:
			n->type.base = WT_NULL;
			n->val.isnull = 1;
			return n;
		case LIT_PARAM:
			if ((size_t)n->paramno > c->nparams) {
				aerr(c, n->loc, "there is no parameter $%d",
				     n->paramno);
				return NULL;
			}
			n->text = c->params[n->paramno - 1];
			n->textlen = n->text ? strlen(n->text) : 0;
			if (!n->text) {
				n->type.base = WT_NULL;
				n->val.isnull = 1;
			} else {
				n->type.base = WT_UNKNOWN;
				n->val.u.s.p = n->text;
				n->val.u.s.len = n->textlen;
			}
			return n;
		case LIT_NONE:
			return n;
		}
		return n;
	case SS_WHERE_COLUMN:
		if (!(n->flags & NF_NOT)) {
			for (i = 0; i < c->ncols; i++)
				if (strlen(c->cols[i].name) == n->textlen &&
				    memcmp(c->cols[i].name, n->text,
					   n->textlen) == 0)
					break;
		} else {
			i = c->ncols;
		}
		if (i == c->ncols) {
			aerr(c, n->loc, "unknown reference %s", n->text);
			return NULL;
		}
		if (!c->colok[i]) {
			aerr(c, n->loc, "unsupported type %s", c->cols[i].type);
			return NULL;
		}
		n->col = (long)i;
		n->type = c->coltypes[i];
		return n;
	case SS_WHERE_AND:
	case SS_WHERE_OR:
		for (i = 0; i < n->nargs; i++) {
			n->args[i] = analyze_bool_arg(
			    c, n->args[i],
			    n->kind == SS_WHERE_AND ? "AND" : "OR");
			if (!n->args[i])
				return NULL;
		}
		n->type = T_BOOL;
		return n;
	case SS_WHERE_NOT:
		n->args[0] = analyze_bool_arg(c, n->args[0], "NOT");
		if (!n->args[0])
			return NULL;
		n->type = T_BOOL;
		return n;
	case SS_WHERE_OP:
		return analyze_op(c, n);
	case SS_WHERE_TEST:
		if (n->opc == TEST_NULL) {
			n->args[0] = analyze(c, n->args[0]);
			if (!n->args[0])
				return NULL;
		} else {
			static const char *const what[] = {
			    "", "IS TRUE", "IS FALSE", "IS UNKNOWN"};
			char w[32];

			snprintf(w, sizeof(w), "%s", what[n->opc]);
			if (n->flags & NF_NOT)
				snprintf(w, sizeof(w), "IS NOT %s",
					 what[n->opc] + 3);
			n->args[0] = analyze_bool_arg(c, n->args[0], w);
			if (!n->args[0])
				return NULL;
		}
		n->type = T_BOOL;
		return n;
	case SS_WHERE_DISTINCT:
		for (i = 0; i < 2; i++) {
			n->args[i] = analyze(c, n->args[i]);
			if (!n->args[i])
				return NULL;
		}
		if (analyze_cmp(c, n, &n->args[0], &n->args[1], "=",
				&n->otype) < 0)
			return NULL;
		n->type = T_BOOL;
		return n;
	case SS_WHERE_IN: {
		/*
		 * Like transformAExprIn: items without column references
		 * (if there are two or more) meet the left side at one
		 * common type and become "= ANY (array)"; every other item
		 * is its own "lhs = item" with operator resolution. Each
		 * item is coerced to its comparison type; the left side
		 * keeps its type and is cast per item at evaluation.
		 */
		struct wtype ct;
		size_t nconst = 0;
		struct ss_where_node **group;

		for (i = 0; i < n->nargs; i++) {
			n->args[i] = analyze(c, n->args[i]);
			if (!n->args[i])
				return NULL;
			if (i > 0 && !has_column(n->args[i]))
				nconst++;
		}
		n->flags &= ~NF_INGROUP;
		if (nconst > 1) {
			size_t k = 1;
			struct ss_where_node lcopy = *n->args[0];

			group =
			    arena_alloc(c->a, (nconst + 1) * sizeof(*group));
			group[0] = n->args[0];
			for (i = 1; i < n->nargs; i++)
				if (!has_column(n->args[i]))
					group[k++] = n->args[i];
			if (common_type(c, group, k, "IN", &ct) < 0)
				return NULL;
			for (i = 1; i < n->nargs; i++) {
				if (has_column(n->args[i]))
					continue;
				n->args[i] = coerce(c, n->args[i], &ct, 0);
				if (!n->args[i])
					return NULL;
				n->args[i]->flags |= NF_INGROUP;
			}
			/* The array's elements are then compared with the
			 * left side through the operator for (lhs, ct). */
			if (is_unknown(&lcopy.type)) {
				if (!coerce(c, &lcopy, &ct, 0))
					return NULL;
				n->otype = ct;
			} else if (meet(&lcopy.type, &ct, &n->otype) < 0) {
				return op_missing(c, n->loc,
						  (n->flags & NF_NOT) ? "<>"
								      : "=",
						  &lcopy.type, &ct),
				       NULL;
			}
			n->otype.typmod = -1;
			n->flags |= NF_INGROUP;
		}
		for (i = 1; i < n->nargs; i++) {
			/* each comparison gets its own copy of an unknown
			 * left side, as PostgreSQL copies lexpr */
			struct ss_where_node lcopy = *n->args[0];
			struct ss_where_node *l = &lcopy;

			if ((n->flags & NF_INGROUP) && !has_column(n->args[i]))
				continue;
			if (analyze_cmp(c, n, &l, &n->args[i],
					(n->flags & NF_NOT) ? "<>" : "=",
					&ct) < 0)
				return NULL;
		}
		n->type = T_BOOL;
		return n;
	}
	case SS_WHERE_ANY:
	case SS_WHERE_ALL: {
		struct ss_where_node *l, *r;
		struct wtype et, ct;

		for (i = 0; i < 2; i++) {
			n->args[i] = analyze(c, n->args[i]);
			if (!n->args[i])
				return NULL;
		}
		l = n->args[0];
		r = n->args[1];
		if (!is_cmp_op(n->opc)) {
			aerr(c, n->loc,
			     "operator %s ANY/ALL is not supported in this "
			     "context",
			     n->op);
			return NULL;
		}
		if (is_unknown(&r->type)) {
			struct wtype at =
			    is_unknown(&l->type) ? T_TEXT : l->type;

			at.array = 1;
			at.typmod = -1;
			r = coerce(c, r, &at, 0);
			if (!r)
				return NULL;
		}
		if (!r->type.array) {
			aerr(c, r->loc,
			     "op ANY/ALL (array) requires array on right side");
			return NULL;
		}
		et = r->type;
		et.array = 0;
		if (meet(&l->type, &et, &ct) < 0) {
			op_missing(c, n->loc, n->op, &l->type, &et);
			return NULL;
		}
		if (ct.base == WT_ENUM && !ct.labels && n->opc != NOP_EQ &&
		    n->opc != NOP_NE) {
			aerr(c, n->loc,
			     "ordering operators on enum type %s are not "
			     "supported",
			     ct.ename);
			return NULL;
		}
		l = coerce(c, l, &ct, 0);
		if (!l)
			return NULL;
		ct.array = 1;
		r = coerce(c, r, &ct, 0);
		if (!r)
			return NULL;
		ct.array = 0;
		n->args[0] = l;
		n->args[1] = r;
		n->otype = ct;
		n->type = T_BOOL;
		return n;
	}
	case SS_WHERE_BETWEEN:
		for (i = 0; i < 3; i++) {
			n->args[i] = analyze(c, n->args[i]);
			if (!n->args[i])
				return NULL;
		}
		{
			/* x BETWEEN a AND b is x >= a AND x <= b, each
			 * comparison resolved on its own. */
			struct ss_where_node c1 = *n->args[0], c2 = *n->args[0];
			struct ss_where_node *x1 = &c1, *x2 = &c2;

			/* copies: an unknown x resolves separately in each */
			if (analyze_cmp(c, n, &x1, &n->args[1],
					">=", &n->otype) < 0 ||
			    analyze_cmp(c, n, &x2, &n->args[2],
					"<=", &n->otype2) < 0)
				return NULL;
		}
		n->type = T_BOOL;
		return n;
	case SS_WHERE_CAST: {
		struct ss_where_node *a;

		if (n->type.base == WT_ENUM) {
			const struct wtype *et = lookup_enum(c, n->type.ename);

			if (!et) {
				aerr(c, n->tloc, "unsupported type %s",
				     n->type.ename);
				return NULL;
			}
			n->type.labels = et->labels;
			n->type.nlabels = et->nlabels;
		}
		a = n->args[0];
		if (a->kind == SS_WHERE_ARRAY && a->nargs == 0) {
			/* ARRAY[]::t[] takes its type from the cast */
			if (!n->type.array) {
				aerr(c, n->loc,
				     "cannot determine type of empty array");
				return NULL;
			}
			a->type = n->type;
			a->analyzed = 1;
			return n;
		}
		a = analyze(c, a);
		if (!a)
			return NULL;
		if (a->kind == SS_WHERE_CONST && is_unknown(&a->type)) {
			/* 'text'::type reads the literal as the type */
			a = coerce(c, a, &n->type, 1);
			if (!a)
				return NULL;
			n->args[0] = a;
			return n;
		}
		if (a->kind == SS_WHERE_ARRAY && a->nargs == 0) {
			if (!n->type.array) {
				aerr(c, n->loc,
				     "cannot determine type of empty array");
				return NULL;
			}
			a->type = n->type;
			n->args[0] = a;
			return n;
		}
		n->args[0] = a;
		if (!wcast_kind(&a->type, &n->type)) {
			struct ss_buf x = SS_BUF_INIT, y = SS_BUF_INIT;

			wtype_sqlname(&a->type, &x);
			wtype_sqlname(&n->type, &y);
			aerr(c, n->loc, "cannot cast type %s to %s", x.buf,
			     y.buf);
			ss_buf_release(&x);
			ss_buf_release(&y);
			return NULL;
		}
		return n;
	}
	case SS_WHERE_FUNC: {
		struct wtype ct;

		for (i = 0; i < n->nargs; i++) {
			n->args[i] = analyze(c, n->args[i]);
			if (!n->args[i])
				return NULL;
		}
		switch (n->opc) {
		case FN_LOWER:
		case FN_UPPER: {
			struct wtype t = n->nargs ? n->args[0]->type : T_TEXT;

			if (n->nargs != 1 ||
			    !(is_unknown(&t) ||
			      (wt_is_text(t.base) && !t.array))) {
				struct ss_buf b = SS_BUF_INIT;

				for (i = 0; i < n->nargs; i++) {
					if (i)
						ss_buf_adds(&b, ", ");
					wtype_sqlname(&n->args[i]->type, &b);
				}
				aerr(c, n->loc,
				     "function %s(%s) does not exist", n->op,
				     b.buf);
				ss_buf_release(&b);
				return NULL;
			}
			n->args[0] = to_text(c, n->args[0]);
			if (!n->args[0])
				return NULL;
			n->type = T_TEXT;
			return n;
		}
		case FN_ARRAY_CAT:
		case FN_ARRAY_APPEND:
		case FN_ARRAY_PREPEND:
		case FN_ARRAY_NDIMS:
			return analyze_array_func(c, n);
		case FN_JUSTIFY_DAYS:
		case FN_JUSTIFY_HOURS:
		case FN_JUSTIFY_INTERVAL: {
			static const struct wtype T_IV = {WT_INTERVAL, 0,    -1,
							  NULL,	       NULL, 0};

			if (n->nargs != 1 ||
			    !(is_unknown(&n->args[0]->type) ||
			      (n->args[0]->type.base == WT_INTERVAL &&
			       !n->args[0]->type.array))) {
				aerr(c, n->loc,
				     "function %s with these arguments does "
				     "not exist",
				     n->op);
				return NULL;
			}
			n->args[0] = coerce(c, n->args[0], &T_IV, 0);
			if (!n->args[0])
				return NULL;
			n->type = T_IV;
			return n;
		}
		case FN_TIMEZONE: {
			static const struct wtype T_TSTZ = {
			    WT_TIMESTAMPTZ, 0, -1, NULL, NULL, 0};
			struct ss_where_node *z, *v;
			enum wt vb;

			if (n->nargs != 2) {
				aerr(c, n->loc,
				     "function timezone with %zu arguments "
				     "does not exist",
				     n->nargs);
				return NULL;
			}
			z = n->args[0];
			v = n->args[1];
			if (is_unknown(&z->type))
				z = coerce(c, z, &T_TEXT, 0);
			else if (!z->type.array && wt_is_text(z->type.base))
				z = to_text(c, z);
			else if (z->type.array || z->type.base != WT_INTERVAL) {
				struct ss_buf b = SS_BUF_INIT;

				wtype_sqlname(&z->type, &b);
				aerr(
				    c, n->loc,
				    "function timezone(%s, ...) does not exist",
				    b.buf);
				ss_buf_release(&b);
				return NULL;
			}
			if (!z)
				return NULL;
			/* unknown and date take timestamptz, the preferred
			 * type of the category */
			vb = v->type.array ? WT_UNKNOWN : v->type.base;
			if (is_unknown(&v->type) || vb == WT_DATE)
				v = coerce(c, v, &T_TSTZ, 0);
			else if (vb != WT_TIMESTAMP && vb != WT_TIMESTAMPTZ) {
				struct ss_buf b = SS_BUF_INIT;

				wtype_sqlname(&v->type, &b);
				aerr(c, n->loc,
				     "function timezone(..., %s) is not "
				     "supported in this context",
				     b.buf);
				ss_buf_release(&b);
				return NULL;
			}
			if (!v)
				return NULL;
			n->args[0] = z;
			n->args[1] = v;
			n->type = T_TSTZ;
			if (v->type.base == WT_TIMESTAMPTZ)
				n->type.base = WT_TIMESTAMP;
			return n;
		}
		case FN_LIKE:
		case FN_ILIKE:
			aerr(c, n->loc,
			     "function %s with %zu arguments does not exist",
			     n->op, n->nargs);
			return NULL;
		case FN_CONCAT:
			for (i = 0; i < n->nargs; i++)
				if (is_unknown(&n->args[i]->type)) {
					n->args[i] =
					    coerce(c, n->args[i], &T_TEXT, 0);
					if (!n->args[i])
						return NULL;
				}
			n->type = T_TEXT;
			return n;
		default:
			if (common_type(c, n->args, n->nargs, n->op, &ct) < 0)
				return NULL;
			if (ct.base == WT_ENUM && !ct.labels &&
			    n->opc != FN_COALESCE) {
				aerr(c, n->loc,
				     "ordering operators on enum type %s are "
				     "not supported",
				     ct.ename);
				return NULL;
			}
			for (i = 0; i < n->nargs; i++) {
				n->args[i] = coerce(c, n->args[i], &ct, 0);
				if (!n->args[i])
					return NULL;
			}
			n->type = ct;
			return n;
		}
	}
	case SS_WHERE_ARRAY: {
		struct wtype ct;

		if (n->nargs == 0) {
			aerr(c, n->loc, "cannot determine type of empty array");
			return NULL;
		}
		for (i = 0; i < n->nargs; i++) {
			n->args[i] = analyze(c, n->args[i]);
			if (!n->args[i])
				return NULL;
		}
		if (common_type(c, n->args, n->nargs, "ARRAY", &ct) < 0)
			return NULL;
		for (i = 0; i < n->nargs; i++) {
			n->args[i] = coerce(c, n->args[i], &ct, 0);
			if (!n->args[i])
				return NULL;
		}
		n->otype = ct; /* element (or sub-array) type */
		n->type = ct;
		n->type.array = 1;
		return n;
	}
	case SS_WHERE_SUBSCRIPT: {
		struct ss_where_node *b = analyze(c, n->args[0]);
		struct ss_where_node *ix;

		if (!b)
			return NULL;
		if (!b->type.array) {
			struct ss_buf x = SS_BUF_INIT;

			wtype_sqlname(&b->type, &x);
			aerr(c, n->loc,
			     "cannot subscript type %s because it does not "
			     "support subscripting",
			     x.buf);
			ss_buf_release(&x);
			return NULL;
		}
		ix = analyze(c, n->args[1]);
		if (!ix)
			return NULL;
		if (!is_unknown(&ix->type) &&
		    !(wt_is_int(ix->type.base) && !ix->type.array)) {
			aerr(c, ix->loc,
			     "array subscript must have type integer");
			return NULL;
		}
		if (ix->type.base == WT_INT8 || ix->type.base == WT_INT2) {
			struct ss_where_node *cn =
			    where_node(c->a, SS_WHERE_CAST, ix->loc, 1);

			cn->args[0] = ix;
			cn->type = T_INT4;
			cn->flags = NF_IMPLICIT;
			cn->analyzed = 1;
			ix = cn;
		} else {
			ix = coerce(c, ix, &T_INT4, 0);
			if (!ix)
				return NULL;
		}
		n->args[0] = b;
		n->args[1] = ix;
		n->type = b->type;
		n->type.array = 0;
		n->type.typmod = -1;
		return n;
	}
	}
	aerr(c, n->loc, "expression is not supported in this context");
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Evaluation */

static int eval(struct ectx *e, const struct ss_where_node *n,
		struct wval *out);

static int tv(const struct wval *v) /* three-valued: 1, 0, -1 null */
{
	return v->isnull ? -1 : v->u.b != 0;
}

static void set_tv(struct wval *out, int t)
{
	memset(out, 0, sizeof(*out));
	if (t < 0)
		out->isnull = 1;
	else
		out->u.b = t;
}

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
				if (arena_charge(a, plen, err) < 0) {
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

	if (eval(e, n->args[0], &s) < 0 || eval(e, n->args[1], &p) < 0)
		return -1;
	memset(&esc, 0, sizeof(esc));
	if (n->nargs == 3 && eval(e, n->args[2], &esc) < 0)
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
	ts = arena_strndup(e->a, s.u.s.p, tl);
	pl = pb.len;
	ps = arena_strndup(e->a, pb.buf, pl);
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
		if (!a->e[i].isnull && wval_cmp(et, &a->e[i], v) == 0)
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
	struct warr *r = arena_alloc(e->a, sizeof(*r));
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
		r->e = arena_alloc(e->a, n->nargs * sizeof(struct wval));
		for (i = 0; i < n->nargs; i++)
			if (eval(e, n->args[i], &r->e[i]) < 0)
				return -1;
		return 0;
	}
	/* sub-arrays: all must have the same dimensions */
	{
		struct wval *subs = arena_alloc(e->a, n->nargs * sizeof(*subs));
		const struct warr *first = NULL;
		size_t total = 0, k = 0;
		int d;

		for (i = 0; i < n->nargs; i++) {
			if (eval(e, n->args[i], &subs[i]) < 0)
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
		r->e = arena_alloc(e->a,
				   (total ? total : 1) * sizeof(struct wval));
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

	if (eval(e, n->args[0], &a) < 0 || eval(e, n->args[1], &b) < 0)
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
		r = arena_alloc(e->a, sizeof(*r));
		r->ndim = 1;
		r->lbs[0] = s && s->ndim == 1 ? s->lbs[0] : 1;
		r->n = (s ? s->n : 0) + 1;
		r->dims[0] = (int)r->n;
		r->e = arena_alloc(e->a, r->n * sizeof(struct wval));
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
	r = arena_alloc(e->a, sizeof(*r));
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
	r->e = arena_alloc(e->a, r->n * sizeof(struct wval));
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
		else if (wval_in(e->a, &e->w->coltypes[i], s, strlen(s),
				 &e->colcache[i], e->err) < 0)
			return -1;
		e->colstate[i] = 1;
	}
	*out = e->colcache[i];
	return 0;
}

/* One comparison of BETWEEN: x (cast to type t) op bound, 3-valued. */
static int between_cmp(struct ectx *e, const struct ss_where_node *n,
		       const struct wval *x, const struct ss_where_node *bn,
		       const struct wtype *t, int ge, int *res)
{
	struct wval xb, bv;

	if (eval(e, bn, &bv) < 0)
		return -1;
	if (x->isnull || bv.isnull) {
		*res = -1;
		return 0;
	}
	if (wval_cast(e->a, &n->args[0]->type, t, x, &xb, e->err) < 0)
		return -1;
	*res = ge ? wval_cmp(t, &xb, &bv) >= 0 : wval_cmp(t, &xb, &bv) <= 0;
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

	if (eval(e, n->args[0], &x) < 0)
		return -1;
	/* first conjunct: x >= lo (NOT: x < lo) */
	if (between_cmp(e, n, &x, lo, &n->otype, 1, &r1) < 0)
		return -1;
	if (neg ? NOT3(r1) == 1 : r1 == 0) {
		res = neg ? 1 : 0;
	} else {
		if (between_cmp(e, n, &x, hi, &n->otype2, 0, &r2) < 0)
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
		if (between_cmp(e, n, &x, hi, &n->otype2, 1, &r3) < 0)
			return -1;
		if (neg ? NOT3(r3) == 1 : r3 == 0) {
			res2 = neg ? 1 : 0;
		} else {
			if (between_cmp(e, n, &x, lo, &n->otype, 0, &r4) < 0)
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
		if ((wt_is_int(t) && a->u.i < 0) ||
		    (t == WT_NUMERIC && num_is_negative(a->u.n)))
			return wval_arith(e->a, OP_NEG, &n->type, a, NULL, NULL,
					  &n->type, out, e->err);
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

/* One node; eval() below wraps it with the cost check. */
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
			if (eval(e, n->args[i], &a) < 0)
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
		if (eval(e, n->args[0], &a) < 0)
			return -1;
		set_tv(out, NOT3(tv(&a)));
		return 0;
	case SS_WHERE_TEST:
		if (eval(e, n->args[0], &a) < 0)
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
		if (eval(e, n->args[0], &a) < 0 || eval(e, n->args[1], &b) < 0)
			return -1;
		if (a.isnull || b.isnull)
			r = a.isnull != b.isnull;
		else
			r = wval_cmp(&n->otype, &a, &b) != 0;
		set_tv(out, (n->flags & NF_NOT) ? !r : r);
		return 0;
	case SS_WHERE_IN: {
		int seen_null = 0, found = 0;
		const struct wtype *lt = &n->args[0]->type;

		if (eval(e, n->args[0], &a) < 0)
			return -1;
		for (i = 1; i < n->nargs && !found; i++) {
			const struct ss_where_node *item = n->args[i];
			struct wtype ct =
			    (item->flags & NF_INGROUP) ? n->otype : item->type;
			struct wval ac, bc;

			if (eval(e, item, &b) < 0)
				return -1;
			if (a.isnull || b.isnull) {
				seen_null = 1;
				continue;
			}
			ct.typmod = -1;
			if (wval_cast(e->a, lt, &ct, &a, &ac, e->err) < 0 ||
			    wval_cast(e->a, &item->type, &ct, &b, &bc, e->err) <
				0)
				return -1;
			if (wval_cmp(&ct, &ac, &bc) == 0)
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

		if (eval(e, n->args[0], &a) < 0 || eval(e, n->args[1], &b) < 0)
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
				       wval_cmp(&n->otype, &a, &arr->e[i]));
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
		if (eval(e, n->args[0], &a) < 0)
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
		return wval_cast(e->a, &n->args[0]->type, &n->type, &a, out,
				 e->err);
	case SS_WHERE_OP:
		if (n->opc >= NOP_LIKE && n->opc <= NOP_NILIKE)
			return eval_like(e, n, out);
		if (n->flags & (NF_ARRCAT | NF_APPEND | NF_PREPEND))
			return eval_array_concat(e, n, out);
		if (eval(e, n->args[0], &a) < 0)
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
			return wval_arith(e->a, OP_NEG, &n->args[0]->type, &a,
					  NULL, NULL, &n->type, out, e->err);
		}
		if (eval(e, n->args[1], &b) < 0)
			return -1;
		if (a.isnull || b.isnull) {
			out->isnull = 1;
			return 0;
		}
		if (is_cmp_op(n->opc)) {
			set_tv(out,
			       cmp_result(n->opc, wval_cmp(&n->otype, &a, &b)));
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

			return wval_arith(e->a, map[n->opc], &n->args[0]->type,
					  &a, &n->args[1]->type, &b, &n->type,
					  out, e->err);
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
			char *p = arena_alloc(e->a, a.u.s.len + b.u.s.len + 1);

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
			if (arena_charge(e->a,
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

			if (eval(e, n->args[0], &a) < 0)
				return -1;
			if (a.isnull) {
				out->isnull = 1;
				return 0;
			}
			p = arena_strndup(e->a, a.u.s.p, a.u.s.len);
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
				if (eval(e, n->args[i], &a) < 0) {
					ss_buf_release(&sb);
					return -1;
				}
				if (!a.isnull)
					wval_out(&n->args[i]->type, &a, &sb);
			}
			out->u.s.p = arena_strndup(e->a, sb.buf, sb.len);
			out->u.s.len = sb.len;
			ss_buf_release(&sb);
			return 0;
		}
		case FN_ARRAY_CAT:
		case FN_ARRAY_APPEND:
		case FN_ARRAY_PREPEND:
			return eval_array_concat(e, n, out);
		case FN_ARRAY_NDIMS:
			if (eval(e, n->args[0], &a) < 0)
				return -1;
			if (a.isnull || a.u.a->ndim == 0 || a.u.a->n == 0)
				out->isnull = 1;
			else
				out->u.i = a.u.a->ndim;
			return 0;
		case FN_JUSTIFY_DAYS:
		case FN_JUSTIFY_HOURS:
		case FN_JUSTIFY_INTERVAL:
			if (eval(e, n->args[0], &a) < 0)
				return -1;
			if (a.isnull) {
				out->isnull = 1;
				return 0;
			}
			return interval_justify(
			    &a.u.iv, n->opc != FN_JUSTIFY_HOURS,
			    n->opc != FN_JUSTIFY_DAYS, &out->u.iv, e->err);
		case FN_TIMEZONE:
			if (eval(e, n->args[0], &a) < 0 ||
			    eval(e, n->args[1], &b) < 0)
				return -1;
			if (a.isnull || b.isnull) {
				out->isnull = 1;
				return 0;
			}
			return wval_timezone(
			    &a, n->args[0]->type.base == WT_INTERVAL, b.u.i,
			    n->args[1]->type.base == WT_TIMESTAMP, &out->u.i,
			    e->err);
		case FN_COALESCE:
			for (i = 0; i < n->nargs; i++) {
				if (eval(e, n->args[i], &a) < 0)
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
				if (eval(e, n->args[i], &a) < 0)
					return -1;
				if (a.isnull)
					continue;
				if (!have ||
				    (n->opc == FN_GREATEST
					 ? wval_cmp(&n->type, &a, out) > 0
					 : wval_cmp(&n->type, &a, out) < 0))
					*out = a;
				have = 1;
			}
			if (!have)
				out->isnull = 1;
			return 0;
		}
		}
	case SS_WHERE_ARRAY:
		return eval_array(e, n, out);
	case SS_WHERE_SUBSCRIPT: {
		const struct warr *arr;
		int64_t ix;

		if (eval(e, n->args[0], &a) < 0 || eval(e, n->args[1], &b) < 0)
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

/* ------------------------------------------------------------------ */
/* Constant folding */

/* Every node evaluated counts one unit and whatever it allocated counts
 * its bytes, so a clause that builds ever larger values (t || t || ...)
 * stops at its budget, not when memory runs out. */
static int eval(struct ectx *e, const struct ss_where_node *n, struct wval *out)
{
	if (eval_node(e, n, out) < 0)
		return -1;
	return arena_charge(e->a, 1, e->err);
}

static struct ss_where_node *mk_constnode(struct arena *a,
					  const struct ss_where_node *like,
					  const struct wval *v)
{
	struct ss_where_node *c = where_node(a, SS_WHERE_CONST, like->loc, 0);

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
		if (wt_is_text(t->base) && !t->array &&
		    (f->array || stable_io(f->base)) &&
		    !(f->base == WT_TIME && !f->array))
			return 0;
		if (wt_is_text(f->base) && !f->array &&
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

static struct ss_where_node *fold(struct arena *a, struct ss_where_node *n,
				  struct ss_err *err);

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
	if (eval(&e, &tmp, &v) < 0)
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
	    arena_alloc(a, n->nargs * sizeof(*items));
	size_t i, k;
	int res, all_const, all_null;

	if (!(n->args[0] = fold(a, n->args[0], err)))
		return NULL;
	items[0] = n->args[0];
	if (n->flags & NF_INGROUP) {
		int group_const = 1;

		for (i = 1, k = 1; i < n->nargs; i++) {
			if (!(n->args[i]->flags & NF_INGROUP))
				continue;
			if (!(n->args[i] = fold(a, n->args[i], err)))
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
		if (!(n->args[i] = fold(a, n->args[i], err)))
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
	if (between_cmp(e, n, &x->val, bound, t, ge, res) < 0)
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

	if (!(n->args[lo] = fold(e->a, n->args[lo], e->err)))
		return -1;
	if (fold_cmp(e, n, n->args[lo], lt, 1, neg, &r1) < 0)
		return -1;
	if (neg ? r1 == 1 : r1 == 0) {
		*res = r1;
		return 1; /* decided; hi may be left unfolded */
	}
	if (!(n->args[hi] = fold(e->a, n->args[hi], e->err)))
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
	if (!(n->args[0] = fold(a, n->args[0], err)))
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
	if (!(n->args[2] = fold(a, n->args[2], err)))
		return NULL;
	return n;
}

static struct ss_where_node *fold(struct arena *a, struct ss_where_node *n,
				  struct ss_err *err)
{
	size_t i, k;
	int all_const = 1;

	if (n->kind == SS_WHERE_CONST || n->kind == SS_WHERE_COLUMN)
		return n;
	if (n->kind == SS_WHERE_AND || n->kind == SS_WHERE_OR) {
		int stop = n->kind == SS_WHERE_OR, have_null = 0;

		for (i = 0, k = 0; i < n->nargs; i++) {
			struct ss_where_node *f = fold(a, n->args[i], err);

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
			struct ss_where_node *f = fold(a, n->args[i], err);

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
		n->args[i] = fold(a, n->args[i], err);
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
		if (eval(&e, n, &v) < 0)
			return NULL;
		return mk_constnode(a, n, &v);
	}
	return n;
}

static void collect_cols(const struct ss_where_node *n, unsigned char *seen)
{
	size_t i;

	if (n->kind == SS_WHERE_COLUMN)
		seen[n->col] = 1;
	for (i = 0; i < n->nargs; i++)
		collect_cols(n->args[i], seen);
}

/* ------------------------------------------------------------------ */
/* Public API */

/* Column type names may carry modifiers ("varchar(10)"); drop them. */
static int column_type(struct arena *a, const struct ss_where_column *col,
		       struct wtype *t)
{
	char buf[128];
	const char *s = col->type ? col->type : "";
	size_t n = 0, i;

	/* built-in types may come schema-qualified */
	if (strncasecmp(s, "pg_catalog.", 11) == 0)
		s += 11;
	for (i = 0; s[i] && n < sizeof(buf) - 1; i++) {
		if (s[i] == '(') {
			while (s[i] && s[i] != ')')
				i++;
			if (!s[i])
				break;
			continue;
		}
		buf[n++] = (char)tolower((unsigned char)s[i]);
	}
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	if (strcmp(buf, "") && wtype_lookup(buf, t) == 0)
		return 0;
	if (col->is_enum && s[0]) {
		memset(t, 0, sizeof(*t));
		t->typmod = -1;
		t->base = WT_ENUM;
		if (s[0] == '_') {
			t->array = 1;
			s++;
		}
		if (strrchr(s, '.'))
			s = strrchr(s, '.') + 1;
		n = strlen(s);
		if (n > 2 && strcmp(s + n - 2, "[]") == 0) {
			t->array = 1;
			n -= 2;
		}
		t->ename = arena_strndup(a, s, n);
		if (col->enum_labels && col->n_enum_labels) {
			char **l =
			    arena_alloc(a, col->n_enum_labels * sizeof(*l));
			size_t i;

			for (i = 0; i < col->n_enum_labels; i++)
				l[i] =
				    arena_strndup(a, col->enum_labels[i],
						  strlen(col->enum_labels[i]));
			t->labels = (const char *const *)l;
			t->nlabels = col->n_enum_labels;
		}
		return 0;
	}
	return -1;
}

int ss_where_compile(const char *text, const struct ss_where_column *cols,
		     size_t ncols, const char *const *params, size_t nparams,
		     struct ss_where **out, struct ss_err *err)
{
	return ss_where_compile_limited(text, cols, ncols, params, nparams,
					NULL, out, err);
}

void ss_where_limits_default(struct ss_where_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_length = SS_WHERE_MAX_LENGTH;
	lim->max_in = SS_WHERE_MAX_IN;
	lim->max_cost = SS_WHERE_MAX_COST;
}

int ss_where_compile_limited(const char *text,
			     const struct ss_where_column *cols, size_t ncols,
			     const char *const *params, size_t nparams,
			     const struct ss_where_limits *limits,
			     struct ss_where **out, struct ss_err *err)
{
	struct ss_where_limits lim;
	struct ss_where *w;
	struct actx c;
	struct ss_where_node *root;
	struct ss_buf canon = SS_BUF_INIT;
	unsigned char *seen;
	size_t i;

	*out = NULL;
	if (limits)
		lim = *limits;
	else
		ss_where_limits_default(&lim);
	if (!text)
		text = "";
	/* Checked before anything is allocated for the text. */
	if (lim.max_length && strlen(text) > lim.max_length)
		return ss_err_set(err, SS_ERR_INPUT,
				  "where clause is too long (%zu bytes, the "
				  "limit is %zu)",
				  strlen(text), lim.max_length);
	w = ss_xcalloc(1, sizeof(*w));
	/* Type checking (which reads constants) and folding spend from
	 * the same budget as one evaluation; parsing is bounded by the
	 * text's length and not counted. */
	w->max_cost = lim.max_cost;
	w->arena.work_max = lim.max_cost;
	memset(&c, 0, sizeof(c));
	c.a = &w->arena;
	c.cols = cols;
	c.ncols = ncols;
	c.params = params;
	c.nparams = nparams;
	c.err = err;
	w->ncols = ncols;
	w->coltypes =
	    arena_alloc(&w->arena, (ncols ? ncols : 1) * sizeof(struct wtype));
	c.coltypes = w->coltypes;
	c.colok = arena_alloc(&w->arena, (ncols ? ncols : 1) * sizeof(int));
	for (i = 0; i < ncols; i++)
		c.colok[i] =
		    column_type(&w->arena, &cols[i], &w->coltypes[i]) == 0;
	if (where_parse(&w->arena, text, lim.max_in, &root, err) < 0)
		goto fail;
	w->arena.work = 0;
	root = analyze(&c, root);
	if (!root)
		goto fail;
	if (is_unknown(&root->type)) {
		root = coerce(&c, root, &T_BOOL, 0);
		if (!root)
			goto fail;
	}
	if (root->type.base != WT_BOOL || root->type.array) {
		ss_err_set(err, SS_ERR_INPUT,
			   "WHERE clause must return a boolean");
		goto fail;
	}
	where_render(root, &canon);
	w->canon = ss_buf_detach(&canon, NULL);
	root = fold(&w->arena, root, err);
	if (!root)
		goto fail;
	w->root = root;
	seen = ss_xcalloc(ncols ? ncols : 1, 1);
	collect_cols(root, seen);
	w->used = ss_xcalloc(ncols ? ncols : 1, sizeof(size_t));
	for (i = 0; i < ncols; i++)
		if (seen[i])
			w->used[w->nused++] = i;
	free(seen);
	*out = w;
	return 0;
fail:
	ss_buf_release(&canon);
	ss_where_free(w);
	return -1;
}

void ss_where_free(struct ss_where *w)
{
	if (!w)
		return;
	arena_free(&w->arena);
	free(w->canon);
	free(w->used);
	free(w);
}

int ss_where_eval(const struct ss_where *w, const char *const *values,
		  int *result, struct ss_err *err)
{
	/* Most rows need only a little scratch space: keep it on the stack
	 * (the arena moves to the heap if it needs more). */
	max_align_t stack[512];
	struct arena a;
	struct ectx e;
	struct wval v;
	int rc = 0;

	arena_init_buf(&a, stack, sizeof(stack));
	a.work_max = w->max_cost;
	memset(&e, 0, sizeof(e));
	e.a = &a;
	e.w = w;
	e.values = values;
	e.err = err;
	if (w->nused) {
		e.colcache = arena_alloc(&a, w->ncols * sizeof(struct wval));
		e.colstate = arena_alloc(&a, w->ncols);
	}
	if (eval(&e, w->root, &v) < 0)
		rc = -1;
	else
		*result = tv(&v);
	arena_free(&a);
	return rc;
}

void ss_where_canonical(const struct ss_where *w, struct ss_buf *out)
{
	ss_buf_adds(out, w->canon);
}

const char *ss_where_canonical_text(const struct ss_where *w)
{
	return w->canon;
}

size_t ss_where_columns_used(const struct ss_where *w, const size_t **idx)
{
	*idx = w->used;
	return w->nused;
}

const struct ss_where_node *ss_where_root(const struct ss_where *w)
{
	return w->root;
}

enum ss_where_kind ss_where_node_kind(const struct ss_where_node *n)
{
	return n->kind;
}

const char *ss_where_node_op(const struct ss_where_node *n)
{
	return n->op ? n->op : "";
}

size_t ss_where_node_nargs(const struct ss_where_node *n)
{
	return n->nargs;
}

const struct ss_where_node *ss_where_node_arg(const struct ss_where_node *n,
					      size_t i)
{
	return i < n->nargs ? n->args[i] : NULL;
}

const char *ss_where_node_type(const struct ss_where_node *n)
{
	static const char *const names[] = {
	    [WT_UNKNOWN] = "unknown",
	    [WT_NULL] = "unknown",
	    [WT_BOOL] = "bool",
	    [WT_INT2] = "int2",
	    [WT_INT4] = "int4",
	    [WT_INT8] = "int8",
	    [WT_NUMERIC] = "numeric",
	    [WT_FLOAT4] = "float4",
	    [WT_FLOAT8] = "float8",
	    [WT_TEXT] = "text",
	    [WT_VARCHAR] = "varchar",
	    [WT_BPCHAR] = "bpchar",
	    [WT_UUID] = "uuid",
	    [WT_DATE] = "date",
	    [WT_TIME] = "time",
	    [WT_TIMESTAMP] = "timestamp",
	    [WT_TIMESTAMPTZ] = "timestamptz",
	    [WT_INTERVAL] = "interval",
	    [WT_ENUM] = "enum",
	};
	static const char *const anames[] = {
	    [WT_UNKNOWN] = "unknown[]",
	    [WT_NULL] = "unknown[]",
	    [WT_BOOL] = "bool[]",
	    [WT_INT2] = "int2[]",
	    [WT_INT4] = "int4[]",
	    [WT_INT8] = "int8[]",
	    [WT_NUMERIC] = "numeric[]",
	    [WT_FLOAT4] = "float4[]",
	    [WT_FLOAT8] = "float8[]",
	    [WT_TEXT] = "text[]",
	    [WT_VARCHAR] = "varchar[]",
	    [WT_BPCHAR] = "bpchar[]",
	    [WT_UUID] = "uuid[]",
	    [WT_DATE] = "date[]",
	    [WT_TIME] = "time[]",
	    [WT_TIMESTAMP] = "timestamp[]",
	    [WT_TIMESTAMPTZ] = "timestamptz[]",
	    [WT_INTERVAL] = "interval[]",
	    [WT_ENUM] = "enum[]",
	};

	if (n->type.base == WT_ENUM && !n->type.array)
		return n->type.ename;
	return n->type.array ? anames[n->type.base] : names[n->type.base];
}

long ss_where_node_column(const struct ss_where_node *n)
{
	return n->kind == SS_WHERE_COLUMN ? n->col : -1;
}

int ss_where_node_implicit(const struct ss_where_node *n)
{
	return n->kind == SS_WHERE_CAST && (n->flags & NF_IMPLICIT) != 0;
}

int ss_where_node_const(const struct ss_where_node *n, struct ss_buf *out)
{
	if (n->kind != SS_WHERE_CONST)
		return -1;
	if (n->val.isnull)
		return 1;
	wval_out(&n->type, &n->val, out);
	return 0;
}
