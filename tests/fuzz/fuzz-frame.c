/*
 * fuzz-frame.c — libFuzzer target for the frame reader (lib/frame.c):
 * NDJSON lines of every frame type read through ss_frame_read with the
 * stream-order checker on. Invariants: an error has a message and the
 * reader goes on; a frame that is read writes (ss_frame_write) as one
 * line that parses to an equal JSON object, writes again to the same
 * bytes, and passes a second order checker fed the re-parsed frames;
 * change frames built with ss_frame_write_change from the decoded rows
 * equal what ss_frame_write writes; the reader's line numbers count
 * every line.
 */
#include "fuzz.h"
#include "frame.h"
#include "util.h"

/* Write `json` with ss_frame_write into a string (*new*), or NULL. */
static char *write_frame(json_t *json, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	struct ss_err err = SS_ERR_INIT;
	int rc;

	if (!m)
		abort();
	rc = ss_frame_write(m, "<mem>", json, &err);
	fclose(m);
	FUZZ_CHECK(rc == 0, "a decoded frame does not write: %s", err.msg);
	*len = n;
	return buf;
}

/* The row's columns as ss_frame_col values (*new* array). */
static struct ss_frame_col *row_cols(json_t *row, size_t *n)
{
	struct ss_frame_col *c;
	const char *k;
	json_t *v;
	size_t i = 0;

	*n = row ? json_object_size(row) : 0;
	c = calloc(*n + 1, sizeof(*c));
	if (!row)
		return c;
	json_object_foreach(row, k, v)
	{
		c[i].name = k;
		c[i].data = json_is_string(v) ? json_string_value(v) : NULL;
		c[i].len = json_is_string(v) ? json_string_length(v) : 0;
		i++;
	}
	return c;
}

static void check_change(const struct ss_frame *f, const char *line, size_t len)
{
	struct ss_frame_col *nc, *oc;
	size_t nn, no;
	char *buf = NULL;
	size_t n = 0;
	FILE *m;
	struct ss_buf scratch = SS_BUF_INIT;
	struct ss_err err = SS_ERR_INIT;
	json_t *built;
	char *want;
	size_t wlen;
	int rc;

	/* Only a plain change (no route fields) has a write_change twin. */
	if (f->has_shapes || json_object_get(f->json, "moves"))
		return;
	nc = row_cols(f->new_row, &nn);
	oc = row_cols(f->old_row, &no);
	m = open_memstream(&buf, &n);
	if (!m)
		abort();
	rc = ss_frame_write_change(m, "<mem>", f->op, f->oid, f->xid, f->lsn,
				   f->pos, f->new_row ? nc : NULL, nn,
				   f->old_row ? oc : NULL, no, &scratch, &err);
	fclose(m);
	FUZZ_CHECK(rc == 0, "ss_frame_write_change fails on a read frame: %s",
		   err.msg);
	built =
	    ss_frame_new_change(f->op, f->oid, f->xid, f->lsn, f->pos,
				f->new_row ? json_incref(f->new_row) : NULL,
				f->old_row ? json_incref(f->old_row) : NULL);
	want = write_frame(built, &wlen);
	FUZZ_CHECK(n == wlen && !memcmp(buf, want, n),
		   "write_change and write differ for '%.*s':\n%.*s%.*s",
		   (int)len, line, (int)n, buf, (int)wlen, want);
	json_decref(built);
	free(want);
	free(buf);
	free(nc);
	free(oc);
	ss_buf_release(&scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *in;
	struct ss_frame_reader *r;
	struct ss_frame f = SS_FRAME_INIT, g = SS_FRAME_INIT;
	struct ss_frame_seq shadow = SS_FRAME_SEQ_INIT;
	struct ss_err err = SS_ERR_INIT;
	uint64_t lines = 0, last = 0;
	size_t i;
	int rc;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (!size)
		return 0;
	in = fmemopen((void *)data, size, "r");
	if (!in)
		abort();
	r = ss_frame_reader_new(in, "<fuzz>");
	ss_frame_reader_set_max_line(r, 4096);
	ss_frame_reader_check_order(r, 1);
	for (;;) {
		const char *line;
		size_t len;
		char *out, *out2;
		size_t olen, olen2;

		ss_err_clear(&err);
		rc = ss_frame_read(r, &f, &err);
		FUZZ_CHECK(ss_frame_reader_lineno(r) >= last &&
			       ss_frame_reader_lineno(r) <= lines + 1,
			   "line number %llu after %llu (%llu lines)",
			   (unsigned long long)ss_frame_reader_lineno(r),
			   (unsigned long long)last, (unsigned long long)lines);
		last = ss_frame_reader_lineno(r);
		if (rc == SS_FRAME_EOF)
			break;
		if (rc < 0) {
			FUZZ_CHECK(err.msg[0] && f.type == SS_FRAME_NONE,
				   "read error without message, or a frame");
			if (err.code != SS_ERR_INPUT ||
			    strstr(err.msg, "incomplete line"))
				break;
			continue;
		}
		FUZZ_CHECK(rc == SS_FRAME_OK, "ss_frame_read returned %d", rc);
		FUZZ_CHECK(ss_frame_type_name(f.type) != NULL,
			   "frame of type %d", (int)f.type);
		line = ss_frame_reader_line(r, &len);
		out = write_frame(f.json, &olen);
		FUZZ_CHECK(olen > 0 && out[olen - 1] == '\n' &&
			       !memchr(out, '\n', olen - 1),
			   "written frame is not one line: %.*s", (int)olen,
			   out);
		FUZZ_CHECK(ss_frame_parse(&g, out, olen - 1, &err) == 0,
			   "'%.*s' writes as '%.*s', which does not parse: %s",
			   (int)len, line, (int)olen, out, err.msg);
		FUZZ_CHECK(json_equal(f.json, g.json) && g.type == f.type,
			   "'%.*s' writes as '%.*s', a different frame",
			   (int)len, line, (int)olen, out);
		FUZZ_CHECK(
		    g.xid == f.xid && g.lsn == f.lsn &&
			g.end_lsn == f.end_lsn && g.pos == f.pos &&
			g.oid == f.oid && g.op == f.op && g.ts_us == f.ts_us &&
			g.nshapes == f.nshapes && g.ncolumns == f.ncolumns &&
			g.noids == f.noids && g.nancestors == f.nancestors &&
			g.stream == f.stream,
		    "'%.*s' re-read decodes other fields", (int)len, line);
		out2 = write_frame(g.json, &olen2);
		FUZZ_CHECK(olen == olen2 && !memcmp(out, out2, olen),
			   "writing is not stable: '%.*s' then '%.*s'",
			   (int)olen, out, (int)olen2, out2);
		FUZZ_CHECK(ss_frame_seq_check(&shadow, &g, &err) == 0,
			   "the order checker took '%.*s' but not its copy: %s",
			   (int)len, line, err.msg);
		if (f.type == SS_FRAME_CHANGE)
			check_change(&f, line, len);
		free(out);
		free(out2);
		ss_frame_release(&g);
	}
	FUZZ_CHECK(f.type == SS_FRAME_NONE, "frame left after EOF or error");
	{
		const struct ss_frame_seq *seq = ss_frame_reader_seq(r);

		FUZZ_CHECK(seq && seq->in_txn == shadow.in_txn &&
			       seq->last_commit == shadow.last_commit &&
			       seq->progress == shadow.progress &&
			       seq->stream == shadow.stream,
			   "the reader's order state and the copy's differ");
	}
	ss_frame_release(&f);
	ss_frame_release(&g);
	ss_frame_reader_free(r);
	fclose(in);
	return 0;
}
