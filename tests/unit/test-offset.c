/*
 * test-offset.c — table-driven tests for lib/offset. Usage:
 *   test-offset tests/data/offset.test
 * Prints each failure to stderr and exits 1 if any case failed.
 */
#include <inttypes.h>

#include "offset.h"

static int failures;
static const char *path;

#define FAIL(lineno, ...)                                                      \
	do {                                                                   \
		fprintf(stderr, "%s:%d: ", path, lineno);                      \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		failures++;                                                    \
	} while (0)

/* Every offset the file names, for the pairwise property checks. */
static struct ss_offset seen[512];
static size_t nseen;

static void remember(const struct ss_offset *o)
{
	if (nseen < sizeof(seen) / sizeof(seen[0]))
		seen[nseen++] = *o;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Split a line into fields (see the format in offset.test). Field bytes go
 * to `store`; returns the count, or -1 on a malformed line. */
static int split(const char *line, char store[][256], size_t *lens, int max)
{
	const char *p = line;
	int n = 0;

	for (;;) {
		size_t len = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			return n;
		if (n == max)
			return -1;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				int c = (unsigned char)*p;

				if (!c || len >= 255)
					return -1;
				if (c == '\\') {
					p++;
					if (*p == 'n')
						c = '\n';
					else if (*p == 't')
						c = '\t';
					else if (*p == '\\' || *p == '"')
						c = *p;
					else if (*p == 'x' &&
						 hexval(p[1]) >= 0 &&
						 hexval(p[2]) >= 0) {
						c = hexval(p[1]) * 16 +
						    hexval(p[2]);
						p += 2;
					} else
						return -1;
				}
				store[n][len++] = (char)c;
			}
			p++;
		} else {
			while (*p && *p != ' ' && *p != '\t' && *p != '\n' &&
			       len < 255)
				store[n][len++] = *p++;
		}
		store[n][len] = '\0';
		lens[n++] = len;
	}
}

static void check_parse(int ln, const char *in, size_t len, unsigned flags,
			const char *want)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_offset o;
	char buf[SS_OFFSET_STRMAX];

	if (ss_offset_parse_n(in, len, flags, &o, &err) < 0) {
		if (strcmp(want, "error"))
			FAIL(ln, "expected %s, got error: %s", want, err.msg);
		else if (err.code != SS_ERR_INPUT ||
			 strncmp(err.msg, "invalid offset '", 16))
			FAIL(ln, "bad error report: code %d '%s'", err.code,
			     err.msg);
		return;
	}
	ss_offset_format(&o, buf);
	if (strcmp(buf, want))
		FAIL(ln, "expected %s, got %s", want, buf);
	remember(&o);
}

static int parse_any(int ln, const char *s, struct ss_offset *o)
{
	struct ss_err err = SS_ERR_INIT;

	if (ss_offset_parse(s, SS_OFFSET_ALLOW_NOW, o, &err) < 0) {
		FAIL(ln, "cannot parse '%s': %s", s, err.msg);
		return -1;
	}
	remember(o);
	return 0;
}

static void tohex(const unsigned char *b, char *out)
{
	int i;

	for (i = 0; i < SS_OFFSET_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int fromhex(const char *s, unsigned char *b)
{
	int i;

	if (strlen(s) != 2 * SS_OFFSET_BYTES)
		return -1;
	for (i = 0; i < SS_OFFSET_BYTES; i++) {
		int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);

		if (h < 0 || l < 0)
			return -1;
		b[i] = (unsigned char)(h * 16 + l);
	}
	return 0;
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void run_case(int ln, char f[][256], size_t *lens, int n)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_offset a, b;
	unsigned char bytes[SS_OFFSET_BYTES];
	char hex[2 * SS_OFFSET_BYTES + 1], buf[SS_OFFSET_STRMAX];

	if (n == 3 && !strcmp(f[0], "parse")) {
		check_parse(ln, f[1], lens[1], 0, f[2]);
	} else if (n == 3 && !strcmp(f[0], "request")) {
		check_parse(ln, f[1], lens[1], SS_OFFSET_ALLOW_NOW, f[2]);
	} else if (n == 4 && !strcmp(f[0], "order")) {
		int want, got;

		if (parse_any(ln, f[1], &a) || parse_any(ln, f[3], &b))
			return;
		want = !strcmp(f[2], "<") ? -1 : !strcmp(f[2], "=") ? 0 : 1;
		if (strcmp(f[2], "<") && strcmp(f[2], "=") &&
		    strcmp(f[2], ">")) {
			FAIL(ln, "bad order operator '%s'", f[2]);
			return;
		}
		got = sign(ss_offset_compare(&a, &b));
		if (got != want)
			FAIL(ln, "compare(%s, %s) = %d, expected %d", f[1],
			     f[3], got, want);
	} else if (n == 3 && !strcmp(f[0], "encode")) {
		if (parse_any(ln, f[1], &a))
			return;
		if (ss_offset_encode(&a, bytes, &err) < 0) {
			FAIL(ln, "encode %s failed: %s", f[1], err.msg);
			return;
		}
		tohex(bytes, hex);
		if (strcmp(hex, f[2]))
			FAIL(ln, "encode %s = %s, expected %s", f[1], hex,
			     f[2]);
	} else if (n == 3 && !strcmp(f[0], "decode")) {
		if (fromhex(f[1], bytes)) {
			FAIL(ln, "bad hex '%s'", f[1]);
			return;
		}
		if (ss_offset_decode(bytes, &a, &err) < 0) {
			if (strcmp(f[2], "error"))
				FAIL(ln, "decode %s failed: %s", f[1], err.msg);
			else if (err.code != SS_ERR_INPUT)
				FAIL(ln, "decode %s: code %d", f[1], err.code);
			return;
		}
		ss_offset_format(&a, buf);
		if (strcmp(buf, f[2]))
			FAIL(ln, "decode %s = %s, expected %s", f[1], buf,
			     f[2]);
	} else {
		FAIL(ln, "malformed case");
	}
}

/* Properties over every offset the file named. */
static void check_properties(void)
{
	struct ss_err err = SS_ERR_INIT;
	size_t i, j;

	for (i = 0; i < nseen; i++) {
		const struct ss_offset *a = &seen[i];
		unsigned char ea[SS_OFFSET_BYTES], eb[SS_OFFSET_BYTES];
		char buf[SS_OFFSET_STRMAX];
		struct ss_offset back;

		ss_offset_format(a, buf);
		if (ss_offset_parse(buf, SS_OFFSET_ALLOW_NOW, &back, &err) <
			0 ||
		    ss_offset_compare(a, &back) != 0 || back.kind != a->kind)
			FAIL(0, "parse(format(%s)) does not round-trip", buf);
		if (!ss_offset_is_valid(a))
			FAIL(0, "%s: parsed offset is not valid", buf);
		if (a->kind == SS_OFFSET_NOW) {
			if (ss_offset_encode(a, ea, &err) == 0)
				FAIL(0, "'now' must not encode");
			continue;
		}
		if (ss_offset_encode(a, ea, &err) < 0 ||
		    ss_offset_decode(ea, &back, &err) < 0 ||
		    ss_offset_compare(a, &back) != 0 || back.kind != a->kind ||
		    back.tx != a->tx || back.op != a->op)
			FAIL(0, "%s: decode(encode(x)) does not round-trip",
			     buf);
		for (j = 0; j < nseen; j++) {
			const struct ss_offset *b = &seen[j];
			int c = sign(ss_offset_compare(a, b));
			char bb[SS_OFFSET_STRMAX];

			ss_offset_format(b, bb);
			if (c != -sign(ss_offset_compare(b, a)))
				FAIL(0, "compare(%s, %s) not antisymmetric",
				     buf, bb);
			if (b->kind == SS_OFFSET_NOW)
				continue;
			ss_offset_encode(b, eb, &err);
			if (c != sign(memcmp(ea, eb, SS_OFFSET_BYTES)))
				FAIL(0,
				     "memcmp of encodings of %s and %s "
				     "disagrees with compare",
				     buf, bb);
		}
	}
}

/* Things the table cannot say. */
static void check_api(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_offset o, bad;
	unsigned char b[SS_OFFSET_BYTES];
	char buf[SS_OFFSET_STRMAX];

	if (strcmp(ss_offset_format(&ss_offset_before_all, buf), "-1") ||
	    strcmp(ss_offset_format(&ss_offset_first, buf), "0_0") ||
	    strcmp(ss_offset_format(&ss_offset_last_before_real, buf),
		   "0_inf") ||
	    strcmp(ss_offset_format(&ss_offset_last, buf),
		   "18446744073709551615_inf"))
		FAIL(0, "special constants format wrongly");
	if (ss_offset_compare(&ss_offset_before_all, &ss_offset_first) >= 0 ||
	    ss_offset_compare(&ss_offset_first, &ss_offset_last_before_real) >=
		0 ||
	    ss_offset_compare(&ss_offset_last_before_real, &ss_offset_last) >=
		0)
		FAIL(0, "special constants out of order");
	o = ss_offset_make(9, 9);
	ss_offset_init(&o);
	if (o.kind != SS_OFFSET_NORMAL || o.tx != 0 || o.op != 0)
		FAIL(0, "ss_offset_init is not 0_0");
	o = ss_offset_make(0, 3);
	if (!ss_offset_is_virtual(&o) || ss_offset_is_real(&o) ||
	    ss_offset_is_inf(&o))
		FAIL(0, "0_3 predicates wrong");
	o = ss_offset_make(77, SS_OFFSET_INF);
	if (ss_offset_is_virtual(&o) || !ss_offset_is_real(&o) ||
	    !ss_offset_is_inf(&o))
		FAIL(0, "77_inf predicates wrong");
	if (ss_offset_is_virtual(&ss_offset_before_all) ||
	    ss_offset_is_real(&ss_offset_before_all))
		FAIL(0, "before_all is neither virtual nor real");
	if (ss_offset_for_change(0x16B3748, 5, &o, &err) < 0 ||
	    strcmp(ss_offset_format(&o, buf), "23803720_10"))
		FAIL(0, "for_change(0/16B3748, 5) gave %s", buf);
	if (ss_offset_for_change(1, (SS_OFFSET_OP_MAX - 1) / 2, &o, &err) < 0 ||
	    o.op + 1 > SS_OFFSET_OP_MAX)
		FAIL(0, "for_change at the top of the range");
	if (ss_offset_for_change(1, (SS_OFFSET_OP_MAX - 1) / 2 + 1, &o, &err) ==
		0 ||
	    err.code != SS_ERR_INPUT)
		FAIL(0, "for_change past the range must fail");
	if (ss_offset_for_movein(768, -1, 2, &o, &err) < 0 ||
	    strcmp(ss_offset_format(&o, buf), "767_2"))
		FAIL(0, "for_movein before the changes gave %s", buf);
	if (ss_offset_for_movein(768, 0, 0, &o, &err) < 0 ||
	    strcmp(ss_offset_format(&o, buf), "768_4"))
		FAIL(0, "for_movein after pos 0 gave %s", buf);
	if (ss_offset_for_movein(768, 2, 3, &o, &err) < 0 ||
	    strcmp(ss_offset_format(&o, buf), "768_15"))
		FAIL(0, "for_movein after pos 2 gave %s", buf);
	if (ss_offset_for_movein(0, -1, 0, &o, &err) == 0 ||
	    err.code != SS_ERR_INPUT)
		FAIL(0, "for_movein before the changes of lsn 0 must fail");
	if (ss_offset_for_movein(1, (int64_t)((SS_OFFSET_OP_MAX - 4) / 4), 0,
				 &o, &err) == 0 ||
	    ss_offset_for_movein(1, 0, SS_OFFSET_OP_MAX - 3, &o, &err) == 0 ||
	    ss_offset_for_movein(1, 0, SS_OFFSET_OP_MAX - 4, &o, &err) < 0 ||
	    o.op != SS_OFFSET_OP_MAX)
		FAIL(0, "for_movein at the edges of the range");
	bad = ss_offset_make(1, SS_OFFSET_OP_MAX + 1);
	if (ss_offset_is_valid(&bad) || ss_offset_encode(&bad, b, &err) == 0)
		FAIL(0, "op OP_MAX+1 must be invalid and not encode");
	ss_err_clear(&err);
	if (ss_offset_parse("1_", 0, &o, &err) == 0 ||
	    strcmp(err.msg, "invalid offset '1_'") || !err.detail[0])
		FAIL(0, "error message: '%s'", err.msg);
	if (ss_offset_parse("\x01"
			    "1_2",
			    0, &o, &err) == 0 ||
	    strcmp(err.msg, "invalid offset '\\x011_2'"))
		FAIL(0, "control bytes not escaped: '%s'", err.msg);
	if (ss_offset_parse(NULL, 0, &o, &err) == 0)
		FAIL(0, "NULL must fail");
}

int main(int argc, char **argv)
{
	char line[1024], f[4][256];
	size_t lens[4];
	FILE *in;
	int ln = 0, ncases = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: test-offset FILE\n");
		return 2;
	}
	path = argv[1];
	in = fopen(path, "r");
	if (!in) {
		fprintf(stderr, "test-offset: cannot open '%s'\n", path);
		return 2;
	}
	while (fgets(line, sizeof(line), in)) {
		int n;

		ln++;
		if (line[0] == '#')
			continue;
		n = split(line, f, lens, 4);
		if (n == 0)
			continue;
		if (n < 0) {
			FAIL(ln, "malformed line");
			continue;
		}
		run_case(ln, f, lens, n);
		ncases++;
	}
	fclose(in);
	if (ncases < 50)
		FAIL(0, "only %d cases ran", ncases);
	check_properties();
	check_api();
	if (failures) {
		fprintf(stderr, "test-offset: %d failure(s)\n", failures);
		return 1;
	}
	printf("test-offset: %d cases, %zu offsets cross-checked\n", ncases,
	       nseen);
	return 0;
}
