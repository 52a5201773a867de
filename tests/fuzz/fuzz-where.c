/*
 * fuzz-where.c — libFuzzer target for lib/where: parser, type checker,
 * constant folder and evaluator. The input is a clause on its first line
 * and, on the lines after it, the values of a row in fz_cols order ("\N"
 * is NULL; missing values are NULL). Invariants: a failed compile has a
 * message; a clause that compiles re-renders to a canonical text that
 * compiles to the same canonical text and the same columns; its folded
 * tree is well formed; and the clause and its canonical copy evaluate
 * alike on the input's row and on fixed rows.
 */
#include "where_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size), *nl, *p;
	const char *row[FZ_NCOLS];
	struct ss_where *w = NULL;
	struct ss_err err = SS_ERR_INIT;
	struct ss_where_limits lim;
	size_t i;

	memset(row, 0, sizeof(row));
	nl = strchr(text, '\n');
	if (nl) {
		*nl = '\0';
		p = nl + 1;
		for (i = 0; i < FZ_NCOLS && p; i++) {
			char *e = strchr(p, '\n');

			if (e)
				*e = '\0';
			row[i] = strcmp(p, "\\N") ? p : NULL;
			p = e ? e + 1 : NULL;
		}
	}
	/* Tight limits keep every execution fast; fz_agree compares with a
	 * copy under a larger budget. */
	ss_where_limits_default(&lim);
	lim.max_length = 4096;
	lim.max_in = 200;
	lim.max_cost = 100000;
	if (fz_compile(text, NULL, 0, &lim, &w, &err) < 0) {
		FUZZ_CHECK(w == NULL && err.msg[0] && err.code == SS_ERR_INPUT,
			   "compile error without message or code %d: '%s'",
			   err.code, text);
	} else {
		fz_check_compiled(w, text, row);
		ss_where_free(w);
	}
	free(text);
	return 0;
}
