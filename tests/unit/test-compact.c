/*
 * test-compact.c — lib/compact: folding change messages into rows, on a
 * real scratch SQLite file. Fixed cases with exact output, a random
 * sequence checked against a model, and the memory bound over 200,000
 * rows.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "compact.h"
#include "unit.h"

static char scratch[256];

static int collect(const char *json, size_t len, void *ctx, struct ss_err *err)
{
	(void)err;
	ss_buf_add(ctx, json, len);
	ss_buf_addc(ctx, '\n');
	return 0;
}

static int add(struct ss_compact *c, const char *json)
{
	struct ss_err err = SS_ERR_INIT;
	int rc = ss_compact_add(c, json, strlen(json), &err);

	if (rc < 0)
		fprintf(stderr, "add: %s\n", err.msg);
	return rc;
}

#define REL "\"relation\":[\"public\",\"t\"]"
#define MSG(key, op, value)                                                    \
	"{\"key\":\"" key "\",\"value\":" value                                \
	",\"headers\":{\"operation\":\"" op "\"," REL "}}"

static void test_fixed(void)
{
	struct ss_compact *c;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf out = SS_BUF_INIT;

	CHECK(ss_compact_open(scratch, &c, &err) == 0);
	if (!c)
		return;
	/* a snapshot chunk's entries, as the files hold them */
	CHECK(add(c, "," MSG("a", "insert",
			     "{\"id\":\"1\",\"v\":\"x\"}") "\n") == 0);
	CHECK(add(c, "," MSG("b", "insert",
			     "{\"id\":\"2\",\"v\":\"y\"}") "\n") == 0);
	CHECK(add(c, MSG("c", "insert", "{\"id\":\"3\",\"v\":null}")) == 0);
	CHECK(add(c, ",{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":"
		     "\"1\",\"xmax\":\"2\",\"xip_list\":[]}}\n") == 1);
	/* the log: an update of one column, with headers of the log */
	CHECK(add(c, "{\"key\":\"a\",\"value\":{\"id\":\"1\",\"v\":\"x2\"},"
		     "\"headers\":{\"operation\":\"update\"," REL
		     ",\"lsn\":\"9\",\"op_position\":0,\"txids\":[7]},"
		     "\"old_value\":{\"v\":\"x\"}}") == 0);
	CHECK(add(c, MSG("b", "delete", "{\"id\":\"2\"}")) == 0);
	/* a key change: the delete half, then the insert half */
	CHECK(add(c, MSG("c", "delete", "{\"id\":\"3\"}")) == 0);
	CHECK(add(c, MSG("d", "insert", "{\"id\":\"4\",\"v\":\"z\"}")) == 0);
	/* deleted, inserted again: it goes to the end */
	CHECK(add(c, MSG("b", "insert", "{\"id\":\"2\",\"v\":\"y2\"}")) == 0);
	/* an update of a key with no row is its row */
	CHECK(add(c, MSG("e", "update", "{\"id\":\"5\",\"v\":\"w\"}")) == 0);
	/* a null value is a value, not a removed column */
	CHECK(add(c, MSG("d", "update", "{\"v\":null}")) == 0);
	CHECK(ss_compact_folded(c) == 10);
	CHECK(ss_compact_rows(c) == 4);
	CHECK(ss_compact_each(c, collect, &out, &err) == 0);
	CHECK_STR(
	    out.buf,
	    MSG("a", "insert", "{\"id\":\"1\",\"v\":\"x2\"}") "\n" MSG("d", "insert", "{\"id\":\"4\",\"v\":null}") "\n" MSG(
		"b", "insert",
		"{\"id\":\"2\",\"v\":\"y2\"}") "\n" MSG("e", "insert",
							"{\"id\":\"5\",\"v\":\"w\"}") "\n");

	/* what is not a change message */
	CHECK(ss_compact_add(c, "[1]", 3, &err) == -1 &&
	      err.code == SS_ERR_INPUT &&
	      !strcmp(err.msg, "entry is not a change message: not a JSON "
			       "object: [1]"));
	CHECK(ss_compact_add(c, "{\"key\":\"a\"}", 11, &err) == -1 &&
	      !strcmp(err.msg, "entry is not a change message: no key or "
			       "operation: {\"key\":\"a\"}"));
	CHECK(
	    add(c, "{\"key\":\"a\",\"headers\":{\"operation\":\"upsert\"}}") ==
	    -1);
	CHECK(
	    add(c, "{\"key\":\"a\",\"headers\":{\"operation\":\"insert\"}}") ==
	    -1);
	CHECK(ss_compact_rows(c) == 4 && ss_compact_folded(c) == 10);
	ss_compact_close(c);
	CHECK(access(scratch, F_OK) != 0);
	ss_buf_release(&out);
}

/* Random inserts, updates and deletes over 300 keys against a model: the
 * fold leaves exactly the model's rows. */
#define NKEYS 300
static void test_model(void)
{
	static int live[NKEYS], val[NKEYS];
	struct ss_compact *c;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf m = SS_BUF_INIT, out = SS_BUF_INIT;
	size_t i, nlive = 0, lines = 0;
	char *p;

	CHECK(ss_compact_open(scratch, &c, &err) == 0);
	if (!c)
		return;
	for (i = 0; i < 20000; i++) {
		int k = (int)(unit_rnd() % NKEYS), v = (int)(unit_rnd() % 1000);

		ss_buf_reset(&m);
		if (!live[k]) {
			ss_buf_addf(&m,
				    "{\"key\":\"k%d\",\"value\":{\"id\":\"%d\","
				    "\"v\":\"%d\"},\"headers\":{\"operation\":"
				    "\"insert\"," REL "}}",
				    k, k, v);
			live[k] = 1;
		} else if (unit_rnd() % 3) {
			ss_buf_addf(&m,
				    "{\"key\":\"k%d\",\"value\":{\"v\":\"%d\"},"
				    "\"headers\":{\"operation\":\"update\"," REL
				    "}}",
				    k, v);
		} else {
			ss_buf_addf(
			    &m,
			    "{\"key\":\"k%d\",\"value\":{\"id\":\"%d\"},"
			    "\"headers\":{\"operation\":\"delete\"," REL "}}",
			    k, k);
			live[k] = 0;
		}
		val[k] = v;
		CHECK(ss_compact_add(c, m.buf, m.len, &err) == 0);
	}
	for (i = 0; i < NKEYS; i++)
		nlive += (size_t)live[i];
	CHECK(ss_compact_rows(c) == nlive);
	CHECK(ss_compact_each(c, collect, &out, &err) == 0);
	for (i = 0; i < NKEYS; i++) {
		if (!live[i])
			continue;
		ss_buf_reset(&m);
		ss_buf_addf(&m,
			    "{\"key\":\"k%zu\",\"value\":{\"id\":\"%zu\",\"v\":"
			    "\"%d\"},\"headers\":{\"operation\":\"insert\"," REL
			    "}}\n",
			    i, i, val[i]);
		CHECK(strstr(out.buf, m.buf) != NULL);
	}
	for (p = out.buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		lines++;
	CHECK(lines == nlive);
	ss_compact_close(c);
	ss_buf_release(&m);
	ss_buf_release(&out);
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int count_cb(const char *json, size_t len, void *ctx, struct ss_err *err)
{
	(void)json;
	(void)len;
	(void)err;
	++*(uint64_t *)ctx;
	return 0;
}

/* 200,000 rows of 200 bytes (40 MB of rows) fold in a bounded page cache:
 * the high-water mark grows by far less than the rows. */
static void test_memory(void)
{
	struct ss_compact *c;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf m = SS_BUF_INIT;
	char pad[160];
	uint64_t n = 0, i;
	long rss = maxrss_kb();

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	CHECK(ss_compact_open(scratch, &c, &err) == 0);
	if (!c)
		return;
	for (i = 0; i < 200000; i++) {
		ss_buf_reset(&m);
		ss_buf_addf(&m,
			    "{\"key\":\"r%" PRIu64
			    "\",\"value\":{\"id\":\"%" PRIu64
			    "\",\"pad\":\"%s\"},\"headers\":{\"operation\":"
			    "\"insert\"," REL "}}",
			    i, i, pad);
		if (ss_compact_add(c, m.buf, m.len, &err) < 0) {
			CHECK(!"add");
			break;
		}
	}
	CHECK(ss_compact_rows(c) == 200000);
	CHECK(ss_compact_each(c, count_cb, &n, &err) == 0 && n == 200000);
	CHECK(maxrss_kb() - rss < 24 * 1024);
	ss_compact_close(c);
	ss_buf_release(&m);
}

int main(void)
{
	char dir[] = "/tmp/test-compact.XXXXXX";

	if (!mkdtemp(dir))
		FAILF("mkdtemp");
	snprintf(scratch, sizeof(scratch), "%s/scratch.db", dir);
	test_fixed();
	test_model();
	test_memory();
	rmdir(dir);
	return unit_report();
}
