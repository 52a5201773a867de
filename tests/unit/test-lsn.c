/*
 * test-lsn.c — tests for lib/lsn: parsing both text forms, PostgreSQL's
 * exact output format, and the error report. Exits 1 on any failure.
 */
#include <inttypes.h>

#include "lsn.h"

static int failures;

#define FAIL(...)                                                              \
	do {                                                                   \
		fprintf(stderr, "test-lsn: ");                                 \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		failures++;                                                    \
	} while (0)

struct good {
	const char *in;
	uint64_t want;
	const char *hex; /* expected ss_lsn_format */
};

static const struct good goods[] = {
    {"0/0", 0, "0/0"},
    {"0/16B3748", 0x16B3748, "0/16B3748"},
    {"0/16b3748", 0x16B3748, "0/16B3748"},
    {"16/B374D848", 0x16B374D848ULL, "16/B374D848"},
    {"00000000/00000001", 1, "0/1"},
    {"FFFFFFFF/FFFFFFFF", UINT64_MAX, "FFFFFFFF/FFFFFFFF"},
    {"ffffffff/ffffffff", UINT64_MAX, "FFFFFFFF/FFFFFFFF"},
    {"1/0", 1ULL << 32, "1/0"},
    {"0", 0, "0/0"},
    {"23803720", 0x16B3748, "0/16B3748"},
    {"0023803720", 0x16B3748, "0/16B3748"},
    {"4294967296", 1ULL << 32, "1/0"},
    {"18446744073709551615", UINT64_MAX, "FFFFFFFF/FFFFFFFF"},
};

static const char *const bads[] = {
    "",
    "/",
    "0/",
    "/0",
    "0//0",
    "0/0/0",
    "00000016/0B374D848",
    "123456789/0",
    "0/123456789",
    "g/0",
    "0/g",
    "0x1/0",
    " 0/0",
    "0/0 ",
    "+0/0",
    "-0/0",
    "0/-1",
    "-1",
    "+1",
    "1.5",
    "1e3",
    "12a",
    "18446744073709551616",
    "99999999999999999999",
    "0 /0",
    "0/ 0",
    "\n",
    "0/0\n",
};

int main(void)
{
	struct ss_err err = SS_ERR_INIT;
	char buf[SS_LSN_STRMAX];
	size_t i;
	uint64_t v;

	for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		if (ss_lsn_parse(goods[i].in, &v, &err) < 0) {
			FAIL("'%s': unexpected error: %s", goods[i].in,
			     err.msg);
			continue;
		}
		if (v != goods[i].want)
			FAIL("'%s' = %" PRIu64 ", expected %" PRIu64,
			     goods[i].in, v, goods[i].want);
		if (strcmp(ss_lsn_format(v, buf), goods[i].hex))
			FAIL("format(%s) = '%s', expected '%s'", goods[i].in,
			     buf, goods[i].hex);
		if (ss_lsn_parse(buf, &v, &err) < 0 || v != goods[i].want)
			FAIL("'%s' does not round-trip", buf);
		ss_lsn_format_dec(goods[i].want, buf);
		if (ss_lsn_parse(buf, &v, &err) < 0 || v != goods[i].want)
			FAIL("decimal '%s' does not round-trip", buf);
	}
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		ss_err_clear(&err);
		if (ss_lsn_parse(bads[i], &v, &err) == 0)
			FAIL("'%s' accepted as %" PRIu64, bads[i], v);
		else if (err.code != SS_ERR_INPUT ||
			 strncmp(err.msg, "invalid LSN '", 13))
			FAIL("'%s': bad error report %d '%s'", bads[i],
			     err.code, err.msg);
	}

	/* Exact error text, with control bytes escaped and long input cut. */
	ss_lsn_parse("x", &v, &err);
	if (strcmp(err.msg, "invalid LSN 'x'"))
		FAIL("message: '%s'", err.msg);
	ss_lsn_parse("0/0\n", &v, &err);
	if (strcmp(err.msg, "invalid LSN '0/0\\x0a'"))
		FAIL("message: '%s'", err.msg);
	{
		char big[200];

		memset(big, '7', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ss_lsn_parse(big, &v, &err);
		if (strlen(err.msg) != strlen("invalid LSN ''") + 64 + 3 ||
		    !strstr(err.msg, "777...'"))
			FAIL("long input not shortened: '%s'", err.msg);
	}
	/* Length-delimited: an embedded NUL is an error, not an end. */
	if (ss_lsn_parse_n("0/1\0002", 5, &v, &err) == 0)
		FAIL("embedded NUL accepted");
	if (ss_lsn_parse_n("0/1F", 3, &v, &err) < 0 || v != 1)
		FAIL("parse_n does not stop at len");
	if (ss_lsn_parse(NULL, &v, &err) == 0)
		FAIL("NULL accepted");
	if (strcmp(ss_lsn_format_dec(UINT64_MAX, buf), "18446744073709551615"))
		FAIL("format_dec: '%s'", buf);

	if (failures) {
		fprintf(stderr, "test-lsn: %d failure(s)\n", failures);
		return 1;
	}
	printf("test-lsn: ok\n");
	return 0;
}
