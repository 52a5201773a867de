/*
 * test-server.c — lib/server over a real socket: a small fake route table
 * on 127.0.0.1 (port 0), raw HTTP requests. Routing and 404, the intake
 * limits (414, 431, 411, 413), the check before the table, a handler that
 * fails (503, and the next request is served), suspend and resume, a
 * request's own state freed on completion.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server.h"
#include "unit.h"

static atomic_int freed, answered_count, shape_calls;

static enum MHD_Result h_root(struct ss_server_req *r, void *ctx)
{
	(void)ctx;
	return ss_server_send_text(r, 200, "root", "text/plain");
}

static enum MHD_Result h_not_found(struct ss_server_req *r, void *ctx)
{
	(void)ctx;
	return ss_server_send_text(r, 404, "Not found", "text/plain");
}

/* A handler that hits an internal failure: nothing queued. */
static enum MHD_Result h_fail(struct ss_server_req *r, void *ctx)
{
	(void)r;
	(void)ctx;
	return MHD_NO;
}

static void *resume_later(void *arg)
{
	usleep(100000);
	ss_server_resume(arg);
	return NULL;
}

static void data_free(void *data)
{
	free(data);
	atomic_fetch_add(&freed, 1);
}

/* Suspends once, answers when resumed from another thread. */
static enum MHD_Result h_wait(struct ss_server_req *r, void *ctx)
{
	int *state = ss_server_req_data(r);
	pthread_t th;

	(void)ctx;
	atomic_fetch_add(&shape_calls, 1);
	if (!state) {
		state = ss_xcalloc(1, sizeof(*state));
		ss_server_req_set_data(r, state, data_free);
	}
	if ((*state)++ == 0) {
		ss_server_suspend(r);
		if (pthread_create(&th, NULL, resume_later, r) != 0)
			FAILF("pthread_create");
		pthread_detach(th);
		return MHD_YES;
	}
	return ss_server_send_text(r, 200, "woke", "text/plain");
}

static enum MHD_Result h_post(struct ss_server_req *r, void *ctx)
{
	size_t len;
	const char *body = ss_server_req_body(r, &len);
	char out[128];

	(void)ctx;
	snprintf(out, sizeof(out), "%d:%.*s", ss_server_req_body_too_large(r),
		 (int)len, body);
	return ss_server_send_text(r, 200, out, "text/plain");
}

/* Before the table: a request with x-reject is answered 400. */
static enum MHD_Result check(struct ss_server_req *r, void *ctx)
{
	(void)ctx;
	if (ss_server_req_header(r, "X-Reject"))
		return ss_server_send_json(r, 400, "{\"message\":\"no\"}", NULL,
					   0, 0);
	return MHD_YES;
}

static void answered(void *ctx, const struct ss_server_req *r, unsigned status)
{
	(void)ctx;
	(void)r;
	(void)status;
	atomic_fetch_add(&answered_count, 1);
}

static const struct ss_server_route routes[] = {
    {SS_HTTP_ROOT, SS_HTTP_GET, h_root},
    {SS_HTTP_HEALTH, SS_HTTP_GET, h_fail},
    {SS_HTTP_SHAPE, SS_HTTP_GET, h_wait},
    {SS_HTTP_SHAPE, SS_HTTP_POST, h_post},
};

/* Send req on a new connection, read the answer until the server closes
 * it (every request says "connection: close") into out. */
static void http(unsigned port, const char *req, struct ss_buf *out)
{
	struct sockaddr_in a;
	struct timeval tv = {10, 0};
	char buf[4096];
	ssize_t n;
	size_t off = 0, len = strlen(req);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ss_buf_reset(out);
	if (fd < 0)
		FAILF("socket: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		FAILF("connect: %s", strerror(errno));
	while (off < len) {
		n = write(fd, req + off, len - off);
		if (n <= 0)
			break; /* the server may answer and close early */
		off += (size_t)n;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		ss_buf_add(out, buf, (size_t)n);
	close(fd);
}

static int status_of(const struct ss_buf *b)
{
	return b->len > 12 && !strncmp(b->buf, "HTTP/1.1 ", 9)
		   ? (int)strtol(b->buf + 9, NULL, 10)
		   : -1;
}

static const char *body_of(const struct ss_buf *b)
{
	const char *p = b->len ? strstr(b->buf, "\r\n\r\n") : NULL;

	return p ? p + 4 : "";
}

int main(void)
{
	struct ss_err err = SS_ERR_INIT;
	struct ss_server_cfg c;
	struct sockaddr_storage addr;
	struct ss_server *s;
	struct ss_buf b = SS_BUF_INIT, req = SS_BUF_INIT;
	unsigned port;
	int i;

	if (!ss_sockaddr_parse("127.0.0.1", 0, &addr))
		FAILF("address");
	memset(&c, 0, sizeof(c));
	c.addr = (struct sockaddr *)&addr;
	c.threads = 2;
	c.max_connections = 16;
	c.conn_timeout_s = 10;
	c.request_timeout_s = 10;
	c.max_header = 4096;
	c.max_body = 16;
	c.max_args = 4;
	c.routes = routes;
	c.nroutes = sizeof(routes) / sizeof(routes[0]);
	c.not_found = h_not_found;
	c.check = check;
	c.answered = answered;
	s = ss_server_start(&c, &err);
	if (!s)
		FAILF("%s", err.msg);
	port = ss_server_port(s);
	CHECK(port > 0);

	/* routing, 404 for an unknown path or method */
	http(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	     &b);
	CHECK(status_of(&b) == 200);
	CHECK_STR(body_of(&b), "root");
	CHECK(strstr(b.buf, "access-control-allow-origin: *") != NULL ||
	      strstr(b.buf, "Access-Control-Allow-Origin: *") != NULL);
	http(port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	     &b);
	CHECK(status_of(&b) == 404);
	CHECK_STR(body_of(&b), "Not found");
	http(port, "PUT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	     &b);
	CHECK(status_of(&b) == 404);

	/* the check before the table */
	http(port,
	     "GET / HTTP/1.1\r\nHost: x\r\nX-Reject: 1\r\n"
	     "Connection: close\r\n\r\n",
	     &b);
	CHECK(status_of(&b) == 400);
	CHECK_STR(body_of(&b), "{\"message\":\"no\"}");

	/* limits: URI too long (414), headers too large (431), too many
	 * arguments (431), a POST without a length (411) or over max_body
	 * (413) */
	ss_buf_reset(&req);
	ss_buf_adds(&req, "GET /?a=");
	for (i = 0; i < 5000; i++)
		ss_buf_adds(&req, "x");
	ss_buf_adds(&req, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	http(port, req.buf, &b);
	CHECK(status_of(&b) == 414);
	ss_buf_reset(&req);
	ss_buf_adds(&req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (i = 0; i < 4200; i++)
		ss_buf_adds(&req, "x");
	ss_buf_adds(&req, "\r\nConnection: close\r\n\r\n");
	http(port, req.buf, &b);
	CHECK(status_of(&b) == 431);
	http(port,
	     "GET /?a=1&b=2&c=3&d=4&e=5 HTTP/1.1\r\nHost: x\r\n"
	     "Connection: close\r\n\r\n",
	     &b);
	CHECK(status_of(&b) == 431);
	http(port,
	     "POST /v1/shape HTTP/1.1\r\nHost: x\r\n"
	     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	     "3\r\nabc\r\n0\r\n\r\n",
	     &b);
	CHECK(status_of(&b) == 411);
	http(port,
	     "POST /v1/shape HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n"
	     "Connection: close\r\n\r\n01234567890123456",
	     &b);
	CHECK(status_of(&b) == 413);
	http(port,
	     "POST /v1/shape HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	     "Connection: close\r\n\r\nhello",
	     &b);
	CHECK(status_of(&b) == 200);
	CHECK_STR(body_of(&b), "0:hello");

	/* a failing handler: 503, and the server goes on */
	http(port,
	     "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	     &b);
	CHECK(status_of(&b) == 503);
	CHECK_STR(body_of(&b),
		  "{\"message\":\"Internal server error, please retry\"}");
	CHECK(strstr(b.buf, "retry-after: 1") != NULL ||
	      strstr(b.buf, "Retry-After: 1") != NULL);
	http(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	     &b);
	CHECK(status_of(&b) == 200);

	/* suspend, resumed from another thread: the handler runs again;
	 * its state is freed with the request */
	http(port,
	     "GET /v1/shape HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	     &b);
	CHECK(status_of(&b) == 200);
	CHECK_STR(body_of(&b), "woke");
	CHECK(atomic_load(&shape_calls) == 2);
	for (i = 0; i < 100 && atomic_load(&freed) != 1; i++)
		usleep(10000);
	CHECK(atomic_load(&freed) == 1);
	CHECK(atomic_load(&answered_count) >= 13);

	ss_server_close(s);
	ss_server_close(NULL);
	ss_buf_release(&b);
	ss_buf_release(&req);
	return unit_report();
}
