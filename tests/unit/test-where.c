/*
 * test-where.c — runs the table-driven cases of tests/data/where.test
 * against lib/where (format described at the top of that file), checking
 * results, error messages, canonical text, and that every canonical text
 * compiles back to itself.
 *
 *   test-where FILE          run the cases; exit 1 if any fails
 *   test-where -e EXPR [-c NAME:TYPE]... [-p PARAM]... [-r V1|V2...]...
 *                            compile one clause and print canonical text
 *                            and results (for exploring)
 */
#include "util.h"
#include "where.h"
#include "tablefile.h"

#define MAXCOLS 32
#define MAXPARAMS 16

struct tcase {
	int line;
	char *where;
	struct ss_where_column cols[MAXCOLS];
	char *colbuf[MAXCOLS * 2];
	size_t ncols;
	char *params[MAXPARAMS];
	size_t nparams;
	char *labelbuf[MAXCOLS];
	const char *labels[MAXCOLS][8];
};

static int ncases, nchecks;

static const char *res_name(int r)
{
	return r > 0 ? "true" : r == 0 ? "false" : "null";
}

/* Split "v1 | v2 | v3" into values; "\N" is NULL. */
static size_t split_row(char *s, char **vals, size_t max)
{
	size_t n = 0;
	char *p = s;

	{
		const char *q = s;

		while (*q == ' ')
			q++;
		if (*q == '\0')
			return 0;
	}
	for (;;) {
		char *sep = strstr(p, " | ");

		if (sep)
			*sep = '\0';
		if (n < max) {
			char *v = p;

			/* keep inner spaces; strip one leading space */
			while (*v == ' ')
				v++;
			{
				char *e = v + strlen(v);

				while (e > v && e[-1] == ' ')
					*--e = '\0';
			}
			/* "..." keeps spaces: "ab   " */
			if (strlen(v) >= 2 && v[0] == '"' &&
			    v[strlen(v) - 1] == '"') {
				v[strlen(v) - 1] = '\0';
				v++;
			}
			vals[n++] = strcmp(v, "\\N") == 0 ? NULL : v;
		}
		if (!sep)
			break;
		p = sep + 3;
	}
	return n;
}

static struct ss_where *compile_case(struct tcase *tc, struct ss_err *err)
{
	struct ss_where *w = NULL;

	if (ss_where_compile(tc->where, tc->cols, tc->ncols,
			     (const char *const *)tc->params, tc->nparams, &w,
			     err) < 0)
		return NULL;
	return w;
}

/* Every canonical text must compile again to the same text. */
static void check_roundtrip(const char *file, struct tcase *tc,
			    struct ss_where *w)
{
	struct ss_where *w2 = NULL;
	struct ss_err err = SS_ERR_INIT;
	const char *c1 = ss_where_canonical_text(w);

	nchecks++;
	if (ss_where_compile(c1, tc->cols, tc->ncols, NULL, 0, &w2, &err) < 0) {
		tf_fail(file, tc->line,
			"canonical text '%s' does not compile: %s", c1,
			err.msg);
		return;
	}
	if (strcmp(c1, ss_where_canonical_text(w2)) != 0)
		tf_fail(file, tc->line,
			"canonical text not stable: '%s' -> '%s'", c1,
			ss_where_canonical_text(w2));
	ss_where_free(w2);
}

static int run_file(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[8192];
	int lineno = 0;
	struct tcase tc, defcols;
	struct ss_where *w = NULL;
	int compiled = 0; /* 0 not yet, 1 ok, -1 failed */
	struct ss_err cerr = SS_ERR_INIT;
	size_t i;

	if (!f) {
		perror(file);
		return 2;
	}
	memset(&tc, 0, sizeof(tc));
	memset(&defcols, 0, sizeof(defcols));

#define END_CASE()                                                             \
	do {                                                                   \
		if (tc.where && compiled == 0) {                               \
			w = compile_case(&tc, &cerr);                          \
			compiled = w ? 1 : -1;                                 \
		}                                                              \
		if (tc.where && compiled < 0)                                  \
			tf_fail(file, tc.line, "'%s' does not compile: %s",    \
				tc.where, cerr.msg);                           \
		if (w)                                                         \
			check_roundtrip(file, &tc, w);                         \
		ss_where_free(w);                                              \
		w = NULL;                                                      \
		free(tc.where);                                                \
		for (i = 0; i < tc.ncols * 2; i++)                             \
			free(tc.colbuf[i]);                                    \
		for (i = 0; i < tc.nparams; i++)                               \
			free(tc.params[i]);                                    \
		for (i = 0; i < MAXCOLS; i++)                                  \
			free(tc.labelbuf[i]);                                  \
		memset(&tc, 0, sizeof(tc));                                    \
		compiled = 0;                                                  \
		ss_err_clear(&cerr);                                           \
	} while (0)

	while (fgets(line, sizeof(line), f)) {
		char *s;

		lineno++;
		s = tf_trim(line);
		if (*s == '#')
			continue;
		if (*s == '\0') {
			END_CASE();
			continue;
		}
		if (!strncmp(s, "defcol ", 7) || !strncmp(s, "col ", 4)) {
			int def = s[0] == 'd';
			struct tcase *t = def ? &defcols : &tc;
			char *name = tf_trim(s + (def ? 7 : 4));
			char *type = strchr(name, ' ');
			int is_enum = 0;

			if (!type || t->ncols >= MAXCOLS) {
				tf_fail(file, lineno, "bad col line");
				continue;
			}
			*type++ = '\0';
			type = tf_trim(type);
			if (strlen(type) > 5 &&
			    !strcmp(type + strlen(type) - 5, " enum")) {
				type[strlen(type) - 5] = '\0';
				is_enum = 1;
			} else if (strstr(type, " enum ")) {
				/* "mood enum sad ok happy": labels in order */
				char *l = strstr(type, " enum ") + 6,
				     *save = NULL;
				size_t nl = 0;

				type[strstr(type, " enum ") - type] = '\0';
				is_enum = 1;
				t->labelbuf[t->ncols] = ss_xstrdup(l);
				for (l = strtok_r(t->labelbuf[t->ncols], " ",
						  &save);
				     l && nl < 8;
				     l = strtok_r(NULL, " ", &save))
					t->labels[t->ncols][nl++] = l;
				t->cols[t->ncols].enum_labels =
				    t->labels[t->ncols];
				t->cols[t->ncols].n_enum_labels = nl;
			}
			t->colbuf[t->ncols * 2] = ss_xstrdup(name);
			t->colbuf[t->ncols * 2 + 1] = ss_xstrdup(type);
			t->cols[t->ncols].name = t->colbuf[t->ncols * 2];
			t->cols[t->ncols].type = t->colbuf[t->ncols * 2 + 1];
			t->cols[t->ncols].is_enum = is_enum;
			t->ncols++;
			continue;
		}
		if (!strcmp(s, "defcols-reset")) {
			for (i = 0; i < defcols.ncols * 2; i++)
				free(defcols.colbuf[i]);
			memset(&defcols, 0, sizeof(defcols));
			continue;
		}
		if (!strncmp(s, "where ", 6) || !strcmp(s, "where")) {
			if (tc.where)
				END_CASE();
			ncases++;
			tc.where = ss_xstrdup(s[5] ? s + 6 : "");
			tc.line = lineno;
			continue;
		}
		if (!tc.where) {
			tf_fail(file, lineno, "line outside a case: %s", s);
			continue;
		}
		if (!strncmp(s, "param ", 6) || !strcmp(s, "nullparam")) {
			if (tc.nparams < MAXPARAMS)
				tc.params[tc.nparams++] =
				    s[0] == 'n' ? NULL : ss_xstrdup(s + 6);
			continue;
		}
		/* first use of the case: fill default columns, compile */
		if (compiled == 0) {
			if (tc.ncols == 0)
				for (i = 0; i < defcols.ncols; i++) {
					tc.colbuf[i * 2] =
					    ss_xstrdup(defcols.cols[i].name);
					tc.colbuf[i * 2 + 1] =
					    ss_xstrdup(defcols.cols[i].type);
					tc.cols[i].name = tc.colbuf[i * 2];
					tc.cols[i].type = tc.colbuf[i * 2 + 1];
					tc.cols[i].is_enum =
					    defcols.cols[i].is_enum;
					tc.ncols++;
				}
			w = compile_case(&tc, &cerr);
			compiled = w ? 1 : -1;
		}
		if (!strncmp(s, "error ", 6)) {
			nchecks++;
			if (compiled > 0)
				tf_fail(file, lineno,
					"'%s' compiled, expected error: %s",
					tc.where, s + 6);
			else if (strcmp(cerr.msg, s + 6) != 0)
				tf_fail(file, lineno,
					"'%s': expected error '%s', got '%s'",
					tc.where, s + 6, cerr.msg);
			compiled = 2; /* expected failure: handled */
			continue;
		}
		if (compiled < 0) {
			tf_fail(file, lineno, "'%s' does not compile: %s",
				tc.where, cerr.msg);
			compiled = 2;
			continue;
		}
		if (compiled == 2)
			continue;
		if (!strncmp(s, "canon ", 6)) {
			nchecks++;
			if (strcmp(ss_where_canonical_text(w), s + 6) != 0)
				tf_fail(
				    file, lineno,
				    "'%s': expected canonical '%s', got '%s'",
				    tc.where, s + 6,
				    ss_where_canonical_text(w));
			continue;
		}
		if (!strncmp(s, "row", 3) && (s[3] == ' ' || s[3] == '\0')) {
			char *arrow = strstr(s, "=>");
			char *vals[MAXCOLS];
			const char *vv[MAXCOLS];
			size_t nv;
			char *want;
			int r;
			struct ss_err err = SS_ERR_INIT;

			nchecks++;
			if (!arrow) {
				tf_fail(file, lineno, "row without =>");
				continue;
			}
			*arrow = '\0';
			want = tf_trim(arrow + 2);
			nv = split_row(s + 3, vals, MAXCOLS);
			for (i = 0; i < MAXCOLS; i++)
				vv[i] = i < nv ? vals[i] : NULL;
			if (ss_where_eval(w, vv, &r, &err) < 0) {
				if (strncmp(want, "error ", 6) != 0 ||
				    strcmp(want + 6, err.msg) != 0)
					tf_fail(
					    file, lineno,
					    "'%s': expected %s, got error '%s'",
					    tc.where, want, err.msg);
			} else if (strcmp(want, res_name(r)) != 0) {
				tf_fail(file, lineno,
					"'%s': expected %s, got %s", tc.where,
					want, res_name(r));
			}
			continue;
		}
		tf_fail(file, lineno, "unknown line: %s", s);
	}
	END_CASE();
	for (i = 0; i < defcols.ncols * 2; i++)
		free(defcols.colbuf[i]);
	fclose(f);
	printf("%d cases, %d checks, %d failed\n", ncases, nchecks,
	       tf_failures);
	return tf_failures ? 1 : 0;
}

static int explore(int argc, char **argv)
{
	struct ss_where_column cols[MAXCOLS];
	const char *params[MAXPARAMS];
	size_t ncols = 0, nparams = 0;
	const char *expr = NULL;
	struct ss_where *w;
	struct ss_err err = SS_ERR_INIT;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-e") && i + 1 < argc) {
			expr = argv[++i];
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc &&
			   ncols < MAXCOLS) {
			char *c = argv[++i], *colon = strchr(c, ':');

			if (!colon)
				return 2;
			*colon = '\0';
			cols[ncols].name = c;
			cols[ncols].type = colon + 1;
			cols[ncols].is_enum = 0;
			if (colon[1] == '!') {
				cols[ncols].type = colon + 2;
				cols[ncols].is_enum = 1;
			}
			ncols++;
		} else if (!strcmp(argv[i], "-p") && i + 1 < argc &&
			   nparams < MAXPARAMS) {
			params[nparams++] = argv[++i];
		}
	}
	if (!expr)
		return 2;
	if (ss_where_compile(expr, cols, ncols, params, nparams, &w, &err) <
	    0) {
		printf("error: %s\n", err.msg);
		return 1;
	}
	printf("canon: %s\n", ss_where_canonical_text(w));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			char *buf = ss_xstrdup(argv[++i]);
			char *vals[MAXCOLS];
			const char *vv[MAXCOLS];
			size_t nv = split_row(buf, vals, MAXCOLS), k;
			int r;

			for (k = 0; k < MAXCOLS; k++)
				vv[k] = k < nv ? vals[k] : NULL;
			if (ss_where_eval(w, vv, &r, &err) < 0)
				printf("row %s: error: %s\n", argv[i], err.msg);
			else
				printf("row %s: %s\n", argv[i], res_name(r));
			free(buf);
		}
	}
	{
		int r;

		if (ncols == 0 && ss_where_eval(w, NULL, &r, &err) == 0)
			printf("result: %s\n", res_name(r));
		else if (ncols == 0)
			printf("result: error: %s\n", err.msg);
	}
	ss_where_free(w);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "-e"))
		return explore(argc, argv);
	if (argc != 2) {
		fprintf(stderr,
			"usage: test-where FILE | -e EXPR [-c NAME:TYPE]... "
			"[-p PARAM]... [-r ROW]...\n");
		return 2;
	}
	return run_file(argv[1]);
}
