/*
 * where_order.c — ORDER BY lists (subset__order_by) read with lib/where's
 * lexer and expression grammar, checked against the table's columns by
 * its type checker, and rendered back as canonical SQL: the only text of
 * an ORDER BY that reaches PostgreSQL is rendered from the tree.
 */
#include <stdio.h>

#include "where_lex.h"

/* A syntax error at byte `off` of the list. As ORDER BY's messages have
 * always been: the rest of the list from there (at most 100 bytes, cut at
 * a character boundary), and nothing after "near " at the end. */
static int syntax_at(const char *text, size_t off, struct ss_err *err)
{
	const char *rest = text + off;
	size_t n = strlen(rest);

	if (!n)
		return ss_err_set(err, SS_ERR_INPUT,
				  "syntax error at or near ");
	if (n > 100) {
		n = 100;
		while (n > 0 && ((unsigned char)rest[n] & 0xc0) == 0x80)
			n--;
	}
	return ss_err_set(err, SS_ERR_INPUT, "syntax error at or near \"%.*s\"",
			  (int)n, rest);
}

/* lib/where's messages begin "At location N: " (N counting from "SELECT 1
 * WHERE " for the lexer's and parser's errors); ORDER BY's carry no
 * location, and a syntax error is placed as syntax_at does. */
static int order_error(const char *text, struct ss_err *err)
{
	char msg[sizeof(err->msg)];
	const char *m = err->msg;
	int loc = -1, n = -1;

	if (sscanf(m, "At location %d: %n", &loc, &n) == 1 && n > 0)
		m += n;
	else
		loc = -1;
	snprintf(msg, sizeof(msg), "%s", m);
	if (!strncmp(msg, "where clause exceeds", 20))
		return ss_err_set(err, SS_ERR_INPUT, "ORDER BY list exceeds%s",
				  msg + 20);
	if (!strcmp(msg, "syntax error at end of input"))
		return syntax_at(text, strlen(text), err);
	if (!strncmp(msg, "syntax error at or near ", 24) &&
	    loc >= STATEMENT_PREFIX &&
	    (size_t)(loc - STATEMENT_PREFIX) <= strlen(text))
		return syntax_at(text, (size_t)(loc - STATEMENT_PREFIX), err);
	return ss_err_set(err, SS_ERR_INPUT, "%s", msg);
}

static int reads_column(const struct ss_where_node *n)
{
	size_t i;

	if (n->kind == SS_WHERE_COLUMN)
		return 1;
	for (i = 0; i < n->nargs; i++)
		if (reads_column(n->args[i]))
			return 1;
	return 0;
}

static void quote_columns(struct ss_where_node *n)
{
	size_t i;

	if (n->kind == SS_WHERE_COLUMN)
		n->flags |= NF_QUOTED;
	for (i = 0; i < n->nargs; i++)
		quote_columns(n->args[i]);
}

/* One item's expression, checked and rendered to out; 0, or -1 with
 * c->err in lib/where's wording. */
static int order_item(struct actx *c, struct ss_where_node *n,
		      struct ss_buf *out)
{
	size_t i;

	/* A plain column is sorted by PostgreSQL whatever its type (jsonb,
	 * inet, ...): only expressions need types the checker knows. */
	if (n->kind == SS_WHERE_COLUMN && !(n->flags & NF_NOT)) {
		for (i = 0; i < c->ncols; i++)
			if (strlen(c->cols[i].name) == n->textlen &&
			    !memcmp(c->cols[i].name, n->text, n->textlen))
				break;
		if (i == c->ncols)
			return ss_err_set(c->err, SS_ERR_INPUT,
					  "unknown reference %s", n->text);
		quote_columns(n);
		ss_w_render(n, out);
		return 0;
	}
	n = ss_w_analyze(c, n);
	if (!n)
		return -1;
	/* PostgreSQL reads a bare integer as a position in the select list,
	 * and sorting by a constant sorts nothing. */
	if (!reads_column(n))
		return ss_err_set(c->err, SS_ERR_INPUT,
				  "ORDER BY item must reference a column");
	quote_columns(n);
	ss_w_render(n, out);
	/* Constant parts fail here (division by zero), not in PostgreSQL. */
	return ss_w_fold(c->a, n, c->err) ? 0 : -1;
}

static int is_word(const struct tok *t, const char *w)
{
	return t->t == TK_IDENT && !strcmp(t->val, w);
}

int ss_where_order_by(const char *text, const struct ss_where_column *cols,
		      size_t ncols, const struct ss_where_limits *limits,
		      struct ss_buf *out, struct ss_err *err)
{
	struct ss_where_limits lim;
	struct ss_buf res = SS_BUF_INIT;
	struct arena arena;
	struct parser ps;
	struct actx c;
	struct tok *t;
	uint64_t work;
	int rc = -1;

	if (!text)
		text = "";
	if (ss_w_limits_check("ORDER BY list", text, limits, &lim, err) < 0)
		return -1;
	memset(&arena, 0, sizeof(arena));
	arena.work_max = lim.max_cost;
	memset(&ps, 0, sizeof(ps));
	ps.a = &arena;
	ps.src = text;
	ps.err = err;
	ps.max_in = lim.max_in;
	ss_w_actx_init(&c, &arena, cols, ncols, NULL, 0, err);
	if (ss_w_lex(&ps) < 0)
		goto done;
	arena.work = 0;
	for (;;) {
		struct ss_where_node *n;

		if (ps.toks[ps.pos].t == TK_EOF) {
			syntax_at(text, strlen(text), err);
			goto done;
		}
		/* As in a where clause, parsing is bounded by the text and
		 * not counted; checking and folding are, over the list. */
		work = arena.work;
		n = ss_w_parse_expr(&ps);
		arena.work = work;
		if (!n || order_item(&c, n, &res) < 0)
			goto done;
		t = &ps.toks[ps.pos];
		if (is_word(t, "asc") || is_word(t, "desc")) {
			ss_buf_adds(&res, is_word(t, "asc") ? " ASC" : " DESC");
			t = &ps.toks[++ps.pos];
		}
		if (is_word(t, "nulls")) {
			t = &ps.toks[++ps.pos];
			if (!is_word(t, "first") && !is_word(t, "last")) {
				syntax_at(text, (size_t)t->loc, err);
				goto done;
			}
			ss_buf_adds(&res, is_word(t, "first") ? " NULLS FIRST"
							      : " NULLS LAST");
			t = &ps.toks[++ps.pos];
		}
		if (t->t == TK_EOF)
			break;
		if (t->t != TK_COMMA) {
			syntax_at(text, (size_t)t->loc, err);
			goto done;
		}
		ps.pos++;
		ss_buf_adds(&res, ", ");
	}
	ss_buf_add(out, res.buf, res.len);
	rc = 0;
done:
	if (rc < 0)
		order_error(text, err);
	free(ps.toks);
	ss_w_arena_free(&arena);
	ss_buf_release(&res);
	return rc;
}
