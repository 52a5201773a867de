/*
 * test-where-order — lib/where's ORDER BY lists (ss_where_order_by): the
 * table-driven cases of tests/data/order_by.test (format at the top of
 * that file), every accepted list re-checked from its canonical text, and
 * the limits, which the table cannot express.
 *
 *   test-where-order FILE
 *   test-where-order --sql text|canon FILE
 *       for t2002's check against PostgreSQL: one query per accepted case,
 *       "SELECT 'L<line>:' || array_to_string(ARRAY(SELECT id FROM t
 *       ORDER BY <list>, id), ',');" with the list as written or its
 *       canonical text
 */
#include "unit.h"
#include "util.h"
#include "where.h"

#define MAXCOLS 32

static struct ss_where_column cols[MAXCOLS];
static char *colbuf[MAXCOLS][2];
static size_t ncols;

/* The list's canonical text, or "error <message>"; out is pre-filled to
 * check that it is appended to, and left alone on an error. */
static char *order_by(const char *text, const struct ss_where_limits *lim)
{
	struct ss_buf out = SS_BUF_INIT, got = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;

	ss_buf_adds(&out, "<");
	if (ss_where_order_by(text, cols, ncols, lim, &out, &err) < 0) {
		CHECK_STR(out.buf, "<");
		CHECK(err.code == SS_ERR_INPUT && err.msg[0]);
		ss_buf_addf(&got, "error %s", err.msg);
	} else {
		CHECK(out.buf[0] == '<');
		ss_buf_adds(&got, out.buf + 1);
	}
	ss_buf_release(&out);
	return ss_buf_detach(&got, NULL);
}

/* A value of the table: the rest of the line, with \n \t \s (a space, so
 * that a trailing one shows) and \\ decoded. */
static char *unescape(const char *s)
{
	struct ss_buf b = SS_BUF_INIT;

	for (; *s && *s != '\n'; s++) {
		if (*s == '\\' && s[1] && strchr("nts\\", s[1])) {
			s++;
			ss_buf_addc(&b, *s == 'n'   ? '\n'
					: *s == 't' ? '\t'
					: *s == 's' ? ' '
						    : '\\');
		} else {
			ss_buf_addc(&b, *s);
		}
	}
	return ss_buf_detach(&b, NULL);
}

static void add_col(const char *file, int line, const char *spec)
{
	char name[128], type[128];
	int is_enum = 0;

	if (ncols == MAXCOLS || sscanf(spec, "%127s %127s", name, type) != 2)
		FAILF("%s:%d: bad col line", file, line);
	if (!strcmp(type, "enum")) {
		snprintf(type, sizeof(type), "mood");
		is_enum = 1;
	}
	colbuf[ncols][0] = ss_xstrdup(name);
	colbuf[ncols][1] = ss_xstrdup(type);
	cols[ncols].name = colbuf[ncols][0];
	cols[ncols].type = colbuf[ncols][1];
	cols[ncols].is_enum = is_enum;
	ncols++;
}

/* --sql: the query of an accepted case (sql_which "text" or "canon"). */
static const char *sql_which;

static void print_sql(int line, const char *text, const char *canon)
{
	printf("SELECT 'L%d:' || array_to_string(ARRAY(SELECT id FROM t "
	       "ORDER BY %s\n, id), ',');\n",
	       line, !strcmp(sql_which, "canon") ? canon : text);
}

static void run_file(const char *file)
{
	FILE *f = fopen(file, "r");
	char buf[4096];
	char *text = NULL;
	int line = 0, order_line = 0, ncases = 0;

	if (!f)
		FAILF("cannot open %s", file);
	while (fgets(buf, sizeof(buf), f)) {
		char *got, *want;

		line++;
		if (buf[0] == '#' || buf[0] == '\n')
			continue;
		if (!strncmp(buf, "col ", 4)) {
			add_col(file, line, buf + 4);
			continue;
		}
		if (!strncmp(buf, "order ", 6) || !strcmp(buf, "order\n")) {
			if (text)
				FAILF("%s:%d: order without canon or error",
				      file, order_line);
			text = unescape(buf + (buf[5] == ' ' ? 6 : 5));
			order_line = line;
			continue;
		}
		if (strncmp(buf, "canon ", 6) && strncmp(buf, "error ", 6))
			FAILF("%s:%d: unknown line", file, line);
		if (!text)
			FAILF("%s:%d: %.5s without order", file, line, buf);
		want = unescape(buf[0] == 'c' ? buf + 6 : buf);
		got = order_by(text, NULL);
		if (sql_which && buf[0] == 'c' && !strcmp(got, want))
			print_sql(order_line, text, got);
		unit_checks++;
		if (strcmp(got, want)) {
			unit_failures++;
			fprintf(stderr,
				"%s:%d: order %s\n  expected: %s\n"
				"  got:      %s\n",
				file, order_line, text, want, got);
		} else if (buf[0] == 'c') {
			/* the canonical text is accepted and is its own */
			char *again = order_by(got, NULL);

			if (strcmp(again, got)) {
				unit_failures++;
				fprintf(stderr,
					"%s:%d: canonical %s re-checks as %s\n",
					file, order_line, got, again);
			}
			free(again);
		}
		free(got);
		free(want);
		free(text);
		text = NULL;
		ncases++;
	}
	fclose(f);
	if (text)
		FAILF("%s:%d: order without canon or error", file, order_line);
	if (ncases < 50)
		FAILF("%s: only %d cases", file, ncases);
}

static void limits(void)
{
	struct ss_where_limits lim;
	struct ss_buf b = SS_BUF_INIT;
	char *got;
	int i;

	ss_where_limits_default(&lim);
	lim.max_length = 10;
	got = order_by("id, title", &lim);
	CHECK_STR(got, "\"id\", \"title\"");
	free(got);
	got = order_by("id,  title ", &lim);
	CHECK_STR(got, "error ORDER BY list is too long (11 bytes, the limit "
		       "is 10)");
	free(got);
	ss_where_limits_default(&lim);
	lim.max_in = 2;
	got = order_by("id IN (1, 2) DESC", &lim);
	CHECK_STR(got, "\"id\" IN (1, 2) DESC");
	free(got);
	got = order_by("id IN (1, 2, 3)", &lim);
	CHECK_STR(got, "error IN list has 3 items, the limit is 2");
	free(got);

	/* the cost of checking is the whole list's */
	ss_where_limits_default(&lim);
	lim.max_cost = 1000;
	got = order_by("title || '0123456789012345678901234567890123456789'",
		       &lim);
	CHECK_STR(got, "\"title\" || "
		       "'0123456789012345678901234567890123456789'");
	free(got);
	ss_buf_reset(&b);
	for (i = 0; i < 40; i++)
		ss_buf_addf(&b, "%stitle || '0123456789012345678901234567890'",
			    i ? ", " : "");
	got = order_by(b.buf, &lim);
	CHECK_STR(got, "error ORDER BY list exceeds the cost limit of 1000");
	free(got);

	/* NULL text is the empty list */
	got = order_by(NULL, NULL);
	CHECK_STR(got, "error syntax error at or near ");
	free(got);

	/* nesting: as deep as a where clause may be, and no deeper */
	ss_buf_reset(&b);
	for (i = 0; i < 400; i++)
		ss_buf_addc(&b, '(');
	ss_buf_adds(&b, "id");
	for (i = 0; i < 400; i++)
		ss_buf_addc(&b, ')');
	got = order_by(b.buf, NULL);
	CHECK_STR(got, "\"id\"");
	free(got);
	ss_buf_reset(&b);
	for (i = 0; i < 600; i++)
		ss_buf_adds(&b, "- ");
	ss_buf_adds(&b, "id");
	got = order_by(b.buf, NULL);
	CHECK_STR(got, "error expression is too deeply nested");
	free(got);

	/* a long rest of the list is cut at 100 bytes, on a character */
	ss_buf_reset(&b);
	ss_buf_adds(&b, "id ");
	for (i = 0; i < 49; i++)
		ss_buf_adds(&b, "x");
	for (i = 0; i < 30; i++)
		ss_buf_adds(&b, "\xc3\xa9");
	got = order_by(b.buf, NULL);
	CHECK(strlen(got) == strlen("error syntax error at or near \"\"") + 99);
	CHECK(!strcmp(got + strlen(got) - 3, "\xc3\xa9\""));
	free(got);
	ss_buf_release(&b);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc == 4 && !strcmp(argv[1], "--sql") &&
	    (!strcmp(argv[2], "text") || !strcmp(argv[2], "canon"))) {
		sql_which = argv[2];
		run_file(argv[3]);
		return unit_failures ? 1 : 0;
	}
	if (argc != 2)
		FAILF("usage: test-where-order [--sql text|canon] FILE");
	run_file(argv[1]);
	/* the columns the limits test uses: the file's own */
	limits();
	for (i = 0; i < ncols; i++) {
		free(colbuf[i][0]);
		free(colbuf[i][1]);
	}
	return unit_report();
}
