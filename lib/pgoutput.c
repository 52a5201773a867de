/*
 * pgoutput.c — decoding pgoutput protocol version 1 messages (PostgreSQL's
 * "Logical Replication Message Formats"), the relation and type caches,
 * and 32-to-64-bit xid extension. See pgoutput.h.
 */
#include <inttypes.h>

#include "pgoutput.h"

/* ---- Reading big-endian fields with bounds checks ---------------------- */

struct rd {
	const unsigned char *p;
	size_t len, off;
	const char *what; /* the message, for errors */
	struct ss_err *err;
	int failed;
};

static int short_msg(struct rd *r)
{
	if (!r->failed)
		ss_err_set(r->err, SS_ERR_INPUT,
			   "pgoutput: %s message truncated at byte %zu",
			   r->what, r->off);
	r->failed = 1;
	return -1;
}

static int need(struct rd *r, size_t n)
{
	if (r->failed || r->len - r->off < n)
		return short_msg(r);
	return 0;
}

static uint8_t u8(struct rd *r)
{
	if (need(r, 1) < 0)
		return 0;
	return r->p[r->off++];
}

static uint16_t u16(struct rd *r)
{
	uint16_t v;

	if (need(r, 2) < 0)
		return 0;
	v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return v;
}

static uint32_t u32(struct rd *r)
{
	uint32_t v;

	if (need(r, 4) < 0)
		return 0;
	v = ss_get32be(r->p + r->off);
	r->off += 4;
	return v;
}

static uint64_t u64(struct rd *r)
{
	uint64_t hi = u32(r);

	return hi << 32 | u32(r);
}

/* A NUL-terminated string inside the message. */
static const char *cstr(struct rd *r)
{
	const unsigned char *nul;

	if (r->failed)
		return "";
	nul = memchr(r->p + r->off, '\0', r->len - r->off);
	if (!nul) {
		if (!r->failed)
			ss_err_set(r->err, SS_ERR_INPUT,
				   "pgoutput: %s message: unterminated string "
				   "at byte %zu",
				   r->what, r->off);
		r->failed = 1;
		return "";
	}
	{
		const char *s = (const char *)(r->p + r->off);

		r->off = (size_t)(nul - r->p) + 1;
		return s;
	}
}

/* A timestamp (microseconds since 2000-01-01) as Unix microseconds. From
 * PostgreSQL's MIN_TIMESTAMP (4714-11-24 BC) to what an int64 of Unix
 * microseconds holds (294247 AD, short of PostgreSQL's END_TIMESTAMP);
 * outside that the message is malformed (and the sum would overflow). */
static int64_t pg_ts(struct rd *r, uint64_t raw)
{
	int64_t v = (int64_t)raw;

	if (r->failed)
		return 0;
	if (v < INT64_C(-211813488000000000) ||
	    v > INT64_MAX - SS_PG_EPOCH_OFFSET_US) {
		ss_err_set(r->err, SS_ERR_INPUT,
			   "pgoutput: %s message: timestamp out of range at "
			   "byte %zu",
			   r->what, r->off - 8);
		r->failed = 1;
		return 0;
	}
	return v + SS_PG_EPOCH_OFFSET_US;
}

/* TupleData: Int16 ncols, then per column 'n' | 'u' | 't' Int32 len bytes. */
static void tuple(struct rd *r, struct ss_pgo_tuple *t)
{
	size_t i, n = u16(r);

	if (r->failed)
		return;
	SS_GROW(t->vals, t->alloc_, n);
	t->ncols = n;
	for (i = 0; i < n && !r->failed; i++) {
		struct ss_pgo_value *v = &t->vals[i];
		char kind = (char)u8(r);

		v->kind = kind;
		v->len = 0;
		v->data = NULL;
		switch (kind) {
		case SS_PGO_NULL:
		case SS_PGO_UNCHANGED:
			break;
		case SS_PGO_TEXT:
			v->len = u32(r);
			if (need(r, v->len) < 0)
				return;
			v->data = (const char *)(r->p + r->off);
			r->off += v->len;
			break;
		case 'b':
			ss_err_set(r->err, SS_ERR_INPUT,
				   "pgoutput: %s message: binary value in "
				   "column %zu (protocol version 1 sends text)",
				   r->what, i + 1);
			r->failed = 1;
			return;
		default:
			if (!r->failed)
				ss_err_set(r->err, SS_ERR_INPUT,
					   "pgoutput: %s message: unknown "
					   "value kind 0x%02x in column %zu",
					   r->what, (unsigned char)kind, i + 1);
			r->failed = 1;
			return;
		}
	}
}

static const char *msg_name(char type)
{
	switch (type) {
	case 'B':
		return "begin";
	case 'C':
		return "commit";
	case 'O':
		return "origin";
	case 'R':
		return "relation";
	case 'Y':
		return "type";
	case 'I':
		return "insert";
	case 'U':
		return "update";
	case 'D':
		return "delete";
	case 'T':
		return "truncate";
	case 'M':
		return "logical";
	default:
		return NULL;
	}
}

void ss_pgo_msg_release(struct ss_pgo_msg *m)
{
	free(m->rel.cols);
	free(m->old_tuple.vals);
	free(m->new_tuple.vals);
	free(m->relids);
	memset(m, 0, sizeof(*m));
}

static void relation(struct rd *r, struct ss_pgo_msg *m)
{
	struct ss_pgo_relation *rel = &m->rel;
	size_t i, n;

	rel->oid = u32(r);
	rel->schema = (char *)cstr(r);
	rel->table = (char *)cstr(r);
	/* pgoutput writes "" for pg_catalog to save bytes. */
	if (!r->failed && !rel->schema[0])
		rel->schema = (char *)"pg_catalog";
	rel->replident = (char)u8(r);
	n = u16(r);
	if (r->failed)
		return;
	SS_GROW(rel->cols, m->cols_alloc_, n);
	rel->ncols = n;
	for (i = 0; i < n && !r->failed; i++) {
		struct ss_pgo_column *c = &rel->cols[i];

		c->key = u8(r) & 1;
		c->name = (char *)cstr(r);
		c->type_oid = u32(r);
		c->typmod = (int32_t)u32(r);
	}
}

int ss_pgo_decode(struct ss_pgo_msg *m, const char *buf, size_t len,
		  struct ss_err *err)
{
	struct rd r = {(const unsigned char *)buf, len, 1, "", err, 0};
	size_t i;
	char k;

	if (len < 1)
		return ss_err_set(err, SS_ERR_INPUT, "pgoutput: empty message");
	m->type = buf[0];
	r.what = msg_name(m->type);
	if (!r.what) {
		unsigned char c = (unsigned char)buf[0];

		if (c >= 0x20 && c < 0x7f)
			return ss_err_set(err, SS_ERR_INPUT,
					  "pgoutput: unknown message type '%c'",
					  c);
		return ss_err_set(err, SS_ERR_INPUT,
				  "pgoutput: unknown message type 0x%02x", c);
	}
	m->old_kind = 0;
	m->old_tuple.ncols = m->new_tuple.ncols = 0;
	switch (m->type) {
	case 'B':
		m->final_lsn = u64(&r);
		m->ts_us = pg_ts(&r, u64(&r));
		m->xid = u32(&r);
		break;
	case 'C':
		m->flags = u8(&r);
		m->commit_lsn = u64(&r);
		m->end_lsn = u64(&r);
		m->ts_us = pg_ts(&r, u64(&r));
		break;
	case 'O':
		m->origin_lsn = u64(&r);
		m->origin_name = cstr(&r);
		break;
	case 'R':
		relation(&r, m);
		/* 0 is InvalidOid, which PostgreSQL never sends; the caches
		 * are keyed by oid and could not hold it. */
		if (!r.failed && !m->rel.oid)
			return ss_err_set(err, SS_ERR_INPUT,
					  "pgoutput: relation message with "
					  "invalid oid 0");
		break;
	case 'Y':
		m->type_oid = u32(&r);
		m->type_schema = cstr(&r);
		m->type_name = cstr(&r);
		if (!r.failed && !m->type_schema[0])
			m->type_schema = "pg_catalog";
		if (!r.failed && !m->type_oid)
			return ss_err_set(err, SS_ERR_INPUT,
					  "pgoutput: type message with invalid "
					  "oid 0");
		break;
	case 'I':
		m->relid = u32(&r);
		k = (char)u8(&r);
		if (!r.failed && k != 'N')
			goto bad_tuple_tag;
		tuple(&r, &m->new_tuple);
		break;
	case 'U':
		m->relid = u32(&r);
		k = (char)u8(&r);
		if (!r.failed && (k == 'K' || k == 'O')) {
			m->old_kind = k;
			tuple(&r, &m->old_tuple);
			k = (char)u8(&r);
		}
		if (!r.failed && k != 'N')
			goto bad_tuple_tag;
		tuple(&r, &m->new_tuple);
		break;
	case 'D':
		m->relid = u32(&r);
		k = (char)u8(&r);
		if (!r.failed && k != 'K' && k != 'O')
			goto bad_tuple_tag;
		m->old_kind = k;
		tuple(&r, &m->old_tuple);
		break;
	case 'T':
		m->nrelids = u32(&r);
		m->trunc_flags = u8(&r);
		/* Each oid takes 4 bytes: check before allocating. */
		if (!r.failed && m->nrelids > (len - r.off) / 4)
			return short_msg(&r);
		if (!r.failed) {
			SS_GROW(m->relids, m->relids_alloc_, m->nrelids);
			for (i = 0; i < m->nrelids; i++)
				m->relids[i] = u32(&r);
		}
		break;
	case 'M': {
		uint32_t n;

		/* Protocol version 1: no xid (only streamed transactions,
		 * version 2, have one). */
		m->flags = u8(&r);
		m->msg_lsn = u64(&r);
		m->msg_prefix = cstr(&r);
		n = u32(&r);
		if (!r.failed && n > len - r.off)
			return short_msg(&r);
		if (!r.failed) {
			m->msg_content = (const char *)(r.p + r.off);
			m->msg_len = n;
			r.off += n;
		}
		break;
	}
	}
	if (r.failed)
		return -1;
	if (r.off != len)
		return ss_err_set(err, SS_ERR_INPUT,
				  "pgoutput: %s message has %zu bytes after "
				  "its end",
				  r.what, len - r.off);
	return 0;

bad_tuple_tag:
	return ss_err_set(err, SS_ERR_INPUT,
			  "pgoutput: %s message: unexpected tuple tag 0x%02x "
			  "at byte %zu",
			  r.what, (unsigned char)k, r.off - 1);
}

/* ---- Caches ------------------------------------------------------------ */

/* An open-addressing map from oid (never 0) to a pointer. */
struct oidmap {
	uint32_t *keys;
	void **vals;
	size_t cap, n; /* cap: a power of two, or 0 */
};

static size_t slot_of(const struct oidmap *m, uint32_t key)
{
	size_t i = (size_t)(key * 2654435761u) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void *oidmap_get(const struct oidmap *m, uint32_t key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = slot_of(m, key);
	return m->keys[i] ? m->vals[i] : NULL;
}

/* Store val for key; returns the value it replaces (or NULL). */
static void *oidmap_put(struct oidmap *m, uint32_t key, void *val)
{
	size_t i;
	void *old;

	if ((m->n + 1) * 2 > m->cap) {
		struct oidmap g = {NULL, NULL, m->cap ? m->cap * 2 : 64, 0};

		g.keys = ss_xcalloc(g.cap, sizeof(*g.keys));
		g.vals = ss_xcalloc(g.cap, sizeof(*g.vals));
		for (i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				size_t j = slot_of(&g, m->keys[i]);

				g.keys[j] = m->keys[i];
				g.vals[j] = m->vals[i];
				g.n++;
			}
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	i = slot_of(m, key);
	old = m->keys[i] ? m->vals[i] : NULL;
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
	return old;
}

struct ss_pgo_cache {
	struct oidmap rels, types;
};

static void rel_free(struct ss_pgo_relation *rel)
{
	size_t i;

	if (!rel)
		return;
	for (i = 0; i < rel->ncols; i++)
		free(rel->cols[i].name);
	free(rel->cols);
	free(rel->schema);
	free(rel->table);
	free(rel);
}

struct ss_pgo_cache *ss_pgo_cache_new(void)
{
	return ss_xcalloc(1, sizeof(struct ss_pgo_cache));
}

void ss_pgo_cache_free(struct ss_pgo_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->rels.cap; i++)
		if (c->rels.keys[i])
			rel_free(c->rels.vals[i]);
	for (i = 0; i < c->types.cap; i++)
		if (c->types.keys[i])
			free(c->types.vals[i]);
	free(c->rels.keys);
	free(c->rels.vals);
	free(c->types.keys);
	free(c->types.vals);
	free(c);
}

static int rel_equal(const struct ss_pgo_relation *a,
		     const struct ss_pgo_relation *b)
{
	size_t i;

	if (a->oid != b->oid || a->replident != b->replident ||
	    a->ncols != b->ncols || strcmp(a->schema, b->schema) ||
	    strcmp(a->table, b->table))
		return 0;
	for (i = 0; i < a->ncols; i++) {
		const struct ss_pgo_column *x = &a->cols[i], *y = &b->cols[i];

		if (x->type_oid != y->type_oid || x->typmod != y->typmod ||
		    x->key != y->key || strcmp(x->name, y->name))
			return 0;
	}
	return 1;
}

int ss_pgo_cache_put_relation(struct ss_pgo_cache *c,
			      const struct ss_pgo_relation *rel)
{
	struct ss_pgo_relation *old = oidmap_get(&c->rels, rel->oid), *cp;
	size_t i;

	if (old && rel_equal(old, rel))
		return 0;
	cp = ss_xcalloc(1, sizeof(*cp));
	*cp = *rel;
	cp->schema = ss_xstrdup(rel->schema);
	cp->table = ss_xstrdup(rel->table);
	cp->cols = ss_xcalloc(rel->ncols ? rel->ncols : 1, sizeof(*cp->cols));
	for (i = 0; i < rel->ncols; i++) {
		cp->cols[i] = rel->cols[i];
		cp->cols[i].name = ss_xstrdup(rel->cols[i].name);
	}
	rel_free(oidmap_put(&c->rels, rel->oid, cp));
	return 1;
}

const struct ss_pgo_relation *
ss_pgo_cache_relation(const struct ss_pgo_cache *c, uint32_t oid)
{
	return oid ? oidmap_get(&c->rels, oid) : NULL;
}

void ss_pgo_cache_put_type(struct ss_pgo_cache *c, uint32_t oid,
			   const char *name)
{
	if (!oid)
		return;
	free(oidmap_put(&c->types, oid, ss_xstrdup(name)));
}

const char *ss_pgo_cache_type(const struct ss_pgo_cache *c, uint32_t oid)
{
	return oid ? oidmap_get(&c->types, oid) : NULL;
}

size_t ss_pgo_cache_ntypes(const struct ss_pgo_cache *c)
{
	return c->types.n;
}

/* ---- Transaction ids ------------------------------------------------- */

uint64_t ss_pgo_xid_extend(uint64_t *reference, uint32_t xid)
{
	/* The signed 32-bit distance from the reference's low half. */
	int32_t d = (int32_t)(xid - (uint32_t)*reference);
	uint64_t full;

	if (d < 0 && (uint64_t) - (int64_t)d > *reference)
		full = xid; /* epoch 0: nothing below it */
	else
		full = *reference + (uint64_t)(int64_t)d;
	*reference = full;
	return full;
}
