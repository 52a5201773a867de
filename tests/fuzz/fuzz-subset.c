/*
 * fuzz-subset.c — libFuzzer target for subset snapshots: `subset__order_by`
 * (ss_where_order_by, lib/where_order.c) over a fixed table's columns,
 * all of them and the queryable ones, and POST bodies
 * (ss_subset_from_body) with the checks of their fields
 * (ss_subset_prepare). The input's first line is an ORDER BY list, the
 * rest a body. Invariants: an accepted ORDER BY's canonical text is
 * accepted again (its length and IN lists unlimited, as a stored where
 * clause's) and is its own canonical text; a
 * refused one has a message and leaves the output alone; a refused body
 * or field gets a 400 whose body is a JSON object.
 */
#include <jansson.h>

#include "fuzz.h"
#include "subset.h"

static void check_json(const struct ss_buf *b)
{
	json_error_t je;
	json_t *j = json_loadb(b->buf, b->len, 0, &je);

	FUZZ_CHECK(j && json_is_object(j), "not a JSON object: %s (%s)", b->buf,
		   je.text);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { NCOLS = 6 };
	static char names[NCOLS][8] = {"id",  "title", "Mixed",
				       "n y", "tags",  "j"};
	static char types[NCOLS][8] = {"int4", "text",	"text",
				       "int8", "_int4", "jsonb"};
	static char public_[] = "public", items[] = "items";
	static const char allow[NCOLS] = {1, 1, 1, 0, 1, 1};
	struct ss_pgq_column cols[NCOLS];
	struct ss_where_column wcols[NCOLS];
	struct ss_where_limits lim, stored;
	size_t pk[1] = {0}, i;
	struct ss_pgq_table t;
	struct ss_shapereq q;
	struct ss_subset s;
	struct ss_buf out = SS_BUF_INIT, again = SS_BUF_INIT, e = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	char *text = fuzz_strndup(data, size), *body = strchr(text, '\n');
	int k;

	memset(cols, 0, sizeof(cols));
	memset(&t, 0, sizeof(t));
	for (i = 0; i < NCOLS; i++) {
		cols[i].name = names[i];
		cols[i].type = types[i];
		cols[i].typmod = -1;
		cols[i].pk_index = i ? -1 : 0;
	}
	t.schema = public_;
	t.name = items;
	t.cols = cols;
	t.ncols = NCOLS;
	t.pk = pk;
	t.npk = 1;
	if (body)
		*body++ = '\0';
	/* tight limits, as fuzz-where's, so that no input is slow */
	ss_where_limits_default(&lim);
	lim.max_length = 4096;
	lim.max_in = 100;
	lim.max_cost = 100000;
	/* the canonical text may be longer than the input */
	stored = lim;
	stored.max_length = 0;
	stored.max_in = 0;
	for (k = 0; k < 2; k++) {
		size_t n = 0;

		memset(wcols, 0, sizeof(wcols));
		for (i = 0; i < NCOLS; i++) {
			if (k && !allow[i])
				continue; /* hidden by queryable_columns */
			wcols[n].name = names[i];
			wcols[n].type = types[i];
			n++;
		}
		ss_buf_reset(&out);
		ss_buf_reset(&again);
		ss_buf_adds(&out, "<");
		err.msg[0] = '\0';
		if (ss_where_order_by(text, wcols, n, &lim, &out, &err) < 0) {
			FUZZ_CHECK(err.msg[0],
				   "'%s': refused without a message", text);
			FUZZ_CHECK(!strcmp(out.buf, "<"),
				   "'%s': refused (%s) but wrote '%s'", text,
				   err.msg, out.buf);
			continue;
		}
		FUZZ_CHECK(ss_where_order_by(out.buf + 1, wcols, n, &stored,
					     &again, &err) == 0,
			   "'%s' renders to '%s', which is refused: %s", text,
			   out.buf + 1, err.msg);
		FUZZ_CHECK(!strcmp(out.buf + 1, again.buf),
			   "'%s' renders to '%s' then '%s'", text, out.buf + 1,
			   again.buf);
	}
	if (body) {
		ss_shapereq_init(&q);
		if (ss_subset_from_body(body, strlen(body), &q, &e)) {
			check_json(&e);
		} else {
			q.table = t;
			q.queryable = ss_xmalloc(NCOLS);
			memcpy(q.queryable, allow, NCOLS);
			ss_buf_reset(&e);
			if (ss_subset_prepare(&q, NULL, &s, &e))
				check_json(&e);
			ss_subset_release(&s);
			memset(&q.table, 0, sizeof(q.table));
		}
		ss_shapereq_release(&q);
	}
	ss_buf_release(&out);
	ss_buf_release(&again);
	ss_buf_release(&e);
	free(text);
	return 0;
}
