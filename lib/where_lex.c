/*
 * where_lex.c — lib/where's lexer, following PostgreSQL's scanner rules
 * (identifiers, quoted identifiers, numbers, strings with their escapes,
 * parameters, operators), and the keyword lists the parser and the
 * renderer consult.
 */
#include <ctype.h>

#include "where_lex.h"

/* ------------------------------------------------------------------ */
/* Lexer */

static int is_ident_start(int c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static int is_ident_cont(int c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static int is_op_char(int c)
{
	return c && strchr("+-*/<>=~!@#%^&|`?", c) != NULL;
}
static int lex_error(struct parser *ps, int loc, const char *what)
{
	return ss_err_set(ps->err, SS_ERR_INPUT, "At location %d: %s",
			  PARSE_LOC(loc), what);
}

static void add_tok(struct parser *ps, size_t *alloc, enum tk t, int loc,
		    size_t srclen, const char *val, size_t vlen)
{
	struct tok *k;

	SS_GROW(ps->toks, *alloc, ps->ntok + 1);
	k = &ps->toks[ps->ntok++];
	k->t = t;
	k->loc = loc;
	k->srclen = srclen;
	k->val = ss_w_arena_strndup(ps->a, val, vlen);
	k->vlen = vlen;
}

static void utf8_put(struct ss_buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		ss_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		ss_buf_addc(b, (char)(0xc0 | (cp >> 6)));
		ss_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		ss_buf_addc(b, (char)(0xe0 | (cp >> 12)));
		ss_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		ss_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		ss_buf_addc(b, (char)(0xf0 | (cp >> 18)));
		ss_buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		ss_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		ss_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* Scan a string literal starting at the opening quote s[i]; `esc` for
 * E'' strings with backslash escapes. */
static int lex_string(struct parser *ps, size_t *i, int esc, struct ss_buf *b)
{
	const char *s = ps->src;
	int start = (int)*i;
	size_t j = *i + 1;

	for (;;) {
		if (!s[j])
			return lex_error(ps, start,
					 "unterminated quoted string");
		if (s[j] == '\'') {
			if (s[j + 1] == '\'') {
				ss_buf_addc(b, '\'');
				j += 2;
				continue;
			}
			j++;
			break;
		}
		if (esc && s[j] == '\\' && s[j + 1]) {
			char c = s[j + 1];

			j += 2;
			switch (c) {
			case 'b':
				ss_buf_addc(b, '\b');
				break;
			case 'f':
				ss_buf_addc(b, '\f');
				break;
			case 'n':
				ss_buf_addc(b, '\n');
				break;
			case 'r':
				ss_buf_addc(b, '\r');
				break;
			case 't':
				ss_buf_addc(b, '\t');
				break;
			case 'x': {
				int v = 0, k;

				for (k = 0;
				     k < 2 && isxdigit((unsigned char)s[j]);
				     k++, j++)
					v = v * 16 +
					    ss_hexval((unsigned char)s[j]);
				if (k == 0)
					ss_buf_addc(b, 'x');
				else if (v == 0)
					/* as for octal: a NUL would cut
					 * the string short */
					return lex_error(
					    ps, start,
					    "invalid byte sequence "
					    "for encoding \"UTF8\": "
					    "0x00");
				else
					ss_buf_addc(b, (char)v);
				break;
			}
			case 'u':
			case 'U': {
				int n = c == 'u' ? 4 : 8, k;
				unsigned long cp = 0;

				for (k = 0; k < n; k++) {
					if (!isxdigit((unsigned char)s[j + k]))
						return lex_error(
						    ps, (int)j,
						    "invalid Unicode escape");
					cp = cp * 16 +
					     (unsigned long)ss_hexval(
						 (unsigned char)s[j + k]);
				}
				j += (size_t)n;
				if (cp == 0 || cp > 0x10ffff ||
				    (cp >= 0xd800 && cp <= 0xdfff))
					return lex_error(
					    ps, (int)j,
					    "invalid Unicode escape value");
				utf8_put(b, cp);
				break;
			}
			default:
				if (c >= '0' && c <= '7') {
					int v = c - '0', k;

					for (k = 0; k < 2 && s[j] >= '0' &&
						    s[j] <= '7';
					     k++, j++)
						v = v * 8 + (s[j] - '0');
					if ((v & 0xff) == 0)
						return lex_error(
						    ps, start,
						    "invalid byte sequence "
						    "for encoding \"UTF8\": "
						    "0x00");
					ss_buf_addc(b, (char)v);
				} else {
					ss_buf_addc(b, c);
				}
			}
			continue;
		}
		ss_buf_addc(b, s[j]);
		j++;
	}
	*i = j;
	return 0;
}

int ss_w_lex(struct parser *ps)
{
	const char *s = ps->src;
	size_t i = 0, alloc = 0;
	struct ss_buf b = SS_BUF_INIT;

	for (;;) {
		unsigned char c = (unsigned char)s[i];
		int loc = (int)i;

		if (!c)
			break;
		if (isspace(c)) {
			i++;
			continue;
		}
		if (c == '-' && s[i + 1] == '-') {
			while (s[i] && s[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && s[i + 1] == '*') {
			int nest = 1;

			i += 2;
			while (s[i] && nest) {
				if (s[i] == '*' && s[i + 1] == '/') {
					nest--;
					i += 2;
				} else if (s[i] == '/' && s[i + 1] == '*') {
					nest++;
					i += 2;
				} else {
					i++;
				}
			}
			if (nest) {
				ss_buf_release(&b);
				return lex_error(ps, loc,
						 "unterminated /* comment");
			}
			continue;
		}
		ss_buf_reset(&b);
		if ((c == 'e' || c == 'E') && s[i + 1] == '\'') {
			i++;
			if (lex_string(ps, &i, 1, &b) < 0) {
				ss_buf_release(&b);
				return -1;
			}
			add_tok(ps, &alloc, TK_STR, loc, i - (size_t)loc, b.buf,
				b.len);
			continue;
		}
		if (c == '\'') {
			if (lex_string(ps, &i, 0, &b) < 0) {
				ss_buf_release(&b);
				return -1;
			}
			add_tok(ps, &alloc, TK_STR, loc, i - (size_t)loc, b.buf,
				b.len);
			continue;
		}
		if (c == '"') {
			size_t j = i + 1;

			for (;;) {
				if (!s[j]) {
					ss_buf_release(&b);
					return lex_error(
					    ps, loc,
					    "unterminated quoted identifier");
				}
				if (s[j] == '"') {
					if (s[j + 1] == '"') {
						ss_buf_addc(&b, '"');
						j += 2;
						continue;
					}
					j++;
					break;
				}
				ss_buf_addc(&b, s[j++]);
			}
			if (b.len == 0) {
				ss_buf_release(&b);
				return lex_error(
				    ps, loc,
				    "zero-length delimited identifier");
			}
			if (b.len > 63)
				ss_buf_setlen(&b, 63);
			add_tok(ps, &alloc, TK_QIDENT, loc, j - i, b.buf,
				b.len);
			i = j;
			continue;
		}
		if (is_ident_start(c)) {
			size_t j = i;

			while (s[j] && is_ident_cont((unsigned char)s[j])) {
				ss_buf_addc(&b,
					    (char)tolower((unsigned char)s[j]));
				j++;
			}
			if (b.len > 63)
				ss_buf_setlen(&b, 63);
			add_tok(ps, &alloc, TK_IDENT, loc, j - i, b.buf, b.len);
			i = j;
			continue;
		}
		if (isdigit(c) ||
		    (c == '.' && isdigit((unsigned char)s[i + 1]))) {
			size_t j = i;
			int isnum = 0;

			while (isdigit((unsigned char)s[j]))
				j++;
			if (s[j] == '.' && s[j + 1] != '.') {
				isnum = 1;
				j++;
				while (isdigit((unsigned char)s[j]))
					j++;
			}
			if ((s[j] == 'e' || s[j] == 'E') &&
			    (isdigit((unsigned char)s[j + 1]) ||
			     ((s[j + 1] == '+' || s[j + 1] == '-') &&
			      isdigit((unsigned char)s[j + 2])))) {
				isnum = 1;
				j += 2;
				while (isdigit((unsigned char)s[j]))
					j++;
			}
			if (is_ident_start((unsigned char)s[j])) {
				/* PostgreSQL 15 reports junk after a number
				 * at the junk. */
			}
			add_tok(ps, &alloc, isnum ? TK_NUM : TK_INT, loc, j - i,
				s + i, j - i);
			i = j;
			continue;
		}
		if (c == '$') {
			size_t j = i + 1;

			if (!isdigit((unsigned char)s[j])) {
				ss_buf_release(&b);
				return ss_err_set(
				    ps->err, SS_ERR_INPUT,
				    "At location %d: syntax error "
				    "at or near \"$\"",
				    PARSE_LOC(loc));
			}
			while (isdigit((unsigned char)s[j]))
				j++;
			add_tok(ps, &alloc, TK_PARAM, loc, j - i, s + i + 1,
				j - i - 1);
			i = j;
			continue;
		}
		if (is_op_char(c)) {
			size_t j = i, n, k;
			int special = 0;

			while (is_op_char((unsigned char)s[j])) {
				if (j > i &&
				    ((s[j] == '-' && s[j + 1] == '-') ||
				     (s[j] == '/' && s[j + 1] == '*')))
					break;
				if (j == i &&
				    ((s[j] == '-' && s[j + 1] == '-') ||
				     (s[j] == '/' && s[j + 1] == '*')))
					break;
				j++;
			}
			n = j - i;
			/* A multi-char operator may end in + or - only if it
			 * has one of ~!@#%^&|`? in it (so a=-1 is a = -1). */
			for (k = 0; k < n; k++)
				if (strchr("~!@#%^&|`?", s[i + k]))
					special = 1;
			if (n > 1 && !special)
				while (n > 1 && (s[i + n - 1] == '+' ||
						 s[i + n - 1] == '-'))
					n--;
			if (n == 2 && s[i] == '!' && s[i + 1] == '=')
				add_tok(ps, &alloc, TK_OP, loc, 2, "<>", 2);
			else
				add_tok(ps, &alloc, TK_OP, loc, n, s + i, n);
			i += n;
			continue;
		}
		{
			enum tk t;

			switch (c) {
			case '(':
				t = TK_LPAREN;
				break;
			case ')':
				t = TK_RPAREN;
				break;
			case '[':
				t = TK_LBRACK;
				break;
			case ']':
				t = TK_RBRACK;
				break;
			case ',':
				t = TK_COMMA;
				break;
			case ';':
				t = TK_SEMI;
				break;
			case '.':
				t = TK_DOT;
				break;
			case ':':
				if (s[i + 1] == ':') {
					add_tok(ps, &alloc, TK_DCOLON, loc, 2,
						"::", 2);
					i += 2;
					continue;
				}
				t = TK_COLON;
				break;
			default: {
				/* PostgreSQL reports stray characters as a
				 * syntax error at them. */
				size_t n = 1;

				while ((((unsigned char)s[i + n]) & 0xc0) ==
				       0x80)
					n++;
				ss_buf_release(&b);
				return ss_err_set(
				    ps->err, SS_ERR_INPUT,
				    "At location %d: syntax error "
				    "at or near \"%.*s\"",
				    PARSE_LOC(loc), (int)n, s + i);
			}
			}
			add_tok(ps, &alloc, t, loc, 1, s + i, 1);
			i++;
		}
	}
	ss_buf_release(&b);
	add_tok(ps, &alloc, TK_EOF, (int)i, 0, "", 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Keywords */

/* Words that cannot be a bare column reference (PostgreSQL's reserved and
 * type_func_name keywords), so "a and b" reads as an AND. */
static const char *const reserved[] = {
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
};

/* Column-name keywords: usable as column names but quoted on output to be
 * safe, and special before '(' or a string. */
static const char *const colname_kw[] = {
    "between",	     "bigint",	  "bit",	"boolean",   "char",
    "character",     "coalesce",  "dec",	"decimal",   "exists",
    "extract",	     "float",	  "greatest",	"grouping",  "inout",
    "int",	     "integer",	  "interval",	"least",     "national",
    "nchar",	     "none",	  "normalize",	"nullif",    "numeric",
    "out",	     "overlay",	  "position",	"precision", "real",
    "row",	     "setof",	  "smallint",	"substring", "time",
    "timestamp",     "treat",	  "trim",	"values",    "varchar",
    "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest",
    "xmlnamespaces", "xmlparse",  "xmlpi",	"xmlroot",   "xmlserialize",
    "xmltable",
};

int ss_w_in_list(const char *const *list, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], w) == 0)
			return 1;
	return 0;
}

int ss_w_is_reserved(const char *w)
{
	return ss_w_in_list(reserved, sizeof(reserved) / sizeof(reserved[0]),
			    w);
}

int ss_w_is_colname_kw(const char *w)
{
	return ss_w_in_list(colname_kw,
			    sizeof(colname_kw) / sizeof(colname_kw[0]), w);
}
