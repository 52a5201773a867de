/*
 * server.c — the HTTP server over libmicrohttpd (see server.h): the
 * request object, libmicrohttpd's callbacks (URI, request, completion,
 * accept, connection start and end), the intake limits, the connection
 * guard's thread and the route table's dispatch.
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connguard.h"

/* What libmicrohttpd's connection pool holds beyond max_header: the
 * argument records (about 56 bytes each) and the answer's headers. */
#define POOL_EXTRA (32 * 1024)

struct ss_server {
	struct ss_server_cfg cfg;
	struct MHD_Daemon *d;
	struct ss_connguard *guard; /* NULL for a plain server */
	pthread_t guarder;
	int have_guarder;
	atomic_int stopping;
};

struct ss_server_req {
	struct ss_server *srv;
	struct MHD_Connection *conn;
	int method, route;
	int started;   /* on_request has seen the request */
	size_t nargs;  /* query arguments, counted by on_uri */
	size_t urilen; /* the request URI's length */
	size_t hdrlen; /* its headers' length */
	struct ss_buf body;
	int body_too_large;
	int queued;		      /* an answer was queued */
	int suspended;		      /* and not resumed yet */
	struct ss_connguard_conn *gc; /* its connection in the guard */
	void *data;
	void (*data_free)(void *data);
};

/* ------------------------------------------------------------ the request */

int ss_server_req_method(const struct ss_server_req *r)
{
	return r->method;
}

int ss_server_req_route(const struct ss_server_req *r)
{
	return r->route;
}

const char *ss_server_req_header(struct ss_server_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result kv_iter(void *cls, enum MHD_ValueKind kind,
			       const char *key, size_t key_size,
			       const char *value, size_t value_size)
{
	struct ss_buf *b = cls;
	struct ss_shapereq_kv kv = {key, key_size, value, value_size};

	(void)kind;
	ss_buf_add(b, &kv, sizeof(kv));
	return MHD_YES;
}

struct ss_shapereq_kv *ss_server_req_args(struct ss_server_req *r, size_t *n)
{
	struct ss_buf b = SS_BUF_INIT;
	size_t len;
	struct ss_shapereq_kv *kv;

	MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, kv_iter,
				    &b);
	kv = (struct ss_shapereq_kv *)(void *)ss_buf_detach(&b, &len);
	*n = len / sizeof(*kv);
	return kv;
}

const char *ss_server_req_body(const struct ss_server_req *r, size_t *len)
{
	*len = r->body.len;
	return r->body.buf;
}

int ss_server_req_body_too_large(const struct ss_server_req *r)
{
	return r->body_too_large;
}

void *ss_server_req_data(const struct ss_server_req *r)
{
	return r->data;
}

void ss_server_req_set_data(struct ss_server_req *r, void *data,
			    void (*data_free)(void *data))
{
	r->data = data;
	r->data_free = data_free;
}

void ss_server_suspend(struct ss_server_req *r)
{
	r->suspended = 1;
	MHD_suspend_connection(r->conn);
}

void ss_server_resume(struct ss_server_req *r)
{
	r->suspended = 0;
	MHD_resume_connection(r->conn);
}

/* ------------------------------------------------------------ answers */

enum MHD_Result ss_server_queue(struct ss_server_req *r, unsigned status,
				struct MHD_Response *resp)
{
	struct ss_server *s = r->srv;
	enum MHD_Result ret;

	ss_http_common_headers(resp, ss_server_req_header(r, "origin"),
			       r->route == SS_HTTP_SHAPE);
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->queued = 1;
	if (s->cfg.answered)
		s->cfg.answered(s->cfg.ctx, r, status);
	return ret;
}

enum MHD_Result ss_server_send_json(struct ss_server_req *r, unsigned status,
				    const char *json, const char *retry_after,
				    int known, int has_handle)
{
	struct MHD_Response *resp = ss_http_buffer(json, strlen(json));

	ss_http_error_headers(resp, status, has_handle, retry_after, known);
	return ss_server_queue(r, status, resp);
}

enum MHD_Result ss_server_send_text(struct ss_server_req *r, unsigned status,
				    const char *text, const char *ctype)
{
	struct MHD_Response *resp = ss_http_buffer(text, strlen(text));

	MHD_add_response_header(resp, "content-type", ctype);
	return ss_server_queue(r, status, resp);
}

/* ------------------------------------------------------------ dispatch */

static enum MHD_Result dispatch(struct ss_server_req *r)
{
	const struct ss_server_cfg *c = &r->srv->cfg;
	ss_server_handler h = c->not_found;
	void *ctx = c->ctx;
	enum MHD_Result ret;
	size_t i;

	r->queued = 0;
	if (c->check) {
		ret = c->check(r, c->ctx);
		if (r->queued)
			return ret;
	}
	for (i = 0; i < c->nroutes; i++)
		if (c->routes[i].route == (enum ss_http_route)r->route &&
		    c->routes[i].method == (enum ss_http_method)r->method) {
			h = c->routes[i].handler;
			if (c->routes[i].ctx)
				ctx = c->routes[i].ctx;
			break;
		}
	ret = h(r, ctx);
	if (ret == MHD_NO && !r->queued && !r->suspended) {
		/* The handler failed without an answer: the client gets a
		 * 503 and the server goes on. */
		return ss_server_send_json(
		    r, 503,
		    "{\"message\":\"Internal server error, please retry\"}",
		    "1", 0, 0);
	}
	return ret;
}

static struct ss_server_req *new_req(struct ss_server *s,
				     struct MHD_Connection *conn)
{
	struct ss_server_req *r = ss_xcalloc(1, sizeof(*r));
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	r->srv = s;
	r->conn = conn;
	r->gc = ci ? ci->socket_context : NULL;
	ss_buf_init(&r->body);
	return r;
}

/*
 * libmicrohttpd calls this with the request's URI before it parses the
 * query into arguments. libmicrohttpd 0.9.75 keeps each argument in the
 * connection's memory pool; when they do not fit it logs a 431 it has no
 * memory left to send, and the client waits for the idle timeout. So with
 * more than max_args arguments the query is cut off here, so that none
 * are stored, and on_request answers 431. The URI lies in libmicrohttpd's
 * read buffer, which it parses in place.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct ss_server *s = cls;
	struct ss_server_req *r = new_req(s, conn);
	char *q = strchr(uri, '?');

	r->urilen = strlen(uri);
	if (q) {
		const char *p;

		r->nargs = 1;
		for (p = q; *p; p++)
			r->nargs += *p == '&';
		/* libmicrohttpd 0.9.75 found the '?' before this call and
		 * parses what follows it: end the string there. */
		if (r->nargs > s->cfg.max_args)
			q[1] = '\0';
	}
	return r;
}

/* libmicrohttpd's pool is larger than max_header (POOL_EXTRA), so the
 * limit is applied here. */
static enum MHD_Result header_len_iter(void *cls, enum MHD_ValueKind kind,
				       const char *key, const char *value)
{
	struct ss_server_req *r = cls;

	(void)kind;
	r->hdrlen += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct ss_server *s = cls;
	struct ss_server_req *r = *con_cls;

	(void)version;
	if (!r)
		*con_cls = r = new_req(s, conn);
	if (!r->started) {
		struct ss_http_intake in;
		const char *body;
		unsigned status;

		r->started = 1;
		r->method = ss_http_method_of(method);
		r->route = ss_http_route_of(url);
		MHD_get_connection_values(conn, MHD_HEADER_KIND,
					  header_len_iter, r);
		memset(&in, 0, sizeof(in));
		in.uri_len = r->urilen;
		in.header_len = r->hdrlen;
		in.nargs = r->nargs;
		in.post = r->method == SS_HTTP_POST;
		in.transfer_encoding = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
		in.content_length = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		in.max_header = s->cfg.max_header;
		in.max_body = s->cfg.max_body;
		in.max_args = s->cfg.max_args;
		/* Answered at once, before any body is read; libmicrohttpd
		 * closes the connection after an answer to a request whose
		 * body it has not read. */
		status = ss_http_intake_check(&in, &body);
		return status ? ss_server_send_json(r, status, body, NULL, 0, 0)
			      : MHD_YES;
	}
	if (*upload_size) {
		if (r->body.len + *upload_size > s->cfg.max_body)
			r->body_too_large = 1;
		else
			ss_buf_add(&r->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	/* The request is in whole: what follows is the handler's time. */
	ss_connguard_set_deadline(r->gc, 0);
	return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct ss_server *s = cls;
	struct ss_server_req *r = *con_cls;

	(void)conn;
	(void)toe;
	if (!r)
		return;
	/* A kept-alive connection's next request must have arrived whole
	 * within the idle timeout. */
	ss_connguard_set_deadline(r->gc, ss_mono_us() +
					     s->cfg.conn_timeout_s * 1000000);
	if (r->data_free)
		r->data_free(r->data);
	ss_buf_release(&r->body);
	free(r);
	*con_cls = NULL;
}

/*
 * Over max_connections, a connection is closed as soon as it is accepted:
 * the client sees it end at once rather than wait in the listen queue,
 * which libmicrohttpd stops taking from at its own limit.
 */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
				 socklen_t addrlen)
{
	struct ss_server *s = cls;
	char msg[128];

	(void)addr;
	(void)addrlen;
	if (ss_connguard_reserve(s->guard))
		return MHD_YES;
	if (ss_connguard_refusal_report(s->guard, ss_mono_us()) &&
	    s->cfg.warn) {
		snprintf(msg, sizeof(msg),
			 "%" PRId64 " connections open: refusing new ones "
			 "(--max-connections)",
			 s->cfg.max_connections);
		s->cfg.warn(s->cfg.ctx, msg);
	}
	return MHD_NO;
}

/* A connection's start and end: it enters the guard with the deadline of
 * its first request, and leaves it before libmicrohttpd closes it. */
static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct ss_server *s = cls;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci) {
			ss_connguard_release(s->guard);
			*socket_context = NULL;
			return;
		}
		*socket_context = ss_connguard_add(
		    s->guard, ci->connect_fd,
		    ss_mono_us() + s->cfg.request_timeout_s * 1000000);
	} else if (*socket_context) {
		ss_connguard_remove(s->guard, *socket_context);
		*socket_context = NULL;
	}
}

/* Ends connections past their deadline: libmicrohttpd's idle timeout
 * restarts with every byte, so one byte a second held a connection for
 * ever. */
static void *guard_main(void *arg)
{
	struct ss_server *s = arg;

	while (!atomic_load(&s->stopping)) {
		usleep(100000);
		ss_connguard_sweep(s->guard, ss_mono_us());
		if (s->cfg.tick)
			s->cfg.tick(s->cfg.ctx);
	}
	return NULL;
}

/* A plain server's request: no limits, no state kept between calls. */
static enum MHD_Result on_plain(void *cls, struct MHD_Connection *conn,
				const char *url, const char *method,
				const char *version, const char *upload,
				size_t *upload_size, void **con_cls)
{
	struct ss_server *s = cls;
	struct ss_server_req r;

	(void)version;
	(void)upload;
	(void)upload_size;
	if (!*con_cls) {
		*con_cls = conn;
		return MHD_YES;
	}
	memset(&r, 0, sizeof(r));
	r.srv = s;
	r.conn = conn;
	r.method = ss_http_method_of(method);
	r.route = ss_http_route_of(url);
	return dispatch(&r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct ss_server *s = cls;
	char msg[512], line[520];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (ss_http_log_ignorable(msg) || !s->cfg.warn)
		return;
	snprintf(line, sizeof(line), "http: %s", msg);
	s->cfg.warn(s->cfg.ctx, line);
}

/* ------------------------------------------------------------ life */

struct ss_server *ss_server_start(const struct ss_server_cfg *cfg,
				  struct ss_err *err)
{
	struct ss_server *s = ss_xcalloc(1, sizeof(*s));
	int e;

	s->cfg = *cfg;
	if (cfg->plain) {
		/* poll(2), not select(2): the process may hold thousands of
		 * descriptors (the main server's connections), and select
		 * refuses any at or past FD_SETSIZE. */
		s->d = MHD_start_daemon(
		    MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			cfg->ipflags,
		    (uint16_t)cfg->port, NULL, NULL, on_plain, s,
		    MHD_OPTION_SOCK_ADDR, cfg->addr,
		    MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
		if (!s->d)
			goto listen_failed;
		return s;
	}
	s->guard = ss_connguard_new((size_t)cfg->max_connections);
	s->d = MHD_start_daemon(
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_ERROR_LOG | cfg->ipflags,
	    (uint16_t)cfg->port, on_accept, s, on_request, s,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_SOCK_ADDR,
	    cfg->addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
	    /* The guard's limit (on_accept) binds first: libmicrohttpd
	     * splits its own between the threads, and one can reach its
	     * share early. */
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)(cfg->max_connections * cfg->threads),
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->conn_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)cfg->max_header + POOL_EXTRA, MHD_OPTION_URI_LOG_CALLBACK,
	    on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
	if (!s->d)
		goto listen_failed;
	e = ss_thread_start(&s->guarder, NULL, guard_main, s);
	if (e) {
		ss_err_set(err, SS_ERR_RUNTIME, "could not start a thread: %s",
			   strerror(e));
		MHD_stop_daemon(s->d);
		ss_connguard_free(s->guard);
		free(s);
		errno = e;
		return NULL;
	}
	s->have_guarder = 1;
	return s;
listen_failed:
	e = errno;
	ss_err_set(err, SS_ERR_RUNTIME, "could not listen on %s: %s",
		   cfg->name ? cfg->name : "its address", strerror(e));
	ss_connguard_free(s->guard);
	free(s);
	errno = e;
	return NULL;
}

unsigned ss_server_port(const struct ss_server *s)
{
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);

	return info ? (unsigned)info->port : (unsigned)s->cfg.port;
}

void ss_server_close(struct ss_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, 1);
	if (s->have_guarder)
		pthread_join(s->guarder, NULL);
	MHD_stop_daemon(s->d);
	ss_connguard_free(s->guard);
	free(s);
}
