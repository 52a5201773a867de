/*
 * where_parse.c — lib/where's parser: recursive descent over where_lex.c's
 * tokens with PostgreSQL's operator precedence for the supported subset.
 * Things outside the subset are recognised well enough to be rejected with
 * a clear "... is not supported in this context" message.
 */
#include "where_lex.h"

/* ------------------------------------------------------------------ */
/* Parser helpers */

static struct tok *peek(struct parser *ps)
{
	return &ps->toks[ps->pos];
}

static struct tok *peekn(struct parser *ps, size_t n)
{
	size_t i = ps->pos + n;

	return &ps->toks[i < ps->ntok ? i : ps->ntok - 1];
}

static struct tok *next(struct parser *ps)
{
	struct tok *t = &ps->toks[ps->pos];

	if (t->t != TK_EOF)
		ps->pos++;
	return t;
}

static int is_kw(const struct tok *t, const char *kw)
{
	return t->t == TK_IDENT && strcmp(t->val, kw) == 0;
}

static int accept_kw(struct parser *ps, const char *kw)
{
	if (is_kw(peek(ps), kw)) {
		next(ps);
		return 1;
	}
	return 0;
}

static int is_op(const struct tok *t, const char *op)
{
	return t->t == TK_OP && strcmp(t->val, op) == 0;
}

static int syntax_error(struct parser *ps, const struct tok *t)
{
	if (t->t == TK_EOF)
		return ss_err_set(
		    ps->err, SS_ERR_INPUT,
		    "At location %d: syntax error at end of input",
		    PARSE_LOC(t->loc));
	return ss_err_set(ps->err, SS_ERR_INPUT,
			  "At location %d: syntax error at or near \"%.*s\"",
			  PARSE_LOC(t->loc), (int)t->srclen, ps->src + t->loc);
}

static int unsupported(struct parser *ps, int loc, const char *what)
{
	return ss_err_set(ps->err, SS_ERR_INPUT,
			  "At location %d: %s is not supported in this context",
			  loc, what);
}

static int expect(struct parser *ps, enum tk t)
{
	if (peek(ps)->t != t)
		return syntax_error(ps, peek(ps));
	next(ps);
	return 0;
}

struct ss_where_node *ss_w_node(struct arena *a, enum ss_where_kind kind,
				int loc, size_t nargs)
{
	struct ss_where_node *n = ss_w_arena_alloc(a, sizeof(*n));

	n->kind = kind;
	n->loc = loc;
	n->op = "";
	n->col = -1;
	n->type.typmod = -1;
	n->otype.typmod = -1;
	n->nargs = nargs;
	n->argcap = nargs;
	if (nargs)
		n->args = ss_w_arena_alloc(a, nargs * sizeof(*n->args));
	return n;
}

static struct ss_where_node *mk2(struct parser *ps, enum ss_where_kind kind,
				 int loc, struct ss_where_node *l,
				 struct ss_where_node *r)
{
	struct ss_where_node *n = ss_w_node(ps->a, kind, loc, r ? 2 : 1);

	n->args[0] = l;
	if (r)
		n->args[1] = r;
	return n;
}

/* Append to a node's argument list. The array doubles when full: copying
 * it for every item made a 9000-item IN list cost 320 MB of arena (the
 * arena frees nothing until the clause goes) and quadratic time. */
static void add_arg(struct parser *ps, struct ss_where_node *n,
		    struct ss_where_node *arg)
{
	if (n->nargs == n->argcap) {
		size_t cap = n->argcap < 4 ? 8 : 2 * n->argcap;
		struct ss_where_node **na =
		    ss_w_arena_alloc(ps->a, cap * sizeof(*na));

		if (n->nargs)
			memcpy(na, n->args, n->nargs * sizeof(*na));
		n->args = na;
		n->argcap = cap;
	}
	n->args[n->nargs++] = arg;
}

static const struct {
	const char *tok;
	int opc;
	const char *name;
} binops[] = {
    {"=", NOP_EQ, "="},		  {"<>", NOP_NE, "<>"},
    {"<", NOP_LT, "<"},		  {"<=", NOP_LE, "<="},
    {">", NOP_GT, ">"},		  {">=", NOP_GE, ">="},
    {"+", NOP_ADD, "+"},	  {"-", NOP_SUB, "-"},
    {"*", NOP_MUL, "*"},	  {"/", NOP_DIV, "/"},
    {"%", NOP_MOD, "%"},	  {"^", NOP_POW, "^"},
    {"&", NOP_BAND, "&"},	  {"|", NOP_BOR, "|"},
    {"#", NOP_BXOR, "#"},	  {"||", NOP_CONCAT, "||"},
    {"@>", NOP_CONTAINS, "@>"},	  {"<@", NOP_CONTAINED, "<@"},
    {"&&", NOP_OVERLAP, "&&"},	  {"~~", NOP_LIKE, "~~"},
    {"~~*", NOP_ILIKE, "~~*"},	  {"!~~", NOP_NLIKE, "!~~"},
    {"!~~*", NOP_NILIKE, "!~~*"},
};

static struct ss_where_node *mk_op(struct parser *ps, const struct tok *t,
				   struct ss_where_node *l,
				   struct ss_where_node *r)
{
	struct ss_where_node *n = mk2(ps, SS_WHERE_OP, t->loc, l, r);
	size_t i;

	n->opc = NOP_OTHER;
	n->op = t->val;
	for (i = 0; i < sizeof(binops) / sizeof(binops[0]); i++) {
		if (strcmp(binops[i].tok, t->val) == 0) {
			n->opc = binops[i].opc;
			n->op = binops[i].name;
		}
	}
	if (!r && n->opc == NOP_SUB) {
		n->opc = NOP_NEG;
		n->op = "-";
	} else if (!r) {
		static const struct {
			const char *tok;
			int opc;
		} prefix[] = {{"~", NOP_BNOT},
			      {"@", NOP_ABS},
			      {"|/", NOP_SQRT},
			      {"||/", NOP_CBRT}};

		if (n->opc != NOP_ADD)
			n->opc = NOP_OTHER;
		for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
			if (strcmp(prefix[i].tok, t->val) == 0) {
				n->opc = prefix[i].opc;
				n->op = prefix[i].tok;
			}
	} else if (n->opc == NOP_BNOT || n->opc == NOP_ABS ||
		   n->opc == NOP_SQRT || n->opc == NOP_CBRT) {
		n->opc = NOP_OTHER;
	}
	return n;
}

static int is_cmp_tok(const struct tok *t)
{
	return t->t == TK_OP &&
	       (!strcmp(t->val, "=") || !strcmp(t->val, "<>") ||
		!strcmp(t->val, "<") || !strcmp(t->val, "<=") ||
		!strcmp(t->val, ">") || !strcmp(t->val, ">="));
}

/* ------------------------------------------------------------------ */
/* Grammar */

static struct ss_where_node *p_expr(struct parser *ps);
static struct ss_where_node *p_op(struct parser *ps);
static struct ss_where_node *p_add(struct parser *ps);

/*
 * typename: PostgreSQL spellings of the supported types plus enum names,
 * with optional modifiers and array brackets. Sets *t (base WT_ENUM with
 * ename for names that are not built in; the type checker decides).
 */
static int p_typename(struct parser *ps, struct wtype *t, int *tloc)
{
	struct tok *k = peek(ps);
	struct ss_buf name = SS_BUF_INIT;
	int mods[2], nmods = 0, has_mods = 0, quoted = 0;

	memset(t, 0, sizeof(*t));
	t->typmod = -1;
	*tloc = k->loc;
	if (k->t == TK_QIDENT) {
		quoted = 1;
		ss_buf_adds(&name, k->val);
		next(ps);
	} else if (k->t == TK_IDENT && !ss_w_is_reserved(k->val)) {
		ss_buf_adds(&name, k->val);
		next(ps);
		if (!strcmp(name.buf, "double") && accept_kw(ps, "precision")) {
			ss_buf_adds(&name, " precision");
		} else if ((!strcmp(name.buf, "character") ||
			    !strcmp(name.buf, "char")) &&
			   accept_kw(ps, "varying")) {
			ss_buf_reset(&name);
			ss_buf_adds(&name, "varchar");
		}
	} else {
		syntax_error(ps, k);
		return -1;
	}
	/* schema-qualified: keep the last part */
	while (peek(ps)->t == TK_DOT &&
	       (peekn(ps, 1)->t == TK_IDENT || peekn(ps, 1)->t == TK_QIDENT)) {
		next(ps);
		ss_buf_reset(&name);
		quoted = peek(ps)->t == TK_QIDENT;
		ss_buf_adds(&name, next(ps)->val);
	}
	if (peek(ps)->t == TK_LPAREN) {
		next(ps);
		has_mods = 1;
		for (;;) {
			struct tok *m = peek(ps);
			int64_t v;

			if (m->t != TK_INT || nmods >= 2 ||
			    ss_parse_i64(m->val, 0, 100000, &v, "typmod",
					 NULL) < 0) {
				syntax_error(ps, m);
				goto fail;
			}
			mods[nmods++] = (int)v;
			next(ps);
			if (peek(ps)->t == TK_COMMA) {
				next(ps);
				continue;
			}
			if (expect(ps, TK_RPAREN) < 0)
				goto fail;
			break;
		}
	}
	if (!quoted &&
	    (!strcmp(name.buf, "time") || !strcmp(name.buf, "timestamp"))) {
		if (is_kw(peek(ps), "with") || is_kw(peek(ps), "without")) {
			int with = is_kw(peek(ps), "with");

			next(ps);
			if (!accept_kw(ps, "time") || !accept_kw(ps, "zone")) {
				syntax_error(ps, peek(ps));
				goto fail;
			}
			if (with && !strcmp(name.buf, "timestamp"))
				ss_buf_adds(&name, "tz");
			else if (with)
				ss_buf_adds(&name, "tz");
		}
	}
	if (quoted || ss_w_type_lookup(name.buf, t) < 0) {
		t->base = WT_ENUM;
		t->ename = ss_w_arena_strndup(ps->a, name.buf, name.len);
		t->typmod = -1;
	}
	if (has_mods && !t->array) {
		if (t->base == WT_VARCHAR || t->base == WT_BPCHAR) {
			if (nmods != 1 || mods[0] < 1) {
				ss_err_set(ps->err, SS_ERR_INPUT,
					   "At location %d: length for type %s "
					   "must be at least 1",
					   *tloc, name.buf);
				goto fail;
			}
			t->typmod = mods[0];
		} else if (t->base == WT_TIME || t->base == WT_TIMESTAMP ||
			   t->base == WT_TIMESTAMPTZ ||
			   t->base == WT_INTERVAL) {
			/* fractional-second precision; above 6 means 6 */
			if (nmods != 1) {
				syntax_error(ps, peek(ps));
				goto fail;
			}
			t->typmod = mods[0] > 6 ? 6 : mods[0];
		} else if (t->base == WT_NUMERIC) {
			int p = mods[0], s = nmods > 1 ? mods[1] : 0;

			if (p < 1 || p > 1000 || s > p) {
				ss_err_set(ps->err, SS_ERR_INPUT,
					   "At location %d: NUMERIC precision "
					   "%d must be between 1 and 1000",
					   *tloc, p);
				goto fail;
			}
			t->typmod = (p << 16) | s;
		} else if (!quoted && !strcmp(name.buf, "float") &&
			   nmods == 1) {
			if (mods[0] < 1 || mods[0] > 53) {
				ss_err_set(ps->err, SS_ERR_INPUT,
					   "At location %d: precision for type "
					   "float must be between 1 and 53",
					   *tloc);
				goto fail;
			}
			t->base = mods[0] <= 24 ? WT_FLOAT4 : WT_FLOAT8;
		}
	} else if (!quoted && !has_mods &&
		   (!strcmp(name.buf, "char") ||
		    !strcmp(name.buf, "character"))) {
		t->typmod = 1; /* char means char(1) */
	}
	/* array decorations */
	for (;;) {
		if (peek(ps)->t == TK_LBRACK) {
			next(ps);
			if (peek(ps)->t == TK_INT)
				next(ps);
			if (expect(ps, TK_RBRACK) < 0)
				goto fail;
			t->array = 1;
			continue;
		}
		if (is_kw(peek(ps), "array")) {
			next(ps);
			if (peek(ps)->t == TK_LBRACK) {
				next(ps);
				if (peek(ps)->t == TK_INT)
					next(ps);
				if (expect(ps, TK_RBRACK) < 0)
					goto fail;
			}
			t->array = 1;
			continue;
		}
		break;
	}
	ss_buf_release(&name);
	return 0;
fail:
	ss_buf_release(&name);
	return -1;
}

static struct ss_where_node *mk_cast(struct parser *ps, int loc,
				     struct ss_where_node *arg)
{
	struct ss_where_node *n = ss_w_node(ps->a, SS_WHERE_CAST, loc, 1);

	n->args[0] = arg;
	if (p_typename(ps, &n->type, &n->tloc) < 0)
		return NULL;
	return n;
}

static struct ss_where_node *mk_const(struct parser *ps, const struct tok *t,
				      enum lit lit)
{
	struct ss_where_node *n = ss_w_node(ps->a, SS_WHERE_CONST, t->loc, 0);

	n->lit = lit;
	n->text = t->val;
	n->textlen = t->vlen;
	return n;
}

/* A list of expressions up to `close`, after the opening token. */
static int p_list(struct parser *ps, struct ss_where_node *n, enum tk close)
{
	if (peek(ps)->t == close) {
		next(ps);
		return 0;
	}
	for (;;) {
		struct ss_where_node *e = p_expr(ps);

		if (!e)
			return -1;
		add_arg(ps, n, e);
		if (peek(ps)->t == TK_COMMA) {
			next(ps);
			continue;
		}
		return expect(ps, close);
	}
}

/* ARRAY[...] contents; nested [..] are sub-arrays. */
static struct ss_where_node *p_array(struct parser *ps, int loc)
{
	struct ss_where_node *n = ss_w_node(ps->a, SS_WHERE_ARRAY, loc, 0);

	if (ps->depth > MAX_NEST) {
		ss_err_set(ps->err, SS_ERR_INPUT,
			   "At location %d: expression is too deeply nested",
			   loc);
		return NULL;
	}

	if (expect(ps, TK_LBRACK) < 0)
		return NULL;
	if (peek(ps)->t == TK_RBRACK) {
		next(ps);
		return n;
	}
	for (;;) {
		struct ss_where_node *e;

		if (peek(ps)->t == TK_LBRACK) {
			ps->depth++;
			e = p_array(ps, peek(ps)->loc);
			ps->depth--;
		} else
			e = p_expr(ps);
		if (!e)
			return NULL;
		add_arg(ps, n, e);
		if (peek(ps)->t == TK_COMMA) {
			next(ps);
			continue;
		}
		if (expect(ps, TK_RBRACK) < 0)
			return NULL;
		return n;
	}
}

static const char *const aggregates[] = {
    "count",	  "sum",      "avg",	 "min",	   "max",      "array_agg",
    "string_agg", "bool_and", "bool_or", "every",  "json_agg", "jsonb_agg",
    "stddev",	  "variance", "bit_and", "bit_or",
};

static struct ss_where_node *p_func(struct parser *ps, const struct tok *name)
{
	static const struct {
		const char *name;
		int fn;
		const char *canon;
	} fns[] = {
	    {"lower", FN_LOWER, "lower"},
	    {"upper", FN_UPPER, "upper"},
	    {"concat", FN_CONCAT, "concat"},
	    {"coalesce", FN_COALESCE, "COALESCE"},
	    {"greatest", FN_GREATEST, "GREATEST"},
	    {"least", FN_LEAST, "LEAST"},
	    {"like", FN_LIKE, "like"},
	    {"timezone", FN_TIMEZONE, "timezone"},
	    {"array_cat", FN_ARRAY_CAT, "array_cat"},
	    {"array_append", FN_ARRAY_APPEND, "array_append"},
	    {"array_prepend", FN_ARRAY_PREPEND, "array_prepend"},
	    {"array_ndims", FN_ARRAY_NDIMS, "array_ndims"},
	    {"justify_days", FN_JUSTIFY_DAYS, "justify_days"},
	    {"justify_hours", FN_JUSTIFY_HOURS, "justify_hours"},
	    {"justify_interval", FN_JUSTIFY_INTERVAL, "justify_interval"},
	};
	struct ss_where_node *n;
	size_t i;

	next(ps); /* '(' */
	if (ss_w_in_list(aggregates, sizeof(aggregates) / sizeof(aggregates[0]),
			 name->val) ||
	    is_kw(peek(ps), "distinct") || is_op(peek(ps), "*")) {
		unsupported(ps, name->loc, "aggregate function");
		return NULL;
	}
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (name->t == TK_IDENT && !strcmp(fns[i].name, name->val))
			break;
	if (i == sizeof(fns) / sizeof(fns[0])) {
		ss_err_set(ps->err, SS_ERR_INPUT,
			   "At location %d: function %s is not supported in "
			   "this context",
			   name->loc, name->val);
		return NULL;
	}
	n = ss_w_node(ps->a, SS_WHERE_FUNC, name->loc, 0);
	n->opc = fns[i].fn;
	n->op = fns[i].canon;
	if (p_list(ps, n, TK_RPAREN) < 0)
		return NULL;
	if (is_kw(peek(ps), "over") || is_kw(peek(ps), "filter")) {
		unsupported(ps, peek(ps)->loc, "window function");
		return NULL;
	}
	if (n->nargs == 0 && (n->opc == FN_COALESCE || n->opc == FN_GREATEST ||
			      n->opc == FN_LEAST)) {
		/* these three are grammar in PostgreSQL, not functions */
		ss_err_set(ps->err, SS_ERR_INPUT,
			   "At location %d: syntax error at or near \")\"",
			   PARSE_LOC(ps->toks[ps->pos - 1].loc));
		return NULL;
	}
	if ((n->opc == FN_LIKE || n->opc == FN_ILIKE) && n->nargs == 2) {
		/* like(a, b) is a ~~ b */
		struct ss_where_node *o =
		    mk2(ps, SS_WHERE_OP, n->loc, n->args[0], n->args[1]);

		o->opc = n->opc == FN_LIKE ? NOP_LIKE : NOP_ILIKE;
		o->op = n->opc == FN_LIKE ? "~~" : "~~*";
		return o;
	}
	return n;
}

/* Words that start a typed literal like date '2024-01-01'. */
static int type_word(const char *w)
{
	static const char *const words[] = {
	    "bool",	   "boolean",  "int2",	   "int4",   "int8",
	    "int",	   "integer",  "smallint", "bigint", "numeric",
	    "decimal",	   "float4",   "float8",   "float",  "real",
	    "double",	   "text",     "varchar",  "char",   "character",
	    "bpchar",	   "uuid",     "date",	   "time",   "timestamp",
	    "timestamptz", "interval",
	};

	return ss_w_in_list(words, sizeof(words) / sizeof(words[0]), w);
}

/* ------------------------------------------------------------------ */
/* Subqueries */

static int at_select(struct parser *ps)
{
	return is_kw(peek(ps), "select") || is_kw(peek(ps), "values") ||
	       is_kw(peek(ps), "with");
}

/* A subquery where the mode does not parse one: its error. */
static int subquery_refused(struct parser *ps, int loc)
{
	if (ps->subq == SUBQ_MESSAGE)
		return ss_err_set(ps->err, SS_ERR_INPUT, "%s", ps->subq_msg);
	return unsupported(ps, loc, "subquery");
}

/* A name: an identifier that is not a reserved word, or a quoted one. */
static int at_name(struct parser *ps)
{
	struct tok *t = peek(ps);

	return t->t == TK_QIDENT ||
	       (t->t == TK_IDENT && !ss_w_is_reserved(t->val));
}

/* `[AS] alias` after a select-list item or a FROM item. */
static int p_alias(struct parser *ps)
{
	if (accept_kw(ps, "as")) {
		if (peek(ps)->t != TK_IDENT && peek(ps)->t != TK_QIDENT)
			return syntax_error(ps, peek(ps));
		next(ps);
		return 0;
	}
	if (at_name(ps))
		next(ps);
	return 0;
}

/* Comma-separated expressions, each optionally followed by any of the
 * words in `after` (ASC, DESC, NULLS FIRST ...): for clauses whose
 * contents only need to be well-formed. */
static int p_skip_exprs(struct parser *ps, const char *const *after,
			size_t nafter)
{
	for (;;) {
		if (!p_expr(ps))
			return -1;
		while (peek(ps)->t == TK_IDENT &&
		       ss_w_in_list(after, nafter, peek(ps)->val))
			next(ps);
		if (peek(ps)->t != TK_COMMA)
			return 0;
		next(ps);
	}
}

/* One FROM item; sets *single 0 for anything but a plain table. */
static int p_from_item(struct parser *ps, struct wsub *sub, int *nitems,
		       int *single)
{
	struct tok *a;

	if (peek(ps)->t == TK_LPAREN) {
		int depth = 0;

		*single = 0;
		do { /* a derived table or a parenthesised join */
			if (peek(ps)->t == TK_EOF)
				return syntax_error(ps, peek(ps));
			if (peek(ps)->t == TK_LPAREN)
				depth++;
			else if (peek(ps)->t == TK_RPAREN)
				depth--;
			next(ps);
		} while (depth > 0);
		return p_alias(ps);
	}
	accept_kw(ps, "only");
	if (!at_name(ps))
		return syntax_error(ps, peek(ps));
	a = next(ps);
	if (++*nitems == 1) {
		sub->schema = "public";
		sub->table = a->val;
	}
	if (peek(ps)->t == TK_DOT) {
		next(ps);
		if (peek(ps)->t != TK_IDENT && peek(ps)->t != TK_QIDENT)
			return syntax_error(ps, peek(ps));
		if (*nitems == 1) {
			sub->schema = a->val;
			sub->table = peek(ps)->val;
		}
		next(ps);
	}
	if (peek(ps)->t == TK_DOT)
		return syntax_error(ps, peek(ps));
	return p_alias(ps);
}

static int at_join(struct parser *ps)
{
	static const char *const words[] = {"join", "inner", "left",   "right",
					    "full", "cross", "natural"};

	return peek(ps)->t == TK_IDENT &&
	       ss_w_in_list(words, sizeof(words) / sizeof(words[0]),
			    peek(ps)->val);
}

/* What the syntax pass saw of a SELECT, for Electric's checks. */
struct selstate {
	int bad_col; /* location of the first item not a plain column */
	int single;  /* FROM is one plain table */
	int nitems;  /* FROM items */
	int clauses; /* DISTINCT, GROUP BY, ... */
	size_t cap;  /* room in sub->cols */
};

static void add_subcol(struct parser *ps, struct wsub *sub, struct selstate *st,
		       const char *name)
{
	if (sub->ncols == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 4;
		const char **n = ss_w_arena_alloc(ps->a, cap * sizeof(*n));

		if (sub->ncols)
			memcpy(n, sub->cols, sub->ncols * sizeof(*n));
		sub->cols = n;
		st->cap = cap;
	}
	sub->cols[sub->ncols++] = name;
}

/* The syntax of a SELECT (or VALUES) statement, into sub and st. */
static int p_select_syntax(struct parser *ps, struct wsub *sub,
			   struct selstate *st)
{
	static const char *const order_words[] = {"asc", "desc", "nulls",
						  "first", "last"};
	int bad_col = -1, single = 1, nitems = 0, clauses = 0;

	if (is_kw(peek(ps), "with"))
		return ss_err_set(ps->err, SS_ERR_INPUT,
				  "SELECT statement must not contain any "
				  "clauses");
	if (accept_kw(ps, "values")) {
		single = 0;
		for (;;) {
			struct ss_where_node *row =
			    ss_w_node(ps->a, SS_WHERE_ARRAY, 0, 0);

			if (expect(ps, TK_LPAREN) < 0 ||
			    p_list(ps, row, TK_RPAREN) < 0)
				return -1;
			if (peek(ps)->t != TK_COMMA)
				break;
			next(ps);
		}
		goto clauses;
	}
	next(ps); /* SELECT */
	if (accept_kw(ps, "distinct")) {
		clauses = 1;
		if (accept_kw(ps, "on")) {
			if (expect(ps, TK_LPAREN) < 0 ||
			    p_skip_exprs(ps, NULL, 0) < 0 ||
			    expect(ps, TK_RPAREN) < 0)
				return -1;
		}
	} else {
		accept_kw(ps, "all");
	}
	for (;;) {
		struct tok *t = peek(ps);
		int loc = t->loc;

		if (is_op(t, "*")) {
			next(ps);
			if (bad_col < 0)
				bad_col = loc;
		} else {
			int plain =
			    (t->t == TK_QIDENT ||
			     (t->t == TK_IDENT && !ss_w_is_reserved(t->val))) &&
			    peekn(ps, 1)->t != TK_DOT &&
			    peekn(ps, 1)->t != TK_LPAREN;
			struct ss_where_node *e = p_expr(ps);

			if (!e)
				return -1;
			if (plain && e->kind == SS_WHERE_COLUMN)
				add_subcol(ps, sub, st, t->val);
			else if (bad_col < 0)
				bad_col = loc;
		}
		if (p_alias(ps) < 0)
			return -1;
		if (peek(ps)->t != TK_COMMA)
			break;
		next(ps);
	}
	if (accept_kw(ps, "from")) {
		for (;;) {
			if (p_from_item(ps, sub, &nitems, &single) < 0)
				return -1;
			while (at_join(ps)) {
				single = 0;
				while (at_join(ps) || is_kw(peek(ps), "outer"))
					next(ps);
				if (p_from_item(ps, sub, &nitems, &single) < 0)
					return -1;
				if (accept_kw(ps, "on")) {
					if (!p_expr(ps))
						return -1;
				} else if (accept_kw(ps, "using")) {
					if (expect(ps, TK_LPAREN) < 0 ||
					    p_skip_exprs(ps, NULL, 0) < 0 ||
					    expect(ps, TK_RPAREN) < 0)
						return -1;
				}
			}
			if (peek(ps)->t != TK_COMMA)
				break;
			single = 0;
			next(ps);
		}
	} else {
		single = 0;
	}
	if (accept_kw(ps, "where")) {
		sub->where = p_expr(ps);
		if (!sub->where)
			return -1;
	}
clauses:
	for (;;) {
		if (accept_kw(ps, "group") || accept_kw(ps, "order")) {
			if (!accept_kw(ps, "by"))
				return syntax_error(ps, peek(ps));
			if (p_skip_exprs(ps, order_words,
					 sizeof(order_words) /
					     sizeof(order_words[0])) < 0)
				return -1;
		} else if (accept_kw(ps, "having") || accept_kw(ps, "offset")) {
			if (!p_expr(ps))
				return -1;
			if (!accept_kw(ps, "rows"))
				accept_kw(ps, "row");
		} else if (accept_kw(ps, "limit")) {
			if (!accept_kw(ps, "all") && !p_expr(ps))
				return -1;
		} else if (accept_kw(ps, "for")) {
			/* FOR UPDATE / SHARE [OF t] [NOWAIT | SKIP LOCKED] */
			while (peek(ps)->t == TK_IDENT ||
			       peek(ps)->t == TK_QIDENT ||
			       peek(ps)->t == TK_COMMA || peek(ps)->t == TK_DOT)
				next(ps);
		} else if (accept_kw(ps, "union") ||
			   accept_kw(ps, "intersect") ||
			   accept_kw(ps, "except")) {
			struct wsub other;
			struct selstate ost;

			/* A set operation: no select list or FROM of its
			 * own at the top. */
			single = 0;
			if (!accept_kw(ps, "all"))
				accept_kw(ps, "distinct");
			memset(&other, 0, sizeof(other));
			memset(&ost, 0, sizeof(ost));
			if (peek(ps)->t == TK_LPAREN) {
				next(ps);
				if (!at_select(ps))
					return syntax_error(ps, peek(ps));
				if (p_select_syntax(ps, &other, &ost) < 0 ||
				    expect(ps, TK_RPAREN) < 0)
					return -1;
			} else if (is_kw(peek(ps), "select") ||
				   is_kw(peek(ps), "values")) {
				if (p_select_syntax(ps, &other, &ost) < 0)
					return -1;
			} else {
				return syntax_error(ps, peek(ps));
			}
			continue;
		} else if (is_kw(peek(ps), "window") ||
			   is_kw(peek(ps), "fetch") ||
			   is_kw(peek(ps), "into")) {
			return ss_err_set(ps->err, SS_ERR_INPUT,
					  "SELECT statement must not contain "
					  "any clauses");
		} else {
			break;
		}
		clauses = 1;
	}
	st->bad_col = bad_col;
	st->single = single;
	st->nitems = nitems;
	st->clauses = clauses;
	return 0;
}

/*
 * The inner statement of `x IN (SELECT ...)`, from its first word to
 * (not including) the closing parenthesis, into sub. PostgreSQL parses
 * the whole statement before Electric looks at it, so a syntax error
 * anywhere comes first; then Electric's checks in its order: the select
 * list (plain column names), FROM (one table), the other clauses (none).
 */
static int p_select(struct parser *ps, struct wsub *sub)
{
	struct selstate st;

	memset(&st, 0, sizeof(st));
	if (p_select_syntax(ps, sub, &st) < 0)
		return -1;
	if (st.bad_col >= 0)
		return ss_err_set(ps->err, SS_ERR_INPUT,
				  "At location %d: Expected a plain column "
				  "reference",
				  PARSE_LOC(st.bad_col));
	if (!st.single || st.nitems != 1)
		return ss_err_set(ps->err, SS_ERR_INPUT,
				  "Expected a single table reference");
	if (st.clauses)
		return ss_err_set(ps->err, SS_ERR_INPUT,
				  "SELECT statement must not contain any "
				  "clauses");
	return 0;
}

/*
 * A subquery that is not `x IN (SELECT ...)` at `loc`, the current token
 * its SELECT (or VALUES, WITH): in SUBQ_PARSE mode its statement is parsed
 * and checked first, as Electric does, then refused; otherwise the mode's
 * error.
 */
static int other_sublink(struct parser *ps, int loc)
{
	struct wsub sub;

	if (ps->subq != SUBQ_PARSE)
		return subquery_refused(ps, loc);
	memset(&sub, 0, sizeof(sub));
	if (p_select(ps, &sub) < 0)
		return -1;
	return ss_err_set(ps->err, SS_ERR_INPUT,
			  "At location %d: only `value IN (SELECT ...)` "
			  "sublinks are supported right now",
			  loc);
}

/* `lhs [NOT] IN (` read, the current token SELECT: the subquery test. */
static struct ss_where_node *
p_in_select(struct parser *ps, struct ss_where_node *lhs, int neg, int loc)
{
	struct ss_where_node *n;
	struct wsub *sub;

	if (ps->subq != SUBQ_PARSE) {
		subquery_refused(ps, loc);
		return NULL;
	}
	sub = ss_w_arena_alloc(ps->a, sizeof(*sub));
	sub->loc = loc;
	if (p_select(ps, sub) < 0 || expect(ps, TK_RPAREN) < 0)
		return NULL;
	if (lhs->kind == SS_WHERE_SUBLINK && !lhs->sub) {
		n = lhs; /* a row (a, b): its items are the left side */
		n->loc = loc;
	} else {
		n = ss_w_node(ps->a, SS_WHERE_SUBLINK, loc, 1);
		n->args[0] = lhs;
	}
	n->sub = sub;
	if (neg)
		n->flags |= NF_NOT;
	n->op = neg ? "NOT IN" : "IN";
	return n;
}

/* After a row's first item and its comma: the rest of `(a, b, ...)`,
 * which may only be the left side of a subquery test. */
static struct ss_where_node *p_row(struct parser *ps,
				   struct ss_where_node *first, int loc)
{
	struct ss_where_node *n = ss_w_node(ps->a, SS_WHERE_SUBLINK, loc, 0);

	add_arg(ps, n, first);
	if (p_list(ps, n, TK_RPAREN) < 0)
		return NULL;
	n->flags |= NF_ROW;
	{
		size_t k = is_kw(peek(ps), "not") ? 1 : 0;

		if (is_kw(peekn(ps, k), "in") &&
		    peekn(ps, k + 1)->t == TK_LPAREN &&
		    (is_kw(peekn(ps, k + 2), "select") ||
		     is_kw(peekn(ps, k + 2), "values") ||
		     is_kw(peekn(ps, k + 2), "with")))
			return n;
	}
	unsupported(ps, loc, "row expression");
	return NULL;
}

static struct ss_where_node *p_primary(struct parser *ps)
{
	struct tok *t = peek(ps);
	struct ss_where_node *n;

	switch (t->t) {
	case TK_INT:
		next(ps);
		return mk_const(ps, t, LIT_INT);
	case TK_NUM:
		next(ps);
		return mk_const(ps, t, LIT_NUM);
	case TK_STR:
		next(ps);
		return mk_const(ps, t, LIT_STR);
	case TK_PARAM: {
		int64_t no;

		next(ps);
		n = mk_const(ps, t, LIT_PARAM);
		if (ss_parse_i64(t->val, 1, 65535, &no, "param", NULL) < 0) {
			ss_err_set(ps->err, SS_ERR_INPUT,
				   "At location %d: there is no parameter $%s",
				   t->loc, t->val);
			return NULL;
		}
		n->paramno = (int)no;
		return n;
	}
	case TK_LPAREN:
		next(ps);
		if (at_select(ps)) {
			other_sublink(ps, t->loc);
			return NULL;
		}
		n = p_expr(ps);
		if (!n)
			return NULL;
		if (peek(ps)->t == TK_COMMA) {
			if (ps->subq == SUBQ_PARSE) {
				next(ps);
				return p_row(ps, n, t->loc);
			}
			unsupported(ps, t->loc, "row expression");
			return NULL;
		}
		if (expect(ps, TK_RPAREN) < 0)
			return NULL;
		return n;
	case TK_QIDENT:
		next(ps);
		if (peek(ps)->t == TK_LPAREN)
			return p_func(ps, t);
		goto column;
	case TK_IDENT:
		break;
	default:
		syntax_error(ps, t);
		return NULL;
	}
	/* identifiers and keywords */
	if (is_kw(t, "true") || is_kw(t, "false")) {
		next(ps);
		return mk_const(ps, t, LIT_BOOL);
	}
	if (is_kw(t, "null")) {
		next(ps);
		return mk_const(ps, t, LIT_NULL);
	}
	if (is_kw(t, "array")) {
		next(ps);
		if (peek(ps)->t == TK_LPAREN) {
			next(ps);
			if (ps->subq == SUBQ_PARSE && at_select(ps))
				other_sublink(ps, t->loc);
			else
				subquery_refused(ps, t->loc);
			return NULL;
		}
		return p_array(ps, t->loc);
	}
	if (is_kw(t, "cast")) {
		struct ss_where_node *e;

		next(ps);
		if (expect(ps, TK_LPAREN) < 0)
			return NULL;
		e = p_expr(ps);
		if (!e)
			return NULL;
		if (!accept_kw(ps, "as")) {
			syntax_error(ps, peek(ps));
			return NULL;
		}
		n = mk_cast(ps, t->loc, e);
		if (!n || expect(ps, TK_RPAREN) < 0)
			return NULL;
		n->flags |= NF_CASTSYNTAX;
		return n;
	}
	if (is_kw(t, "case")) {
		unsupported(ps, t->loc, "CASE expression");
		return NULL;
	}
	if (is_kw(t, "exists")) {
		next(ps);
		if (ps->subq == SUBQ_PARSE && expect(ps, TK_LPAREN) == 0 &&
		    at_select(ps))
			other_sublink(ps, t->loc);
		else if (ps->subq != SUBQ_PARSE)
			subquery_refused(ps, t->loc);
		else if (!ps->err->msg[0])
			syntax_error(ps, peek(ps));
		return NULL;
	}
	if (is_kw(t, "row") && peekn(ps, 1)->t == TK_LPAREN) {
		unsupported(ps, t->loc, "row expression");
		return NULL;
	}
	if (!strncmp(t->val, "current_", 8) || is_kw(t, "localtime") ||
	    is_kw(t, "localtimestamp") || is_kw(t, "session_user") ||
	    is_kw(t, "user")) {
		if (ss_w_is_reserved(t->val)) {
			unsupported(ps, t->loc, t->val);
			return NULL;
		}
	}
	/* typed literal: type 'string' */
	if (type_word(t->val)) {
		size_t save = ps->pos;
		struct wtype ty;
		int tloc;
		struct ss_err *saved_err = ps->err;

		ps->err = NULL;
		if (p_typename(ps, &ty, &tloc) == 0 && peek(ps)->t == TK_STR) {
			struct tok *s = next(ps);

			ps->err = saved_err;
			n = ss_w_node(ps->a, SS_WHERE_CAST, t->loc, 1);
			n->type = ty;
			n->tloc = tloc;
			n->args[0] = mk_const(ps, s, LIT_STR);
			return n;
		}
		ps->err = saved_err;
		ps->pos = save;
	}
	/* like is a keyword that also names a function (PostgreSQL has
	 * like(text, text) but no ilike()) */
	if (peekn(ps, 1)->t == TK_LPAREN &&
	    (!ss_w_is_reserved(t->val) || is_kw(t, "like"))) {
		next(ps);
		return p_func(ps, t);
	}
	if (ss_w_is_reserved(t->val)) {
		syntax_error(ps, t);
		return NULL;
	}
	next(ps);
column:
	n = ss_w_node(ps->a, SS_WHERE_COLUMN, t->loc, 0);
	n->text = t->val;
	n->textlen = t->vlen;
	if (peek(ps)->t == TK_DOT) {
		/* qualified names: t.col, or t.col(...) */
		struct ss_buf q = SS_BUF_INIT;

		ss_buf_adds(&q, t->val);
		while (peek(ps)->t == TK_DOT) {
			struct tok *f;

			next(ps);
			f = peek(ps);
			if (f->t != TK_IDENT && f->t != TK_QIDENT) {
				if (is_op(f, "*")) {
					ss_buf_release(&q);
					unsupported(ps, f->loc, "*");
					return NULL;
				}
				ss_buf_release(&q);
				syntax_error(ps, f);
				return NULL;
			}
			next(ps);
			ss_buf_addc(&q, '.');
			ss_buf_adds(&q, f->val);
		}
		if (peek(ps)->t == TK_LPAREN) {
			ss_err_set(ps->err, SS_ERR_INPUT,
				   "At location %d: function %s is not "
				   "supported in this context",
				   t->loc, q.buf);
			ss_buf_release(&q);
			return NULL;
		}
		n->text = ss_w_arena_strndup(ps->a, q.buf, q.len);
		n->textlen = q.len;
		n->flags |= NF_NOT; /* marks "qualified": never matches */
		ss_buf_release(&q);
	}
	return n;
}

static struct ss_where_node *p_postfix(struct parser *ps)
{
	/* Subscripts follow only a column or a parenthesised expression
	 * (PostgreSQL's indirection); casts follow anything. */
	int indirect = peek(ps)->t == TK_LPAREN;
	struct ss_where_node *n = p_primary(ps);

	if (n && n->kind == SS_WHERE_COLUMN)
		indirect = 1;
	while (n) {
		struct tok *t = peek(ps);

		if (t->t == TK_DCOLON) {
			next(ps);
			n = mk_cast(ps, t->loc, n);
			indirect = 0;
		} else if (t->t == TK_LBRACK && indirect) {
			struct ss_where_node *idx;

			next(ps);
			if (peek(ps)->t == TK_COLON) {
				unsupported(ps, t->loc, "array slice");
				return NULL;
			}
			idx = p_expr(ps);
			if (!idx)
				return NULL;
			if (peek(ps)->t == TK_COLON) {
				unsupported(ps, t->loc, "array slice");
				return NULL;
			}
			if (expect(ps, TK_RBRACK) < 0)
				return NULL;
			n = mk2(ps, SS_WHERE_SUBSCRIPT, t->loc, n, idx);
		} else if (t->t == TK_DOT) {
			unsupported(ps, t->loc, "field selection");
			return NULL;
		} else {
			break;
		}
	}
	return n;
}

static int is_numeric_lit(const struct ss_where_node *n)
{
	return n->kind == SS_WHERE_CONST &&
	       (n->lit == LIT_INT || n->lit == LIT_NUM);
}

static struct ss_where_node *p_unary(struct parser *ps)
{
	struct tok *t = peek(ps);

	/* only a unary operator nests here; plain operands do not count */
	if (t->t == TK_OP && ++ps->depth > MAX_NEST) {
		ss_err_set(ps->err, SS_ERR_INPUT,
			   "At location %d: expression is too deeply nested",
			   t->loc);
		return NULL;
	}
	if (is_op(t, "-") || is_op(t, "+")) {
		struct ss_where_node *e;

		next(ps);
		e = p_unary(ps);
		ps->depth--;
		if (!e)
			return NULL;
		if (is_op(t, "+"))
			return mk_op(ps, t, e, NULL);
		/* Like PostgreSQL's doNegate: -<number> is a constant. */
		if (is_numeric_lit(e)) {
			struct ss_where_node *c =
			    ss_w_node(ps->a, SS_WHERE_CONST, t->loc, 0);
			char *s;

			c->lit = e->lit;
			if (e->text[0] == '-') {
				c->text = e->text + 1;
				c->textlen = e->textlen - 1;
			} else {
				s = ss_w_arena_alloc(ps->a, e->textlen + 2);
				s[0] = '-';
				memcpy(s + 1, e->text, e->textlen);
				c->text = s;
				c->textlen = e->textlen + 1;
			}
			return c;
		}
		return mk_op(ps, t, e, NULL);
	}
	if (t->t == TK_OP && !is_cmp_tok(t) && strcmp(t->val, "*") &&
	    strcmp(t->val, "/") && strcmp(t->val, "%")) {
		/* prefix operators such as @ or |/ bind like the other
		 * operators: their operand takes in + - * / ^ */
		struct ss_where_node *e;

		next(ps);
		e = p_add(ps);
		ps->depth--;
		return e ? mk_op(ps, t, e, NULL) : NULL;
	}
	{
		struct ss_where_node *e = p_postfix(ps);

		if (t->t == TK_OP)
			ps->depth--;
		if (e && is_kw(peek(ps), "collate")) {
			unsupported(ps, peek(ps)->loc, "COLLATE");
			return NULL;
		}
		return e;
	}
}

/* x AT TIME ZONE z: between ^ and the unary operators; it is the
 * function timezone(z, x). */
static struct ss_where_node *p_at(struct parser *ps)
{
	struct ss_where_node *l = p_unary(ps);

	while (l && is_kw(peek(ps), "at")) {
		struct tok *t = next(ps);
		struct ss_where_node *r, *n;

		if (!accept_kw(ps, "time") || !accept_kw(ps, "zone")) {
			syntax_error(ps, peek(ps));
			return NULL;
		}
		r = p_unary(ps);
		if (!r)
			return NULL;
		n = ss_w_node(ps->a, SS_WHERE_FUNC, t->loc, 2);
		n->opc = FN_TIMEZONE;
		n->op = "timezone";
		n->args[0] = r;
		n->args[1] = l;
		l = n;
	}
	return l;
}

static struct ss_where_node *p_pow(struct parser *ps)
{
	struct ss_where_node *l = p_at(ps);

	while (l && is_op(peek(ps), "^")) {
		struct tok *t = next(ps);
		struct ss_where_node *r = p_at(ps);

		if (!r)
			return NULL;
		l = mk_op(ps, t, l, r);
	}
	return l;
}

static struct ss_where_node *p_mul(struct parser *ps)
{
	struct ss_where_node *l = p_pow(ps);

	while (l && (is_op(peek(ps), "*") || is_op(peek(ps), "/") ||
		     is_op(peek(ps), "%"))) {
		struct tok *t = next(ps);
		struct ss_where_node *r = p_pow(ps);

		if (!r)
			return NULL;
		l = mk_op(ps, t, l, r);
	}
	return l;
}

static struct ss_where_node *p_add(struct parser *ps)
{
	struct ss_where_node *l = p_mul(ps);

	while (l && (is_op(peek(ps), "+") || is_op(peek(ps), "-"))) {
		struct tok *t = next(ps);
		struct ss_where_node *r = p_mul(ps);

		if (!r)
			return NULL;
		l = mk_op(ps, t, l, r);
	}
	return l;
}

/* `op ANY|SOME|ALL (expr)` after a binary operator token. */
static struct ss_where_node *
p_sublink(struct parser *ps, struct ss_where_node *l, const struct tok *op)
{
	struct tok *k = peek(ps);
	int all = is_kw(k, "all");
	struct ss_where_node *n, *r;

	next(ps);
	if (expect(ps, TK_LPAREN) < 0)
		return NULL;
	if (is_kw(peek(ps), "select") || is_kw(peek(ps), "values")) {
		if (ps->subq == SUBQ_PARSE)
			other_sublink(ps, op->loc);
		else
			subquery_refused(ps, k->loc);
		return NULL;
	}
	r = p_expr(ps);
	if (!r || expect(ps, TK_RPAREN) < 0)
		return NULL;
	n = mk_op(ps, op, l, r);
	n->kind = all ? SS_WHERE_ALL : SS_WHERE_ANY;
	return n;
}

static int at_sublink(struct parser *ps)
{
	struct tok *k = peek(ps);

	return (is_kw(k, "any") || is_kw(k, "some") || is_kw(k, "all")) &&
	       peekn(ps, 1)->t == TK_LPAREN;
}

/* Other operators (||, @>, <@, &&, ~~, ...), left-associative. */
static struct ss_where_node *p_op(struct parser *ps)
{
	struct ss_where_node *l = p_add(ps);

	while (l && peek(ps)->t == TK_OP && !is_cmp_tok(peek(ps))) {
		struct tok *t = next(ps);
		struct ss_where_node *r;

		if (at_sublink(ps)) {
			l = p_sublink(ps, l, t);
			continue;
		}
		r = p_add(ps);
		if (!r)
			return NULL;
		l = mk_op(ps, t, l, r);
	}
	return l;
}

/* [NOT] LIKE / ILIKE / BETWEEN / IN / SIMILAR after an operand. */
static struct ss_where_node *p_like(struct parser *ps)
{
	struct ss_where_node *l = p_op(ps);
	struct tok *t;
	int neg = 0, notloc;

	if (!l)
		return NULL;
	t = peek(ps);
	notloc = t->loc;
	if (is_kw(t, "not") &&
	    (is_kw(peekn(ps, 1), "like") || is_kw(peekn(ps, 1), "ilike") ||
	     is_kw(peekn(ps, 1), "between") || is_kw(peekn(ps, 1), "in") ||
	     is_kw(peekn(ps, 1), "similar"))) {
		neg = 1;
		next(ps);
		t = peek(ps);
	}
	if (is_kw(t, "like") || is_kw(t, "ilike")) {
		struct ss_where_node *r, *n;
		int il = is_kw(t, "ilike");

		next(ps);
		if (at_sublink(ps)) {
			unsupported(ps, t->loc, "LIKE ANY/ALL");
			return NULL;
		}
		r = p_op(ps);
		if (!r)
			return NULL;
		n = mk2(ps, SS_WHERE_OP, t->loc, l, r);
		n->opc = il ? (neg ? NOP_NILIKE : NOP_ILIKE)
			    : (neg ? NOP_NLIKE : NOP_LIKE);
		n->op = il ? (neg ? "!~~*" : "~~*") : (neg ? "!~~" : "~~");
		if (accept_kw(ps, "escape")) {
			struct ss_where_node *e = p_op(ps);

			if (!e)
				return NULL;
			add_arg(ps, n, e);
		}
		l = n;
	} else if (is_kw(t, "between")) {
		struct ss_where_node *n =
		    ss_w_node(ps->a, SS_WHERE_BETWEEN, t->loc, 3);

		next(ps);
		if (accept_kw(ps, "symmetric"))
			n->flags |= NF_SYMMETRIC;
		else
			accept_kw(ps, "asymmetric");
		n->args[0] = l;
		n->args[1] = p_op(ps);
		if (!n->args[1])
			return NULL;
		if (!accept_kw(ps, "and")) {
			syntax_error(ps, peek(ps));
			return NULL;
		}
		n->args[2] = p_op(ps);
		if (!n->args[2])
			return NULL;
		if (neg)
			n->flags |= NF_NOT;
		n->op = neg ? (n->flags & NF_SYMMETRIC ? "NOT BETWEEN SYMMETRIC"
						       : "NOT BETWEEN")
			    : (n->flags & NF_SYMMETRIC ? "BETWEEN SYMMETRIC"
						       : "BETWEEN");
		l = n;
	} else if (is_kw(t, "in")) {
		struct ss_where_node *n =
		    ss_w_node(ps->a, SS_WHERE_IN, t->loc, 1);

		next(ps);
		n->args[0] = l;
		if (peek(ps)->t != TK_LPAREN) {
			syntax_error(ps, peek(ps));
			return NULL;
		}
		next(ps);
		if (at_select(ps)) {
			if (ps->subq != SUBQ_PARSE) {
				subquery_refused(ps, t->loc);
				return NULL;
			}
			return p_in_select(ps, l, neg, neg ? notloc : t->loc);
		}
		if (peek(ps)->t == TK_RPAREN) {
			syntax_error(ps, peek(ps));
			return NULL;
		}
		if (p_list(ps, n, TK_RPAREN) < 0)
			return NULL;
		if (ps->max_in && n->nargs - 1 > ps->max_in) {
			ss_err_set(ps->err, SS_ERR_INPUT,
				   "At location %d: IN list has %zu items, the "
				   "limit is %zu",
				   t->loc, n->nargs - 1, ps->max_in);
			return NULL;
		}
		if (neg)
			n->flags |= NF_NOT;
		n->op = neg ? "NOT IN" : "IN";
		l = n;
	} else if (is_kw(t, "similar")) {
		unsupported(ps, t->loc, "SIMILAR TO");
		return NULL;
	} else {
		return l;
	}
	t = peek(ps);
	/* these operators do not associate */
	if (is_kw(t, "like") || is_kw(t, "ilike") || is_kw(t, "between") ||
	    is_kw(t, "in") ||
	    (is_kw(t, "not") &&
	     (is_kw(peekn(ps, 1), "like") || is_kw(peekn(ps, 1), "ilike") ||
	      is_kw(peekn(ps, 1), "between") || is_kw(peekn(ps, 1), "in")))) {
		syntax_error(ps, t);
		return NULL;
	}
	return l;
}

static struct ss_where_node *p_cmp(struct parser *ps)
{
	struct ss_where_node *l = p_like(ps);
	struct tok *t;

	if (!l)
		return NULL;
	t = peek(ps);
	if (is_cmp_tok(t)) {
		struct ss_where_node *r;

		next(ps);
		if (at_sublink(ps)) {
			l = p_sublink(ps, l, t);
		} else {
			r = p_like(ps);
			if (!r)
				return NULL;
			l = mk_op(ps, t, l, r);
		}
		if (l && is_cmp_tok(peek(ps))) {
			syntax_error(ps, peek(ps));
			return NULL;
		}
	}
	return l;
}

static struct ss_where_node *p_is(struct parser *ps)
{
	struct ss_where_node *l = p_cmp(ps);
	int done = 0;

	while (l && !done) {
		struct tok *t = peek(ps);
		struct ss_where_node *n;
		int neg = 0;

		if (is_kw(t, "isnull") || is_kw(t, "notnull")) {
			next(ps);
			n = mk2(ps, SS_WHERE_TEST, t->loc, l, NULL);
			n->opc = TEST_NULL;
			if (is_kw(t, "notnull"))
				n->flags |= NF_NOT;
			n->op = is_kw(t, "notnull") ? "IS NOT NULL" : "IS NULL";
			l = n;
			continue;
		}
		if (!is_kw(t, "is"))
			break;
		next(ps);
		if (accept_kw(ps, "not"))
			neg = 1;
		t = peek(ps);
		if (is_kw(t, "distinct")) {
			next(ps);
			if (!accept_kw(ps, "from")) {
				syntax_error(ps, peek(ps));
				return NULL;
			}
			n = ss_w_node(ps->a, SS_WHERE_DISTINCT, t->loc, 2);
			n->args[0] = l;
			n->args[1] = p_cmp(ps);
			if (!n->args[1])
				return NULL;
			if (neg)
				n->flags |= NF_NOT;
			n->op =
			    neg ? "IS NOT DISTINCT FROM" : "IS DISTINCT FROM";
			/* IS DISTINCT FROM does not chain with another IS */
			if (is_kw(peek(ps), "is") ||
			    is_kw(peek(ps), "isnull") ||
			    is_kw(peek(ps), "notnull")) {
				syntax_error(ps, peek(ps));
				return NULL;
			}
			l = n;
			continue;
		}
		n = mk2(ps, SS_WHERE_TEST, t->loc, l, NULL);
		if (is_kw(t, "null"))
			n->opc = TEST_NULL;
		else if (is_kw(t, "true"))
			n->opc = TEST_TRUE;
		else if (is_kw(t, "false"))
			n->opc = TEST_FALSE;
		else if (is_kw(t, "unknown"))
			n->opc = TEST_UNKNOWN;
		else if (is_kw(t, "json") || is_kw(t, "document") ||
			 is_kw(t, "normalized") || is_kw(t, "of")) {
			unsupported(ps, t->loc, "this IS test");
			return NULL;
		} else {
			syntax_error(ps, t);
			return NULL;
		}
		next(ps);
		{
			static const char *const names[4][2] = {
			    {"IS NULL", "IS NOT NULL"},
			    {"IS TRUE", "IS NOT TRUE"},
			    {"IS FALSE", "IS NOT FALSE"},
			    {"IS UNKNOWN", "IS NOT UNKNOWN"},
			};
			n->op = names[n->opc][neg];
		}
		if (neg)
			n->flags |= NF_NOT;
		l = n;
	}
	return l;
}

static struct ss_where_node *p_not(struct parser *ps)
{
	struct tok *t = peek(ps);

	if (is_kw(t, "not")) {
		struct ss_where_node *e;

		next(ps);
		if (++ps->depth > MAX_NEST) {
			ss_err_set(ps->err, SS_ERR_INPUT,
				   "At location %d: expression is too deeply "
				   "nested",
				   t->loc);
			return NULL;
		}
		e = p_not(ps);
		ps->depth--;
		return e ? mk2(ps, SS_WHERE_NOT, t->loc, e, NULL) : NULL;
	}
	return p_is(ps);
}

static struct ss_where_node *p_and(struct parser *ps)
{
	struct ss_where_node *l = p_not(ps);

	while (l && is_kw(peek(ps), "and")) {
		struct tok *t = next(ps);
		struct ss_where_node *r = p_not(ps);

		if (!r)
			return NULL;
		/* left-nested ANDs flatten, like makeAndExpr */
		if (l->kind == SS_WHERE_AND && !(l->flags & NF_CASTSYNTAX))
			add_arg(ps, l, r);
		else
			l = mk2(ps, SS_WHERE_AND, t->loc, l, r);
	}
	return l;
}

static struct ss_where_node *p_or(struct parser *ps)
{
	struct ss_where_node *l = p_and(ps);

	while (l && is_kw(peek(ps), "or")) {
		struct tok *t = next(ps);
		struct ss_where_node *r = p_and(ps);

		if (!r)
			return NULL;
		if (l->kind == SS_WHERE_OR)
			add_arg(ps, l, r);
		else
			l = mk2(ps, SS_WHERE_OR, t->loc, l, r);
	}
	return l;
}

static struct ss_where_node *p_expr(struct parser *ps)
{
	struct ss_where_node *n;

	if (++ps->depth > MAX_NEST) {
		ss_err_set(ps->err, SS_ERR_INPUT,
			   "At location %d: expression is too deeply nested",
			   peek(ps)->loc);
		return NULL;
	}
	n = p_or(ps);
	ps->depth--;
	return n;
}

/*
 * The depth of the tree, found without recursion. Left-deep chains such as
 * 1+1+1+... or a::t::t... are built by loops, not by nested calls, so the
 * parser's own nesting limit does not bound them; the recursive passes
 * after parsing (type check, folding, evaluation) need this bound.
 */
static size_t tree_depth(const struct ss_where_node *root, size_t limit)
{
	struct frame {
		const struct ss_where_node *n;
		size_t depth;
	} *stack = NULL;
	size_t alloc = 0, sp = 0, max = 0;

	SS_GROW(stack, alloc, 1);
	stack[sp++] = (struct frame){root, 1};
	while (sp > 0) {
		struct frame f = stack[--sp];
		size_t i;

		if (f.depth > max)
			max = f.depth;
		if (max > limit)
			break;
		for (i = 0; i < f.n->nargs; i++) {
			SS_GROW(stack, alloc, sp + 1);
			stack[sp++] = (struct frame){f.n->args[i], f.depth + 1};
		}
	}
	free(stack);
	return max;
}

struct ss_where_node *ss_w_parse_expr(struct parser *ps)
{
	struct ss_where_node *n = p_expr(ps);

	if (n && tree_depth(n, MAX_DEPTH) > MAX_DEPTH) {
		ss_err_set(ps->err, SS_ERR_INPUT,
			   "At location 0: expression is too deeply nested");
		return NULL;
	}
	return n;
}

int ss_w_parse(struct arena *a, const char *text, size_t max_in, enum subq subq,
	       const char *subq_msg, struct ss_where_node **out,
	       struct ss_err *err)
{
	struct parser ps;
	struct ss_where_node *n = NULL;
	int rc = -1;

	memset(&ps, 0, sizeof(ps));
	ps.a = a;
	ps.src = text;
	ps.err = err;
	ps.max_in = max_in;
	ps.subq = subq;
	ps.subq_msg = subq_msg;
	if (ss_w_lex(&ps) < 0)
		goto done;
	if (peek(&ps)->t == TK_EOF) {
		syntax_error(&ps, peek(&ps));
		goto done;
	}
	n = p_expr(&ps);
	if (!n)
		goto done;
	/* As PostgreSQL splits statements: `;` at the end ends the one
	 * statement; anything after it is a second one. */
	if (peek(&ps)->t == TK_SEMI) {
		while (peek(&ps)->t == TK_SEMI)
			ps.pos++;
		if (peek(&ps)->t != TK_EOF) {
			ss_err_set(err, SS_ERR_INPUT,
				   "unescaped \";\" causing statement split");
			goto done;
		}
	}
	if (peek(&ps)->t != TK_EOF) {
		syntax_error(&ps, peek(&ps));
		goto done;
	}
	if (tree_depth(n, MAX_DEPTH) > MAX_DEPTH) {
		ss_err_set(err, SS_ERR_INPUT,
			   "At location 0: expression is too deeply nested");
		goto done;
	}
	*out = n;
	rc = 0;
done:
	free(ps.toks);
	return rc;
}
