/*
 * util.h — the small things every module needs: error reports, allocation
 * that aborts on out-of-memory, a growable byte buffer, checked number
 * parsing and clocks. Nothing here prints or exits except ss_xmalloc and
 * friends on out-of-memory, the one documented exception.
 */
#ifndef SS_UTIL_H
#define SS_UTIL_H

/* System headers that banned.h would break if they came after it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <signal.h>

/*
 * Error codes double as the exit status a program should use (STYLE.md):
 * SS_ERR_RUNTIME (1) for I/O, network, PostgreSQL, SQLite failures a
 * supervisor may retry; SS_ERR_USAGE (2) for bad options or arguments;
 * SS_ERR_INPUT (3) for bad input data, where a retry will not help.
 */
enum ss_err_code {
	SS_OK = 0,
	SS_ERR_RUNTIME = 1,
	SS_ERR_USAGE = 2,
	SS_ERR_INPUT = 3,
};

/*
 * A caller-supplied error report. Library functions that fail return -1 and
 * fill one of these; the caller decides how to log it and which exit code
 * to use. `msg` is lowercase with no trailing period; `detail` and `hint`
 * are optional (empty when unset).
 */
struct ss_err {
	int code;
	char msg[512];
	char detail[512];
	char hint[256];
};

#define SS_ERR_INIT                                                            \
	{                                                                      \
		0, "", "", ""                                                  \
	}

/* Clear an error report. */
void ss_err_clear(struct ss_err *err);
/* Set code and message (printf-style); clears detail and hint. NULL err is
 * allowed and ignored. Always returns -1 so callers can `return
 * ss_err_set(..)`. */
int ss_err_set(struct ss_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Set the optional detail / hint lines of an error already set. */
void ss_err_detail(struct ss_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ss_err_hint(struct ss_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the message of an error already set with "<prefix>: ". */
void ss_err_prefix(struct ss_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Allocation: never returns NULL; on out-of-memory prints one line to
 * stderr and aborts (the one exception to "the library never prints"). */
void *ss_xmalloc(size_t n);
void *ss_xcalloc(size_t nmemb, size_t size);
void *ss_xrealloc(void *p, size_t n);
char *ss_xstrdup(const char *s);
char *ss_xstrndup(const char *s, size_t n);
/* Grow *p (of *alloc elements of elem_size) to hold at least n elements. */
void ss_grow(void **p, size_t *alloc, size_t n, size_t elem_size);
/* Marks a case that goes on into the next one on purpose
 * (-Wimplicit-fallthrough, gcc and clang). */
#define SS_FALLTHROUGH __attribute__((fallthrough))

#define SS_GROW(p, alloc, n) ss_grow((void **)&(p), &(alloc), (n), sizeof(*(p)))

/*
 * A growable, always NUL-terminated byte buffer (the one buffer type for
 * strings, paths and SQL). Transparent value type: SS_BUF_INIT or
 * ss_buf_init(), then ss_buf_release() frees the storage. `buf` is never
 * NULL after init (it points at a static "" until the first append).
 */
struct ss_buf {
	char *buf;
	size_t len;
	size_t alloc;
};

extern char ss_buf_empty[];
#define SS_BUF_INIT                                                            \
	{                                                                      \
		ss_buf_empty, 0, 0                                             \
	}

void ss_buf_init(struct ss_buf *b);
void ss_buf_release(struct ss_buf *b);
/* ss_buf_grow's reallocation, when the room is short. */
void ss_buf_grow_slow(struct ss_buf *b, size_t extra);

/* Make room for `extra` more bytes (plus the NUL). Inline, as the adds
 * below: the encoders call them for every field of every row, and the
 * room is almost always there. (With alloc 0, len is 0 too.) */
static inline void ss_buf_grow(struct ss_buf *b, size_t extra)
{
	if (extra >= b->alloc - b->len)
		ss_buf_grow_slow(b, extra);
}

static inline void ss_buf_add(struct ss_buf *b, const void *data, size_t len)
{
	ss_buf_grow(b, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

static inline void ss_buf_adds(struct ss_buf *b, const char *s)
{
	ss_buf_add(b, s, strlen(s));
}

static inline void ss_buf_addc(struct ss_buf *b, char c)
{
	ss_buf_grow(b, 1);
	b->buf[b->len++] = c;
	b->buf[b->len] = '\0';
}

void ss_buf_addf(struct ss_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ss_buf_vaddf(struct ss_buf *b, const char *fmt, va_list ap);
/*
 * The one JSON string escaper. Appends s[0..len) as a JSON string literal,
 * quotes included: '"' and '\\' escaped, \b \f \n \r \t by name, other
 * control characters (NUL too) as \u00xx, everything else as is (non-ASCII
 * stays UTF-8). Flags:
 *   SS_JSON_UPPER   \u00XX in upper case, as jansson dumps it (frames
 *                   written by hand must match jansson's byte for byte);
 *                   lower case otherwise (the canonical shape form, log
 *                   lines, Electric's messages).
 *   SS_JSON_STRICT  refuse text that is not valid UTF-8 (ss_utf8_valid) or
 *                   holds a NUL, which jansson would not store either.
 * Returns 0, or with SS_JSON_STRICT SS_JSON_EUTF8 / SS_JSON_ENUL (< 0) and
 * part of the string appended: the caller drops the buffer's contents.
 */
enum { SS_JSON_UPPER = 1, SS_JSON_STRICT = 2 };
enum { SS_JSON_EUTF8 = -1, SS_JSON_ENUL = -2 };
int ss_buf_add_json(struct ss_buf *b, const char *s, size_t len,
		    unsigned flags);
/* ss_buf_add_json(b, s, len, 0): lower case, any bytes. */
void ss_buf_add_json_string(struct ss_buf *b, const char *s, size_t len);
/* Append s with every c in it doubled: the escape of SQL identifiers
 * ("), literals (') and Electric's key parts (/). */
void ss_buf_add_doubling(struct ss_buf *b, const char *s, char c);
/* Append s for human output, one line per item: control characters (and
 * DEL) become spaces. */
void ss_buf_add_clean(struct ss_buf *b, const char *s);
void ss_buf_reset(struct ss_buf *b);
void ss_buf_setlen(struct ss_buf *b, size_t len);
/* Take the storage: *new* string the caller frees with free(); b is reset. */
char *ss_buf_detach(struct ss_buf *b, size_t *len);

/*
 * Parse a whole decimal string into *out, checking [min, max]. No leading
 * '+', no spaces, no trailing junk. Return 0, or -1 with err (code
 * SS_ERR_INPUT) naming `what`.
 */
int ss_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out,
		 const char *what, struct ss_err *err);
int ss_parse_u64(const char *s, uint64_t max, uint64_t *out, const char *what,
		 struct ss_err *err);
/* Parse exactly n bytes of decimal digits (at least one, no sign, no
 * spaces) into *out, at most max. Returns 0, or -1 without a message:
 * for callers that build their own error (LSNs, offsets). */
int ss_parse_dec_n(const char *s, size_t n, uint64_t max, uint64_t *out);
/* Parse a duration like "250ms", "5s", "2m", or bare milliseconds. */
int ss_parse_duration_ms(const char *s, int64_t *out_ms, const char *what,
			 struct ss_err *err);
/* Parse a size like "10MiB", "64k", "4096". */
int ss_parse_size(const char *s, uint64_t *out, const char *what,
		  struct ss_err *err);

/* Wall clock in microseconds since the Unix epoch. */
int64_t ss_now_us(void);
/* Monotonic clock in microseconds. */
int64_t ss_mono_us(void);
/* Format a Unix-microseconds time as ISO 8601 UTC
 * ("2026-11-21T07:38:00.123456Z"). */
void ss_format_time_us(int64_t us, char *out, size_t outsz);

/*
 * Copy untrusted text into an error message: control and non-ASCII bytes
 * become \xNN, and input past `max` bytes is cut with "...", so a hostile
 * value can neither flood nor garble a log line. Always NUL-terminates
 * out (outsz >= 1).
 */
void ss_quote_text(char *out, size_t outsz, const char *s, size_t len,
		   size_t max);

/* 64-bit FNV-1a over a byte string; stable across runs and machines. */
uint64_t ss_hash64(const void *data, size_t len);

/*
 * An intrusive doubly linked list, most recently pushed first: the link
 * lives in the element (SS_CONTAINER_OF gets the element back), so
 * moving an element costs no allocation. Zeroed link and list are empty;
 * an element is on at most one list per link.
 */
struct ss_dlink {
	struct ss_dlink *prev, *next;
	int on; /* on a list */
};
struct ss_dlist {
	struct ss_dlink *head, *tail;
	size_t n;
};
#define SS_CONTAINER_OF(ptr, type, member)                                     \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Take k off l (a no-op if k is on no list). */
void ss_dlist_unlink(struct ss_dlist *l, struct ss_dlink *k);

/* Put k first on l, taking it off l first if it is there. */
void ss_dlist_push_front(struct ss_dlist *l, struct ss_dlink *k);

/*
 * UTF-8, the one validator. ss_utf8_seq: the length (1 to 4) of the valid
 * UTF-8 character at p[0..n) (n >= 1), or 0 when the bytes there are not
 * one: a continuation byte, 0xc0/0xc1 or a byte past 0xf4, a truncated
 * sequence, an overlong form, a surrogate, or a value past U+10FFFF.
 * ss_utf8_valid: 1 if text[0..len) is all valid characters (NUL included,
 * as ASCII), else 0.
 */
size_t ss_utf8_seq(const unsigned char *p, size_t n);
int ss_utf8_valid(const char *text, size_t len);

/* The value of a hex digit (either case), or -1 for any other c. */
int ss_hexval(int c);

/* Big-endian (network order) fixed-size integers at p: the on-disk log
 * records and PostgreSQL's protocol fields. */
uint32_t ss_get32be(const void *p);
uint64_t ss_get64be(const void *p);
void ss_put64be(void *p, uint64_t v);

/* mkdir (mode 0755) that accepts an existing directory, not an existing
 * file of another kind. */
int ss_mkdir(const char *path, struct ss_err *err);
/* mkdir -p: path and each missing parent; with parents_only, every
 * component but the last ("a/b/file" makes a and a/b). */
int ss_mkdirs(const char *path, int parents_only, struct ss_err *err);
/* Read exactly len bytes at pos of fd into buf, through short reads and
 * EINTR. 0, or -1 with errno (EIO when the file ends before them). */
int ss_pread_all(int fd, void *buf, size_t len, uint64_t pos);

/*
 * Replace the file at path with data[0..len) durably: written to
 * "<path>.tmp", fsync'd, renamed over path, and the directory fsync'd.
 * A reader sees the old file or the new one, never part of one.
 * 0, or -1 with err (SS_ERR_RUNTIME naming the path).
 */
int ss_write_file_atomic(const char *path, const void *data, size_t len,
			 struct ss_err *err);

/*
 * Signals and threads. A signal sent to a process runs its handler in any
 * thread that does not block it, and only that thread's blocking call is
 * interrupted: SIGTERM caught by a helper thread leaves the main thread
 * asleep in pause() or write() with its stop flag set. So every thread
 * but the main one blocks the asynchronous signals, and a program that
 * waits for a stop signal does it with sigsuspend.
 *
 * ss_signals_block sets the calling thread's mask to block every signal
 * except the synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
 * SIGABRT, SIGSYS: blocking those would lose a crash report) and stores
 * the previous mask in *old; ss_signals_restore puts it back. Threads a
 * library starts inherit the blocked mask when started between the two
 * (this is how serve starts libmicrohttpd's threads). So does a program
 * that such a thread forks and executes: reset its mask in the child
 * (lib/supervise does).
 */
void ss_signals_block(sigset_t *old);
void ss_signals_restore(const sigset_t *old);
/* pthread_create with the new thread's asynchronous signals blocked (see
 * above); attr may be NULL. Returns 0 or an error number, like
 * pthread_create; the caller's mask is unchanged. */
int ss_thread_start(pthread_t *t, const pthread_attr_t *attr,
		    void *(*fn)(void *), void *arg);

/*
 * Listening addresses. ss_sockaddr_parse puts `addr` (IPv4 or IPv6 text,
 * no brackets) and `port` into *sa and returns its length, or 0 when addr
 * is neither. ss_sockaddr_loopback: 1 for 127.0.0.0/8 and ::1.
 * ss_sockaddr_url_host writes addr:port as a URL's authority ("[::1]:3000"
 * for IPv6) into out (n bytes, truncated if short).
 */
struct sockaddr_storage;
unsigned ss_sockaddr_parse(const char *addr, int port,
			   struct sockaddr_storage *sa);
int ss_sockaddr_loopback(const struct sockaddr_storage *sa);
void ss_sockaddr_url_host(const char *addr, int port, char *out, size_t n);

#include "banned.h"
#endif
