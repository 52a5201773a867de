/*
 * test-http — lib/http without a server: routes and methods, JSON text
 * with invalid UTF-8, Electric's error bodies, If-None-Match lists, the
 * preflight's allowed headers, the limits a request meets before its body
 * (414, 431, 411, 413), live cursors, data cache-control, data answers'
 * headers (ETag and 304, schema, cursor), and range bodies read back
 * through the content reader (pre + file bytes + suffix, short files,
 * counters).
 */
#include <fcntl.h>
#include <unistd.h>

#include "http.h"
#include "unit.h"

static void test_routes(void)
{
	CHECK(ss_http_route_of("/") == SS_HTTP_ROOT);
	CHECK(ss_http_route_of("//") == SS_HTTP_ROOT);
	CHECK(ss_http_route_of("/v1/shape") == SS_HTTP_SHAPE);
	CHECK(ss_http_route_of("/v1//shape/") == SS_HTTP_SHAPE);
	CHECK(ss_http_route_of("//v1/shape//") == SS_HTTP_SHAPE);
	CHECK(ss_http_route_of("/v1/shapes") == SS_HTTP_NONE);
	CHECK(ss_http_route_of("/V1/shape") == SS_HTTP_NONE);
	CHECK(ss_http_route_of("/v1/health") == SS_HTTP_HEALTH);
	CHECK(ss_http_route_of("/metrics/") == SS_HTTP_METRICS);
	CHECK(ss_http_route_of("") == SS_HTTP_NONE);
	/* runs of '/' collapse before the length counts; a path of 64
	 * bytes or more after that is no route */
	CHECK(
	    ss_http_route_of(
		"/v1/shape////////////////////////////////////////////////////////") ==
	    SS_HTTP_SHAPE);
	CHECK(
	    ss_http_route_of(
		"/v1/shape/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") ==
	    SS_HTTP_NONE);
	CHECK(ss_http_method_of("GET") == SS_HTTP_GET);
	CHECK(ss_http_method_of("HEAD") == SS_HTTP_HEAD);
	CHECK(ss_http_method_of("POST") == SS_HTTP_POST);
	CHECK(ss_http_method_of("DELETE") == SS_HTTP_DELETE);
	CHECK(ss_http_method_of("OPTIONS") == SS_HTTP_OPTIONS);
	CHECK(ss_http_method_of("get") == SS_HTTP_OTHER);
	CHECK(ss_http_method_of("PUT") == SS_HTTP_OTHER);
}

static void test_bodies(void)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_http_field_err e[3];

	ss_http_add_json_text(&b, "a\"b\xff"
				  "c\xc3\xa9\xe2\x82");
	CHECK_STR(b.buf, "\"a\\\"b?c\xc3\xa9??\"");
	ss_buf_reset(&b);
	ss_http_message_body(&b, "no \xc0 way");
	CHECK_STR(b.buf, "{\"message\":\"no ? way\"}");
	ss_buf_reset(&b);
	memset(e, 0, sizeof(e));
	snprintf(e[0].field, sizeof(e[0].field), "%s", "replica");
	snprintf(e[0].msg, sizeof(e[0].msg), "%s", "is invalid");
	snprintf(e[1].field, sizeof(e[1].field), "%s", "offset");
	snprintf(e[1].msg, sizeof(e[1].msg), "%s", "has invalid format");
	snprintf(e[2].field, sizeof(e[2].field), "%s", "offset");
	snprintf(e[2].msg, sizeof(e[2].msg), "%s", "second");
	ss_http_invalid_body(&b, e, 3);
	CHECK(
	    strstr(
		b.buf,
		"{\"message\":\"Invalid request\",\"errors\":{\"offset\":[") ==
	    b.buf);
	CHECK(strstr(b.buf, "\"replica\":[\"is invalid\"]}}") != NULL);
	CHECK(strstr(b.buf, "\"has invalid format\"") &&
	      strstr(b.buf, "\"second\""));
	ss_buf_reset(&b);
	ss_http_invalid_body(&b, NULL, 0);
	CHECK_STR(b.buf, "{\"message\":\"Invalid request\",\"errors\":{}}");
	ss_buf_release(&b);
}

static void test_etags(void)
{
	CHECK(ss_http_etag_matches("\"h:-1:0_0\"", "h:-1:0_0"));
	CHECK(ss_http_etag_matches("h:-1:0_0", "h:-1:0_0"));
	CHECK(ss_http_etag_matches("\"x\", \"h:-1:0_0\" ", "h:-1:0_0"));
	CHECK(ss_http_etag_matches(" ,,\"x\",h", "h"));
	CHECK(!ss_http_etag_matches("\"h:-1:0_0\"", "h:-1:0_1"));
	CHECK(!ss_http_etag_matches("\"h\"x", "h"));
	CHECK(!ss_http_etag_matches("", "h"));
	CHECK(!ss_http_etag_matches(NULL, "h"));
	CHECK(!ss_http_etag_matches("\"\"", "h"));
	CHECK(ss_http_etag_matches("\"\"", ""));
	CHECK_STR(ss_http_preflight_allow("If-None-Match"), "If-None-Match");
	CHECK_STR(ss_http_preflight_allow("traceparent"), "traceparent");
	CHECK_STR(ss_http_preflight_allow("if-none-match, traceparent"), "");
	CHECK(ss_http_preflight_allow(NULL) == NULL);
	CHECK(ss_http_log_ignorable(
	    "Failed to send data in request for `/v1/shape'."));
	CHECK(ss_http_log_ignorable("Connection closed by remote"));
	CHECK(ss_http_log_ignorable(
	    "Socket has been disconnected when reading request."));
	CHECK(!ss_http_log_ignorable(
	    "Failed to bind to port 3000: Address in use"));
}

static void test_cursor_cache(void)
{
	/* 2024-10-09T00:00:00Z + 1000 s, 20 s long polls: the next 20 s mark */
	int64_t now = (1728432000LL + 1000) * 1000000 + 5;
	char out[128];

	ss_http_cursor(NULL, 20000, now, 7, out);
	CHECK_STR(out, "1000");
	ss_http_cursor(NULL, 20000, now + 1000000, 7, out);
	CHECK_STR(out, "1020");
	ss_http_cursor("999", 20000, now, 7, out);
	CHECK_STR(out, "1000");
	ss_http_cursor("1000", 20000, now, 7, out); /* not past: bumped */
	CHECK_STR(out, "1008");
	ss_http_cursor("5000", 20000, now, 0, out);
	CHECK_STR(out, "5001");
	ss_http_cursor("x", 20000, now, 7, out);
	CHECK_STR(out, "1000");
	ss_http_cursor("1000", 999, now, 7, out);
	CHECK_STR(out, "0");
	ss_http_data_cache_control(1, 1, 1, 60, 300, out);
	CHECK_STR(out, "no-cache");
	ss_http_data_cache_control(0, 1, 0, 60, 300, out);
	CHECK_STR(
	    out,
	    "public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746");
	ss_http_data_cache_control(0, 0, 1, 60, 300, out);
	CHECK_STR(out, "public, max-age=5, stale-while-revalidate=5");
	ss_http_data_cache_control(0, 0, 0, 60, 300, out);
	CHECK_STR(out, "public, max-age=60, stale-while-revalidate=300");
}

static void test_intake(void)
{
	struct ss_http_intake in;
	const char *body = NULL;

	memset(&in, 0, sizeof(in));
	in.uri_len = 100;
	in.header_len = 200;
	in.nargs = 3;
	in.max_header = 400;
	in.max_body = 1000;
	in.max_args = 256;
	CHECK(ss_http_intake_check(&in, &body) == 0);
	in.uri_len = 401;
	CHECK(ss_http_intake_check(&in, &body) == 414);
	CHECK_STR(body, "{\"error\":\"URI too long\"}");
	in.uri_len = 201;
	CHECK(ss_http_intake_check(&in, &body) == 431);
	CHECK_STR(body, "{\"error\":\"Request header fields too large\"}");
	in.uri_len = 200;
	CHECK(ss_http_intake_check(&in, &body) == 0);
	in.nargs = 257;
	CHECK(ss_http_intake_check(&in, &body) == 431);
	CHECK_STR(body, "{\"error\":\"Too many query parameters\"}");
	in.nargs = 256;
	in.post = 1;
	CHECK(ss_http_intake_check(&in, &body) == 411);
	CHECK_STR(body,
		  "{\"error\":\"Request body must have a Content-Length\"}");
	in.content_length = "1000";
	CHECK(ss_http_intake_check(&in, &body) == 0);
	in.transfer_encoding = "chunked";
	CHECK(ss_http_intake_check(&in, &body) == 411);
	in.transfer_encoding = NULL;
	in.content_length = "1001";
	CHECK(ss_http_intake_check(&in, &body) == 413);
	CHECK_STR(body, "{\"error\":\"Request body too large\"}");
	in.content_length = "-1";
	CHECK(ss_http_intake_check(&in, &body) == 413);
	in.content_length = "0000000000000000001";
	CHECK(ss_http_intake_check(&in, &body) == 413);
	in.content_length = "";
	CHECK(ss_http_intake_check(&in, &body) == 0);
}

static void schema(void *ctx, struct ss_buf *out)
{
	(void)ctx;
	ss_buf_adds(out, "{\"id\":{\"type\":\"int4\"}}");
}

static void test_data_response(void)
{
	struct ss_http_data d;
	struct MHD_Response *resp;
	unsigned status = 0;

	memset(&d, 0, sizeof(d));
	d.handle = "12-34";
	d.req_off.kind = SS_OFFSET_BEFORE_ALL;
	d.end = ss_offset_make(0, 0);
	d.has_data = 1;
	d.fd = -1;
	d.block = 4096;
	d.max_age = 60;
	d.stale_age = 300;
	d.schema = schema;
	resp = ss_http_data_response(&d, &status);
	CHECK(status == 200);
	CHECK_STR(MHD_get_response_header(resp, "etag"), "\"12-34:-1:0_0\"");
	CHECK_STR(MHD_get_response_header(resp, "electric-offset"), "0_0");
	CHECK_STR(MHD_get_response_header(resp, "electric-has-data"), "true");
	CHECK_STR(MHD_get_response_header(resp, "electric-schema"),
		  "{\"id\":{\"type\":\"int4\"}}");
	CHECK(MHD_get_response_header(resp, "electric-up-to-date") == NULL);
	CHECK(MHD_get_response_header(resp, "electric-cursor") == NULL);
	CHECK_STR(
	    MHD_get_response_header(resp, "cache-control"),
	    "public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746");
	MHD_destroy_response(resp);
	/* the same etag asked again: 304 */
	d.if_none_match = "\"12-34:-1:0_0\"";
	resp = ss_http_data_response(&d, &status);
	CHECK(status == 304 &&
	      MHD_get_response_header(resp, "electric-schema") == NULL);
	MHD_destroy_response(resp);
	/* live, up to date: unique etag, cursor, no schema, never a 304 */
	d.req_off = ss_offset_make(5, 1);
	d.end = ss_offset_make(5, 1);
	d.has_data = 0;
	d.up_to_date = 1;
	d.unique_etag = 1;
	d.live = 1;
	d.cursor = "1020";
	d.mono_us = 77;
	d.if_none_match = "\"12-34:5_1:5_1\"";
	resp = ss_http_data_response(&d, &status);
	CHECK(status == 200);
	CHECK_STR(MHD_get_response_header(resp, "etag"),
		  "\"12-34:5_1:5_1:77\"");
	CHECK_STR(MHD_get_response_header(resp, "electric-up-to-date"), " ");
	CHECK_STR(MHD_get_response_header(resp, "electric-cursor"), "1020");
	CHECK_STR(MHD_get_response_header(resp, "electric-has-data"), "false");
	CHECK(MHD_get_response_header(resp, "electric-schema") == NULL);
	CHECK_STR(MHD_get_response_header(resp, "cache-control"),
		  "public, max-age=5, stale-while-revalidate=5");
	MHD_destroy_response(resp);
}

/* Read the whole body in steps of `step` bytes. */
static ssize_t read_all(struct ss_http_range *b, size_t step,
			struct ss_buf *out)
{
	char buf[64];
	uint64_t pos = 0;

	for (;;) {
		ssize_t n = ss_http_range_read(b, pos, buf, step);

		if (n < 0)
			return n;
		ss_buf_add(out, buf, (size_t)n);
		pos += (uint64_t)n;
	}
}

static void test_range(const char *dir)
{
	char path[4096];
	struct ss_buf out = SS_BUF_INIT;
	atomic_llong sent = 0;
	struct ss_http_range *b;
	size_t step;
	int fd;

	snprintf(path, sizeof(path), "%s/range", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		FAILF("could not write '%s'", path);
	for (step = 1; step <= 20; step++) {
		ss_buf_reset(&out);
		b = ss_http_range_new(dup(fd), 2, 5, "[", 1, ",x]", 3, &sent);
		CHECK(ss_http_range_size(b) == 9);
		CHECK(read_all(b, step, &out) ==
		      MHD_CONTENT_READER_END_OF_STREAM);
		CHECK_STR(out.buf, "[23456,x]");
		ss_http_range_free(b);
	}
	CHECK(atomic_load(&sent) == 20 * 9);
	/* no file part */
	ss_buf_reset(&out);
	b = ss_http_range_new(-1, 0, 0, "[", 1, "]", 1, NULL);
	CHECK(read_all(b, 7, &out) == MHD_CONTENT_READER_END_OF_STREAM);
	CHECK_STR(out.buf, "[]");
	ss_http_range_free(b);
	/* the file shorter than the range: an error once nothing is left */
	ss_buf_reset(&out);
	b = ss_http_range_new(dup(fd), 8, 5, "[", 1, "]", 1, NULL);
	CHECK(read_all(b, 64, &out) == MHD_CONTENT_READER_END_WITH_ERROR);
	CHECK_STR(out.buf, "[89");
	ss_http_range_free(b);
	ss_http_range_free(NULL);
	close(fd);
	unlink(path);
	ss_buf_release(&out);
}

/* A small body goes out from memory (counted as sent when made, its
 * descriptor closed at once), a large one or one the file cannot give
 * through the range reader. */
static void test_data_inline(const char *dir)
{
	char path[4096];
	struct ss_http_data d;
	struct MHD_Response *resp;
	atomic_llong sent = 0;
	unsigned status;
	int fd, dupfd;

	snprintf(path, sizeof(path), "%s/inline", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		FAILF("could not write '%s'", path);
	memset(&d, 0, sizeof(d));
	d.handle = "12-34";
	d.req_off = ss_offset_make(5, 1);
	d.end = ss_offset_make(6, 1);
	d.block = 4096;
	d.sent = &sent;
	/* from the file: "[" + 5 bytes + "]" */
	dupfd = dup(fd);
	d.fd = dupfd;
	d.fpos = 2;
	d.flen = 5;
	resp = ss_http_data_response(&d, &status);
	CHECK(status == 200 && atomic_load(&sent) == 7);
	CHECK(fcntl(dupfd, F_GETFD) == -1); /* closed: read already */
	MHD_destroy_response(resp);
	/* read already, with an up-to-date message after it */
	atomic_store(&sent, 0);
	d.fd = -1;
	d.body = "abc";
	d.flen = 3;
	d.up_to_date = 1;
	d.lsn = 9;
	resp = ss_http_data_response(&d, &status);
	CHECK(atomic_load(&sent) ==
	      (long long)strlen("[abc,{\"headers\":{\"control\":\"up-to-date\","
				"\"global_last_seen_lsn\":\"9\"}}]"));
	MHD_destroy_response(resp);
	/* larger than SS_HTTP_INLINE_MAX: the range reader, nothing sent yet */
	atomic_store(&sent, 0);
	d.body = NULL;
	d.up_to_date = 0;
	dupfd = dup(fd);
	d.fd = dupfd;
	d.fpos = 0;
	d.flen = SS_HTTP_INLINE_MAX;
	resp = ss_http_data_response(&d, &status);
	CHECK(atomic_load(&sent) == 0 && fcntl(dupfd, F_GETFD) != -1);
	MHD_destroy_response(resp);
	/* small, but the file is shorter: the range reader answers (with
	 * its error when read) */
	dupfd = dup(fd);
	d.fd = dupfd;
	d.fpos = 8;
	d.flen = 5;
	resp = ss_http_data_response(&d, &status);
	CHECK(atomic_load(&sent) == 0 && fcntl(dupfd, F_GETFD) != -1);
	MHD_destroy_response(resp);
	close(fd);
}

int main(int argc, char **argv)
{
	test_routes();
	test_bodies();
	test_etags();
	test_cursor_cache();
	test_intake();
	test_data_response();
	test_range(argc > 1 ? argv[1] : "/tmp");
	test_data_inline(argc > 1 ? argv[1] : "/tmp");
	return unit_report();
}
