/*
 * test-frame-scan.c — lib/frame's fast path for change frames: the string
 * scanner (eight bytes at a time) against a byte-by-byte one on random
 * strings, and ss_frame_scan_head/_rest on lines of the fast form and on
 * lines they must leave to ss_frame_parse; the raw line reader and row
 * values. This file builds frame_scan.c itself to reach the scanner's
 * static functions.
 * Usage: test-frame-scan [SEED [STEPS]]
 */
#include "frame_scan.c"

#include <stdlib.h>

#include "unit.h"

/* str_ as it was, one byte at a time. */
static int str_ref(struct scan *s, const char **start, size_t *len)
{
	const char *p;
	int high = 0;

	if (s->p >= s->end || *s->p != '"')
		return 0;
	p = ++s->p;
	while (p < s->end && *p != '"') {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == '\\')
			return 0;
		high |= c >= 0x80;
		p++;
	}
	if (p >= s->end)
		return 0;
	if (high && !ss_utf8_valid(s->p, (size_t)(p - s->p)))
		return 0;
	*start = s->p;
	*len = (size_t)(p - s->p);
	s->p = p + 1;
	return 1;
}

static void test_strings(size_t n)
{
	static const char alpha[] =
	    "aaaaaaaaaaaaaaaa\"\\\x01\x1f\x7f \xc3\xa9\xff~";
	char buf[64];
	size_t i, k, len;

	for (i = 0; i < n; i++) {
		struct scan a, b;
		const char *sa = NULL, *sb = NULL;
		size_t la = 0, lb = 0;
		int ra, rb;

		len = 1 + unit_rnd() % 48;
		buf[0] = '"';
		for (k = 1; k < len; k++)
			buf[k] = unit_rnd() % 4
				     ? 'a'
				     : alpha[unit_rnd() % (sizeof(alpha) - 1)];
		if (unit_rnd() % 4)
			buf[unit_rnd() % len + (len < 2)] = '"';
		a.p = b.p = buf;
		a.end = b.end = buf + len;
		ra = str_(&a, &sa, &la);
		rb = str_ref(&b, &sb, &lb);
		CHECK(ra == rb);
		if (ra && rb)
			CHECK(sa == sb && la == lb && a.p == b.p);
	}
}

static const struct ss_frame_column cols[] = {
    {"id", "int4", 23, -1, 1, -1},
    {"t\xc3\xa9", "text", 25, -1, 0, -1},
    {"s", "text", 25, -1, 0, -1},
};
static const size_t namelen[] = {2, 3, 1};
static const unsigned char plain[] = {1, 0, 1};

static int scan(const char *line, const size_t *idx, size_t nidx,
		struct ss_frame_scan *sc)
{
	struct ss_frame_layout l = {cols, 3, namelen, plain, idx, nidx};

	return ss_frame_scan_head(sc, line, strlen(line)) &&
	       ss_frame_scan_rest(sc, &l);
}

static void test_lines(void)
{
	static const size_t all[] = {0, 1, 2}, some[] = {0, 2};
	struct ss_frame_scan sc;

	CHECK(scan("{\"type\":\"change\",\"op\":\"update\",\"oid\":16384,"
		   "\"xid\":750,\"lsn\":\"0/16B3748\",\"pos\":3,"
		   "\"new\":{\"id\":\"2\",\"t\xc3\xa9\":\"x\",\"s\":null},"
		   "\"old\":{\"id\":\"1\",\"t\xc3\xa9\":null,\"s\":\"y\"}} \r",
		   all, 3, &sc));
	CHECK(sc.op == SS_FRAME_OP_UPDATE && sc.oid == 16384 && sc.xid == 750);
	CHECK(sc.lsn == 0x16B3748 && sc.pos == 3 && sc.has_new && sc.has_old);
	CHECK(sc.newv[0].len == 1 && sc.newv[0].p[0] == '2' &&
	      !sc.newv[0].null);
	CHECK(sc.newv[2].null && sc.oldv[1].null && sc.oldv[2].p[0] == 'y');

	CHECK(scan("{\"type\":\"change\",\"op\":\"insert\",\"oid\":1,"
		   "\"xid\":0,\"lsn\":\"0/0\",\"pos\":0,"
		   "\"new\":{\"id\":\"2\",\"t\xc3\xa9\":\"x\",\"s\":\"z\"}}",
		   some, 2, &sc));
	CHECK(!sc.has_old && sc.newv[0].p[0] == '2' && sc.newv[1].p[0] == 'z');

	/* Left to the strict parser: escapes, other key order, extra keys,
	 * other columns, trailing garbage, leading zeros, oid 0. */
	CHECK(!scan(
	    "{\"type\":\"change\",\"op\":\"insert\",\"oid\":1,"
	    "\"xid\":0,\"lsn\":\"0/0\",\"pos\":0,"
	    "\"new\":{\"id\":\"\\u0032\",\"t\xc3\xa9\":\"x\",\"s\":\"z\"}}",
	    all, 3, &sc));
	CHECK(!scan("{\"op\":\"insert\",\"type\":\"change\",\"oid\":1,"
		    "\"xid\":0,\"lsn\":\"0/0\",\"pos\":0,"
		    "\"new\":{\"id\":\"2\",\"t\xc3\xa9\":\"x\",\"s\":\"z\"}}",
		    all, 3, &sc));
	CHECK(!scan("{\"type\":\"change\",\"op\":\"insert\",\"oid\":1,"
		    "\"xid\":0,\"lsn\":\"0/0\",\"pos\":0,"
		    "\"new\":{\"id\":\"2\",\"s\":\"z\"}}",
		    all, 3, &sc));
	CHECK(!scan("{\"type\":\"change\",\"op\":\"insert\",\"oid\":1,"
		    "\"xid\":0,\"lsn\":\"0/0\",\"pos\":0,"
		    "\"new\":{\"id\":\"2\",\"t\xc3\xa9\":\"x\",\"s\":\"z\"}}x",
		    all, 3, &sc));
	CHECK(!scan("{\"type\":\"change\",\"op\":\"insert\",\"oid\":1,"
		    "\"xid\":01,\"lsn\":\"0/0\",\"pos\":0,"
		    "\"new\":{\"id\":\"2\",\"t\xc3\xa9\":\"x\",\"s\":\"z\"}}",
		    all, 3, &sc));
	CHECK(!scan("{\"type\":\"change\",\"op\":\"insert\",\"oid\":0,"
		    "\"xid\":1,\"lsn\":\"0/0\",\"pos\":0,"
		    "\"new\":{\"id\":\"2\",\"t\xc3\xa9\":\"x\",\"s\":\"z\"}}",
		    all, 3, &sc));
	CHECK(!ss_frame_scan_head(&sc, "{\"type\":\"begin\"}", 16));
}

/* Raw lines from a descriptor: whole lines, the limit, a cut-off end. */
static void test_lines_reader(void)
{
	struct ss_frame_lines in;
	struct ss_err err = SS_ERR_INIT;
	const char *line;
	size_t len;
	FILE *f = tmpfile();

	if (!f)
		FAILF("tmpfile failed");
	fputs("{\"a\":1}\n\n0123456789012345678901234567890123456789\nend", f);
	fflush(f);
	rewind(f);
	ss_frame_lines_init(&in, fileno(f), "<in>", 32);
	CHECK(ss_frame_lines_next(&in, &line, &len, &err) == SS_FRAME_LINE_OK);
	CHECK(len == 7 && !memcmp(line, "{\"a\":1}", 7) && in.lineno == 1);
	CHECK(ss_frame_lines_buffered(&in));
	CHECK(ss_frame_lines_next(&in, &line, &len, &err) == SS_FRAME_LINE_OK);
	CHECK(len == 0);
	CHECK(ss_frame_lines_next(&in, &line, &len, &err) == -1);
	CHECK_STR(err.msg, "<in>:3: line too long (more than 32 bytes)");
	CHECK(ss_frame_lines_next(&in, &line, &len, &err) == -1);
	CHECK_STR(err.msg, "<in>:4: incomplete line at end of input");
	CHECK(ss_frame_lines_next(&in, &line, &len, &err) == SS_FRAME_LINE_EOF);
	ss_frame_lines_release(&in);
	fclose(f);
}

/* Row values of a decoded row object, in place or through an index. */
static void test_row_values(void)
{
	static const char *const names[] = {"a", "b", "c"};
	static const size_t idx[] = {2, 0, 1};
	json_t *row = json_pack("{s:s, s:n, s:i}", "a", "x", "b", "c", 1);
	const char *out[3] = {"?", "?", "?"};

	ss_frame_row_values(row, names, NULL, 3, out);
	CHECK(out[0] && !strcmp(out[0], "x") && !out[1] && !out[2]);
	ss_frame_row_values(row, names, idx, 3, out);
	CHECK(out[2] && !strcmp(out[2], "x") && !out[0] && !out[1]);
	ss_frame_row_values(NULL, names, NULL, 2, out);
	CHECK(!out[0] && !out[1]);
	json_decref(row);
}

int main(int argc, char **argv)
{
	size_t steps = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 20000;

	if (argc > 1)
		unit_seed(strtoull(argv[1], NULL, 10));
	test_strings(steps * 20);
	test_lines();
	test_lines_reader();
	test_row_values();
	return unit_report();
}
