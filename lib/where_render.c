/*
 * where_render.c — lib/where's canonical renderer: an analysed, unfolded
 * tree printed back as SQL that parses to the same tree (the canonical
 * text that names a shape).
 */
#include "where_lex.h"

/* ------------------------------------------------------------------ */
/* Canonical rendering */

static void render_ident(const char *s, size_t len, int quote,
			 struct ss_buf *out)
{
	size_t i;
	int plain =
	    !quote && len > 0 && ((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_');
	char tmp[64];

	for (i = 0; i < len && plain; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '$'))
			plain = 0;
	if (plain && len < sizeof(tmp)) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		if (ss_w_is_reserved(tmp) || ss_w_is_colname_kw(tmp) ||
		    !strcmp(tmp, "unknown") || !strcmp(tmp, "escape"))
			plain = 0;
	}
	if (plain) {
		ss_buf_add(out, s, len);
		return;
	}
	ss_buf_addc(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			ss_buf_addc(out, '"');
		ss_buf_addc(out, s[i]);
	}
	ss_buf_addc(out, '"');
}

void ss_w_render_ident(const char *s, struct ss_buf *out)
{
	render_ident(s, strlen(s), 0, out);
}

static void render_str(const char *s, size_t len, struct ss_buf *out)
{
	size_t i;

	ss_buf_addc(out, '\'');
	for (i = 0; i < len; i++) {
		if (s[i] == '\'')
			ss_buf_addc(out, '\'');
		ss_buf_addc(out, s[i]);
	}
	ss_buf_addc(out, '\'');
}

static const struct ss_where_node *skip_implicit(const struct ss_where_node *n)
{
	while (n->kind == SS_WHERE_CAST && (n->flags & NF_IMPLICIT))
		n = n->args[0];
	return n;
}

static int atomic(const struct ss_where_node *n)
{
	n = skip_implicit(n);
	switch (n->kind) {
	case SS_WHERE_CONST:
		return 1;
	case SS_WHERE_COLUMN:
	case SS_WHERE_FUNC:
	case SS_WHERE_ARRAY:
	case SS_WHERE_SUBSCRIPT:
		return 1;
	case SS_WHERE_CAST:
		return 1;
	default:
		return 0;
	}
}

/*
 * Does the operand of a prefix operator need parentheses? A compound one
 * does, and a literal ("- -1" would start a comment, "-1" is another
 * literal). A constant rendered with its type ('17'::float8, a typed
 * parameter or a folded value) does not: it reads back as a cast, which
 * binds tighter than the operator and renders without them, so the
 * canonical text is the same the second time.
 */
static int prefix_paren(const struct ss_where_node *a)
{
	a = skip_implicit(a);
	if (!atomic(a))
		return 1;
	if (a->kind != SS_WHERE_CONST)
		return 0;
	if (a->lit == LIT_NONE)
		return 0;
	return !(a->lit == LIT_PARAM && a->type.base != WT_NULL &&
		 !(a->type.base == WT_UNKNOWN && !a->type.array));
}

static void render_sub(const struct ss_where_node *n, struct ss_buf *out)
{
	if (atomic(n)) {
		ss_w_render(n, out);
	} else {
		ss_buf_addc(out, '(');
		ss_w_render(n, out);
		ss_buf_addc(out, ')');
	}
}

static const char *like_name(int opc)
{
	switch (opc) {
	case NOP_LIKE:
		return "LIKE";
	case NOP_ILIKE:
		return "ILIKE";
	case NOP_NLIKE:
		return "NOT LIKE";
	case NOP_NILIKE:
		return "NOT ILIKE";
	}
	return NULL;
}

/* Arguments from..nargs of n, comma separated. */
static void render_args(const struct ss_where_node *n, size_t from,
			struct ss_buf *out)
{
	size_t i;

	for (i = from; i < n->nargs; i++) {
		if (i > from)
			ss_buf_adds(out, ", ");
		ss_w_render(n->args[i], out);
	}
}

void ss_w_render(const struct ss_where_node *n, struct ss_buf *out)
{
	size_t i;

	n = skip_implicit(n);
	switch (n->kind) {
	case SS_WHERE_CONST:
		switch (n->lit) {
		case LIT_INT: {
			/* drop leading zeros: 007 is 7 */
			const char *p = n->text;
			size_t len = n->textlen;

			if (*p == '-') {
				ss_buf_addc(out, '-');
				p++, len--;
			}
			while (len > 1 && *p == '0')
				p++, len--;
			ss_buf_add(out, p, len);
			break;
		}
		case LIT_NUM:
			ss_buf_add(out, n->text, n->textlen);
			break;
		case LIT_STR:
			render_str(n->text, n->textlen, out);
			break;
		case LIT_BOOL:
			ss_buf_adds(out, n->text[0] == 't' ? "true" : "false");
			break;
		case LIT_NULL:
			ss_buf_adds(out, "NULL");
			break;
		case LIT_PARAM:
			if (!n->text) {
				ss_buf_adds(out, "NULL");
			} else {
				render_str(n->text, n->textlen, out);
			}
			/* a parameter keeps the type its context gave it;
			 * one no context typed stays an untyped literal */
			if (n->type.base != WT_NULL &&
			    !(n->type.base == WT_UNKNOWN && !n->type.array)) {
				ss_buf_adds(out, "::");
				ss_w_type_canon(&n->type, out);
			}
			break;
		case LIT_NONE: {
			/* a folded constant: its text and type */
			struct ss_buf b = SS_BUF_INIT;

			if (n->val.isnull) {
				ss_buf_adds(out, "NULL");
			} else {
				ss_w_val_out(&n->type, &n->val, &b);
				render_str(b.buf, b.len, out);
			}
			ss_buf_adds(out, "::");
			ss_w_type_canon(&n->type, out);
			ss_buf_release(&b);
			break;
		}
		}
		break;
	case SS_WHERE_COLUMN:
		render_ident(n->text, n->textlen, n->flags & NF_QUOTED, out);
		break;
	case SS_WHERE_AND:
	case SS_WHERE_OR:
		for (i = 0; i < n->nargs; i++) {
			if (i)
				ss_buf_adds(out, n->kind == SS_WHERE_AND
						     ? " AND "
						     : " OR ");
			render_sub(n->args[i], out);
		}
		break;
	case SS_WHERE_NOT:
		ss_buf_adds(out, "NOT ");
		render_sub(n->args[0], out);
		break;
	case SS_WHERE_OP:
		if (n->nargs == 1) {
			int paren = prefix_paren(n->args[0]);

			ss_buf_adds(out, n->op);
			if (paren)
				ss_buf_addc(out, '(');
			ss_w_render(n->args[0], out);
			if (paren)
				ss_buf_addc(out, ')');
			break;
		}
		render_sub(n->args[0], out);
		ss_buf_addc(out, ' ');
		ss_buf_adds(out, like_name(n->opc) ? like_name(n->opc) : n->op);
		ss_buf_addc(out, ' ');
		render_sub(n->args[1], out);
		if (n->nargs == 3) {
			ss_buf_adds(out, " ESCAPE ");
			render_sub(n->args[2], out);
		}
		break;
	case SS_WHERE_TEST:
		render_sub(n->args[0], out);
		ss_buf_addc(out, ' ');
		ss_buf_adds(out, n->op);
		break;
	case SS_WHERE_DISTINCT:
		render_sub(n->args[0], out);
		ss_buf_addc(out, ' ');
		ss_buf_adds(out, n->op);
		ss_buf_addc(out, ' ');
		render_sub(n->args[1], out);
		break;
	case SS_WHERE_IN:
		render_sub(n->args[0], out);
		ss_buf_adds(out, (n->flags & NF_NOT) ? " NOT IN (" : " IN (");
		render_args(n, 1, out);
		ss_buf_addc(out, ')');
		break;
	case SS_WHERE_SUBLINK:
		if (n->flags & NF_ROW) {
			ss_buf_addc(out, '(');
			render_args(n, 0, out);
			ss_buf_addc(out, ')');
		} else {
			render_sub(n->args[0], out);
		}
		ss_buf_adds(out, (n->flags & NF_NOT) ? " NOT IN (" : " IN (");
		ss_buf_adds(out, n->sub->select);
		ss_buf_addc(out, ')');
		break;
	case SS_WHERE_ANY:
	case SS_WHERE_ALL:
		render_sub(n->args[0], out);
		ss_buf_addc(out, ' ');
		ss_buf_adds(out, like_name(n->opc) ? like_name(n->opc) : n->op);
		ss_buf_adds(out, n->kind == SS_WHERE_ANY ? " ANY (" : " ALL (");
		ss_w_render(n->args[1], out);
		ss_buf_addc(out, ')');
		break;
	case SS_WHERE_BETWEEN:
		render_sub(n->args[0], out);
		ss_buf_addc(out, ' ');
		ss_buf_adds(out, n->op);
		ss_buf_addc(out, ' ');
		render_sub(n->args[1], out);
		ss_buf_adds(out, " AND ");
		render_sub(n->args[2], out);
		break;
	case SS_WHERE_CAST: {
		const struct ss_where_node *a = skip_implicit(n->args[0]);

		if (a->kind == SS_WHERE_CONST || a->kind == SS_WHERE_COLUMN ||
		    a->kind == SS_WHERE_FUNC || a->kind == SS_WHERE_CAST ||
		    a->kind == SS_WHERE_ARRAY) {
			if (a->kind == SS_WHERE_CONST &&
			    (a->lit == LIT_INT || a->lit == LIT_NUM) &&
			    a->text[0] == '-') {
				/* -1::t would read as -(1::t) */
				ss_buf_addc(out, '(');
				ss_w_render(a, out);
				ss_buf_addc(out, ')');
			} else {
				ss_w_render(a, out);
			}
		} else {
			ss_buf_addc(out, '(');
			ss_w_render(a, out);
			ss_buf_addc(out, ')');
		}
		ss_buf_adds(out, "::");
		ss_w_type_canon(&n->type, out);
		break;
	}
	case SS_WHERE_FUNC:
		ss_buf_adds(out, n->op);
		ss_buf_addc(out, '(');
		render_args(n, 0, out);
		ss_buf_addc(out, ')');
		break;
	case SS_WHERE_ARRAY:
		ss_buf_adds(out, "ARRAY[");
		render_args(n, 0, out);
		ss_buf_addc(out, ']');
		break;
	case SS_WHERE_SUBSCRIPT: {
		const struct ss_where_node *a = skip_implicit(n->args[0]);

		if (a->kind == SS_WHERE_COLUMN)
			ss_w_render(a, out);
		else {
			ss_buf_addc(out, '(');
			ss_w_render(a, out);
			ss_buf_addc(out, ')');
		}
		ss_buf_addc(out, '[');
		ss_w_render(n->args[1], out);
		ss_buf_addc(out, ']');
		break;
	}
	}
}
