/*
 * http.c — serve's answers apart from any request: routes and methods,
 * Electric's JSON error bodies, CORS and error headers, If-None-Match,
 * and bodies read from a byte range of a file (see http.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http.h"
#include "message.h"
#include "shape.h"

#define EXPOSE_HEADERS                                                         \
	"electric-cursor,electric-handle,electric-has-data,"                   \
	"electric-offset,electric-schema,electric-up-to-date,"                 \
	"electric-internal-known-error,retry-after"

enum ss_http_method ss_http_method_of(const char *m)
{
	return !strcmp(m, "GET")       ? SS_HTTP_GET
	       : !strcmp(m, "HEAD")    ? SS_HTTP_HEAD
	       : !strcmp(m, "POST")    ? SS_HTTP_POST
	       : !strcmp(m, "DELETE")  ? SS_HTTP_DELETE
	       : !strcmp(m, "OPTIONS") ? SS_HTTP_OPTIONS
				       : SS_HTTP_OTHER;
}

enum ss_http_route ss_http_route_of(const char *url)
{
	char norm[64];
	size_t n = 0;
	const char *p;

	for (p = url; *p && n < sizeof(norm) - 1; p++) {
		if (*p == '/' && n && norm[n - 1] == '/')
			continue;
		norm[n++] = *p;
	}
	if (*p)
		return SS_HTTP_NONE;
	if (n > 1 && norm[n - 1] == '/')
		n--;
	norm[n] = '\0';
	if (!strcmp(norm, "/"))
		return SS_HTTP_ROOT;
	if (!strcmp(norm, "/v1/shape"))
		return SS_HTTP_SHAPE;
	if (!strcmp(norm, "/v1/health"))
		return SS_HTTP_HEALTH;
	if (!strcmp(norm, "/metrics"))
		return SS_HTTP_METRICS;
	return SS_HTTP_NONE;
}

void ss_http_add_json_text(struct ss_buf *b, const char *s)
{
	struct ss_buf clean = SS_BUF_INIT;
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++) {
		size_t len = 1;
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80) {
			len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
			if (i + len > n || !ss_utf8_valid(s + i, len)) {
				ss_buf_addc(&clean, '?');
				continue;
			}
		}
		ss_buf_add(&clean, s + i, len);
		i += len - 1;
	}
	ss_buf_add_json_string(b, clean.buf, clean.len);
	ss_buf_release(&clean);
}

void ss_http_message_body(struct ss_buf *b, const char *msg)
{
	ss_buf_adds(b, "{\"message\":");
	ss_http_add_json_text(b, msg);
	ss_buf_addc(b, '}');
}

void ss_http_errors_add(struct ss_http_errors *c, const char *field,
			const char *fmt, ...)
{
	va_list ap;

	SS_GROW(c->e, c->alloc, c->n + 1);
	snprintf(c->e[c->n].field, sizeof(c->e[c->n].field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(c->e[c->n].msg, sizeof(c->e[c->n].msg), fmt, ap);
	va_end(ap);
	c->n++;
}

static int cmp_field(const void *a, const void *b)
{
	return strcmp(((const struct ss_http_field_err *)a)->field,
		      ((const struct ss_http_field_err *)b)->field);
}

void ss_http_errors_sort(struct ss_http_field_err *e, size_t n)
{
	if (n)
		qsort(e, n, sizeof(*e), cmp_field);
}

void ss_http_invalid_body(struct ss_buf *b, struct ss_http_field_err *e,
			  size_t n)
{
	size_t i;

	ss_http_errors_sort(e, n);
	ss_buf_adds(b, "{\"message\":\"Invalid request\",\"errors\":{");
	for (i = 0; i < n; i++) {
		if (i && !strcmp(e[i].field, e[i - 1].field)) {
			ss_buf_setlen(b, b->len - 1);
			ss_buf_addc(b, ',');
		} else {
			if (i)
				ss_buf_addc(b, ',');
			ss_http_add_json_text(b, e[i].field);
			ss_buf_adds(b, ":[");
		}
		ss_http_add_json_text(b, e[i].msg);
		ss_buf_addc(b, ']');
	}
	ss_buf_adds(b, "}}");
}

int ss_http_etag_matches(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);

	while (inm && *inm) {
		const char *s, *e;
		size_t n;

		while (*inm == ' ' || *inm == ',')
			inm++;
		n = strcspn(inm, ",");
		s = inm;
		e = inm + n;
		while (e > s && e[-1] == ' ')
			e--;
		if (e - s >= 2 && *s == '"' && e[-1] == '"') {
			s++;
			e--;
		}
		if ((size_t)(e - s) == elen && !memcmp(s, etag, elen))
			return 1;
		inm += n;
	}
	return 0;
}

void ss_http_common_headers(struct MHD_Response *resp, const char *origin,
			    int shape_route)
{
	MHD_add_response_header(resp, "electric-server", SS_HTTP_SERVER_HEADER);
	MHD_add_response_header(resp, "access-control-allow-origin",
				origin ? origin : "*");
	/* The answer names the request's origin: a shared cache must not
	 * hand it to another origin. */
	if (origin)
		MHD_add_response_header(resp, "vary", "Origin");
	MHD_add_response_header(resp, "access-control-allow-methods",
				shape_route ? "GET, POST, HEAD, DELETE, OPTIONS"
					    : "GET, HEAD");
	MHD_add_response_header(resp, "access-control-expose-headers",
				EXPOSE_HEADERS);
}

void ss_http_error_headers(struct MHD_Response *resp, unsigned status,
			   int has_handle, const char *retry_after, int known)
{
	MHD_add_response_header(resp, "content-type", "application/json");
	if (status == 409) {
		MHD_add_response_header(
		    resp, "cache-control",
		    has_handle ? "public, max-age=60, must-revalidate"
			       : "public, max-age=1, must-revalidate");
	} else if (status >= 400) {
		MHD_add_response_header(resp, "cache-control", "no-store");
		MHD_add_response_header(resp, "surrogate-control", "no-store");
	}
	if (retry_after)
		MHD_add_response_header(resp, "retry-after", retry_after);
	if (known)
		MHD_add_response_header(resp, "electric-internal-known-error",
					"true");
}

int ss_http_log_ignorable(const char *msg)
{
	return !strncmp(msg, "Failed to send", 14) ||
	       strstr(msg, "closed by remote") ||
	       strstr(msg, "Socket has been disconnected");
}

struct MHD_Response *ss_http_buffer(const char *data, size_t len)
{
	return MHD_create_response_from_buffer(len, (void *)data,
					       MHD_RESPMEM_MUST_COPY);
}

struct MHD_Response *ss_http_must_refetch(const char *new_handle)
{
	struct ss_buf b = SS_BUF_INIT;
	struct MHD_Response *resp;

	ss_buf_addc(&b, '[');
	ss_message_must_refetch(&b);
	ss_buf_addc(&b, ']');
	resp = ss_http_buffer(b.buf, b.len);
	ss_buf_release(&b);
	MHD_add_response_header(resp, "content-type", "application/json");
	if (new_handle && *new_handle) {
		MHD_add_response_header(resp, "electric-handle", new_handle);
		MHD_add_response_header(resp, "cache-control",
					"public, max-age=60, must-revalidate");
	} else {
		MHD_add_response_header(resp, "cache-control",
					"public, max-age=1, must-revalidate");
	}
	return resp;
}

const char *ss_http_preflight_allow(const char *h)
{
	if (!h)
		return NULL;
	if (!strcasecmp(h, "if-none-match") || !strcasecmp(h, "traceparent"))
		return h;
	return "";
}

unsigned ss_http_intake_check(const struct ss_http_intake *in,
			      const char **body)
{
	const char *cl = in->content_length;

	if (in->uri_len > in->max_header) {
		*body = "{\"error\":\"URI too long\"}";
		return 414;
	}
	if (in->uri_len + in->header_len > in->max_header) {
		*body = "{\"error\":\"Request header fields too large\"}";
		return 431;
	}
	if (in->nargs > in->max_args) {
		*body = "{\"error\":\"Too many query parameters\"}";
		return 431;
	}
	if (!in->post)
		return 0;
	/* A chunked body announces its size chunk by chunk, and a chunk of
	 * ffffffffffffffff bytes kept the request open for ever: a POST
	 * must say its length. */
	if (in->transfer_encoding || !cl) {
		*body =
		    "{\"error\":\"Request body must have a Content-Length\"}";
		return 411;
	}
	if (strspn(cl, "0123456789") != strlen(cl) || strlen(cl) > 18 ||
	    strtoull(cl, NULL, 10) > in->max_body) {
		*body = "{\"error\":\"Request body too large\"}";
		return 413;
	}
	return 0;
}

/* 2024-10-09T00:00:00Z, the epoch of Electric's cursors. */
#define CURSOR_EPOCH 1728432000LL

void ss_http_cursor(const char *prev, int64_t long_poll_ms, int64_t now_us,
		    int64_t jitter, char *out)
{
	int64_t t = long_poll_ms / 1000, next, p = 0;
	struct ss_err err = SS_ERR_INIT;

	if (t <= 0) {
		snprintf(out, 32, "0");
		return;
	}
	next = (now_us / 1000000 - CURSOR_EPOCH + t - 1) / t * t;
	if (prev &&
	    ss_parse_i64(prev, 0, INT64_MAX / 2, &p, "cursor", &err) < 0)
		p = 0;
	if (next <= p)
		next = p + 1 + jitter;
	snprintf(out, 32, "%" PRId64, next);
}

void ss_http_data_cache_control(int post, int before_all, int live,
				int64_t max_age, int64_t stale_age, char *out)
{
	if (post)
		snprintf(out, 128, "no-cache");
	else if (before_all)
		snprintf(out, 128,
			 "public, max-age=604800, s-maxage=3600, "
			 "stale-while-revalidate=2629746");
	else if (live)
		snprintf(out, 128,
			 "public, max-age=5, stale-while-revalidate=5");
	else
		snprintf(out, 128,
			 "public, max-age=%" PRId64
			 ", stale-while-revalidate=%" PRId64,
			 max_age, stale_age);
}

struct ss_http_range {
	int fd;
	uint64_t fpos, flen; /* the file part */
	char *pre, *suf;
	size_t prelen, suflen;
	atomic_llong *sent;
};

struct ss_http_range *ss_http_range_new(int fd, uint64_t fpos, uint64_t flen,
					const char *pre, size_t prelen,
					const char *suf, size_t suflen,
					atomic_llong *sent)
{
	struct ss_http_range *b = ss_xcalloc(1, sizeof(*b));

	b->fd = fd;
	b->fpos = fpos;
	b->flen = fd >= 0 ? flen : 0;
	b->pre = ss_xstrndup(pre, prelen);
	b->prelen = prelen;
	b->suf = ss_xstrndup(suf, suflen);
	b->suflen = suflen;
	b->sent = sent;
	return b;
}

uint64_t ss_http_range_size(const struct ss_http_range *b)
{
	return b->prelen + b->flen + b->suflen;
}

ssize_t ss_http_range_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct ss_http_range *b = cls;
	size_t n = 0;

	while (n < max) {
		uint64_t p = pos + n;

		if (p < b->prelen) {
			size_t k = b->prelen - (size_t)p;

			k = k < max - n ? k : max - n;
			memcpy(buf + n, b->pre + p, k);
			n += k;
		} else if (p < b->prelen + b->flen) {
			uint64_t fp = p - b->prelen;
			size_t k =
			    (size_t)(b->flen - fp < max - n ? b->flen - fp
							    : max - n);
			ssize_t got =
			    pread(b->fd, buf + n, k, (off_t)(b->fpos + fp));

			if (got <= 0)
				return n ? (ssize_t)n
					 : MHD_CONTENT_READER_END_WITH_ERROR;
			n += (size_t)got;
		} else if (p < b->prelen + b->flen + b->suflen) {
			size_t sp = (size_t)(p - b->prelen - b->flen);
			size_t k =
			    b->suflen - sp < max - n ? b->suflen - sp : max - n;

			memcpy(buf + n, b->suf + sp, k);
			n += k;
		} else {
			break;
		}
	}
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (b->sent)
		atomic_fetch_add(b->sent, (long long)n);
	return (ssize_t)n;
}

void ss_http_range_free(void *cls)
{
	struct ss_http_range *b = cls;

	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	free(b->pre);
	free(b->suf);
	free(b);
}

struct MHD_Response *ss_http_range_response(struct ss_http_range *b,
					    size_t block)
{
	uint64_t total = ss_http_range_size(b);

	return MHD_create_response_from_callback(
	    total, total < block ? (size_t)total : block, ss_http_range_read, b,
	    ss_http_range_free);
}

/* A small body "[" + the file part + suf from memory (SS_HTTP_INLINE_MAX,
 * or the body read already, of any size); NULL when it is larger, or when
 * the file gives less than it should (the range reader then answers as it
 * does). The fd is closed when used. */
static struct MHD_Response *inline_response(const struct ss_http_data *d,
					    const struct ss_buf *suf)
{
	uint64_t total = 1 + d->flen + suf->len;
	struct MHD_Response *resp;
	char *buf;

	if (!d->body && (total > SS_HTTP_INLINE_MAX || (d->flen && d->fd < 0)))
		return NULL;
	buf = ss_xmalloc((size_t)total);
	buf[0] = '[';
	if (d->fd >= 0 && d->flen) {
		if (ss_pread_all(d->fd, buf + 1, (size_t)d->flen, d->fpos) <
		    0) {
			free(buf);
			return NULL;
		}
	} else if (d->flen) {
		memcpy(buf + 1, d->body, (size_t)d->flen);
	}
	memcpy(buf + 1 + d->flen, suf->buf, suf->len);
	resp = MHD_create_response_from_buffer_with_free_callback((size_t)total,
								  buf, free);
	if (!resp) {
		/* libmicrohttpd is out of memory: as ss_xmalloc (a body read
		 * already has no range reader to fall back on) */
		if (d->body)
			abort();
		free(buf);
		return NULL;
	}
	if (d->fd >= 0)
		close(d->fd);
	if (d->sent)
		atomic_fetch_add(d->sent, (long long)total);
	return resp;
}

struct MHD_Response *ss_http_data_response(const struct ss_http_data *d,
					   unsigned *status)
{
	struct ss_buf suf = SS_BUF_INIT, etag = SS_BUF_INIT, q = SS_BUF_INIT;
	struct MHD_Response *resp;
	char reqoff[SS_OFFSET_STRMAX], endoff[SS_OFFSET_STRMAX], cc[128];

	*status = 200;
	ss_offset_format(&d->req_off, reqoff);
	ss_offset_format(&d->end, endoff);
	ss_buf_addf(&etag, "%s:%s:%s", d->handle, reqoff, endoff);
	if (d->unique_etag)
		ss_buf_addf(&etag, ":%" PRId64, d->mono_us);
	if (!d->unique_etag &&
	    ss_http_etag_matches(d->if_none_match, etag.buf)) {
		if (d->fd >= 0)
			close(d->fd);
		resp = ss_http_buffer("", 0);
		*status = 304;
	} else {
		if (d->up_to_date) {
			if (d->flen)
				ss_buf_addc(&suf, ',');
			ss_message_up_to_date(&suf, d->lsn);
		}
		ss_buf_addc(&suf, ']');
		resp = inline_response(d, &suf);
		if (!resp)
			resp = ss_http_range_response(
			    ss_http_range_new(d->fd, d->fpos, d->flen, "[", 1,
					      suf.buf, suf.len, d->sent),
			    d->block);
	}
	MHD_add_response_header(resp, "content-type", "application/json");
	MHD_add_response_header(resp, "electric-handle", d->handle);
	MHD_add_response_header(resp, "electric-offset", endoff);
	MHD_add_response_header(resp, "electric-has-data",
				d->has_data ? "true" : "false");
	if (d->up_to_date)
		/* MHD refuses an empty value; a lone space reads as empty to
		 * every HTTP parser (leading and trailing OWS is dropped). */
		MHD_add_response_header(resp, "electric-up-to-date", " ");
	if (!d->live && *status == 200 && d->schema) {
		struct ss_buf sc = SS_BUF_INIT;

		d->schema(d->schema_ctx, &sc);
		MHD_add_response_header(resp, "electric-schema", sc.buf);
		ss_buf_release(&sc);
	}
	if (d->live && d->cursor)
		MHD_add_response_header(resp, "electric-cursor", d->cursor);
	ss_buf_addf(&q, "\"%s\"", etag.buf);
	MHD_add_response_header(resp, "etag", q.buf);
	ss_http_data_cache_control(d->post,
				   d->req_off.kind == SS_OFFSET_BEFORE_ALL,
				   d->live, d->max_age, d->stale_age, cc);
	MHD_add_response_header(resp, "cache-control", cc);
	ss_buf_release(&q);
	ss_buf_release(&suf);
	ss_buf_release(&etag);
	return resp;
}
