/*
 * frame_scan.c — the fast path for reading change frames: a line in the
 * exact form writers write is read without building any JSON, strings
 * eight bytes at a time. Anything else is left to ss_frame_parse. See
 * ss_frame_scan_head in frame.h.
 */
#include "frame.h"

#include <stdint.h>
#include <string.h>

#include "shape.h"

struct scan {
	const char *p, *end;
};

static int lit(struct scan *s, const char *text, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, text, n))
		return 0;
	s->p += n;
	return 1;
}
#define LIT(s, text) lit(s, text, sizeof(text) - 1)

/* A JSON integer without sign, leading zeros or more than 18 digits. */
static int uint_(struct scan *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	if (s->p < s->end && *s->p == '0') {
		s->p++;
		*out = 0;
		return s->p >= s->end || *s->p < '0' || *s->p > '9';
	}
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && n < 19) {
		v = v * 10 + (uint64_t)(*s->p++ - '0');
		n++;
	}
	if (n == 0 || n > 18 || v > max)
		return 0;
	*out = v;
	return 1;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero if a byte of w may be '"', '\\', a control character or not
 * ASCII (exact for "none"; str_ looks at the bytes then). */
static uint64_t special8(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');

	return (((q - ONES) & ~q) | ((b - ONES) & ~b) |
		((w - ONES * 0x20) & ~w) | w) &
	       HIGHS;
}

/* A string with no escapes and no control characters, valid UTF-8:
 * sets *start and *len to its contents. */
static int str_(struct scan *s, const char **start, size_t *len)
{
	const char *p;
	int high = 0;

	if (s->p >= s->end || *s->p != '"')
		return 0;
	p = ++s->p;
	/* Eight bytes at a time up to the first that needs a look. */
	while (s->end - p >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		if (special8(w))
			break;
		p += 8;
	}
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

static int row_(struct scan *s, const struct ss_frame_layout *g,
		struct ss_frame_span *out)
{
	const struct ss_frame_column *cols = g->cols;
	const size_t *idx = g->idx;
	size_t i, k = 0, ncols = g->ncols, nidx = g->nidx;

	if (!LIT(s, "{"))
		return 0;
	for (i = 0; i < ncols; i++) {
		const char *key;
		size_t klen;
		struct ss_frame_span v = {NULL, 0, 0};

		if (i && !LIT(s, ","))
			return 0;
		if (g->plain[i]) {
			/* "name": in place (the name needs no escaping). */
			klen = g->namelen[i];
			if ((size_t)(s->end - s->p) < klen + 3 ||
			    *s->p != '"' ||
			    memcmp(s->p + 1, cols[i].name, klen) ||
			    s->p[klen + 1] != '"' || s->p[klen + 2] != ':')
				return 0;
			s->p += klen + 3;
		} else if (!str_(s, &key, &klen) || g->namelen[i] != klen ||
			   memcmp(key, cols[i].name, klen) || !LIT(s, ":")) {
			return 0;
		}
		if (LIT(s, "null"))
			v.null = 1;
		else if (!str_(s, &v.p, &v.len))
			return 0;
		if (k < nidx && idx[k] == i)
			out[k++] = v;
	}
	return LIT(s, "}");
}

int ss_frame_scan_head(struct ss_frame_scan *sc, const char *line, size_t len)
{
	struct scan s = {line, line + len};
	uint64_t v;

	if (!LIT(&s, "{\"type\":\"change\",\"op\":\""))
		return 0;
	if (LIT(&s, "insert\""))
		sc->op = SS_FRAME_OP_INSERT;
	else if (LIT(&s, "update\""))
		sc->op = SS_FRAME_OP_UPDATE;
	else if (LIT(&s, "delete\""))
		sc->op = SS_FRAME_OP_DELETE;
	else
		return 0;
	if (!LIT(&s, ",\"oid\":") || !uint_(&s, UINT32_MAX, &v) || v == 0)
		return 0;
	sc->oid = (uint32_t)v;
	sc->p_ = s.p;
	sc->end_ = s.end;
	return 1;
}

int ss_frame_scan_rest(struct ss_frame_scan *sc,
		       const struct ss_frame_layout *l)
{
	struct scan s = {sc->p_, sc->end_};
	const char *lsn;
	size_t lsnlen;
	struct ss_err err = SS_ERR_INIT;

	if (l->nidx > SS_FRAME_SCAN_MAX)
		return 0;
	if (!LIT(&s, ",\"xid\":") || !uint_(&s, INT64_MAX, &sc->xid) ||
	    !LIT(&s, ",\"lsn\":") || !str_(&s, &lsn, &lsnlen) ||
	    memchr(lsn, '/', lsnlen) == NULL ||
	    ss_lsn_parse_n(lsn, lsnlen, &sc->lsn, &err) < 0 ||
	    !LIT(&s, ",\"pos\":") || !uint_(&s, INT64_MAX, &sc->pos))
		return 0;
	sc->has_new = sc->op != SS_FRAME_OP_DELETE;
	sc->has_old = sc->op != SS_FRAME_OP_INSERT;
	if (sc->has_new && (!LIT(&s, ",\"new\":") || !row_(&s, l, sc->newv)))
		return 0;
	if (sc->has_old && (!LIT(&s, ",\"old\":") || !row_(&s, l, sc->oldv)))
		return 0;
	if (!LIT(&s, "}"))
		return 0;
	while (s.p < s.end && (*s.p == ' ' || *s.p == '\t' || *s.p == '\r'))
		s.p++;
	return s.p == s.end;
}
