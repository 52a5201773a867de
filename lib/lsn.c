/*
 * lsn.c — parse and format PostgreSQL LSNs. The hex form follows
 * PostgreSQL's pg_lsn_in/pg_lsn_out exactly; the decimal form is what
 * Electric sends in headers and what offsets are made of.
 */
#include <inttypes.h>

#include "lsn.h"

/* Parse 1..8 hex digits at s[0..n). */
static int parse_half(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (n < 1 || n > 8)
		return -1;
	for (i = 0; i < n; i++) {
		int d = ss_hexval(s[i]);

		if (d < 0)
			return -1;
		v = (v << 4) | (uint32_t)d;
	}
	*out = v;
	return 0;
}

int ss_lsn_parse_n(const char *s, size_t len, ss_lsn *out, struct ss_err *err)
{
	const char *slash = s ? memchr(s, '/', len) : NULL;
	uint32_t hi, lo;
	uint64_t v;
	char q[300];

	if (!s)
		return ss_err_set(err, SS_ERR_INPUT, "invalid LSN ''");
	if (slash) {
		size_t n1 = (size_t)(slash - s);

		if (parse_half(s, n1, &hi) == 0 &&
		    parse_half(slash + 1, len - n1 - 1, &lo) == 0) {
			*out = ((uint64_t)hi << 32) | lo;
			return 0;
		}
	} else if (ss_parse_dec_n(s, len, UINT64_MAX, &v) == 0) {
		*out = v;
		return 0;
	}
	ss_quote_text(q, sizeof(q), s, len, 64);
	return ss_err_set(err, SS_ERR_INPUT, "invalid LSN '%s'", q);
}

int ss_lsn_parse(const char *s, ss_lsn *out, struct ss_err *err)
{
	return ss_lsn_parse_n(s, s ? strlen(s) : 0, out, err);
}

char *ss_lsn_format(ss_lsn lsn, char out[SS_LSN_STRMAX])
{
	snprintf(out, SS_LSN_STRMAX, "%" PRIX32 "/%" PRIX32,
		 (uint32_t)(lsn >> 32), (uint32_t)lsn);
	return out;
}

char *ss_lsn_format_dec(ss_lsn lsn, char out[SS_LSN_STRMAX])
{
	snprintf(out, SS_LSN_STRMAX, "%" PRIu64, lsn);
	return out;
}
