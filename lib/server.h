/*
 * server.h — the HTTP server under shapesync-serve: libmicrohttpd with a
 * {route, method, handler} table, the request object and its life (URI,
 * headers, body), the limits every request meets before a handler runs,
 * the guard over open connections (a limit, and a deadline for a request
 * to arrive whole), suspend and resume for waiting requests, and the
 * helpers that queue an answer with the headers every answer carries.
 */
#ifndef SS_SERVER_H
#define SS_SERVER_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http.h"
#include "shapereq.h"
#include "util.h"

struct ss_server;
struct ss_server_req;

/*
 * A handler answers a request: it queues an answer (ss_server_queue and
 * the send helpers) or suspends the request (ss_server_suspend) and
 * returns MHD_YES, or returns libmicrohttpd's result of queueing. A
 * handler is called again for a request it suspended once the request is
 * resumed. A handler that returns MHD_NO with nothing queued and the
 * request not suspended has failed (a thread or memory limit): the server
 * answers 503 {"message":"Internal server error, please retry"} with
 * retry-after 1 and goes on serving.
 */
typedef enum MHD_Result (*ss_server_handler)(struct ss_server_req *r,
					     void *ctx);

struct ss_server_route {
	enum ss_http_route route;
	enum ss_http_method method;
	ss_server_handler handler;
	void *ctx; /* the handler's ctx; NULL: the server's */
};

struct ss_server_cfg {
	/* Where to listen (borrowed during ss_server_start), the port for
	 * libmicrohttpd and its address flags (MHD_USE_IPv6,
	 * MHD_USE_DUAL_STACK or 0). */
	const struct sockaddr *addr;
	int port;
	unsigned ipflags;
	const char *name; /* the address in errors ("127.0.0.1:3000") */
	/*
	 * plain: one thread over poll(2) (any descriptor number), a 10 s
	 * idle timeout, none of the limits, the guard or the check below
	 * (a metrics port). Else
	 * `threads` threads over epoll, at most max_connections open
	 * (more are closed as soon as accepted), each request whole within
	 * request_timeout_s of its connection's start or conn_timeout_s of
	 * the previous answer, URI and headers within max_header (414,
	 * 431), at most max_args query arguments (431), a POST body with a
	 * Content-Length (411) of at most max_body (413; one past it while
	 * read: ss_server_req_body_too_large).
	 */
	int plain;
	int threads;
	int64_t max_connections, conn_timeout_s, request_timeout_s;
	uint64_t max_header, max_body;
	size_t max_args;
	/* The route table (borrowed while the server runs); a request
	 * that matches no entry goes to not_found. check, when set, is
	 * called first for every request: an answer it queues ends the
	 * request. */
	const struct ss_server_route *routes;
	size_t nroutes;
	ss_server_handler not_found, check;
	/* Called with each answer queued (may be NULL). */
	void (*answered)(void *ctx, const struct ss_server_req *r,
			 unsigned status);
	/* Warnings: libmicrohttpd's log ("http: ..."), refused connections
	 * (may be NULL). */
	void (*warn)(void *ctx, const char *msg);
	/* Called about every 100 ms from the guard's thread (may be
	 * NULL). */
	void (*tick)(void *ctx);
	void *ctx; /* given to every callback, and handlers without one */
};

/*
 * Start listening. Returns the *new* server (ss_server_close), or NULL
 * with errno set and err (SS_ERR_RUNTIME): "could not listen on <name>:
 * <strerror>", or "could not start a thread: <strerror>". Start it with
 * the asynchronous signals blocked (ss_signals_block): its threads
 * inherit the mask.
 */
struct ss_server *ss_server_start(const struct ss_server_cfg *cfg,
				  struct ss_err *err);

/* The port it listens on (useful after port 0). */
unsigned ss_server_port(const struct ss_server *s);

/* Stop: the guard's thread, then libmicrohttpd (no request may still
 * be suspended), then free. NULL: no-op. */
void ss_server_close(struct ss_server *s);

/* The request's method and route (enum ss_http_method, ss_http_route). */
int ss_server_req_method(const struct ss_server_req *r);
int ss_server_req_route(const struct ss_server_req *r);

/* A request header's value (name in any case), borrowed for the request's
 * life; NULL when absent. */
const char *ss_server_req_header(struct ss_server_req *r, const char *name);

/* The query arguments in order: a *new* array (free() it), its strings
 * borrowed for the request's life. */
struct ss_shapereq_kv *ss_server_req_args(struct ss_server_req *r, size_t *n);

/* The body read so far (borrowed), and 1 when it went past max_body (the
 * rest was dropped). */
const char *ss_server_req_body(const struct ss_server_req *r, size_t *len);
int ss_server_req_body_too_large(const struct ss_server_req *r);

/* A handler's own state for the request: set once (steals data), freed
 * with data_free(data) when the request completes (data_free may be
 * NULL). Not for a plain server's requests. */
void *ss_server_req_data(const struct ss_server_req *r);
void ss_server_req_set_data(struct ss_server_req *r, void *data,
			    void (*data_free)(void *data));

/* Suspend the request (its handler returns MHD_YES) until
 * ss_server_resume, which may be called from any thread. */
void ss_server_suspend(struct ss_server_req *r);
void ss_server_resume(struct ss_server_req *r);

/*
 * Queue resp (steals it) with status and the headers every answer
 * carries (ss_http_common_headers for the request's Origin and route).
 * Returns libmicrohttpd's result.
 */
enum MHD_Result ss_server_queue(struct ss_server_req *r, unsigned status,
				struct MHD_Response *resp);

/* A JSON error answer: json (copied) with ss_http_error_headers. */
enum MHD_Result ss_server_send_json(struct ss_server_req *r, unsigned status,
				    const char *json, const char *retry_after,
				    int known, int has_handle);

/* A text answer (copied) with its content-type. */
enum MHD_Result ss_server_send_text(struct ss_server_req *r, unsigned status,
				    const char *text, const char *ctype);

#endif
