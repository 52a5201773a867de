/*
 * test-frame.c — tests for lib/frame. Usage:
 *   test-frame tests/data/frames.test
 * Runs the table in the data file (format described at its top), then the
 * cases a table cannot express: line limits, blank and truncated lines,
 * non-blocking descriptors, the writer and builders, and random input.
 * Prints each failure to stderr and exits 1 if any case failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "frame.h"

static int failures;

#define FAIL(...)                                                              \
	do {                                                                   \
		fprintf(stderr, "test-frame: ");                               \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		failures++;                                                    \
	} while (0)

/* ---- A one-line summary of a decoded frame ---------------------------- */

static void add_ids(struct ss_buf *b, const int64_t *ids, size_t n)
{
	size_t i;

	ss_buf_addc(b, '[');
	for (i = 0; i < n; i++)
		ss_buf_addf(b, "%s%" PRId64, i ? "," : "", ids[i]);
	ss_buf_addc(b, ']');
}

static void add_json(struct ss_buf *b, const char *key, json_t *j)
{
	char *s;

	if (!j)
		return;
	s = json_dumps(j, JSON_COMPACT);
	ss_buf_addf(b, " %s=%s", key, s);
	free(s);
}

static void summarize(const struct ss_frame *f, struct ss_buf *b)
{
	char l1[SS_LSN_STRMAX], l2[SS_LSN_STRMAX];
	size_t i;

	ss_buf_adds(b, ss_frame_type_name(f->type));
	switch (f->type) {
	case SS_FRAME_BEGIN:
	case SS_FRAME_COMMIT:
		ss_buf_addf(b, " xid=%" PRIu64 " lsn=%s", f->xid,
			    ss_lsn_format(f->lsn, l1));
		if (f->type == SS_FRAME_COMMIT)
			ss_buf_addf(b, " end_lsn=%s",
				    ss_lsn_format(f->end_lsn, l2));
		ss_buf_addf(b, " ts=%s ts_us=%" PRId64, f->ts, f->ts_us);
		break;
	case SS_FRAME_RELATION:
		ss_buf_addf(
		    b, " oid=%" PRIu32 " schema=%s table=%s ri=%c columns=",
		    f->oid, f->schema, f->table, f->replica_identity);
		for (i = 0; i < f->ncolumns; i++)
			ss_buf_addf(b, "%s%s:%s:%" PRIu32 ":%" PRId32 "%s",
				    i ? "," : "", f->columns[i].name,
				    f->columns[i].type, f->columns[i].type_oid,
				    f->columns[i].typmod,
				    f->columns[i].pk ? ":pk" : "");
		for (i = 0; i < f->ncolumns; i++)
			if (f->columns[i].key_index >= 0)
				ss_buf_addf(b, " key%d=%s",
					    f->columns[i].key_index,
					    f->columns[i].name);
		if (f->nancestors) {
			ss_buf_adds(b, " ancestors=[");
			for (i = 0; i < f->nancestors; i++)
				ss_buf_addf(b, "%s%" PRIu32, i ? "," : "",
					    f->ancestors[i]);
			ss_buf_addc(b, ']');
		}
		break;
	case SS_FRAME_CHANGE:
		ss_buf_addf(b,
			    " op=%s oid=%" PRIu32 " xid=%" PRIu64
			    " lsn=%s pos=%" PRIu64,
			    ss_frame_op_name(f->op), f->oid, f->xid,
			    ss_lsn_format(f->lsn, l1), f->pos);
		add_json(b, "new", f->new_row);
		add_json(b, "old", f->old_row);
		if (f->has_shapes) {
			ss_buf_adds(b, " shapes=");
			add_ids(b, f->shapes, f->nshapes);
			ss_buf_adds(b, " ops=[");
			for (i = 0; i < f->nshapes; i++)
				ss_buf_addf(b, "%s%s", i ? "," : "",
					    ss_frame_op_name(f->shape_ops[i]));
			ss_buf_addc(b, ']');
			for (i = 0; f->shape_meta && i < f->nshapes; i++) {
				char *m =
				    f->shape_meta[i]
					? json_dumps(f->shape_meta[i],
						     JSON_COMPACT |
							 JSON_PRESERVE_ORDER)
					: NULL;

				ss_buf_addf(b, "%s%s",
					    i ? " " : " meta=", m ? m : "-");
				free(m);
			}
		}
		break;
	case SS_FRAME_TRUNCATE:
		ss_buf_addf(b, " xid=%" PRIu64 " lsn=%s pos=%" PRIu64 " oids=[",
			    f->xid, ss_lsn_format(f->lsn, l1), f->pos);
		for (i = 0; i < f->noids; i++)
			ss_buf_addf(b, "%s%" PRIu32, i ? "," : "", f->oids[i]);
		ss_buf_addc(b, ']');
		if (f->has_shapes) {
			ss_buf_adds(b, " shapes=");
			add_ids(b, f->shapes, f->nshapes);
		}
		break;
	case SS_FRAME_INVALIDATE:
		ss_buf_adds(b, " shapes=");
		add_ids(b, f->shapes, f->nshapes);
		ss_buf_addf(b, " oid=%" PRIu32 " reason=%s", f->oid, f->reason);
		break;
	case SS_FRAME_PROGRESS:
		ss_buf_addf(b, " lsn=%s", ss_lsn_format(f->lsn, l1));
		break;
	case SS_FRAME_MOVE:
		ss_buf_addf(
		    b,
		    " xid=%" PRIu64 " lsn=%s pos=%" PRIu64 " event=%s shapes=",
		    f->xid, ss_lsn_format(f->lsn, l1), f->pos, f->event);
		add_ids(b, f->shapes, f->nshapes);
		for (i = 0; i < f->nshapes; i++) {
			char *m =
			    json_dumps(f->shape_patterns[i],
				       JSON_COMPACT | JSON_PRESERVE_ORDER);

			ss_buf_addf(b, "%s%s", i ? " " : " patterns=", m);
			free(m);
		}
		break;
	case SS_FRAME_MARK:
		ss_buf_addf(b, " lsn=%s mark=%s", ss_lsn_format(f->lsn, l1),
			    f->mark);
		break;
	case SS_FRAME_MOVEIN:
		ss_buf_addf(b,
			    " xid=%" PRIu64 " lsn=%s pos=%" PRIu64 " shapes=",
			    f->xid, ss_lsn_format(f->lsn, l1), f->pos);
		add_ids(b, f->shapes, f->nshapes);
		if (f->has_after)
			ss_buf_addf(b, " after=%" PRIu64, f->after);
		ss_buf_addf(b, " message=%.*s", (int)f->message_len,
			    f->message);
		break;
	default:
		ss_buf_adds(b, "???");
	}
}

/* Write a frame with ss_frame_write into a string (*new*, free()). */
static char *write_to_string(json_t *frame, struct ss_err *err, int *rc)
{
	char *s = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&s, &n);

	*rc = ss_frame_write(m, "<mem>", frame, err);
	fclose(m);
	return s;
}

/* ---- The table -------------------------------------------------------- */

/* Run one block: feed `input` through a stdio reader and through an fd
 * reader, and compare both with the expected lines. */
static void run_block(const char *path, int ln, const struct ss_buf *input,
		      const struct ss_buf *expect, int use_fd, int order)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_frame f = SS_FRAME_INIT;
	struct ss_frame_reader *r;
	struct ss_buf got = SS_BUF_INIT;
	FILE *in = tmpfile();
	int rc;

	fwrite(input->buf, 1, input->len, in);
	rewind(in);
	r = use_fd ? ss_frame_reader_new_fd(fileno(in), "<stdin>")
		   : ss_frame_reader_new(in, "<stdin>");
	ss_frame_reader_check_order(r, order);
	while ((rc = ss_frame_read(r, &f, &err)) != SS_FRAME_EOF) {
		size_t llen;
		const char *line = ss_frame_reader_line(r, &llen);

		if (rc == SS_FRAME_OK) {
			summarize(&f, &got);
			ss_buf_addc(&got, '\n');
			/* Valid input in the table is compact, so the writer
			 * must give the same bytes back. */
			if (line[0] == '{') {
				char *out = write_to_string(f.json, &err, &rc);

				if (rc < 0 || strlen(out) != llen + 1 ||
				    memcmp(out, line, llen))
					FAIL(
					    "%s:%d: writer output differs:\n  in:  %s\n  out: %s",
					    path, ln, line,
					    rc < 0 ? err.msg : out);
				free(out);
			}
		} else if (rc < 0) {
			if (err.code != SS_ERR_INPUT)
				FAIL("%s:%d: error code %d", path, ln,
				     err.code);
			ss_buf_addf(&got, "error: %s\n", err.msg);
		} else {
			FAIL("%s:%d: unexpected result %d", path, ln, rc);
			break;
		}
	}
	if (order && ss_frame_reader_seq(r)->in_txn)
		ss_buf_adds(&got, "(in transaction at end)\n");
	if (strcmp(got.buf, expect->buf))
		FAIL("%s:%d: (%s reader)\nexpected:\n%sgot:\n%s", path, ln,
		     use_fd ? "fd" : "stdio", expect->buf, got.buf);
	ss_frame_release(&f);
	ss_frame_reader_free(r);
	fclose(in);
	ss_buf_release(&got);
}

static int run_table(const char *path)
{
	struct ss_buf input = SS_BUF_INIT, expect = SS_BUF_INIT;
	char *line = NULL;
	size_t alloc = 0;
	ssize_t n;
	int ln = 0, start = 0, state = 0, blocks = 0, order = 0;
	FILE *in = fopen(path, "r");

	if (!in) {
		FAIL("cannot open '%s': %s", path, strerror(errno));
		return 0;
	}
	/* state 0: between blocks, 1: input lines, 2: expected lines. */
	for (;;) {
		n = getline(&line, &alloc, in);
		if (n >= 0)
			ln++;
		if (n < 0 || (n == 1 && line[0] == '\n')) {
			if (state == 2) {
				run_block(path, start, &input, &expect, 0,
					  order);
				run_block(path, start, &input, &expect, 1,
					  order);
				blocks++;
			} else if (state == 1) {
				FAIL("%s:%d: block without '=>'", path, start);
			}
			ss_buf_reset(&input);
			ss_buf_reset(&expect);
			state = 0;
			if (n < 0)
				break;
			continue;
		}
		if (state == 0 && line[0] == '#')
			continue;
		if (state == 0) {
			state = 1;
			start = ln;
		}
		if (state == 1 &&
		    (!strcmp(line, "=>\n") || !strcmp(line, "=> order\n"))) {
			state = 2;
			order = line[2] == ' ';
		} else if (state == 1)
			ss_buf_add(&input, line, (size_t)n);
		else
			ss_buf_add(&expect, line, (size_t)n);
	}
	free(line);
	fclose(in);
	ss_buf_release(&input);
	ss_buf_release(&expect);
	return blocks;
}

/* ---- Cases beyond the table ------------------------------------------- */

/* Read all of `data` with a reader of the given kind and max line;
 * return the results as in the table ("summary" / "error: msg"). */
static void read_all(const char *data, size_t len, int use_fd, size_t max,
		     struct ss_buf *out)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_frame f = SS_FRAME_INIT;
	struct ss_frame_reader *r;
	FILE *in = tmpfile();
	int rc, guard = 0;

	fwrite(data, 1, len, in);
	rewind(in);
	r = use_fd ? ss_frame_reader_new_fd(fileno(in), "<stdin>")
		   : ss_frame_reader_new(in, "<stdin>");
	if (max)
		ss_frame_reader_set_max_line(r, max);
	while ((rc = ss_frame_read(r, &f, &err)) != SS_FRAME_EOF &&
	       guard++ < 100000) {
		if (rc == SS_FRAME_OK) {
			summarize(&f, out);
			ss_buf_addc(out, '\n');
		} else if (rc < 0) {
			ss_buf_addf(out, "error: %s\n", err.msg);
		} else {
			ss_buf_addf(out, "result %d\n", rc);
			break;
		}
	}
	if (ss_frame_read(r, &f, &err) != SS_FRAME_EOF)
		ss_buf_adds(out, "EOF is not sticky\n");
	ss_frame_release(&f);
	ss_frame_reader_free(r);
	fclose(in);
}

static void expect_read(const char *what, const char *data, size_t max,
			const char *want)
{
	int use_fd;

	for (use_fd = 0; use_fd <= 1; use_fd++) {
		struct ss_buf got = SS_BUF_INIT;

		read_all(data, strlen(data), use_fd, max, &got);
		if (strcmp(got.buf, want))
			FAIL("%s (%s reader):\nexpected:\n%sgot:\n%s", what,
			     use_fd ? "fd" : "stdio", want, got.buf);
		ss_buf_release(&got);
	}
}

#define P "{\"type\":\"progress\",\"lsn\":\"0/1\"}" /* 31 bytes */

static void test_lines(void)
{
	expect_read("empty input", "", 0, "");
	expect_read("blank lines", P "\n\n" P "\n \t\n", 0,
		    "progress lsn=0/1\nerror: <stdin>:2: empty line\n"
		    "progress lsn=0/1\nerror: <stdin>:4: empty line\n");
	expect_read("no final newline", P "\n" P, 0,
		    "progress lsn=0/1\n"
		    "error: <stdin>:2: incomplete line at end of input\n");
	expect_read("lone partial line", "{\"ty", 0,
		    "error: <stdin>:1: incomplete line at end of input\n");
	expect_read("line of exactly the limit", P "\n", 31,
		    "progress lsn=0/1\n");
	expect_read("line over the limit is skipped, numbering goes on",
		    P "\n" P " \n" P "\n", 31,
		    "progress lsn=0/1\n"
		    "error: <stdin>:2: line too long (more than 31 bytes)\n"
		    "progress lsn=0/1\n");
	expect_read("over the limit and unterminated", P "\n" P "xxxxxxxxx", 31,
		    "progress lsn=0/1\n"
		    "error: <stdin>:2: line too long (more than 31 bytes)\n");
	expect_read("tiny limit", P "\n\n", 1,
		    "error: <stdin>:1: line too long (more than 1 bytes)\n"
		    "error: <stdin>:2: empty line\n");
	expect_read("CRLF and spaces around the object are tolerated",
		    " " P "\r\n", 0, "progress lsn=0/1\n");
}

/* A NUL cannot go through expect_read's strlen; do it by length. */
static void test_nul(void)
{
	static const char data[] =
	    "{\"type\":\"pro\0gress\",\"lsn\":\"0/1\"}\n" P "\n";
	int use_fd;

	for (use_fd = 0; use_fd <= 1; use_fd++) {
		struct ss_buf got = SS_BUF_INIT;

		read_all(data, sizeof(data) - 1, use_fd, 0, &got);
		if (strncmp(got.buf, "error: <stdin>:1: invalid JSON: ", 32) ||
		    !strstr(got.buf, "\nprogress lsn=0/1\n"))
			FAIL("NUL byte (%s):\n%s", use_fd ? "fd" : "stdio",
			     got.buf);
		ss_buf_release(&got);
	}
}

static void test_nonblocking(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_frame f = SS_FRAME_INIT;
	struct ss_frame_reader *r;
	int p[2], rc;
	const char *first = "{\"type\":\"progress\",",
		   *rest = "\"lsn\":\"0/2\"}\n" P "\n";

	if (pipe(p) < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		FAIL("pipe: %s", strerror(errno));
		return;
	}
	r = ss_frame_reader_new_fd(p[0], "<pipe>");
	if ((rc = ss_frame_read(r, &f, &err)) != SS_FRAME_AGAIN)
		FAIL("empty pipe: %d, expected AGAIN", rc);
	if (write(p[1], first, strlen(first)) < 0)
		FAIL("write: %s", strerror(errno));
	if ((rc = ss_frame_read(r, &f, &err)) != SS_FRAME_AGAIN)
		FAIL("half a line: %d, expected AGAIN", rc);
	if (ss_frame_reader_buffered(r))
		FAIL("nothing should be buffered");
	if (write(p[1], rest, strlen(rest)) < 0)
		FAIL("write: %s", strerror(errno));
	if ((rc = ss_frame_read(r, &f, &err)) != SS_FRAME_OK ||
	    f.type != SS_FRAME_PROGRESS || f.lsn != 2)
		FAIL("completed line: rc %d type %d: %s", rc, f.type, err.msg);
	if (!ss_frame_reader_buffered(r))
		FAIL("second line should be buffered");
	if ((rc = ss_frame_read(r, &f, &err)) != SS_FRAME_OK || f.lsn != 1 ||
	    ss_frame_reader_lineno(r) != 2)
		FAIL("second line: rc %d", rc);
	close(p[1]);
	if ((rc = ss_frame_read(r, &f, &err)) != SS_FRAME_EOF)
		FAIL("closed pipe: %d, expected EOF", rc);
	ss_frame_release(&f);
	ss_frame_reader_free(r);
	close(p[0]);
}

static void expect_written(const char *what, json_t *frame, const char *want)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_frame f = SS_FRAME_INIT;
	int rc;
	char *s = write_to_string(frame, &err, &rc);

	if (rc < 0)
		FAIL("%s: write failed: %s", what, err.msg);
	else if (strcmp(s, want))
		FAIL("%s:\nexpected: %sgot:      %s", what, want, s);
	else if (ss_frame_parse(&f, s, strlen(s) - 1, &err) < 0)
		FAIL("%s: cannot read back: %s", what, err.msg);
	free(s);
	ss_frame_release(&f);
	json_decref(frame);
}

static void test_builders(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_frame f = SS_FRAME_INIT;
	json_t *j, *row;
	uint32_t oids[] = {16384, 16390};
	int64_t ids[] = {1, 3, 12};
	int64_t ts = 1795246680123456; /* 2026-11-21T07:38:00.123456Z */
	char *s;
	int rc;

	expect_written("begin", ss_frame_new_begin(750, 0x16B3748, ts),
		       "{\"type\":\"begin\",\"xid\":750,\"lsn\":\"0/16B3748\","
		       "\"ts\":\"2026-11-21T07:38:00.123456Z\"}\n");
	expect_written("commit",
		       ss_frame_new_commit(750, 0x16B3748, 0x16B3778, ts),
		       "{\"type\":\"commit\",\"xid\":750,\"lsn\":\"0/16B3748\","
		       "\"end_lsn\":\"0/16B3778\","
		       "\"ts\":\"2026-11-21T07:38:00.123456Z\"}\n");
	row = json_pack("{s:s,s:n}", "id", "1", "title");
	expect_written("insert",
		       ss_frame_new_change(SS_FRAME_OP_INSERT, 16384, 750,
					   0x16B3748, 0, row, NULL),
		       "{\"type\":\"change\",\"op\":\"insert\",\"oid\":16384,"
		       "\"xid\":750,\"lsn\":\"0/16B3748\",\"pos\":0,"
		       "\"new\":{\"id\":\"1\",\"title\":null}}\n");
	j = ss_frame_new_change(SS_FRAME_OP_UPDATE, 16384, 750, 0x16B3748, 1,
				json_pack("{s:s}", "id", "2"),
				json_pack("{s:s}", "id", "1"));
	ss_frame_set_shapes(j, ids, 3);
	ss_frame_set_move(j, 3, SS_FRAME_OP_DELETE);
	ss_frame_set_move(j, 12, SS_FRAME_OP_INSERT);
	if (ss_frame_decode(&f, j, &err) < 0 || f.nshapes != 3 ||
	    f.shape_ops[0] != SS_FRAME_OP_UPDATE ||
	    f.shape_ops[1] != SS_FRAME_OP_DELETE ||
	    f.shape_ops[2] != SS_FRAME_OP_INSERT)
		FAIL("routed update: %s", err.msg);
	ss_frame_release(&f);
	expect_written("routed update", j,
		       "{\"type\":\"change\",\"op\":\"update\",\"oid\":16384,"
		       "\"xid\":750,\"lsn\":\"0/16B3748\",\"pos\":1,"
		       "\"new\":{\"id\":\"2\"},\"old\":{\"id\":\"1\"},"
		       "\"shapes\":[1,3,12],"
		       "\"moves\":{\"3\":\"delete\",\"12\":\"insert\"}}\n");
	j = ss_frame_new_truncate(751, 0x16B4000, 0, oids, 2);
	ss_frame_set_shapes(j, ids, 1);
	expect_written(
	    "truncate", j,
	    "{\"type\":\"truncate\",\"xid\":751,\"lsn\":\"0/16B4000\","
	    "\"pos\":0,\"oids\":[16384,16390],\"shapes\":[1]}\n");
	j = ss_frame_new_relation(16384, "public", "items", 'f');
	ss_frame_add_column(j, "id", "int4", 23, -1, 1);
	ss_frame_add_column(j, "title", "varchar", 1043, 84, 0);
	expect_written(
	    "relation", j,
	    "{\"type\":\"relation\",\"oid\":16384,\"schema\":\"public\","
	    "\"table\":\"items\",\"replica_identity\":\"f\","
	    "\"columns\":[{\"name\":\"id\",\"type\":\"int4\","
	    "\"type_oid\":23,\"typmod\":-1,\"pk\":true},"
	    "{\"name\":\"title\",\"type\":\"varchar\","
	    "\"type_oid\":1043,\"typmod\":84,\"pk\":false}]}\n");
	expect_written(
	    "invalidate",
	    ss_frame_new_invalidate(ids, 2, 16384, "schema changed"),
	    "{\"type\":\"invalidate\",\"shapes\":[1,3],\"oid\":16384,"
	    "\"reason\":\"schema changed\"}\n");
	expect_written(
	    "progress", ss_frame_new_progress(0xFFFFFFFFFFFFFFFFULL),
	    "{\"type\":\"progress\",\"lsn\":\"FFFFFFFF/FFFFFFFF\"}\n");

	/* An invalid frame is refused and nothing is written. */
	j = ss_frame_new_change(SS_FRAME_OP_DELETE, 1, 2, 3, 4, NULL, NULL);
	s = write_to_string(j, &err, &rc);
	if (rc == 0 || err.code != SS_ERR_INPUT ||
	    strcmp(err.msg,
		   "invalid frame: change frame: missing field 'old'") ||
	    strcmp(s, ""))
		FAIL("invalid frame written: rc %d '%s' out '%s'", rc, err.msg,
		     s);
	free(s);
	json_decref(j);
	j = ss_frame_new_relation(1, NULL, "t", 'x');
	s = write_to_string(j, &err, &rc);
	if (rc == 0 || strcmp(err.msg, "invalid frame: relation frame: field "
				       "'schema' must be a non-empty string"))
		FAIL("NULL schema: rc %d '%s'", rc, err.msg);
	free(s);
	json_decref(j);
}

static void test_write_errors(void)
{
	struct ss_err err = SS_ERR_INIT;
	json_t *j = ss_frame_new_progress(1);
	FILE *full = fopen("/dev/full", "w");

	if (!full) {
		FAIL("cannot open /dev/full: %s", strerror(errno));
	} else {
		setvbuf(full, NULL, _IONBF, 0);
		if (ss_frame_write(full, "/dev/full", j, &err) == 0)
			FAIL("write to /dev/full succeeded");
		else if (err.code != SS_ERR_RUNTIME ||
			 strcmp(err.msg, "could not write to '/dev/full': "
					 "No space left on device"))
			FAIL("/dev/full: code %d '%s'", err.code, err.msg);
		fclose(full);
	}
	json_decref(j);
}

static void test_ts(void)
{
	static const struct {
		const char *s;
		int64_t us; /* INT64_MIN: must fail */
	} cases[] = {
	    {"1970-01-01T00:00:00.000000Z", 0},
	    {"2000-01-01T00:00:00.000001Z", 946684800000001},
	    {"2026-11-21T07:38:00.123456Z", 1795246680123456},
	    {"2024-02-29T23:59:59.999999Z", 1709251199999999},
	    {"1969-12-31T23:59:59.999999Z", -1},
	    {"0001-01-01T00:00:00.000000Z", -62135596800000000},
	    {"9999-12-31T23:59:59.999999Z", 253402300799999999},
	    {"2023-02-29T00:00:00.000000Z", INT64_MIN},
	    {"2026-13-01T00:00:00.000000Z", INT64_MIN},
	    {"2026-04-31T00:00:00.000000Z", INT64_MIN},
	    {"2026-01-01T24:00:00.000000Z", INT64_MIN},
	    {"2026-01-01T00:60:00.000000Z", INT64_MIN},
	    {"2026-01-01T00:00:60.000000Z", INT64_MIN},
	    {"0000-01-01T00:00:00.000000Z", INT64_MIN},
	    {"2026-01-01T00:00:00.00000Z", INT64_MIN},
	    {"2026-01-01T00:00:00.0000000Z", INT64_MIN},
	    {"2026-01-01T00:00:00Z", INT64_MIN},
	    {"2026-01-01 00:00:00.000000Z", INT64_MIN},
	    {"2026-01-01T00:00:00.000000+00", INT64_MIN},
	    {"2026-01-01T00:00:00.000000z", INT64_MIN},
	    {"2026-1-01T00:00:00.0000000Z", INT64_MIN},
	    {"+026-01-01T00:00:00.000000Z", INT64_MIN},
	    {"", INT64_MIN},
	};
	struct ss_err err = SS_ERR_INIT;
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t us = 0;
		int rc = ss_frame_parse_ts(cases[i].s, &us, &err);

		if (cases[i].us == INT64_MIN) {
			if (rc == 0)
				FAIL("ts '%s' accepted", cases[i].s);
			continue;
		}
		if (rc < 0 || us != cases[i].us)
			FAIL("ts '%s' = %" PRId64 ", expected %" PRId64,
			     cases[i].s, us, cases[i].us);
		ss_format_time_us(us, buf, sizeof(buf));
		if (strcmp(buf, cases[i].s))
			FAIL("ts %" PRId64 " formats as '%s'", us, buf);
	}
	{
		int64_t us;

		ss_frame_parse_ts("x\x01", &us, &err);
	}
	if (strcmp(err.msg, "invalid timestamp 'x\\x01'"))
		FAIL("ts message: '%s'", err.msg);
}

/* ---- Random input never crashes --------------------------------------- */

static const char *const seeds[] = {
    "{\"type\":\"begin\",\"xid\":750,\"lsn\":\"0/16B3748\",\"ts\":\"2026-11-21T07:38:00.123456Z\"}",
    "{\"type\":\"change\",\"op\":\"update\",\"oid\":16384,\"xid\":750,\"lsn\":\"0/16B3748\",\"pos\":1,\"new\":{\"id\":\"2\"},\"old\":{\"id\":\"1\"},\"shapes\":[1,3,12],\"moves\":{\"3\":\"delete\",\"12\":\"insert\"}}",
    "{\"type\":\"relation\",\"oid\":16384,\"schema\":\"public\",\"table\":\"items\",\"replica_identity\":\"f\",\"columns\":[{\"name\":\"id\",\"type\":\"int4\",\"type_oid\":23,\"typmod\":-1,\"pk\":true}]}",
    "{\"type\":\"truncate\",\"xid\":751,\"lsn\":\"0/16B4000\",\"pos\":0,\"oids\":[16384,16390],\"shapes\":[1]}",
    "{\"type\":\"commit\",\"xid\":750,\"lsn\":\"0/16B3748\",\"end_lsn\":\"0/16B3778\",\"ts\":\"2026-11-21T07:38:00.123456Z\"}",
    "{\"type\":\"invalidate\",\"shapes\":[1,3],\"oid\":16384,\"reason\":\"x\"}",
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure is reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void check_results(const char *what, const char *data, size_t len,
			  int use_fd, size_t max)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_frame f = SS_FRAME_INIT;
	struct ss_frame_reader *r;
	FILE *in = tmpfile();
	int rc, n = 0;

	fwrite(data, 1, len, in);
	rewind(in);
	r = use_fd ? ss_frame_reader_new_fd(fileno(in), "<fuzz>")
		   : ss_frame_reader_new(in, "<fuzz>");
	ss_frame_reader_set_max_line(r, max);
	while ((rc = ss_frame_read(r, &f, &err)) != SS_FRAME_EOF) {
		if (rc == SS_FRAME_OK) {
			/* Whatever was accepted must be writable as is. */
			char *s = write_to_string(f.json, &err, &rc);

			if (rc < 0)
				FAIL("%s: accepted frame does not write: %s",
				     what, err.msg);
			free(s);
		} else if (rc < 0) {
			if (err.code != SS_ERR_INPUT ||
			    strncmp(err.msg, "<fuzz>:", 7))
				FAIL("%s: bad error %d '%s'", what, err.code,
				     err.msg);
		} else {
			FAIL("%s: result %d", what, rc);
			break;
		}
		if (++n > 100000) {
			FAIL("%s: reader does not terminate", what);
			break;
		}
	}
	ss_frame_release(&f);
	ss_frame_reader_free(r);
	fclose(in);
}

static void test_fuzz(void)
{
	char buf[4096];
	int iter;

	for (iter = 0; iter < 3000; iter++) {
		size_t len = 0, k, nmut;
		const char *seed =
		    seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];

		if (iter % 3 == 0) {
			/* Pure random bytes, newline-heavy now and then. */
			len = rnd() % sizeof(buf);
			for (k = 0; k < len; k++)
				buf[k] =
				    iter % 2
					? (char)(rnd() % 256)
					: "{}[]\":,\n0a\\-_/ut"[rnd() % 17];
		} else {
			/* A few valid lines with mutations and truncation. */
			int lines = 1 + (int)(rnd() % 4);

			while (lines-- > 0) {
				size_t sl = strlen(seed);

				if (len + sl + 1 >= sizeof(buf))
					break;
				memcpy(buf + len, seed, sl);
				nmut = rnd() % 4;
				for (k = 0; k < nmut; k++)
					buf[len + rnd() % sl] =
					    (char)(rnd() % 256);
				len += sl;
				buf[len++] = '\n';
			}
			if (rnd() % 3 == 0)
				len = rnd() % (len + 1);
		}
		check_results("fuzz", buf, len, (int)(iter & 1),
			      iter % 5 == 0 ? 1 + rnd() % 200 : 0);
	}
}

/* ss_frame_write_change writes byte for byte what ss_frame_write writes
 * for the built frame, over values that need every kind of escape, and
 * refuses invalid UTF-8 and NUL before writing anything. */
static void test_write_change(void)
{
	static const char *const vals[] = {
	    "",
	    "plain",
	    "quote\" back\\slash /",
	    "\b\f\n\r\t",
	    "\x01\x1f\x7f",
	    "h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80",
	    "\xef\xbf\xbf",
	    "\xe2\x80\xa8",
	    "{\"a\": [1, 2]}",
	    "NULL",
	};
	static const char *const bad[] = {
	    "\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	    "\xff", "\xe2\x98", "a\x80",
	};
	size_t nv = sizeof(vals) / sizeof(vals[0]), i, k;
	struct ss_buf scratch = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;

	for (k = 0; k < 3; k++) {
		enum ss_frame_op op = k == 0   ? SS_FRAME_OP_INSERT
				      : k == 1 ? SS_FRAME_OP_UPDATE
					       : SS_FRAME_OP_DELETE;
		struct ss_frame_col cols[16], old[16];
		json_t *n = json_object(), *o = json_object(), *frame;
		char *want, *got = NULL, name[16][8];
		size_t glen = 0;
		FILE *m;
		int rc;

		for (i = 0; i < nv + 1; i++) {
			snprintf(name[i], sizeof(name[i]),
				 i == 3 ? "c\"%zu" : "c%zu", i);
			cols[i].name = old[i].name = name[i];
			cols[i].data = i < nv ? vals[i] : NULL;
			cols[i].len = i < nv ? strlen(vals[i]) : 0;
			old[i].data = i < nv ? vals[nv - 1 - i] : NULL;
			old[i].len = i < nv ? strlen(vals[nv - 1 - i]) : 0;
			json_object_set_new(n, name[i],
					    cols[i].data
						? json_string(cols[i].data)
						: json_null());
			json_object_set_new(o, name[i],
					    old[i].data
						? json_string(old[i].data)
						: json_null());
		}
		frame = ss_frame_new_change(
		    op, 16384, 21474837214ULL, 0x16B3748, 7 + k,
		    op == SS_FRAME_OP_DELETE ? NULL : n,
		    op == SS_FRAME_OP_INSERT ? NULL : o);
		if (op == SS_FRAME_OP_DELETE)
			json_decref(n);
		if (op == SS_FRAME_OP_INSERT)
			json_decref(o);
		want = write_to_string(frame, &err, &rc);
		if (rc < 0)
			FAIL("write_change %zu: reference failed: %s", k,
			     err.msg);
		m = open_memstream(&got, &glen);
		if (ss_frame_write_change(m, "<mem>", op, 16384, 21474837214ULL,
					  0x16B3748, 7 + k, cols, nv + 1, old,
					  nv + 1, &scratch, &err) < 0)
			FAIL("write_change %zu: %s", k, err.msg);
		fclose(m);
		if (rc == 0 && strcmp(want, got))
			FAIL("write_change %zu:\nexpected: %sgot:      %s", k,
			     want, got);
		free(want);
		free(got);
		json_decref(frame);
	}

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]) + 1; i++) {
		struct ss_frame_col c = {"col", i ? bad[i - 1] : "a\0b",
					 i ? strlen(bad[i - 1]) : 3};
		char *got = NULL;
		size_t glen = 0;
		FILE *m = open_memstream(&got, &glen);

		if (ss_frame_write_change(m, "<mem>", SS_FRAME_OP_INSERT, 1, 1,
					  1, 0, &c, 1, NULL, 0, &scratch,
					  &err) == 0 ||
		    err.code != SS_ERR_INPUT ||
		    strcmp(err.msg, i ? "change frame: column 'col' is not "
					"valid UTF-8"
				      : "change frame: column 'col' contains "
					"NUL"))
			FAIL("write_change bad value %zu: '%s'", i, err.msg);
		fclose(m);
		if (glen)
			FAIL("write_change bad value %zu: wrote %zu bytes", i,
			     glen);
		free(got);
	}
	ss_buf_release(&scratch);
}

/* ss_frame_seq_last_pos: the highest pos of a change or move of the
 * transaction, -1 without any. */
static void test_last_pos(void)
{
	static const char *const lines[] = {
	    "{\"type\":\"begin\",\"xid\":9,\"lsn\":\"0/10\",\"ts\":"
	    "\"2026-01-01T00:00:00.000000Z\"}",
	    "{\"type\":\"change\",\"op\":\"insert\",\"oid\":5,\"xid\":9,"
	    "\"lsn\":\"0/10\",\"pos\":2,\"new\":{}}",
	    "{\"type\":\"move\",\"xid\":9,\"lsn\":\"0/10\",\"pos\":4,"
	    "\"event\":\"move-out\",\"shapes\":[1],\"patterns\":{\"1\":"
	    "[{\"pos\":0,\"value\":\"h\"}]}}"};
	static const int64_t want[] = {-1, 2, 4};
	struct ss_frame_seq seq = SS_FRAME_SEQ_INIT;
	struct ss_err err = SS_ERR_INIT;
	size_t i;

	for (i = 0; i < 3; i++) {
		struct ss_frame f = SS_FRAME_INIT;

		if (ss_frame_parse(&f, lines[i], strlen(lines[i]), &err) < 0 ||
		    ss_frame_seq_check(&seq, &f, &err) < 0)
			FAIL("last_pos line %zu: %s", i, err.msg);
		if (ss_frame_seq_last_pos(&seq) != want[i])
			FAIL("last_pos after line %zu: %" PRId64, i,
			     ss_frame_seq_last_pos(&seq));
		ss_frame_release(&f);
	}
}

int main(int argc, char **argv)
{
	int blocks;

	if (argc != 2) {
		fprintf(stderr, "usage: test-frame FILE\n");
		return 2;
	}
	blocks = run_table(argv[1]);
	if (blocks < 40)
		FAIL("only %d blocks ran", blocks);
	test_lines();
	test_nul();
	test_nonblocking();
	test_builders();
	test_write_errors();
	test_write_change();
	test_ts();
	test_fuzz();
	test_last_pos();
	if (failures) {
		fprintf(stderr, "test-frame: %d failure(s)\n", failures);
		return 1;
	}
	printf("test-frame: %d table blocks and the API cases passed\n",
	       blocks);
	return 0;
}
