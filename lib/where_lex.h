/*
 * where_lex.h — internals shared by lib/where's lexer (where_lex.c) and
 * parser (where_parse.c): the token stream, the parser state the lexer
 * fills, error locations, and the keyword lists. Not a public interface.
 */
#ifndef SS_WHERE_LEX_H
#define SS_WHERE_LEX_H

#include "where_int.h"

enum tk {
	TK_EOF,
	TK_IDENT,  /* unquoted identifier or keyword; val is lowercased */
	TK_QIDENT, /* "quoted identifier" */
	TK_INT,
	TK_NUM,
	TK_STR,
	TK_PARAM,
	TK_OP,
	TK_LPAREN,
	TK_RPAREN,
	TK_LBRACK,
	TK_RBRACK,
	TK_COMMA,
	TK_DCOLON,
	TK_COLON,
	TK_DOT,
	TK_SEMI,
};

struct tok {
	enum tk t;
	int loc;
	size_t srclen;	 /* length of the token in the source */
	const char *val; /* unescaped value, NUL-terminated (arena) */
	size_t vlen;
};

/*
 * Deepest tree accepted: the type checker, folder, renderer and evaluator
 * recurse over it. The parser's own nesting counter (parentheses, NOT,
 * unary operators) may go to twice that, which is what the canonical text
 * of the deepest tree needs ("NOT (NOT (...))"), and bounds the parser's
 * stack use.
 */
#define MAX_DEPTH 500
#define MAX_NEST (2 * MAX_DEPTH + 10)

struct parser {
	struct arena *a;
	const char *src;
	struct tok *toks;
	size_t ntok, pos;
	struct ss_err *err;
	int depth;
	size_t max_in;
	enum subq subq;
	const char *subq_msg;
};

/*
 * Where an error is placed. Electric parses `SELECT 1 WHERE <clause>` with
 * PostgreSQL's own parser (libpg_query), so the errors that parser raises
 * (the lexer's, and syntax errors) count from the start of that statement:
 * `1 x 1` is "At location 17". Errors of its own walk over the tree
 * (unknown references, types) count from the start of the clause.
 */
#define STATEMENT_PREFIX 15 /* strlen("SELECT 1 WHERE ") */
#define PARSE_LOC(loc) ((loc) + STATEMENT_PREFIX)

/* Tokenize ps->src into ps->toks (arena strings, array owned by the
 * caller: free(ps->toks)), ending with TK_EOF; 0, or -1 with ps->err. */
int ss_w_lex(struct parser *ps);
/* Parse one expression from the token at ps->pos (after ss_w_lex),
 * leaving ps->pos at the first token after it (where_parse.c; the where
 * clause and ORDER BY items of where_order.c): the tree, no deeper than
 * MAX_DEPTH, or NULL with ps->err. */
struct ss_where_node *ss_w_parse_expr(struct parser *ps);
/* Is w one of list[0..n)? */
int ss_w_in_list(const char *const *list, size_t n, const char *w);
/* Is w (lowercase) a reserved or type_func_name keyword, which cannot be
 * a bare column reference? */
int ss_w_is_reserved(const char *w);
/* Is w a col_name keyword (a column name, quoted on output to be safe,
 * special before '(' or a string)? */
int ss_w_is_colname_kw(const char *w);

#endif
