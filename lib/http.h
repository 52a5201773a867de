/*
 * http.h — what serve's answers have in common, apart from any request
 * state: the route and method of a request line, Electric's JSON error
 * bodies, the CORS and error headers, If-None-Match lists, and a response
 * body read from a byte range of a file between two strings.
 *
 * The body builders and the matchers are pure; the functions taking a
 * struct MHD_Response only add headers to it (libmicrohttpd's own
 * functions, so they never fail in a way the caller could act on).
 */
#ifndef SS_HTTP_H
#define SS_HTTP_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "offset.h"
#include "util.h"

/* The electric-server header: the Electric version whose API serve
 * speaks, then shapesync's. */
#define SS_HTTP_SERVER_HEADER "ElectricSQL/1.7.12 shapesync/" SS_VERSION

enum ss_http_method {
	SS_HTTP_GET,
	SS_HTTP_HEAD,
	SS_HTTP_POST,
	SS_HTTP_DELETE,
	SS_HTTP_OPTIONS,
	SS_HTTP_OTHER
};

enum ss_http_route {
	SS_HTTP_ROOT,
	SS_HTTP_SHAPE,
	SS_HTTP_HEALTH,
	SS_HTTP_METRICS,
	SS_HTTP_NONE
};

/* The method of a request line (exact, case-sensitive names). */
enum ss_http_method ss_http_method_of(const char *method);

/*
 * The route of a percent-decoded path, normalised as Electric does before
 * routing: runs of '/' are one, a trailing '/' is dropped (/v1//shape/ is
 * /v1/shape). A path of 64 bytes or more is SS_HTTP_NONE.
 */
enum ss_http_route ss_http_route_of(const char *path);

/*
 * Append s to b as a JSON string, each byte that is not part of valid
 * UTF-8 replaced with '?', so that text echoed from a request is always
 * valid JSON.
 */
void ss_http_add_json_text(struct ss_buf *b, const char *s);

/* Append {"message":<msg>} to b. */
void ss_http_message_body(struct ss_buf *b, const char *msg);

/* One error of one parameter, for ss_http_invalid_body. */
struct ss_http_field_err {
	char field[32];
	char msg[600];
};

/* A growing list of field errors (zero it to start; free(e) at the end). */
struct ss_http_errors {
	struct ss_http_field_err *e;
	size_t n, alloc;
};

/* Add one error of field, its message printf-style (cut at 599 bytes). */
void ss_http_errors_add(struct ss_http_errors *c, const char *field,
			const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sort e[0..n) by field, byte order (Jason's map order). */
void ss_http_errors_sort(struct ss_http_field_err *e, size_t n);

/*
 * Append Electric's 400 body {"message":"Invalid request","errors":
 * {field:[msg,..],..}} to b: the fields in byte order (Jason's map order),
 * a field's messages in the order given. Sorts e[0..n) in place (stable
 * for equal fields is not needed: callers give at most one message per
 * field and kind).
 */
void ss_http_invalid_body(struct ss_buf *b, struct ss_http_field_err *e,
			  size_t n);

/*
 * Does an If-None-Match value (a comma list; each entry's quotes
 * stripped; NULL: no header) hold etag? 1 yes, 0 no.
 */
int ss_http_etag_matches(const char *if_none_match, const char *etag);

/*
 * The headers every answer carries: electric-server, CORS for the
 * request's Origin (origin NULL: "*"; else echoed, with "vary: Origin"),
 * the allowed methods of the route (shape: GET, POST, HEAD, DELETE,
 * OPTIONS), and the headers a browser may read.
 */
void ss_http_common_headers(struct MHD_Response *resp, const char *origin,
			    int shape_route);

/*
 * The headers of a JSON error answer: content-type, cache-control by
 * status (409: cached 60 s when the answer names a handle, 1 s when not;
 * other 4xx and 5xx: no-store for browsers and CDNs), retry-after when
 * given, electric-internal-known-error when known.
 */
void ss_http_error_headers(struct MHD_Response *resp, unsigned status,
			   int has_handle, const char *retry_after, int known);

/*
 * 1 when a libmicrohttpd log message is ordinary and not worth a warning:
 * a client that went away mid-answer (a browser or TanStack DB aborting a
 * long-poll it no longer needs) abandons its answer with the connection.
 */
int ss_http_log_ignorable(const char *msg);

/* A response holding a copy of data[0..len). */
struct MHD_Response *ss_http_buffer(const char *data, size_t len);

/*
 * The 409 must-refetch answer: body [{"headers":{"control":
 * "must-refetch"}}], electric-handle new_handle and cached 60 s when
 * new_handle is non-empty, else cached 1 s.
 */
struct MHD_Response *ss_http_must_refetch(const char *new_handle);

/*
 * The value of access-control-allow-headers for a preflight's
 * access-control-request-headers h, compared whole as Electric does (a
 * comma list matches nothing): h itself when it is if-none-match or
 * traceparent (any case), else "". NULL when h is NULL (no header sent).
 */
const char *ss_http_preflight_allow(const char *h);

/* What a request brings before its body is read (ss_http_intake_check). */
struct ss_http_intake {
	size_t uri_len;	   /* the request URI */
	size_t header_len; /* its headers: name + value + 4 each */
	size_t nargs;	   /* query arguments ('&' + 1) */
	int post;
	const char *transfer_encoding, *content_length; /* NULL: absent */
	uint64_t max_header, max_body;
	size_t max_args;
};

/*
 * The limits every request meets before serve reads its body: the URI
 * (414) and URI plus headers (431) within max_header, at most max_args
 * arguments (431), and a POST with a Content-Length (411: chunked bodies
 * are refused) of at most max_body (413). Returns 0 when the request may
 * go on, else the status with *body its JSON (static).
 */
unsigned ss_http_intake_check(const struct ss_http_intake *in,
			      const char **body);

/*
 * Electric's electric-cursor for a live answer (out: at least 32 bytes):
 * the next multiple of the long-poll timeout in seconds since
 * 2024-10-09T00:00:00Z at now_us (wall clock), or when that is not past
 * the client's cursor prev (decimal; NULL or invalid: 0), prev + 1 +
 * jitter (0..3599), so that caches never serve a live answer twice. "0"
 * when the timeout is under a second.
 */
void ss_http_cursor(const char *prev, int64_t long_poll_ms, int64_t now_us,
		    int64_t jitter, char *out);

/*
 * The cache-control of a data answer (out: at least 128 bytes): no-cache
 * for POST (subset requests), a week (an hour for shared caches) for
 * offset -1, 5 s for live answers, else max_age and stale_age.
 */
void ss_http_data_cache_control(int post, int before_all, int live,
				int64_t max_age, int64_t stale_age, char *out);

/* A data answer of /v1/shape (ss_http_data_response). */
struct ss_http_data {
	const char *handle;
	struct ss_offset req_off; /* the request's offset */
	struct ss_offset end;	  /* electric-offset */
	int up_to_date, has_data;
	int unique_etag; /* no cache may reuse it (live, now) */
	uint64_t lsn;	 /* of the up-to-date message */
	int live, post;
	const char *if_none_match;  /* the request's header, or NULL */
	const char *cursor;	    /* electric-cursor of a live answer */
	int64_t mono_us;	    /* makes a unique etag unique */
	int64_t max_age, stale_age; /* cache-control of a plain answer */
	/* the file part: bytes [fpos, fpos + flen) of fd (*stolen*; -1:
	 * none), counted into *sent as they go out; or, with fd -1, the
	 * flen bytes at body (borrowed for the call), read already */
	int fd;
	uint64_t fpos, flen;
	const char *body;
	atomic_llong *sent;
	size_t block; /* read block size at most */
	/* appends the electric-schema value (non-live 200 answers only) */
	void (*schema)(void *ctx, struct ss_buf *out);
	void *schema_ctx;
};

/* A body of at most this many bytes goes out from memory, in the same
 * send as the headers (libmicrohttpd sends a buffer's headers and body
 * together, a reader's apart): a small live answer is one packet. */
#define SS_HTTP_INLINE_MAX 16384

/*
 * The response to a data answer: 304 (empty, fd closed) when the
 * request's If-None-Match holds the answer's etag
 * "<handle>:<req offset>:<end>" (never for unique ones), else 200 with
 * the body "[" + the file part + (",") up-to-date message + "]"; with
 * electric-handle, -offset, -has-data, -up-to-date, -schema, -cursor,
 * etag and cache-control headers. *status is set to 200 or 304.
 */
struct MHD_Response *ss_http_data_response(const struct ss_http_data *d,
					   unsigned *status);

/*
 * A body that is pre + the bytes [fpos, fpos + flen) of file fd + suf,
 * read with pread as libmicrohttpd asks for it, so that a log range is
 * sent without a copy in memory. Bytes handed out are added to *sent
 * when sent is not NULL.
 */
struct ss_http_range;

/* *new*: steals fd (closed by ss_http_range_free; -1: no file part);
 * copies pre and suf. */
struct ss_http_range *ss_http_range_new(int fd, uint64_t fpos, uint64_t flen,
					const char *pre, size_t prelen,
					const char *suf, size_t suflen,
					atomic_llong *sent);

/* The body's length: prelen + flen + suflen. */
uint64_t ss_http_range_size(const struct ss_http_range *b);

/*
 * libmicrohttpd's content reader over b: up to max bytes from pos into
 * buf; MHD_CONTENT_READER_END_OF_STREAM past the end,
 * MHD_CONTENT_READER_END_WITH_ERROR when the file gives nothing where it
 * should (cut short under the reader).
 */
ssize_t ss_http_range_read(void *b, uint64_t pos, char *buf, size_t max);

/* Close the file and free b; NULL is a no-op. */
void ss_http_range_free(void *b);

/*
 * A response over b (*steals* b), read in blocks of at most block bytes
 * and never more than the body's length, so that a thousand small live
 * answers do not each map a large buffer.
 */
struct MHD_Response *ss_http_range_response(struct ss_http_range *b,
					    size_t block);

#endif
