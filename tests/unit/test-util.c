/*
 * test-util.c — lib/util's listening addresses (IPv4 and IPv6 text to a
 * socket address, loopback, and the URL authority form), the UTF-8
 * validator, the JSON string escaper, hex digits and big-endian fields,
 * and whole reads at a position.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "shape.h"
#include "util.h"
#include "unit.h"

static int port_of(const struct sockaddr_storage *sa)
{
	return ntohs(sa->ss_family == AF_INET6
			 ? ((const struct sockaddr_in6 *)sa)->sin6_port
			 : ((const struct sockaddr_in *)sa)->sin_port);
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len;
		int valid;
		size_t first; /* ss_utf8_seq at s[0] */
	} cases[] = {
	    {"", 0, 1, 0},
	    {"abc", 3, 1, 1},
	    {"a\0b", 3, 1, 1},		   /* NUL is ASCII */
	    {"\xc3\xa9", 2, 1, 2},	   /* é */
	    {"\xe2\x82\xac", 3, 1, 3},	   /* € */
	    {"\xf0\x9f\x98\x80", 4, 1, 4}, /* U+1F600 */
	    {"\xf4\x8f\xbf\xbf", 4, 1, 4}, /* U+10FFFF */
	    {"\xf4\x90\x80\x80", 4, 0, 0}, /* past U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, 0, 0},
	    {"\xc0\xaf", 2, 0, 0}, /* overlong '/' */
	    {"\xc1\xbf", 2, 0, 0},
	    {"\xe0\x80\xaf", 3, 0, 0},	   /* overlong, 3 bytes */
	    {"\xf0\x80\x80\xaf", 4, 0, 0}, /* overlong, 4 bytes */
	    {"\xed\xa0\x80", 3, 0, 0},	   /* surrogate U+D800 */
	    {"\xed\xbf\xbf", 3, 0, 0},	   /* surrogate U+DFFF */
	    {"\xee\x80\x80", 3, 1, 3},	   /* U+E000 */
	    {"\x80", 1, 0, 0},		   /* lone continuation */
	    {"\xc3", 1, 0, 0},		   /* truncated */
	    {"\xe2\x82", 2, 0, 0},
	    {"\xc3(", 2, 0, 0}, /* bad continuation */
	    {"ok\xc3\xa9\xff", 5, 0, 1},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const unsigned char *p = (const unsigned char *)cases[i].s;

		CHECK(ss_utf8_valid(cases[i].s, cases[i].len) ==
		      cases[i].valid);
		if (cases[i].len)
			CHECK(ss_utf8_seq(p, cases[i].len) == cases[i].first);
	}
	/* A sequence cut by the length given, not by the bytes. */
	CHECK(ss_utf8_seq((const unsigned char *)"\xe2\x82\xac", 2) == 0);
	CHECK(!ss_utf8_valid("\xe2\x82\xac", 2));
	/* The wrapper shape's callers use is the same validator. */
	CHECK(!ss_utf8_valid("\xed\xa0\x80", 3));
	CHECK(ss_utf8_valid("\xc3\xa9", 2));
}

static void json(const char *s, size_t len, unsigned flags, int rc,
		 const char *want)
{
	struct ss_buf b = SS_BUF_INIT;

	CHECK(ss_buf_add_json(&b, s, len, flags) == rc);
	if (rc == 0)
		CHECK_STR(b.buf, want);
	ss_buf_release(&b);
}

static void test_json(void)
{
	struct ss_buf b = SS_BUF_INIT;

	json("", 0, 0, 0, "\"\"");
	json("plain", 5, 0, 0, "\"plain\"");
	json("a\"b\\c", 5, 0, 0, "\"a\\\"b\\\\c\"");
	json("\b\f\n\r\t", 5, 0, 0, "\"\\b\\f\\n\\r\\t\"");
	json("\x01\x1f\x7f", 3, 0, 0, "\"\\u0001\\u001f\x7f\"");
	json("\x01\x1f", 2, SS_JSON_UPPER, 0, "\"\\u0001\\u001F\"");
	json("\x1b[", 2, SS_JSON_UPPER | SS_JSON_STRICT, 0, "\"\\u001B[\"");
	/* NUL: escaped by default, refused when strict. */
	json("a\0b", 3, 0, 0, "\"a\\u0000b\"");
	json("a\0b", 3, SS_JSON_STRICT, SS_JSON_ENUL, NULL);
	/* Non-ASCII stays UTF-8; invalid bytes pass unless strict. */
	json("caf\xc3\xa9", 5, SS_JSON_STRICT, 0, "\"caf\xc3\xa9\"");
	json("\xf0\x9f\x98\x80!", 5, SS_JSON_STRICT, 0,
	     "\"\xf0\x9f\x98\x80!\"");
	json("x\xff", 2, 0, 0, "\"x\xff\"");
	json("x\xff", 2, SS_JSON_STRICT, SS_JSON_EUTF8, NULL);
	json("\xed\xa0\x80", 3, SS_JSON_UPPER | SS_JSON_STRICT, SS_JSON_EUTF8,
	     NULL);
	json("\xc3", 1, SS_JSON_STRICT, SS_JSON_EUTF8, NULL);
	/* Appends to what the buffer holds; the old name is the default. */
	ss_buf_adds(&b, "k:");
	ss_buf_add_json_string(&b, "v\x01", 2);
	CHECK_STR(b.buf, "k:\"v\\u0001\"");
	ss_buf_release(&b);

	/* Doubling (quoting) and cleaning for human output. */
	ss_buf_add_doubling(&b, "a\"b\"\"", '"');
	CHECK_STR(b.buf, "a\"\"b\"\"\"\"");
	ss_buf_reset(&b);
	ss_buf_add_doubling(&b, "", '/');
	ss_buf_add_doubling(&b, "/x/", '/');
	CHECK_STR(b.buf, "//x//");
	ss_buf_reset(&b);
	ss_buf_add_clean(&b, "a\tb\nc\x7f\xc3\xa9");
	CHECK_STR(b.buf, "a b c \xc3\xa9");
	ss_buf_release(&b);
}

/* The escaper as the JSON rules say it, one byte at a time (lower case,
 * any bytes): the reference for the word-at-a-time scan. */
static void json_ref(struct ss_buf *b, const unsigned char *s, size_t len)
{
	size_t i;

	ss_buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			ss_buf_addc(b, '\\');
			ss_buf_addc(b, (char)c);
		} else if (c == '\n') {
			ss_buf_adds(b, "\\n");
		} else if (c == '\r') {
			ss_buf_adds(b, "\\r");
		} else if (c == '\t') {
			ss_buf_adds(b, "\\t");
		} else if (c == '\b') {
			ss_buf_adds(b, "\\b");
		} else if (c == '\f') {
			ss_buf_adds(b, "\\f");
		} else if (c < 0x20) {
			ss_buf_addf(b, "\\u%04x", c);
		} else {
			ss_buf_addc(b, (char)c);
		}
	}
	ss_buf_addc(b, '"');
}

/* Random strings over the bytes the scan must notice and their
 * neighbours (a borrow from one byte must not hide the next), at every
 * length and alignment: the escaper equals the reference. */
static void test_json_random(void)
{
	static const unsigned char pick[] = {'a',  'z',	 ' ',  '!',  '"',  '#',
					     '[',  '\\', ']',  0x1f, 0x20, 0x00,
					     0x01, 0x0a, 0x7f, 0x80, 0xc3, 0xa9,
					     0xff, 0x21, 0x5b, 0x5d, '0'};
	unsigned char s[48];
	struct ss_buf got = SS_BUF_INIT, want = SS_BUF_INIT;
	uint32_t seed = 12345;
	int round, bad = 0;
	size_t len, i;

	for (round = 0; round < 20000 && !bad; round++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % sizeof(s);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly plain, so that 8-byte words pass whole */
			s[i] = (seed >> 16) % 4
				   ? (unsigned char)('a' + (seed >> 20) % 26)
				   : pick[(seed >> 18) % sizeof(pick)];
		}
		ss_buf_reset(&got);
		ss_buf_reset(&want);
		ss_buf_add_json_string(&got, (const char *)s, len);
		json_ref(&want, s, len);
		if (got.len != want.len || memcmp(got.buf, want.buf, got.len))
			bad = 1;
	}
	CHECK(!bad);
	if (bad)
		fprintf(stderr, "# got  %s\n# want %s\n", got.buf, want.buf);
	ss_buf_release(&got);
	ss_buf_release(&want);
}

static void test_bytes(void)
{
	unsigned char b[8];
	static const char hex[] = "09afAF";
	static const int val[] = {0, 9, 10, 15, 10, 15};
	size_t i;

	for (i = 0; hex[i]; i++)
		CHECK(ss_hexval(hex[i]) == val[i]);
	CHECK(ss_hexval('g') == -1 && ss_hexval('/') == -1);
	CHECK(ss_hexval(':') == -1 && ss_hexval('@') == -1);
	CHECK(ss_hexval('G') == -1 && ss_hexval(-1) == -1);
	CHECK(ss_hexval(0x80) == -1 && ss_hexval((char)0xe9) == -1);

	ss_put64be(b, UINT64_C(0x0102030405060708));
	CHECK(b[0] == 1 && b[3] == 4 && b[7] == 8);
	CHECK(ss_get64be(b) == UINT64_C(0x0102030405060708));
	CHECK(ss_get32be(b) == 0x01020304u);
	CHECK(ss_get32be(b + 4) == 0x05060708u);
	ss_put64be(b, UINT64_MAX);
	CHECK(ss_get64be(b) == UINT64_MAX && ss_get32be(b) == UINT32_MAX);
	ss_put64be(b, 0);
	CHECK(ss_get64be(b) == 0);
}

struct item {
	int v;
	struct ss_dlink link;
};

/* The order of a list, head first, as digits. */
static void order(const struct ss_dlist *l, char *out)
{
	const struct ss_dlink *k;

	for (k = l->head; k; k = k->next)
		*out++ = (char)('0' + SS_CONTAINER_OF(k, struct item, link)->v);
	*out = '\0';
}

static void test_dlist(void)
{
	struct ss_dlist l = {0};
	struct item it[4] = {{0, {0}}, {1, {0}}, {2, {0}}, {3, {0}}};
	char o[8];

	ss_dlist_push_front(&l, &it[1].link);
	ss_dlist_push_front(&l, &it[2].link);
	ss_dlist_push_front(&l, &it[3].link);
	order(&l, o);
	CHECK_STR(o, "321");
	CHECK(l.n == 3 && SS_CONTAINER_OF(l.tail, struct item, link)->v == 1);
	/* pushing one that is there moves it */
	ss_dlist_push_front(&l, &it[1].link);
	order(&l, o);
	CHECK_STR(o, "132");
	CHECK(l.n == 3 && l.tail == &it[2].link);
	ss_dlist_unlink(&l, &it[3].link);
	ss_dlist_unlink(&l, &it[3].link); /* not on it: nothing */
	ss_dlist_unlink(&l, &it[0].link);
	order(&l, o);
	CHECK_STR(o, "12");
	CHECK(l.n == 2 && !it[3].link.on && it[1].link.on);
	ss_dlist_unlink(&l, &it[1].link);
	ss_dlist_unlink(&l, &it[2].link);
	CHECK(l.n == 0 && !l.head && !l.tail);
}

/* ss_pread_all: exactly the bytes asked for, or EIO past the end. */
static void test_pread_all(void)
{
	char buf[8];
	FILE *f = tmpfile();
	int fd;

	if (!f || fputs("0123456789", f) == EOF || fflush(f))
		FAILF("could not write a temporary file");
	fd = fileno(f);
	CHECK(ss_pread_all(fd, buf, 4, 3) == 0 && !memcmp(buf, "3456", 4));
	CHECK(ss_pread_all(fd, buf, 0, 20) == 0);
	errno = 0;
	CHECK(ss_pread_all(fd, buf, 4, 8) == -1 && errno == EIO);
	CHECK(ss_pread_all(-1, buf, 1, 0) == -1 && errno == EBADF);
	fclose(f);
}

int main(void)
{
	struct sockaddr_storage sa;
	char url[64];

	CHECK(ss_sockaddr_parse("127.0.0.1", 3000, &sa) ==
	      sizeof(struct sockaddr_in));
	CHECK(sa.ss_family == AF_INET && port_of(&sa) == 3000);
	CHECK(ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("127.9.8.7", 1, &sa) &&
	      ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("10.0.0.1", 1, &sa) &&
	      !ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("0.0.0.0", 1, &sa) &&
	      !ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("::1", 80, &sa) == sizeof(struct sockaddr_in6));
	CHECK(sa.ss_family == AF_INET6 && port_of(&sa) == 80);
	CHECK(ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("::", 80, &sa) && !ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("fe80::1", 80, &sa) &&
	      !ss_sockaddr_loopback(&sa));
	CHECK(ss_sockaddr_parse("[::1]", 80, &sa) == 0);
	CHECK(ss_sockaddr_parse("localhost", 80, &sa) == 0);
	CHECK(ss_sockaddr_parse("", 80, &sa) == 0);
	CHECK(ss_sockaddr_parse("127.0.0.1 ", 80, &sa) == 0);

	ss_sockaddr_url_host("127.0.0.1", 3000, url, sizeof(url));
	CHECK_STR(url, "127.0.0.1:3000");
	ss_sockaddr_url_host("::1", 3000, url, sizeof(url));
	CHECK_STR(url, "[::1]:3000");
	ss_sockaddr_url_host("::1", 3000, url, 5);
	CHECK_STR(url, "[::1");
	test_dlist();
	test_utf8();
	test_json();
	test_json_random();
	test_bytes();
	test_pread_all();
	return unit_report();
}
