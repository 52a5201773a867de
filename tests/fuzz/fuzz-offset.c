/*
 * fuzz-offset.c — libFuzzer target for the small parsers of request
 * parameters and stored values: log offsets (lib/offset.c: text, and the
 * 16-byte disk form), LSNs (lib/lsn.c), shape handles, the `columns` and
 * `table` parameters and the canonical definition (lib/shape.c), and the
 * decimal integers of `cursor` and the options (ss_parse_i64/u64). Every
 * parser sees the whole input; offsets also as two values split at the
 * first newline. Invariants: what parses formats back to text that parses
 * to the same value (handles and canonical definitions: to the same
 * text), parsed columns are sorted and unique and survive quoting, and the
 * disk encoding of two offsets orders as ss_offset_compare does.
 */
#include <inttypes.h>

#include "fuzz.h"
#include "lsn.h"
#include "offset.h"
#include "shape.h"
#include "util.h"

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static int same_offset(const struct ss_offset *a, const struct ss_offset *b)
{
	return a->tx == b->tx && a->op == b->op && a->kind == b->kind;
}

/* Parse one offset and check its round trips; 1 if it parsed. */
static int one_offset(const char *s, size_t len, struct ss_offset *o)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_offset o2, o3;
	char buf[SS_OFFSET_STRMAX];
	unsigned char enc[SS_OFFSET_BYTES], enc2[SS_OFFSET_BYTES];
	int rc = ss_offset_parse_n(s, len, SS_OFFSET_ALLOW_NOW, o, &err);
	int rc2 = ss_offset_parse_n(s, len, 0, &o2, &err);

	if (rc < 0) {
		FUZZ_CHECK(rc2 < 0 && err.code == SS_ERR_INPUT && err.msg[0],
			   "offset '%.*s': error without message", (int)len, s);
		return 0;
	}
	FUZZ_CHECK(ss_offset_is_valid(o), "offset '%.*s' parses invalid",
		   (int)len, s);
	FUZZ_CHECK(o->kind == SS_OFFSET_NOW ? rc2 < 0
					    : rc2 == 0 && same_offset(o, &o2),
		   "offset '%.*s': ALLOW_NOW changes more than now", (int)len,
		   s);
	ss_offset_format(o, buf);
	FUZZ_CHECK(strlen(buf) < SS_OFFSET_STRMAX, "format overflows");
	FUZZ_CHECK(ss_offset_parse(buf, SS_OFFSET_ALLOW_NOW, &o3, &err) == 0 &&
		       same_offset(o, &o3) && !ss_offset_compare(o, &o3),
		   "offset '%.*s' formats as '%s', which does not parse back",
		   (int)len, s, buf);
	if (o->kind != SS_OFFSET_NOW) {
		FUZZ_CHECK(ss_offset_encode(o, enc, &err) == 0,
			   "offset '%s' does not encode", buf);
		FUZZ_CHECK(ss_offset_decode(enc, &o3, &err) == 0 &&
			       same_offset(o, &o3),
			   "offset '%s' does not decode back", buf);
		FUZZ_CHECK(ss_offset_encode(&o3, enc2, &err) == 0 &&
			       !memcmp(enc, enc2, sizeof(enc)),
			   "offset '%s': encoding not stable", buf);
	} else {
		FUZZ_CHECK(ss_offset_encode(o, enc, &err) < 0, "now encodes");
	}
	return 1;
}

static void offsets(const char *s, size_t len)
{
	struct ss_offset a, b, d;
	struct ss_err err = SS_ERR_INIT;
	const char *nl = memchr(s, '\n', len);
	unsigned char ea[SS_OFFSET_BYTES], eb[SS_OFFSET_BYTES];

	one_offset(s, len, &a);
	if (nl && one_offset(s, (size_t)(nl - s), &a) &&
	    one_offset(nl + 1, len - (size_t)(nl - s) - 1, &b)) {
		int c = ss_offset_compare(&a, &b);

		FUZZ_CHECK(sign(c) == -sign(ss_offset_compare(&b, &a)),
			   "compare not antisymmetric");
		FUZZ_CHECK((c == 0) == same_offset(&a, &b),
			   "compare 0 for different offsets");
		if (a.kind != SS_OFFSET_NOW && b.kind != SS_OFFSET_NOW) {
			ss_offset_encode(&a, ea, &err);
			ss_offset_encode(&b, eb, &err);
			FUZZ_CHECK(
			    sign(memcmp(ea, eb, sizeof(ea))) == sign(c),
			    "memcmp of encodings disagrees with compare");
		}
	}
	/* any 16 bytes: what decodes encodes back to the same bytes */
	if (len >= SS_OFFSET_BYTES &&
	    ss_offset_decode((const unsigned char *)s, &d, &err) == 0) {
		FUZZ_CHECK(ss_offset_is_valid(&d), "decoded offset invalid");
		FUZZ_CHECK(ss_offset_encode(&d, ea, &err) == 0 &&
			       !memcmp(ea, s, SS_OFFSET_BYTES),
			   "decode then encode changes the bytes");
	}
}

static void lsns(const char *s, size_t len)
{
	ss_lsn l, l2;
	struct ss_err err = SS_ERR_INIT;
	char buf[SS_LSN_STRMAX];

	if (ss_lsn_parse_n(s, len, &l, &err) < 0) {
		FUZZ_CHECK(err.msg[0] && err.code == SS_ERR_INPUT,
			   "LSN error without message");
		return;
	}
	ss_lsn_format(l, buf);
	FUZZ_CHECK(ss_lsn_parse(buf, &l2, &err) == 0 && l == l2,
		   "LSN '%.*s' formats as '%s', which does not parse back",
		   (int)len, s, buf);
	ss_lsn_format_dec(l, buf);
	FUZZ_CHECK(ss_lsn_parse(buf, &l2, &err) == 0 && l == l2,
		   "LSN '%.*s' formats as decimal '%s', which does not parse "
		   "back",
		   (int)len, s, buf);
}

static void handles(const char *s)
{
	uint32_t hash = 0;
	char buf[SS_HANDLE_MAX];
	const char *dash;
	int64_t us;
	struct ss_err err = SS_ERR_INIT;

	if (!ss_shape_handle_valid(s, &hash))
		return;
	dash = strchr(s, '-');
	FUZZ_CHECK(dash && strlen(s) < SS_HANDLE_MAX, "handle '%s'", s);
	/* The syntax allows 20 digits of time; only an int64 is minted. */
	if (ss_parse_i64(dash + 1, 0, INT64_MAX, &us, "us", &err) < 0) {
		FUZZ_CHECK(strlen(dash + 1) >= 19,
			   "handle '%s': time part does not parse", s);
		return;
	}
	ss_shape_format_handle(hash, us, buf, sizeof(buf));
	FUZZ_CHECK(!strcmp(buf, s), "handle '%s' formats back as '%s'", s, buf);
}

static void integers(const char *s)
{
	struct ss_err err = SS_ERR_INIT;
	char buf[32];
	int64_t i, i2;
	uint64_t u, u2;

	/* serve's cursor: 0 .. INT64_MAX / 2 */
	if (ss_parse_i64(s, 0, INT64_MAX / 2, &i, "cursor", &err) == 0) {
		FUZZ_CHECK(i >= 0 && i <= INT64_MAX / 2, "cursor out of range");
		snprintf(buf, sizeof(buf), "%" PRId64, i);
		FUZZ_CHECK(
		    ss_parse_i64(buf, 0, INT64_MAX / 2, &i2, "c", &err) == 0 &&
			i == i2,
		    "cursor '%s' does not round trip", s);
	}
	if (ss_parse_i64(s, INT64_MIN, INT64_MAX, &i, "n", &err) == 0) {
		snprintf(buf, sizeof(buf), "%" PRId64, i);
		FUZZ_CHECK(ss_parse_i64(buf, INT64_MIN, INT64_MAX, &i2, "n",
					&err) == 0 &&
			       i == i2,
			   "i64 '%s' does not round trip", s);
	}
	if (ss_parse_u64(s, UINT64_MAX, &u, "n", &err) == 0) {
		snprintf(buf, sizeof(buf), "%" PRIu64, u);
		FUZZ_CHECK(ss_parse_u64(buf, UINT64_MAX, &u2, "n", &err) == 0 &&
			       u == u2,
			   "u64 '%s' does not round trip", s);
	}
}

static void columns(const char *s)
{
	struct ss_shape sh, sh2;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;
	size_t i;

	ss_shape_init(&sh);
	ss_shape_init(&sh2);
	if (ss_shape_parse_columns(&sh, s, &err) < 0) {
		FUZZ_CHECK(err.msg[0] && err.code == SS_ERR_INPUT &&
			       !sh.ncolumns,
			   "columns error without message, or columns set");
		goto out;
	}
	FUZZ_CHECK(sh.ncolumns > 0, "columns '%s' parse to none", s);
	for (i = 0; i < sh.ncolumns; i++) {
		size_t n = strlen(sh.columns[i]);

		FUZZ_CHECK(n >= 1 && n <= SS_IDENT_MAX,
			   "column '%s' of '%s' has %zu bytes", sh.columns[i],
			   s, n);
		FUZZ_CHECK(i == 0 ||
			       strcmp(sh.columns[i - 1], sh.columns[i]) < 0,
			   "columns of '%s' not sorted and unique", s);
		if (i)
			ss_buf_addc(&b, ',');
		ss_shape_quote_ident(&b, sh.columns[i]);
	}
	FUZZ_CHECK(ss_shape_parse_columns(&sh2, b.buf, &err) == 0 &&
		       sh2.ncolumns == sh.ncolumns,
		   "columns '%s' quoted as '%s' do not parse back: %s", s,
		   b.buf, err.msg);
	for (i = 0; i < sh.ncolumns; i++)
		FUZZ_CHECK(!strcmp(sh.columns[i], sh2.columns[i]),
			   "column '%s' quoted comes back as '%s'",
			   sh.columns[i], sh2.columns[i]);
out:
	ss_buf_release(&b);
	ss_shape_release(&sh);
	ss_shape_release(&sh2);
}

static void table(const char *s)
{
	struct ss_shape sh, sh2;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT;

	ss_shape_init(&sh);
	ss_shape_init(&sh2);
	if (ss_shape_parse_table(&sh, s, &err) < 0) {
		FUZZ_CHECK(err.msg[0] && err.code == SS_ERR_INPUT,
			   "table error without message");
		goto out;
	}
	FUZZ_CHECK(sh.schema && sh.table && strlen(sh.schema) >= 1 &&
		       strlen(sh.schema) <= SS_IDENT_MAX &&
		       strlen(sh.table) >= 1 &&
		       strlen(sh.table) <= SS_IDENT_MAX,
		   "table '%s' parses to a bad identifier", s);
	ss_shape_quote_ident(&b, sh.schema);
	ss_buf_addc(&b, '.');
	ss_shape_quote_ident(&b, sh.table);
	FUZZ_CHECK(ss_shape_parse_table(&sh2, b.buf, &err) == 0 &&
		       !strcmp(sh.schema, sh2.schema) &&
		       !strcmp(sh.table, sh2.table),
		   "table '%s' quoted as '%s' does not parse back: %s", s,
		   b.buf, err.msg);
out:
	ss_buf_release(&b);
	ss_shape_release(&sh);
	ss_shape_release(&sh2);
}

static void canonical(const char *s)
{
	struct ss_shape sh, sh2;
	struct ss_err err = SS_ERR_INIT;
	struct ss_buf b = SS_BUF_INIT, b2 = SS_BUF_INIT;

	ss_shape_init(&sh);
	ss_shape_init(&sh2);
	if (ss_shape_from_canonical(&sh, s, &err) < 0)
		goto out;
	ss_shape_canonical(&sh, &b);
	FUZZ_CHECK(ss_shape_from_canonical(&sh2, b.buf, &err) == 0,
		   "'%s' renders as '%s', which does not parse: %s", s, b.buf,
		   err.msg);
	ss_shape_canonical(&sh2, &b2);
	FUZZ_CHECK(!strcmp(b.buf, b2.buf),
		   "canonical form not stable: '%s' -> "
		   "'%s' -> '%s'",
		   s, b.buf, b2.buf);
	FUZZ_CHECK(ss_shape_hash_canonical(b.buf, b.len) ==
		       ss_shape_hash_canonical(b2.buf, b2.len),
		   "hash not stable");
out:
	ss_buf_release(&b);
	ss_buf_release(&b2);
	ss_shape_release(&sh);
	ss_shape_release(&sh2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);

	offsets(s, size);
	lsns(s, size);
	handles(s);
	integers(s);
	columns(s);
	table(s);
	canonical(s);
	free(s);
	return 0;
}
