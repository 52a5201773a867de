/*
 * test-where-sublink.c — runs tests/data/sublink.test against lib/where's
 * subqueries (`x IN (SELECT ...)`): what compiles and what error it gets
 * (with the 400 body's field), the canonical text, the dependencies, and
 * evaluation against views given in the file.
 *
 *   test-where-sublink FILE     run the cases; exit 1 if any fails
 *
 * File format (a case is a block ended by a blank line; # comments):
 *   deftable SCHEMA.NAME COL:TYPE...   a table subqueries may name (outside
 *                                      a case; for every case after it)
 *   defcol NAME TYPE                   a column of the outer table
 *   where TEXT                         the clause (first line of a case)
 *   param TEXT                         the next $n
 *   nosubq MESSAGE                     compile without tables, with
 *                                      no_subquery_msg MESSAGE
 *   error MESSAGE                      compiling fails with MESSAGE
 *   field NAME                         ... and that 400 field (default where)
 *   canon TEXT                         the canonical text
 *   deps N                             N dependencies
 *   dep I SELECT                       dependency I's canonical SELECT
 *   depwhere I TEXT                    its inner clause ("-": none)
 *   deptypes I T1 T2...                its select list's types
 *   view I V1 | V2 ...                 add a row to dependency I's result
 *                                      (\N is NULL)
 *   row V1 | V2 ... => R               evaluate (true, false, null, or
 *                                      "error MESSAGE" without views)
 * Every case that compiles is also checked to compile again from its
 * canonical text to the same text and dependencies.
 */
#include "util.h"
#include "where.h"
#include "tablefile.h"

#define MAXCOLS 16
#define MAXTABLES 16
#define MAXVIEW 64

struct table {
	char *schema, *name;
	struct ss_where_column cols[MAXCOLS];
	char *buf[MAXCOLS * 2];
	size_t ncols;
};

static struct table tables[MAXTABLES];
static size_t ntables;
static struct ss_where_column outer[MAXCOLS];
static char *outerbuf[MAXCOLS * 2];
static size_t nouter;
static int ncases, nchecks, describes;

/* The views of the case being run: rows of each dependency. */
struct vrow {
	size_t dep, n;
	char *v[MAXCOLS];
};
static struct vrow view[MAXVIEW];
static size_t nview;

static int describe(void *ctx, const char *schema, const char *name,
		    const struct ss_where_column **cols, size_t *ncols,
		    struct ss_err *err)
{
	size_t i;

	(void)ctx;
	describes++;
	if (!strcmp(name, "broken"))
		return ss_err_set(err, SS_ERR_RUNTIME, "catalog unreachable");
	for (i = 0; i < ntables; i++)
		if (!strcmp(tables[i].schema, schema) &&
		    !strcmp(tables[i].name, name)) {
			*cols = tables[i].cols;
			*ncols = tables[i].ncols;
			return 1;
		}
	return 0;
}

/* SQL IN over the rows of dependency `dep`: row equality is false when a
 * pair differs, null when none differs but one side is NULL. */
static int member(void *ctx, size_t dep, const char *const *vals, size_t n,
		  int *res, struct ss_err *err)
{
	size_t i, k;
	int any_null = 0;

	(void)ctx;
	(void)err;
	for (i = 0; i < nview; i++) {
		int eq = 1;

		if (view[i].dep != dep || view[i].n != n)
			continue;
		for (k = 0; k < n && eq != 0; k++) {
			if (!vals[k] || !view[i].v[k])
				eq = -1;
			else if (strcmp(vals[k], view[i].v[k]))
				eq = 0;
		}
		if (eq == 1) {
			*res = 1;
			return 0;
		}
		if (eq < 0)
			any_null = 1;
	}
	*res = any_null ? -1 : 0;
	return 0;
}

static size_t split(char *s, const char *sep, char **out, size_t max)
{
	size_t n = 0, l = strlen(sep);

	for (;;) {
		char *p = strstr(s, sep);

		if (p)
			*p = '\0';
		if (n < max) {
			char *v = tf_trim(s);

			out[n++] = strcmp(v, "\\N") ? v : NULL;
		}
		if (!p)
			return n;
		s = p + l;
	}
}

static struct ss_where *compile(const char *text, char **params, size_t nparams,
				const char *nosubq, const char **field,
				struct ss_err *err)
{
	struct ss_where_tables t = {describe, NULL};
	struct ss_where_opts o;
	struct ss_where *w = NULL;

	memset(&o, 0, sizeof(o));
	if (nosubq)
		o.no_subquery_msg = nosubq;
	else
		o.tables = &t;
	o.err_field = field;
	if (ss_where_compile_opts(text, outer, nouter,
				  (const char *const *)params, nparams, &o, &w,
				  err) < 0)
		return NULL;
	return w;
}

static const char *res_name(int r)
{
	return r > 0 ? "true" : r == 0 ? "false" : "null";
}

int main(int argc, char **argv)
{
	FILE *f;
	char line[8192];
	int lineno = 0, caseline = 0, compiled = 0;
	char *where = NULL, *params[16], *nosubq = NULL;
	size_t nparams = 0, i;
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;
	const char *field = "where";

	if (argc != 2) {
		fprintf(stderr, "usage: test-where-sublink FILE\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	for (;;) {
		char *s = fgets(line, sizeof(line), f) ? tf_trim(line) : NULL;

		if (s)
			lineno++;
		if (s && *s == '#')
			continue;
		if (!s || !*s) { /* end of a case */
			if (where && compiled == 0)
				tf_fail(argv[1], caseline,
					"case checks nothing");
			if (w) { /* the canonical text compiles to itself */
				struct ss_err e2 = SS_ERR_INIT;
				const char *f2 = NULL;
				struct ss_where *w2 =
				    compile(ss_where_canonical_text(w), NULL, 0,
					    NULL, &f2, &e2);

				nchecks++;
				if (!w2)
					tf_fail(argv[1], caseline,
						"canonical text does not "
						"compile: %s",
						e2.msg);
				else if (strcmp(ss_where_canonical_text(w),
						ss_where_canonical_text(w2)) ||
					 ss_where_ndeps(w) !=
					     ss_where_ndeps(w2))
					tf_fail(argv[1], caseline,
						"canonical text not stable: %s",
						ss_where_canonical_text(w2));
				ss_where_free(w2);
			}
			ss_where_free(w);
			w = NULL;
			free(where);
			where = NULL;
			for (i = 0; i < nparams; i++)
				free(params[i]);
			nparams = 0;
			for (i = 0; i < nview; i++)
				free(view[i].v[MAXCOLS - 1]);
			nview = 0;
			free(nosubq);
			nosubq = NULL;
			compiled = 0;
			field = "where";
			ss_err_clear(&err);
			if (!s)
				break;
			continue;
		}
		if (!strncmp(s, "deftable ", 9)) {
			struct table *t = &tables[ntables++];
			char *parts[MAXCOLS + 1], *dot;
			size_t n =
			    split(ss_xstrdup(s + 9), " ", parts, MAXCOLS + 1);

			dot = strchr(parts[0], '.');
			*dot = '\0';
			t->schema = parts[0];
			t->name = dot + 1;
			for (i = 1; i < n; i++) {
				char *c = strchr(parts[i], ':');

				*c = '\0';
				t->cols[t->ncols].name = parts[i];
				t->cols[t->ncols].type = c + 1;
				t->ncols++;
			}
			continue;
		}
		if (!strncmp(s, "defcol ", 7)) {
			char *p[2];

			split(ss_xstrdup(s + 7), " ", p, 2);
			outerbuf[nouter * 2] = p[0];
			outer[nouter].name = p[0];
			outer[nouter].type = p[1];
			nouter++;
			continue;
		}
		if (!strncmp(s, "where ", 6)) {
			where = ss_xstrdup(s + 6);
			caseline = lineno;
			ncases++;
			continue;
		}
		if (!where) {
			tf_fail(argv[1], lineno, "line outside a case: %s", s);
			continue;
		}
		if (!strncmp(s, "param ", 6)) {
			params[nparams++] = ss_xstrdup(s + 6);
			continue;
		}
		if (!strncmp(s, "nosubq ", 7)) {
			nosubq = ss_xstrdup(s + 7);
			continue;
		}
		if (!strncmp(s, "view ", 5)) {
			struct vrow *r = &view[nview++];
			char *copy = ss_xstrdup(s + 5), *sp = strchr(copy, ' ');

			*sp = '\0';
			r->dep = (size_t)strtoul(copy, NULL, 10);
			r->n = split(sp + 1, " | ", r->v, MAXCOLS - 1);
			r->v[MAXCOLS - 1] = copy; /* to free */
			continue;
		}
		if (compiled == 0) {
			w = compile(where, params, nparams, nosubq, &field,
				    &err);
			compiled = w ? 1 : -1;
		}
		nchecks++;
		if (!strncmp(s, "error ", 6)) {
			if (w)
				tf_fail(argv[1], lineno,
					"compiled, expected: %s", s + 6);
			else if (strcmp(err.msg, s + 6))
				tf_fail(argv[1], lineno,
					"expected error '%s', got '%s'", s + 6,
					err.msg);
			continue;
		}
		if (!strncmp(s, "field ", 6)) {
			if (strcmp(field, s + 6))
				tf_fail(argv[1], lineno,
					"field %s, expected %s", field, s + 6);
			continue;
		}
		if (!w) {
			tf_fail(argv[1], lineno, "'%s' does not compile: %s",
				where, err.msg);
			compiled = 2;
			continue;
		}
		if (!strncmp(s, "canon ", 6)) {
			if (strcmp(ss_where_canonical_text(w), s + 6))
				tf_fail(argv[1], lineno, "canonical '%s'",
					ss_where_canonical_text(w));
		} else if (!strncmp(s, "deps ", 5)) {
			if (ss_where_ndeps(w) !=
			    (size_t)strtoul(s + 5, NULL, 10))
				tf_fail(argv[1], lineno, "%zu dependencies",
					ss_where_ndeps(w));
		} else if (!strncmp(s, "dep", 3)) {
			char *kw = s, *sp = strchr(s, ' '), *arg;
			const struct ss_where_dep *d;
			struct ss_buf got = SS_BUF_INIT;

			*sp = '\0';
			d = ss_where_dep_at(w,
					    (size_t)strtoul(sp + 1, NULL, 10));
			arg = strchr(sp + 1, ' ');
			arg = arg ? arg + 1 : sp + 1;
			if (!d) {
				tf_fail(argv[1], lineno, "no dependency %s",
					sp + 1);
				continue;
			}
			if (!strcmp(kw, "dep")) {
				ss_buf_adds(&got, d->select);
			} else if (!strcmp(kw, "depwhere")) {
				ss_buf_adds(&got, d->where ? d->where : "-");
			} else if (!strcmp(kw, "deptypes")) {
				for (i = 0; i < d->ncols; i++)
					ss_buf_addf(&got, "%s%s", i ? " " : "",
						    d->types[i]);
			} else {
				tf_fail(argv[1], lineno, "unknown line %s", kw);
			}
			if (got.len && strcmp(got.buf, arg))
				tf_fail(argv[1], lineno, "%s: got '%s'", kw,
					got.buf);
			ss_buf_release(&got);
		} else if (!strncmp(s, "row ", 4)) {
			char *arrow = strstr(s, "=>"), *vals[MAXCOLS];
			const char *vv[MAXCOLS] = {0};
			size_t n;
			int r;
			struct ss_err e2 = SS_ERR_INIT;

			*arrow = '\0';
			n = split(s + 4, " | ", vals, MAXCOLS);
			for (i = 0; i < n; i++)
				vv[i] = vals[i];
			if (!strncmp(tf_trim(arrow + 2), "error ", 6)) {
				if (ss_where_eval(w, vv, &r, &e2) == 0 ||
				    strcmp(e2.msg, tf_trim(arrow + 2) + 6))
					tf_fail(argv[1], lineno,
						"without views: '%s'", e2.msg);
			} else if (ss_where_eval_member(w, vv, member, NULL, &r,
							&e2) < 0)
				tf_fail(argv[1], lineno, "eval: %s", e2.msg);
			else if (strcmp(res_name(r), tf_trim(arrow + 2)))
				tf_fail(argv[1], lineno, "got %s", res_name(r));
		} else {
			tf_fail(argv[1], lineno, "unknown line: %s", s);
		}
	}
	fclose(f);
	printf("%d cases, %d checks, %d failed (%d lookups)\n", ncases, nchecks,
	       tf_failures, describes);
	return tf_failures ? 1 : 0;
}
