/*
 * where.c — lib/where's public entry points: compile (parse, check,
 * render the canonical text, fold), evaluate a row, and read the tree.
 * The stages live in where_lex.c, where_parse.c, where_check.c,
 * where_render.c, where_fold.c and where_eval.c; the types in
 * where_type.c and its families.
 */
#include <ctype.h>

#include "where_int.h"

static const struct wtype T_BOOL = {WT_BOOL, 0, -1, NULL, NULL, 0};

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
	if (strcmp(buf, "") && ss_w_type_lookup(buf, t) == 0)
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
		t->ename = ss_w_arena_strndup(a, s, n);
		if (col->enum_labels && col->n_enum_labels) {
			char **l = ss_w_arena_alloc(a, col->n_enum_labels *
							   sizeof(*l));

			for (i = 0; i < col->n_enum_labels; i++)
				l[i] = ss_w_arena_strndup(
				    a, col->enum_labels[i],
				    strlen(col->enum_labels[i]));
			t->labels = (const char *const *)l;
			t->nlabels = col->n_enum_labels;
		}
		return 0;
	}
	return -1;
}

void ss_w_actx_init(struct actx *c, struct arena *a,
		    const struct ss_where_column *cols, size_t ncols,
		    const char *const *params, size_t nparams,
		    struct ss_err *err)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->a = a;
	c->cols = cols;
	c->ncols = ncols;
	c->params = params;
	c->nparams = nparams;
	c->err = err;
	c->coltypes =
	    ss_w_arena_alloc(a, (ncols ? ncols : 1) * sizeof(struct wtype));
	c->colok = ss_w_arena_alloc(a, (ncols ? ncols : 1) * sizeof(int));
	for (i = 0; i < ncols; i++)
		c->colok[i] = column_type(a, &cols[i], &c->coltypes[i]) == 0;
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

void ss_where_limits_stored(struct ss_where_limits *lim)
{
	ss_where_limits_default(lim);
	lim->max_length = 0;
	lim->max_in = 0;
}

int ss_w_limits_check(const char *what, const char *text,
		      const struct ss_where_limits *limits,
		      struct ss_where_limits *lim, struct ss_err *err)
{
	if (limits)
		*lim = *limits;
	else
		ss_where_limits_default(lim);
	if (lim->max_length && strlen(text) > lim->max_length)
		return ss_err_set(
		    err, SS_ERR_INPUT,
		    "%s is too long (%zu bytes, the limit is %zu)", what,
		    strlen(text), lim->max_length);
	return 0;
}

int ss_where_compile_stored(const char *text,
			    const struct ss_where_column *cols, size_t ncols,
			    const char *const *params, size_t nparams,
			    struct ss_where **out, struct ss_err *err)
{
	struct ss_where_limits lim;

	ss_where_limits_stored(&lim);
	return ss_where_compile_limited(text, cols, ncols, params, nparams,
					&lim, out, err);
}

int ss_where_compile_limited(const char *text,
			     const struct ss_where_column *cols, size_t ncols,
			     const char *const *params, size_t nparams,
			     const struct ss_where_limits *limits,
			     struct ss_where **out, struct ss_err *err)
{
	struct ss_where_opts o;

	memset(&o, 0, sizeof(o));
	o.limits = limits;
	return ss_where_compile_opts(text, cols, ncols, params, nparams, &o,
				     out, err);
}

int ss_where_compile_opts(const char *text, const struct ss_where_column *cols,
			  size_t ncols, const char *const *params,
			  size_t nparams, const struct ss_where_opts *opts,
			  struct ss_where **out, struct ss_err *err)
{
	static const struct ss_where_opts none;
	const struct ss_where_limits *limits;
	enum subq subq;
	struct ss_where_limits lim;
	struct ss_where *w;
	struct actx c;
	struct ss_where_node *root;
	struct ss_buf canon = SS_BUF_INIT;
	unsigned char *seen;
	size_t i;

	*out = NULL;
	if (!opts)
		opts = &none;
	limits = opts->limits;
	subq = opts->tables	       ? SUBQ_PARSE
	       : opts->no_subquery_msg ? SUBQ_MESSAGE
				       : SUBQ_UNSUPPORTED;
	if (!text)
		text = "";
	/* Checked before anything is allocated for the text. */
	if (ss_w_limits_check("where clause", text, limits, &lim, err) < 0)
		return -1;
	w = ss_xcalloc(1, sizeof(*w));
	/* Type checking (which reads constants) and folding spend from
	 * the same budget as one evaluation; parsing is bounded by the
	 * text's length and not counted. */
	w->max_cost = lim.max_cost;
	w->arena.work_max = lim.max_cost;
	ss_w_actx_init(&c, &w->arena, cols, ncols, params, nparams, err);
	c.tables = opts->tables;
	c.deps_of = w;
	c.err_field = opts->err_field;
	w->ncols = ncols;
	w->coltypes = c.coltypes;
	if (ss_w_parse(&w->arena, text, lim.max_in, subq, opts->no_subquery_msg,
		       &root, err) < 0)
		goto fail;
	w->arena.work = 0;
	root = ss_w_analyze(&c, root);
	if (!root)
		goto fail;
	if (is_unknown(&root->type)) {
		root = ss_w_coerce(&c, root, &T_BOOL, 0);
		if (!root)
			goto fail;
	}
	if (root->type.base != WT_BOOL || root->type.array) {
		ss_err_set(err, SS_ERR_INPUT,
			   "WHERE clause must return a boolean");
		goto fail;
	}
	ss_w_render(root, &canon);
	w->canon = ss_buf_detach(&canon, NULL);
	root = ss_w_fold(&w->arena, root, err);
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
	ss_w_arena_free(&w->arena);
	free(w->deps);
	free(w->canon);
	free(w->used);
	free(w);
}

int ss_where_eval(const struct ss_where *w, const char *const *values,
		  int *result, struct ss_err *err)
{
	return ss_where_eval_member(w, values, NULL, NULL, result, err);
}

int ss_where_eval_member(const struct ss_where *w, const char *const *values,
			 ss_where_member_fn member, void *ctx, int *result,
			 struct ss_err *err)
{
	return ss_w_eval_row(w, w->root, values, member, ctx, result, err);
}

int ss_w_eval_row(const struct ss_where *w, const struct ss_where_node *n,
		  const char *const *values, ss_where_member_fn member,
		  void *ctx, int *result, struct ss_err *err)
{
	/* Most rows need only a little scratch space: keep it on the stack
	 * (the arena moves to the heap if it needs more). */
	max_align_t stack[512];
	struct arena a;
	struct ectx e;
	struct wval v;
	int rc = 0;

	ss_w_arena_init_buf(&a, stack, sizeof(stack));
	a.work_max = w->max_cost;
	memset(&e, 0, sizeof(e));
	e.a = &a;
	e.w = w;
	e.values = values;
	e.err = err;
	e.member = member;
	e.member_ctx = ctx;
	if (w->nused) {
		e.colcache =
		    ss_w_arena_alloc(&a, w->ncols * sizeof(struct wval));
		e.colstate = ss_w_arena_alloc(&a, w->ncols);
	}
	if (ss_w_eval(&e, n, &v) < 0)
		rc = -1;
	else
		*result = tv(&v);
	ss_w_arena_free(&a);
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

size_t ss_where_ndeps(const struct ss_where *w)
{
	return w->ndeps;
}

const struct ss_where_dep *ss_where_dep_at(const struct ss_where *w, size_t i)
{
	return i < w->ndeps ? &w->deps[i].pub : NULL;
}

long ss_where_node_dep(const struct ss_where_node *n)
{
	return n->kind == SS_WHERE_SUBLINK ? (long)n->sub->dep : -1;
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
	ss_w_val_out(&n->type, &n->val, out);
	return 0;
}
