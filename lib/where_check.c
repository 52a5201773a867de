/*
 * where_check.c — lib/where's type checker: PostgreSQL's operator and
 * unknown-literal resolution for the supported subset. It fills in each
 * node's type, inserts implicit casts, and rejects what PostgreSQL would,
 * with its messages.
 */
#include "where_int.h"

static const struct wtype T_BOOL = {WT_BOOL, 0, -1, NULL, NULL, 0};
static const struct wtype T_TEXT = {WT_TEXT, 0, -1, NULL, NULL, 0};
static const struct wtype T_INT4 = {WT_INT4, 0, -1, NULL, NULL, 0};

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
		ss_w_type_sqlname(l, &a);
	ss_w_type_sqlname(r, &b);
	aerr(c, loc, "operator does not exist: %s%s%s %s", a.buf, l ? " " : "",
	     op, b.buf);
	ss_buf_release(&a);
	ss_buf_release(&b);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Type checking */

/*
 * Coerce n to type t. Unknown literals and parameters take the type
 * directly (their text is read as a value of t, as PostgreSQL does);
 * typed expressions get a cast node, implicit unless `explicit`.
 */
struct ss_where_node *ss_w_coerce(struct actx *c, struct ss_where_node *n,
				  const struct wtype *t, int explicit)
{
	struct ss_where_node *cn;
	int kind;

	if (ss_w_type_eq(&n->type, t) &&
	    (t->typmod < 0 || t->typmod == n->type.typmod))
		return n;
	if (n->kind == SS_WHERE_CONST && is_unknown(&n->type)) {
		n->type = *t;
		if (!n->val.isnull &&
		    ss_w_val_in(c->a, t, n->val.u.s.p, n->val.u.s.len, &n->val,
				c->err) < 0)
			return NULL;
		return n;
	}
	if (n->kind == SS_WHERE_ARRAY && n->nargs == 0 && t->array) {
		n->type = *t;
		return n;
	}
	kind = ss_w_cast_kind(&n->type, t);
	if (kind == 0 || (kind == 1 && !explicit)) {
		struct ss_buf a = SS_BUF_INIT, b = SS_BUF_INIT;

		ss_w_type_sqlname(&n->type, &a);
		ss_w_type_sqlname(t, &b);
		aerr(c, n->loc, "cannot cast type %s to %s", a.buf, b.buf);
		ss_buf_release(&a);
		ss_buf_release(&b);
		return NULL;
	}
	cn = ss_w_node(c->a, SS_WHERE_CAST, n->loc, 1);
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
		return ss_w_coerce(c, n, &T_TEXT, 0);
	cn = ss_w_node(c->a, SS_WHERE_CAST, n->loc, 1);
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
	if (ss_w_type_eq(l, r))
		return 0;
	if (l->array)
		return -1; /* anyarray operators need one element type */
	if (ss_w_is_numeric(l->base) && ss_w_is_numeric(r->base)) {
		enum wt w = l->base > r->base ? l->base : r->base;

		/* Operators: float4 with anything else is float8; a common
		 * type (select_common_type) is just the wider one. */
		if (w == WT_FLOAT4 && !sel)
			w = WT_FLOAT8;
		out->base = w;
		return 0;
	}
	if (ss_w_is_text(l->base) && ss_w_is_text(r->base)) {
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
	n = ss_w_analyze(c, n);
	if (!n)
		return NULL;
	if (is_unknown(&n->type))
		return ss_w_coerce(c, n, &T_BOOL, 0);
	if (n->type.base != WT_BOOL || n->type.array) {
		struct ss_buf b = SS_BUF_INIT;

		ss_w_type_sqlname(&n->type, &b);
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
	*l = ss_w_coerce(c, *l, ot, 0);
	if (!*l)
		return -1;
	*r = ss_w_coerce(c, *r, ot, 0);
	if (!*r)
		return -1;
	return 0;
}

static struct ss_where_node *analyze_op(struct actx *c, struct ss_where_node *n)
{
	size_t i;

	for (i = 0; i < n->nargs; i++) {
		n->args[i] = ss_w_analyze(c, n->args[i]);
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
			if (!is_unknown(&a->type) && !ss_w_is_numeric(b)) {
				op_missing(c, n->loc, n->op, NULL, &a->type);
				return NULL;
			}
			n->args[0] = ss_w_coerce(c, a, &T_FLOAT8, 0);
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
		if (n->opc == NOP_BNOT ? !ss_w_is_int(b)
				       : !ss_w_is_numeric(b)) {
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
		if (ss_w_arith_resolve(OP_NEG, &a->type, &a->type, &lc, &rc,
				       &res) < 0 ||
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

			if (ss_w_arith_resolve(op, k, k, &lc, &rc, &res) == 0) {
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

				ss_w_type_sqlname(k, &kb);
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
		if (ss_w_arith_resolve(op, &lt, &rt, &lc, &rc, &res) < 0) {
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
		n->args[0] = ss_w_coerce(c, n->args[0], &lc, 0);
		if (!n->args[0])
			return NULL;
		n->args[1] = ss_w_coerce(c, n->args[1], &rc, 0);
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
		    !ss_w_is_int(ot.base)) {
			op_missing(c, n->loc, n->op, &lt, &rt);
			return NULL;
		}
		n->args[0] = ss_w_coerce(c, n->args[0], &ot, 0);
		if (!n->args[0])
			return NULL;
		n->args[1] = ss_w_coerce(c, n->args[1], &ot, 0);
		if (!n->args[1])
			return NULL;
		n->type = ot;
		return n;
	}
	case NOP_CONCAT: {
		struct wtype lt = n->args[0]->type, rt = n->args[1]->type;
		int ltext =
		    is_unknown(&lt) || (ss_w_is_text(lt.base) && !lt.array);
		int rtext =
		    is_unknown(&rt) || (ss_w_is_text(rt.base) && !rt.array);

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
				n->args[0] = ss_w_coerce(c, n->args[0], &at, 0);
				if (n->args[0])
					n->args[1] =
					    ss_w_coerce(c, n->args[1], &at, 0);
			} else if (rt.array && is_unknown(&lt)) {
				n->flags |= NF_ARRCAT;
				n->args[0] = ss_w_coerce(c, n->args[0], &at, 0);
				if (n->args[0])
					n->args[1] =
					    ss_w_coerce(c, n->args[1], &at, 0);
			} else if (lt.array) {
				n->flags |= NF_APPEND;
				n->args[0] = ss_w_coerce(c, n->args[0], &at, 0);
				if (n->args[0])
					n->args[1] =
					    ss_w_coerce(c, n->args[1], &et, 0);
			} else {
				n->flags |= NF_PREPEND;
				n->args[0] = ss_w_coerce(c, n->args[0], &et, 0);
				if (n->args[0])
					n->args[1] =
					    ss_w_coerce(c, n->args[1], &at, 0);
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
		n->args[0] = ss_w_coerce(c, n->args[0], &ot, 0);
		if (!n->args[0])
			return NULL;
		n->args[1] = ss_w_coerce(c, n->args[1], &ot, 0);
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

		if (!is_unknown(&lt) && !(ss_w_is_text(lt.base) && !lt.array)) {
			op_missing(c, n->loc, n->op, &lt, &n->args[1]->type);
			return NULL;
		}
		if (is_unknown(&lt)) {
			n->args[0] = ss_w_coerce(c, n->args[0], &T_TEXT, 0);
			if (!n->args[0])
				return NULL;
		}
		for (i = 1; i < n->nargs; i++) {
			struct wtype t = n->args[i]->type;

			if (!is_unknown(&t) &&
			    !(ss_w_is_text(t.base) && !t.array)) {
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

			ss_w_type_sqlname(&t, &b);
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

		n->args[i] =
		    ss_w_coerce(c, n->args[i], is_arr_pos ? &at : &et, 0);
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

			ss_w_type_sqlname(&t, &a);
			ss_w_type_sqlname(&args[i]->type, &b);
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

/* ------------------------------------------------------------------ */
/* Subqueries */

/* A type as Electric names it in messages: "int4", "int4[]", "enum mood",
 * "row of (int4, text)". */
static void readable(const struct wtype *t, struct ss_buf *out)
{
	struct wtype b = *t;

	b.typmod = -1;
	b.array = 0;
	if (b.base == WT_ENUM)
		ss_buf_adds(out, "enum ");
	ss_w_type_canon(&b, out);
	if (t->array)
		ss_buf_adds(out, "[]");
}

static void readable_list(const struct wtype *t, size_t n, int row,
			  struct ss_buf *out)
{
	size_t i;

	if (!row) {
		readable(&t[0], out);
		return;
	}
	ss_buf_adds(out, "row of (");
	for (i = 0; i < n; i++) {
		if (i)
			ss_buf_adds(out, ", ");
		readable(&t[i], out);
	}
	ss_buf_addc(out, ')');
}

/* Electric's field for an error that is not the where clause's. */
static void set_field(struct actx *c, const char *field)
{
	if (c->err_field)
		*c->err_field = field;
}

/* Resolve the subquery's table and select list, and check its where
 * against that table; render its canonical SELECT. */
static int analyze_subquery(struct actx *c, struct wsub *s)
{
	const struct ss_where_column *icols = NULL;
	size_t nicols = 0, i, k;
	struct actx ic;
	struct ss_buf b = SS_BUF_INIT, missing = SS_BUF_INIT;
	int rc;

	rc = c->tables->describe(c->tables->ctx, s->schema, s->table, &icols,
				 &nicols, c->err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		set_field(c, "table");
		return ss_err_set(c->err, SS_ERR_INPUT,
				  "Table \"%s\".\"%s\" does not exist. If the "
				  "table name contains capitals or special "
				  "characters you must quote it.",
				  s->schema, s->table);
	}
	ss_w_actx_init(&ic, c->a, icols, nicols, c->params, c->nparams, c->err);
	ic.tables = c->tables;
	ic.err_field = c->err_field;
	s->coltypes = ss_w_arena_alloc(c->a, (s->ncols ? s->ncols : 1) *
						 sizeof(*s->coltypes));
	for (k = 0; k < s->ncols; k++) {
		for (i = 0; i < nicols; i++)
			if (!strcmp(icols[i].name, s->cols[k]))
				break;
		if (i == nicols) {
			ss_buf_adds(&missing, missing.len ? ", " : "");
			ss_buf_adds(&missing, s->cols[k]);
			continue;
		}
		if (!ic.colok[i]) {
			ss_buf_release(&missing);
			return aerr(c, s->loc, "unsupported type %s",
				    icols[i].type);
		}
		s->coltypes[k] = ic.coltypes[i];
	}
	if (missing.len) {
		set_field(c, "columns");
		ss_err_set(c->err, SS_ERR_INPUT,
			   "The following columns are not found on the "
			   "table: %s",
			   missing.buf);
		ss_buf_release(&missing);
		return -1;
	}
	if (s->where) {
		s->where = ss_w_analyze(&ic, s->where);
		if (s->where && is_unknown(&s->where->type))
			s->where = ss_w_coerce(&ic, s->where, &T_BOOL, 0);
		if (!s->where)
			return -1;
		if (s->where->type.base != WT_BOOL || s->where->type.array)
			return ss_err_set(c->err, SS_ERR_INPUT,
					  "WHERE clause must return a "
					  "boolean");
	}
	ss_buf_adds(&b, "SELECT ");
	for (k = 0; k < s->ncols; k++) {
		if (k)
			ss_buf_adds(&b, ", ");
		ss_w_render_ident(s->cols[k], &b);
	}
	ss_buf_adds(&b, " FROM ");
	ss_w_render_ident(s->schema, &b);
	ss_buf_addc(&b, '.');
	ss_w_render_ident(s->table, &b);
	if (s->where) {
		ss_buf_adds(&b, " WHERE ");
		ss_w_render(s->where, &b);
	}
	s->select = ss_w_arena_strndup(c->a, b.buf, b.len);
	ss_buf_release(&b);
	return 0;
}

/* Record the subquery as one of the clause's dependencies (once per
 * canonical SELECT). */
static void add_dep(struct actx *c, struct wsub *s)
{
	struct ss_where *w = c->deps_of;
	struct wdep *d;
	size_t i;

	for (i = 0; i < w->ndeps; i++)
		if (!strcmp(w->deps[i].pub.select, s->select)) {
			s->dep = i;
			return;
		}
	w->deps = ss_xrealloc(w->deps, (w->ndeps + 1) * sizeof(*w->deps));
	d = &w->deps[w->ndeps];
	memset(d, 0, sizeof(*d));
	d->pub.schema = s->schema;
	d->pub.table = s->table;
	d->pub.ncols = s->ncols;
	d->pub.cols = s->cols;
	d->types = ss_w_arena_alloc(c->a, (s->ncols ? s->ncols : 1) *
					      sizeof(*d->types));
	for (i = 0; i < s->ncols; i++) {
		struct ss_buf t = SS_BUF_INIT;
		struct wtype b = s->coltypes[i];

		b.typmod = -1;
		ss_w_type_canon(&b, &t);
		d->types[i] = ss_w_arena_strndup(c->a, t.buf, t.len);
		ss_buf_release(&t);
	}
	d->pub.types = d->types;
	if (s->where) {
		struct ss_buf t = SS_BUF_INIT;

		ss_w_render(s->where, &t);
		d->pub.where = ss_w_arena_strndup(c->a, t.buf, t.len);
		ss_buf_release(&t);
	}
	d->pub.select = s->select;
	s->dep = w->ndeps++;
}

/* `lhs [NOT] IN (SELECT ...)`: the subquery first (Electric builds the
 * inner shape before it checks the outer clause), then the left side. */
static struct ss_where_node *analyze_sublink(struct actx *c,
					     struct ss_where_node *n)
{
	struct wsub *s = n->sub;
	struct wtype *lt;
	size_t i;
	int row = (n->flags & NF_ROW) != 0, same;

	if (!c->tables) { /* a tree built without the parser's mode */
		aerr(c, n->loc, "subquery is not supported in this context");
		return NULL;
	}
	if (analyze_subquery(c, s) < 0)
		return NULL;
	for (i = 0; i < n->nargs; i++)
		if (n->args[i]->kind != SS_WHERE_COLUMN) {
			aerr(c, n->loc,
			     "currently, left side of `IN (SELECT ...)` can "
			     "only be a column reference or a list of column "
			     "references");
			return NULL;
		}
	lt = ss_w_arena_alloc(c->a, n->nargs * sizeof(*lt));
	for (i = 0; i < n->nargs; i++) {
		n->args[i] = ss_w_analyze(c, n->args[i]);
		if (!n->args[i])
			return NULL;
		lt[i] = n->args[i]->type;
	}
	same = n->nargs == s->ncols && row == (s->ncols > 1);
	for (i = 0; same && i < n->nargs; i++)
		same = ss_w_type_eq(&lt[i], &s->coltypes[i]);
	if (!same) {
		struct ss_buf l = SS_BUF_INIT, r = SS_BUF_INIT;

		readable_list(lt, n->nargs, row, &l);
		readable_list(s->coltypes, s->ncols, s->ncols > 1, &r);
		aerr(c, n->loc,
		     "left side of `IN (SELECT ...)` has type %s but "
		     "subquery returns %s[]",
		     l.buf, r.buf);
		ss_buf_release(&l);
		ss_buf_release(&r);
		return NULL;
	}
	if (c->deps_of)
		add_dep(c, s);
	n->type = T_BOOL;
	return n;
}

/* Constants are read here (1E130000 is 130001 digits from 8 bytes of
 * text): the budget is checked after every node. */
struct ss_where_node *ss_w_analyze(struct actx *c, struct ss_where_node *n)
{
	n = analyze_node(c, n);
	if (n && ss_w_arena_charge(c->a, 1, c->err) < 0)
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
			SS_FALLTHROUGH;
		case LIT_NUM:
			n->type.base = WT_NUMERIC;
			if (ss_w_val_in(c->a, &n->type, n->text, n->textlen,
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
			n->args[0] = ss_w_analyze(c, n->args[0]);
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
			n->args[i] = ss_w_analyze(c, n->args[i]);
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
			n->args[i] = ss_w_analyze(c, n->args[i]);
			if (!n->args[i])
				return NULL;
			if (i > 0 && !has_column(n->args[i]))
				nconst++;
		}
		n->flags &= ~NF_INGROUP;
		if (nconst > 1) {
			size_t k = 1;
			struct ss_where_node lcopy = *n->args[0];

			group = ss_w_arena_alloc(c->a,
						 (nconst + 1) * sizeof(*group));
			group[0] = n->args[0];
			for (i = 1; i < n->nargs; i++)
				if (!has_column(n->args[i]))
					group[k++] = n->args[i];
			if (common_type(c, group, k, "IN", &ct) < 0)
				return NULL;
			for (i = 1; i < n->nargs; i++) {
				if (has_column(n->args[i]))
					continue;
				n->args[i] = ss_w_coerce(c, n->args[i], &ct, 0);
				if (!n->args[i])
					return NULL;
				n->args[i]->flags |= NF_INGROUP;
			}
			/* The array's elements are then compared with the
			 * left side through the operator for (lhs, ct). */
			if (is_unknown(&lcopy.type)) {
				if (!ss_w_coerce(c, &lcopy, &ct, 0))
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
			n->args[i] = ss_w_analyze(c, n->args[i]);
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
			r = ss_w_coerce(c, r, &at, 0);
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
		l = ss_w_coerce(c, l, &ct, 0);
		if (!l)
			return NULL;
		ct.array = 1;
		r = ss_w_coerce(c, r, &ct, 0);
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
			n->args[i] = ss_w_analyze(c, n->args[i]);
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
		a = ss_w_analyze(c, a);
		if (!a)
			return NULL;
		if (a->kind == SS_WHERE_CONST && is_unknown(&a->type)) {
			/* 'text'::type reads the literal as the type */
			a = ss_w_coerce(c, a, &n->type, 1);
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
		if (!ss_w_cast_kind(&a->type, &n->type)) {
			struct ss_buf x = SS_BUF_INIT, y = SS_BUF_INIT;

			ss_w_type_sqlname(&a->type, &x);
			ss_w_type_sqlname(&n->type, &y);
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
			n->args[i] = ss_w_analyze(c, n->args[i]);
			if (!n->args[i])
				return NULL;
		}
		switch (n->opc) {
		case FN_LOWER:
		case FN_UPPER: {
			struct wtype t = n->nargs ? n->args[0]->type : T_TEXT;

			if (n->nargs != 1 ||
			    !(is_unknown(&t) ||
			      (ss_w_is_text(t.base) && !t.array))) {
				struct ss_buf b = SS_BUF_INIT;

				for (i = 0; i < n->nargs; i++) {
					if (i)
						ss_buf_adds(&b, ", ");
					ss_w_type_sqlname(&n->args[i]->type,
							  &b);
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
			n->args[0] = ss_w_coerce(c, n->args[0], &T_IV, 0);
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
				z = ss_w_coerce(c, z, &T_TEXT, 0);
			else if (!z->type.array && ss_w_is_text(z->type.base))
				z = to_text(c, z);
			else if (z->type.array || z->type.base != WT_INTERVAL) {
				struct ss_buf b = SS_BUF_INIT;

				ss_w_type_sqlname(&z->type, &b);
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
				v = ss_w_coerce(c, v, &T_TSTZ, 0);
			else if (vb != WT_TIMESTAMP && vb != WT_TIMESTAMPTZ) {
				struct ss_buf b = SS_BUF_INIT;

				ss_w_type_sqlname(&v->type, &b);
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
					n->args[i] = ss_w_coerce(c, n->args[i],
								 &T_TEXT, 0);
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
				n->args[i] = ss_w_coerce(c, n->args[i], &ct, 0);
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
			n->args[i] = ss_w_analyze(c, n->args[i]);
			if (!n->args[i])
				return NULL;
		}
		if (common_type(c, n->args, n->nargs, "ARRAY", &ct) < 0)
			return NULL;
		for (i = 0; i < n->nargs; i++) {
			n->args[i] = ss_w_coerce(c, n->args[i], &ct, 0);
			if (!n->args[i])
				return NULL;
		}
		n->otype = ct; /* element (or sub-array) type */
		n->type = ct;
		n->type.array = 1;
		return n;
	}
	case SS_WHERE_SUBLINK:
		return analyze_sublink(c, n);
	case SS_WHERE_SUBSCRIPT: {
		struct ss_where_node *b = ss_w_analyze(c, n->args[0]);
		struct ss_where_node *ix;

		if (!b)
			return NULL;
		if (!b->type.array) {
			struct ss_buf x = SS_BUF_INIT;

			ss_w_type_sqlname(&b->type, &x);
			aerr(c, n->loc,
			     "cannot subscript type %s because it does not "
			     "support subscripting",
			     x.buf);
			ss_buf_release(&x);
			return NULL;
		}
		ix = ss_w_analyze(c, n->args[1]);
		if (!ix)
			return NULL;
		if (!is_unknown(&ix->type) &&
		    !(ss_w_is_int(ix->type.base) && !ix->type.array)) {
			aerr(c, ix->loc,
			     "array subscript must have type integer");
			return NULL;
		}
		if (ix->type.base == WT_INT8 || ix->type.base == WT_INT2) {
			struct ss_where_node *cn =
			    ss_w_node(c->a, SS_WHERE_CAST, ix->loc, 1);

			cn->args[0] = ix;
			cn->type = T_INT4;
			cn->flags = NF_IMPLICIT;
			cn->analyzed = 1;
			ix = cn;
		} else {
			ix = ss_w_coerce(c, ix, &T_INT4, 0);
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
