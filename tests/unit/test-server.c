/*
 * test-server.c — lib/server over a real socket: a small fake route table
 * on 127.0.0.1 (port 0), raw HTTP requests. Routing and 404, the intake
 * limits (414, 431, 411, 413), the check before the table, a handler that
 * fails (503, and the next request is served), suspend and resume, a
 * request's own state freed on completion; a plain server (the metrics
 * port) serving a connection whose descriptor is past FD_SETSIZE.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>

#include "rawhttp.h"
#include "server.h"

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
    {SS_HTTP_ROOT, SS_HTTP_GET, h_root, NULL},
    {SS_HTTP_HEALTH, SS_HTTP_GET, h_fail, NULL},
    {SS_HTTP_SHAPE, SS_HTTP_GET, h_wait, NULL},
    {SS_HTTP_SHAPE, SS_HTTP_POST, h_post, NULL},
};

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

	/* the same port again: an error naming the address */
	{
		struct sockaddr_storage taken;
		struct ss_server_cfg c2 = c;
		char want[128];

		ss_sockaddr_parse("127.0.0.1", (int)port, &taken);
		c2.addr = (struct sockaddr *)&taken;
		c2.port = (int)port;
		c2.name = "here";
		CHECK(ss_server_start(&c2, &err) == NULL);
		snprintf(want, sizeof(want), "could not listen on here: %s",
			 strerror(EADDRINUSE));
		CHECK_STR(err.msg, want);
		CHECK(err.code == SS_ERR_RUNTIME);
	}

	/* routing, 404 for an unknown path or method */
	rawhttp(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		&b);
	CHECK(rawhttp_status(&b) == 200);
	CHECK_STR(rawhttp_body(&b), "root");
	CHECK(strstr(b.buf, "access-control-allow-origin: *") != NULL ||
	      strstr(b.buf, "Access-Control-Allow-Origin: *") != NULL);
	rawhttp(port,
		"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		&b);
	CHECK(rawhttp_status(&b) == 404);
	CHECK_STR(rawhttp_body(&b), "Not found");
	rawhttp(port, "PUT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		&b);
	CHECK(rawhttp_status(&b) == 404);

	/* the check before the table */
	rawhttp(port,
		"GET / HTTP/1.1\r\nHost: x\r\nX-Reject: 1\r\n"
		"Connection: close\r\n\r\n",
		&b);
	CHECK(rawhttp_status(&b) == 400);
	CHECK_STR(rawhttp_body(&b), "{\"message\":\"no\"}");

	/* limits: URI too long (414), headers too large (431), too many
	 * arguments (431), a POST without a length (411) or over max_body
	 * (413) */
	ss_buf_reset(&req);
	ss_buf_adds(&req, "GET /?a=");
	for (i = 0; i < 5000; i++)
		ss_buf_adds(&req, "x");
	ss_buf_adds(&req, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	rawhttp(port, req.buf, &b);
	CHECK(rawhttp_status(&b) == 414);
	ss_buf_reset(&req);
	ss_buf_adds(&req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (i = 0; i < 4200; i++)
		ss_buf_adds(&req, "x");
	ss_buf_adds(&req, "\r\nConnection: close\r\n\r\n");
	rawhttp(port, req.buf, &b);
	CHECK(rawhttp_status(&b) == 431);
	rawhttp(port,
		"GET /?a=1&b=2&c=3&d=4&e=5 HTTP/1.1\r\nHost: x\r\n"
		"Connection: close\r\n\r\n",
		&b);
	CHECK(rawhttp_status(&b) == 431);
	rawhttp(port,
		"POST /v1/shape HTTP/1.1\r\nHost: x\r\n"
		"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		"3\r\nabc\r\n0\r\n\r\n",
		&b);
	CHECK(rawhttp_status(&b) == 411);
	rawhttp(port,
		"POST /v1/shape HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n"
		"Connection: close\r\n\r\n01234567890123456",
		&b);
	CHECK(rawhttp_status(&b) == 413);
	rawhttp(port,
		"POST /v1/shape HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
		"Connection: close\r\n\r\nhello",
		&b);
	CHECK(rawhttp_status(&b) == 200);
	CHECK_STR(rawhttp_body(&b), "0:hello");

	/* a failing handler: 503, and the server goes on */
	rawhttp(
	    port,
	    "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	    &b);
	CHECK(rawhttp_status(&b) == 503);
	CHECK_STR(rawhttp_body(&b),
		  "{\"message\":\"Internal server error, please retry\"}");
	CHECK(strstr(b.buf, "retry-after: 1") != NULL ||
	      strstr(b.buf, "Retry-After: 1") != NULL);
	rawhttp(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		&b);
	CHECK(rawhttp_status(&b) == 200);

	/* suspend, resumed from another thread: the handler runs again;
	 * its state is freed with the request */
	rawhttp(
	    port,
	    "GET /v1/shape HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	    &b);
	CHECK(rawhttp_status(&b) == 200);
	CHECK_STR(rawhttp_body(&b), "woke");
	CHECK(atomic_load(&shape_calls) == 2);
	for (i = 0; i < 100 && atomic_load(&freed) != 1; i++)
		usleep(10000);
	CHECK(atomic_load(&freed) == 1);
	CHECK(atomic_load(&answered_count) >= 13);

	ss_server_close(s);
	ss_server_close(NULL);

	/* a plain server (the metrics port) answers on a descriptor past
	 * FD_SETSIZE: a serve with thousands of connections accepts its
	 * scrapes there */
	{
		struct rlimit rl;
		int low[FD_SETSIZE + 8], n = 0;

		c.plain = 1;
		c.check = NULL;
		s = ss_server_start(&c, &err);
		if (!s)
			FAILF("%s", err.msg);
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < FD_SETSIZE + 64 &&
		    rl.rlim_max >= FD_SETSIZE + 64) {
			rl.rlim_cur = FD_SETSIZE + 64;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		/* every descriptor below FD_SETSIZE taken */
		while (n < FD_SETSIZE + 8) {
			low[n] = dup(0);
			if (low[n] < 0)
				break;
			if (low[n++] >= FD_SETSIZE)
				break;
		}
		CHECK(n > 0 && low[n - 1] >= FD_SETSIZE);
		rawhttp(
		    ss_server_port(s),
		    "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		    &b);
		CHECK(rawhttp_status(&b) == 200);
		CHECK_STR(rawhttp_body(&b), "root");
		while (n > 0)
			close(low[--n]);
		ss_server_close(s);
	}
	ss_buf_release(&b);
	ss_buf_release(&req);
	return unit_report();
}
