/*
 * util.c — error reports, checked allocation, ss_buf, number parsing and
 * clocks shared by every module and program.
 */
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

char ss_buf_empty[1];

void ss_err_clear(struct ss_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = err->detail[0] = err->hint[0] = '\0';
}

int ss_err_set(struct ss_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	err->detail[0] = err->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void ss_err_detail(struct ss_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void ss_err_hint(struct ss_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

void ss_err_prefix(struct ss_err *err, const char *fmt, ...)
{
	char pre[256], old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Explicit precisions: the prefix is short, the message keeps the rest.
	 */
	snprintf(err->msg, sizeof(err->msg), "%.200s: %.300s", pre, old);
}

static void oom(size_t n)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
	abort();
}

void *ss_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *ss_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *ss_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *ss_xstrdup(const char *s)
{
	return ss_xstrndup(s, strlen(s));
}

char *ss_xstrndup(const char *s, size_t n)
{
	char *p = ss_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void ss_grow(void **p, size_t *alloc, size_t n, size_t elem_size)
{
	size_t na;

	if (n <= *alloc)
		return;
	na = *alloc ? *alloc : 8;
	while (na < n) {
		if (na > SIZE_MAX / 2 / elem_size)
			oom(SIZE_MAX);
		na *= 2;
	}
	*p = ss_xrealloc(*p, na * elem_size);
	*alloc = na;
}

void ss_buf_init(struct ss_buf *b)
{
	b->buf = ss_buf_empty;
	b->len = b->alloc = 0;
}

void ss_buf_release(struct ss_buf *b)
{
	if (b->alloc)
		free(b->buf);
	ss_buf_init(b);
}

void ss_buf_grow_slow(struct ss_buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		oom(SIZE_MAX);
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return;
	if (!b->alloc) {
		b->buf = NULL;
	}
	{
		size_t na = b->alloc ? b->alloc : 64;

		while (na < need)
			na = na < SIZE_MAX / 2 ? na * 2 : need;
		b->buf = ss_xrealloc(b->buf, na);
		if (!b->alloc)
			b->buf[0] = '\0';
		b->alloc = na;
	}
}

void ss_buf_vaddf(struct ss_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	ss_buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->alloc - b->len) {
		ss_buf_grow(b, (size_t)n);
		vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void ss_buf_addf(struct ss_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ss_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

/* Nonzero when one of the 8 bytes at p needs a look of its own: below
 * 0x20, '"', '\\' or non-ASCII. (The borrow of a byte found can flag the
 * bytes above it too: they are looked at one by one.) */
static inline uint64_t json_special8(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t x, q, bs;

	memcpy(&x, p, 8);
	q = x ^ (ones * '"');
	bs = x ^ (ones * '\\');
	/* a byte below 0x20; a zero byte of q or bs; a high bit */
	return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
		((bs - ones) & ~bs) | x) &
	       high;
}

/* The escaper's loop, specialised by the compiler for each use of the
 * flags (the change writer calls it for every column of every change). */
static inline int add_json(struct ss_buf *b, const char *s, size_t len,
			   int upper, int strict)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	ss_buf_grow(b, len + 2);
	b->buf[b->len++] = '"';
	while (i < len) {
		unsigned char c;
		char esc[7];
		const char *e;

		while (i + 8 <= len && !json_special8(p + i))
			i += 8;
		if (i >= len)
			break;
		c = p[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = strict ? ss_utf8_seq(p + i, len - i) : 1;

			if (!n)
				return SS_JSON_EUTF8;
			i += n;
			continue;
		}
		if (c == 0 && strict)
			return SS_JSON_ENUL;
		ss_buf_add(b, s + run, i - run);
		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			esc[6] = '\0';
			e = esc;
		}
		ss_buf_adds(b, e);
		run = ++i;
	}
	ss_buf_add(b, s + run, len - run);
	ss_buf_addc(b, '"');
	return 0;
}

int ss_buf_add_json(struct ss_buf *b, const char *s, size_t len, unsigned flags)
{
	int upper = (flags & SS_JSON_UPPER) != 0;

	if (flags & SS_JSON_STRICT)
		return upper ? add_json(b, s, len, 1, 1)
			     : add_json(b, s, len, 0, 1);
	return upper ? add_json(b, s, len, 1, 0) : add_json(b, s, len, 0, 0);
}

void ss_buf_add_json_string(struct ss_buf *b, const char *s, size_t len)
{
	(void)ss_buf_add_json(b, s, len, 0);
}

void ss_buf_add_doubling(struct ss_buf *b, const char *s, char c)
{
	const char *hit;

	/* runs without c at once: most values have none */
	while (c && (hit = strchr(s, c)) != NULL) {
		ss_buf_add(b, s, (size_t)(hit - s) + 1);
		ss_buf_addc(b, c);
		s = hit + 1;
	}
	ss_buf_adds(b, s);
}

void ss_buf_add_clean(struct ss_buf *b, const char *s)
{
	for (; *s; s++)
		ss_buf_addc(b,
			    (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

void ss_buf_reset(struct ss_buf *b)
{
	ss_buf_setlen(b, 0);
}

void ss_buf_setlen(struct ss_buf *b, size_t len)
{
	if (!b->alloc)
		return;
	if (len > b->len)
		len = b->len;
	b->len = len;
	b->buf[len] = '\0';
}

char *ss_buf_detach(struct ss_buf *b, size_t *len)
{
	char *p;

	if (len)
		*len = b->len;
	if (!b->alloc)
		return ss_xstrdup("");
	p = b->buf;
	ss_buf_init(b);
	return p;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int ss_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out,
		 const char *what, struct ss_err *err)
{
	const char *d = s && *s == '-' ? s + 1 : s;
	long long v;
	char *end;

	if (!s || !all_digits(d))
		return ss_err_set(err, SS_ERR_INPUT,
				  "invalid %s '%s': not an integer", what,
				  s ? s : "");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || v < min || v > max)
		return ss_err_set(err, SS_ERR_INPUT,
				  "invalid %s '%s': must be between %" PRId64
				  " and %" PRId64,
				  what, s, min, max);
	*out = v;
	return 0;
}

int ss_parse_u64(const char *s, uint64_t max, uint64_t *out, const char *what,
		 struct ss_err *err)
{
	unsigned long long v;
	char *end;

	if (!s || !all_digits(s))
		return ss_err_set(err, SS_ERR_INPUT,
				  "invalid %s '%s': not a non-negative integer",
				  what, s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || v > max)
		return ss_err_set(err, SS_ERR_INPUT,
				  "invalid %s '%s': must be at most %" PRIu64,
				  what, s, max);
	*out = v;
	return 0;
}

int ss_parse_dec_n(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Split "<digits><suffix>" and look the suffix up in a table. */
static int parse_scaled(const char *s, const char *const *names,
			const uint64_t *mult, uint64_t *out, const char *what,
			const char *unit_hint, struct ss_err *err)
{
	size_t n = 0, i;
	unsigned long long v;

	while (s && s[n] >= '0' && s[n] <= '9')
		n++;
	if (!s || n == 0 || n > 19)
		goto bad;
	errno = 0;
	v = strtoull(s, NULL, 10);
	if (errno == ERANGE)
		goto bad;
	for (i = 0; names[i]; i++) {
		if (!strcmp(s + n, names[i])) {
			if (mult[i] && v > UINT64_MAX / mult[i])
				goto bad;
			*out = v * mult[i];
			return 0;
		}
	}
bad:
	return ss_err_set(err, SS_ERR_INPUT, "invalid %s '%s': expected %s",
			  what, s ? s : "", unit_hint);
}

int ss_parse_duration_ms(const char *s, int64_t *out_ms, const char *what,
			 struct ss_err *err)
{
	static const char *const names[] = {"", "ms", "s", "m", "h", NULL};
	static const uint64_t mult[] = {1, 1, 1000, 60000, 3600000};
	uint64_t v;

	if (parse_scaled(s, names, mult, &v, what,
			 "a duration such as 250ms, 5s, 2m or 1h", err) < 0)
		return -1;
	if (v > INT64_MAX / 1000)
		return ss_err_set(err, SS_ERR_INPUT,
				  "invalid %s '%s': too large", what, s);
	*out_ms = (int64_t)v;
	return 0;
}

int ss_parse_size(const char *s, uint64_t *out, const char *what,
		  struct ss_err *err)
{
	static const char *const names[] = {"",	  "b", "k",   "K",   "KiB",
					    "kB", "m", "M",   "MiB", "MB",
					    "g",  "G", "GiB", "GB",  NULL};
	static const uint64_t mult[] = {
	    1,	     1,	      1 << 10, 1 << 10, 1 << 10, 1 << 10, 1 << 20,
	    1 << 20, 1 << 20, 1 << 20, 1 << 30, 1 << 30, 1 << 30, 1 << 30};

	return parse_scaled(s, names, mult, out, what,
			    "a size such as 4096, 64KiB or 10MiB", err);
}

int64_t ss_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ss_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ss_format_time_us(int64_t us, char *out, size_t outsz)
{
	time_t secs = (time_t)(us / 1000000);
	long frac = (long)(us % 1000000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000000;
		secs -= 1;
	}
	if (!gmtime_r(&secs, &tm)) {
		snprintf(out, outsz, "%" PRId64, us);
		return;
	}
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, frac);
}

void ss_quote_text(char *out, size_t outsz, const char *s, size_t len,
		   size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < len && i < max && o + 5 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (i < len && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

void ss_dlist_unlink(struct ss_dlist *l, struct ss_dlink *k)
{
	if (!k->on)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
	k->on = 0;
	l->n--;
}

void ss_dlist_push_front(struct ss_dlist *l, struct ss_dlink *k)
{
	ss_dlist_unlink(l, k);
	k->prev = NULL;
	k->next = l->head;
	if (l->head)
		l->head->prev = k;
	else
		l->tail = k;
	l->head = k;
	k->on = 1;
	l->n++;
}

uint64_t ss_hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

size_t ss_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t k, more;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		more = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		more = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		more = 3;
		cp = c & 0x07;
	} else {
		return 0; /* continuation byte, 0xc0/0xc1 or > 0xf4 */
	}
	if (n <= more)
		return 0;
	for (k = 1; k <= more; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return more + 1;
}

int ss_utf8_valid(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		size_t n;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = ss_utf8_seq(p + i, len - i);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

int ss_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint32_t ss_get32be(const void *p)
{
	const unsigned char *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

uint64_t ss_get64be(const void *p)
{
	const unsigned char *b = p;
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

void ss_put64be(void *p, uint64_t v)
{
	unsigned char *b = p;
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)(v & 0xff);
}

int ss_mkdir(const char *path, struct ss_err *err)
{
	struct stat st;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not create directory '%s': %s", path,
				  strerror(errno));
	if (stat(path, &st) < 0)
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not stat '%s': %s", path,
				  strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ss_err_set(err, SS_ERR_RUNTIME,
				  "could not create directory '%s': %s", path,
				  strerror(ENOTDIR));
	return 0;
}

int ss_mkdirs(const char *path, int parents_only, struct ss_err *err)
{
	struct ss_buf b = SS_BUF_INIT;
	size_t i, end;
	int ret = 0;

	ss_buf_adds(&b, path);
	end = b.len;
	if (parents_only) {
		while (end > 0 && b.buf[end - 1] == '/')
			end--;
		while (end > 0 && b.buf[end - 1] != '/')
			end--;
	}
	for (i = 1; i <= end && ret == 0; i++) {
		if (i < end && b.buf[i] != '/')
			continue;
		/* Skip the empty components of "a//b" and a trailing '/'. */
		if (b.buf[i - 1] == '/')
			continue;
		b.buf[i] = '\0';
		ret = ss_mkdir(b.buf, err);
		if (i < b.len)
			b.buf[i] = '/';
	}
	ss_buf_release(&b);
	return ret;
}

void ss_signals_block(sigset_t *old)
{
	static const int sync_signals[] = {
	    SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS,
	};
	sigset_t set;
	size_t i;

	sigfillset(&set);
	for (i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
		sigdelset(&set, sync_signals[i]);
	pthread_sigmask(SIG_SETMASK, &set, old);
}

void ss_signals_restore(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

int ss_thread_start(pthread_t *t, const pthread_attr_t *attr,
		    void *(*fn)(void *), void *arg)
{
	sigset_t old;
	int rc;

	ss_signals_block(&old);
	rc = pthread_create(t, attr, fn, arg);
	ss_signals_restore(&old);
	return rc;
}

/* ---- listening addresses ---------------------------------------------- */

unsigned ss_sockaddr_parse(const char *addr, int port,
			   struct sockaddr_storage *sa)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return sizeof(*a6);
	}
	return 0;
}

int ss_sockaddr_loopback(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)
				  ->sin_addr.s_addr) >>
			24) == 127;
	if (sa->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

void ss_sockaddr_url_host(const char *addr, int port, char *out, size_t n)
{
	snprintf(out, n, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
}

int ss_pread_all(int fd, void *buf, size_t len, uint64_t pos)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)pos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		pos += (uint64_t)n;
	}
	return 0;
}

int ss_write_file_atomic(const char *path, const void *data, size_t len,
			 struct ss_err *err)
{
	struct ss_buf tmp = SS_BUF_INIT, dir = SS_BUF_INIT;
	const char *slash = strrchr(path, '/');
	int fd, rc = -1;

	ss_buf_addf(&tmp, "%s.tmp", path);
	if (slash == path)
		ss_buf_adds(&dir, "/");
	else if (slash)
		ss_buf_add(&dir, path, (size_t)(slash - path));
	else
		ss_buf_adds(&dir, ".");
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not write '%s': %s",
			   tmp.buf, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp.buf, path) < 0) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not rename '%s': %s",
			   tmp.buf, strerror(errno));
		goto out;
	}
	fd = open(dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not sync '%s': %s",
			   dir.buf, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	ss_buf_release(&tmp);
	ss_buf_release(&dir);
	return rc;
}
