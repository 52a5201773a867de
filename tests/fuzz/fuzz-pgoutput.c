/*
 * fuzz-pgoutput.c — libFuzzer target for the pgoutput decoder
 * (lib/pgoutput.c) and the relation and type caches beside it. The input
 * is one message. Invariants: an error has a message; a decoded message's
 * strings and values lie inside the input; encoding it again in the
 * protocol's layout (below) and decoding that gives the same message and
 * the same bytes once more; a relation stored in the cache comes back
 * equal and storing it again reports no change.
 */
#include "fuzz.h"
#include "pgoutput.h"
#include "util.h"

static const char *lo, *hi; /* the input, for "points inside" */

static void inside(const char *p, size_t n, const char *what)
{
	FUZZ_CHECK(p >= lo && p + n <= hi, "%s outside the message", what);
}

static void inside_str(const char *s, const char *what)
{
	if (!strcmp(s, "pg_catalog") && !(s >= lo && s < hi))
		return; /* the decoder's name for "" */
	inside(s, strlen(s) + 1, what);
}

/* ---- an encoder in the protocol's layout ---- */

static void p8(struct ss_buf *b, unsigned v)
{
	ss_buf_addc(b, (char)v);
}

static void p16(struct ss_buf *b, unsigned v)
{
	p8(b, (v >> 8) & 0xff);
	p8(b, v & 0xff);
}

static void p32(struct ss_buf *b, uint32_t v)
{
	p16(b, v >> 16);
	p16(b, v & 0xffff);
}

static void p64(struct ss_buf *b, uint64_t v)
{
	p32(b, (uint32_t)(v >> 32));
	p32(b, (uint32_t)v);
}

static void pstr(struct ss_buf *b, const char *s)
{
	ss_buf_add(b, s, strlen(s) + 1);
}

static void ptuple(struct ss_buf *b, const struct ss_pgo_tuple *t)
{
	size_t i;

	p16(b, (unsigned)t->ncols);
	for (i = 0; i < t->ncols; i++) {
		p8(b, (unsigned char)t->vals[i].kind);
		if (t->vals[i].kind == SS_PGO_TEXT) {
			p32(b, t->vals[i].len);
			ss_buf_add(b, t->vals[i].data, t->vals[i].len);
		}
	}
}

static uint64_t pg_ts(int64_t unix_us)
{
	return (uint64_t)unix_us - (uint64_t)SS_PG_EPOCH_OFFSET_US;
}

static void encode(struct ss_buf *b, const struct ss_pgo_msg *m)
{
	size_t i;

	p8(b, (unsigned char)m->type);
	switch (m->type) {
	case 'B':
		p64(b, m->final_lsn);
		p64(b, pg_ts(m->ts_us));
		p32(b, m->xid);
		break;
	case 'C':
		p8(b, m->flags);
		p64(b, m->commit_lsn);
		p64(b, m->end_lsn);
		p64(b, pg_ts(m->ts_us));
		break;
	case 'O':
		p64(b, m->origin_lsn);
		pstr(b, m->origin_name);
		break;
	case 'R':
		p32(b, m->rel.oid);
		pstr(b, m->rel.schema);
		pstr(b, m->rel.table);
		p8(b, (unsigned char)m->rel.replident);
		p16(b, (unsigned)m->rel.ncols);
		for (i = 0; i < m->rel.ncols; i++) {
			p8(b, (unsigned)m->rel.cols[i].key);
			pstr(b, m->rel.cols[i].name);
			p32(b, m->rel.cols[i].type_oid);
			p32(b, (uint32_t)m->rel.cols[i].typmod);
		}
		break;
	case 'Y':
		p32(b, m->type_oid);
		pstr(b, m->type_schema);
		pstr(b, m->type_name);
		break;
	case 'I':
		p32(b, m->relid);
		p8(b, 'N');
		ptuple(b, &m->new_tuple);
		break;
	case 'U':
		p32(b, m->relid);
		if (m->old_kind) {
			p8(b, (unsigned char)m->old_kind);
			ptuple(b, &m->old_tuple);
		}
		p8(b, 'N');
		ptuple(b, &m->new_tuple);
		break;
	case 'D':
		p32(b, m->relid);
		p8(b, (unsigned char)m->old_kind);
		ptuple(b, &m->old_tuple);
		break;
	case 'T':
		p32(b, (uint32_t)m->nrelids);
		p8(b, m->trunc_flags);
		for (i = 0; i < m->nrelids; i++)
			p32(b, m->relids[i]);
		break;
	case 'M':
		p8(b, m->flags);
		p64(b, m->msg_lsn);
		pstr(b, m->msg_prefix);
		p32(b, (uint32_t)m->msg_len);
		ss_buf_add(b, m->msg_content, m->msg_len);
		break;
	}
}

static void check_tuple(const struct ss_pgo_tuple *t)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		const struct ss_pgo_value *v = &t->vals[i];

		FUZZ_CHECK(v->kind == SS_PGO_NULL || v->kind == SS_PGO_TEXT ||
			       v->kind == SS_PGO_UNCHANGED,
			   "value kind 0x%02x", (unsigned char)v->kind);
		if (v->kind == SS_PGO_TEXT)
			inside(v->data, v->len, "a value");
		else
			FUZZ_CHECK(v->len == 0 && v->data == NULL,
				   "a null value with data");
	}
}

static struct ss_pgo_cache *cache;
static unsigned long runs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ss_pgo_msg m = SS_PGO_MSG_INIT, m2 = SS_PGO_MSG_INIT;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT, b2 = SS_BUF_INIT;
	/* a copy of exactly `size` bytes, so ASan sees a read past it */
	char *buf = malloc(size ? size : 1);
	size_t i;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	lo = buf;
	hi = buf + size;
	if (!cache)
		cache = ss_pgo_cache_new();
	if (ss_pgo_decode(&m, buf, size, &err) < 0) {
		FUZZ_CHECK(err.msg[0] && err.code == SS_ERR_INPUT,
			   "decode error without message");
		goto out;
	}
	switch (m.type) {
	case 'M':
		inside_str(m.msg_prefix, "message prefix");
		inside(m.msg_content, m.msg_len, "message content");
		break;
	case 'O':
		inside_str(m.origin_name, "origin name");
		break;
	case 'R':
		inside_str(m.rel.schema, "schema");
		inside_str(m.rel.table, "table");
		for (i = 0; i < m.rel.ncols; i++)
			inside_str(m.rel.cols[i].name, "column name");
		break;
	case 'Y':
		inside_str(m.type_schema, "type schema");
		inside_str(m.type_name, "type name");
		break;
	}
	check_tuple(&m.old_tuple);
	check_tuple(&m.new_tuple);
	encode(&b, &m);
	FUZZ_CHECK(
	    ss_pgo_decode(&m2, b.buf, b.len, &err) == 0,
	    "a decoded '%c' message encodes to bytes that do not decode: "
	    "%s",
	    m.type, err.msg);
	encode(&b2, &m2);
	FUZZ_CHECK(b.len == b2.len && !memcmp(b.buf, b2.buf, b.len),
		   "'%c' message: decode/encode not stable", m.type);
	/* exact, but for the key flag's other bits and "" as pg_catalog */
	FUZZ_CHECK(m.type == 'R' || m.type == 'Y' ||
		       (b.len == size && !memcmp(b.buf, buf, size)),
		   "'%c' message: decode then encode changes the bytes",
		   m.type);
	if (m.type == 'R') {
		const struct ss_pgo_relation *c;

		ss_pgo_cache_put_relation(cache, &m.rel);
		c = ss_pgo_cache_relation(cache, m.rel.oid);
		FUZZ_CHECK(c && c->oid == m.rel.oid &&
			       c->ncols == m.rel.ncols &&
			       !strcmp(c->schema, m.rel.schema) &&
			       !strcmp(c->table, m.rel.table) &&
			       c->replident == m.rel.replident,
			   "relation %u not cached as decoded", m.rel.oid);
		for (i = 0; i < c->ncols; i++)
			FUZZ_CHECK(
			    !strcmp(c->cols[i].name, m.rel.cols[i].name) &&
				c->cols[i].type_oid == m.rel.cols[i].type_oid &&
				c->cols[i].typmod == m.rel.cols[i].typmod &&
				c->cols[i].key == m.rel.cols[i].key,
			    "column %zu of relation %u cached wrong", i,
			    m.rel.oid);
		FUZZ_CHECK(ss_pgo_cache_put_relation(cache, &m.rel) == 0,
			   "the same relation stored twice reports a change");
	}
	if (m.type == 'Y') {
		ss_pgo_cache_put_type(cache, m.type_oid, m.type_name);
		FUZZ_CHECK(ss_pgo_cache_type(cache, m.type_oid) &&
			       !strcmp(ss_pgo_cache_type(cache, m.type_oid),
				       m.type_name),
			   "type %u not cached", m.type_oid);
	}
	/* keep the cache small: a fresh one now and then */
	if (++runs % 1000 == 0) {
		ss_pgo_cache_free(cache);
		cache = NULL;
	}
out:
	ss_pgo_msg_release(&m);
	ss_pgo_msg_release(&m2);
	ss_buf_release(&b);
	ss_buf_release(&b2);
	free(buf);
	return 0;
}
