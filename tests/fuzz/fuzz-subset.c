/*
 * fuzz-subset.c — libFuzzer target for lib/subset: `subset__order_by`
 * (ss_subset_order_by) over a fixed table, and POST bodies
 * (ss_subset_from_body) with the checks of their fields
 * (ss_subset_prepare). The input's first line is an ORDER BY list, the
 * rest a body. Invariants: an accepted ORDER BY, rewritten, is accepted
 * again and rewrites to the same text; a refused one has a message; a
 * refused body or field gets a 400 whose body is a JSON object.
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
	static char names[4][8] = {"id", "title", "Mixed", "n y"};
	static char types[4][8] = {"int4", "text", "text", "int8"};
	static char public_[] = "public", items[] = "items";
	static const char allow[4] = {1, 1, 1, 0};
	struct ss_pgq_column cols[4];
	size_t pk[1] = {0}, i;
	struct ss_pgq_table t;
	struct ss_shapereq q;
	struct ss_subset s;
	struct ss_buf out = SS_BUF_INIT, again = SS_BUF_INIT, e = SS_BUF_INIT;
	char *text = fuzz_strndup(data, size), *body = strchr(text, '\n');
	char msg[400];
	int k;

	memset(cols, 0, sizeof(cols));
	memset(&t, 0, sizeof(t));
	for (i = 0; i < 4; i++) {
		cols[i].name = names[i];
		cols[i].type = types[i];
		cols[i].typmod = -1;
		cols[i].pk_index = i ? -1 : 0;
	}
	t.schema = public_;
	t.name = items;
	t.cols = cols;
	t.ncols = 4;
	t.pk = pk;
	t.npk = 1;
	if (body)
		*body++ = '\0';
	for (k = 0; k < 2; k++) {
		const char *queryable = k ? allow : NULL;

		ss_buf_reset(&out);
		ss_buf_reset(&again);
		msg[0] = '\0';
		if (ss_subset_order_by(&t, queryable, text, &out, msg,
				       sizeof(msg)) < 0) {
			FUZZ_CHECK(msg[0], "'%s': refused without a message",
				   text);
			continue;
		}
		FUZZ_CHECK(ss_subset_order_by(&t, queryable, out.buf, &again,
					      msg, sizeof(msg)) == 0,
			   "'%s' rewrites to '%s', which is refused: %s", text,
			   out.buf, msg);
		FUZZ_CHECK(!strcmp(out.buf, again.buf),
			   "'%s' rewrites to '%s' then '%s'", text, out.buf,
			   again.buf);
	}
	if (body) {
		ss_shapereq_init(&q);
		if (ss_subset_from_body(body, strlen(body), &q, &e)) {
			check_json(&e);
		} else {
			q.table = t;
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
