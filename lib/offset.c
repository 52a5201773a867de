/*
 * offset.c — Electric log offsets: strict parsing of the text forms, the
 * canonical formatting, the total order and the memcmp-ordered 16-byte
 * encoding described in offset.h.
 */
#include <inttypes.h>

#include "offset.h"

const struct ss_offset ss_offset_before_all = {0, 0, SS_OFFSET_BEFORE_ALL};
const struct ss_offset ss_offset_first = {0, 0, SS_OFFSET_NORMAL};
const struct ss_offset ss_offset_last_before_real = {0, SS_OFFSET_INF,
						     SS_OFFSET_NORMAL};
const struct ss_offset ss_offset_last = {UINT64_MAX, SS_OFFSET_INF,
					 SS_OFFSET_NORMAL};

void ss_offset_init(struct ss_offset *o)
{
	*o = ss_offset_first;
}

struct ss_offset ss_offset_make(uint64_t tx, uint64_t op)
{
	struct ss_offset o = {tx, op, SS_OFFSET_NORMAL};

	return o;
}

int ss_offset_for_change(uint64_t lsn, uint64_t pos, struct ss_offset *out,
			 struct ss_err *err)
{
	if (pos > (SS_OFFSET_OP_MAX - 1) / 2)
		return ss_err_set(err, SS_ERR_INPUT,
				  "change position %" PRIu64 " is out of range",
				  pos);
	*out = ss_offset_make(lsn, 2 * pos);
	return 0;
}

int ss_offset_for_subquery(uint64_t lsn, uint64_t pos, unsigned slot,
			   struct ss_offset *out, struct ss_err *err)
{
	if (slot > 3 || pos > (SS_OFFSET_OP_MAX - 3) / 4)
		return ss_err_set(err, SS_ERR_INPUT,
				  "change position %" PRIu64 " is out of range",
				  pos);
	*out = ss_offset_make(lsn, 4 * pos + slot);
	return 0;
}

int ss_offset_for_movein(uint64_t lsn, int64_t after, uint64_t k,
			 struct ss_offset *out, struct ss_err *err)
{
	uint64_t base;

	if (after < 0) {
		if (lsn == 0)
			return ss_err_set(err, SS_ERR_INPUT,
					  "lsn 0/0 leaves no offset below it");
		if (k > SS_OFFSET_OP_MAX)
			return ss_err_set(
			    err, SS_ERR_INPUT,
			    "move-in line %" PRIu64 " is out of range", k);
		*out = ss_offset_make(lsn - 1, k);
		return 0;
	}
	if ((uint64_t)after > (SS_OFFSET_OP_MAX - 4) / 4 - 1 ||
	    k > SS_OFFSET_OP_MAX - 4 * ((uint64_t)after + 1))
		return ss_err_set(err, SS_ERR_INPUT,
				  "move-in line %" PRIu64 " after %" PRId64
				  " is out of range",
				  k, after);
	base = 4 * ((uint64_t)after + 1);
	*out = ss_offset_make(lsn, base + k);
	return 0;
}

static int bad_offset(const char *s, size_t len, unsigned flags,
		      struct ss_err *err)
{
	char q[300];

	ss_quote_text(q, sizeof(q), s, len, 64);
	ss_err_set(err, SS_ERR_INPUT, "invalid offset '%s'", q);
	ss_err_detail(err,
		      "expected -1%s, <tx>_<op> or <tx>_inf with decimal "
		      "<tx> and <op>",
		      (flags & SS_OFFSET_ALLOW_NOW) ? ", now" : "");
	return -1;
}

int ss_offset_parse_n(const char *s, size_t len, unsigned flags,
		      struct ss_offset *out, struct ss_err *err)
{
	const char *us;
	size_t n1;
	uint64_t tx, op, one;

	if (!s)
		return bad_offset("", 0, flags, err);
	if (len == 2 && !memcmp(s, "-1", 2)) {
		*out = ss_offset_before_all;
		return 0;
	}
	if (len == 3 && !memcmp(s, "now", 3) && (flags & SS_OFFSET_ALLOW_NOW)) {
		out->tx = out->op = 0;
		out->kind = SS_OFFSET_NOW;
		return 0;
	}
	us = memchr(s, '_', len);
	if (!us)
		return bad_offset(s, len, flags, err);
	n1 = (size_t)(us - s);
	/* The op part: "inf" or digits (a second '_' fails the digit check). */
	if (len - n1 - 1 == 3 && !memcmp(us + 1, "inf", 3))
		op = SS_OFFSET_INF;
	else if (ss_parse_dec_n(us + 1, len - n1 - 1, SS_OFFSET_OP_MAX, &op))
		return bad_offset(s, len, flags, err);
	if (n1 > 0 && s[0] == '-') {
		/* Electric's new/2 allows tx -1 only with op 0: before_all. */
		if (ss_parse_dec_n(s + 1, n1 - 1, UINT64_MAX, &one) ||
		    one != 1 || op != 0)
			return bad_offset(s, len, flags, err);
		*out = ss_offset_before_all;
		return 0;
	}
	if (ss_parse_dec_n(s, n1, UINT64_MAX, &tx))
		return bad_offset(s, len, flags, err);
	*out = ss_offset_make(tx, op);
	return 0;
}

int ss_offset_parse(const char *s, unsigned flags, struct ss_offset *out,
		    struct ss_err *err)
{
	return ss_offset_parse_n(s, s ? strlen(s) : 0, flags, out, err);
}

char *ss_offset_format(const struct ss_offset *o, char out[SS_OFFSET_STRMAX])
{
	if (o->kind == SS_OFFSET_BEFORE_ALL)
		snprintf(out, SS_OFFSET_STRMAX, "-1");
	else if (o->kind == SS_OFFSET_NOW)
		snprintf(out, SS_OFFSET_STRMAX, "now");
	else if (o->op == SS_OFFSET_INF)
		snprintf(out, SS_OFFSET_STRMAX, "%" PRIu64 "_inf", o->tx);
	else
		snprintf(out, SS_OFFSET_STRMAX, "%" PRIu64 "_%" PRIu64, o->tx,
			 o->op);
	return out;
}

/* Rank of the kind in the order: before_all < normal < now. */
static int kind_rank(const struct ss_offset *o)
{
	switch (o->kind) {
	case SS_OFFSET_BEFORE_ALL:
		return 0;
	case SS_OFFSET_NOW:
		return 2;
	default:
		return 1;
	}
}

int ss_offset_compare(const struct ss_offset *a, const struct ss_offset *b)
{
	int ra = kind_rank(a), rb = kind_rank(b);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra != 1)
		return 0;
	if (a->tx != b->tx)
		return a->tx < b->tx ? -1 : 1;
	/* SS_OFFSET_INF is UINT64_MAX, so plain integer order puts it last. */
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	return 0;
}

int ss_offset_is_virtual(const struct ss_offset *o)
{
	return o->kind == SS_OFFSET_NORMAL && o->tx == 0;
}

int ss_offset_is_real(const struct ss_offset *o)
{
	return o->kind == SS_OFFSET_NORMAL && o->tx > 0;
}

int ss_offset_is_inf(const struct ss_offset *o)
{
	return o->kind == SS_OFFSET_NORMAL && o->op == SS_OFFSET_INF;
}

int ss_offset_is_valid(const struct ss_offset *o)
{
	switch (o->kind) {
	case SS_OFFSET_NORMAL:
		return o->op <= SS_OFFSET_OP_MAX || o->op == SS_OFFSET_INF;
	case SS_OFFSET_BEFORE_ALL:
	case SS_OFFSET_NOW:
		return o->tx == 0 && o->op == 0;
	default:
		return 0;
	}
}

int ss_offset_encode(const struct ss_offset *o,
		     unsigned char out[SS_OFFSET_BYTES], struct ss_err *err)
{
	if (o->kind == SS_OFFSET_NOW)
		return ss_err_set(err, SS_ERR_INPUT,
				  "offset cannot be "
				  "encoded: 'now' is not a log position");
	if (!ss_offset_is_valid(o))
		return ss_err_set(err, SS_ERR_INPUT,
				  "offset cannot be "
				  "encoded: invalid value");
	if (o->kind == SS_OFFSET_BEFORE_ALL) {
		memset(out, 0, SS_OFFSET_BYTES);
		return 0;
	}
	ss_put64be(out, o->tx);
	ss_put64be(out + 8, o->op == SS_OFFSET_INF ? UINT64_MAX : o->op + 1);
	return 0;
}

int ss_offset_decode(const unsigned char in[SS_OFFSET_BYTES],
		     struct ss_offset *out, struct ss_err *err)
{
	uint64_t tx = ss_get64be(in), op = ss_get64be(in + 8);

	if (op == 0) {
		if (tx != 0)
			return ss_err_set(err, SS_ERR_INPUT,
					  "invalid encoded offset: op field 0 "
					  "with tx %" PRIu64,
					  tx);
		*out = ss_offset_before_all;
		return 0;
	}
	*out = ss_offset_make(tx, op == UINT64_MAX ? SS_OFFSET_INF : op - 1);
	return 0;
}
